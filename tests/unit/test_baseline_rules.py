"""Baseline rules judged from collected facts (yunwei.baseline.rules), waivers and settings.

The fixture is what the collector (plugins/module_utils/baseline_collector.py) returned on a fresh lab
host (Debian 12 in podman, no systemd, no kernel audit); each test changes the facts the way a host
differs - a bare-metal host, a hardened one, a RHEL-family one - and asserts the verdict.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import sys

import pytest
import yaml

from yunwei.baseline import judge, rules, settings, waivers
from yunwei.catalogue import catalogue
from yunwei.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))
from ansible_collections.yunwei.ops.plugins.module_utils.baseline_probe import os_family  # noqa: E402
from runner_helpers import env  # noqa: E402,F401  (fixture)

FACTS = json.loads((Path(__file__).parent / "fixtures" / "baseline" / "debian12-lab-web01.json").read_text())
FAMILIES = yaml.safe_load((ROOT / "roles" / "baseline" / "vars" / "main.yml").read_text())["baseline_os_families"]


def ctx(family: str = "Debian", **kw) -> rules.Context:
    return rules.Context(params=settings.effective_params({}), osv=FAMILIES[family], **kw)


def verdicts(facts, context=None) -> dict[str, dict]:
    return {f["id"]: f for f in rules.evaluate(facts, context or ctx())}


@pytest.fixture
def facts():
    return copy.deepcopy(FACTS)


def test_every_rule_has_a_verdict_and_the_fresh_lab_host_fails_many(facts):
    v = verdicts(facts)
    cat = catalogue()
    ids = [c.id for c in cat.checks_of(kind="baseline")]
    assert list(v) == ids and len([i for i in ids if not cat.checks[i].manual]) >= 30
    assert {i for i, f in v.items() if f["outcome"] == "manual"} == {i for i in ids if cat.checks[i].manual}
    fails = {i for i, f in v.items() if f["outcome"] == "fail"}
    assert {"BASE-SSH-003", "BASE-PWD-001", "BASE-PAM-001", "BASE-AUD-001", "BASE-UMASK-001"} <= fails
    assert v["BASE-ACCT-001"]["outcome"] == "pass" and v["BASE-ACCT-002"]["outcome"] == "pass"


def test_what_a_container_cannot_have_is_not_applicable_with_the_reason_never_a_pass(facts):
    v = verdicts(facts)
    for rid in ("BASE-AUD-002", "BASE-KERN-001", "BASE-KERN-002", "BASE-KERN-003", "BASE-LOG-003", "BASE-MAC-001"):
        assert v[rid]["outcome"] == "not_applicable" and "容器" in v[rid]["evidence"], (rid, v[rid])
    # the same host outside a container is judged: the lab kernel forwards packets (a router setting)
    facts["container"] = ""
    v = verdicts(facts)
    assert v["BASE-KERN-001"]["outcome"] == "pass"                    # randomize_va_space 2
    assert v["BASE-KERN-002"]["outcome"] == "fail" and "ip_forward" in v["BASE-KERN-002"]["evidence"]
    assert v["BASE-MAC-001"]["outcome"] == "fail"


def test_kernel_audit_available_needs_auditd_running(facts):
    facts["container"] = ""
    facts["kernel_audit"] = {"available": True, "enabled": 1, "reason": ""}
    assert verdicts(facts)["BASE-AUD-002"]["outcome"] == "fail"
    facts["processes"].append("auditd")
    assert verdicts(facts)["BASE-AUD-002"]["outcome"] == "pass"
    facts["kernel_audit"]["enabled"] = 0
    assert verdicts(facts)["BASE-AUD-002"]["outcome"] == "fail"


def test_accounts_empty_password_second_root_duplicate_uid(facts):
    u = facts["accounts"]["users"]
    u.append({**u[-1], "name": "toor", "uid": 0, "password": "empty"})
    v = verdicts(facts)
    assert v["BASE-ACCT-001"]["outcome"] == "fail" and v["BASE-ACCT-001"]["data"]["users"] == ["toor"]
    assert v["BASE-ACCT-002"]["outcome"] == "fail" and "toor" in v["BASE-ACCT-002"]["evidence"]
    assert v["BASE-ACCT-003"]["outcome"] == "fail"                   # UID 0 twice
    facts["accounts"]["shadow_readable"] = False
    assert verdicts(facts)["BASE-ACCT-001"]["outcome"] == "manual"  # never a pass on what was not read


def test_sshd_is_judged_from_the_configuration_in_force(facts):
    cfg = facts["sshd"]["config"]
    cfg.update(maxauthtries=["4"], clientaliveinterval=["300"], clientalivecountmax=["3"], logingracetime=["60"],
               permitrootlogin=["without-password"])
    v = verdicts(facts)
    assert v["BASE-SSH-003"]["outcome"] == "pass" and v["BASE-SSH-004"]["outcome"] == "pass"
    assert v["BASE-SSH-005"]["outcome"] == "pass"
    assert v["BASE-SSH-001"]["outcome"] == "fail"                    # key-only root login is still root login
    cfg["macs"] = ["hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com"]    # sshd -T: one line
    assert verdicts(facts)["BASE-SSH-007"]["outcome"] == "pass"
    cfg["macs"] = ["hmac-sha2-512-etm@openssh.com,hmac-sha1"]
    v = verdicts(facts)["BASE-SSH-007"]
    assert v["outcome"] == "fail" and v["data"]["weak"] == ["hmac-sha1"]
    facts["sshd"]["config"] = {}
    facts["sshd"]["error"] = "sshd -T: Bad configuration option"
    assert verdicts(facts)["BASE-SSH-003"]["outcome"] == "manual"   # sshd -T failed: never guessed from files


def test_faillock_needs_authfail_and_account_phases(facts):
    pam = facts["pam"]
    for service in ("sshd", "login"):
        pam[service]["auth"] = [{"module": "pam_faillock.so", "control": "required", "args": ["preauth"]},
                                *pam[service]["auth"],
                                {"module": "pam_faillock.so", "control": "[default=die]", "args": ["authfail"]}]
    v = verdicts(facts)
    assert v["BASE-PAM-001"]["outcome"] == "fail" and "account" in v["BASE-PAM-001"]["evidence"]
    for service in ("sshd", "login"):
        pam[service].setdefault("account", []).insert(0, {"module": "pam_faillock.so", "control": "required",
                                                          "args": []})
    facts["pam_conf"]["faillock"] = {"deny": "5", "unlock_time": "900"}
    assert verdicts(facts)["BASE-PAM-001"]["outcome"] == "pass"
    facts["pam_conf"]["faillock"]["deny"] = "10"
    assert verdicts(facts)["BASE-PAM-001"]["outcome"] == "fail"


def test_os_family_variables_decide_which_packages_count(facts):
    facts["packages"] = {"audit": "3.0.7"}
    assert verdicts(facts, ctx("Debian"))["BASE-AUD-001"]["outcome"] == "fail"   # Debian's is auditd
    for family in ("RedHat", "Kylin", "openEuler"):
        assert verdicts(facts, ctx(family))["BASE-AUD-001"]["outcome"] == "pass", family
    facts["packages"] = {"telnet-server": "1:0.17"}
    assert verdicts(facts, ctx("RedHat"))["BASE-SVC-001"]["outcome"] == "fail"


@pytest.mark.parametrize("release,family", [
    ({"ID": "debian"}, "Debian"), ({"ID": "ubuntu", "ID_LIKE": "debian"}, "Debian"),
    ({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, "RedHat"), ({"ID": "centos"}, "RedHat"),
    ({"ID": "kylin"}, "Kylin"), ({"ID": "openEuler"}, "openEuler"), ({"ID": "alpine"}, ""),
])
def test_os_family_from_os_release(release, family):
    assert os_family(release) == family


def test_every_os_family_has_the_same_variables():
    keys = {f: set(v) for f, v in FAMILIES.items()}
    assert set(keys) == {"Debian", "RedHat", "Kylin", "openEuler"}
    assert all(k == keys["Debian"] for k in keys.values()), {f: k ^ keys["Debian"] for f, k in keys.items()}


def test_a_collector_section_that_failed_makes_its_rules_manual(facts):
    facts["errors"] = {"pam": "Permission denied: /etc/pam.d"}
    v = verdicts(facts)
    assert v["BASE-PAM-001"]["outcome"] == "manual" and "Permission denied" in v["BASE-PAM-001"]["evidence"]


# -- waivers and the judgement ----------------------------------------------------------------

def _waiver(**kw):
    return waivers.Waiver(**{"id": "W-1", "rule": "BASE-SSH-003", "hosts": ("web*",), "justification": "测试",
                             "approver": "张伟", "expires": "2026-12-31", **kw})


def test_an_active_waiver_waives_an_expired_one_fails_and_says_so(facts):
    findings = rules.evaluate(facts, ctx())
    params = settings.effective_params({})
    checks, applied = judge.judge(findings, "web01", params=params, waivers=[_waiver()], today=dt.date(2026, 12, 31))
    c = {x["id"]: x for x in checks}
    assert c["BASE-SSH-003"]["status"] == "waived" and applied[0]["state"] == "active"
    checks, applied = judge.judge(findings, "web01", params=params, waivers=[_waiver()], today=dt.date(2027, 1, 1))
    c = {x["id"]: x for x in checks}
    assert c["BASE-SSH-003"]["status"] == "fail" and "已于 2026-12-31 到期" in c["BASE-SSH-003"]["evidence"]
    assert applied[0]["state"] == "expired"
    # the pass rate never counts waived, manual or not-applicable rules
    score = judge.tally(checks)
    n = score["counts"]
    assert score["pass_pct"] == round(100.0 * n["pass"] / (n["pass"] + n["fail"]), 1)


def test_waivers_do_not_cover_other_hosts():
    assert _waiver().matches("BASE-SSH-003", "web01") and not _waiver().matches("BASE-SSH-003", "db01")
    assert not _waiver().matches("BASE-SSH-004", "web01")


GOOD = {"rule": "BASE-SSH-011", "hosts": ["web01"], "justification": "SFTP 上传", "approver": "张伟",
        "expires": "2027-06-30"}


@pytest.mark.parametrize("change,key,words", [
    ({"rule": "BASE-SSH-999"}, "waivers[0].rule", "no baseline rule"),
    ({"expires": None}, "waivers[0].expires", "expiry"),
    ({"justification": " "}, "waivers[0].justification", "justification"),
    ({"approver": None}, "waivers[0].approver", "approved"),
    ({"expires": "2027-02-30"}, "waivers[0].expires", "not a date"),
    ({"hosts": []}, "waivers[0].hosts", "hosts"),
    ({"until": "2027-01-01"}, "waivers[0].until", "unknown key"),
])
def test_bad_waivers_name_the_file_and_the_key(tmp_path, change, key, words):
    w = {**GOOD, **change}
    path = tmp_path / "baseline-waivers.yml"
    path.write_text(yaml.safe_dump({"waivers": [{k: v for k, v in w.items() if v is not None}]}, allow_unicode=True))
    with pytest.raises(InputError) as e:
        waivers.load_file(path)
    assert e.value.exit_code == 2 and e.value.source == str(path) and e.value.key == key
    assert words in e.value.problem


def test_edited_active_waivers_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    yml, meta = waivers.active_paths()
    yml.parent.mkdir(parents=True)
    data = yaml.safe_dump({"waivers": [GOOD]}, allow_unicode=True).encode()
    yml.write_bytes(data)
    with pytest.raises(InputError, match="no approval record"):
        waivers.load_active()
    meta.write_text(json.dumps({"digest": waivers._digest(data)}))
    assert [w.rule for w in waivers.load_active()[0]] == ["BASE-SSH-011"]
    yml.write_bytes(data.replace(b"2027-06-30", b"2099-06-30"))
    with pytest.raises(InputError, match="edited outside review"):
        waivers.load_active()


@pytest.mark.parametrize("setting,words", [
    ({"mode": "harden"}, "baseline_mode: unknown mode 'harden'"),
    ({"switches": {"baseline_rule_base_ssh_999_enabled": False}}, "no baseline rule BASE-SSH-999"),
    ({"switches": {"baseline_rule_base_ssh_003_enabled": "no"}}, "must be true or false"),
    ({"params": {"minlen": 6}}, "baseline_params.minlen: 6 is below the 等保 floor 8"),
    ({"params": {"pass_max_days": 365}}, "baseline_params.pass_max_days: 365 is above"),
    ({"params": {"colour": 1}}, "baseline_params.colour: unknown parameter"),
    ({"scan_paths": ["etc"]}, "paths must be absolute"),
])
def test_bad_settings_name_the_variable(setting, words):
    problems = settings.problems({"mode": "audit", **setting})
    assert any(words in p for p in problems), problems


def test_valid_settings_and_switches():
    assert settings.problems({"mode": "enforce", "params": {"minlen": 12},
                              "switches": {"baseline_rule_base_ssh_011_enabled": False}}) == []
    assert settings.disabled_rules({"baseline_rule_base_ssh_011_enabled": False,
                                    "baseline_rule_base_ssh_003_enabled": True}) == ["BASE-SSH-011"]


# -- waivers through two-person review (like a schedule change) ----------------------------------

def test_waivers_take_effect_only_through_review(env, monkeypatch):  # noqa: F811
    from yunwei.errors import YunweiError
    from yunwei.review import workflow

    path = env.root / "baseline-waivers.yml"
    path.write_text(yaml.safe_dump({"waivers": [GOOD]}, allow_unicode=True))
    monkeypatch.setenv("YUNWEI_WAIVERS", str(path))
    assert waivers.load_active() == ([], None)
    env.as_operator("alice")
    req = workflow.create_request("waivers", quiet=True, key=str(env.keys["alice"]))  # --key honoured
    with pytest.raises(YunweiError, match="same person"):
        workflow.approve(req["id"])
    assert waivers.load_active() == ([], None)
    env.as_operator("bob")
    workflow.approve(req["id"])
    path.write_text(path.read_text().replace("2027-06-30", "2099-06-30"))  # edited after the approval
    with pytest.raises(YunweiError):
        workflow.execute(req["id"], quiet=True)
    assert waivers.load_active() == ([], None)
    path.write_text(yaml.safe_dump({"waivers": [GOOD]}, allow_unicode=True))  # the approved bytes again
    workflow.execute(req["id"], quiet=True)
    active, meta = waivers.load_active()
    assert [w.expires for w in active] == ["2027-06-30"] and meta["approver"] == "bob" and meta["requester"] == "alice"


def test_a_bad_waiver_file_is_refused_at_request(env, monkeypatch):  # noqa: F811
    from yunwei.review import workflow

    path = env.root / "baseline-waivers.yml"
    path.write_text(yaml.safe_dump({"waivers": [{**GOOD, "rule": "BASE-NOPE-001"}]}))
    env.as_operator("alice")
    with pytest.raises(InputError) as e:
        workflow.create_request("waivers", quiet=True, waivers_file=str(path))
    assert e.value.key == "waivers[0].rule" and e.value.source == str(path)

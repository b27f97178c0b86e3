"""Security operations without the lab: feed validation and import (the previous feed stays in use), the OVAL
evaluation with the real oscap on an offline root, the scan-target rule and allow-lists, nmap's output, the
auth-log parser, and the findings lifecycle (new, accepted, fixed, verified, reopened; tickets once)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import uuid
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from yunwei_dev import ovalfeed

from yunwei.errors import InputError
from yunwei.paths import var_dir
from yunwei.store import Run, TaskResult, open_store
from yunwei.vuln import exposure, feed, findings, judge, oval

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.module_utils import vuln_collector as vc  # noqa: E402
from runner_helpers import env  # noqa: E402,F401  (fixture)

NOW = dt.datetime.now(dt.timezone.utc)
STATUS = """Package: bash
Status: install ok installed
Priority: required
Architecture: amd64
Version: 5.2.15-2+b8
Description: GNU Bourne Again SHell
 long text that must go

Package: zlib1g
Status: install ok installed
Architecture: amd64
Version: 1:1.2.13.dfsg-1

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
"""


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    return tmp_path / "var"


def _feed(tmp_path: Path, name: str, vulns=None, **kw) -> Path:
    p = tmp_path / name
    p.write_text(ovalfeed.build(vulns or [ovalfeed.Vuln("CVE-2099-0001", "bash", "5.2.15-2+b9", "critical")], **kw))
    return p


# -- feeds -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, problem", [
    ("", "not well-formed"),
    ("<html><body/></html>", "not an OVAL 5 definitions file"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DTD"),
])
def test_import_refuses_what_is_not_an_oval_feed(var, tmp_path, text, problem):
    p = tmp_path / "bad.xml"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        feed.import_feed(p)
    assert problem in str(exc.value) and str(p) in str(exc.value) and exc.value.exit_code == 2
    assert feed.active() is None


def test_import_keeps_the_previous_feed_on_every_refusal(var, tmp_path):
    good = _feed(tmp_path, "good.xml", generated=NOW - timedelta(days=3))
    f, warnings = feed.import_feed(good)
    assert f.definitions == 1 and f.digest.startswith("sha256:") and not warnings
    truncated = tmp_path / "cut.xml"
    truncated.write_text(good.read_text()[:-200])
    other = _feed(tmp_path, "d11.xml", version=11)
    older = _feed(tmp_path, "older.xml", generated=NOW - timedelta(days=10))
    future = _feed(tmp_path, "future.xml", generated=NOW + timedelta(days=5))
    for bad, key in ((truncated, "truncated"), (other, "metadata/affected/platform"), (older, "older than the feed in use"),
                     (future, "in the future")):
        with pytest.raises(InputError) as exc:
            feed.import_feed(bad)
        assert key in str(exc.value) and bad.name in str(exc.value)
        assert feed.active().digest == f.digest and feed.active().source == "good.xml"
    with pytest.raises(InputError, match="--release"):
        feed.import_feed(good, "debian-twelve")


def test_an_outdated_feed_is_kept_with_a_warning_and_judged_warn(var, tmp_path):
    f, warnings = feed.import_feed(_feed(tmp_path, "old.xml", generated=NOW - timedelta(days=45)))
    assert warnings and "older than 30 days" in warnings[0]
    check = judge.feed_check(dict(f.summary(), age_days=f.age_days()))
    assert check["status"] == "warn" and check["suggestion"] and "old.xml" in check["evidence"]
    assert judge.feed_check(None)["status"] == "crit"


def test_a_feed_changed_after_import_is_refused(var, tmp_path):
    f, _ = feed.import_feed(_feed(tmp_path, "good.xml"))
    f.path.write_text(f.path.read_text().replace("5.2.15-2+b9", "0"))
    with pytest.raises(InputError, match="changed after import"):
        feed.active()


def test_index_reads_cves_packages_fixed_versions_and_severity(tmp_path):
    vulns = [ovalfeed.Vuln("CVE-2099-0001", "bash", "1:5.3-1", "Important"), ovalfeed.Vuln("CVE-2099-0002", "zlib1g", "1.0", "")]
    parsed = feed.parse(ovalfeed.build(vulns).encode(), "f.xml")
    d = list(parsed["definitions"].values())
    assert d[0]["cves"] == ["CVE-2099-0001"] and d[0]["packages"] == [{"package": "bash", "fixed": "1:5.3-1"}]
    assert d[0]["severity"] == "high" and d[1]["severity"] == "unknown"
    assert parsed["platforms"] == ["Debian GNU/Linux 12"]


# -- OpenSCAP on an offline root -------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("oscap") is None, reason="oscap (openscap-scanner) is installed by make bootstrap")
def test_oscap_evaluates_the_hosts_packages_not_the_bastions(tmp_path):
    vulns = [ovalfeed.Vuln("CVE-2099-0001", "bash", "5.2.15-2+b9", "critical"),      # installed is older: found
             ovalfeed.Vuln("CVE-2099-0002", "zlib1g", "1:1.2.13.dfsg-0", "high"),   # installed is newer: not
             ovalfeed.Vuln("CVE-2099-0003", "removed-pkg", "2.0-1", "high"),       # not installed: not
             ovalfeed.Vuln("CVE-2099-0004", "yunwei-only-on-host", "2.0-1", "low")]
    status = vc.reduce_status(STATUS + "\nPackage: yunwei-only-on-host\nStatus: install ok installed\n"
                                       "Architecture: amd64\nVersion: 1.0-1\n")
    assert "long text" not in status and "removed-pkg" not in status
    p = tmp_path / "feed.xml"
    p.write_text(ovalfeed.build(vulns))
    parsed = feed.parse(p.read_bytes(), str(p))
    facts = {"dpkg_status": status, "os_release": 'ID=debian\nVERSION_ID="12"\n', "debian_version": "12.8\n", "arch": "amd64"}
    found = oval.evaluate(p, parsed["definitions"], facts)
    assert sorted((f["cve"], f["package"], f["installed"]) for f in found) == [
        ("CVE-2099-0001", "bash", "5.2.15-2+b8"), ("CVE-2099-0004", "yunwei-only-on-host", "1.0-1")]
    # the release test is real too: the same packages on Debian 11 match nothing in a Debian 12 feed
    assert oval.evaluate(p, parsed["definitions"], {**facts, "debian_version": "11.9\n"}) == []


# -- exposure ----------------------------------------------------------------------------------------------
INVENTORY = ["10.89.3.2", "10.89.3.3", "web01", "db01"]


@pytest.mark.parametrize("target", ["10.89.3.9", "10.89.3.0/24", "10.89.3.2-9", "-iL/etc/passwd", "10.89.3.2,10.89.3.3", ""])
def test_a_target_outside_the_inventory_is_refused_before_any_packet(target):
    with pytest.raises(exposure.TargetRefused, match="refused|not an address"):
        exposure.resolve_target(target, INVENTORY, "web01")


def test_an_inventory_address_is_scanned_as_one_literal_address():
    assert exposure.resolve_target("10.89.3.2", INVENTORY, "web01") == "10.89.3.2"
    with pytest.raises(ValueError):
        exposure.scan("10.89.3.0/24")


@pytest.mark.parametrize("ports, key", [({"web": [80, 70000]}, "security_allowed_ports.web[1]"),
                                        ({"web": ["http"]}, "security_allowed_ports.web[0]"),
                                        ({"web": [True]}, "security_allowed_ports.web[0]"),
                                        ({"web": 80}, "security_allowed_ports.web"),
                                        ([80], "security_allowed_ports")])
def test_a_bad_allow_list_names_the_key(ports, key):
    with pytest.raises(ValueError) as exc:
        exposure.allowed_ports(ports, ["web"])
    assert str(exc.value).startswith(key)


def test_allowed_ports_are_the_union_of_the_hosts_groups():
    assert exposure.allowed_ports({"all": [22], "web": [80, "443"], "db": [5432]}, ["web", "all"]) == {22, 80, 443}


def test_nmap_output_and_unexpected_ports_with_their_process():
    xml = """<?xml version="1.0"?><nmaprun><host><ports>
      <port protocol="tcp" portid="22"><state state="open"/></port>
      <port protocol="tcp" portid="8765"><state state="open"/></port>
      <port protocol="tcp" portid="25"><state state="closed"/></port></ports></host></nmaprun>"""
    open_ports = exposure.parse_nmap_xml(xml)
    assert open_ports == [22, 8765]
    checks, unexpected = judge.port_checks(open_ports, {22}, [{"proto": "tcp", "port": 8765, "process": "python3"}])
    assert unexpected == [{"port": 8765, "process": "python3"}]
    assert checks[0]["status"] == "crit" and "python3" in checks[0]["evidence"] and "8765" in checks[0]["suggestion"]
    with pytest.raises(exposure.ScanError):
        exposure.parse_nmap_xml("<nmaprun/>")


# -- auth log ----------------------------------------------------------------------------------------------
def test_auth_log_privileged_events():
    text = ("2026-12-01T10:00:00.000000+08:00 web01 sshd[1]: Accepted publickey for root from 10.0.0.1 port 1 ssh2\n"
            "2026-12-01T10:01:00+08:00 web01 sshd[1]: Failed password for invalid user admin from 10.0.0.2 port 1 ssh2\n"
            "2026-12-01T10:02:00+08:00 web01 sshd[1]: Accepted password for alice from 10.0.0.3 port 1 ssh2\n"
            "Dec  1 02:03:00 web01 sudo:    eve : 3 incorrect password attempts ; TTY=pts/0 ; USER=root ; COMMAND=/bin/sh\n"
            "Dec  1 02:04:00 web01 sudo:    ops : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/mysql -pS3cretPw appdb\n"
            "Dec  1 02:05:00 web01 sudo:    ops : TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c echo "
            "BECOME-SUCCESS-abcdef ; /usr/bin/python3\n"
            "2026-11-01T10:00:00+08:00 web01 sshd[1]: Accepted publickey for root from 10.0.0.1 port 1 ssh2\n"
            "garbage\n")
    since = dt.datetime(2026, 11, 30, tzinfo=timezone.utc).timestamp()
    ev = vc.parse_auth_log(text, since, 2026, 0, ["alice"])
    got = [(e["kind"], e["ok"], e["user"], e["privileged"]) for e in ev]
    assert got == [("ssh", True, "root", True), ("ssh", False, "admin", False), ("ssh", True, "alice", True),
                   ("sudo", False, "eve", True), ("sudo", True, "ops", True)]
    # only the program: a password typed on the command line never reaches the journal or the report; Ansible's
    # own become wrapper (yunwei's jobs) is not an operator's privileged login
    assert ev[-1]["detail"] == "mysql" and "S3cret" not in json.dumps(ev) and "BECOME" not in json.dumps(ev)
    assert ev[0]["time"] == dt.datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc).timestamp()


# -- findings lifecycle ------------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_OPERATOR", "tester")
    s = open_store(f"sqlite:///{tmp_path}/journal.sqlite")
    yield s
    s.close()


def _scan(store, when: dt.datetime, host_results: dict) -> str:
    rid = str(uuid.uuid4())
    store.begin_run(Run(id=rid, job="vuln-scan", operator="tester", started_at=when, hosts=sorted(host_results)))
    store.write_batch(rid, results=[TaskResult(run_id=rid, host=h, task="scan", status="ok", seq=i,
                                               action="yunwei.ops.vuln_scan", started_at=when, ended_at=when,
                                               result={"vuln": v}) for i, (h, v) in enumerate(host_results.items())])
    store.finish_run(rid, "ok", ended_at=when + timedelta(seconds=30))
    return rid


def _v(findings_=(), ports=()):
    return {"feed": {"source": "f.xml", "digest": "sha256:x", "generated": "2026-11-30", "age_days": 1, "definitions": 3},
            "findings": [{"cve": c, "package": p, "installed": "1.0", "fixed": "1.1", "severity": s, "fix_available": False}
                         for c, p, s in findings_],
            "open_ports": [22, *ports], "allowed_ports": [22],
            "unexpected_ports": [{"port": p, "process": "nc"} for p in ports], "errors": {}, "scanned": ["vuln", "port"]}


def test_lifecycle_new_fixed_verified_reopened_and_tickets_once(store):
    from yunwei.servicedesk import tickets as tk

    t0 = NOW - timedelta(days=3)
    _scan(store, t0, {"web01": _v([("CVE-1", "bash", "critical"), ("CVE-2", "zlib1g", "low")], [4444]),
                      "db01": _v([("CVE-3", "bash", "high")])})
    s = findings.sync(store)
    assert (s["new"], s["runs"]) == (4, 1) and len(s["tickets"]) == 3
    assert findings.sync(store)["runs"] == 0  # taken once
    grades = sorted(t.grade for t in tk.list_tickets(store))
    assert grades == ["sec-major", "sec-normal", "sec-normal"]
    # web01 only: CVE-1 and the port are gone; db01 was not scanned, so its finding does not move
    _scan(store, t0 + timedelta(days=1), {"web01": _v([("CVE-2", "zlib1g", "low")])})
    findings.sync(store)
    state = {(f.host, f.fkey): f.state for f in findings.all_findings(store)}
    assert state == {("web01", "CVE-1 bash"): "fixed", ("web01", "CVE-2 zlib1g"): "new", ("web01", "tcp/4444"): "fixed",
                     ("db01", "CVE-3 bash"): "new"}
    # still gone on the next scan: verified; the port comes back: a new finding with a new ticket
    _scan(store, t0 + timedelta(days=2), {"web01": _v([("CVE-2", "zlib1g", "low")], [4444])})
    s = findings.sync(store)
    assert s["verified"] == 1 and s["reopened"] == 1 and len(s["tickets"]) == 1
    rows = findings.all_findings(store, host="web01")
    assert [(f.fkey, f.state) for f in rows] == [("CVE-1 bash", "verified"), ("CVE-2 zlib1g", "new"),
                                                 ("tcp/4444", "fixed"), ("tcp/4444", "new")]
    opened = findings.open_findings(store)
    assert [(f["host"], f["severity"], f["fkey"]) for f in opened] == [
        ("db01", "high", "CVE-3 bash"), ("web01", "high", "tcp/4444"), ("web01", "low", "CVE-2 zlib1g")]
    assert [f["fkey"] for f in findings.open_findings(store, hosts=["web01"], min_severity="high")] == ["tcp/4444"]
    with pytest.raises(InputError):
        findings.open_findings(store, min_severity="urgent")


def test_only_what_a_scan_evaluated_moves(store):
    t0 = NOW - timedelta(days=2)
    _scan(store, t0, {"web01": _v([("CVE-1", "bash", "medium")])})
    _scan(store, t0 + timedelta(hours=1), {"web01": _v([("CVE-1", "bash", "medium")], [4444])})
    broken = {**_v(), "feed": None, "errors": {"vulns": "OpenSCAP 评估失败"}, "scanned": ["port"]}
    _scan(store, t0 + timedelta(days=1), {"web01": broken})
    no_exposure = {**_v(), "open_ports": [], "allowed_ports": [], "scanned": ["vuln"]}  # exposure switched off
    findings.sync(store)
    assert [(f.fkey, f.state) for f in findings.all_findings(store)] == [("CVE-1 bash", "new"), ("tcp/4444", "fixed")]
    _scan(store, t0 + timedelta(days=1, hours=1), {"web01": {**no_exposure, "findings": []}})
    findings.sync(store)
    assert [(f.fkey, f.state) for f in findings.all_findings(store)] == [("CVE-1 bash", "fixed"), ("tcp/4444", "fixed")]


def test_an_accepted_risk_is_reviewed_state_approved_by_a_second_operator(store, env, monkeypatch):  # noqa: F811
    """No operator can accept a risk alone: the accepted-risks file takes effect only through two-person
    review, its approver is the review's approver (the file has no approver field), an edited active copy
    is refused, and an acceptance that has run out leaves the finding open."""
    import yaml

    from yunwei.errors import YunweiError
    from yunwei.review import workflow
    from yunwei.vuln import risks

    _scan(store, NOW - timedelta(days=1), {"web01": _v([("CVE-1", "bash", "high")])})
    findings.sync(store)
    until = (dt.date.today() + timedelta(days=30)).isoformat()
    path = env.root / "vuln-risks.yml"
    monkeypatch.setenv("YUNWEI_VULN_RISKS", str(path))
    good = {"host": "web01", "finding": "CVE-1  bash", "justification": "待上游修复，WAF 已缓解", "expires": until}
    for bad, key in (({**good, "approver": "li"}, "risks[0].approver"), ({**good, "expires": "2099-01-01"}, "risks[0].expires"),
                     ({**good, "expires": "soon"}, "risks[0].expires"), ({**good, "justification": " "}, "risks[0].justification")):
        path.write_text(yaml.safe_dump({"risks": [bad]}, allow_unicode=True))
        env.as_operator("alice")
        with pytest.raises(InputError) as info:
            workflow.create_request("risks", quiet=True)
        assert info.value.key == key and info.value.source == str(path)
    path.write_text(yaml.safe_dump({"risks": [good]}, allow_unicode=True))
    req = workflow.create_request("risks", quiet=True)
    with pytest.raises(YunweiError, match="same person"):
        workflow.approve(req["id"])
    assert findings.all_findings(store)[0].state == "new"          # requested is not accepted
    env.as_operator("bob")
    workflow.approve(req["id"])
    workflow.execute(req["id"], quiet=True)
    f = findings.all_findings(store)[0]
    assert (f.state, f.accepted_by, f.accepted_until, f.is_open) == ("accepted", "bob", until, True)
    assert [o["state"] for o in findings.open_findings(store)] == ["accepted"]
    # an edited active copy is refused, not silently trusted
    active = risks.active_paths()[0]
    active.write_text(active.read_text().replace(until, "2099-12-31"))
    with pytest.raises(InputError, match="approved digest"):
        findings.all_findings(store)
    active.write_text(active.read_text().replace("2099-12-31", until))
    # past its expiry the finding is open again
    assert risks.accepted(dt.date.today() + timedelta(days=31)) == {}
    records = [json.loads(line) for line in (var_dir() / "audit" / "audit.jsonl").read_text().splitlines()]
    assert [(r["requester"], r["approver"]) for r in records if r["event"] == "risks_change"] == [("alice", "bob")]


# -- reports -----------------------------------------------------------------------------------------------
def test_reports_read_the_lifecycle(store, tmp_path):
    from yunwei.reports.generate import Options, generate
    from yunwei.reports.periods import client_tz, day_period, parse_period

    tz = client_tz()
    today = dt.datetime.now(tz).date()
    _scan(store, NOW - timedelta(hours=2), {"web01": _v([("CVE-1", "bash", "critical"), ("CVE-2", "zlib1g", "low")], [4444])})
    _scan(store, NOW - timedelta(hours=1), {"web01": _v([("CVE-1", "bash", "critical")])})
    findings.sync(store)
    opts = Options(formats=["html"], out_dir=tmp_path, charts=False)
    quarter = parse_period("quarter", f"{today.year}-Q{(today.month - 1) // 3 + 1}", tz)
    html = generate("vuln", store, quarter, opts)[0].read_text()
    assert "《漏洞扫描报告》" in html and "CVE-1 bash" in html and "security-updates" in html
    assert "TCP 4444（nc）" in html and "已修复" in html and "不再出现 2 个" in html
    daily = generate("security-daily", store, day_period(today, tz), opts)[0].read_text()
    assert "《安全运行日报》" in daily and "CVE-1 bash" in daily and "作业 security-daily 未运行" in daily
    empty = generate("vuln", store, parse_period("quarter", "2020-Q1", tz), opts)[0].read_text()
    assert "没有漏洞扫描记录" in empty


def test_results_count_every_outcome(tmp_path):
    """A definition oscap could not evaluate (an OpenSCAP without the dpkginfo probe) is counted, so evaluate()
    fails visibly instead of reporting no findings."""
    p = tmp_path / "results.xml"
    p.write_text('<oval_results xmlns="http://oval.mitre.org/XMLSchema/oval-results-5"><results><system><definitions>'
                 '<definition definition_id="a" result="true"/><definition definition_id="b" result="false"/>'
                 '<definition definition_id="c" result="not evaluated"/><definition definition_id="d" result="error"/>'
                 '</definitions></system></results></oval_results>')
    assert oval.true_definitions(p) == (["a"], {"true": 1, "false": 1, "not evaluated": 1, "error": 1})

"""The backup role's pure parts: validation of the data sets (each problem names file and key), the
status computation from facts, the verify parser, the manifest, the lab's vaulted secrets."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.filter import backup as flt  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils.backup_status import compute  # noqa: E402
from ansible_collections.yunwei.ops.plugins.modules.backup_status import forecast, pending_bytes  # noqa: E402
from ansible_collections.yunwei.ops.plugins.modules.pgbackrest import parse_verify  # noqa: E402
from ansible_collections.yunwei.ops.plugins.modules.restic import manifest  # noqa: E402
from yunwei.backup.judge import judge_backup_result  # noqa: E402

GROUPS = {"all": ["db01", "web01", "backup01", "offsite01"], "db": ["db01"], "web": ["web01"],
          "backup": ["backup01"], "offsite": ["offsite01"]}
DATASETS = [
    {"name": "appdb", "kind": "postgresql", "tier": "core", "hosts": "db", "source": {"cluster": "15/main", "port": 5432}},
    {"name": "site", "kind": "files", "tier": "general", "hosts": "web", "source": {"paths": ["/var/www"]}},
]


def settings(**over):
    s = {"datasets": DATASETS, "dataset": "all", "type": "", "tier": "", "thresholds": {}, "store_group": "backup",
         "offsite_group": "offsite", "offsite_enabled": True, "groups": GROUPS, "today": "2026-12-01",
         "defined_secrets": list(flt.SECRETS), "inventory_dir": "", "vault_file": "", "role_defaults": "roles/backup/defaults/main.yml"}
    s.update(over)
    return s


def one(problems):
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_settings_have_no_problem():
    assert flt.backup_problems(settings()) == []


@pytest.mark.parametrize("change,expect", [
    ({"kind": "mysql"}, "backup_datasets[0] (appdb).kind: unknown kind 'mysql'"),
    ({"tier": "gold"}, "backup_datasets[0] (appdb).tier: unknown tier 'gold'"),
    ({"hosts": "nowhere"}, "backup_datasets[0] (appdb).hosts: 'nowhere' matches no host"),
    ({"hosts": "all"}, "a postgresql data set has exactly one host"),
    ({"retention_days": 30}, "retention_days: 30 days is under the contract's 183 days and there is no waiver"),
    ({"retention_days": 30, "waiver": {"approver": "li", "expires": "2026-11-30"}}, "waiver.expires: the waiver expired on 2026-11-30"),
    ({"retention_days": 30, "waiver": {"expires": "2027-01-01"}}, "waiver.approver: the waiver must name who approved it"),
    ({"retention_days": 30, "waiver": {"approver": "li"}}, "waiver.expires: the waiver must have an expiry date"),
    ({"source": {"cluster": "main"}}, "source.cluster: 'main' must be VERSION/NAME"),
    ({"colour": "red"}, "backup_datasets[0] (appdb).colour: unknown key"),
])
def test_bad_data_set_names_file_and_key(change, expect):
    ds = [{**DATASETS[0], **change}, DATASETS[1]]
    problem = one(flt.backup_problems(settings(datasets=ds)))
    assert problem.startswith("roles/backup/defaults/main.yml: ") and expect in problem


def test_valid_waiver_allows_short_retention():
    ds = [{**DATASETS[0], "retention_days": 30, "waiver": {"approver": "li", "expires": "2027-06-30", "reason": "test"}}]
    assert flt.backup_problems(settings(datasets=ds)) == []


def test_relative_path_and_missing_vault_variable():
    ds = [DATASETS[0], {**DATASETS[1], "source": {"paths": ["var/www"]}}]
    assert "source.paths[0]: 'var/www' is not an absolute path" in one(flt.backup_problems(settings(datasets=ds)))
    p = one(flt.backup_problems(settings(defined_secrets=list(flt.SECRETS[1:]), vault_file="/x/backup-vault.yml")))
    assert p == "/x/backup-vault.yml: backup_pg_repo1_cipher_pass: missing vault variable (a passphrase from ansible-vault)"


def test_job_choices_and_limits():
    assert "backup_dataset: unknown data set 'nope'" in one(flt.backup_problems(settings(dataset="nope")))
    assert "backup_type: 'weekly'" in one(flt.backup_problems(settings(type="weekly")))
    assert "backup_thresholds.backup_core_wal_lag_s.warn: must be a finite number" in one(
        flt.backup_problems(settings(thresholds={"backup_core_wal_lag_s": {"warn": float("nan")}})))
    # the catalogue's backup thresholds only: not a tier it does not know, not an inspection threshold
    assert "backup_thresholds.backup_gold_age_s: unknown threshold" in one(
        flt.backup_problems(settings(thresholds={"backup_gold_age_s": {"warn": 1}})))
    assert "backup_thresholds.fs_pct: unknown threshold" in one(flt.backup_problems(settings(thresholds={"fs_pct": {"warn": 1}})))
    assert "backup_repo_free_pct: warn (5) is below crit (10.0); smaller is worse here" in one(flt.backup_problems(settings(thresholds={"backup_repo_free_pct": {"warn": 5}})))
    # the status needs no vault variable
    assert flt.backup_problems(settings(defined_secrets=None)) == []


def test_origin_is_the_inventory_file_that_defines_the_variable(tmp_path):
    gv = tmp_path / "group_vars" / "all"
    gv.mkdir(parents=True)
    (gv / "backup.yml").write_text("backup_datasets:\n  - name: x\n")
    p = flt.backup_problems(settings(datasets=[{"name": "x"}], inventory_dir=str(tmp_path)))
    assert all(x.startswith(str(gv / "backup.yml") + ": ") for x in p) and any(".kind: unknown kind None" in x for x in p)


def test_selection():
    assert [d["name"] for d in flt.backup_selected(DATASETS, "site")] == ["site"]
    assert [d["name"] for d in flt.backup_selected(DATASETS, "all", "core")] == ["appdb"]
    assert flt.backup_for_host(DATASETS, GROUPS, "web01", "files")[0]["name"] == "site"
    assert flt.backup_pg_path({"cluster": "15/main"}) == "/var/lib/postgresql/15/main"


# --- status ------------------------------------------------------------------------------------
NOW = 1_800_000_000.0
SETS = [{"name": "appdb", "kind": "postgresql", "tier": "core", "hosts": ["db01"]},
        {"name": "site", "kind": "files", "tier": "general", "hosts": ["web01"]}]


def pg_stanza(ages, cipher="aes-256-cbc"):
    backups = [{"label": f"L{i}", "type": t, "timestamp": {"start": NOW - a - 10, "stop": NOW - a},
                "info": {"size": 100, "repository": {"delta": 10}}} for i, (t, a) in enumerate(ages)]
    return {"name": "appdb", "cipher": cipher, "status": {"code": 0, "message": "ok"}, "backup": backups}


def store_facts(pg, snaps, verify=None, fs=None):
    return {"role": "store", "host": "backup01", "pg": {"appdb": pg}, "restic": {"site": {"snapshots": snaps}},
            "verify": verify or {}, "repo_fs": fs or [{"path": "/srv/backup", "total": 100, "free": 50, "used": 50, "days_full": None}]}


def snap(host, age, kind="incr"):
    return {"hostname": host, "time_epoch": NOW - age, "short_id": "abcd1234", "tags": ["yunwei", f"type={kind}", "manifest=ff"]}


def status(facts, thresholds=None, sets=None):
    """What the module computes on the host, judged as the action plugin judges it on the controller."""
    findings, metrics, rows = compute(facts, sets or SETS, NOW)
    assert all("status" not in f and "suggestion" not in f for f in findings)  # the module never judges
    res = judge_backup_result({"findings": findings, "metrics": metrics, "rows": rows}, thresholds)
    return res["checks"], res["metrics"], res["rows"]


def by_id(checks, check_id, inst=None):
    return [c for c in checks if c["id"] == check_id and (inst is None or c["instance"] == inst)]


def test_fresh_backups_are_ok_and_rows_name_the_last_of_each_type():
    checks, metrics, rows = status(store_facts(pg_stanza([("full", 7200), ("incr", 600)]), [snap("web01", 3600, "full")]))
    assert all(c["status"] == "ok" for c in checks), [c for c in checks if c["status"] != "ok"]
    pg = next(r for r in rows if r["dataset"] == "appdb")
    assert pg["last"]["full"]["label"] == "L0" and pg["last"]["incr"]["label"] == "L1" and pg["newest_age_s"] == 600
    assert pg["encrypted"] and pg["free_pct"] == 50.0
    assert {m["name"] for m in metrics} >= {"backup.age_s", "backup.repo.free_pct"}


def test_stale_unencrypted_and_failed_verify_are_crit():
    verify = {"verify-pg-appdb-repo1.json": {"time": NOW - 86400, "status": "crit", "evidence": "checksum invalid", "tool": "pgbackrest verify"}}
    checks, _, rows = status(store_facts(pg_stanza([("full", 4 * 86400)], cipher="none"), [snap("web01", 3 * 86400)], verify))
    assert by_id(checks, "BACKUP-AGE-001", "appdb/repo1")[0]["status"] == "crit"
    assert by_id(checks, "BACKUP-FULL-001", "appdb/repo1")[0]["status"] == "crit"
    assert by_id(checks, "BACKUP-ENC-001", "appdb/repo1")[0]["status"] == "crit"
    assert by_id(checks, "BACKUP-VERIFY-001", "appdb/repo1")[0]["status"] == "crit"
    assert by_id(checks, "BACKUP-AGE-001", "site@web01")[0]["status"] == "crit"  # general: 50 h crit
    assert by_id(checks, "BACKUP-FULL-001", "site@web01")[0]["status"] == "crit"  # no full at all
    assert all(r["status"] == "crit" for r in rows if r.get("dataset") in ("appdb", "site"))
    assert by_id(checks, "BACKUP-AGE-001", "site@web01")[0]["suggestion"]


def test_unreadable_repository_and_failed_slice_check():
    facts = store_facts({"error": "unable to decrypt"}, [snap("web01", 60, "full")],
                        {"slice-files-site-primary.json": {"time": NOW - 60, "status": "crit", "evidence": "pack 1234 damaged",
                                                           "tool": "restic check"}})
    checks, _, rows = status(facts)
    assert by_id(checks, "BACKUP-REPO-003", "appdb/repo1")[0]["status"] == "crit"
    v = by_id(checks, "BACKUP-VERIFY-001", "site/primary")[0]
    assert v["status"] == "crit" and "pack 1234 damaged" in v["evidence"]


def test_offsite_copy_age_and_repo_space():
    facts = store_facts(pg_stanza([("full", 30 * 3600)]), [], fs=[{"path": "/srv/backup", "total": 100, "free": 5, "used": 95,
                                                                    "days_full": 3.0, "growth_per_day": 2 ** 20}])
    facts["role"] = "offsite"
    checks, _, _ = status(facts)
    assert by_id(checks, "BACKUP-OFFSITE-001", "appdb/repo2")[0]["status"] == "crit"  # core: 26 h
    assert not by_id(checks, "BACKUP-AGE-001")
    assert by_id(checks, "BACKUP-OFFSITE-001", "site@web01/offsite")[0]["status"] == "crit"  # nothing there
    assert by_id(checks, "BACKUP-REPO-001")[0]["status"] == "crit" and by_id(checks, "BACKUP-REPO-002")[0]["status"] == "crit"


def archiver(**over):
    a = {"archive_mode": "on", "archive_command": "pgbackrest --stanza=appdb archive-push %p", "archive_timeout": 60,
         "last_archived_wal": "000000010000000000000005", "last_archived_time": NOW - 30, "archived_count": 5,
         "ready": 0, "pending_bytes": 0}
    a.update(over)
    return {"role": "db", "host": "db01", "archiver": {"appdb": a}}


def test_wal_lag():
    checks, metrics, rows = status(archiver())
    assert by_id(checks, "BACKUP-WAL-001")[0]["value"] == 0 and rows[0]["wal_lag_s"] == 0
    checks, _, _ = status(archiver(pending_bytes=100, last_archived_time=NOW - 3600))
    assert by_id(checks, "BACKUP-WAL-001")[0]["value"] == 60  # bounded by archive_timeout while archiving works
    checks, _, rows = status(archiver(pending_bytes=100, last_archived_time=NOW - 20))
    assert rows[0]["wal_lag_s"] == 20 and rows[0]["wal_lag_bounded"] is True
    checks, _, rows = status(archiver(ready=7, oldest_ready_time=NOW - 900, last_failed_time=NOW - 5,
                                       last_failed_wal="00000001000000000000000C"))
    assert by_id(checks, "BACKUP-WAL-001")[0]["status"] == "crit" and by_id(checks, "BACKUP-WAL-002")[0]["status"] == "crit"
    checks, _, _ = status(archiver(archive_mode="off"))
    assert by_id(checks, "BACKUP-WAL-002")[0]["status"] == "crit"


def test_pending_bytes_and_forecast():
    a = {"last_archived_wal": "000000010000000000000005", "insert_lsn": "0/6000000", "segsize": 16777216}
    assert pending_bytes(a) == 0
    assert pending_bytes({**a, "insert_lsn": "0/6000100"}) == 0x100
    assert pending_bytes({**a, "last_archived_wal": "00000001.history"}) is None
    assert forecast([[0, 100], [86400, 200]], 1000)["days_full"] == pytest.approx(10)
    assert forecast([[0, 100], [3600, 200]], 1000)["days_full"] is None  # an hour is not a trend


def test_tiers_are_catalogue_thresholds_judged_on_the_controller():
    """Each data set is judged against its own tier's threshold only, overridable by backup_thresholds."""
    sets = [SETS[0], {**SETS[0], "name": "hrdb", "tier": "general"}]
    facts = store_facts(pg_stanza([("full", 7200)]), [])
    facts["pg"]["hrdb"] = pg_stanza([("full", 7200)])
    checks, _, rows = status(facts, sets=sets)
    core, general = by_id(checks, "BACKUP-AGE-001", "appdb/repo1")[0], by_id(checks, "BACKUP-AGE-001", "hrdb/repo1")[0]
    assert (core["status"], core["threshold"]) == ("warn", {"warn": 5400, "crit": 10800})  # 2 h: over the hourly tier
    assert (general["status"], general["threshold"]) == ("ok", {"warn": 93600, "crit": 180000})
    assert core["title"] == "最近一次备份距今时长" and core["unit"] == "s" and core["suggestion"]
    row = next(r for r in rows if r["dataset"] == "appdb")
    assert row["status"] == "warn" and row["limit_s"] == {"warn": 5400, "crit": 10800}
    assert row["verify"]["status"] == "ok" and "尚未做过完整性校验" in row["verify"]["evidence"]
    checks, _, rows = status(facts, {"backup_core_age_s": {"warn": 8000}}, sets=sets)
    assert by_id(checks, "BACKUP-AGE-001", "appdb/repo1")[0]["status"] == "ok"
    assert next(r for r in rows if r["dataset"] == "appdb")["limit_s"] == {"warn": 8000, "crit": 10800}


def test_never_verified_is_judged_by_the_time_since_the_first_backup():
    fresh = status(store_facts(pg_stanza([("full", 86400)]), []))[0]
    assert by_id(fresh, "BACKUP-VERIFY-001", "appdb/repo1")[0]["status"] == "ok"  # a new store: the month is not over
    old = by_id(status(store_facts(pg_stanza([("full", 40 * 86400), ("incr", 600)]), []))[0], "BACKUP-VERIFY-001", "appdb/repo1")[0]
    assert old["status"] == "warn" and "尚未做过完整性校验" in old["evidence"] and "backup_verify" in old["suggestion"]
    done = {"verify-pg-appdb-repo1.json": {"time": NOW - 86400, "status": "ok", "evidence": "ok", "tool": "pgbackrest verify"}}
    assert by_id(status(store_facts(pg_stanza([("full", 40 * 86400)]), [], done))[0], "BACKUP-VERIFY-001")[0]["status"] == "ok"


def test_disabled_checks_are_left_out_and_rows_follow():
    facts = store_facts(pg_stanza([("full", 4 * 86400)]), [snap("web01", 60, "full")])
    findings, metrics, rows = compute(facts, SETS, NOW)
    res = judge_backup_result({"findings": findings, "metrics": metrics, "rows": rows}, None,
                              ["BACKUP-AGE-001", "BACKUP-FULL-001"])
    assert not by_id(res["checks"], "BACKUP-AGE-001") and by_id(res["checks"], "BACKUP-REPO-003")
    assert next(r for r in res["rows"] if r["dataset"] == "appdb")["status"] == "ok"


VERIFY_OK = """stanza: appdb
status: ok
  archiveId: 15-1, total WAL checked: 12, total valid WAL: 12
    missing: 0, checksum invalid: 0, size invalid: 0, other: 0
  backup: 20261201-115931F, status: valid, total files referenced: 980, total files checked: 980, total files missing: 0, total valid files: 980
"""


def test_parse_verify():
    ok = parse_verify(VERIFY_OK)
    assert ok["status"] == "ok" and ok["wal_checked"] == 12 and ok["files_checked"] == 980 and ok["problems"] == 0
    bad = parse_verify(VERIFY_OK.replace("status: ok", "status: error").replace("checksum invalid: 0", "checksum invalid: 1")
                       .replace("total valid WAL: 12", "total valid WAL: 11"))
    assert bad["status"] == "error" and bad["problems"] == 1 and bad["wal_valid"] == 11


def test_manifest(tmp_path):
    (tmp_path / "a").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_text("y")
    os.symlink("a", tmp_path / "l")
    text = manifest([str(tmp_path)], "/nonexistent")
    lines = text.splitlines()
    assert lines[0].endswith(f"  {tmp_path}/a") and lines[0].startswith("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")
    assert f"symlink:a  {tmp_path}/l" in lines and len(lines) == 3


def test_lab_secrets_are_only_stored_vault_encrypted(tmp_path, monkeypatch):
    from ansible.parsing.vault import VaultLib, VaultSecret

    from yunwei_dev.lab.backups import SECRET_NAMES, ensure_secrets

    monkeypatch.setenv("YUNWEI_VAULT_PASSWORD_FILE", str(tmp_path / "vault-pass"))
    path = ensure_secrets(tmp_path / "backup-vault.yml", {n: f"seed-{n}" for n in SECRET_NAMES})
    raw = path.read_bytes()
    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256") and b"seed-" not in raw
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct((tmp_path / "vault-pass").stat().st_mode & 0o777) == "0o600"
    plain = VaultLib([("default", VaultSecret((tmp_path / "vault-pass").read_bytes().strip()))]).decrypt(raw).decode()
    assert "backup_restic_password: seed-backup_restic_password" in plain
    before = raw
    ensure_secrets(path)  # exists: left alone
    assert path.read_bytes() == before
    # the monitoring's secrets share the helper: a name added later joins the file, the others stay
    from yunwei_dev.lab.backups import vault_secrets
    from yunwei_dev.lab.monitoring import SECRETS, ensure_secrets as monitoring_secrets

    monitoring_secrets(path)
    grown = vault_secrets(path)
    assert grown["backup_restic_password"] == "seed-backup_restic_password" and all(grown[n] for n in SECRETS)
    assert b"seed-" not in path.read_bytes()


def test_ssh_plan_restricts_every_key_and_a_preview_tolerates_missing_keys():
    import base64

    def slurped(*paths):
        return {"results": [{"item": p, "content": base64.b64encode(f"ssh-ed25519 KEY{p} comment".encode()).decode()}
                            for p in paths]}

    host_key = "/etc/ssh/ssh_host_ed25519_key.pub"
    hostvars = {
        "db01": {"backup_pubkeys": slurped("/var/lib/postgresql/.ssh/id_ed25519.pub", host_key), "backup_address": "db01"},
        "backup01": {"backup_pubkeys": slurped("/var/lib/pgbackrest/.ssh/id_ed25519.pub", host_key), "ansible_host": "10.0.0.4"},
        "offsite01": {"backup_pubkeys": slurped(host_key)},  # its pgbackrest key is not there yet
    }
    p = {"host": "db01", "store": "backup01", "offsite": "offsite01", "pg_hosts": ["db01"], "files_hosts": [],
         "pg_sets": True, "files_sets": False, "my_pg": True, "my_files": False, "conf_dir": "/etc/yunwei-backup",
         "keys": {"pg": "/var/lib/postgresql/.ssh/id_ed25519", "pgbr": "/var/lib/pgbackrest/.ssh/id_ed25519",
                  "restic": "/x", "client": "/y"}, "pgbr_options": 'command="pgbackrest"', "sftp_options": "restrict"}
    with pytest.raises(flt.AnsibleFilterError, match="no public key /var/lib/pgbackrest/.ssh/id_ed25519.pub"):
        flt.backup_ssh_plan(p, hostvars)
    plan = flt.backup_ssh_plan({**p, "check_mode": True}, hostvars)
    assert [(a["user"], a["from"], a["options"]) for a in plan["authorized"]] == [("postgres", "pgbackrest@backup01", 'command="pgbackrest"')]
    assert plan["authorized"][0]["key"] == "ssh-ed25519 KEY/var/lib/pgbackrest/.ssh/id_ed25519.pub"  # comment dropped
    assert [(k["name"], k["address"]) for k in plan["known"]] == [("backup01", "10.0.0.4"), ("offsite01", "offsite01")]


@pytest.mark.skipif(os.geteuid() != 0, reason="root-owned admin files need root")
def test_vault_password_file_in_admin_mode_comes_from_the_configuration(tmp_path, monkeypatch):
    """The vault password decides which secrets a reviewed change decrypts: in admin mode only the
    administrator's file counts; the operator's variable is refused, a file others could write is
    not trusted. Lab mode honours the variable."""
    from yunwei import config, paths
    from yunwei.errors import InputError

    mine = tmp_path / "mine-pass"
    mine.write_text("operator's\n")
    monkeypatch.delenv("YUNWEI_CONFIG", raising=False)
    monkeypatch.setenv("YUNWEI_VAULT_PASSWORD_FILE", str(mine))
    if not config.ETC_CONFIG.exists():
        assert paths.vault_password_file() == mine  # lab mode
    admin = tmp_path / "etc-yunwei"
    admin.mkdir(mode=0o755)
    (admin / "allowed_signers").write_text("")
    (admin / "vault-pass").write_text("root's\n")
    (admin / "yunwei.yml").write_text(f"allowed_signers: {admin / 'allowed_signers'}\nreview: {{store: {tmp_path / 'state'}}}\n"
                                      f"vault_password_file: {admin / 'vault-pass'}\n")
    for p in (admin, *admin.iterdir()):
        os.chmod(p, 0o755 if p.is_dir() else 0o640)
    monkeypatch.setenv("YUNWEI_CONFIG", str(admin / "yunwei.yml"))
    with pytest.raises(InputError, match=r"\$YUNWEI_VAULT_PASSWORD_FILE"):
        config.check_environment()
    assert paths.vault_password_file() == admin / "vault-pass"  # never the operator's
    monkeypatch.delenv("YUNWEI_VAULT_PASSWORD_FILE")
    os.chmod(admin / "vault-pass", 0o660)
    config._cache.clear()
    with pytest.raises(InputError, match="vault_password_file.*not trusted"):
        paths.vault_password_file()


class _Module:
    """Just what probe_user uses of AnsibleModule."""

    def __init__(self, check_mode):
        self.check_mode = check_mode
        self.failed = None

    def fail_json(self, msg):
        self.failed = msg
        raise SystemExit(1)


def test_probe_on_a_rebuilt_backup_host(monkeypatch):
    """A kept repository disk on a reinstalled host: no service account yet -> read as root; no tool
    yet -> skipped in the preview, a clear failure in a real run (the package step runs first)."""
    from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import probe_user

    monkeypatch.setattr("shutil.which", lambda tool, path=None: "/usr/bin/" + tool)
    assert probe_user(_Module(False), "pgbackrest", "root") == "root"
    assert probe_user(_Module(False), "pgbackrest", "yunwei-no-such-account") == "root"
    monkeypatch.setattr("shutil.which", lambda tool, path=None: None)
    assert probe_user(_Module(True), "restic", "restic") is None
    module = _Module(False)
    with pytest.raises(SystemExit):
        probe_user(module, "restic", "restic")
    assert "restic is not installed" in module.failed and "nothing was changed" in module.failed


def test_a_vault_file_the_password_does_not_open_is_named_and_the_secret_never_shown(tmp_path):
    """The backup role's validation loads the vaulted passphrases with no_log (Ansible's error could quote
    them); when that fails the operator still learns which file and why, and no secret is printed."""
    import shutil
    import subprocess
    import sys

    from ansible.parsing.vault import VaultLib, VaultSecret

    root = Path(__file__).resolve().parents[2]
    seed = "seed-secret-3f9a1c"
    vault = tmp_path / "backup-vault.yml"
    vault.write_bytes(VaultLib([("default", VaultSecret(b"the-right-password"))]).encrypt(
        f"backup_pg_repo1_cipher_pass: {seed}\n".encode()))
    (tmp_path / "wrong-pass").write_text("a-wrong-password\n")
    (tmp_path / "play.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: yunwei.ops.backup, tasks_from: validate}\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_VAULT_PASSWORD_FILE": str(tmp_path / "wrong-pass"), "YUNWEI_STORE": str(tmp_path / "j.sqlite"),
           "YUNWEI_VAR": str(tmp_path / "var")}
    proc = subprocess.run(
        [shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)), "-i", "localhost,", "-c", "local",
         "-e", f"backup_vault_vars_file={vault}", str(tmp_path / "play.yml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f"{vault}: backup_vault_vars_file: cannot be read" in out, out
    assert seed not in out

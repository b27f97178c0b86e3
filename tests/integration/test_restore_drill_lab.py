"""Restore tests and drills on the lab, over real SSH: the backups of `lab up` restored onto drill01
through the runner and proven usable (pgBackRest restore, amcheck, row counts, an application query;
restic restore against the snapshot's sha256 manifest), the accidental-drop drill with RTO and RPO
measured from the heartbeat, and the failure paths: bad input (exit 2 before any host is contacted),
a corrupted backup, a wrong passphrase, a manifest that does not match - each a failed run with
不通过 checks in the journal, never a success. Every test puts back what it broke."""

from __future__ import annotations

import os
from pathlib import Path

import sys

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from runner_helpers import make_key, write_allowed  # noqa: E402

from yunwei.cli import main  # noqa: E402
from yunwei.paths import project_root, var_dir  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.slow]
ROOT = project_root()
JOBS = ("restore_test", "drill", "restore_files")
RESTIC = ("RESTIC_PASSWORD_FILE=/etc/yunwei-backup/restic.pass RESTIC_CACHE_DIR=/var/cache/yunwei-restic restic "
          "-r sftp:restic@backup01:/srv/backup/restic/site -o 'sftp.command=ssh -i /etc/yunwei-backup/id_ed25519 "
          "-o UserKnownHostsFile=/etc/yunwei-backup/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes "
          "restic@backup01 -s sftp'")


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    """Jobs pointed at this lab (site catalogue), a private journal, audit log and runner folder."""
    lab = lab.lab.up(backups=True)  # backups and drill01 set up (a no-op when they are and nothing changed)
    tmp = tmp_path_factory.mktemp("drill")
    vault_pass = Path(os.environ.get("YUNWEI_VAULT_PASSWORD_FILE") or var_dir() / "vault-pass")
    repo = yaml.safe_load((ROOT / "jobs.yml").read_text())["jobs"]
    jobs = {"jobs": {name: {**repo[name], "playbook": str(ROOT / repo[name]["playbook"]), "inventory": str(lab.inventory)}
                     for name in JOBS}}
    # an inventory where db01 is not marked drill-capable (the catalogue's vars, set by the administrator)
    jobs["jobs"]["drill_unmarked"] = {**jobs["jobs"]["drill"], "vars": {"restore_drill_fault_injection": False}}
    # two data sets never backed up (no pgBackRest stanza, no restic repository): the role's defaults plus them
    datasets = yaml.safe_load((ROOT / "roles/backup/defaults/main.yml").read_text())["backup_datasets"]
    datasets += [{"name": "newdb", "kind": "postgresql", "tier": "core", "hosts": "db",
                  "source": {"cluster": "15/main", "port": 5432, "databases": ["appdb"]}},
                 {"name": "newsite", "kind": "files", "tier": "general", "hosts": "web", "source": {"paths": ["/var/www/yunwei"]}}]
    jobs["jobs"]["restore_test_new"] = {**jobs["jobs"]["restore_test"], "vars": {"backup_datasets": datasets}}
    (tmp / "jobs.yml").write_text(yaml.safe_dump(jobs))
    mp = pytest.MonkeyPatch()
    mp.setenv("YUNWEI_VAR", str(tmp / "var"))
    mp.setenv("YUNWEI_STORE", str(tmp / "journal.sqlite"))
    mp.setenv("YUNWEI_JOBS", str(tmp / "jobs.yml"))
    mp.setenv("YUNWEI_VAULT_PASSWORD_FILE", str(vault_pass))
    yield {"tmp": tmp, "lab": lab}
    mp.undo()


def last_run(job: str):
    from yunwei.store import open_store

    with open_store() as store:
        run = store.list_runs(job=job, limit=1)[0]
        checks = {(c.id, c.instance): c for c in store.checks(run_id=run.id)}
        metrics = {(m.name, m.instance): m.value for m in store.metrics(run_id=run.id)}
    return run, checks, metrics


def test_restore_test_restores_onto_drill01_and_proves_it_usable(env):
    lab = env["lab"]
    assert main(["run", "restore_test", "-e", "restore_drill_dataset=appdb,site", "-q"]) == 0
    run, checks, metrics = last_run("restore_test")
    assert run.status == "ok" and run.hosts == ["drill01"], run.reason
    for key in [("DRILL-RESTORE-001", "appdb"), ("DRILL-AMCHECK-001", "appdb"), ("DRILL-ROWS-001", "appdb"),
                ("DRILL-APP-001", "appdb"), ("DRILL-RESTORE-001", "site@web01"), ("DRILL-MANIFEST-001", "site@web01")]:
        assert checks[key].status == "pass" and checks[key].category == "drill", (key, checks[key].evidence)
    assert checks[("DRILL-AMCHECK-001", "appdb")].value > 10  # every B-tree index, the catalogue's included
    rows = checks[("DRILL-ROWS-001", "appdb")]
    assert "public.approvals 11250" in rows.evidence and rows.value == 3
    assert checks[("DRILL-RESTORE-001", "appdb")].value.endswith(("F", "I", "D"))  # the pgBackRest label
    for phase in ("fetch", "restore", "start", "wal_replay", "verify", "total"):
        assert metrics[(f"drill.{phase}_s", "appdb")] >= 0
    assert metrics[("drill.total_s", "appdb")] < 900  # our RTO target for a restore of the lab's database
    # nothing is left running or lying around on drill01, and no production host was touched
    assert lab.exec("drill01", "sh", "-c", "find /var/lib/yunwei-drill/pg /var/lib/yunwei-drill/files -mindepth 1 -maxdepth 1 "
                    "! -name '*.log'; pgrep -u postgres -c postgres || true").stdout.split() == ["0"]


def test_bad_input_exits_2_naming_the_option_or_host_before_any_host_is_contacted(env):
    cases = [(["restore_test", "-e", "restore_drill_dataset=nope"], "restore_drill_dataset: unknown data set 'nope'"),
             (["restore_test", "-e", "restore_drill_target=db01"], "host db01 is not a drill host"),
             (["drill", "-e", "scenario=meteor"], "scenario: unknown scenario 'meteor'"),
             (["drill_unmarked", "-e", "scenario=host-loss", "-e", "restore_drill_fault=inject"],
              "a real fault was asked for on db01, which is not marked drill-capable"),
             (["drill_unmarked", "-e", "scenario=file-corruption", "-e", "restore_drill_fault=inject"],
              "a real fault was asked for on web01, which is not marked drill-capable"),
             (["drill"], "scenario: required"),
             (["drill_unmarked", "-e", "scenario=accidental-drop", "-e", "restore_drill_fault=inject"],
              "a real fault was asked for on db01, which is not marked drill-capable")]
    for args, message in cases:
        assert main(["run", *args, "-q"]) == 2, args
        run, checks, _ = last_run(args[0])
        assert run.status == "failed" and run.reason.startswith("bad input, no host contacted") and message in run.reason, \
            (args, run.reason)
        assert not checks


def test_a_data_set_with_no_backup_yet_exits_2_naming_it_before_anything_is_touched(env):
    lab = env["lab"]
    before = lab.exec("drill01", "sh", "-c", "ls -A /var/lib/yunwei-drill/pg /var/lib/yunwei-drill/files 2>/dev/null | sort").stdout
    assert main(["run", "restore_test_new", "-e", "restore_drill_dataset=newdb,newsite,appdb", "-q"]) == 2
    run, checks, _ = last_run("restore_test_new")
    assert run.status == "failed" and run.reason.startswith("bad input, nothing changed (read-only pre-flight only)"), run.reason
    for message in ("restore_drill_dataset: data set newdb has no backup yet (repo1",
                    "restore_drill_dataset: data set newsite@web01 has no backup yet (sftp:restic@backup01:/srv/backup/restic/newsite"):
        assert message in run.reason, run.reason
    assert "data set appdb" not in run.reason and not checks  # appdb has backups; nothing was restored
    after = lab.exec("drill01", "sh", "-c", "ls -A /var/lib/yunwei-drill/pg /var/lib/yunwei-drill/files 2>/dev/null | sort").stdout
    assert before == after


def test_accidental_drop_drill_measures_rto_and_rpo(env):
    lab = env["lab"]
    assert main(["run", "drill", "-e", "scenario=accidental-drop", "-q"]) == 0
    run, checks, metrics = last_run("drill")
    assert run.status == "ok", run.reason
    restore = checks[("DRILL-RESTORE-001", "appdb")]
    assert restore.status == "pass" and "故障已注入" in restore.evidence and "恢复到时间点" in restore.evidence
    app = checks[("DRILL-APP-001", "appdb")]  # the dropped table's rows, all back, on drill01
    assert app.status == "pass" and app.value == 11250 and "yunwei_drill_approvals" in app.evidence
    for cid in ("DRILL-RTO-001", "DRILL-RTO-002", "DRILL-RPO-001", "DRILL-RPO-002"):
        assert checks[(cid, "appdb")].status == "pass", checks[(cid, "appdb")].evidence
    assert 0 <= metrics[("drill.rpo_s", "appdb")] <= 60 and 0 < metrics[("drill.rto_s", "appdb")] <= 900
    assert checks[("DRILL-RTO-002", "appdb")].threshold == {"max": 900}
    # the copy was dropped on db01 for real; the lab's own table is whole
    out = lab.exec("db01", "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "appdb", "-c",
                   "SELECT to_regclass('public.yunwei_drill_approvals') IS NULL, (SELECT count(*) FROM approvals)").stdout
    assert out.strip() == "t|11250"

    # where the host is not drill-capable the fault is simulated: db01 untouched, said in the record
    assert main(["run", "drill_unmarked", "-e", "scenario=accidental-drop", "-q"]) == 0
    run, checks, _ = last_run("drill_unmarked")
    assert run.status == "ok" and "模拟故障，未触碰生产主机 db01" in checks[("DRILL-RESTORE-001", "appdb")].evidence


def test_corrupted_backup_fails_loudly(env):
    lab = env["lab"]
    # the largest data file of the newest pgBackRest backup in repo1
    newest = lab.exec("backup01", "sh", "-c", "ls -d /srv/backup/pgbackrest/backup/appdb/2* | tail -1").stdout.strip()
    pg_file = lab.exec("backup01", "sh", "-c", f"find {newest}/pg_data -type f -printf '%s %p\\n' | sort -n | tail -1").stdout.split()[1]
    saved = lab.exec("backup01", "base64", "-w0", pg_file).stdout
    try:
        lab.exec("backup01", "sh", "-c", f"printf 'CORRUPTED' | dd of={pg_file} bs=1 seek=$(( $(stat -c %s {pg_file}) / 2 )) "
                 "conv=notrunc status=none")
        assert main(["run", "restore_test", "-e", "restore_drill_dataset=appdb", "-q"]) == 1
        run, checks, _ = last_run("restore_test")
        assert run.status == "failed" and "restore test failed" in run.reason
        failed = [c for c in checks.values() if c.status == "fail"]
        assert failed and checks[("DRILL-RESTORE-001", "appdb")].status == "fail", [c.evidence for c in checks.values()]
        assert failed[0].suggestion
    finally:
        lab.exec("backup01", "sh", "-c", f"base64 -d > {pg_file}", input=saved)


def test_wrong_passphrase_and_manifest_mismatch_fail_loudly(env):
    lab = env["lab"]
    pass_file = "/etc/yunwei-drill/restic.pass"
    saved = lab.exec("drill01", "base64", "-w0", pass_file).stdout
    try:
        lab.exec("drill01", "sh", "-c", f"echo not-the-password-0123456789 > {pass_file}")
        assert main(["run", "restore_test", "-e", "restore_drill_dataset=site", "-q"]) == 1
        run, checks, _ = last_run("restore_test")
        restore = checks[("DRILL-RESTORE-001", "site@web01")]
        assert run.status == "failed" and restore.status == "fail" and "wrong password" in restore.evidence, restore.evidence
        assert "not-the-password" not in restore.evidence + (run.reason or "")
    finally:
        lab.exec("drill01", "sh", "-c", f"base64 -d > {pass_file}", input=saved)

    # a snapshot whose manifest (consistent with its tag) names a file the snapshot does not hold
    manifest = "/var/lib/yunwei-backup/manifests/site.sha256"
    original = lab.exec("web01", "base64", "-w0", manifest).stdout
    snap = ""
    try:
        lab.exec("web01", "sh", "-c", f"echo '{'0' * 64}  /var/www/yunwei/ghost.html' >> {manifest}")
        out = lab.exec("web01", "sh", "-c", f"{RESTIC} backup --json --host web01 --tag yunwei --tag dataset=site "
                       f"--tag type=incr --tag manifest=$(sha256sum {manifest} | cut -c1-64) /var/www/yunwei /etc/nginx {manifest}"
                       " | tail -1").stdout
        snap = yaml.safe_load(out)["snapshot_id"]
        assert main(["run", "restore_test", "-e", "restore_drill_dataset=site", "-q"]) == 1
        run, checks, _ = last_run("restore_test")
        check = checks[("DRILL-MANIFEST-001", "site@web01")]
        assert run.status == "failed" and check.status == "fail" and "缺少 /var/www/yunwei/ghost.html" in check.evidence, \
            check.evidence
    finally:
        lab.exec("web01", "sh", "-c", f"base64 -d > {manifest}", input=original)
        if snap:
            lab.exec("web01", "sh", "-c", f"{RESTIC} forget {snap}")
    assert main(["run", "restore_test", "-e", "restore_drill_dataset=site", "-q"]) == 0


def test_backup_host_loss_drill_restores_from_the_offsite_copy(env):
    lab = env["lab"]
    assert main(["run", "drill", "-e", "scenario=backup-host-loss", "-q"]) == 0
    run, checks, metrics = last_run("drill")
    assert run.status == "ok", run.reason
    restore = checks[("DRILL-RESTORE-001", "appdb")]
    assert restore.status == "pass" and "故障已注入" in restore.evidence and "repo2" in restore.evidence, restore.evidence
    assert checks[("DRILL-MANIFEST-001", "site@web01")].status == "pass"
    assert "异地副本" in checks[("DRILL-RESTORE-001", "site@web01")].evidence
    for cid in ("DRILL-AMCHECK-001", "DRILL-APP-001", "DRILL-RTO-001", "DRILL-RTO-002", "DRILL-RPO-001"):
        assert checks[(cid, "appdb")].status == "pass", checks[(cid, "appdb")].evidence
    # the off-site archive holds the WAL up to the last segment switch (archive_timeout 60 s)
    assert 0 <= metrics[("drill.rpo_s", "appdb")] <= 180
    # the store was put back: its repositories are where they were and open
    assert lab.exec("backup01", "sh", "-c", "ls -d /srv/backup/*lost* 2>/dev/null | wc -l").stdout.strip() == "0"
    lab.exec("backup01", "runuser", "-u", "pgbackrest", "--", "pgbackrest", "--stanza=appdb", "--repo=1", "info")


def test_production_restore_is_a_reviewed_change_whose_preview_lists_what_is_overwritten(env, monkeypatch, capsys):
    """restore_files puts the site back on web01 only through two-person review: refused by `run` and
    without an approval; the check-mode preview lists each file that differs (and one not in the backup,
    kept); executed after a second operator approved, the files are the snapshot's again."""
    from yunwei.review import workflow

    lab, tmp = env["lab"], env["tmp"]
    keys = {name: make_key(tmp, name) for name in ("alice", "bob")}
    write_allowed(tmp / "allowed_signers", keys)
    monkeypatch.setenv("YUNWEI_ALLOWED_SIGNERS", str(tmp / "allowed_signers"))

    def as_operator(name):
        monkeypatch.setenv("YUNWEI_OPERATOR", name)
        monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(keys[name]))

    site = "/var/www/yunwei"
    original = {f: lab.exec("web01", "sha256sum", f"{site}/{f}").stdout.split()[0] for f in ("index.html", "guide.html")}
    lab.exec("web01", "sh", "-c", f"echo DEFACED >> {site}/index.html; rm {site}/guide.html; echo new > {site}/extra-drill.html")
    try:
        args = ["-e", "restore_drill_dataset=site", "-e", "restore_drill_host=web01"]
        as_operator("alice")
        assert main(["run", "restore_files", *args, "-q"]) == 1  # a change job: never through `run`
        # which snapshot? the reviewer must see the one that will run: the preview refuses, the request shows why
        assert main(["request", "restore_files", *args, "-q"]) == 1
        assert "restore_drill_snapshot: required" in "".join(capsys.readouterr())
        snap = yaml.safe_load(lab.exec("web01", "sh", "-c", f"{RESTIC} snapshots --json --host web01 --tag dataset=site --latest 1"
                                        ).stdout)[-1]["short_id"]
        args += ["-e", f"restore_drill_snapshot={snap}"]
        assert main(["request", "restore_files", *args, "-q"]) == 0
        out = capsys.readouterr().out
        req_id = out.split("request ")[1].split()[0]
        preview = workflow.show(req_id)["preview"]
        assert preview["status"] == "successful", preview.get("failures")
        (change,) = [c for c in preview["changes"] if c["host"] == "web01"]
        lines = change["diff"].splitlines()
        assert f"from snapshot {snap}" in lines[0] and "1 file(s) overwritten, 1 restored, 1 not in the backup (kept)" in lines[0], lines
        assert sorted(lines[1:]) == [f"+ {site}/guide.html  (missing: restored)",
                                     f"? {site}/extra-drill.html  (not in the backup: kept)",
                                     f"~ {site}/index.html  (differs from the backup: overwritten)"], lines
        assert "DEFACED" in lab.exec("web01", "cat", f"{site}/index.html").stdout  # the preview changed nothing

        assert main(["execute", req_id, "-q"]) == 1  # no approval yet: refused
        assert "has no approval" in capsys.readouterr().err
        assert "DEFACED" in lab.exec("web01", "cat", f"{site}/index.html").stdout

        as_operator("bob")
        assert main(["approve", req_id]) == 0
        as_operator("alice")
        assert main(["execute", req_id, "-q"]) == 0
        for f, digest in original.items():
            assert lab.exec("web01", "sha256sum", f"{site}/{f}").stdout.split()[0] == digest
        assert lab.exec("web01", "stat", "-c", "%U %a", f"{site}/guide.html").stdout.split() == \
            lab.exec("web01", "stat", "-c", "%U %a", f"{site}/notice.html").stdout.split()
        assert lab.exec("web01", "cat", f"{site}/extra-drill.html").stdout == "new\n"  # not in the backup: kept
    finally:
        lab.exec("web01", "rm", "-f", f"{site}/extra-drill.html")
        for f, digest in original.items():  # a failed run leaves the site as the backup has it
            if lab.exec("web01", "sh", "-c", f"sha256sum {site}/{f} 2>/dev/null | cut -c1-64").stdout.strip() != digest:
                lab.exec("web01", "sh", "-c", f"{RESTIC} restore latest --host web01 --tag dataset=site --target / "
                         f"--include {site}/{f}")


def test_the_reports_of_this_months_tests_and_this_quarters_drills(env):
    """《数据备份恢复测试报告》 and 《恢复演练报告》 from this module's journal (the runs above): the
    failures are 不通过 with their reasons, the refusals tested nothing, the drills have a timeline."""
    from datetime import datetime, timezone

    import openpyxl

    from yunwei.reports import drills
    from yunwei.reports import generate as gen
    from yunwei.reports.contract import load_contract
    from yunwei.reports.periods import client_tz, parse_period
    from yunwei.store import open_store

    now = datetime.now(timezone.utc)
    local = now.astimezone(client_tz())
    opts = gen.Options(formats=["html", "docx", "xlsx"], out_dir=env["tmp"] / "reports", now=now,
                       contract=load_contract(ROOT / "contract.yml"), charts=False)
    month = parse_period("month", f"{local:%Y-%m}", client_tz())
    quarter = parse_period("quarter", f"{local.year}-Q{(local.month - 1) // 3 + 1}", client_tz())
    with open_store() as store:
        data = drills.restore_test(store, month, opts.plan, now=now)
        assert data["tested"] >= 4 and data["failed"] >= 3 and data["passed"] >= 3, (data["tested"], data["failed"])
        assert data["refused"] >= 2 and data["obligation"]["state"] == "已完成"
        evidence = " ".join(p["evidence"] for p in data["problems"])
        assert "wrong password" in evidence and "缺少 /var/www/yunwei/ghost.html" in evidence
        assert "not-the-password" not in evidence
        files = {p.suffix[1:]: p for p in gen.generate("restore-test", store, month, opts)}
        q = drills.drill(store, quarter, opts.plan, now=now)
        scenarios = {r["scenario"] for r in q["runs"] if not r["refused"]}
        assert {"accidental-drop", "backup-host-loss"} <= scenarios
        drop = next(r for r in q["runs"] if r["scenario"] == "accidental-drop")
        assert drop["fault_mode"] == "实际注入（演练环境）" and len(drop["timeline"]) == 5
        assert all(t["time"] != "—" for t in drop["timeline"])
        files |= {f"drill.{p.suffix[1:]}": p for p in gen.generate("drill", store, quarter, opts)}
    results = [r[-1] for r in openpyxl.load_workbook(files["xlsx"])["恢复结果"].iter_rows(values_only=True)][1:]
    assert "不通过" in results and "通过" in results
    html = files["drill.html"].read_text(encoding="utf-8")
    assert "《恢复演练报告》" in html and "误删表（误操作）" in html and "备份主机失效（自异地副本恢复）" in html

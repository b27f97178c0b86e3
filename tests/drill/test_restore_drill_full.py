"""The long set of the restore drills (`make drill`, not part of `make test`): the monthly restore test
of every data set as the schedule runs it - appdb, the site, and /etc of every lab host -, the host-loss
drill (db01's data directory lost, restored and promoted on drill01, db01 put back) and the
file-corruption drill followed by the reviewed put-back on web01."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from yunwei.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_restore_drill_lab import RESTIC, env, last_run  # noqa: E402,F401 - the lab tests' fixture and reader

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_restore_test_of_every_data_set(env):  # noqa: F811
    assert main(["run", "restore_test", "-q"]) == 0
    run, checks, metrics = last_run("restore_test")
    assert run.status == "ok", run.reason
    hosts = ("backup01", "db01", "drill01", "offsite01", "web01")
    expected = {("DRILL-RESTORE-001", "appdb"), ("DRILL-ROWS-001", "appdb"), ("DRILL-MANIFEST-001", "site@web01")}
    expected |= {("DRILL-MANIFEST-001", f"etc@{h}") for h in hosts}
    assert expected <= set(checks)
    assert all(c.status == "pass" for c in checks.values()), [c.evidence for c in checks.values() if c.status != "pass"]
    assert all(metrics[("drill.total_s", f"etc@{h}")] > 0 for h in hosts)


def test_host_loss_drill_restores_the_lost_database_on_the_drill_host(env):  # noqa: F811
    lab = env["lab"]
    assert main(["run", "drill", "-e", "scenario=host-loss", "-q"]) == 0
    run, checks, metrics = last_run("drill")
    assert run.status == "ok", run.reason
    restore = checks[("DRILL-RESTORE-001", "appdb")]
    assert "故障已注入" in restore.evidence and "数据目录" in restore.evidence and "回放至归档末尾" in restore.evidence
    for cid in ("DRILL-AMCHECK-001", "DRILL-APP-001", "DRILL-RTO-001", "DRILL-RTO-002", "DRILL-RPO-001"):
        assert checks[(cid, "appdb")].status == "pass", checks[(cid, "appdb")].evidence
    # the newest heartbeat restored is at most the archive timeout (60 s) and a segment switch old
    assert 0 <= metrics[("drill.rpo_s", "appdb")] <= 180 and metrics[("drill.rto_s", "appdb")] > 0
    # db01 was put back: its cluster runs on its own data directory again, the heartbeat writes
    out = lab.exec("db01", "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "appdb", "-c",
                   "SELECT count(*) FROM approvals").stdout
    assert out.strip() == "11250"
    assert lab.exec("db01", "sh", "-c", "ls -d /var/lib/postgresql/15/main*").stdout.split() == ["/var/lib/postgresql/15/main"]


def test_file_corruption_drill_then_the_reviewed_put_back(env, monkeypatch, capsys):  # noqa: F811
    """Files damaged on web01, restored onto drill01 and verified; then put back on web01 by the
    reviewed change job restore_files, whose preview names exactly the damaged files."""
    from runner_helpers import make_key, write_allowed

    lab, tmp = env["lab"], env["tmp"]
    site = "/var/www/yunwei"
    before = lab.exec("web01", "sh", "-c", f"sha256sum {site}/*.html").stdout
    try:
        assert main(["run", "drill", "-e", "scenario=file-corruption", "-q"]) == 0
        run, checks, metrics = last_run("drill")
        assert run.status == "ok", run.reason
        assert checks[("DRILL-MANIFEST-001", "site@web01")].status == "pass"
        restore = checks[("DRILL-RESTORE-001", "site@web01")]
        assert "故障已注入" in restore.evidence and "yunwei request restore_files" in restore.evidence
        assert checks[("DRILL-RTO-001", "site@web01")].status == "pass" and metrics[("drill.rto_s", "site@web01")] > 0
        damaged = lab.exec("web01", "sh", "-c", f"sha256sum {site}/*.html").stdout
        assert damaged != before
        keys = {name: make_key(tmp, f"drill-{name}") for name in ("alice", "bob")}
        write_allowed(tmp / "allowed_signers", keys)
        monkeypatch.setenv("YUNWEI_ALLOWED_SIGNERS", str(tmp / "allowed_signers"))
        monkeypatch.setenv("YUNWEI_OPERATOR", "alice")
        monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(keys["alice"]))
        snap = yaml.safe_load(lab.exec("web01", "sh", "-c", f"{RESTIC} snapshots --json --host web01 --tag dataset=site --latest 1"
                                        ).stdout)[-1]["short_id"]
        assert main(["request", "restore_files", "-e", "restore_drill_dataset=site", "-e", "restore_drill_host=web01",
                     "-e", f"restore_drill_snapshot={snap}", "-q"]) == 0
        out = capsys.readouterr().out
        req_id = out.split("request ")[1].split()[0]
        assert f"~ {site}/guide.html" in out and f"~ {site}/index.html" in out and f"~ {site}/notice.html" in out
        monkeypatch.setenv("YUNWEI_OPERATOR", "bob")
        monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(keys["bob"]))
        assert main(["approve", req_id]) == 0
        assert main(["execute", req_id, "-q"]) == 0
        assert lab.exec("web01", "sh", "-c", f"sha256sum {site}/*.html").stdout == before
    finally:  # whatever failed, web01 serves the site as the backup has it
        if lab.exec("web01", "sh", "-c", f"sha256sum {site}/*.html").stdout != before:
            lab.exec("web01", "sh", "-c", f"{RESTIC} restore latest --host web01 --tag dataset=site --target / --include {site}")

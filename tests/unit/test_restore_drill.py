"""Restore drills without the lab: the validation that keeps restores off production hosts (each problem
names the option or host), the manifest of a restored tree compared with the snapshot's, the point-in-
time target, RTO/RPO judged against their limits on the controller, and `yunwei drill status` from
journal rows."""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.action.restore import contract_misses, over_limits  # noqa: E402
from ansible_collections.yunwei.ops.plugins.filter.restore_drill import (  # noqa: E402
    restore_drill_items,
    restore_drill_problems,
    restore_drill_put_back_problems,
)
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import manifest  # noqa: E402
from ansible_collections.yunwei.ops.plugins.modules.restore import _entries, target_text  # noqa: E402

GROUPS = {"all": ["web01", "db01", "backup01", "offsite01", "drill01"], "web": ["web01"], "db": ["db01"],
          "backup": ["backup01"], "offsite": ["offsite01"], "drill": ["drill01"], "ungrouped": []}
DATASETS = [{"name": "appdb", "kind": "postgresql", "hosts": "db"}, {"name": "site", "kind": "files", "hosts": "web"},
            {"name": "etc", "kind": "files", "hosts": "all"}]


def problems(**kw):
    s = {"datasets": DATASETS, "dataset": "all", "target": "drill01", "group": "drill", "groups": GROUPS,
         "store_group": "backup", "offsite_group": "offsite", "scenario": None, "scenarios_done": ["accidental-drop"]}
    s.update(kw)
    return restore_drill_problems(s)


def test_validation_keeps_restores_off_production_hosts():
    assert problems() == []  # drill01 holds /etc like every host: that does not make it production
    assert problems(dataset="appdb,site") == []
    assert problems(dataset="nope") == ["restore_drill_dataset: unknown data set 'nope' (known: appdb, site, etc)"]
    out = problems(target="db01")
    assert "restore_drill_target: host db01 is not a drill host (group drill: drill01)" in out
    assert any("host db01 is a production host (a member of db)" in p for p in out)
    # a drill group that holds a production host is refused too
    mixed = dict(GROUPS, drill=["drill01", "backup01"])
    assert any("backup01 is a production host (a member of backup)" in p for p in problems(groups=mixed, target=""))
    assert problems(groups=dict(GROUPS, drill=[]), target="") == [
        "restore_drill_group: the inventory has no host in group 'drill' (the drill hosts)"]


def test_validation_of_the_scenario_and_the_fault():
    assert problems(scenario="accidental-drop", fault="auto") == []
    assert problems(scenario="")[0].startswith("scenario: required")
    assert problems(scenario="meteor")[0].startswith("scenario: unknown scenario 'meteor'")
    assert problems(scenario="host-loss") == ["scenario: host-loss is not implemented in this version (implemented: accidental-drop)"]
    assert problems(scenario="backup-host-loss", scenarios_done=["accidental-drop", "backup-host-loss"]) == []
    out = problems(scenario="accidental-drop", fault="inject", fault_host="db01", fault_host_marked=False)
    assert out == ["restore_drill_fault: a real fault was asked for on db01, which is not marked drill-capable "
                   "(restore_drill_fault_injection: true, lab inventories only); nothing was touched"]
    assert problems(scenario="accidental-drop", fault="inject", fault_host="db01", fault_host_marked=True) == []
    assert problems(scenario="accidental-drop", fault="yes")[0].startswith("restore_drill_fault: 'yes' is not")
    every = ["accidental-drop", "backup-host-loss", "host-loss", "file-corruption"]
    assert problems(scenario="file-corruption", scenarios_done=every, corrupt_dataset="appdb") == [
        "restore_drill_corrupt_dataset: 'appdb' is not a files data set (known: site, etc)"]
    for scenario, host in (("host-loss", "db01"), ("file-corruption", "web01")):
        assert problems(scenario=scenario, scenarios_done=every, fault_host=host, fault_host_marked=True,
                        corrupt_dataset="site") == []
        assert problems(scenario=scenario, scenarios_done=every, fault="inject", fault_host=host, fault_host_marked=False,
                        corrupt_dataset="site") == [
            f"restore_drill_fault: a real fault was asked for on {host}, which is not marked drill-capable "
            "(restore_drill_fault_injection: true, lab inventories only); nothing was touched"]


def test_items_one_per_source_host_of_a_files_data_set():
    items = restore_drill_items(DATASETS, GROUPS, "all", "files")
    assert [(i["name"], i["host"]) for i in items] == [("site", "web01")] + [("etc", h) for h in GROUPS["all"]]
    assert [i["name"] for i in restore_drill_items(DATASETS, GROUPS, "appdb,site", "postgresql")] == ["appdb"]
    assert restore_drill_items(DATASETS, GROUPS, "appdb", "files") == []


def test_manifest_of_a_restored_tree_names_the_original_paths(tmp_path):
    src = tmp_path / "srv" / "site"
    src.mkdir(parents=True)
    (src / "index.html").write_text("hello")
    (src / "link").symlink_to("index.html")
    original = manifest([str(src)], "/nonexistent")
    restored_root = tmp_path / "restore"
    copy = Path(str(restored_root) + str(src))
    copy.mkdir(parents=True)
    (copy / "index.html").write_text("hello")
    (copy / "link").symlink_to("index.html")
    assert manifest([str(src)], "/nonexistent", root=str(restored_root)) == original
    assert _entries(original) == {str(src / "index.html"): hashlib.sha256(b"hello").hexdigest(),
                                  str(src / "link"): "symlink:index.html"}
    (copy / "index.html").write_text("tampered")
    assert manifest([str(src)], "/nonexistent", root=str(restored_root)) != original


def test_point_in_time_target_keeps_microseconds_in_utc():
    assert target_text("1764603047.123456") == "2025-12-01 15:30:47.123456+00"
    assert target_text("2026-12-01 10:00:00+00") == "2026-12-01 10:00:00+00"


def test_rto_and_rpo_over_their_limit_fail():
    findings = [{"id": "DRILL-RTO-002", "value": 901.0, "limits": {"max": 900}},
                {"id": "DRILL-RTO-001", "value": 901.0, "limits": {"max": 14400}},
                {"id": "DRILL-RPO-002", "value": "unknown", "outcome": "failed", "limits": {"max": 60}}]
    over_limits(findings)
    assert [f.get("outcome") for f in findings] == ["over", None, "failed"]
    from yunwei.inspection.judge import check

    judged = [check(f) for f in findings]
    assert [c["status"] for c in judged] == ["fail", "pass", "fail"]
    assert judged[0]["threshold"] == {"max": 900} and judged[0]["suggestion"]


def test_only_a_miss_of_the_contract_fails_the_drill():
    """Over our 15 min / 60 s target: 不通过, the run goes on; over the contract's 4 h / 1 h: the run fails."""
    target_only = over_limits([{"id": "DRILL-RTO-002", "instance": "appdb", "value": 901.0, "limits": {"max": 900}},
                               {"id": "DRILL-RTO-001", "instance": "appdb", "value": 901.0, "limits": {"max": 14400}}])
    assert contract_misses(target_only) == []
    missed = over_limits([{"id": "DRILL-RPO-001", "instance": "appdb", "value": 3700.0, "limits": {"max": 3600}},
                          {"id": "DRILL-RTO-001", "instance": "appdb", "value": 100.0, "limits": {"max": 14400}}])
    assert contract_misses(missed) == ["DRILL-RPO-001 appdb: 3700.0s over the contract's 3600s"]


class FakeStore:
    """The journal rows `yunwei drill status` reads (the store itself is tested elsewhere)."""

    def __init__(self, runs, checks, metrics, results):
        self._runs, self._checks, self._metrics, self._results = runs, checks, metrics, results

    def list_runs(self, job=None):
        return [r for r in self._runs if r.job == job]

    def checks(self, run_id=None):
        return [c for c in self._checks if c.run_id == run_id]

    def metrics(self, run_id=None):
        return [m for m in self._metrics if m.run_id == run_id]

    def task_results(self, run_id):
        return [t for t in self._results if t.run_id == run_id]


def _run(rid, job, when, status="ok", reason=""):
    return SimpleNamespace(id=rid, job=job, started_at=when, ended_at=when, status=status, reason=reason,
                           completed=status == "ok")


def test_drill_status_last_results_and_obligations():
    from yunwei.drill import compute

    old = datetime(2026, 11, 2, 3, tzinfo=timezone.utc)
    now = datetime(2026, 12, 20, 3, tzinfo=timezone.utc)
    runs = [_run("r1", "restore_test", old), _run("r2", "restore_test", datetime(2026, 12, 2, 3, tzinfo=timezone.utc),
                                                    status="failed", reason="restore test failed"),
            _run("r3", "restore_test", datetime(2026, 12, 3, 3, tzinfo=timezone.utc), status="failed",
                 reason="bad input, no host contacted: restore_drill_dataset"),
            _run("d1", "drill", datetime(2026, 10, 15, 3, tzinfo=timezone.utc))]
    c = SimpleNamespace
    checks = [c(run_id="r1", id="DRILL-RESTORE-001", instance="appdb", status="pass", value="L1", evidence=""),
              c(run_id="r2", id="DRILL-RESTORE-001", instance="appdb", status="fail", value="L2", evidence="lz4 error"),
              c(run_id="d1", id="DRILL-RESTORE-001", instance="appdb", status="pass", value="L0", evidence=""),
              c(run_id="d1", id="DRILL-RPO-002", instance="appdb", status="pass", value=0.5, evidence="")]
    metrics = [c(run_id="d1", name="drill.rpo_s", instance="appdb", value=0.5),
               c(run_id="d1", name="drill.rto_s", instance="appdb", value=17.0)]
    results = [c(run_id="d1", result={"results": [{"scenario": "accidental-drop"}]})]  # a loop's items
    status = compute(FakeStore(runs, checks, metrics, results), now)
    rows = {(r["kind"], r["dataset"]): r for r in status.rows}
    assert rows[("restore", "appdb")]["result"] == "fail" and rows[("restore", "appdb")]["backup"] == "L2"
    assert "DRILL-RESTORE-001 lz4 error" in rows[("restore", "appdb")]["problems"]
    drill = rows[("drill", "appdb")]
    assert drill["scenario"] == "accidental-drop" and drill["rpo_s"] == 0.5 and drill["rto_s"] == 17.0
    # December's only restore test failed (the refused one tested nothing): the month is not met;
    # the quarter's drill (October) passed
    assert status.obligations == [{"what": "每月数据备份恢复测试", "period": "2026-12", "met": False},
                                  {"what": "每季度恢复演练", "period": "2026-Q4", "met": True}]
    assert not status.ok
    assert compute(None, now).obligations[0]["met"] is False


def test_production_restore_names_one_files_data_set_and_one_of_its_hosts():
    def problems(dataset, host):
        return restore_drill_put_back_problems(DATASETS, GROUPS, dataset, host, "drill", "3f2a9c1e")

    assert problems("site", "web01") == [] and problems("etc", "db01") == []
    assert problems("all", "web01") == ["restore_drill_dataset: name one files data set (-e restore_drill_dataset=NAME)"]
    assert problems("nope", "web01")[0].startswith("restore_drill_dataset: unknown data set 'nope'")
    assert problems("appdb", "db01") == ["restore_drill_dataset: appdb is a postgresql data set; restore_files puts back files only"]
    assert problems("site", "") == ["restore_drill_host: required (-e restore_drill_host=HOST, the host whose files are put back)"]
    assert problems("site", "db01") == ["restore_drill_host: host db01 is not a source of data set site (web01)"]
    assert problems("etc", "drill01") == ["restore_drill_host: drill01 is a drill host; restore tests go there through restore_test"]
    # the snapshot must be named: the approval covers it, a newer one taken after the preview is never executed
    assert restore_drill_put_back_problems(DATASETS, GROUPS, "site", "web01", "drill", "")[0].startswith(
        "restore_drill_snapshot: required")

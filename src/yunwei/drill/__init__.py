"""Restore tests and recovery drills as the journal recorded them (``yunwei drill status``).

Reads the runs of the jobs ``restore_test`` and ``drill`` and their DRILL-* checks (judged on the
controller when they were recorded, docs/restore_drill.md): the last result per data set (restore
test) and per scenario and data set (drill), with the phase times, RTO and RPO, and whether this
month's restore test and this quarter's drill - the contract's obligations - were done and passed.
A run that did not complete, or a 不通过 check, is a failure, never a success.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from yunwei.catalogue import catalogue

RESTORE_JOBS = ("restore_test",)
# the quarterly drill run by hand (-e scenario=S) and as the schedule runs it (one job per scenario)
DRILL_JOBS = ("drill", "drill_accidental_drop", "drill_backup_host_loss", "drill_host_loss", "drill_file_corruption")
SCENARIOS = ("host-loss", "accidental-drop", "file-corruption", "backup-host-loss")


@dataclass
class DrillStatus:
    now: datetime
    month: str
    quarter: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o["met"] for o in self.obligations) and all(r["result"] == "pass" for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "month": self.month, "quarter": self.quarter, "rows": self.rows,
                "obligations": self.obligations, "ok": self.ok}


def _rows_of_run(store: Any, run: Any, kind: str) -> list[dict[str, Any]]:
    cat = catalogue()
    checks = [c for c in store.checks(run_id=run.id) if c.id.startswith("DRILL-")]
    metrics = {(m.name, m.instance): m.value for m in store.metrics(run_id=run.id) if m.name.startswith("drill.")}
    scenario = ""
    for t in store.task_results(run.id):
        if not isinstance(t.result, dict):
            continue
        items = t.result.get("results") if isinstance(t.result.get("results"), list) else [t.result]
        for item in items:  # a loop's task result keeps the scenario in its items
            if isinstance(item, dict) and item.get("scenario"):
                scenario = str(item["scenario"])
    by_instance: dict[str, list[Any]] = {}
    for c in checks:
        by_instance.setdefault(c.instance, []).append(c)
    rows = []
    for inst, cs in sorted(by_instance.items()):
        worst = cat.worst(*[c.status for c in cs])
        restore = next((c for c in cs if c.id == "DRILL-RESTORE-001"), None)
        failed = [f"{c.id} {c.evidence}" for c in cs if c.status == "fail"]
        rows.append({"kind": kind, "scenario": scenario, "dataset": inst, "run_id": run.id,
                     "time": (run.ended_at or run.started_at).isoformat(), "run_status": run.status,
                     "result": "pass" if worst == "pass" and run.completed else "fail",
                     "backup": restore.value if restore else None,
                     "total_s": metrics.get(("drill.total_s", inst)), "rto_s": metrics.get(("drill.rto_s", inst)),
                     "rpo_s": metrics.get(("drill.rpo_s", inst)),
                     "problems": failed or ([] if run.completed else [run.reason or run.status])})
    if not rows:  # a run that recorded no check at all (bad input, no host reached) is a failure too
        rows.append({"kind": kind, "scenario": scenario, "dataset": "", "run_id": run.id,
                     "time": (run.ended_at or run.started_at).isoformat(), "run_status": run.status, "result": "fail",
                     "backup": None, "total_s": None, "rto_s": None, "rpo_s": None,
                     "problems": [run.reason or run.status]})
    return rows


def compute(store: Any, now: datetime | None = None) -> DrillStatus:
    """The last result per data set and scenario, and this month's and quarter's obligations
    (``store`` None: no journal yet, nothing done)."""
    from yunwei.reports.periods import client_tz, month_period, quarter_period

    tz = client_tz()
    now = now or datetime.now(timezone.utc)
    local = now.astimezone(tz)
    month = month_period(local.year, local.month, tz)
    quarter = quarter_period(local.year, (local.month - 1) // 3 + 1, tz)
    status = DrillStatus(now=now, month=month.label, quarter=quarter.label)
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    done = {"restore": False, "drill": False}
    for kind, jobs, period in (("restore", RESTORE_JOBS, month), ("drill", DRILL_JOBS, quarter)):
        runs = sorted((r for job in jobs for r in store.list_runs(job=job)), key=lambda r: r.started_at) if store else []
        for run in runs:
            if run.status == "running":
                continue
            rows = _rows_of_run(store, run, kind)
            if run.reason and run.reason.startswith("bad input"):
                continue  # refused before any host was contacted: nothing was tested
            for row in rows:
                last[(kind, row["scenario"], row["dataset"])] = row
            if period.start <= run.started_at < period.end and all(r["result"] == "pass" for r in rows):
                done[kind] = True
    status.rows = [last[k] for k in sorted(last)]
    status.obligations = [
        {"what": "每月数据备份恢复测试", "period": month.label, "met": done["restore"]},
        {"what": "每季度恢复演练", "period": quarter.label, "met": done["drill"]},
    ]
    return status

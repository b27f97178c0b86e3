"""``yunwei backup status``: the status of every data set and repository.

The read-only job ``backup_status`` runs the module ``yunwei.ops.backup_status`` once per repository
host and database host (one SSH round trip each); the module judges what it reads with the pure
function ``backup_status.compute`` of the collection's module_utils, and the journal records the
BACKUP-* checks like any inspection. :func:`from_run` reads one such run back from the journal (any
run that included the role's status tasks: backup, backup_verify, backup_status), adding the size
and duration of file backups that only the journal knows; :func:`collect` runs the job first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yunwei.errors import YunweiError

STATUS_ACTION = "yunwei.ops.backup_status"
ORDER = {"ok": 0, "warn": 1, "crit": 2}


@dataclass
class BackupStatus:
    run_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    @property
    def out_of_limits(self) -> list[dict[str, Any]]:
        """Checks over a limit (warn or crit), and hosts that could not be read."""
        return [c for c in self.checks if c["status"] != "ok"]

    @property
    def ok(self) -> bool:
        return not self.out_of_limits and not self.unreachable

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "ok": self.ok, "rows": self.rows, "checks": self.checks,
                "out_of_limits": self.out_of_limits, "unreachable": self.unreachable}


def from_run(store: Any, run_id: str) -> BackupStatus:
    """The status recorded by run ``run_id`` (rows from the module results, checks from the journal)."""
    out = BackupStatus(run_id=run_id)
    for res in store.task_results(run_id):
        if res.action != STATUS_ACTION:
            continue
        if res.status == "unreachable":
            out.unreachable.append(res.host)
            continue
        for row in (res.result or {}).get("rows") or ():
            out.rows.append({**row, "repo_host": res.host if row.get("repo") != "wal" else None,
                             "host": res.host})
    for c in store.checks(run_id=run_id):
        if c.category == "backup" and c.task and "Status |" in c.task:
            out.checks.append({"id": c.id, "host": c.host, "instance": c.instance, "status": c.status, "value": c.value,
                               "unit": c.unit, "threshold": c.threshold, "title": c.title, "evidence": c.evidence,
                               "suggestion": c.suggestion})
    _add_journal_sizes(store, out.rows)
    out.rows.sort(key=lambda r: (r["dataset"], r.get("repo") or "", r.get("source_host") or ""))
    return out


def _add_journal_sizes(store: Any, rows: list[dict[str, Any]]) -> None:
    """restic 0.14 keeps no size or duration with a snapshot: take them from the backup's metrics."""
    for row in rows:
        if row.get("kind") != "files" or row.get("repo") != "primary":
            continue
        inst = f"{row['dataset']}/{row['source_host']}"
        for name, key in (("backup.size_bytes", "size"), ("backup.duration_s", "duration_s")):
            samples = store.metrics(name=name, instance=inst)
            if not samples:
                continue
            last = max(samples, key=lambda m: m.time)
            for item in (row.get("last") or {}).values():
                if item.get(key) is None and abs(last.time.timestamp() - float(item.get("time") or 0)) < 3600:
                    item[key] = last.value


def collect(*, jobs_file: str | None = None, quiet: bool = True) -> BackupStatus:
    """Run the read-only job backup_status (through the runner: audit log and journal) and read it back."""
    from yunwei.commands.run import run_readonly
    from yunwei.store import open_store

    result = run_readonly("backup_status", jobs_file=jobs_file, quiet=quiet, trigger="backup status")
    with open_store() as store:
        status = from_run(store, result.run_id)
    if not status.rows and not status.unreachable:
        raise YunweiError(f"backup status: the run {result.run_id} recorded no status ({result.status}, rc {result.rc}); "
                          f"see yunwei runs show {result.run_id}")
    return status

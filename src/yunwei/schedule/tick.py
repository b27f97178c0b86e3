"""``due`` and ``tick``: what is due, and running it once.

State (<var>/schedule/state.json) holds, per job, the last fire time handled. A tick reads
the *approved* schedule and, for each job under a non-blocking per-job lock (a second tick for
a job that is still running skips it), collects the fire times since the last one handled (or since the
schedule was activated). The latest is run; earlier ones were missed (the bastion was down) and
are reported and audited as ``missed_run``. Running tick twice for the same time runs nothing
the second time.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yunwei import audit
from yunwei.errors import InputError
from yunwei.files import write_atomic
from yunwei.runner.env import operator
from yunwei.schedule.active import load_active, schedule_dir
from yunwei.schedule.calendar import fires_between, last_fire, next_fire, profile_at
from yunwei.schedule.model import Schedule


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def state_path() -> Path:
    return schedule_dir() / "state.json"


def read_state() -> dict[str, Any]:
    try:
        return json.loads(state_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def write_state(state: dict[str, Any]) -> None:
    write_atomic(state_path(), json.dumps(state, indent=2, sort_keys=True) + "\n")


@contextmanager
def _flock(path: Path, *, wait: bool, holder: dict[str, Any] | None = None) -> Iterator[bool]:
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            if holder is not None:  # who holds it, for a tick that finds it busy
                fh.seek(0)
                fh.truncate()
                fh.write(json.dumps(holder))
                fh.flush()
            yield True
        finally:
            if holder is not None:  # released: nobody holds it any more
                fh.seek(0)
                fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _lock_path(job: str) -> Path:
    return schedule_dir() / f"tick-{job}.lock"


def job_lock(job: str, holder: dict[str, Any] | None = None) -> Any:
    """Non-blocking per-job lock: a second tick for a running job gives up at once. ``holder``
    (pid, start, timeout) is written into the lock file while it is held."""
    return _flock(_lock_path(job), wait=False, holder=holder)


def lock_holder(job: str) -> dict[str, Any]:
    """What the holder of ``job``'s lock wrote (pid, started, timeout, kill_grace), or {}."""
    try:
        data = json.loads(_lock_path(job).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def overdue(holder: dict[str, Any], now: dt.datetime) -> float | None:
    """Seconds the holder has run past its timeout and kill grace (None while within them or unknown)."""
    try:
        started = _parse(holder["started"])
        limit = float(holder["timeout"]) + float(holder.get("kill_grace") or 0)
    except (KeyError, TypeError, ValueError):
        return None
    late = (now - started).total_seconds() - limit
    return late if late > 0 else None


def state_lock() -> Any:
    """Short blocking lock around read-modify-write of state.json."""
    return _flock(schedule_dir() / "state.lock", wait=True)


@dataclass
class DueItem:
    job: str
    due: bool
    fire: dt.datetime | None  # the fire time to run now
    missed: list[dt.datetime] = field(default_factory=list)
    next: dt.datetime | None = None
    profile: str | None = None
    heightened: bool = False


def _since(job: str, state: dict[str, Any], meta: dict[str, Any]) -> dt.datetime:
    last = (state.get(job) or {}).get("last")
    if last:
        return _parse(last)
    return _parse(meta["activated_at"])


def due(schedule: Schedule, meta: dict[str, Any], at: dt.datetime, state: dict[str, Any] | None = None,
        only: str | None = None) -> list[DueItem]:
    state = read_state() if state is None else state
    items = []
    for job in schedule.entries:
        if only and job != only:
            continue
        fires = fires_between(schedule, job, _since(job, state, meta), at)
        fire = fires[-1] if fires else last_fire(schedule, job, at)
        items.append(DueItem(
            job=job, due=bool(fires), fire=fire, missed=fires[:-1], next=next_fire(schedule, job, at),
            profile=profile_at(schedule, job, fire) if fire else schedule.entries[job].profile,
            heightened=bool(fire and job in schedule.heightened_jobs and schedule.window_at(fire)),
        ))
    return items


@dataclass
class TickReport:
    ran: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    stuck: list[dict[str, Any]] = field(default_factory=list)  # busy past the holder's timeout + grace


def _default_runner(job: str, profile: str | None) -> tuple[str, int, str]:
    from yunwei.commands.run import exit_code, run_readonly

    result = run_readonly(job, profile=profile, trigger="schedule", quiet=True)
    if job == "preflight" and not result.input_errors:  # T-7: open actions become tickets (docs/special-periods.md)
        try:
            _preflight_tickets()
        except Exception as exc:  # noqa: BLE001 - the run is recorded either way; `yunwei preflight tickets` redoes it
            return f"{result.status}; tickets not opened: {exc}", exit_code(result) or 1, result.run_id
    if job == "security-daily" and result.ok:  # 重保: the day's 《安全运行日报》 generated and delivered
        try:
            _security_daily_delivery()
        except Exception as exc:  # noqa: BLE001 - the run is recorded; `yunwei report security-daily --deliver` redoes it
            return f"{result.status}; report not delivered: {exc}", 1, result.run_id
    if result.ok:
        return result.status, 0, result.run_id
    # not a completed run (no host reached, bad input, timeout...): say so, with the journal's reason
    status = f"{result.journal_status or result.status}: {result.reason}" if result.reason else result.status
    return status, exit_code(result) or 1, result.run_id


def _security_daily_delivery() -> None:
    from yunwei.reports.periods import client_tz
    from yunwei.special.daily import deliver

    deliver(dt.datetime.now(client_tz()).date())


def _preflight_tickets() -> None:
    from yunwei.preflight.run import judged, open_tickets
    from yunwei.store import open_store

    with open_store(reap=False) as store:
        run, results = judged(store)
        if run is not None:
            open_tickets(store, run, results, operator="schedule")


def _claim(schedule: Schedule, meta: dict[str, Any], at: dt.datetime, job: str) -> DueItem | None:
    """Under the state lock: is ``job`` still due? If so mark its slot handled and return it."""
    with state_lock():
        state = read_state()
        item = due(schedule, meta, at, state, job)[0]
        if not item.due or item.fire is None:
            return None
        # marked before running: a crash mid-run must not make every later tick re-run this slot
        state[job] = {"last": _iso(item.fire)}
        write_state(state)
        return item


def _record(job: str, **fields: Any) -> None:
    with state_lock():
        state = read_state()
        state.setdefault(job, {}).update(fields)
        write_state(state)


def _holder(job: str, now: dt.datetime) -> dict[str, Any]:
    """Lock holder record: this process, when it started, and the job's timeout and kill grace."""
    try:
        from yunwei.jobs import get_job

        spec = get_job(job)
        timeout, grace = spec.timeout, spec.kill_grace
    except Exception:  # an unknown job fails when it runs; the record stays without a limit
        timeout, grace = None, None
    return {"pid": os.getpid(), "started": _iso(now), "timeout": timeout, "kill_grace": grace}


def tick(at: dt.datetime | None = None, *, only: str | None = None,
         runner: Callable[[str, str | None], tuple[str, int, str]] | None = None) -> TickReport:
    """Run every due job once (each under its own lock); report and audit missed slots."""
    now = _now()
    if at is not None and at > now:
        # a future time would be stored as the last slot handled and swallow the real slots up to it
        raise InputError("--at", _iso(at), f"tick cannot act in the future (now {_iso(now)}); use `schedule due --at`")
    at = at or now
    runner = runner or _default_runner
    report = TickReport()
    schedule, meta = load_active()
    jobs = [j for j in schedule.entries if not only or j == only]
    for job in jobs:
        with job_lock(job, _holder(job, now)) as got:
            if not got:
                report.busy.append(job)
                holder = lock_holder(job)
                late = overdue(holder, now)
                if late is not None:
                    entry = {"job": job, "pid": holder.get("pid"), "started": holder.get("started"),
                             "timeout": holder.get("timeout"), "kill_grace": holder.get("kill_grace"),
                             "overdue_s": round(late)}
                    report.stuck.append(entry)
                    audit.record("stuck_run", operator=operator(), **entry)
                continue
            item = _claim(schedule, meta, at, job)
            if item is None or item.fire is None:
                continue
            if item.missed:
                entry = {"job": job, "count": len(item.missed),
                         "first": _iso(item.missed[0]), "last": _iso(item.missed[-1])}
                report.missed.append(entry)
                audit.record("missed_run", job=job, operator=operator(), count=entry["count"],
                             first=entry["first"], last=entry["last"], schedule=meta.get("digest"))
            try:
                status, rc, run_id = runner(job, item.profile)
            except Exception as exc:  # one failing job must not stop the others
                status, rc, run_id = f"error: {exc}", 1, ""
            _record(job, status=status, rc=rc, run_id=run_id)
            report.ran.append({"job": job, "fire": _iso(item.fire), "profile": item.profile,
                               "status": status, "rc": rc, "run_id": run_id})
    return report

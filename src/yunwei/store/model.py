"""Typed records of the journal store (see docs/data-model.md).

All times are timezone-aware ``datetime`` in UTC. Backends store them as epoch seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

RUN_STATUSES = ("running", "ok", "failed", "interrupted", "timeout")
# The only status of a run that did its job: every host it was meant to reach was reached and no
# task failed. Records and reports count a run as an inspection done only with this status;
# failed (with a reason: no host matched, none reached, bad input, a task failed), interrupted
# and timeout runs never count.
COMPLETED_RUN_STATUSES = ("ok",)
RESULT_STATUSES = ("ok", "changed", "failed", "skipped", "unreachable")


def utc(ts: float | None) -> datetime | None:
    """Epoch seconds -> aware UTC datetime (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), tz=timezone.utc)


def epoch(value: datetime | float | int | str | None) -> float | None:
    """Aware (or naive = UTC) datetime, ISO string or epoch seconds -> epoch seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class HostStats:
    """Per-host counters of a run (from the play recap)."""

    host: str
    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(slots=True)
class Run:
    """One playbook run. ``status`` is running | ok | failed | interrupted | timeout; ``reason``
    says why a run is not ok (empty for ok runs)."""

    id: str
    playbook: str = ""
    job: str = ""
    profile: str = ""
    operator: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    status: str = "running"
    ansible_version: str = ""
    content_digest: str = ""
    hosts: list[str] = field(default_factory=list)
    # extensions beyond the documented contract
    node: str = ""  # machine that recorded the run
    pid: int | None = None  # recording process (to detect interrupted runs)
    check_mode: bool = False
    error_count: int = 0  # errors inside the journal callback itself
    host_stats: list[HostStats] = field(default_factory=list)
    reason: str = ""  # why the run failed, was interrupted or timed out

    @property
    def completed(self) -> bool:
        """True when the run did its job (status ok): only such a run counts as an inspection done."""
        return self.status in COMPLETED_RUN_STATUSES

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(slots=True)
class TaskResult:
    """One task result for one host. ``status`` is ok | changed | failed | skipped | unreachable."""

    run_id: str
    host: str
    task: str
    status: str
    seq: int = 0  # order within the run
    play: str = ""
    task_uuid: str = ""
    action: str = ""  # module / action name
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None  # seconds
    ignore_errors: bool = False
    result: dict[str, Any] = field(default_factory=dict)  # without internal keys; censored when no_log

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(slots=True)
class Check:
    """A check returned by a yunwei.ops collector (docs/data-model.md)."""

    id: str
    category: str
    status: str  # ok | warn | crit
    run_id: str = ""
    host: str = ""
    time: datetime | None = None
    title: str = ""
    instance: str = ""
    value: Any = None  # number or short string
    unit: str = ""
    threshold: Any = None  # {warn:, crit:} or a string
    evidence: str = ""
    suggestion: str = ""
    task: str = ""  # extension: the task that produced it

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(slots=True)
class Metric:
    """A metric sample returned by a yunwei.ops collector (docs/data-model.md)."""

    name: str
    value: float
    run_id: str = ""
    host: str = ""
    instance: str = ""
    unit: str = ""
    time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


@dataclass(slots=True)
class RunError:
    """An error inside the journal callback, recorded instead of aborting the playbook."""

    run_id: str
    message: str
    time: datetime | None = None


@dataclass(slots=True)
class CheckSummary:
    """Aggregate row of :meth:`Store.check_summary`."""

    host: str
    category: str
    id: str
    ok: int = 0
    warn: int = 0
    crit: int = 0
    last_status: str = ""
    last_time: datetime | None = None


def to_dict(obj: Any) -> dict[str, Any]:
    """Dataclass -> JSON-ready dict (datetimes as ISO 8601 strings)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, datetime):
            v = v.isoformat()
        elif isinstance(v, list) and v and dataclasses.is_dataclass(v[0]):
            v = [to_dict(x) for x in v]
        out[f.name] = v
    return out

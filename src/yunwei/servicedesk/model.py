"""The service desk's vocabulary: grades, channels, states, clocks, and the ticket record.

Codes are English (the CLI, the store); what the client reads is Chinese (the labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yunwei.store.model import utc

# 分级响应 (contract: REQUIREMENTS.md §2 and §5)
GRADES: dict[str, str] = {
    "consult": "普通咨询",
    "fault": "故障报修",
    "emergency": "紧急事件",
    "major": "重大问题",
    "sec-normal": "安全事件（普通）",
    "sec-major": "安全事件（重大）",
}
CHANNELS: dict[str, str] = {
    "hotline": "服务热线",
    "online": "在线服务",
    "wechat": "微信服务群",
    "email": "电子邮件",
    "alert": "监控告警",
    "scan": "漏洞扫描",
}
# new: registered, nobody answered yet; acked: answered / being handled; resolved: handled, waiting for the
# requester's confirmation; closed: confirmed.
STATES: dict[str, str] = {"new": "待响应", "acked": "处理中", "resolved": "已解决", "closed": "已关闭"}
OPEN_STATES = ("new", "acked", "resolved")
# The clocks a grade may carry, what stops them, and how the client reads them.
CLOCKS: dict[str, str] = {"response": "响应", "handling": "处理", "onsite": "到场"}
CLOCK_STOPPED_BY = {"response": "答复（ack）或解决", "handling": "解决（resolve）", "onsite": "到场（onsite）"}

TICKET = "ticket"
FEEDBACK = "feedback"
FOLLOWUP = "followup"

# 每周需求反馈 items
FEEDBACK_STATES: dict[str, str] = {"new": "新提出", "accepted": "已采纳", "scheduled": "已排期", "done": "已完成",
                                   "declined": "不采纳"}
FEEDBACK_NEXT: dict[str, tuple[str, ...]] = {
    "new": ("accepted", "scheduled", "done", "declined"),
    "accepted": ("scheduled", "done", "declined"),
    "scheduled": ("done", "declined", "accepted"),
    "done": (),
    "declined": (),
}
FEEDBACK_CLOSED = ("done", "declined")


@dataclass
class Clock:
    """One deadline of a ticket: ``kind`` (response, handling, onsite) of ``grade``, due at ``due``.

    ``stopped``: when what it waits for happened (met if not after ``due``); ``cancelled``: the grade
    changed while it ran. A breach is a fact of these times, so it stays on record whatever happens
    to the ticket later (closing, reopening); only an audited correction of a time changes it."""

    kind: str
    grade: str
    started: float
    due: float
    stopped: float | None = None
    cancelled: float | None = None
    seconds: float = 0.0

    @property
    def breached(self) -> bool:
        """On record: stopped after its due time, or still running when the grade changed past it."""
        if self.stopped is not None:
            return self.stopped > self.due
        return self.cancelled is not None and self.cancelled > self.due

    @property
    def running(self) -> bool:
        return self.stopped is None and self.cancelled is None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "grade": self.grade, "started": self.started, "due": self.due,
                "stopped": self.stopped, "cancelled": self.cancelled, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Clock:
        return cls(d["kind"], d["grade"], d["started"], d["due"], d.get("stopped"), d.get("cancelled"),
                   float(d.get("seconds") or d["due"] - d["started"]))


@dataclass
class Event:
    """One entry of an item's history (``service_events``)."""

    seq: int
    time: float
    operator: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def when(self) -> datetime:
        return utc(self.time)  # type: ignore[return-value]


@dataclass
class Ticket:
    """The current state of a ticket: the fold of its events (servicedesk/fold.py)."""

    id: str
    version: int = 0
    state: str = "new"
    grade: str = ""
    channel: str = ""
    reporter: str = ""
    contact: str = ""
    host: str = ""
    title: str = ""
    description: str = ""
    opened_by: str = ""
    assignee: str = ""
    registered_at: float = 0.0
    opened_at: float = 0.0
    responded_at: float | None = None
    onsite_at: float | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    cause: str = ""
    action: str = ""
    result: str = ""
    confirmation: str = ""
    alert_fingerprint: str | None = None
    clocks: list[Clock] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)       # grade changes: {time, from, to, reason}
    corrections: list[dict[str, Any]] = field(default_factory=list)  # {time, seq, field, from, to, reason, operator}
    notified: list[dict[str, Any]] = field(default_factory=list)     # {clock, level, ok, time}
    alert: dict[str, Any] = field(default_factory=dict)              # {status, starts_at, ends_at, name}
    breach_reason: str = ""                                          # the latest note --breach-reason
    updated_at: float = 0.0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def breaches(self) -> int:
        """Clocks breached on record (stopped late, or running past due when the grade changed)."""
        return sum(1 for c in self.clocks if c.breached)

    def due(self, kind: str) -> float | None:
        """The due time of the latest clock of ``kind`` (None: the grade has none)."""
        for c in reversed(self.clocks):
            if c.kind == kind and c.cancelled is None:
                return c.due
        return None

    def breached_clocks(self, now: float | None = None) -> list[Clock]:
        """Clocks breached on record, and (with ``now``) clocks still running past their due time."""
        return [c for c in self.clocks
                if c.breached or (now is not None and c.running and c.due < now)]

    def detail(self) -> dict[str, Any]:
        return {"clocks": [c.to_dict() for c in self.clocks], "grades": self.grades,
                "corrections": self.corrections, "notified": self.notified, "alert": self.alert,
                "breach_reason": self.breach_reason}

    def set_detail(self, d: dict[str, Any]) -> None:
        self.clocks = [Clock.from_dict(c) for c in d.get("clocks") or []]
        self.grades = list(d.get("grades") or [])
        self.corrections = list(d.get("corrections") or [])
        self.notified = list(d.get("notified") or [])
        self.alert = dict(d.get("alert") or {})
        self.breach_reason = str(d.get("breach_reason") or "")


@dataclass
class FeedbackItem:
    id: str
    version: int = 0
    state: str = "new"
    title: str = ""
    requester: str = ""
    description: str = ""
    ticket_id: str = ""
    created_by: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    closed_at: float | None = None
    plan: str = ""
    note: str = ""

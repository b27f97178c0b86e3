"""What breaches next (``ticket due``) and the scheduled watch (``ticket watch``, job ``ticket_watch``).

The watch looks at every running clock of the tickets being handled. A clock with at most
``warn_before`` left is *near* (one warning); one past its due time is *breached*: the watch
appends a ``breach`` event (the moment it was seen; the breach itself is a fact of the ticket's
times and stays on record after closing) and notifies. Notifications go to the configured command
(``notify.command`` in service-desk.yml) with the message as JSON on stdin, until the monitoring
issue brings its channels; each attempt is a ``notify`` event (ok or the error). A failed
notification is retried on the next watch, at most :data:`MAX_ATTEMPTS` times per clock and level.
The watch also records late any service-desk event a crash left without its audit record.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from yunwei.reports.humanise import duration_text
from yunwei.servicedesk import store as sd
from yunwei.servicedesk import tickets as tk
from yunwei.servicedesk.config import ServiceDeskConfig, load_config
from yunwei.servicedesk.model import CHANNELS, CLOCKS, GRADES, STATES, Clock, Event, Ticket

MAX_ATTEMPTS = 3
LEVELS = {"warn": "即将超时", "breach": "已超时"}


@dataclass
class Due:
    ticket: Ticket
    index: int  # of the clock in ticket.clocks
    clock: Clock
    now: float

    @property
    def remaining(self) -> float:
        return self.clock.due - self.now

    def level(self, warn_before: float) -> str | None:
        if self.remaining <= 0:
            return "breach"
        if self.remaining <= warn_before:
            return "warn"
        return None

    def message(self, level: str) -> str:
        t, c = self.ticket, self.clock
        limit = f"{CLOCKS[c.kind]}时限 {duration_text(c.seconds)}（截止 {tk.local(c.due, '%m-%d %H:%M')}）"
        state = (f"已超时 {duration_text(-self.remaining)}" if self.remaining <= 0 else
                 f"剩余 {duration_text(self.remaining)}")
        where = f" {t.host}" if t.host else ""
        return f"【工单{LEVELS[level]}】{t.id} {GRADES[t.grade]}{where} {t.title}：{limit}，{state}。"

    def as_dict(self, level: str | None = None) -> dict[str, Any]:
        t, c = self.ticket, self.clock
        out = {"ticket": t.id, "grade": t.grade, "grade_label": GRADES[t.grade], "channel": t.channel,
               "channel_label": CHANNELS[t.channel], "state": t.state, "state_label": STATES[t.state],
               "host": t.host, "title": t.title, "assignee": t.assignee, "clock": c.kind, "clock_label": CLOCKS[c.kind],
               "due": tk.local(c.due), "due_ts": c.due, "remaining_s": round(self.remaining, 1)}
        if level:
            out.update({"level": level, "message": self.message(level)})
        return out


def running_clocks(store: Any, now: float | None = None) -> list[Due]:
    """Every running clock of the tickets being handled, the soonest due first."""
    now = now if now is not None else sd.now_ts()
    out = []
    for r in store.query(f"SELECT {', '.join(sd.TICKET_COLS)} FROM tickets WHERE state IN ('new', 'acked')"):
        t = sd.ticket_from_row(r)
        out += [Due(t, i, c, now) for i, c in enumerate(t.clocks) if c.running]
    return sorted(out, key=lambda d: (d.clock.due, d.ticket.id))


def due(store: Any, *, within: float | None = None, now: float | None = None) -> list[Due]:
    """What breaches next: running clocks due within ``within`` seconds (all with None), overdue ones first."""
    rows = running_clocks(store, now)
    return [d for d in rows if within is None or d.remaining <= within]


def notify(config: ServiceDeskConfig, payload: dict[str, Any]) -> tuple[bool, str]:
    """Run the configured command with ``payload`` as JSON on stdin: (ok, error)."""
    if not config.notify_command:
        return False, "no notification command configured"
    try:
        proc = subprocess.run(list(config.notify_command), input=json.dumps(payload, ensure_ascii=False),
                              capture_output=True, text=True, timeout=config.notify_timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{config.notify_command[0]}: {exc}"[:500]
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout or "").strip().splitlines()
        return False, f"{config.notify_command[0]} exited {proc.returncode}" + (f": {err[-1]}" if err else "")[:500]
    return True, ""


def _record(store: Any, d: Due, kind: str, data: dict[str, Any], operator: str | None) -> None:
    """Append a watch event, unless the clock stopped meanwhile (then nothing is written)."""
    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if d.index >= len(t.clocks) or not t.clocks[d.index].running:
            raise tk.Skip()
        return data
    try:
        tk.act(store, d.ticket.id, kind, build, operator)
    except tk.Skip:
        pass


def watch(store: Any, *, config: ServiceDeskConfig | None = None, now: float | None = None,
          operator: str | None = None) -> list[dict[str, Any]]:
    """One pass (the ``ticket_watch`` job): mark breaches, notify before and at a breach. Returns
    what it found, each with what it did."""
    config = config or load_config()
    repaired = sd.repair_audit(store)
    out: list[dict[str, Any]] = []
    for d in running_clocks(store, now):
        level = d.level(config.warn_before)
        if level is None:
            continue
        row = d.as_dict(level)
        t = d.ticket
        seen_breach = any(e.get("clock") == d.index for e in _breach_marks(store, t))
        if level == "breach" and not seen_breach:
            _record(store, d, "breach", {"clock": d.index, "kind": d.clock.kind, "due": d.clock.due}, operator)
            row["marked"] = True
        attempts = [n for n in t.notified if n.get("clock") == d.index and n.get("level") == level]
        if any(n["ok"] for n in attempts):
            row["notified"] = "already"
        elif len(attempts) >= MAX_ATTEMPTS:
            row["notified"] = f"gave up after {len(attempts)} failed attempts"
        elif config.notify_command:
            ok, error = notify(config, row)
            _record(store, d, "notify", {"clock": d.index, "kind": d.clock.kind, "level": level, "ok": ok,
                                         **({"error": error} if error else {})}, operator)
            row["notified"] = "ok" if ok else f"failed: {error}"
        else:
            row["notified"] = "no notification command configured"
        out.append(row)
    if repaired:
        out.append({"audit_repaired": repaired})
    return out


def _breach_marks(store: Any, t: Ticket) -> list[dict[str, Any]]:
    return [e.data for e in tk.history(store, t.id) if e.kind == "breach"]

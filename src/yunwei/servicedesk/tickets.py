"""Ticket operations: register, answer, assign, note, on site, escalate, resolve, close, reopen, correct.

Each function validates its input and the transition against the ticket's current state, then
appends one event in one transaction (servicedesk/store.py). Bad input or a transition that is not
allowed raises InputError (exit 2) naming the field, and nothing is written. Times are the tool's:
the only typed time is a correction's, which is itself an audited event with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from yunwei.errors import InputError
from yunwei.servicedesk import store as sd
from yunwei.servicedesk.config import ServiceDeskConfig, load_config
from yunwei.servicedesk.fold import MILESTONES, effective_times, fold
from yunwei.servicedesk.model import CHANNELS, GRADES, STATES, TICKET, Event, Ticket

TEXT_LIMIT = 4000
MILESTONE_FIELD = {"open": "申告时间", "ack": "响应时间", "onsite": "到场时间", "resolve": "解决时间", "close": "关闭时间"}


class Skip(Exception):
    """Nothing to write after all (ticket-watch: the clock stopped meanwhile)."""


def _who(operator: str | None) -> str:
    if operator:
        return operator
    from yunwei.runner.env import operator as current

    return current()


def text(value: Any, field: str, *, required: bool = True, limit: int = TEXT_LIMIT) -> str:
    """A free text argument: stripped, non-empty when ``required``, at most ``limit`` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(field, None, f"must be a text, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise InputError(field, None, "must not be empty")
    if len(value) > limit:
        raise InputError(field, None, f"too long ({len(value)} characters, at most {limit})")
    if "\x00" in value:
        raise InputError(field, None, "contains a NUL character")
    return value


def check_grade(grade: Any, field: str = "--grade") -> str:
    if grade not in GRADES:
        raise InputError(field, None, f"unknown grade {grade!r} (one of {', '.join(GRADES)})")
    return str(grade)


def check_channel(channel: Any, field: str = "--channel") -> str:
    if channel not in CHANNELS:
        raise InputError(field, None, f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
    return str(channel)


def local(ts: float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if ts is None:
        return "—"
    from yunwei.reports.periods import client_tz

    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(client_tz()).strftime(fmt)


def _last(evs: list[Event], *kinds: str) -> Event | None:
    return next((e for e in reversed(evs) if e.kind in kinds), None)


def _by(e: Event | None) -> str:
    return f" by {e.operator} at {local(e.time)}" if e is not None else ""


def _refuse(t: Ticket, action: str, why: str) -> InputError:
    return InputError(f"ticket {t.id}", "state", f"cannot {action}: {why} ({STATES.get(t.state, t.state)})")


# ----------------------------------------------------------------------------- the write step
def act(store: Any, ticket_id: str, kind: str, build: Callable[[Ticket, list[Event], float], dict[str, Any]],
        operator: str | None = None) -> sd.Written:
    """Append one ``kind`` event to ``ticket_id``: ``build(current, history, now)`` validates against
    the state read in this transaction and returns the event's data."""
    who = _who(operator)
    ticket_id = text(ticket_id, "ID", limit=64)

    def step(cur: Any, now: float) -> sd.Written:
        evs = sd.events(store, TICKET, ticket_id, cur)
        if not evs:
            raise InputError(f"ticket {ticket_id}", None, "no such ticket (yunwei ticket list)")
        current = fold(ticket_id, evs)
        now = max(now, evs[-1].time)
        e = Event(current.version + 1, now, who, kind, build(current, evs, now))
        new = fold(ticket_id, [*evs, e])
        sd.save_ticket(cur, store, new, current.version)
        e.id = sd.insert_event(cur, store, TICKET, ticket_id, e)
        return sd.Written(TICKET, ticket_id, new, [e])

    return sd.write(store, step)


# ----------------------------------------------------------------------------- commands
def open_ticket(store: Any, *, grade: str, channel: str, reporter: str, title: str, contact: str = "",
                host: str = "", description: str = "", operator: str | None = None,
                config: ServiceDeskConfig | None = None, alert: dict[str, Any] | None = None,
                started_at: float | None = None) -> Ticket:
    """Register a report (故障申告). ``started_at`` (alerts only): when the fault began, which starts
    the clocks; never later than now."""
    data: dict[str, Any] = {
        "grade": check_grade(grade), "channel": check_channel(channel),
        "reporter": text(reporter, "--reporter", limit=200), "contact": text(contact, "--contact", required=False, limit=200),
        "host": text(host, "--host", required=False, limit=200), "title": text(title, "--title", limit=500),
        "description": text(description, "--description", required=False),
    }
    config = config or load_config()
    data["clocks"] = config.clocks_for(data["grade"], data["channel"])
    if alert:
        data["alert"] = alert
    who = _who(operator)

    def step(cur: Any, now: float) -> sd.Written:
        tid = sd.next_id(cur, store, "tickets", "", now, 3)
        d = dict(data)
        if started_at is not None:
            d["opened_at"] = min(float(started_at), now)
        e = Event(1, now, who, "open", d)
        t = fold(tid, [e])
        sd.save_ticket(cur, store, t, 0)
        e.id = sd.insert_event(cur, store, TICKET, tid, e)
        return sd.Written(TICKET, tid, t, [e])

    return sd.write(store, step).state


def ack(store: Any, ticket_id: str, *, operator: str | None = None) -> Ticket:
    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state == "new":
            return {}
        if t.state == "acked":
            raise _refuse(t, "acknowledge", f"already acknowledged{_by(_last(evs, 'ack'))}")
        if t.state == "resolved":
            raise _refuse(t, "acknowledge", f"already resolved{_by(_last(evs, 'resolve'))}")
        raise _refuse(t, "acknowledge", f"closed{_by(_last(evs, 'close'))}; reopen it first")
    return act(store, ticket_id, "ack", build, operator).state


def assign(store: Any, ticket_id: str, assignee: str, *, operator: str | None = None) -> Ticket:
    name = text(assignee, "--to", limit=200)

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state == "closed":
            raise _refuse(t, "assign", "closed")
        if t.assignee == name:
            raise InputError(f"ticket {t.id}", "assignee", f"already assigned to {name}")
        return {"assignee": name}
    return act(store, ticket_id, "assign", build, operator).state


def note(store: Any, ticket_id: str, note_text: str, *, breach_reason: bool = False,
         operator: str | None = None) -> Ticket:
    body = text(note_text, "TEXT")

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if breach_reason and not t.breached_clocks(now):
            raise InputError(f"ticket {t.id}", "--breach-reason", "the ticket has no breached clock to explain")
        return {"text": body, **({"breach_reason": True} if breach_reason else {})}
    return act(store, ticket_id, "note", build, operator).state


def onsite(store: Any, ticket_id: str, *, operator: str | None = None) -> Ticket:
    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state not in ("new", "acked"):
            raise _refuse(t, "record the arrival on site", "the ticket is no longer being handled")
        if t.onsite_at is not None:
            raise _refuse(t, "record the arrival on site", f"already recorded{_by(_last(evs, 'onsite'))}")
        return {}
    return act(store, ticket_id, "onsite", build, operator).state


def escalate(store: Any, ticket_id: str, grade: str, reason: str, *, operator: str | None = None,
             config: ServiceDeskConfig | None = None) -> Ticket:
    new_grade = check_grade(grade)
    why = text(reason, "--reason")
    config = config or load_config()

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state not in ("new", "acked"):
            raise _refuse(t, "change the grade", "the ticket is no longer being handled; reopen it first")
        if t.grade == new_grade:
            raise InputError("--grade", None, f"the ticket is already {new_grade} ({GRADES[new_grade]})")
        return {"grade": new_grade, "reason": why, "clocks": config.clocks_for(new_grade, t.channel)}
    return act(store, ticket_id, "escalate", build, operator).state


def resolve(store: Any, ticket_id: str, *, cause: str, action: str, result: str,
            operator: str | None = None) -> Ticket:
    data = {"cause": text(cause, "--cause"), "action": text(action, "--action"), "result": text(result, "--result")}

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state == "resolved":
            raise _refuse(t, "resolve", f"already resolved{_by(_last(evs, 'resolve'))}")
        if t.state == "closed":
            raise _refuse(t, "resolve", "closed; reopen it first")
        return data
    return act(store, ticket_id, "resolve", build, operator).state


def close(store: Any, ticket_id: str, *, confirmation: str, confirmed_by: str = "",
          operator: str | None = None) -> Ticket:
    data = {"confirmation": text(confirmation, "--confirmation")}
    if confirmed_by:
        data["confirmed_by"] = text(confirmed_by, "--confirmed-by", limit=200)

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state in ("new", "acked"):
            raise _refuse(t, "close", "not resolved yet; record cause, action and result first (yunwei ticket resolve)")
        if t.state == "closed":
            raise _refuse(t, "close", f"already closed{_by(_last(evs, 'close'))}")
        return data
    return act(store, ticket_id, "close", build, operator).state


def reopen(store: Any, ticket_id: str, reason: str, *, operator: str | None = None,
           config: ServiceDeskConfig | None = None) -> Ticket:
    why = text(reason, "--reason")
    config = config or load_config()

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        if t.state not in ("resolved", "closed"):
            raise _refuse(t, "reopen", "it is still open")
        return {"reason": why, "clocks": config.clocks_for(t.grade, t.channel)}
    return act(store, ticket_id, "reopen", build, operator).state


def parse_time(raw: str, field: str = "--at") -> float:
    """An ISO time; without an offset it is the client's local time ($YUNWEI_TZ)."""
    from yunwei.reports.periods import client_tz

    try:
        moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(field, None, f"expected a time like 2026-11-25T10:03 or 2026-11-25 10:03:00+08:00, "
                                      f"got {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=client_tz())
    return moment.timestamp()


def correct(store: Any, ticket_id: str, seq: int, at: str | float, reason: str, *,
            operator: str | None = None) -> Ticket:
    """Correct the time of a milestone event (open, ack, onsite, resolve, close): a new audited event;
    the recorded one stays in the history."""
    why = text(reason, "--reason")
    to = float(at) if isinstance(at, (int, float)) else parse_time(at)

    def build(t: Ticket, evs: list[Event], now: float) -> dict[str, Any]:
        target = next((e for e in evs if e.seq == seq), None)
        if target is None or target.kind not in MILESTONES:
            kinds = ", ".join(f"{e.seq} ({e.kind})" for e in evs if e.kind in MILESTONES)
            raise InputError("--event", str(seq), f"not a time that can be corrected on ticket {t.id} (events: {kinds})")
        if to > now:
            raise InputError("--at", None, f"{local(to)} is in the future")
        before = effective_times(evs).get(seq)
        d = {"seq": seq, "field": MILESTONE_FIELD[target.kind], "from": before, "to": to, "reason": why}
        trial = effective_times([*evs, Event(0, now, "", "correct", d)])
        order = [(s, trial[s]) for s in sorted(trial)]
        for (s1, t1), (s2, t2) in zip(order, order[1:]):
            if t2 < t1:
                raise InputError("--at", None, f"{local(to)} would put event {s2} ({local(t2)}) before event {s1} "
                                               f"({local(t1)})")
        return d
    return act(store, ticket_id, "correct", build, operator).state


# ----------------------------------------------------------------------------- reading
def get(store: Any, ticket_id: str) -> Ticket:
    t = sd.get_ticket(store, ticket_id)
    if t is None:
        raise InputError(f"ticket {ticket_id}", None, "no such ticket (yunwei ticket list)")
    return t


def history(store: Any, ticket_id: str) -> list[Event]:
    return sd.events(store, TICKET, ticket_id)


def list_tickets(store: Any, *, open_only: bool = False, breached: bool = False, grade: str | None = None,
                 channel: str | None = None, since: float | None = None, until: float | None = None,
                 now: float | None = None, limit: int | None = None, host: str | None = None) -> list[Ticket]:
    """Tickets, newest first. ``breached``: a clock breached on record, or still running past its due time."""
    now = now if now is not None else sd.now_ts()
    where, params = [], []
    if open_only:
        where.append("state IN ('new', 'acked', 'resolved')")
    if grade is not None:
        where.append("grade = ?")
        params.append(check_grade(grade))
    if channel is not None:
        where.append("channel = ?")
        params.append(check_channel(channel))
    if host is not None:
        where.append("host = ?")
        params.append(host)
    if since is not None:
        where.append("opened_at >= ?")
        params.append(since)
    if until is not None:
        where.append("opened_at < ?")
        params.append(until)
    if breached:
        where.append(f"({BREACHED_SQL})")
        params += [now] * 3
    sql = f"SELECT {', '.join(sd.TICKET_COLS)} FROM tickets"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY opened_at DESC, id DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [sd.ticket_from_row(r) for r in store.query(sql, params)]


# A clock breached on record, or one still running past its due time (three `now` parameters).
BREACHED_SQL = ("breaches > 0 OR (state IN ('new', 'acked') AND ((responded_at IS NULL AND response_due < ?) "
                "OR handling_due < ? OR (onsite_at IS NULL AND onsite_due < ?)))")

"""Closing the loop with the client: monthly satisfaction follow-ups (每月用户满意度回访) and weekly
requirements feedback (每周整理需求反馈).

A follow-up records one requester's answer for a month (score 1–5, remarks), optionally about one
ticket; recording again for the same requester, month and ticket supersedes the earlier answer
(both stay in the history). A feedback item moves new → accepted → scheduled → done, or to declined;
every change is an event with its note, so the weekly summary can say what moved that week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from yunwei.errors import InputError
from yunwei.servicedesk import store as sd
from yunwei.servicedesk.model import FEEDBACK, FEEDBACK_CLOSED, FEEDBACK_NEXT, FEEDBACK_STATES, FOLLOWUP, Event, FeedbackItem
from yunwei.servicedesk.tickets import _who, text

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ----------------------------------------------------------------------------- follow-ups
@dataclass
class Followup:
    id: int
    time: float
    operator: str
    month: str
    requester: str
    ticket_id: str
    score: int
    remarks: str
    superseded: bool = False


def current_month(now: float | None = None) -> str:
    from yunwei.reports.periods import client_tz

    return datetime.fromtimestamp(now or sd.now_ts(), tz=timezone.utc).astimezone(client_tz()).strftime("%Y-%m")


def check_month(month: str | None, field: str = "--month") -> str:
    if month is None:
        return current_month()
    m = _MONTH.match(str(month).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(field, None, f"expected YYYY-MM, got {month!r}")
    if m.group(0) > current_month():
        raise InputError(field, None, f"{month} is in the future")
    return m.group(0)


def check_score(score: Any) -> int:
    """1 to 5 (an int, or its digit as text)."""
    raw = str(score).strip() if not isinstance(score, bool) else ""
    if raw not in ("1", "2", "3", "4", "5"):
        raise InputError("--score", None, f"expected a whole number from 1 to 5, got {score!r}")
    return int(raw)


def record_followup(store: Any, *, requester: str, score: Any, remarks: str = "", ticket_id: str = "",
                    month: str | None = None, operator: str | None = None) -> Followup:
    who = _who(operator)
    data = {"month": check_month(month), "requester": text(requester, "--requester", limit=200),
            "score": check_score(score), "remarks": text(remarks, "--remarks", required=False),
            "ticket": text(ticket_id, "--ticket", required=False, limit=64)}
    if data["ticket"] and sd.get_ticket(store, data["ticket"]) is None:
        raise InputError("--ticket", None, f"no such ticket {data['ticket']!r}")

    def step(cur: Any, now: float) -> sd.Written:
        cur.execute(store.sql("SELECT MAX(seq) FROM service_events WHERE subject = ? AND ref = ?"),
                    (FOLLOWUP, data["month"]))
        seq = int(cur.fetchone()[0] or 0) + 1
        e = Event(seq, now, who, "followup", data)
        e.id = sd.insert_event(cur, store, FOLLOWUP, data["month"], e)
        cur.execute(store.sql("INSERT INTO followups (event_id, time, operator, month, requester, ticket_id, score, "
                              "remarks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                    (e.id, now, who, data["month"], data["requester"], data["ticket"], data["score"], data["remarks"]))
        return sd.Written(FOLLOWUP, data["month"], None, [e])

    w = sd.write(store, step)
    e = w.events[0]
    return Followup(int(e.id or 0), e.time, who, data["month"], data["requester"], data["ticket"], data["score"],
                    data["remarks"])


def followups(store: Any, month: str | None = None, *, since_month: str | None = None,
              until_month: str | None = None, latest_only: bool = True) -> list[Followup]:
    """Follow-ups of ``month`` (or of the months from ``since_month`` to ``until_month``, inclusive);
    with ``latest_only`` an answer superseded by a later one for the same requester and ticket is left out."""
    if month is not None:
        rows = store.query("SELECT id, time, operator, month, requester, ticket_id, score, remarks FROM followups "
                           "WHERE month = ? ORDER BY id", (month,))
    else:
        rows = store.query("SELECT id, time, operator, month, requester, ticket_id, score, remarks FROM followups "
                           "WHERE month >= ? AND month <= ? ORDER BY id", (since_month, until_month))
    out = [Followup(*r) for r in rows]
    latest: dict[tuple[str, str, str], Followup] = {}
    for f in out:
        key = (f.month, f.requester, f.ticket_id)
        if key in latest:
            latest[key].superseded = True
        latest[key] = f
    return [f for f in out if not (latest_only and f.superseded)]


def pending_requesters(store: Any, month: str) -> list[dict[str, Any]]:
    """Requesters whose tickets were closed in ``month`` and who have no follow-up for it yet."""
    from yunwei.reports.periods import client_tz, month_period

    y, m = (int(x) for x in month.split("-"))
    p = month_period(y, m, client_tz())
    rows = store.query("SELECT reporter, COUNT(*), MAX(contact) FROM tickets WHERE closed_at >= ? AND closed_at < ? "
                       "AND channel <> 'alert' GROUP BY reporter ORDER BY reporter",
                       (p.since.timestamp(), p.until.timestamp()))
    done = {f.requester for f in followups(store, month)}
    return [{"requester": r[0], "tickets": int(r[1]), "contact": r[2] or ""} for r in rows if r[0] not in done]


# ----------------------------------------------------------------------------- feedback items
def fold_feedback(item_id: str, evs: list[Event]) -> FeedbackItem:
    f = FeedbackItem(item_id)
    for e in sorted(evs, key=lambda e: e.seq):
        d = e.data
        f.version, f.updated_at = e.seq, e.time
        if e.kind == "open":
            f.title, f.requester = d.get("title", ""), d.get("requester", "")
            f.description, f.ticket_id = d.get("description", ""), d.get("ticket", "")
            f.created_by, f.created_at = e.operator, e.time
        elif e.kind == "state":
            f.state = d["state"]
            f.note = d.get("note", "") or f.note
            if "plan" in d:
                f.plan = d["plan"]
            f.closed_at = e.time if f.state in FEEDBACK_CLOSED else None
        elif e.kind == "note":
            f.note = d.get("text", "")
    return f


def check_state(state: Any) -> str:
    if state not in FEEDBACK_STATES:
        raise InputError("--state", None, f"unknown state {state!r} (one of {', '.join(FEEDBACK_STATES)})")
    return str(state)


def add_feedback(store: Any, *, title: str, requester: str = "", description: str = "", ticket_id: str = "",
                 operator: str | None = None) -> FeedbackItem:
    who = _who(operator)
    data = {"title": text(title, "--title", limit=500), "requester": text(requester, "--requester", required=False,
                                                                         limit=200),
            "description": text(description, "--description", required=False),
            "ticket": text(ticket_id, "--ticket", required=False, limit=64)}
    if data["ticket"] and sd.get_ticket(store, data["ticket"]) is None:
        raise InputError("--ticket", None, f"no such ticket {data['ticket']!r}")

    def step(cur: Any, now: float) -> sd.Written:
        fid = sd.next_id(cur, store, "feedback", "FB", now, 2)
        e = Event(1, now, who, "open", data)
        f = fold_feedback(fid, [e])
        sd.save_feedback(cur, store, f, 0)
        e.id = sd.insert_event(cur, store, FEEDBACK, fid, e)
        return sd.Written(FEEDBACK, fid, f, [e])

    return sd.write(store, step).state


def set_feedback(store: Any, item_id: str, *, state: str | None = None, note: str = "", plan: str | None = None,
                 operator: str | None = None) -> FeedbackItem:
    """Move an item to ``state`` (with a note and, for scheduled, the plan), or add a note."""
    who = _who(operator)
    item_id = text(item_id, "ID", limit=64)
    new_state = check_state(state) if state is not None else None
    body = text(note, "--note", required=new_state is None or new_state == "declined")
    plan_text = text(plan, "--plan", required=new_state == "scheduled", limit=200) if (plan or new_state == "scheduled") else None

    def step(cur: Any, now: float) -> sd.Written:
        evs = sd.events(store, FEEDBACK, item_id, cur)
        if not evs:
            raise InputError(f"feedback {item_id}", None, "no such feedback item (yunwei feedback list)")
        cur_f = fold_feedback(item_id, evs)
        if new_state is not None:
            if new_state not in FEEDBACK_NEXT[cur_f.state]:
                allowed = ", ".join(FEEDBACK_NEXT[cur_f.state]) or "none: it is closed"
                raise InputError(f"feedback {item_id}", "state",
                                 f"cannot go from {cur_f.state} ({FEEDBACK_STATES[cur_f.state]}) to {new_state} "
                                 f"(allowed: {allowed})")
            data: dict[str, Any] = {"state": new_state, "note": body}
            if plan_text is not None:
                data["plan"] = plan_text
            e = Event(cur_f.version + 1, max(now, evs[-1].time), who, "state", data)
        else:
            e = Event(cur_f.version + 1, max(now, evs[-1].time), who, "note", {"text": body})
        new = fold_feedback(item_id, [*evs, e])
        sd.save_feedback(cur, store, new, cur_f.version)
        e.id = sd.insert_event(cur, store, FEEDBACK, item_id, e)
        return sd.Written(FEEDBACK, item_id, new, [e])

    return sd.write(store, step).state


def list_feedback(store: Any, *, state: str | None = None, open_only: bool = False, since: float | None = None,
                  until: float | None = None) -> list[FeedbackItem]:
    where, params = [], []
    if state is not None:
        where.append("state = ?")
        params.append(check_state(state))
    if open_only:
        where.append("state NOT IN ('done', 'declined')")
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    if until is not None:
        where.append("created_at < ?")
        params.append(until)
    sql = f"SELECT {', '.join(sd.FEEDBACK_COLS)} FROM feedback" + (" WHERE " + " AND ".join(where) if where else "")
    return [sd.feedback_from_row(r) for r in store.query(sql + " ORDER BY created_at, id", params)]


def get_feedback(store: Any, item_id: str) -> FeedbackItem:
    f = sd.get_feedback(store, item_id)
    if f is None:
        raise InputError(f"feedback {item_id}", None, "no such feedback item (yunwei feedback list)")
    return f


def items_at(store: Any, until: float) -> list[FeedbackItem]:
    """Every item created before ``until`` as it stood then (its events before ``until`` folded)."""
    import json

    per: dict[str, list[Event]] = {}
    for r in store.query("SELECT ref, id, seq, time, operator, kind, data FROM service_events WHERE subject = ? AND "
                         "time < ? ORDER BY ref, seq", (FEEDBACK, until)):
        per.setdefault(r[0], []).append(Event(int(r[2]), float(r[3]), r[4], r[5], json.loads(r[6] or "{}"), int(r[1])))
    return sorted((fold_feedback(ref, evs) for ref, evs in per.items()), key=lambda f: (f.created_at, f.id))


def week_changes(store: Any, since: float, until: float) -> list[tuple[str, Event]]:
    """(item id, event) of every feedback event in [since, until), oldest first."""
    import json

    rows = store.query("SELECT ref, id, seq, time, operator, kind, data FROM service_events WHERE subject = ? AND "
                       "time >= ? AND time < ? ORDER BY time, id", (FEEDBACK, since, until))
    return [(r[0], Event(int(r[2]), float(r[3]), r[4], r[5], json.loads(r[6] or "{}"), int(r[1]))) for r in rows]

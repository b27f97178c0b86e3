"""Persistence of the service desk in the journal store (SQLite or PostgreSQL).

One command = one transaction: the new event is appended to ``service_events`` and the item's row
(``tickets`` / ``feedback``) is updated to the fold of all its events, guarded by the version the
command read (``UPDATE ... WHERE version = ?``). Two operators acting on one ticket at once: on
SQLite the write transactions queue (BEGIN IMMEDIATE) and the second one sees the first one's
event; on PostgreSQL the second UPDATE finds the version moved, the transaction is rolled back and
the command is re-validated against the new state — the loser is told why (``already acknowledged
by li at ...``) or, where its change still makes sense (a note), it is simply written after.

After the commit the event goes to the audit log (yunwei.audit.record) and is marked audited in
``service_audited``; an event a crash left without its audit record is recorded late by
:func:`repair_audit` (run by ticket-watch), naming the original operator and time.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from yunwei.errors import YunweiError
from yunwei.servicedesk.model import Event, FeedbackItem, Ticket

MAX_ATTEMPTS = 8

TICKET_COLS = ("id", "version", "state", "grade", "channel", "reporter", "contact", "host", "title", "description",
               "opened_by", "assignee", "registered_at", "opened_at", "responded_at", "onsite_at", "resolved_at",
               "closed_at", "response_due", "handling_due", "onsite_due", "breaches", "breach_response",
               "breach_handling", "breach_onsite", "cause", "action", "result",
               "confirmation", "alert_fingerprint", "detail", "updated_at")
FEEDBACK_COLS = ("id", "version", "state", "title", "requester", "description", "ticket_id", "created_by",
                 "created_at", "updated_at", "closed_at", "plan", "note")


class Stale(Exception):
    """The item changed between reading and writing (another operator's event won)."""


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def is_integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.errors.IntegrityError)


def now_ts() -> float:
    return time.time()


def local_day_text(ts: float) -> str:
    from yunwei.reports.periods import client_tz

    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(client_tz()).strftime("%Y%m%d")


# ----------------------------------------------------------------------------- rows
def ticket_row(t: Ticket) -> tuple[Any, ...]:
    return (t.id, t.version, t.state, t.grade, t.channel, t.reporter, t.contact, t.host, t.title, t.description,
            t.opened_by, t.assignee, t.registered_at, t.opened_at, t.responded_at, t.onsite_at, t.resolved_at,
            t.closed_at, t.due("response"), t.due("handling"), t.due("onsite"),
            t.breaches, *(int(any(c.breached for c in t.clocks if c.kind == k)) for k in ("response", "handling", "onsite")),
            t.cause, t.action, t.result, t.confirmation,
            t.alert_fingerprint, dumps(t.detail()),
            t.updated_at)


def ticket_from_row(r: tuple[Any, ...]) -> Ticket:
    d = dict(zip(TICKET_COLS, r))
    t = Ticket(d["id"], int(d["version"]), d["state"], d["grade"], d["channel"], d["reporter"], d["contact"],
               d["host"], d["title"], d["description"], d["opened_by"], d["assignee"], float(d["registered_at"]),
               float(d["opened_at"]), d["responded_at"], d["onsite_at"], d["resolved_at"], d["closed_at"],
               d["cause"], d["action"], d["result"], d["confirmation"], d["alert_fingerprint"])
    t.set_detail(json.loads(d["detail"] or "{}"))
    t.updated_at = float(d["updated_at"])
    return t


def feedback_row(f: FeedbackItem) -> tuple[Any, ...]:
    return (f.id, f.version, f.state, f.title, f.requester, f.description, f.ticket_id, f.created_by, f.created_at,
            f.updated_at, f.closed_at, f.plan, f.note)


def feedback_from_row(r: tuple[Any, ...]) -> FeedbackItem:
    return FeedbackItem(*r)


# ----------------------------------------------------------------------------- reading
def events(store: Any, subject: str, ref: str, cur: Any = None) -> list[Event]:
    """The history of one item, oldest first (inside a transaction with ``cur``)."""
    sql = "SELECT id, seq, time, operator, kind, data FROM service_events WHERE subject = ? AND ref = ? ORDER BY seq"
    if cur is None:
        rows = store.query(sql, (subject, ref))
    else:
        cur.execute(store.sql(sql), (subject, ref))
        rows = cur.fetchall()
    return [Event(int(r[1]), float(r[2]), r[3], r[4], json.loads(r[5] or "{}"), int(r[0])) for r in rows]


def get_ticket(store: Any, ticket_id: str) -> Ticket | None:
    rows = store.query(f"SELECT {', '.join(TICKET_COLS)} FROM tickets WHERE id = ?", (ticket_id,))
    return ticket_from_row(rows[0]) if rows else None


def get_feedback(store: Any, item_id: str) -> FeedbackItem | None:
    rows = store.query(f"SELECT {', '.join(FEEDBACK_COLS)} FROM feedback WHERE id = ?", (item_id,))
    return feedback_from_row(rows[0]) if rows else None


def next_id(cur: Any, store: Any, table: str, prefix: str, at: float, width: int) -> str:
    """``<prefix><local day>-<n>``: the day's next number (a concurrent twin fails on the primary key
    and is retried)."""
    day = prefix + local_day_text(at) + "-"
    cur.execute(store.sql(f"SELECT MAX(CAST(SUBSTR(id, {len(day) + 1}) AS INTEGER)) FROM {table} WHERE id LIKE ?"),
                (day + "%",))
    row = cur.fetchone()
    return f"{day}{int(row[0] or 0) + 1:0{width}d}"


# ----------------------------------------------------------------------------- writing
@dataclass
class Written:
    """What a command wrote: the new state, the event(s), for printing and auditing."""

    subject: str
    ref: str
    state: Any
    events: list[Event]


def insert_event(cur: Any, store: Any, subject: str, ref: str, e: Event) -> int:
    params = (subject, ref, e.seq, e.time, e.operator, e.kind, dumps(e.data))
    if store.dialect == "postgresql":
        cur.execute(store.sql("INSERT INTO service_events (subject, ref, seq, time, operator, kind, data) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"), params)
        return int(cur.fetchone()[0])
    cur.execute(store.sql("INSERT INTO service_events (subject, ref, seq, time, operator, kind, data) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)"), params)
    return int(cur.lastrowid)


def save_ticket(cur: Any, store: Any, t: Ticket, expected: int) -> None:
    """Insert (``expected`` 0) or update the row under the version guard."""
    _save(cur, store, "tickets", TICKET_COLS, ticket_row(t), expected)


def save_feedback(cur: Any, store: Any, f: FeedbackItem, expected: int) -> None:
    _save(cur, store, "feedback", FEEDBACK_COLS, feedback_row(f), expected)


def _save(cur: Any, store: Any, table: str, cols: tuple[str, ...], row: tuple[Any, ...], expected: int) -> None:
    if expected == 0:
        cur.execute(store.sql(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"), row)
        return
    sets = ", ".join(f"{c} = ?" for c in cols[1:])
    cur.execute(store.sql(f"UPDATE {table} SET {sets} WHERE id = ? AND version = ?"), (*row[1:], row[0], expected))
    if cur.rowcount != 1:
        raise Stale(row[0])


def write(store: Any, step: Callable[[Any, float], Written]) -> Written:
    """Run ``step(cursor, now)`` in one transaction, retrying when it lost a race (a stale version, a
    taken id or alert fingerprint): the step reads, validates against what it read, and writes.
    Then audit what was written."""
    last: BaseException | None = None
    for attempt in range(MAX_ATTEMPTS):
        try:
            with store.transaction() as cur:
                written = step(cur, now_ts())
            break
        except Stale as exc:
            last = exc
        except Exception as exc:
            if not is_integrity_error(exc):
                raise
            last = exc
        time.sleep(0.01 * (attempt + 1))
    else:
        raise YunweiError(f"could not record the change after {MAX_ATTEMPTS} attempts (others kept changing "
                          f"the same item): {last}")
    audit_events(store, written.subject, written.ref, written.events)
    return written


def audit_events(store: Any, subject: str, ref: str, evs: list[Event], *, late: bool = False) -> None:
    """Each event to the audit log (who, when, what), then mark it audited."""
    from yunwei import audit
    from yunwei.runner.env import operator

    who = operator()
    for e in evs:
        fields: dict[str, Any] = {"operator": e.operator if not late else who, subject: ref, "seq": e.seq,
                                  "action": e.kind, "data": e.data or None,
                                  "at": datetime.fromtimestamp(e.time, tz=timezone.utc).isoformat()}
        if late:
            fields["recorded_late"] = True
            fields["by"] = e.operator
        try:
            rec = audit.record(subject, **fields)
        except (OSError, YunweiError) as exc:
            raise YunweiError(f"{subject} {ref}: the change is recorded (event {e.seq}) but the audit log refused "
                              f"it: {exc}; ticket-watch records it late") from exc
        if e.id is None:
            continue
        with store.transaction() as cur:
            sql = ("INSERT INTO service_audited (event_id, audit) VALUES (?, ?) ON CONFLICT DO NOTHING"
                   if store.dialect == "postgresql" else
                   "INSERT OR IGNORE INTO service_audited (event_id, audit) VALUES (?, ?)")
            cur.execute(store.sql(sql), (e.id, f"{rec.get('seq')}:{rec.get('hash')}"))


def repair_audit(store: Any, older_than: float = 60.0) -> int:
    """Audit events left unaudited by a crash (older than ``older_than`` seconds); returns how many."""
    rows = store.query(
        "SELECT e.id, e.subject, e.ref, e.seq, e.time, e.operator, e.kind, e.data FROM service_events e "
        "LEFT JOIN service_audited a ON a.event_id = e.id WHERE a.event_id IS NULL AND e.time < ? ORDER BY e.id",
        (now_ts() - older_than,))
    for r in rows:
        e = Event(int(r[3]), float(r[4]), r[5], r[6], json.loads(r[7] or "{}"), int(r[0]))
        audit_events(store, r[1], r[2], [e], late=True)
    return len(rows)

"""A ticket's state is the fold of its events: :func:`fold` is the only place that interprets them.

The stored row (``tickets``) is this fold, written in the same transaction as each event, so it can
always be rebuilt from the history (``tests`` compare the two). The events carry everything the
fold needs — the clock durations in force when a clock started included — so a later change of the
configuration never re-judges past tickets.

Event kinds and their ``data``:

=========  ==========================================================================================
open       grade, channel, reporter, contact, host, title, description, clocks {kind: seconds},
           opened_at (the alert's start; else the event's time), alert {fingerprint, name, ...}
ack        —  (answered: stops the response clock)
assign     assignee
note       text, breach_reason (bool: the text explains a breach)
onsite     —  (an engineer arrived: stops the on-site clock)
escalate   grade, reason, clocks {kind: seconds} (the new grade's; its clocks start now)
resolve    cause, action, result (stops the response, handling and on-site clocks)
close      confirmation, confirmed_by
reopen     reason, clocks {kind: seconds} (a new handling clock starts now)
correct    seq (of the open/ack/onsite/resolve/close event), to (epoch seconds), reason
alert      status (firing|resolved), starts_at, ends_at
breach     clock (index), kind, due — ticket-watch saw the clock run out (a record, not a judgement)
notify     clock (index), kind, level (warn|breach), ok, error
=========  ==========================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable

from yunwei.servicedesk.model import CLOCKS, Clock, Event, Ticket

MILESTONES = ("open", "ack", "onsite", "resolve", "close")


def effective_times(events: Iterable[Event]) -> dict[int, float]:
    """seq -> the time that counts for each milestone event (its recorded time, or the latest
    correction's; an open event's is the alert's start when it came from an alert)."""
    out: dict[int, float] = {}
    for e in events:
        if e.kind == "open":
            out[e.seq] = float(e.data.get("opened_at") or e.time)
        elif e.kind in MILESTONES:
            out[e.seq] = e.time
        elif e.kind == "correct":
            out[int(e.data["seq"])] = float(e.data["to"])
    return out


def _start(t: Ticket, grade: str, clocks: dict[str, float], at: float, *, skip: Iterable[str] = ()) -> None:
    for kind in CLOCKS:  # a fixed order: the clocks' indices are stable (ticket-watch refers to them)
        if kind in clocks and kind not in skip:
            seconds = float(clocks[kind])
            t.clocks.append(Clock(kind, grade, at, at + seconds, seconds=seconds))


def _stop(t: Ticket, kinds: Iterable[str], at: float) -> None:
    for c in t.clocks:
        if c.kind in kinds and c.running:
            c.stopped = at


def fold(ticket_id: str, events: Iterable[Event]) -> Ticket:
    events = sorted(events, key=lambda e: e.seq)
    eff = effective_times(events)
    t = Ticket(ticket_id)
    for e in events:
        at = eff.get(e.seq, e.time)
        d = e.data
        t.version = e.seq
        t.updated_at = max(t.updated_at, e.time)
        if e.kind == "open":
            t.grade, t.channel = d["grade"], d["channel"]
            t.reporter, t.contact, t.host = d.get("reporter", ""), d.get("contact", ""), d.get("host", "")
            t.title, t.description = d.get("title", ""), d.get("description", "")
            t.opened_by, t.registered_at, t.opened_at = e.operator, e.time, at
            if d.get("alert"):
                t.alert = dict(d["alert"])
                t.alert_fingerprint = d["alert"].get("fingerprint")
            _start(t, t.grade, d.get("clocks") or {}, at)
        elif e.kind == "ack":
            t.state = "acked"
            if t.responded_at is None:
                t.responded_at = at
            _stop(t, ("response",), at)
            if not t.assignee:
                t.assignee = e.operator
        elif e.kind == "assign":
            t.assignee = d["assignee"]
        elif e.kind == "note":
            if d.get("breach_reason"):
                t.breach_reason = d.get("text", "")
        elif e.kind == "onsite":
            if t.onsite_at is None:
                t.onsite_at = at
            _stop(t, ("onsite",), at)
        elif e.kind == "escalate":
            for c in t.clocks:
                if c.running:
                    c.cancelled = e.time
            t.grades.append({"time": e.time, "from": t.grade, "to": d["grade"], "reason": d.get("reason", ""),
                             "operator": e.operator})
            t.grade = d["grade"]
            skip = [k for k, done in (("response", t.responded_at), ("onsite", t.onsite_at)) if done is not None]
            _start(t, t.grade, d.get("clocks") or {}, e.time, skip=skip)
        elif e.kind == "resolve":
            t.state = "resolved"
            if t.responded_at is None:
                t.responded_at = at
            t.resolved_at = at
            t.cause, t.action, t.result = d.get("cause", ""), d.get("action", ""), d.get("result", "")
            _stop(t, ("response", "handling", "onsite"), at)
        elif e.kind == "close":
            t.state = "closed"
            t.closed_at = at
            t.confirmation = d.get("confirmation", "")
            if d.get("confirmed_by"):
                t.confirmation = f"{t.confirmation}（{d['confirmed_by']}）" if t.confirmation else d["confirmed_by"]
        elif e.kind == "reopen":
            t.state = "acked"
            t.resolved_at = t.closed_at = None
            _start(t, t.grade, {k: v for k, v in (d.get("clocks") or {}).items() if k == "handling"}, e.time)
        elif e.kind == "correct":
            t.corrections.append({"time": e.time, "seq": int(d["seq"]), "field": d.get("field", ""),
                                  "from": d.get("from"), "to": float(d["to"]), "reason": d.get("reason", ""),
                                  "operator": e.operator})
        elif e.kind == "alert":
            t.alert.update({k: d[k] for k in ("status", "starts_at", "ends_at") if k in d})
        elif e.kind == "notify":
            t.notified.append({"clock": d.get("clock"), "level": d.get("level"), "ok": bool(d.get("ok")),
                               "time": e.time})
    return t

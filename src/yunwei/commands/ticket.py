"""``yunwei ticket``: the fault register (故障申告登记) and its graded clocks (docs/service-desk.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from yunwei import ui
from yunwei.errors import InputError


def _store(args: argparse.Namespace) -> Any:
    from yunwei.store import open_store

    return open_store(args.store, reap=False)


def _ticket_dict(t: Any, now: float | None = None) -> dict[str, Any]:
    from yunwei.servicedesk.model import CHANNELS, GRADES, STATES
    from yunwei.servicedesk.tickets import local

    return {"id": t.id, "state": t.state, "state_label": STATES[t.state], "grade": t.grade,
            "grade_label": GRADES[t.grade], "channel": t.channel, "channel_label": CHANNELS[t.channel],
            "reporter": t.reporter, "contact": t.contact, "host": t.host, "title": t.title,
            "description": t.description, "opened_by": t.opened_by, "assignee": t.assignee,
            "opened_at": local(t.opened_at), "registered_at": local(t.registered_at),
            "responded_at": local(t.responded_at) if t.responded_at else None,
            "onsite_at": local(t.onsite_at) if t.onsite_at else None,
            "resolved_at": local(t.resolved_at) if t.resolved_at else None,
            "closed_at": local(t.closed_at) if t.closed_at else None,
            "cause": t.cause, "action": t.action, "result": t.result, "confirmation": t.confirmation,
            "clocks": [_clock_dict(c, now) for c in t.clocks], "breaches": t.breaches,
            "breach_reason": t.breach_reason, "grade_changes": t.grades, "corrections": t.corrections,
            "alert": t.alert or None, "version": t.version}


def _clock_dict(c: Any, now: float | None) -> dict[str, Any]:
    from yunwei.servicedesk.tickets import local

    return {"kind": c.kind, "grade": c.grade, "seconds": c.seconds, "started": local(c.started), "due": local(c.due),
            "stopped": local(c.stopped) if c.stopped else None, "state": clock_state(c, now)}


def clock_state(c: Any, now: float | None) -> str:
    if c.stopped is not None:
        return "breached" if c.breached else "met"
    if c.cancelled is not None:
        return "breached" if c.breached else "cancelled"
    if now is not None and c.due < now:
        return "overdue"
    return "running"


def _print_result(args: argparse.Namespace, t: Any, what: str) -> int:
    if getattr(args, "json", False):
        ui.print_json(_ticket_dict(t))
        return 0
    from yunwei.servicedesk.model import STATES

    print(f"{t.id}: {what} ({t.state}, {STATES[t.state]})")
    return 0


# ----------------------------------------------------------------------------- commands
def _cmd_open(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import tickets as tk

    with _store(args) as store:
        t = tk.open_ticket(store, grade=args.grade, channel=args.channel, reporter=args.reporter, title=args.title,
                           contact=args.contact or "", host=args.host or "", description=args.description or "")
    if args.json:
        ui.print_json(_ticket_dict(t))
    else:
        print(t.id)
    return 0


def _simple(action: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from yunwei.servicedesk import tickets as tk

        with _store(args) as store:
            if action == "ack":
                t, what = tk.ack(store, args.id), "acknowledged"
            elif action == "assign":
                t, what = tk.assign(store, args.id, args.to), f"assigned to {args.to}"
            elif action == "note":
                t, what = tk.note(store, args.id, args.text, breach_reason=args.breach_reason), "note added"
            elif action == "onsite":
                t, what = tk.onsite(store, args.id), "arrival on site recorded"
            elif action == "escalate":
                t, what = tk.escalate(store, args.id, args.grade, args.reason), f"grade changed to {args.grade}"
            elif action == "resolve":
                t, what = tk.resolve(store, args.id, cause=args.cause, action=args.action, result=args.result), "resolved"
            elif action == "close":
                t, what = tk.close(store, args.id, confirmation=args.confirmation,
                                   confirmed_by=args.confirmed_by or ""), "closed"
            elif action == "reopen":
                t, what = tk.reopen(store, args.id, args.reason), "reopened"
            else:
                t, what = tk.correct(store, args.id, args.event, args.at, args.reason), f"event {args.event} corrected"
        return _print_result(args, t, what)
    return run


def _cmd_show(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import store as sd
    from yunwei.servicedesk import tickets as tk

    now = sd.now_ts()
    with _store(args) as store:
        t = tk.get(store, args.id)
        evs = tk.history(store, args.id)
    data = _ticket_dict(t, now)
    data["history"] = [{"seq": e.seq, "time": tk.local(e.time), "operator": e.operator, "event": e.kind,
                        "data": e.data} for e in evs]
    if args.json:
        ui.print_json(data)
        return 0
    for key in ("id", "state_label", "grade_label", "channel_label", "reporter", "contact", "host", "title",
                "description", "assignee", "opened_at", "responded_at", "onsite_at", "resolved_at", "closed_at",
                "cause", "action", "result", "confirmation", "breach_reason"):
        if data.get(key):
            print(f"{key.replace('_label', ''):<13} {data[key]}")
    print()
    ui.table(["clock", "grade", "limit", "started", "due", "stopped", "state"],
             [[c["kind"], c["grade"], _dur(c["seconds"]), c["started"], c["due"], c["stopped"], c["state"]]
              for c in data["clocks"]])
    print()
    ui.table(["seq", "time", "operator", "event", "details"],
             [[h["seq"], h["time"], h["operator"], h["event"], _details(h["data"])] for h in data["history"]])
    return 0


def _dur(seconds: float) -> str:
    from yunwei.reports.humanise import duration_text

    return duration_text(seconds)


def _details(data: dict[str, Any]) -> str:
    from yunwei.servicedesk.tickets import local

    parts = []
    for k, v in sorted(data.items()):
        if k in ("to", "from", "opened_at", "due", "starts_at", "ends_at") and isinstance(v, (int, float)):
            v = local(v)
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, ensure_ascii=False, sort_keys=True)
        parts.append(f"{k}={v}")
    text = " ".join(parts)
    return text if len(text) <= 100 else text[:99] + "…"


def _cmd_list(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import store as sd
    from yunwei.servicedesk import tickets as tk

    since = until = None
    if args.period:
        from yunwei.servicedesk.report_data import parse_any_period

        p = parse_any_period(args.period)
        since, until = p.since.timestamp(), p.until.timestamp()
    now = sd.now_ts()
    with _store(args) as store:
        rows = tk.list_tickets(store, open_only=args.open, breached=args.breached, grade=args.grade,
                               channel=args.channel, since=since, until=until, now=now, limit=args.limit, host=args.host)
    if args.json:
        ui.print_json([_ticket_dict(t, now) for t in rows])
        return 0
    ui.table(["id", "opened", "grade", "channel", "state", "reporter", "host", "title", "assignee", "breach"],
             [[t.id, tk.local(t.opened_at, "%m-%d %H:%M"), t.grade, t.channel, t.state, t.reporter, t.host or "-",
               _short(t.title), t.assignee or "-", _breach_text(t, now)] for t in rows])
    return 0


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _breach_text(t: Any, now: float) -> str:
    kinds = [f"{c.kind}{'' if c.breached else '(overdue)'}" for c in t.breached_clocks(now)]
    return ",".join(dict.fromkeys(kinds)) or "-"


def _cmd_due(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import watch as w
    from yunwei.servicedesk.config import parse_duration

    within = parse_duration(args.within, "--within", "") if args.within else None
    with _store(args) as store:
        rows = w.due(store, within=within)
    if args.json:
        ui.print_json([d.as_dict() for d in rows])
        return 0
    if not rows:
        print("no running clock" + (f" due within {args.within}" if args.within else ""))
        return 0
    ui.table(["ticket", "grade", "clock", "due", "left", "state", "assignee", "title"],
             [[d.ticket.id, d.ticket.grade, d.clock.kind, d.as_dict()["due"],
               _dur(d.remaining) if d.remaining > 0 else f"OVERDUE {_dur(-d.remaining)}", d.ticket.state,
               d.ticket.assignee or "-", _short(d.ticket.title)] for d in rows])
    return 0


def _cmd_watch(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import watch as w

    with _store(args) as store:
        out = w.watch(store)
    if args.json:
        ui.print_json(out)
    else:
        for row in out:
            if "message" in row:
                print(f"{row['message']} notification: {row['notified']}")
            else:
                print(f"audit records written late: {row['audit_repaired']}")
        if not out:
            print("no clock near or past its due time")
    return 0


def _cmd_alert(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import alerts

    try:
        raw = sys.stdin.read() if args.file in (None, "-") else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(args.file, None, f"cannot read: {exc}") from None
    with _store(args) as store:
        out = alerts.ingest(store, raw)
    if args.json:
        ui.print_json(out)
    else:
        for r in out:
            print(f"{r['ticket']}: {r['action']} ({r['status']} alert {r['fingerprint']})")
    return 0


def _cmd_clocks(args: argparse.Namespace) -> int:
    from yunwei.servicedesk.config import config_path, load_config
    from yunwei.servicedesk.model import CHANNELS, CLOCKS, GRADES

    config = load_config(args.config) if args.config else load_config()
    source = args.config or str(config_path() or "(built-in defaults: the contract's clocks)")
    rows = config.clock_table()
    if args.json:
        ui.print_json({"source": source, "warn_before": config.warn_before, "notify_command": list(config.notify_command),
                       "clocks": rows})
        return 0
    print(f"source: {source}")
    ui.table(["grade", "channel", *CLOCKS],
             [[f"{r['grade']} {GRADES[r['grade']]}", f"{r['channel']} {CHANNELS[r['channel']]}" if r["channel"] else "any",
               *[_dur(r["clocks"][k]) if k in r["clocks"] else "-" for k in CLOCKS]] for r in rows])
    print(f"warning {_dur(config.warn_before)} before a due time; notification command: "
          f"{' '.join(config.notify_command) or 'none'}")
    return 0


# ----------------------------------------------------------------------------- parser
def register(subparsers: argparse._SubParsersAction) -> None:
    from yunwei.servicedesk.model import CHANNELS, GRADES

    p = subparsers.add_parser("ticket", help="the fault register: tickets and their graded response clocks",
                              description="故障申告登记: register every report, answer it within its grade's clocks, "
                                          "and record its handling and result (docs/service-desk.md).")
    sub = p.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)

    def cmd(name: str, help_text: str, func: Any, *, ident: bool = True, json_opt: bool = True) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_text)
        if ident:
            q.add_argument("id", metavar="ID", help="ticket id (YYYYMMDD-NNN)")
        q.add_argument("--store", metavar="URL", help="journal store (default $YUNWEI_STORE or var/journal.sqlite)")
        if json_opt:
            q.add_argument("--json", action="store_true")
        q.set_defaults(func=func)
        return q

    q = cmd("open", "register a report; prints the new ticket's id", _cmd_open, ident=False)
    q.add_argument("--grade", required=True, metavar="GRADE", help=" | ".join(GRADES))
    q.add_argument("--channel", required=True, metavar="CHANNEL", help=" | ".join(CHANNELS))
    q.add_argument("--reporter", required=True, help="who reported it (申告人)")
    q.add_argument("--contact", help="how to reach them")
    q.add_argument("--host", help="the inventory host concerned")
    q.add_argument("--title", required=True, help="what was reported (故障现象)")
    q.add_argument("--description")
    cmd("ack", "answer it: stops the response clock", _simple("ack"))
    q = cmd("assign", "hand it to an engineer", _simple("assign"))
    q.add_argument("--to", required=True, metavar="NAME")
    q = cmd("note", "add a note to the history", _simple("note"))
    q.add_argument("text", metavar="TEXT")
    q.add_argument("--breach-reason", action="store_true", help="the note explains a breached clock (shown in the reports)")
    cmd("onsite", "an engineer arrived on site: stops the on-site clock", _simple("onsite"))
    q = cmd("escalate", "change the grade (the new grade's clocks start now)", _simple("escalate"))
    q.add_argument("--grade", required=True, metavar="GRADE", help=" | ".join(GRADES))
    q.add_argument("--reason", required=True)
    q = cmd("resolve", "record cause, action taken and result: stops the handling clock", _simple("resolve"))
    q.add_argument("--cause", required=True, help="原因")
    q.add_argument("--action", required=True, help="处理措施")
    q.add_argument("--result", required=True, help="处理结果")
    q = cmd("close", "close a resolved ticket with the requester's confirmation", _simple("close"))
    q.add_argument("--confirmation", required=True, help="how the requester confirmed (用户确认)")
    q.add_argument("--confirmed-by", metavar="NAME", help="who confirmed, if not the reporter")
    q = cmd("reopen", "reopen a resolved or closed ticket (a new handling clock starts)", _simple("reopen"))
    q.add_argument("--reason", required=True)
    q = cmd("correct", "correct a recorded time (an audited event with a reason)", _simple("correct"))
    q.add_argument("--event", required=True, type=int, metavar="SEQ", help="the event whose time is wrong (ticket show)")
    q.add_argument("--at", required=True, metavar="TIME", help="the right time, e.g. 2026-11-25T10:03 (local time)")
    q.add_argument("--reason", required=True)
    q = cmd("list", "tickets, newest first", _cmd_list, ident=False)
    q.add_argument("--open", action="store_true", help="only tickets not closed")
    q.add_argument("--breached", action="store_true", help="only tickets with a breached or overdue clock")
    q.add_argument("--grade", metavar="GRADE")
    q.add_argument("--channel", metavar="CHANNEL")
    q.add_argument("--host")
    q.add_argument("--period", metavar="P", help="opened in: YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn or YYYY")
    q.add_argument("--limit", type=int)
    cmd("show", "a ticket with its clocks and history", _cmd_show)
    q = cmd("due", "running clocks, the soonest due first", _cmd_due, ident=False)
    q.add_argument("--within", metavar="DURATION", help="only those due within, e.g. 30m")
    cmd("watch", "one pass of the ticket-watch job: mark breaches, notify", _cmd_watch, ident=False)
    q = cmd("alert", "register an Alertmanager webhook payload (JSON) as tickets", _cmd_alert, ident=False)
    q.add_argument("--file", metavar="FILE", help="the payload (default: stdin)")
    q = cmd("clocks", "the clocks in force and where they come from", _cmd_clocks, ident=False)
    q.add_argument("--config", metavar="FILE", help="validate and show this file instead")

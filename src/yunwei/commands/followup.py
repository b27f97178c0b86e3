"""``yunwei followup`` (每月用户满意度回访) and ``yunwei feedback`` (每周整理需求反馈)."""

from __future__ import annotations

import argparse
from typing import Any

from yunwei import ui


def _store(args: argparse.Namespace) -> Any:
    from yunwei.store import open_store

    return open_store(args.store, reap=False)


def _local(ts: float | None) -> str:
    from yunwei.servicedesk.tickets import local

    return local(ts, "%Y-%m-%d %H:%M") if ts else "-"


# ----------------------------------------------------------------------------- follow-ups
def _cmd_followup_add(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import feedback as fb

    with _store(args) as store:
        f = fb.record_followup(store, requester=args.requester, score=args.score, remarks=args.remarks or "",
                               ticket_id=args.ticket or "", month=args.month)
    print(f"follow-up {f.month} {f.requester}: {f.score}/5 recorded")
    return 0


def _cmd_followup_list(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import feedback as fb

    month = fb.check_month(args.month)
    with _store(args) as store:
        rows = fb.followups(store, month, latest_only=not args.all)
        pending = fb.pending_requesters(store, month)
    if args.json:
        ui.print_json({"month": month, "followups": [f.__dict__ for f in rows], "pending": pending})
        return 0
    ui.table(["month", "requester", "ticket", "score", "remarks", "recorded", "by"],
             [[f.month, f.requester, f.ticket_id or "-", f"{f.score}/5" + (" (superseded)" if f.superseded else ""),
               f.remarks or "-", _local(f.time), f.operator] for f in rows])
    if rows:
        print(f"average {sum(f.score for f in rows if not f.superseded) / max(1, sum(1 for f in rows if not f.superseded)):.2f}/5")
    if pending:
        print(f"\nno follow-up yet for {month} (tickets closed this month):")
        ui.table(["requester", "tickets", "contact"], [[p["requester"], p["tickets"], p["contact"] or "-"] for p in pending])
    return 0


# ----------------------------------------------------------------------------- feedback items
def _item_dict(f: Any) -> dict[str, Any]:
    from yunwei.servicedesk.model import FEEDBACK_STATES

    return {**f.__dict__, "state_label": FEEDBACK_STATES[f.state], "created": _local(f.created_at),
            "closed": _local(f.closed_at) if f.closed_at else None}


def _cmd_feedback_add(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import feedback as fb

    with _store(args) as store:
        f = fb.add_feedback(store, title=args.title, requester=args.requester or "", description=args.description or "",
                            ticket_id=args.ticket or "")
    print(f.id)
    return 0


def _cmd_feedback_set(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import feedback as fb
    from yunwei.servicedesk.model import FEEDBACK_STATES

    with _store(args) as store:
        f = fb.set_feedback(store, args.id, state=args.state, note=args.note or "", plan=args.plan)
    print(f"{f.id}: {f.state} ({FEEDBACK_STATES[f.state]})")
    return 0


def _cmd_feedback_list(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import feedback as fb
    from yunwei.servicedesk.model import FEEDBACK_STATES

    since = until = None
    if args.week:
        from yunwei.reports.periods import client_tz, parse_period

        p = parse_period("week", args.week, client_tz())
        since, until = p.since.timestamp(), p.until.timestamp()
    with _store(args) as store:
        rows = fb.list_feedback(store, state=args.state, open_only=args.open, since=since, until=until)
    if args.json:
        ui.print_json([_item_dict(f) for f in rows])
        return 0
    ui.table(["id", "created", "state", "title", "requester", "plan", "note"],
             [[f.id, _local(f.created_at), f"{f.state} {FEEDBACK_STATES[f.state]}", f.title, f.requester or "-",
               f.plan or "-", f.note or "-"] for f in rows])
    return 0


def _cmd_feedback_show(args: argparse.Namespace) -> int:
    from yunwei.servicedesk import feedback as fb
    from yunwei.servicedesk import store as sd
    from yunwei.servicedesk.model import FEEDBACK

    with _store(args) as store:
        f = fb.get_feedback(store, args.id)
        evs = sd.events(store, FEEDBACK, args.id)
    data = {**_item_dict(f), "history": [{"seq": e.seq, "time": _local(e.time), "operator": e.operator,
                                          "event": e.kind, "data": e.data} for e in evs]}
    if args.json:
        ui.print_json(data)
        return 0
    for k in ("id", "state", "state_label", "title", "requester", "description", "ticket_id", "plan", "note", "created"):
        if data.get(k):
            print(f"{k:<12} {data[k]}")
    print()
    ui.table(["seq", "time", "operator", "event", "details"],
             [[h["seq"], h["time"], h["operator"], h["event"],
               " ".join(f"{k}={v}" for k, v in sorted(h["data"].items()) if v)] for h in data["history"]])
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from yunwei.servicedesk.model import FEEDBACK_STATES

    def common(q: argparse.ArgumentParser, func: Any, json_opt: bool = False) -> None:
        q.add_argument("--store", metavar="URL", help="journal store (default $YUNWEI_STORE or var/journal.sqlite)")
        if json_opt:
            q.add_argument("--json", action="store_true")
        q.set_defaults(func=func)

    p = subparsers.add_parser("followup", help="monthly satisfaction follow-ups (每月用户满意度回访)")
    sub = p.add_subparsers(dest="followup_command", metavar="ACTION", required=True)
    q = sub.add_parser("add", help="record a requester's answer: score 1-5 and remarks")
    q.add_argument("--requester", required=True)
    q.add_argument("--score", required=True, help="1 (very dissatisfied) .. 5 (very satisfied)")
    q.add_argument("--remarks")
    q.add_argument("--ticket", metavar="ID", help="the ticket the answer is about")
    q.add_argument("--month", metavar="YYYY-MM", help="the month followed up (default: this month)")
    common(q, _cmd_followup_add)
    q = sub.add_parser("list", help="a month's answers and the requesters still to call")
    q.add_argument("--month", metavar="YYYY-MM")
    q.add_argument("--all", action="store_true", help="include superseded answers")
    common(q, _cmd_followup_list, json_opt=True)

    p = subparsers.add_parser("feedback", help="requirements feedback items, summarised weekly (每周整理需求反馈)")
    sub = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    q = sub.add_parser("add", help="record a feedback item; prints its id")
    q.add_argument("--title", required=True)
    q.add_argument("--requester")
    q.add_argument("--description")
    q.add_argument("--ticket", metavar="ID")
    common(q, _cmd_feedback_add)
    q = sub.add_parser("set", help="move an item to another state, or add a note")
    q.add_argument("id", metavar="ID")
    q.add_argument("--state", metavar="STATE", help=" | ".join(FEEDBACK_STATES))
    q.add_argument("--note", help="why (required for declined, or without --state)")
    q.add_argument("--plan", help="when it is scheduled (required for scheduled), e.g. 2026-12 版本")
    common(q, _cmd_feedback_set)
    q = sub.add_parser("list", help="feedback items")
    q.add_argument("--week", metavar="YYYY-Www", help="created that week")
    q.add_argument("--state", metavar="STATE")
    q.add_argument("--open", action="store_true", help="only items not done or declined")
    common(q, _cmd_feedback_list, json_opt=True)
    q = sub.add_parser("show", help="an item and its history")
    q.add_argument("id", metavar="ID")
    common(q, _cmd_feedback_show, json_opt=True)

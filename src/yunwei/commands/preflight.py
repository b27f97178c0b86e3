"""``yunwei preflight status|tickets``: the last T-7 preflight (job ``preflight``) judged item by item,
and its open actions registered as service-desk tickets (docs/special-periods.md)."""

from __future__ import annotations

import argparse

from yunwei import ui


def _cmd_status(args: argparse.Namespace) -> int:
    from yunwei.preflight.run import judged
    from yunwei.store import open_store

    with open_store(args.store, reap=False) as store:
        run, results = judged(store)
    if run is None:
        print("尚无节前系统健康检查记录（yunwei run preflight）")
        return 1
    if args.json:
        ui.print_json({"run_id": run.id, "go": all(r.go for _, r in results),
                       "items": [{"id": i.id, "title": i.title, "go": r.go, "summary": r.summary, "actions": r.actions}
                                 for i, r in results]})
    else:
        ui.table(["检查项", "结论", "说明", "待办"], [[i.title, "通过" if r.go else "不通过", r.summary, len(r.actions)]
                                              for i, r in results])
        print(f"run {run.id}: {'具备重保条件' if all(r.go for _, r in results) else '暂不具备重保条件'}")
    return 0 if all(r.go for _, r in results) else 1


def _cmd_tickets(args: argparse.Namespace) -> int:
    from yunwei.preflight.run import judged, open_tickets
    from yunwei.store import open_store

    with open_store(args.store, reap=False) as store:
        run, results = judged(store)
        if run is None:
            print("尚无节前系统健康检查记录（yunwei run preflight）")
            return 1
        opened = open_tickets(store, run, results)
    for tid, title, new in opened:
        print(f"{tid} {'opened' if new else 'already open'}: {title}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("preflight", help="T-7 preflight before a 重保 window: go/no-go per item, tickets")
    sub = p.add_subparsers(dest="preflight_command", metavar="ACTION", required=True)
    s = sub.add_parser("status", help="the last preflight run judged item by item (exit 1 when no-go)")
    s.add_argument("--store")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_status)
    t = sub.add_parser("tickets", help="open one ticket per open action of the last preflight (once)")
    t.add_argument("--store")
    t.set_defaults(func=_cmd_tickets)

"""``yunwei inspect --profile daily|heightened|resources``: run the inspection, show progress per
host, end with a summary table read from the journal (hosts, ok/warn/crit, top findings)."""

from __future__ import annotations

import argparse

from yunwei import ui
from yunwei.commands._common import parse_extravars
from yunwei.inspection.run import PROFILES, inspect, print_summary, summarise


def _cmd_inspect(args: argparse.Namespace) -> int:
    if args.run:
        summary = summarise(args.run, top=args.top)
    else:
        summary = inspect(args.profile, inventory=args.inventory, limit=args.limit,
                          extravars=parse_extravars(args.extravars), quiet=args.quiet or args.json)
    if args.json:
        ui.print_json(summary.to_dict())
    else:
        print_summary(summary)
    if summary.input_errors:
        return 2  # bad input, refused before any host was contacted
    if summary.completed is None:  # --run of an old run: the recorded status decides
        return 0 if summary.status in ("successful", "ok", "") else 1
    return 0 if summary.completed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("inspect", help="run the inspection (巡检) and print its summary")
    p.add_argument("--profile", "-p", choices=PROFILES, default="daily",
                   help="daily (default), heightened (重保, stricter thresholds) or resources (capacity forecasts)")
    p.add_argument("-i", "--inventory", help="inventory (default: the job's, inventories/lab)")
    p.add_argument("--limit", "-l", help="host pattern (ansible --limit)")
    p.add_argument("-e", "--extra-vars", action="append", dest="extravars", metavar="KEY=VALUE|@FILE",
                   help="extra variable, e.g. threshold overrides from a file (repeatable)")
    p.add_argument("--run", metavar="RUN_ID", help="only print the summary of an earlier run")
    p.add_argument("--top", type=int, default=10, help="number of findings listed (default 10)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true", help="summary as JSON")
    p.set_defaults(func=_cmd_inspect)

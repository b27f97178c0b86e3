"""``yunwei checks``: the check catalogue - every check id, its title and how it is judged."""

from __future__ import annotations

import argparse
import dataclasses

from yunwei import ui
from yunwei.catalogue import catalogue
from yunwei.catalogue.docs import judged_by


def _switch(check_id: str, area: str) -> str:
    """How a check is switched off: the web audit's role takes a list, the inspection one flag per check."""
    if area == "webq":
        return f"web_audit_disabled_checks: [{check_id}]"
    return f"inspection_check_{check_id.lower().replace('-', '_')}_enabled"


def _cmd_checks(args: argparse.Namespace) -> int:
    cat = catalogue()
    checks = [c for c in cat.checks.values() if args.area in (None, c.area)]
    if args.json:
        ui.print_json([{**dataclasses.asdict(c), "judged_by": judged_by(c, cat)} for c in checks])
    else:
        ui.table(["id", "area", "title", "judged by (warn / crit)", "switch"],
                 [[c.id, c.area, c.title, judged_by(c, cat), _switch(c.id, c.area)] for c in checks])
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("checks", help="the check catalogue: ids, titles, thresholds, switches")
    p.add_argument("--area", choices=sorted(catalogue().areas), help="only the checks of one area")
    p.add_argument("--json", action="store_true", help="every field of each entry as JSON")
    p.set_defaults(func=_cmd_checks)

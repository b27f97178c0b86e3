"""``yunwei report KIND``: records and reports from the journal (docs/reports.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from yunwei.errors import InputError, YunweiError

PERIOD_OPTIONS = (("date", "day"), ("week", "week"), ("month", "month"), ("quarter", "quarter"), ("year", "year"))


def register(subparsers: argparse._SubParsersAction) -> None:
    from yunwei.reports.kinds import KINDS

    p = subparsers.add_parser(
        "report", help="render records and reports from the journal (HTML, DOCX, XLSX)",
        description="Render 《日常巡检记录》《资源巡检记录》《系统健康检查日报》 and the monthly, quarterly and "
                    "annual reports from the journal. Days are local days in $YUNWEI_TZ (default Asia/Shanghai).")
    p.add_argument("kind", metavar="KIND", choices=sorted(KINDS), help=" | ".join(KINDS))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--date", metavar="D", help="YYYY-MM-DD, today or yesterday (inspection-record, health-daily); "
                                               "for other kinds: the period containing that day")
    g.add_argument("--week", metavar="W", help="ISO week YYYY-Www (resource-record)")
    g.add_argument("--month", metavar="M", help="YYYY-MM (monthly, monthly-bundle, tickets, restore-test)")
    g.add_argument("--quarter", metavar="Q", help="YYYY-Qn (quarterly, drill)")
    g.add_argument("--year", metavar="Y", help="YYYY (annual)")
    p.add_argument("--format", default="html,docx,xlsx,pdf",
                   help="comma-separated: html,docx,xlsx,pdf (default: all; pdf needs LibreOffice)")
    p.add_argument("--out", metavar="DIR", help="output folder (default <root>/reports/out)")
    p.add_argument("--store", metavar="URL", help="journal store path or URL (default $YUNWEI_STORE or var/journal.sqlite)")
    p.add_argument("--templates", metavar="DIR",
                   help="client template folder searched before ours (also $YUNWEI_REPORT_TEMPLATES)")
    p.add_argument("--windows", metavar="FILE",
                   help="YAML list of heightened-protection windows {name, start, end} (default: schedule.yml)")
    p.add_argument("--contract", metavar="FILE",
                   help="contract profile (default $YUNWEI_CONTRACT, else <root>/contract.yml)")
    p.add_argument("--no-charts", action="store_true", help="skip the charts (faster; tables only)")
    p.add_argument("--deliver", action="store_true",
                   help="security-daily inside a 重保 window: also record the delivery (audit log, notify command "
                        "to the day's on-duty people), as the schedule does after each security-daily run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from yunwei.paths import project_root
    from yunwei.reports.generate import KINDS, Options, generate, parse_formats
    from yunwei.reports.periods import OPTION_OF_UNIT, client_tz, default_period, parse_date, parse_period
    from yunwei.reports.windows import load_windows
    from yunwei.ui import progress

    kind = args.kind
    unit = KINDS[kind]
    tz = client_tz()
    if args.deliver:
        if kind != "security-daily":
            raise InputError("--deliver", None, "only the daily security report (security-daily) is delivered")
        if args.store:
            raise InputError("--store", None, "a delivery is recorded only for a report of the configured journal")
        from yunwei.runner.env import operator
        from yunwei.special.daily import deliver

        day = parse_date(args.date, tz, "--date") if args.date else default_period("day", tz).first
        fields = deliver(day, out_dir=Path(args.out) if args.out else None, formats=parse_formats(args.format),
                         operator=operator())
        for f in fields["files"]:
            sys.stdout.write(f"{f['file']}\n")
        progress("delivery recorded in the audit log for " + ("、".join(p["name"] for p in fields["to"]) or "—")
                 + ("" if fields["notified"] else f" (not notified: {fields.get('notify_error', '')})"))
        return 0
    given = [(opt, u) for opt, u in PERIOD_OPTIONS if getattr(args, opt) is not None]
    if given:
        opt, given_unit = given[0]
        if given_unit != unit and opt != "date":
            raise InputError(f"--{opt}", None, f"not a period of {kind} (use {OPTION_OF_UNIT[unit]})")
        if opt == "date":  # any kind: the period containing that day; errors name --date
            period = parse_period(unit, parse_date(args.date, tz, "--date").isoformat(), tz)
        else:
            period = parse_period(unit, getattr(args, opt), tz)
    else:
        period = default_period(unit, tz)
    formats = parse_formats(args.format)
    out_dir = Path(args.out) if args.out else project_root() / "reports" / "out"
    from yunwei.reports.anchor import audit_anchor
    from yunwei.reports.contract import load_contract
    from yunwei.reports.windows import load_schedule_plan

    contract = load_contract(args.contract)
    windows = load_windows(Path(args.windows) if args.windows else None)
    schedule = None if args.windows else load_schedule_plan()
    opts = Options(formats=formats, out_dir=out_dir, templates=args.templates, windows=windows,
                   charts=not args.no_charts, contract=contract, schedule=schedule, audit_anchor=audit_anchor())

    from yunwei.store import open_store

    progress(f"{kind} for {period.label} ({period.first} .. {period.last}, {tz.key})")
    with open_store(args.store, reap=False) as store:
        try:
            files = generate(kind, store, period, opts)
        except OSError as exc:  # an unwritable --out: say where, no traceback
            raise YunweiError(f"cannot write the report under {out_dir}: {exc}") from exc
    for f in files:
        sys.stdout.write(f"{f}\n")
    return 0

"""``yunwei schedule validate|due|tick|render|status``. Changes go through ``yunwei request schedule``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from yunwei import ui
from yunwei.errors import InputError
from yunwei.paths import var_dir
from yunwei.schedule.active import load_active, pending_change, resolve_schedule_file
from yunwei.schedule.model import load_schedule
from yunwei.schedule.render import render_cron, render_systemd
from yunwei.schedule.tick import due, tick


def _at(text: str | None, tz: dt.tzinfo) -> dt.datetime:
    """--at: ISO 8601; a time without an offset is in the schedule's time zone."""
    if not text:
        return dt.datetime.now(dt.timezone.utc)
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("--at", text, "expected an ISO 8601 time, e.g. 2026-10-01T08:30+08:00") from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def _warn_pending() -> None:
    msg = pending_change()
    if msg:
        ui.progress(f"warning: {msg}")


def _fmt(t: dt.datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z") if t else "-"


def _cmd_validate(args: argparse.Namespace) -> int:
    path = resolve_schedule_file(args.file)
    sched = load_schedule(path)
    print(f"{path}: ok ({len(sched.entries)} jobs, {len(sched.windows)} heightened windows, tz {sched.timezone})")
    _warn_pending()
    return 0


def _cmd_due(args: argparse.Namespace) -> int:
    _warn_pending()
    schedule, meta = load_active()
    items = due(schedule, meta, _at(args.at, schedule.tz))
    if args.json:
        ui.print_json([{"job": i.job, "due": i.due, "fire": i.fire, "missed": len(i.missed), "next": i.next,
                        "profile": i.profile, "heightened": i.heightened} for i in items])
        return 0
    ui.table(["job", "due", "slot", "missed", "next", "profile"],
             [[i.job, "yes" if i.due else "no", _fmt(i.fire), len(i.missed), _fmt(i.next),
               (i.profile or "-") + (" (重保)" if i.heightened else "")] for i in items])
    return 0


def _cmd_tick(args: argparse.Namespace) -> int:
    _warn_pending()
    at = None
    if args.at:
        schedule, _ = load_active()
        at = _at(args.at, schedule.tz)
    report = tick(at, only=args.job)
    stuck = {s["job"]: s for s in report.stuck}
    for job in report.busy:
        if job in stuck:
            s = stuck[job]
            ui.progress(f"{job}: STUCK: the run started {s['started']} (pid {s['pid']}) still holds the lock "
                        f"{s['overdue_s']} s past its timeout ({s['timeout']} s + {s['kill_grace']} s grace); "
                        "end that process — the job runs again once the lock is free")
        else:
            ui.progress(f"{job}: another tick is running it (within its timeout); skipped")
    for m in report.missed:
        ui.progress(f"missed: {m['job']} x{m['count']} between {m['first']} and {m['last']} (only the latest runs)")
    for r in report.ran:
        print(f"ran {r['job']} for {r['fire']} ({r['profile'] or '-'}): {r['status']} rc {r['rc']} run {r['run_id']}")
    if not report.ran:
        print("nothing due")
    return 0 if all(r["rc"] == 0 for r in report.ran) and not report.stuck else 1


def _cmd_render(args: argparse.Namespace) -> int:
    _warn_pending()
    schedule, meta = load_active()
    if args.cron:
        text = render_cron(schedule, meta["digest"])
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"wrote {args.output}")
        else:
            print(text, end="")
        return 0
    out = Path(args.output) if args.output else var_dir() / "schedule" / "systemd"
    for path in render_systemd(schedule, meta["digest"], out):
        print(f"wrote {path}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    _, meta = load_active()
    ui.print_json(meta)
    _warn_pending()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("schedule", help="schedules: validate, due, tick, render (changes: `yunwei request schedule`)")
    sub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    v = sub.add_parser("validate", help="validate schedule.yml (does not activate it)")
    v.add_argument("--file", help="schedule file (default schedule.yml or $YUNWEI_SCHEDULE)")
    v.set_defaults(func=_cmd_validate)
    d = sub.add_parser("due", help="list what the approved schedule has due")
    d.add_argument("--at", help="evaluate at this ISO time instead of now (no offset: the schedule's zone)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_cmd_due)
    t = sub.add_parser("tick", help="run what is due (locked, idempotent, reports missed runs)")
    t.add_argument("--at", help="act as if it were this ISO time (not in the future; no offset: the schedule's zone)")
    t.add_argument("--job", help="only this job")
    t.set_defaults(func=_cmd_tick)
    r = sub.add_parser("render", help="write crontab lines or systemd units for the approved schedule")
    g = r.add_mutually_exclusive_group(required=True)
    g.add_argument("--cron", action="store_true")
    g.add_argument("--systemd", action="store_true")
    r.add_argument("--output", "-o", help="file (--cron; default stdout) or directory (--systemd; default var/schedule/systemd)")
    r.set_defaults(func=_cmd_render)
    s = sub.add_parser("status", help="the approved schedule: digest, request, approver")
    s.set_defaults(func=_cmd_status)

"""``yunwei runs list`` and ``yunwei runs show RUN``: the runs recorded in the journal store."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from yunwei.errors import InputError, YunweiError
from yunwei.store import Run, Store, default_store_url, open_store, redact_text, redact_url
from yunwei.ui import print_json, table


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("runs", help="runs recorded in the journal store")
    sub = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)

    lp = sub.add_parser("list", help="list runs, newest first")
    lp.add_argument("--store", help="store path or URL (default $YUNWEI_STORE or var/journal.sqlite)")
    lp.add_argument("--job", help="only runs of this job")
    lp.add_argument("--status", choices=["running", "ok", "failed", "interrupted"], help="only runs with this status")
    lp.add_argument("--since", help="started at or after (ISO date/time, UTC unless an offset is given)")
    lp.add_argument("--until", help="started before (ISO date/time)")
    lp.add_argument("--limit", type=int, default=20, help="at most N runs (default 20, 0 = all)")
    lp.add_argument("--json", action="store_true", help="print JSON")
    lp.set_defaults(func=cmd_list)

    sp = sub.add_parser("show", help="show one run and its task results")
    sp.add_argument("run", metavar="RUN", help="run id, unique id prefix, or 'last'")
    sp.add_argument("--store", help="store path or URL")
    sp.add_argument("--json", action="store_true", help="print JSON (with full task results, checks and metrics)")
    sp.set_defaults(func=cmd_show)


def _time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(flag, value, "not an ISO date/time (e.g. 2026-11-25 or 2026-11-25T08:00)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _open(url: str | None) -> Store:
    try:
        return open_store(url)
    except YunweiError:
        raise
    except Exception as exc:
        target = url or default_store_url()  # shown without its password
        raise YunweiError(f"cannot open the journal store {redact_url(target)}: {type(exc).__name__}: "
                          f"{redact_text(str(exc), target)}") from None


def _fmt(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if dt else None


def _dur(seconds: float | None) -> str | None:
    return None if seconds is None else f"{seconds:.1f}s"


def list_runs(store: Store, args: argparse.Namespace) -> list[Run]:
    return store.list_runs(job=args.job, since=_time(args.since, "--since"), until=_time(args.until, "--until"),
                           limit=args.limit or None, status=args.status)


def cmd_list(args: argparse.Namespace) -> int:
    with _open(args.store) as store:
        runs = list_runs(store, args)
        if args.json:
            print_json([r.to_dict() for r in runs])
            return 0
        table(
            ["RUN", "STARTED (UTC)", "DURATION", "JOB", "PROFILE", "OPERATOR", "HOSTS", "STATUS"],
            [(r.id[:8], _fmt(r.started_at), _dur(r.duration), r.job, r.profile or None, r.operator, len(r.hosts),
              r.status) for r in runs],
        )
    return 0


def show_data(store: Store, ref: str) -> dict[str, Any]:
    """Everything ``runs show --json`` prints: the run, its results, checks, metrics and errors."""
    try:
        run = store.find_run(ref)
    except LookupError as exc:
        raise InputError("RUN", ref, str(exc)) from None
    if run is None:
        raise YunweiError(f"no run {ref!r} in the journal store", exit_code=3)
    return {
        "run": run.to_dict(),
        "results": [t.to_dict() for t in store.task_results(run.id)],
        "checks": [c.to_dict() for c in store.checks(run_id=run.id)],
        "metrics": [m.to_dict() for m in store.metrics(run_id=run.id)],
        "errors": [{"time": e.time.isoformat() if e.time else None, "message": e.message}
                   for e in store.run_errors(run.id)],
    }


def cmd_show(args: argparse.Namespace) -> int:
    with _open(args.store) as store:
        data = show_data(store, args.run)
    if args.json:
        print_json(data)
        return 0
    run = data["run"]
    table(["FIELD", "VALUE"], [
        ("run", run["id"]), ("playbook", run["playbook"]), ("job", run["job"]), ("profile", run["profile"] or None),
        ("operator", run["operator"]), ("started (UTC)", (run["started_at"] or "")[:19].replace("T", " ") or None),
        ("ended (UTC)", (run["ended_at"] or "")[:19].replace("T", " ") or None), ("status", run["status"]),
        ("reason", run["reason"] or None),
        ("ansible", run["ansible_version"]), ("content digest", run["content_digest"] or None),
        ("check mode", "yes" if run["check_mode"] else "no"), ("hosts", ", ".join(run["hosts"]) or None),
    ])
    print()
    table(["HOST", "OK", "CHANGED", "FAILED", "UNREACHABLE", "SKIPPED", "RESCUED", "IGNORED"],
          [(s["host"], s["ok"], s["changed"], s["failures"], s["unreachable"], s["skipped"], s["rescued"],
            s["ignored"]) for s in run["host_stats"]])
    print()
    table(["#", "HOST", "TASK", "MODULE", "STATUS", "DURATION", "MESSAGE"],
          [(t["seq"], t["host"], t["task"], t["action"],
            t["status"] + (" (ignored)" if t["ignore_errors"] and t["status"] == "failed" else ""),
            _dur(t["duration"]), _msg(t["result"])) for t in data["results"]])
    if data["checks"]:
        print()
        table(["HOST", "CHECK", "TITLE", "INSTANCE", "STATUS", "VALUE", "SUGGESTION"],
              [(c["host"], c["id"], c["title"], c["instance"] or None, c["status"],
                _value(c["value"], c["unit"]), c["suggestion"] or None) for c in data["checks"]])
    if data["metrics"]:
        print(f"\n{len(data['metrics'])} metric samples (see --json)")
    if data["errors"]:
        print()
        table(["TIME", "JOURNAL ERROR"], [(e["time"], e["message"]) for e in data["errors"]])
    return 0


def _value(value: Any, unit: str) -> str | None:
    if value is None:
        return None
    return f"{value}{unit or ''}"


def _msg(result: Any) -> str | None:
    if not isinstance(result, dict):
        return None
    for key in ("censored", "msg", "skip_reason", "stderr"):
        v = result.get(key)
        if v:
            text = " ".join(str(v).split())
            return text if len(text) <= 60 else text[:57] + "..."
    return None

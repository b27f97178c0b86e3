"""``yunwei alerts``: the continuous side (docs/monitoring.md) — the Alertmanager receiver, the alert
record, maintenance windows (silences) and the Prometheus rules rendered from the journal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from yunwei import ui
from yunwei.errors import InputError, YunweiError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("alerts", help="real-time alerts: receiver, record, silences, rules (docs/monitoring.md)")
    actions = parser.add_subparsers(dest="alerts_action", metavar="ACTION", required=True)

    serve = actions.add_parser("serve", help="receive Alertmanager's webhook: record, open tickets, notify channels")
    serve.add_argument("--listen", help="ADDRESS:PORT (default: the configuration's `listen`)")
    serve.add_argument("--config", help="alerting configuration file (lab mode only; admin mode: /etc/yunwei/yunwei.yml)")
    serve.add_argument("--store", help="journal store path or URL")
    serve.set_defaults(func=_serve)

    lst = actions.add_parser("list", help="alerts as recorded: start, end, duration, ticket, notifications")
    lst.add_argument("--date", help="a local day (YYYY-MM-DD, today, yesterday)")
    lst.add_argument("--since", help="local date or time (YYYY-MM-DD[THH:MM])")
    lst.add_argument("--until", help="local date or time (YYYY-MM-DD[THH:MM])")
    lst.add_argument("--host")
    lst.add_argument("--firing", action="store_true", help="only alerts still firing")
    lst.add_argument("--failed", action="store_true", help="only alerts with a failed notification")
    lst.add_argument("--json", action="store_true")
    lst.add_argument("--store", help="journal store path or URL")
    lst.set_defaults(func=_list)

    sil = actions.add_parser("silence", help="maintenance windows: alerts recorded, not notified")
    sil_act = sil.add_subparsers(dest="silence_action", metavar="ACTION", required=True)
    add = sil_act.add_parser("add", help="a maintenance window from now (or --start) for --for / until --end")
    add.add_argument("--host", action="append", default=[], help="host (repeatable; none: every host)")
    add.add_argument("--alert", action="append", default=[], help="rule id, e.g. WEB-NGINX-001 (repeatable)")
    add.add_argument("--start", help="local time (default now)")
    add.add_argument("--end", help="local time")
    add.add_argument("--for", dest="duration", help="duration, e.g. 30m, 2h")
    add.add_argument("--reason", required=True, help="why (e.g. the change request id)")
    add.add_argument("--store", help="journal store path or URL")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=_silence_add)
    sl = sil_act.add_parser("list", help="maintenance windows")
    sl.add_argument("--all", action="store_true", help="also the ended ones")
    sl.add_argument("--json", action="store_true")
    sl.add_argument("--store", help="journal store path or URL")
    sl.set_defaults(func=_silence_list)
    end = sil_act.add_parser("end", help="end a maintenance window now")
    end.add_argument("id", type=int)
    end.add_argument("--store", help="journal store path or URL")
    end.set_defaults(func=_silence_end)

    rules = actions.add_parser("rules", help="render the Prometheus rules (static + dynamic), check with promtool")
    rules.add_argument("--input", help="JSON with {hosts: {HOST: {threshold layers}}}; '-' for stdin")
    rules.add_argument("--out", required=True, help="folder that receives the checked rule files")
    rules.add_argument("--no-dynamic", action="store_true", help="static rules only")
    rules.add_argument("--store", help="journal store path or URL (the baselines)")
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(func=_rules)


# ----------------------------------------------------------------------------- rules
def _rules(args: argparse.Namespace) -> int:
    from yunwei.monitoring import rules

    try:
        hosts: dict[str, Any] = {}
        if args.input:
            text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
            try:
                data = json.loads(text or "{}")
            except ValueError as exc:
                raise InputError(args.input, None, f"not valid JSON: {exc}") from None
            if not isinstance(data, dict) or not isinstance(data.get("hosts", {}), dict):
                raise InputError(args.input, "hosts", "must be a mapping of host -> threshold layers")
            hosts = data.get("hosts") or {}
        store = None
        if not args.no_dynamic:
            from yunwei.store import open_reader

            store = open_reader(args.store)
        try:
            summary = rules.render(Path(args.out), hosts, store)
        finally:
            if store is not None:
                store.close()
    except YunweiError as exc:
        if args.json:
            ui.print_json({"error": str(exc), "promtool": getattr(exc, "output", "")})
        else:
            print(f"yunwei alerts rules: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        ui.print_json(summary)
        return 0
    print(summary["promtool"])
    print(f"{summary['static_alerts']} static alert rules, {len(summary['dynamic_thresholds'])} dynamic thresholds "
          f"for {len(summary['hosts'])} hosts in {summary['dir']}")
    return 0


# ----------------------------------------------------------------------------- serve
def _serve(args: argparse.Namespace) -> int:
    from yunwei.monitoring import config as mconfig
    from yunwei.monitoring.receiver import serve

    cfg = mconfig.load_config(args.config)
    return serve(cfg, listen=args.listen, store_url=args.store)


# ----------------------------------------------------------------------------- list
def _list(args: argparse.Namespace) -> int:
    from yunwei.monitoring import record
    from yunwei.reports.periods import client_tz, day_period, parse_date
    from yunwei.servicedesk.tickets import parse_time
    from yunwei.store import open_store

    since = until = None
    if args.date:
        p = day_period(parse_date(args.date, client_tz(), "--date"), client_tz())
        since, until = p.since.timestamp(), p.until.timestamp()
    if args.since:
        since = parse_time(args.since, "--since")
    if args.until:
        until = parse_time(args.until, "--until")
    with open_store(args.store, reap=False) as store:
        rows = record.list_alerts(store, since=since, until=until, host=args.host, firing=args.firing,
                                  failed=args.failed)
    if args.json:
        ui.print_json(rows)
        return 0
    if not rows:
        print("no alerts")
        return 0
    ui.table(["start", "end", "duration", "host", "rule", "severity", "summary", "ticket", "notified"],
             [[r["start"], r["end"] or "firing", r["duration"], r["host"], r["rule_id"], r["severity"], r["summary"],
               r["ticket"] or "—", r["notified_text"]] for r in rows])
    return 0


# ----------------------------------------------------------------------------- silences
def _silence_add(args: argparse.Namespace) -> int:
    from yunwei.monitoring import record
    from yunwei.store import open_store

    with open_store(args.store, reap=False) as store:
        sil = record.add_silence(store, hosts=args.host, alerts=args.alert, start=args.start, end=args.end,
                                 duration=args.duration, reason=args.reason)
    if args.json:
        ui.print_json(sil)
    else:
        print(f"silence {sil['id']}: {sil['start']} – {sil['end']} "
              f"hosts {', '.join(sil['hosts']) or 'all'}; rules {', '.join(sil['alerts']) or 'all'}: {sil['reason']}")
    return 0


def _silence_list(args: argparse.Namespace) -> int:
    from yunwei.monitoring import record
    from yunwei.store import open_store

    with open_store(args.store, reap=False) as store:
        rows = record.list_silences(store, include_ended=args.all)
    if args.json:
        ui.print_json(rows)
        return 0
    ui.table(["id", "start", "end", "hosts", "rules", "by", "reason"],
             [[r["id"], r["start"], r["end"], ", ".join(r["hosts"]) or "all", ", ".join(r["alerts"]) or "all",
               r["operator"], r["reason"]] for r in rows])
    return 0


def _silence_end(args: argparse.Namespace) -> int:
    from yunwei.monitoring import record
    from yunwei.store import open_store

    with open_store(args.store, reap=False) as store:
        record.end_silence(store, args.id)
    print(f"silence {args.id} ended")
    return 0

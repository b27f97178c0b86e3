"""``yunwei audit verify|show|head``: the hash-chained audit log."""

from __future__ import annotations

import argparse
import json
from typing import Any

from yunwei import ui
from yunwei.audit import AuditLog, anchors, checkpoint, default_log
from yunwei.audit.show import parse_when, select
from yunwei.runner.env import operator

_FIXED = ("seq", "time", "event", "operator", "job", "request", "prev", "hash")


def _chain_hashes(log: Any) -> list[str]:
    out = []
    for raw in log.lines():
        try:
            out.append(str(json.loads(raw).get("hash")))
        except ValueError:
            out.append("")
    return out


def _cmd_verify(args: argparse.Namespace) -> int:
    log = default_log()
    result = log.verify(args.expect_head)
    cps = checkpoint.verify(log) if isinstance(log, AuditLog) else checkpoint.CheckpointResult(True, 0)
    checks = anchors.check_all(_chain_hashes(log))
    store = "PostgreSQL, append-only (the server refuses UPDATE, DELETE, TRUNCATE)" if not isinstance(log, AuditLog) \
        else "file (whoever can write it can rewrite it: anchors and checkpoints below catch that)"
    ok = result.ok and cps.ok and all(c.ok for c in checks)
    if args.json:
        ui.print_json({"ok": ok, "records": result.count, "head": result.head,
                       "bad_record": result.bad_seq, "problem": result.problem, "log": log.location, "store": store,
                       "checkpoints": cps.checked, "checkpoint_problem": cps.problem,
                       "anchors": [{"anchor": c.label, "reachable": c.reachable, "ok": c.ok, "heads": c.heads,
                                    "last": c.last, "problem": c.problem} for c in checks]})
    else:
        print(f"{log.location}: {result}")
        print(f"store: {store}")
        print(f"checkpoints: {cps.checked} verified" + (f"; BAD: {cps.problem}" if not cps.ok else ""))
        for c in checks:
            print(f"anchor {c}")
        if not checks:
            print("anchors: none configured (admin configuration: anchors)")
    return 0 if ok else 1


def _cmd_checkpoint(args: argparse.Namespace) -> int:
    log = default_log()
    if not isinstance(log, AuditLog):
        print("the PostgreSQL audit log is append-only on the server: no checkpoint needed")
        return 0
    entry = checkpoint.create(log, operator(), args.key)
    print(f"checkpoint {entry['count']}:{entry['hash']} signed by {entry['signer']}")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until", end=True) if args.until else None
    if args.date:
        since, until = parse_when(args.date, "--date"), parse_when(args.date, "--date", end=True)
    rows = list(select(default_log().records(), job=args.job, operator=args.operator, event=args.event,
                       request=args.request, since=since, until=until))
    if args.json:
        ui.print_json(rows)
        return 0
    ui.table(["seq", "time", "event", "operator", "job", "request", "details"],
             [[r.get("seq"), r.get("time", "")[:19], r.get("event"), r.get("operator"), r.get("job"), r.get("request"),
               " ".join(f"{k}={r[k]}" for k in sorted(r) if k not in _FIXED)[:120]] for r in rows])
    return 0


def _cmd_head(args: argparse.Namespace) -> int:
    head = default_log().read_head()
    count, digest = head if head else (0, "0" * 64)
    print(f"{count}:{digest}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("audit", help="the tamper-evident audit log")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = sub.add_parser("verify", help="check the hash chain, its head and every external anchor it can reach")
    v.add_argument("--expect-head", help="a head recorded elsewhere (COUNT:HASH, HASH, or COUNT: and 16+ hex digits as in a report footer)")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_cmd_verify)
    s = sub.add_parser("show", help="list records, filtered")
    s.add_argument("--job")
    s.add_argument("--operator")
    s.add_argument("--event", help="request, preview, approval, denial, execution, result, refusal, schedule_change, ...")
    s.add_argument("--request")
    s.add_argument("--date", help="one local day, YYYY-MM-DD ($YUNWEI_TZ, default Asia/Shanghai)")
    s.add_argument("--since", help="YYYY-MM-DD (local day) or ISO time (no offset: $YUNWEI_TZ)")
    s.add_argument("--until", help="YYYY-MM-DD (local day, inclusive) or ISO time (no offset: $YUNWEI_TZ)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_show)
    c = sub.add_parser("checkpoint", help="sign the current head with your SSH key (anchors history)")
    c.add_argument("--key", help="your SSH private key (default $YUNWEI_SIGNING_KEY or ~/.ssh/id_ed25519)")
    c.set_defaults(func=_cmd_checkpoint)
    h = sub.add_parser("head", help="print COUNT:HASH of the last record (copy it somewhere safe)")
    h.set_defaults(func=_cmd_head)

"""``yunwei vuln``: import the OVAL feed, run the quarterly scan, list the findings (docs/security.md).

Accepted risks are reviewed state, not a command here: `yunwei request risks` (yunwei.vuln.risks).
"""

from __future__ import annotations

import argparse

from yunwei import audit, ui


def _cmd_import(args: argparse.Namespace) -> int:
    from yunwei.runner.env import operator
    from yunwei.vuln import feed

    try:
        f, warnings = feed.import_feed(args.file, args.release)
    except Exception as exc:
        audit.record("refusal", action="vuln import", operator=operator(), file=str(args.file), reason=str(exc))
        raise
    audit.record("vuln-feed", operator=operator(), file=str(args.file), release=f.release, digest=f.digest,
                 generated=f.generated, definitions=f.definitions)
    for w in warnings:
        ui.progress(f"warning: {w}")
    print(f"imported {args.file} for {f.release}: {f.definitions} definitions, generated {f.generated}, {f.digest}")
    return 0


def _cmd_feed(args: argparse.Namespace) -> int:
    from yunwei.vuln import feed

    f = feed.active(args.release)
    if f is None:
        print(f"no feed imported for {args.release}")
        return 1
    ui.print_json({**f.summary(), "age_days": round(f.age_days(), 1)})
    return 0


def _cmd_scan(args: argparse.Namespace) -> int:
    from yunwei.commands._common import parse_extravars
    from yunwei.commands.run import exit_code, report_failure, run_readonly
    from yunwei.runner.env import operator
    from yunwei.store import open_store
    from yunwei.vuln import findings

    result = run_readonly("vuln-scan", limit=args.limit, extravars=parse_extravars(args.extravars),
                          jobs_file=args.jobs, quiet=args.quiet)
    print(f"run {result.run_id}: {result.status} (rc {result.rc})")
    report_failure(result)
    with open_store() as store:
        summary = findings.sync(store, operator=operator())
    print(f"findings: {summary['new']} new, {summary['reopened']} reopened, {summary['fixed']} fixed, "
          f"{summary['verified']} verified fixed; tickets opened: {', '.join(summary['tickets']) or 'none'}")
    return exit_code(result)


def _cmd_sync(args: argparse.Namespace) -> int:
    from yunwei.runner.env import operator
    from yunwei.store import open_store
    from yunwei.vuln import findings

    with open_store() as store:
        summary = findings.sync(store, operator=operator())
    ui.print_json(summary) if args.json else print(
        f"{summary['runs']} scan(s) taken: {summary['new']} new, {summary['fixed']} fixed, {summary['verified']} verified; "
        f"tickets opened: {', '.join(summary['tickets']) or 'none'}")
    return 0


def _cmd_findings(args: argparse.Namespace) -> int:
    from yunwei.store import open_store
    from yunwei.vuln import findings

    with open_store() as store:
        findings.sync(store)
        rows = [f.as_dict() for f in findings.all_findings(store, host=args.host)]
    if args.open:
        rows = [r for r in rows if r["state"] in findings.OPEN_STATES]
    if args.json:
        ui.print_json(rows)
        return 0
    ui.table(["id", "host", "finding", "severity", "state", "installed→fixed", "ticket"],
             [[r["id"], r["host"], r["fkey"], r["severity_label"], r["state_label"],
               f"{r['installed']}→{r['fixed_version']}" if r["kind"] == "vuln" else r["process"], r["ticket_id"]]
              for r in rows])
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from yunwei.commands._common import add_job_args
    from yunwei.vuln.feed import DEFAULT_RELEASE

    p = subparsers.add_parser("vuln", help="vulnerability feed, scan and findings (docs/security.md)")
    sub = p.add_subparsers(dest="vuln_command", metavar="ACTION", required=True)
    q = sub.add_parser("import", help="validate an OVAL feed and make it the one in use (the previous stays on failure)")
    q.add_argument("file")
    q.add_argument("--release", default=DEFAULT_RELEASE, help=f"the release the feed is for (default {DEFAULT_RELEASE})")
    q.set_defaults(func=_cmd_import)
    q = sub.add_parser("feed", help="the feed in use")
    q.add_argument("--release", default=DEFAULT_RELEASE)
    q.set_defaults(func=_cmd_feed)
    q = sub.add_parser("scan", help="run the vuln-scan job, then take its findings into the lifecycle (tickets)")
    add_job_args(q)
    q.add_argument("--quiet", "-q", action="store_true")
    q.set_defaults(func=_cmd_scan)
    q = sub.add_parser("sync", help="take scheduled vuln-scan runs into the findings lifecycle and open their tickets")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_cmd_sync)
    q = sub.add_parser("findings", help="findings and their state")
    q.add_argument("--host")
    q.add_argument("--open", action="store_true", help="only open findings (new, accepted risk)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_cmd_findings)

"""Two-person review: ``request``, ``requests``, ``review``, ``approve``, ``deny``, ``execute``."""

from __future__ import annotations

import argparse

from yunwei import ui
from yunwei.commands._common import add_job_args, parse_extravars
from yunwei.review import workflow


def _cmd_request(args: argparse.Namespace) -> int:
    req = workflow.create_request(args.job, limit=args.limit, extravars=parse_extravars(args.extravars),
                                  key=args.key, jobs_file=args.jobs, quiet=args.quiet, schedule_file=args.schedule,
                                  waivers_file=args.waivers, risks_file=args.risks)
    info = workflow.show(req["id"])
    if args.json:
        ui.print_json({"id": req["id"], "digest": req["digest"], "preview": _preview_summary(info["preview"])})
    else:
        _print_preview(info)
        print(f"request {req['id']} (digest {req['digest']}): ask a second operator to run "
              f"`yunwei review {req['id']}` then `yunwei approve {req['id']}`")
    preview = info["preview"] or {}
    if preview.get("rc", 0) != 0:
        ui.progress(f"warning: the preview of {req['id']} failed ({preview.get('status')}); the reviewer will see it")
        return 1
    return 0


def _preview_summary(preview: dict | None) -> dict:
    preview = preview or {}
    return {k: preview.get(k) for k in ("run_id", "status", "rc", "stats", "changes", "failures")}


def _print_preview(info: dict) -> None:
    req, preview = info["request"], info["preview"] or {}
    print(f"request  {req['id']}  [{info['state']}]")
    print(f"job      {req['job']}   limit {req.get('limit') or '-'}   requested by {req['requester']} at {req['created']}")
    print(f"digest   {req['digest']}")
    if req.get("extravars"):
        print(f"vars     {', '.join(f'{k}={v}' for k, v in sorted(req['extravars'].items()))}")
    if req.get("sealed_vars"):
        print(f"secrets  {', '.join(sorted(req['sealed_vars']))} (sealed: bound to the digest, not stored)")
    print(f"preview  check mode + diff: {preview.get('status', '-')} (rc {preview.get('rc', '-')})")
    if not info.get("preview_intact", True):
        print("!!! this preview differs from the one the audit log recorded when it was made: do not approve")
    for change in preview.get("changes") or []:
        print(f"--- would change: {change['host']}: {change['task']}")
        if change.get("diff"):
            print(change["diff"])
    if not preview.get("changes"):
        print("--- no changes expected")
    for failure in preview.get("failures") or []:
        print(f"!!! {failure['host']}: {failure['task']}: {failure['state']} {failure['msg']}")
    for key in ("approval", "denial", "execution"):
        if info.get(key):
            data = info[key]
            who = data.get("approver") or data.get("operator")
            print(f"{key:9}{who} at {data.get('time') or data.get('started')}"
                  + (f" (expires {data['expires']})" if key == "approval" else "")
                  + (f": {data['reason']}" if key == "denial" else "")
                  + (f": {data.get('status')}" if key == "execution" else ""))


def _cmd_review(args: argparse.Namespace) -> int:
    info = workflow.show(args.id)
    if args.json:
        ui.print_json(info)
    else:
        _print_preview(info)
    return 0


def _cmd_requests(args: argparse.Namespace) -> int:
    rows = workflow.list_requests()
    if args.json:
        ui.print_json([{k: r.get(k) for k in ("id", "job", "requester", "created", "state", "digest")} for r in rows])
        return 0
    ui.table(["id", "job", "requester", "created", "state"],
             [[r["id"], r["job"], r["requester"], r["created"], r["state"]] for r in rows])
    return 0


def _cmd_approve(args: argparse.Namespace) -> int:
    approval = workflow.approve(args.id, key=args.key)
    print(f"approved {args.id} as {approval['approver']} (signed; expires {approval['expires']})")
    return 0


def _cmd_deny(args: argparse.Namespace) -> int:
    denial = workflow.deny(args.id, args.reason, key=args.key)
    print(f"denied {args.id} as {denial['operator']}: {denial['reason']}")
    return 0


def _cmd_execute(args: argparse.Namespace) -> int:
    execution = workflow.execute(args.id, quiet=args.quiet, secret_values=parse_extravars(args.extravars))
    if args.json:
        ui.print_json(execution)
    else:
        print(f"executed {args.id}: {execution['status']} (rc {execution['rc']}) run {execution.get('run_id') or '-'}")
    return 0 if execution["rc"] == 0 else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("request", help="request a change job (or `schedule`, `waivers`, `risks`): digest + check-mode preview")
    p.add_argument("job", help="a change job from the catalogue, `schedule` for a schedule.yml change, "
                               "`waivers` for a baseline-waivers.yml change, `risks` for a vuln-risks.yml change")
    add_job_args(p)
    p.add_argument("--key", help="your SSH private key (default $YUNWEI_SIGNING_KEY or ~/.ssh/id_ed25519)")
    p.add_argument("--schedule", help="schedule file for `request schedule` (default schedule.yml)")
    p.add_argument("--waivers", help="waiver file for `request waivers` (default baseline-waivers.yml)")
    p.add_argument("--risks", help="accepted-risks file for `request risks` (default vuln-risks.yml)")
    p.add_argument("--quiet", "-q", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_request)

    p = subparsers.add_parser("requests", help="list review requests and their state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_requests)

    p = subparsers.add_parser("review", help="show a request, its preview and decisions")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_review)

    for name, func, helptext in (("approve", _cmd_approve, "approve a request (a second operator, signed)"),
                                 ("deny", _cmd_deny, "deny a request (signed)")):
        p = subparsers.add_parser(name, help=helptext)
        p.add_argument("id")
        p.add_argument("--key", help="your SSH private key (default $YUNWEI_SIGNING_KEY or ~/.ssh/id_ed25519)")
        if name == "deny":
            p.add_argument("--reason", required=True)
        p.set_defaults(func=func)

    p = subparsers.add_parser("execute", help="execute an approved request (once)")
    p.add_argument("id")
    p.add_argument("-e", "--extra-vars", action="append", dest="extravars", metavar="KEY=VALUE",
                   help="the request's secret variables again (their values are never stored)")
    p.add_argument("--quiet", "-q", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_execute)

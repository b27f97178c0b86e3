"""``yunwei admin check|init-db``: the administrator's side of review and audit (docs/runner.md)."""

from __future__ import annotations

import argparse

from yunwei import ui


def _cmd_check(args: argparse.Namespace) -> int:
    """Say which mode yunwei runs in and where trust comes from (exit 2 if the configuration is
    not trusted or not valid)."""
    from yunwei.config import admin_config, check_environment, login
    from yunwei.review.signing import allowed_signers_path, principals

    config = admin_config()
    if config is None:
        print("mode: lab (no /etc/yunwei/yunwei.yml): one operator owns review state, audit log and signers "
              "under var/; YUNWEI_* overrides are honoured")
        return 0
    check_environment(config)
    from yunwei.audit import default_log
    from yunwei.jobs import load_catalogue
    from yunwei.paths import project_root
    from yunwei.review.store import review_store

    rows = [
        ["configuration", str(config.path)],
        ["operator", f"{login()} (the OS login)"],
        ["collection root", str(project_root())],
        ["job catalogue", f"{project_root() / 'jobs.yml'}" + (f" + {config.jobs}" if config.jobs else "")
         + f" ({len(load_catalogue())} jobs)"],
        ["allowed_signers", f"{allowed_signers_path()} ({', '.join(sorted(principals())) or 'nobody'})"],
        ["review state", review_store().location + ("" if config.team else " (one operator: files)")],
        ["audit log", default_log().location],
        ["approval TTL", f"{config.ttl_hours:g} h (ceiling {config.max_ttl_hours:g} h)"],
        ["anchors", ", ".join(a.label for a in config.anchors) or "none"],
    ]
    ui.table(["what", "where"], rows)
    return 0


def _cmd_init_db(args: argparse.Namespace) -> int:
    from yunwei.review.pg import init_db

    init_db(args.url, operators_role=args.operators_role, max_ttl_hours=args.max_ttl_hours)
    print(f"review store ready: schema yunwei_review, role {args.operators_role} may SELECT and INSERT only; "
          f"approval ceiling {args.max_ttl_hours:g} h. Grant it to each operator: "
          f"GRANT {args.operators_role} TO <login>;")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("admin", help="administrator: check the configuration, set up the review store")
    sub = p.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    c = sub.add_parser("check", help="the mode, and where signers, catalogue, review state and audit log come from")
    c.set_defaults(func=_cmd_check)
    i = sub.add_parser("init-db", help="create the append-only review schema (run as the database owner)")
    i.add_argument("url", help="postgresql://... of the review database, connecting as its owner")
    i.add_argument("--operators-role", default="yunwei_operators", help="group role of the operators (SELECT, INSERT)")
    i.add_argument("--max-ttl-hours", type=float, default=72.0,
                   help="ceiling of an approval's validity, enforced by the server (default 72)")
    i.set_defaults(func=_cmd_init_db)

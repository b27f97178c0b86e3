"""``yunwei lab up|down|status|inventory``: the local lab of real hosts (a development tool: the
``yunwei`` command finds it through the ``yunwei.commands`` entry point of yunwei-devtools)."""

from __future__ import annotations

import argparse

from yunwei.ui import print_json, table
from yunwei_dev.lab import Lab


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lab", help="the local lab: podman containers running sshd (see docs/lab.md)")
    actions = parser.add_subparsers(dest="lab_action", metavar="ACTION", required=True)
    actions.add_parser("up", help="build the image once, start the hosts, provision new ones").set_defaults(func=_up)
    mon = actions.add_parser("monitoring", help="the lab up with monitoring set up (Prometheus on mon01)")
    mon.add_argument("--force", action="store_true", help="apply the role even when nothing changed")
    mon.set_defaults(func=_monitoring)
    actions.add_parser("down", help="remove containers, volumes, network, keys and inventory").set_defaults(func=_down)
    status = actions.add_parser("status", help="each host's container, address and SSH reachability")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)
    actions.add_parser("inventory", help="print the inventory path").set_defaults(func=_inventory)


def _up(args: argparse.Namespace) -> int:
    state = Lab.from_env().up(backups=True)
    for host, address in sorted(state.hosts.items()):
        print(f"{host}\t{address}")
    return 0


def _monitoring(args: argparse.Namespace) -> int:
    from yunwei_dev.lab.monitoring import prometheus_url

    state = Lab.from_env().monitoring(force=args.force)
    print(f"Prometheus {prometheus_url(state.hosts)}  Alertmanager {prometheus_url(state.hosts)[:-4]}9093")
    return 0


def _down(args: argparse.Namespace) -> int:
    Lab.from_env().down()
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = Lab.from_env().status()
    if args.json:
        print_json(rows)
    else:
        table(["host", "container", "groups", "state", "address", "ssh"], [[r[k] for k in ("host", "container", "groups", "state", "address", "ssh")] for r in rows])
    return 0 if all(r["state"] == "running" and r["ssh"] for r in rows) else 1


def _inventory(args: argparse.Namespace) -> int:
    lab = Lab.from_env()
    print(lab.inventory_path)
    return 0 if lab.inventory_path.exists() else 1

"""The ``yunwei`` command: a thin argparse shell over functions that tests call directly.

Each module in :mod:`yunwei.commands` adds its sub-commands through ``register(subparsers)``;
modules are discovered, so adding a command never means editing this file. Other distributions
add commands through the ``yunwei.commands`` entry point group (the development tools' ``lab``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from yunwei import __version__, commands
from yunwei.errors import YunweiError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yunwei", description="运维 operations automation for the yunwei.ops collection")
    parser.add_argument("--version", action="version", version=f"yunwei {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    for ep in sorted(entry_points(group="yunwei.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def _check_environment(command: str) -> None:
    """Admin mode: a variable that would choose signers, catalogue, audit log or identity is
    refused for every command (exit 2), and the attempt is audited."""
    from yunwei.config import admin_config, check_environment, login
    from yunwei.errors import InputError

    config = admin_config()
    if config is None:
        return
    try:
        check_environment(config)
    except InputError as exc:
        from yunwei import audit

        audit.record("refusal", action=command, operator=login(), reason=str(exc))
        raise


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_environment(args.command)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try, so a closed pipe is handled below
        return code
    except YunweiError as exc:
        print(f"yunwei: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("yunwei: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and friends: stop quietly, as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Helpers shared by the runner-layer commands (not a command: no ``register``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from yunwei.errors import InputError


def parse_extravars(items: list[str] | None) -> dict[str, Any]:
    """``-e key=value`` (string values, like ansible) and ``-e @file.yml`` (a YAML mapping)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if item.startswith("@"):
            path = Path(item[1:])
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise InputError(str(path), None, "extra vars file not found") from None
            except yaml.YAMLError as exc:
                raise InputError(str(path), None, f"not valid YAML: {exc}") from None
            if not isinstance(data, dict):
                raise InputError(str(path), None, "extra vars file must hold a mapping")
            out.update(data)
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError("-e", item, "expected key=value or @file")
        out[key.strip()] = value
    return out


def add_job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", "-l", help="host pattern (ansible --limit)")
    p.add_argument("-e", "--extra-vars", action="append", dest="extravars", metavar="KEY=VALUE|@FILE",
                   help="extra variable (repeatable)")
    p.add_argument("--jobs", help="site job catalogue loaded on top of jobs.yml (default $YUNWEI_JOBS)")

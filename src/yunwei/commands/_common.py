"""Helpers shared by the runner-layer commands (not a command: no ``register``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.yamlfile import load_yaml


class ExtraVars(dict):
    """Extra vars (a dict) that remember where each one was given (``sources``: name -> '-e @file'
    or '-e'), so a message about a bad value can name the operator's file."""

    sources: dict[str, str]


def parse_extravars(items: list[str] | None) -> ExtraVars:
    """``-e key=value`` (string values, like ansible) and ``-e @file.yml`` (a YAML mapping)."""
    out = ExtraVars()
    out.sources = {}
    for item in items or []:
        if item.startswith("@"):
            path = Path(item[1:])
            data = load_yaml(path, "extra vars file")
            if not isinstance(data, dict):
                raise InputError(str(path), None, "extra vars file must hold a mapping")
            out.update(data)
            out.sources.update(dict.fromkeys(data, f"-e @{path}"))
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError("-e", item, "expected key=value or @file")
        out[key.strip()] = value
        out.sources[key.strip()] = f"-e {key.strip()}=..."
    return out


def var_sources(extravars: Any) -> dict[str, str]:
    """Where the extra vars were given (see :class:`ExtraVars`); {} for a plain dict."""
    return dict(getattr(extravars, "sources", None) or {})


def add_job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", "-l", help="host pattern (ansible --limit)")
    p.add_argument("-e", "--extra-vars", action="append", dest="extravars", metavar="KEY=VALUE|@FILE",
                   help="extra variable (repeatable)")
    p.add_argument("--jobs", help="site job catalogue loaded on top of jobs.yml (default $YUNWEI_JOBS)")

"""Validation of the baseline role's settings, on the controller before any host is contacted.

Every problem names the variable (and, through ``origin``, the file and line it was written in), so
``yunwei run baseline-audit`` exits 2 with it: an unknown mode, a switch or a parameter for a rule the
catalogue does not know, a parameter weaker than the 等保 floor, a malformed list, and problems of the
approved waivers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from yunwei.catalogue import Catalogue, catalogue
from yunwei.catalogue.schema import param_ok

MODES = ("audit", "enforce")
SWITCH = re.compile(r"^baseline_rule_(.+)_enabled$")


def rule_id_of_switch(name: str) -> str | None:
    m = SWITCH.match(name)
    return m.group(1).upper().replace("_", "-") if m else None


def switch_name(rule_id: str) -> str:
    return f"baseline_rule_{rule_id.lower().replace('-', '_')}_enabled"


def _no_origin(*_values: Any) -> str:
    return ""


def problems(settings: dict[str, Any], origin: Callable[..., str] = _no_origin, cat: Catalogue | None = None) -> list[str]:
    """Problems of the role's settings (keys without the ``baseline_`` prefix); [] when valid."""
    cat = cat or catalogue()
    out: list[str] = []
    mode = settings.get("mode")
    if mode not in MODES:
        out.append(f"baseline_mode: unknown mode {mode!r} (audit or enforce){origin(mode)}")
    rules = {c.id for c in cat.checks_of(kind="baseline")}
    for name, value in sorted((settings.get("switches") or {}).items()):
        rid = rule_id_of_switch(name)
        if rid not in rules:
            out.append(f"{name}: no baseline rule {rid} in the catalogue (ids: docs/baseline.md){origin(value)}")
        elif not isinstance(value, bool):
            out.append(f"{name}: must be true or false, got {value!r}{origin(value)}")
    specs = cat.params()
    params = settings.get("params")
    if params is not None and not isinstance(params, dict):
        out.append(f"baseline_params: must be a mapping of parameter names to numbers{origin(params)}")
    for name, value in sorted((params or {}).items()) if isinstance(params, dict) else []:
        spec = specs.get(name)
        if spec is None:
            out.append(f"baseline_params.{name}: unknown parameter (known: {', '.join(sorted(specs))}){origin(value, params)}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"baseline_params.{name}: must be a number, got {value!r}{origin(value, params)}")
        elif not param_ok(spec, value):
            weaker = {"higher": "below", "lower": "above", "bits": "a mask without the bits of"}[spec["stricter"]]
            out.append(f"baseline_params.{name}: {value!r} is {weaker} the 等保 floor {spec['limit']:g} of {spec['rule']} "
                       f"(to accept it, waive the rule in baseline-waivers.yml){origin(value, params)}")
    for key in ("admin_accounts", "required_packages", "scan_paths", "scan_exclude", "ssh_allow_users", "ssh_allow_groups"):
        value = settings.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)):
            out.append(f"baseline_{key}: must be a list of non-empty strings, got {value!r}{origin(value)}")
    for key in ("scan_paths", "scan_exclude"):
        value = settings.get(key) or []
        if isinstance(value, list) and any(isinstance(v, str) and not v.startswith("/") for v in value):
            out.append(f"baseline_{key}: paths must be absolute, got {value!r}{origin(value)}")
    ports = settings.get("allowed_ports")
    if ports is not None and (not isinstance(ports, list) or not all(_port(p) for p in ports)):
        out.append(f"baseline_allowed_ports: must be a list of port numbers 1-65535, got {ports!r}{origin(ports)}")
    risky = settings.get("risky_ports")
    if risky is not None and (not isinstance(risky, dict) or not all(_port(p) and isinstance(v, str) for p, v in risky.items())):
        out.append(f"baseline_risky_ports: must map port numbers to a service name, got {risky!r}{origin(risky)}")
    families = settings.get("os_families")
    if families is not None and not isinstance(families, dict):
        out.append(f"baseline_os_families: must be a mapping of OS family to its variables{origin(families)}")
    overrides = settings.get("os_overrides")
    if overrides and isinstance(families, dict):
        known = set().union(*(set(v) for v in families.values() if isinstance(v, dict)))
        for key in sorted(overrides if isinstance(overrides, dict) else {}):
            if key not in known:
                out.append(f"baseline_os_overrides.{key}: not a variable of the OS families (known: {', '.join(sorted(known))})"
                           f"{origin(overrides)}")
    for key in ("su_group", "admin_user"):
        value = settings.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            out.append(f"baseline_{key}: must be a non-empty name, got {value!r}{origin(value)}")
    return out


def _port(p: Any) -> bool:
    return isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536


def disabled_rules(switches: dict[str, Any] | None) -> list[str]:
    """Rule ids switched off by baseline_rule_<id>_enabled: false (validated by :func:`problems`)."""
    return sorted(rid for name, value in (switches or {}).items() if value is False and (rid := rule_id_of_switch(name)))


def effective_params(overrides: dict[str, Any] | None, cat: Catalogue | None = None) -> dict[str, float]:
    cat = cat or catalogue()
    return {**{k: float(v["default"]) for k, v in cat.params().items()},
            **{k: float(v) for k, v in (overrides or {}).items()}}

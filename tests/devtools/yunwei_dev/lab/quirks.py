"""Podman quirks of some machines, detected from a failed probe and fixed in containers.conf.

Only what a probe actually shows is fixed (DESIGN.md: handle quirks where detected, never
assume them). Pure functions here; the caller runs the probe and writes the file.
"""

from __future__ import annotations

import enum
import re
import tomllib


class Quirk(enum.Enum):
    """A known podman failure on this kind of machine and its fix."""

    CRUN_HYBRID_CGROUPS = "crun fails on hybrid cgroups: use runc"
    RLIMITS_ABOVE_HARD_LIMIT = "default container rlimits exceed the host's hard limits"


# The fix for each quirk: (section, key, TOML value).
FIXES: dict[Quirk, tuple[str, str, str]] = {
    Quirk.CRUN_HYBRID_CGROUPS: ("engine", "runtime", '"runc"'),
    Quirk.RLIMITS_ABOVE_HARD_LIMIT: (
        "containers",
        "default_ulimits",
        '["nofile=20000:20000", "nproc=4096:4096"]',
    ),
}

_PATTERNS: list[tuple[re.Pattern[str], Quirk]] = [
    (re.compile(r"cgroups in hybrid mode not supported", re.I), Quirk.CRUN_HYBRID_CGROUPS),
    (re.compile(r"setrlimit|error setting rlimit", re.I), Quirk.RLIMITS_ABOVE_HARD_LIMIT),
]


def classify(stderr: str) -> set[Quirk]:
    """The quirks a failed ``podman run`` error message shows (empty: not a known quirk)."""
    return {quirk for pattern, quirk in _PATTERNS if pattern.search(stderr)}


def apply(conf_text: str, quirks: set[Quirk]) -> str:
    """``conf_text`` (containers.conf) with the fixes for ``quirks`` set; other content kept.

    A key already set in its section is replaced, otherwise it is added under the section
    header (which is created when missing). Raises ValueError if the input is not TOML.
    """
    tomllib.loads(conf_text)  # refuse to edit a file we cannot parse
    lines = conf_text.splitlines()
    for quirk in sorted(quirks, key=lambda q: q.name):
        section, key, value = FIXES[quirk]
        lines = _set_key(lines, section, key, value)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)
    return text


def _set_key(lines: list[str], section: str, key: str, value: str) -> list[str]:
    header = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    current = None
    section_at = None
    for i, line in enumerate(lines):
        m = header.match(line)
        if m:
            current = m.group(1)
            if current == section:
                section_at = i
            continue
        if current == section and key_re.match(line):
            return lines[:i] + [f"{key} = {value}"] + lines[i + 1 :]
    if section_at is None:
        prefix = lines + ([""] if lines and lines[-1].strip() else [])
        return prefix + [f"[{section}]", f"{key} = {value}"]
    return lines[: section_at + 1] + [f"{key} = {value}"] + lines[section_at + 1 :]

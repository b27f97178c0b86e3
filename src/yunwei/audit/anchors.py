"""External anchors: the audit head (count and hash) copied, on every append, where operators
cannot rewrite it.

An anchor is an account on another host (the off-site host in the lab) whose authorized_keys entry
forces ``yunwei-anchor`` (playbooks/files/yunwei-anchor): with ``append`` it appends one
``COUNT:HASH LOGIN`` line (and the server's time) to its file, with ``read`` it prints the file,
and it does nothing else — no shell, no rewrite. A rewritten log, even with a consistent chain and
head, no longer has the anchored hash at the anchored count; a truncated one is shorter than an
anchored count. ``yunwei audit verify`` checks every anchor it can reach and says which.

An anchor that cannot be reached does not stop the operation (the next append carries the whole
history again); the operator gets a warning and ``verify`` reports the records after the last
anchored head.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from yunwei.config import Anchor, admin_config

HEAD_LINE = re.compile(r"^(\d+):([0-9a-f]{64})(?:\s.*)?$")
TIMEOUT = 20


def configured() -> tuple[Anchor, ...]:
    config = admin_config()
    return config.anchors if config is not None else ()


def _ssh(anchor: Anchor, command: str, data: str | None = None) -> subprocess.CompletedProcess[str]:
    """ssh with nothing from the operator's ssh_config (-F /dev/null) or environment."""
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(anchor.key), "-p", str(anchor.port),
         "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={anchor.known_hosts}",
         "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
         f"{anchor.user}@{anchor.host}", command],
        input=data, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"},
    )


def push(count: int, head: str, who: str) -> list[str]:
    """Append the head to every anchor; returns the problems (also printed as warnings)."""
    problems = []
    for anchor in configured():
        try:
            proc = _ssh(anchor, "append", f"{count}:{head} {who}\n")
            error = proc.stderr.strip() if proc.returncode else ""
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        if error:
            problems.append(f"audit anchor {anchor.label} not updated: {error}")
    if problems:
        from yunwei import ui

        for p in problems:
            ui.progress(f"warning: {p}")
    return problems


@dataclass(frozen=True)
class AnchorCheck:
    label: str
    reachable: bool
    ok: bool
    heads: int = 0
    last: int = 0
    problem: str = ""

    def __str__(self) -> str:
        if not self.reachable:
            return f"{self.label}: not reachable ({self.problem})"
        if not self.ok:
            return f"{self.label}: BAD: {self.problem}"
        return f"{self.label}: ok ({self.heads} heads, last {self.last})" + (f"; {self.problem}" if self.problem else "")


def check(anchor: Anchor, hashes: list[str]) -> AnchorCheck:
    """Every head the anchor holds must be in the chain: same hash at the same count."""
    try:
        proc = _ssh(anchor, "read")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return AnchorCheck(anchor.label, False, True, problem=str(exc))
    if proc.returncode != 0:
        return AnchorCheck(anchor.label, False, True, problem=proc.stderr.strip() or f"ssh exit {proc.returncode}")
    heads, last = 0, 0
    for n, line in enumerate(proc.stdout.splitlines(), start=1):
        m = HEAD_LINE.match(line.strip())
        if not m:
            return AnchorCheck(anchor.label, True, False, heads, last, f"anchor line {n} unreadable")
        count, digest = int(m.group(1)), m.group(2)
        heads += 1
        last = max(last, count)
        if count > len(hashes):
            return AnchorCheck(anchor.label, True, False, heads, last,
                               f"anchored head {count}:{digest[:12]}… but the log has {len(hashes)} records (truncated)")
        if count and hashes[count - 1] != digest:
            return AnchorCheck(anchor.label, True, False, heads, last,
                               f"record {count} differs from the anchored head (history rewritten)")
    note = f"{len(hashes) - last} records after the last anchored head" if last < len(hashes) else ""
    return AnchorCheck(anchor.label, True, True, heads, last, note)


def check_all(hashes: list[str]) -> list[AnchorCheck]:
    return [check(a, hashes) for a in configured()]

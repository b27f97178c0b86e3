"""/proc/PID/stat of this machine (the controller): the one parser of the package.

The collection's modules, which run on the hosts and cannot import this package, have theirs in
plugins/module_utils/host_probe.py (parse_pid_stat)."""

from __future__ import annotations


def pid_stat(pid: int | str) -> tuple[str, list[str]] | None:
    """(comm, the fields after it) of /proc/PID/stat, or None when the process is gone.

    The fields after ``comm`` start with the state (``fields[0]``: R, S, Z, ...) and the parent
    pid; ``fields[19]`` is the start time in clock ticks since boot (proc(5), 1-based field 22).
    ``comm`` may hold spaces and parentheses: it ends at the last ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read().decode(errors="replace")
    except OSError:
        return None
    left, right = text.find("("), text.rfind(")")
    if left < 0 or right < left:
        return None
    return text[left + 1:right], text[right + 2:].split()

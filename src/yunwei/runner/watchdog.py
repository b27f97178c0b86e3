"""Every job is bounded: when its timeout expires, every process of the job is ended.

ansible-runner has a ``timeout`` of its own, but it SIGKILLs ansible-playbook's process group at
once (so the journal cannot record anything), notices only between two reads of the job's output,
and misses the workers: ansible-core 2.19 starts each worker in a session of its own, so a worker
blocked in C survives its parent. The watchdog finds the job's processes by the run id every one
of them carries in its environment (YUNWEI_RUN_ID, set by the runner and inherited by the workers
and their ssh children), sends them TERM — ansible-playbook's journal callback marks the run and
ansible-core stops its workers — and KILL after a grace period to whatever is left, because a
worker blocked in a futex or a hung connection ignores TERM.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from yunwei.procfs import pid_stat


def _procs() -> list[tuple[int, str]]:
    """(pid, state) of every process, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = pid_stat(entry.name)
        if stat is not None and stat[1]:
            out.append((int(entry.name), stat[1][0]))
    return out


def _has_env(pid: int, key: str, value: str) -> bool:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{key}={value}".encode() in env.split(b"\0")


def job_pids(run_id: str) -> list[int]:
    """Running processes of job run ``run_id`` (YUNWEI_RUN_ID=run_id in their environment)."""
    me = os.getpid()
    return [pid for pid, state in _procs()
            if pid != me and state not in ("Z", "X") and _has_env(pid, "YUNWEI_RUN_ID", run_id)]


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            continue


class Watchdog:
    """Ends run ``run_id``'s process group ``timeout`` seconds after :meth:`start`: TERM, then KILL
    after ``grace`` seconds if anything of it is still alive. :meth:`stop` when the run is over."""

    def __init__(self, run_id: str, timeout: float, grace: float) -> None:
        self.run_id, self.timeout, self.grace = run_id, float(timeout), float(grace)
        self.fired = False  # the timeout expired while the job ran
        self.killed = False  # KILL was needed after the grace period
        self.started = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"yunwei-watchdog-{run_id[:8]}", daemon=True)

    def start(self) -> Watchdog:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        """The job's leader has ended. When the timeout fired, wait until the rest of its group
        has ended too (KILL after the grace period): a worker stuck in C outlives its parent."""
        self._done.set()
        self._thread.join(timeout=self.grace + 5)

    def _watch(self) -> None:
        if self._done.wait(self.timeout):
            return
        pids = job_pids(self.run_id)
        if not pids:
            return  # already over
        self.fired = True
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while time.monotonic() < deadline:
            if not job_pids(self.run_id):
                return
            time.sleep(0.2)
        left = job_pids(self.run_id)
        if left:
            _signal_all(left, signal.SIGKILL)
            self.killed = True

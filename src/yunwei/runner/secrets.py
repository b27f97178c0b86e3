"""A run's private folder (its extra vars) and its guard: nothing outlives a killed yunwei.

The folder is created 0700 in memory (``/dev/shm`` where it exists, so a secret never reaches a
disk) and removed when the run ends. A ``finally`` does not run when the process is killed, so a
small guard process — in its own session, so a kill of our process group spares it — holds the
read end of a pipe whose write end only this process has. When this process dies for any reason
(SIGKILL included) the pipe reaches EOF and the guard removes the folder and stops the run:
ansible-runner starts ansible-playbook in its own session with SIGHUP ignored, so without the
guard it would go on changing hosts with nobody to record the result. The guard sends SIGTERM
(ansible-playbook passes it on to its workers), then SIGKILL to what is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

_GUARD = r"""
import os, shutil, signal, sys, time
pids = set()
for line in sys.stdin:
    word, _, value = line.partition(" ")
    if word == "pid":
        pids.add(int(value))
    elif word.strip() == "done":
        pids.clear()
shutil.rmtree(sys.argv[1], ignore_errors=True)

def ours(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"ansible-playbook" in fh.read()
    except OSError:
        return False

pids = {p for p in pids if ours(p)}
for pid in pids:
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
deadline = time.monotonic() + 10
while time.monotonic() < deadline and any(ours(p) for p in pids):
    time.sleep(0.2)
for pid in pids:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
"""


def memory_dir() -> str | None:
    """/dev/shm when it is a usable folder, else None (the default temporary folder)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


class PrivateDir:
    def __init__(self, path: Path, guard: subprocess.Popen[bytes] | None) -> None:
        self.path = path
        self._guard = guard
        self._watched: set[int] = set()

    def watch(self, pid: int) -> None:
        """Tell the guard the ansible-playbook process to stop should this process die."""
        if self._guard is None or self._guard.stdin is None or pid in self._watched:
            return
        self._watched.add(pid)
        try:
            self._guard.stdin.write(f"pid {pid}\n".encode())
            self._guard.stdin.flush()
        except OSError:  # pragma: no cover - the guard died
            pass

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        guard = self._guard
        if guard is None or guard.stdin is None:
            return
        try:
            guard.stdin.write(b"done\n")  # the run is over: nothing to stop
            guard.stdin.close()
        except OSError:  # pragma: no cover - the guard died
            pass
        try:
            guard.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - the guard only removes a folder
            guard.kill()


@contextlib.contextmanager
def private_dir(prefix: str = "yunwei-run-") -> Iterator[PrivateDir]:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=memory_dir()))
    guard = None
    try:
        guard = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GUARD, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, env={"PATH": "/usr/bin:/bin"},
        )
    finally:
        handle = PrivateDir(path, guard)
    try:
        yield handle
    finally:
        handle.close()

"""A private folder for a run's extra vars that does not outlive the run, even after SIGKILL.

The folder is created 0700 in memory (``/dev/shm`` where it exists, so a secret never reaches a
disk) and removed when the run ends. A ``finally`` does not run when the process is killed, so a
small guard process — in its own session, so a kill of our process group spares it — holds the
read end of a pipe whose write end only this process has: when this process dies for any reason
the pipe reaches EOF and the guard removes the folder.
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

_GUARD = "import shutil,sys\nsys.stdin.buffer.read()\nshutil.rmtree(sys.argv[1], ignore_errors=True)\n"


def memory_dir() -> str | None:
    """/dev/shm when it is a usable folder, else None (the default temporary folder)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


@contextlib.contextmanager
def private_dir(prefix: str = "yunwei-run-") -> Iterator[Path]:
    path = tempfile.mkdtemp(prefix=prefix, dir=memory_dir())
    guard = None
    try:
        guard = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GUARD, path],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, env={"PATH": "/usr/bin:/bin"},
        )
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if guard is not None and guard.stdin is not None:
            guard.stdin.close()
            try:
                guard.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - the guard only removes a folder
                guard.kill()

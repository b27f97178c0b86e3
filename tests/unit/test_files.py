"""The package's one atomic-write helper and its one /proc/PID/stat parser."""

from __future__ import annotations

import os
import stat

import pytest

from yunwei.files import write_atomic
from yunwei.procfs import pid_stat
from yunwei.store.base import process_alive, process_start


def test_write_atomic_replaces_whole_files_and_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "sub" / "state.json"
    write_atomic(path, "一\n")
    assert path.read_text(encoding="utf-8") == "一\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    write_atomic(path, b"two\n", mode=0o600)
    assert path.read_bytes() == b"two\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(TypeError):
        write_atomic(path, 3)  # type: ignore[arg-type]
    assert path.read_bytes() == b"two\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_pid_stat_of_this_process_and_a_gone_one():
    comm, fields = pid_stat(os.getpid())
    assert comm and fields[0] in "RS" and int(fields[1]) == os.getppid()
    assert process_start(os.getpid()) == fields[19] and process_alive(os.getpid(), fields[19])
    assert not process_alive(os.getpid(), str(int(fields[19]) + 1))  # another process with the same pid
    assert pid_stat(2**22 + 1) is None and process_start(2**22 + 1) == ""

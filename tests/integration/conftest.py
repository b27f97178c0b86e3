"""Fixtures of the lab integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture()
def yw(lab, tmp_path):
    """yunwei(*args) in an isolated var/ and store, on this lab's generated inventory."""
    var = tmp_path / "var"
    (var / "labs").mkdir(parents=True)
    (var / "labs" / lab.name).symlink_to(lab.inventory.parents[1])
    store = tmp_path / "journal.sqlite"
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(store),
           "YUNWEI_VAR": str(var), "YUNWEI_OPERATOR": "tester", "YUNWEI_LAB_NAME": lab.name,
           "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("YUNWEI_JOBS", None)

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "yunwei"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)

    run.store, run.var = store, var
    return run

"""Shared fixtures. ``lab`` brings the podman lab up once per session (idempotent, fast when
it already runs) and leaves it running, so repeated test runs stay quick.

Set ``YUNWEI_LAB_NAME`` to use a separate, isolated lab (own containers, network, keys).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))


@pytest.fixture(scope="session")
def lab():
    """A running lab: ``.inventory`` (Path), ``.hosts`` ({name: ip}), ``.ssh_key``, ``.known_hosts``,
    ``.container(host)`` (podman container name) and ``.exec(host, *cmd)`` (run as root inside)."""
    from yunwei_dev.lab import Lab

    return Lab.from_env().up(backups=True)  # the daily inspection reads the backups (a no-op once set up)


@pytest.fixture()
def tmp_store(tmp_path):
    """Path of a fresh SQLite journal for one test."""
    return tmp_path / "journal.sqlite"

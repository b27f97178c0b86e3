"""Shared helpers for the runner-layer tests: an isolated var/, a local-connection job
catalogue, operators with their own SSH keys and an allowed_signers file."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PLAYBOOK = """\
- name: Local test change
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the target file
      ansible.builtin.copy:
        content: "greeting={{ greeting | default('hello') }}\\n"
        dest: "{{ target }}"
        mode: "0644"
    - name: Use a secret without logging it
      ansible.builtin.set_fact:
        yunwei_test_seen: "{{ (secret_token | default('')) | length }}"
      no_log: true
"""


@dataclass
class Env:
    root: Path
    var: Path
    jobs: Path
    target: Path
    keys: dict[str, Path]
    allowed: Path
    monkeypatch: pytest.MonkeyPatch

    def as_operator(self, name: str) -> None:
        self.monkeypatch.setenv("YUNWEI_OPERATOR", name)
        self.monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(self.keys[name]))


def make_key(directory: Path, name: str) -> Path:
    key = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def write_allowed(path: Path, keys: dict[str, Path]) -> None:
    lines = []
    for name, key in keys.items():
        pub = (key.with_suffix(".pub") if key.suffix else Path(str(key) + ".pub")).read_text().split()
        lines.append(f'{name} namespaces="yunwei-approval" {pub[0]} {pub[1]}')
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture()
def env(tmp_path, monkeypatch) -> Env:
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("YUNWEI_VAR", str(var))
    monkeypatch.delenv("YUNWEI_CONFIG", raising=False)
    monkeypatch.delenv("YUNWEI_APPROVAL_TTL_HOURS", raising=False)
    monkeypatch.setenv("YUNWEI_STORE", str(tmp_path / "journal.sqlite"))
    target = tmp_path / "target.txt"
    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    # a change job's playbook (its path or its content) cannot be a read-only job's
    (tmp_path / "pb_read.yml").write_text("# the read-only job's own playbook\n" + PLAYBOOK)
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    local1:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(
        "jobs:\n"
        "  local_change:\n    class: change\n    secret_vars: [secret_token]\n"
        f"    playbook: {tmp_path}/pb.yml\n    inventory: {tmp_path}/inv.yml\n"
        f"    vars: {{target: {target}}}\n"
        "  local_read:\n    class: read-only\n    extra_vars: [greeting, secret_token, 'inspection_*']\n"
        f"    playbook: {tmp_path}/pb_read.yml\n    inventory: {tmp_path}/inv.yml\n"
        f"    vars: {{target: {tmp_path}/read.txt}}\n"
    )
    monkeypatch.setenv("YUNWEI_JOBS", str(jobs))
    keydir = tmp_path / "keys"
    keydir.mkdir()
    keys = {name: make_key(keydir, name) for name in ("alice", "bob", "carol")}
    allowed = tmp_path / "allowed_signers"
    write_allowed(allowed, {"alice": keys["alice"], "bob": keys["bob"]})  # carol has no entry
    monkeypatch.setenv("YUNWEI_ALLOWED_SIGNERS", str(allowed))
    e = Env(tmp_path, var, jobs, target, keys, allowed, monkeypatch)
    e.as_operator("alice")
    return e


def fake_run_job(job, *, check=False, extravars=None, **kwargs):
    """Stands in for ansible-runner where a test is about the review logic, not about Ansible
    (this machine runs ansible-playbook slowly under load); the real runner has its own tests."""
    import uuid

    from yunwei.runner import RunResult

    all_vars = {**job.vars, **(extravars or {})}
    target = Path(all_vars["target"])
    if not check:
        target.write_text(f"greeting={all_vars.get('greeting', 'hello')}\n")
    return RunResult(run_id=str(uuid.uuid4()), job=job.name, status="successful", rc=0,
                     artifact_dir=target.parent / "no-artifacts", stats={"local1": {"ok": 2}},
                     changes=[{"host": "local1", "task": "Write the target file", "diff": ""}])

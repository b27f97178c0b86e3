"""SIGKILL of ``yunwei execute`` mid-run: no secret left behind, the run stopped rather than
going on unsupervised, the request recorded as interrupted (not "running" forever), and it does
not run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner_helpers import env, fake_run_job  # noqa: F401  (fixture)

from yunwei.audit import default_log
from yunwei.review import workflow

SLOW_PLAYBOOK = """\
- name: A change that takes a while
  hosts: all
  gather_facts: false
  tasks:
    - name: Use the secret
      ansible.builtin.set_fact:
        seen: "{{ secret_token | length }}"
      no_log: true
    - name: Wait long enough to be killed
      ansible.builtin.wait_for:
        timeout: 30
"""

# the child process is yunwei itself; only where the secret folder goes is pointed at the test's
CHILD = """
import sys
import yunwei.runner.secrets as s
s.memory_dir = lambda: sys.argv[1]
from yunwei.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _running(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (this test's private folder)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_execute_leaves_no_secret_and_is_interrupted(env, monkeypatch):  # noqa: F811
    secret = "K1ll-safe-S3cret-42"
    (env.root / "pb.yml").write_text(SLOW_PLAYBOOK)
    monkeypatch.setattr(workflow, "run_job", fake_run_job)  # the preview is not what this test is about
    env.as_operator("alice")
    req = workflow.create_request("local_change", quiet=True, extravars={"secret_token": secret})
    env.as_operator("bob")
    workflow.approve(req["id"])
    env.as_operator("alice")
    shm = env.root / "shm"
    shm.mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(shm), "execute", req["id"], "-q",
                              "-e", f"secret_token={secret}"],
                             env=dict(os.environ), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        vars_files = _wait(lambda: list(shm.glob("yunwei-run-*/extravars.json")), 60, "the extra-vars file")
        assert secret in vars_files[0].read_text()
        events = env.var / "runner"
        _wait(lambda: any("Wait long enough" in p.read_text(errors="replace")
                          for p in events.rglob("job_events/*.json")), 60, "the run to reach its long task")
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # yunwei and everything in its process group
        child.wait()
    _wait(lambda: not list(shm.iterdir()), 15, "the guard to remove the secret folder")
    _wait(lambda: not _running(str(shm)), 20, "the guard to stop the orphaned ansible-playbook")
    for path in env.var.rglob("*"):
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path
    assert [r["state"] for r in workflow.list_requests()] == ["executed (interrupted)"]
    last = list(default_log().records())[-1]
    assert last["event"] == "result" and last["status"] == "interrupted"
    try:
        workflow.execute(req["id"], quiet=True, secret_values={"secret_token": secret})
        raise AssertionError("an interrupted request ran again")
    except Exception as exc:  # noqa: BLE001
        assert "already ran" in str(exc)
    assert Path(env.target).exists() is False

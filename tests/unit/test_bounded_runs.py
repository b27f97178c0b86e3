"""Every job bounded, and a run that does nothing is no success (issue 10, items 3 and 4): real
ansible-playbook runs on the local connection through the runner layer."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import time
import uuid

import pytest
from runner_helpers import env  # noqa: F401  (fixture)
from test_schedule import activate, at, sched  # noqa: F401  (fixtures and helpers)

from yunwei.audit import default_log
from yunwei.cli import main
from yunwei.commands.run import run_readonly
from yunwei.errors import InputError
from yunwei.jobs import get_job
from yunwei.runner.watchdog import Watchdog, job_pids
from yunwei.schedule.tick import _lock_path, tick
from yunwei.store import open_store

STUCK = """\
- name: A job whose worker ignores TERM
  hosts: all
  gather_facts: false
  tasks:
    - name: Sleep, ignoring TERM (as a worker blocked in C does)
      ansible.builtin.command: sh -c 'trap "" TERM; sleep 120'
      changed_when: false
"""
SLOW = STUCK.replace("""sh -c 'trap "" TERM; sleep 120'""", "sleep 120")
CHECKED = """\
- name: A job that validates its input first
  hosts: all
  gather_facts: false
  tasks:
    - name: Validate | the limit is a number
      ansible.builtin.assert:
        that: limit | int > 0
        fail_msg: "limit: must be a positive number, got {{ limit }}"
    - name: Use it
      ansible.builtin.command: "true"
      changed_when: false
"""


def _catalogue(env, **playbooks: str) -> None:  # noqa: F811
    # grace > the 3 s the journal's SIGTERM handler may take to record the run
    lines = ["defaults:", f"  inventory: {env.root}/inv.yml", "  kill_grace: 8", "jobs:"]
    for name, text in playbooks.items():
        (env.root / f"{name}.yml").write_text(text)
        lines += [f"  {name}:", "    class: read-only", f"    playbook: {env.root}/{name}.yml", "    timeout: 3", "    extra_vars: [limit]"]
    site = env.root / "site.yml"
    site.write_text("\n".join(lines) + "\n")
    env.monkeypatch.setenv("YUNWEI_JOBS", str(site))


def _journal(run_id: str):
    with open_store() as store:
        return store.get_run(run_id)


def _audit(run_id: str, event: str) -> dict:
    return [r for r in default_log().records() if r.get("run_id") == run_id and r["event"] == event][-1]


def test_watchdog_terms_every_process_of_the_run_then_kills_what_ignores_it():
    run_id = str(uuid.uuid4())
    env = {**os.environ, "YUNWEI_RUN_ID": run_id}
    # a process of the run in a session of its own (as ansible-core 2.19 starts its workers) that ignores TERM,
    # and one that does not
    stuck = subprocess.Popen(["sh", "-c", 'trap "" TERM; sleep 60'], env=env, start_new_session=True)
    polite = subprocess.Popen(["sleep", "60"], env=env)
    other = subprocess.Popen(["sleep", "60"])  # not of this run: left alone
    try:
        time.sleep(0.3)
        found = set(job_pids(run_id))  # with the sleep under the stuck shell
        assert {stuck.pid, polite.pid} <= found and other.pid not in found
        dog = Watchdog(run_id, timeout=0.5, grace=1.0).start()
        time.sleep(0.5 + 1.0 + 1.5)
        dog.stop()
        assert dog.fired and dog.killed
        assert polite.wait(5) == -signal.SIGTERM and stuck.wait(5) == -signal.SIGKILL
        assert other.poll() is None and job_pids(run_id) == []
    finally:
        for proc in (stuck, polite, other):
            proc.kill()
            proc.wait()


def test_watchdog_does_nothing_when_the_run_ends_in_time():
    dog = Watchdog(str(uuid.uuid4()), timeout=30, grace=1).start()
    t0 = time.monotonic()
    dog.stop()
    assert not dog.fired and time.monotonic() - t0 < 2


def test_timeout_ends_the_job_and_records_it(env):  # noqa: F811
    _catalogue(env, stuck=STUCK)
    t0 = time.monotonic()
    result = run_readonly("stuck", quiet=True)
    took = time.monotonic() - t0
    assert result.status == "timeout" and not result.ok and result.rc != 0
    assert job_pids(result.run_id) == []  # a worker that ignored TERM is gone too (KILL after the grace)
    assert took < 3 + 8 + 15, took  # timeout + grace (+ start-up), not the task's 120 s
    run = _journal(result.run_id)
    assert run.status == "timeout" and not run.completed and "timed out after 3 s (jobs.stuck.timeout)" in run.reason
    rec = _audit(result.run_id, "result")
    assert rec["status"] == "timeout" and rec["journal_status"] == "timeout" and rec["reason"] == run.reason


def test_timeout_term_is_enough_for_a_well_behaved_job(env, capsys):  # noqa: F811
    _catalogue(env, slow=SLOW)
    assert main(["run", "slow", "-q"]) == 1
    err = capsys.readouterr().err
    assert "timed out after 3 s" in err and "KILL" not in err
    run = _journal(_audit_last("result")["run_id"])
    assert run.status == "timeout"


def _audit_last(event: str) -> dict:
    return [r for r in default_log().records() if r["event"] == event][-1]


def test_no_host_matched_is_a_failed_run(env, capsys):  # noqa: F811
    (env.root / "empty.yml").write_text("all:\n  hosts: {}\n")
    site = env.root / "site.yml"
    site.write_text(f"jobs:\n  nohosts:\n    class: read-only\n    playbook: {env.root}/pb_read.yml\n"
                    f"    inventory: {env.root}/empty.yml\n")
    env.monkeypatch.setenv("YUNWEI_JOBS", str(site))
    assert main(["run", "nohosts", "-q"]) == 1
    assert "no host matched" in capsys.readouterr().err
    rec = _audit_last("result")
    run = _journal(rec["run_id"])
    assert run.status == "failed" and not run.completed and "no host matched" in run.reason
    assert rec["journal_status"] == "failed" and "no host matched" in rec["reason"]


def test_validation_failure_before_any_host_is_bad_input(env, capsys):  # noqa: F811
    _catalogue(env, checked=CHECKED)
    extra = env.root / "limit.yml"
    extra.write_text("limit: many\n")
    assert main(["run", "checked", "-q", "-e", f"@{extra}"]) == 2
    err = capsys.readouterr().err
    assert "limit: must be a positive number, got many" in err and "no host was contacted" in err
    run = _journal(_audit_last("result")["run_id"])
    assert run.status == "failed" and run.reason.startswith("bad input, no host contacted")
    assert "/tmp/yunwei-run-" not in run.reason


def test_inventory_ansible_cannot_parse_is_a_failed_run_with_its_error(env, capsys):  # noqa: F811
    (env.root / "hosts").write_text("[web\nweb01 ansible_host=\n")  # INI, broken: Ansible's to judge
    site = env.root / "site.yml"
    site.write_text(f"jobs:\n  brokeninv:\n    class: read-only\n    playbook: {env.root}/pb_read.yml\n"
                    f"    inventory: {env.root}/hosts\n")
    env.monkeypatch.setenv("YUNWEI_JOBS", str(site))
    assert main(["run", "brokeninv", "-q"]) == 1
    run = _journal(_audit_last("result")["run_id"])
    assert run.status == "failed" and "inventory" in run.reason.lower(), run.reason


def test_malformed_yaml_inventory_is_refused_before_ansible_starts(env, capsys):  # noqa: F811
    inv = env.root / "dup.yml"
    inv.write_text("all:\n  hosts:\n    web01: {}\n  hosts:\n    db01: {}\n")
    site = env.root / "site.yml"
    site.write_text(f"jobs:\n  dupinv:\n    class: read-only\n    playbook: {env.root}/pb_read.yml\n"
                    f"    inventory: {inv}\n")
    env.monkeypatch.setenv("YUNWEI_JOBS", str(site))
    assert main(["run", "dupinv", "-q"]) == 2
    err = capsys.readouterr().err
    assert f"{inv}: all.hosts: duplicate key" in err
    assert _audit_last("refusal")["job"] == "dupinv" and not list((env.var / "runner").glob("*/artifacts"))


def test_a_named_lab_uses_its_own_inventory(env, monkeypatch):  # noqa: F811
    monkeypatch.delenv("YUNWEI_JOBS")
    monkeypatch.setenv("YUNWEI_LAB_NAME", "other")
    assert get_job("inspect").inventory_path() == env.var / "labs" / "other" / "inventory"
    monkeypatch.setenv("YUNWEI_LAB_NAME", "yunwei")
    assert get_job("inspect").inventory_path().parts[-2:] == ("inventories", "lab")
    monkeypatch.setenv("YUNWEI_LAB_NAME", "other")
    with pytest.raises(InputError, match="lab up"):
        run_readonly("inspect", quiet=True)


def test_tick_reports_a_run_holding_its_lock_past_its_timeout(env, sched, capsys):  # noqa: F811
    activate(env)
    timeout = get_job("local_read").timeout
    path = _lock_path("local_read")
    with open(path, "a+") as fh:  # another tick, started long ago, still holds the lock
        fcntl.flock(fh, fcntl.LOCK_EX)
        started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=timeout + 600)
        fh.write(json.dumps({"pid": 4242, "started": started.isoformat(), "timeout": timeout, "kill_grace": 30}))
        fh.flush()
        report = tick(runner=lambda j, p: pytest.fail("must not run while the lock is held"))
        assert report.busy == ["local_read"] and report.stuck[0]["pid"] == 4242
        assert 560 <= report.stuck[0]["overdue_s"] <= 600
        assert main(["schedule", "tick"]) == 1
        assert "STUCK" in capsys.readouterr().err
        assert _audit_last("stuck_run")["job"] == "local_read"
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": 4242, "started": dt.datetime.now(dt.timezone.utc).isoformat(),
                             "timeout": timeout, "kill_grace": 30}))
        fh.flush()
        assert tick(runner=lambda j, p: pytest.fail("busy")).stuck == []  # within its timeout: just busy

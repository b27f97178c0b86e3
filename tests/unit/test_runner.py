"""The runner: a private data dir per run, the environment it sets, secrets kept out of var/."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from runner_helpers import env  # noqa: F401  (fixture)

from yunwei.audit import default_log
from yunwei.cli import main
from yunwei.paths import project_root
from yunwei.runner.env import JOURNAL_CALLBACK, job_envvars, operator
from yunwei.runner.progress import Collector, render_diff

SECRET = "s3cr3t-Tok3n-9f8e7d"


def test_run_readonly_job_end_to_end(env, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("UNRELATED_PASSWORD", "do-not-store-me")
    private_tmp = env.root / "tmp"  # not the global /tmp: other yunwei runs may be in flight there
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    import yunwei.runner.secrets as run_secrets

    assert run_secrets.memory_dir() == "/dev/shm"  # in memory by default
    monkeypatch.setattr(run_secrets, "memory_dir", lambda: str(private_tmp))
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def spy_mkdtemp(*a, **kw):
        made.append(real_mkdtemp(*a, **kw))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", spy_mkdtemp)
    assert main(["run", "local_read", "-e", f"secret_token={SECRET}", "-e", "greeting=hi", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "successful" and out["stats"]["local1"]["changed"] == 1
    assert (env.root / "read.txt").read_text() == "greeting=hi\n"
    artifacts = Path(out["artifacts"])
    assert artifacts.is_relative_to(env.var / "runner" / out["run_id"])
    assert (artifacts / "stdout").is_file() and list((artifacts / "job_events").iterdir())
    # the environment the job ran in
    command = json.loads((artifacts / "command").read_text())
    run_env = command["env"]
    assert run_env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert JOURNAL_CALLBACK in run_env["ANSIBLE_CALLBACKS_ENABLED"].split(",")
    assert run_env["ANSIBLE_CONFIG"] == str(project_root() / "ansible.cfg")
    assert Path(run_env["ANSIBLE_COLLECTIONS_PATH"]).is_absolute()
    assert (Path(run_env["ANSIBLE_COLLECTIONS_PATH"]) / "ansible_collections/yunwei/ops/galaxy.yml").is_file()
    assert run_env["YUNWEI_RUN_ID"] == out["run_id"] and run_env["YUNWEI_JOB"] == "local_read"
    assert run_env["YUNWEI_OPERATOR"] == "alice" and run_env["YUNWEI_CONTENT_DIGEST"].startswith("sha256:")
    assert "UNRELATED_PASSWORD" not in run_env
    # no secret (extra var or unrelated environment) anywhere under var/
    for path in env.var.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data, path
            assert b"do-not-store-me" not in data, path
    # the private extra-vars file is gone
    secret_dirs = [d for d in made if Path(d).name.startswith("yunwei-run-")]
    assert secret_dirs and all(Path(d).parent == private_tmp and not Path(d).exists() for d in secret_dirs)
    assert not [d for d in os.listdir(private_tmp) if d.startswith("yunwei-run-")]
    # the journal callback recorded the run with the runner's identity
    from yunwei.store import open_store

    run = open_store(str(env.root / "journal.sqlite")).get_run(out["run_id"])
    assert run is not None and run.job == "local_read" and run.operator == "alice"
    assert run.content_digest == run_env["YUNWEI_CONTENT_DIGEST"]
    recs = list(default_log().records())
    assert [r["event"] for r in recs] == ["execution", "result"]
    assert recs[0]["extravars"] == ["greeting", "secret_token"] and SECRET not in json.dumps(recs)
    assert recs[1]["status"] == "successful" and recs[1]["run_id"] == out["run_id"]


def test_job_envvars_inherit_nothing_that_decides_the_run(monkeypatch):
    for name, value in {"ANSIBLE_CALLBACKS_ENABLED": "evil", "ANSIBLE_BECOME_FLAGS": "-H -S", "PYTHONPATH": "/x",
                        "LD_PRELOAD": "/x.so", "ANSIBLE_LIBRARY": "/x", "PATH": "/home/alice/bin:/usr/bin"}.items():
        monkeypatch.setenv(name, value)
    e = job_envvars(run_id="r1", job="inspect", profile="daily", operator_name="li", content_digest="sha256:x")
    assert e["ANSIBLE_CALLBACKS_ENABLED"] == JOURNAL_CALLBACK
    assert not {"ANSIBLE_BECOME_FLAGS", "PYTHONPATH", "LD_PRELOAD", "ANSIBLE_LIBRARY"} & set(e)
    assert "/home/alice/bin" not in e["PATH"]
    assert e["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert e["YUNWEI_PROFILE"] == "daily" and e["YUNWEI_OPERATOR"] == "li"


def test_operator_is_login_unless_overridden(monkeypatch):
    monkeypatch.delenv("YUNWEI_OPERATOR", raising=False)
    import getpass

    assert operator() == getpass.getuser()
    monkeypatch.setenv("YUNWEI_OPERATOR", "zhang")
    assert operator() == "zhang"


def test_collector_and_diff():
    lines: list[str] = []
    c = Collector(echo=lines.append)
    c.event({"event": "playbook_on_task_start", "event_data": {"task": "Write"}})
    c.event({"event": "runner_on_ok", "event_data": {"host": "web01", "task": "Write", "res": {
        "changed": True, "diff": {"before": "a\n", "after": "b\n", "before_header": "f", "after_header": "f"}}}})
    c.event({"event": "runner_on_failed", "event_data": {"host": "db01", "task": "Write", "res": {"msg": "boom"}}})
    c.event({"event": "playbook_on_stats", "event_data": {"ok": {"web01": 1}, "changed": {"web01": 1},
                                                          "failures": {"db01": 1}}})
    c.status({"status": "successful"})
    assert lines == ["TASK Write", "  web01: changed", "  db01: failed", "status: successful"]
    assert c.changes[0]["diff"].splitlines()[2:] == ["@@ -1 +1 @@", "-a", "+b"]
    assert c.failures == [{"host": "db01", "task": "Write", "state": "failed", "msg": "boom"}]
    assert c.stats == {"web01": {"ok": 1, "changed": 1}, "db01": {"failures": 1}}
    assert render_diff([{"prepared": "x"}, "junk"]) == "x"


def test_collector_bad_input_after_a_read_only_preflight_only():
    def events(*results):
        c = Collector(quiet=True)
        for name, action, res in results:
            c.event({"event": name, "event_data": {"host": "drill01", "task": "t", "resolved_action": action, "res": res}})
        return c

    fail = ("runner_on_failed", "ansible.builtin.assert", {"msg": "restore_drill_dataset: data set x has no backup yet"})
    probe = ("runner_on_ok", "yunwei.ops.restore", {"changed": False, "preflight": True, "missing": []})
    skipped = ("runner_on_skipped", "yunwei.ops.restore", {"skipped": True})
    # a skipped task and a read-only pre-flight contact no host to change it: the refusal is bad input
    c = events(skipped, probe, fail)
    assert c.input_errors == [fail[2]["msg"]] and c.preflight and not c.contacted
    # any other module (or a pre-flight that says it changed something) ran: an ordinary failure
    for first in (("runner_on_ok", "yunwei.ops.restore", {"changed": False}),
                  ("runner_on_ok", "yunwei.ops.restore", {"changed": True, "preflight": True})):
        c = events(first, fail)
        assert c.input_errors == [] and c.contacted


def test_command_artifact_redacts_store_password(tmp_path):
    from yunwei.runner.run import _scrub_command_artifact

    url = "postgresql://yunwei:pg-Pa55w0rd@db.example/yunwei"
    (tmp_path / "command").write_text(json.dumps(
        {"command": ["ansible-playbook"], "env": {"YUNWEI_STORE": url, "HOME": "/root", "YUNWEI_JOB": "j"}}))
    _scrub_command_artifact(tmp_path, {"YUNWEI_STORE", "YUNWEI_JOB"})
    data = (tmp_path / "command").read_text()
    assert "pg-Pa55w0rd" not in data
    assert json.loads(data)["env"] == {"YUNWEI_STORE": "postgresql://yunwei:***@db.example/yunwei", "YUNWEI_JOB": "j"}
    (tmp_path / "command").write_text(json.dumps(
        {"env": {"YUNWEI_STORE": "postgresql:///yunwei?host=/run/pg&password=pg-Pa55w0rd"}}))
    _scrub_command_artifact(tmp_path, {"YUNWEI_STORE"})
    assert "pg-Pa55w0rd" not in (tmp_path / "command").read_text()


def test_profile_reaches_the_playbook_as_inspection_profile(env, monkeypatch):  # noqa: F811
    from runner_helpers import fake_run_job

    import yunwei.commands.run as run_cmd
    from yunwei.commands.run import run_readonly
    from yunwei.errors import InputError

    env.jobs.write_text(env.jobs.read_text() + "  local_inspect:\n    class: read-only\n    profile: daily\n    extra_vars: [inspection_profile]\n"
                        f"    playbook: {env.root}/pb_read.yml\n    inventory: {env.root}/inv.yml\n"
                        f"    vars: {{target: {env.root}/read.txt}}\n")
    calls: list[dict] = []

    def spy(job, **kwargs):
        calls.append(kwargs)
        return fake_run_job(job, **kwargs)

    monkeypatch.setattr(run_cmd, "run_job", spy)
    run_readonly("local_inspect", profile="heightened", quiet=True)   # yunwei run --profile heightened
    assert calls[-1]["extravars"]["inspection_profile"] == "heightened" and calls[-1]["profile"] == "heightened"
    run_readonly("local_inspect", quiet=True)                         # the job's own profile
    assert calls[-1]["extravars"]["inspection_profile"] == "daily" and calls[-1]["profile"] == "daily"
    run_readonly("local_read", quiet=True)                            # no profile: not an inspection
    assert "inspection_profile" not in (calls[-1]["extravars"] or {})
    run_readonly("local_inspect", extravars={"inspection_profile": "heightened"}, quiet=True)
    assert calls[-1]["extravars"]["inspection_profile"] == "heightened" and calls[-1]["profile"] == "heightened"
    try:
        run_readonly("local_inspect", extravars={"inspection_profile": "daily"}, profile="heightened", quiet=True)
        raise AssertionError("a contradicting -e inspection_profile was accepted")
    except InputError as exc:
        assert exc.key == "inspection_profile"
    execs = [r for r in default_log().records() if r["event"] == "execution"]
    assert execs[0]["profile"] == "heightened" and "inspection_profile" in execs[0]["extravars"]


FACT_SECRET = "vaulted-F4ct-5ecret-71c2"
ENV_SECRET = "seeded-env-V4lue-0b9d"
FACTS_PLAYBOOK = """\
- name: Facts must not reach the artifacts
  hosts: all
  gather_facts: true
  tasks:
    - name: Load (as if vaulted) variables
      ansible.builtin.include_vars:
        file: "{{ playbook_dir }}/secret_vars.yml"
    - name: Keep a secret as a fact
      ansible.builtin.set_fact:
        kept_secret: "{{ inc_secret }}"
    - name: Facts in a loop
      ansible.builtin.set_fact:
        "looped_{{ item }}": "{{ inc_secret }}-{{ item }}"
      loop: [a, b]
"""


def test_artifacts_keep_no_facts(env, monkeypatch):  # noqa: F811
    from yunwei.jobs import Job
    from yunwei.runner import run_job

    monkeypatch.setenv("YW_SEEDED_ENV", ENV_SECRET)  # lands in the gathered ansible_env
    (env.root / "facts.yml").write_text(FACTS_PLAYBOOK)
    (env.root / "secret_vars.yml").write_text(f"inc_secret: {FACT_SECRET}\n")
    job = Job(name="facts", job_class="read-only", playbook=str(env.root / "facts.yml"),
              inventory=str(env.root / "inv.yml"), source=str(env.jobs))
    result = run_job(job, quiet=True)
    assert result.ok, result.stdout()
    events = list((result.artifact_dir / "job_events").iterdir())
    assert events and any("runner_on_ok" in p.read_text() for p in events)
    private = result.artifact_dir.parent
    assert not (result.artifact_dir / "fact_cache").exists()
    for path in private.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert FACT_SECRET.encode() not in data, path
            assert ENV_SECRET.encode() not in data, path

"""The journal callback ``yunwei.ops.journal`` end to end (issue 3): real ansible-playbook and
ansible-runner runs on the local connection, recorded into SQLite or a real PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_server import pg_server_url, pg_url  # noqa: E402,F401  (fixtures)

from yunwei.store import open_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CALLBACK = ROOT / "plugins" / "callback" / "journal.py"

FAKE_COLLECTOR = '''#!/usr/bin/python
from __future__ import annotations
DOCUMENTATION = "module: fake_collector\\nshort_description: test collector\\n"
from ansible.module_utils.basic import AnsibleModule


def main():
    m = AnsibleModule(argument_spec=dict(value=dict(type="float", default=87.5)), supports_check_mode=True)
    v = m.params["value"]
    status = "crit" if v >= 90 else "warn" if v >= 80 else "ok"
    m.exit_json(
        changed=False,
        checks=[
            dict(id="HOST-FS-001", category="host", title="文件系统使用率", instance="/srv", status=status, value=v,
                 unit="%", threshold=dict(warn=80, crit=90), evidence="/srv %s%% used" % v,
                 suggestion="" if status == "ok" else "清理 /srv 下的过期文件或扩容"),
            dict(id="HOST-SVC-001", category="host", title="服务状态", instance="nginx", status="ok", value="running"),
        ],
        metrics=[
            dict(name="fs.used_pct", instance="/srv", value=v, unit="%", time=1764057600.0),
            dict(name="load.1m", instance="", value=0.5, unit="", time=1764057601.0),
        ],
    )


if __name__ == "__main__":
    main()
'''


class Env:
    """A temp workspace: inventory of local hosts, a store, isolated ansible temp dirs."""

    def __init__(self, tmp: Path, store: str | None = None) -> None:
        self.tmp = tmp
        self.store = store or str(tmp / "journal.sqlite")
        self.inventory = tmp / "hosts.ini"
        self.write_inventory(["h1", "h2"])
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("YUNWEI_", "ANSIBLE_"))}
        self.env.update(
            PATH=f"{BIN}:{os.environ.get('PATH', '')}",
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_HOME=str(tmp / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local-tmp"),
            ANSIBLE_REMOTE_TEMP=str(tmp / "ansible-remote-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp / "cp"),
            YUNWEI_STORE=self.store,
            YUNWEI_VAR=str(tmp / "var"),
        )

    def write_inventory(self, hosts: list[str], extra: str = "") -> None:
        self.inventory.write_text(
            "[local]\n" + "\n".join(hosts) + "\n\n[local:vars]\nansible_connection=local\n"
            f"ansible_python_interpreter={sys.executable}\n" + extra
        )

    def playbook(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(textwrap.dedent(text))
        return path

    def popen(self, playbook: Path, *args: str, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
        return subprocess.Popen(
            [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(playbook), *args],
            cwd=self.tmp, env={**self.env, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, **kw,
        )

    def run(self, playbook: Path, *args: str, env: dict[str, str] | None = None, rc: int | None = 0) -> str:
        proc = self.popen(playbook, *args, env=env)
        out, _ = proc.communicate(timeout=120)
        if rc is not None:
            assert proc.returncode == rc, out
        return out

    def open(self):
        return open_store(self.store)


@pytest.fixture()
def env(tmp_path):
    return Env(tmp_path)


BASIC = """\
- name: Journal basics
  hosts: local
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
    - name: Change something
      ansible.builtin.command: echo changed
    - name: Skipped
      ansible.builtin.debug:
        msg: never
      when: false
    - name: Failing but ignored
      ansible.builtin.fail:
        msg: boom
      ignore_errors: true
    - name: Loop
      ansible.builtin.debug:
        msg: "{{ item }}"
      loop: [1, 2]
"""


def _only_run(store):
    runs = store.list_runs()
    assert len(runs) == 1, runs
    return runs[0]


# ------------------------------------------------------------------ point 1: what is recorded
def test_records_run_hosts_and_results(env):
    pb = env.playbook("basic.yml", BASIC)
    run_id = str(uuid.uuid4())
    out = env.run(pb, env={"YUNWEI_RUN_ID": run_id, "YUNWEI_JOB": "inspect", "YUNWEI_PROFILE": "daily",
                           "YUNWEI_OPERATOR": "alice", "YUNWEI_CONTENT_DIGEST": "sha256:feed"})
    assert "yunwei.ops.journal" not in out  # no journal warning
    with env.open() as store:
        run = _only_run(store)
        assert run.id == run_id
        assert (run.playbook, run.job, run.profile, run.operator, run.content_digest) == (
            str(pb), "inspect", "daily", "alice", "sha256:feed")
        assert run.status == "ok" and run.ansible_version.startswith("2.")
        assert run.started_at < run.ended_at
        assert run.hosts == ["h1", "h2"]
        stats = {s.host: s for s in run.host_stats}
        assert (stats["h1"].ok, stats["h1"].changed, stats["h1"].skipped, stats["h1"].ignored) == (4, 1, 1, 1)
        results = store.task_results(run_id)
        assert len(results) == 10
        assert [r.seq for r in results] == list(range(1, 11))
        by = {(r.host, r.task): r for r in results}
        assert by[("h1", "Ping")].status == "ok" and by[("h1", "Ping")].action == "ansible.builtin.ping"
        assert by[("h1", "Ping")].result["ping"] == "pong"
        assert by[("h2", "Change something")].status == "changed"
        assert by[("h2", "Change something")].result["stdout"] == "changed"
        assert by[("h1", "Skipped")].status == "skipped"
        fail = by[("h1", "Failing but ignored")]
        assert fail.status == "failed" and fail.ignore_errors and fail.result["msg"] == "boom"
        assert len(by[("h1", "Loop")].result["results"]) == 2
        for r in results:
            assert r.play == "Journal basics"
            assert r.duration is not None and 0 <= r.duration < 30
            assert r.started_at <= r.ended_at
            assert not any(k.startswith("_ansible") for k in r.result), r.result  # no internal keys
            for item in r.result.get("results", []):
                assert not any(k.startswith("_ansible") for k in item)


def _overlay_collection(tmp: Path) -> Path:
    """A copy of the collection layout with the real callback and a fake yunwei.ops collector module."""
    base = tmp / "collections"
    coll = base / "ansible_collections" / "yunwei" / "ops"
    (coll / "plugins" / "callback").mkdir(parents=True)
    (coll / "plugins" / "modules").mkdir(parents=True)
    (coll / "plugins" / "callback" / "journal.py").symlink_to(CALLBACK)
    (coll / "plugins" / "plugin_utils").symlink_to(ROOT / "plugins" / "plugin_utils")
    (coll / "plugins" / "modules" / "fake_collector.py").write_text(FAKE_COLLECTOR)
    return base


def test_records_checks_and_metrics_of_collection_modules(env):
    env.env["ANSIBLE_COLLECTIONS_PATH"] = str(_overlay_collection(env.tmp))
    pb = env.playbook("collect.yml", """\
        - name: Collect
          hosts: local
          gather_facts: false
          tasks:
            - name: Collect host state
              yunwei.ops.fake_collector:
                value: 87.5
            - name: Collect in a loop
              yunwei.ops.fake_collector:
                value: "{{ item }}"
              loop: [10, 95]
            - name: Hidden collector
              yunwei.ops.fake_collector:
              no_log: true
            - name: Not ours
              ansible.builtin.debug:
                msg:
                  checks: [{id: X-1, status: crit}]
        """)
    env.run(pb, env={"YUNWEI_JOB": "inspect"})
    with env.open() as store:
        run = _only_run(store)
        checks = store.checks(run_id=run.id)
        # 2 hosts x (2 + 2*2) checks; the no_log result is censored and a foreign module is ignored
        assert len(checks) == 12
        fs = [c for c in checks if c.id == "HOST-FS-001" and c.host == "h1"]
        assert sorted(c.value for c in fs) == [10.0, 87.5, 95.0]
        assert sorted(c.status for c in fs) == ["crit", "ok", "warn"]
        warn = next(c for c in fs if c.status == "warn")
        assert (warn.category, warn.title, warn.instance, warn.unit) == ("host", "文件系统使用率", "/srv", "%")
        assert warn.threshold == {"warn": 80, "crit": 90} and warn.suggestion.startswith("清理")
        assert warn.task == "Collect host state" and warn.time is not None
        assert store.checks(job="inspect", status="crit", host="h2")[0].value == 95.0
        metrics = store.metrics(run_id=run.id, name="fs.used_pct", host="h1")
        assert sorted(m.value for m in metrics) == [10.0, 87.5, 95.0]
        assert metrics[0].time.timestamp() == 1764057600.0 and metrics[0].unit == "%"
        hidden = [r for r in store.task_results(run.id) if r.task == "Hidden collector"]
        assert hidden and all("censored" in r.result and "checks" not in r.result for r in hidden)


BAD_METRICS_COLLECTOR = FAKE_COLLECTOR.replace(
    'dict(name="load.1m", instance="", value=0.5, unit="", time=1764057601.0),',
    'dict(name="load.1m", instance="", value=0.5, unit="", time=1764057601.0),\n'
    '            dict(name="bad.nan", instance="", value=float("nan"), unit=""),\n'
    '            dict(name="bad.inf", instance="", value=float("inf"), unit=""),\n'
    '            dict(name="bad.bool", instance="", value=True, unit=""),',
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_invalid_metric_is_dropped_not_the_batch(env, backend, request):
    assert "bad.nan" in BAD_METRICS_COLLECTOR
    if backend == "postgresql":
        env.store = env.env["YUNWEI_STORE"] = request.getfixturevalue("pg_url")
    coll = _overlay_collection(env.tmp)
    (coll / "ansible_collections" / "yunwei" / "ops" / "plugins" / "modules" / "fake_collector.py").write_text(
        BAD_METRICS_COLLECTOR)
    env.env["ANSIBLE_COLLECTIONS_PATH"] = str(coll)
    pb = env.playbook("collect.yml", """\
        - name: Collect
          hosts: local
          gather_facts: false
          tasks:
            - name: Collect host state
              yunwei.ops.fake_collector:
                value: 87.5
            - name: Plain
              ansible.builtin.debug:
                msg: hi
        """)
    out = env.run(pb)
    assert "bad.nan" in out and "not a finite number" in out  # a warning names the metric
    with env.open() as store:
        run = _only_run(store)
        assert run.status == "ok"
        assert len(store.task_results(run.id)) == 4  # nothing of the batch is lost
        assert len(store.checks(run_id=run.id)) == 4
        names = sorted({m.name for m in store.metrics(run_id=run.id)})
        assert names == ["fs.used_pct", "load.1m"]
        messages = [e.message for e in store.run_errors(run.id)]
        for name in ("bad.nan", "bad.inf", "bad.bool"):
            assert sum(name in m for m in messages) == 2, messages  # once per host
        assert run.error_count == len(messages) == 6


# ------------------------------------------------------------------ point 2: PostgreSQL
def test_records_into_postgresql(env, pg_url):
    env.env["YUNWEI_STORE"] = pg_url
    env.store = pg_url
    pb = env.playbook("basic.yml", BASIC)
    env.run(pb)
    with env.open() as store:
        run = _only_run(store)
        assert run.status == "ok" and run.hosts == ["h1", "h2"]
        assert len(store.task_results(run.id)) == 10


# ------------------------------------------------------------------ point 3: secrets
def _secret_inputs(env: Env, token: str, with_facts: bool) -> tuple[Path, Path, Path, Path]:
    pw = env.tmp / "vault-pass.txt"
    pw.write_text("vault-password-for-tests\n")
    vault = env.tmp / "vault.yml"
    vault.write_text(f"vault_secret: {token}-vault\n")
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(pw), str(vault)],
                   check=True, capture_output=True, env=env.env)
    assert token not in vault.read_text()
    extra = env.tmp / "extra.yml"
    extra.write_text(f"extra_secret: {token}-extra\n")
    facts = """
    - name: Remember the secret as a fact (ansible_facts are not stored)
      ansible.builtin.set_fact:
        combined: "{{ play_secret }} {{ vault_secret }}"
    - name: Load the vault file at run time (its values come back as ansible_facts)
      ansible.builtin.include_vars:
        file: vault.yml
""" if with_facts else ""
    pb = env.playbook("secrets.yml", f"""\
- name: Secrets
  hosts: local
  gather_facts: {str(with_facts).lower()}
  vars_files:
    - vault.yml
  vars:
    play_secret: {token}-vars
  tasks:
    - name: Use every secret, hidden
      ansible.builtin.command: echo {{{{ play_secret }}}} {{{{ extra_secret }}}} {{{{ vault_secret }}}}
      no_log: true
    - name: Literal secret, hidden
      ansible.builtin.shell: echo {token}-nolog
      no_log: true
    - name: Loop over secrets, hidden
      ansible.builtin.command: echo {{{{ item }}}}
      loop:
        - "{{{{ play_secret }}}}"
        - "{{{{ vault_secret }}}}"
      no_log: true
    - name: Fail with a secret, hidden
      ansible.builtin.command: /bin/false {{{{ vault_secret }}}}
      no_log: true
      ignore_errors: true
{facts}
    - name: Harmless
      ansible.builtin.debug:
        msg: nothing to see
""")
    return pb, extra, vault, pw


def _grep_tree(root: Path, token: str, exclude: set[Path], since: float | None = None) -> list[str]:
    hits = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if path in exclude or path.is_symlink() or not path.is_file():
                continue
            try:
                st = path.stat()
                if since is not None and st.st_mtime < since:
                    continue
                if st.st_size > 64 * 1024 * 1024:
                    continue
                if token.encode() in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                continue
    return hits


def _assert_store_clean(env: Env, token: str) -> None:
    with env.open() as store:
        run = _only_run(store)
        results = store.task_results(run.id)
        assert results
        for r in results:
            assert "ansible_facts" not in json.dumps(r.result), r.result
            if r.task.endswith("hidden"):
                assert "censored" in r.result, r.result
        con = sqlite3.connect(env.store)
        dump = "\n".join(con.iterdump())
        con.close()
        assert token not in dump


def test_secrets_never_reach_the_store_or_any_file(env):
    token = "ywsecret" + uuid.uuid4().hex
    pb, extra, vault, pw = _secret_inputs(env, token, with_facts=True)
    start = time.time() - 1
    env.run(pb, "-e", f"@{extra}", "--vault-password-file", str(pw),
            env={"YW_ENV_MARKER": f"{token}-env"})  # lands in ansible_env of the gathered facts
    _assert_store_clean(env, token)
    inputs = {pb, extra}
    assert _grep_tree(env.tmp, token, inputs) == []
    assert _grep_tree(Path("/tmp"), token, inputs, since=start) == []


def test_secrets_under_ansible_runner(env, monkeypatch):
    import ansible_runner

    monkeypatch.setenv("PATH", env.env["PATH"])  # runner looks ansible-playbook up on our PATH

    token = "ywsecret" + uuid.uuid4().hex
    pb, extra, vault, pw = _secret_inputs(env, token, with_facts=False)
    pdd = env.tmp / "runner"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(env.inventory.read_text())
    for f in (pb, vault):
        (pdd / "project" / f.name).write_text(f.read_text())
    start = time.time() - 1
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=pb.name, quiet=True,
                           cmdline=f"-e @{extra} --vault-password-file {pw}",
                           envvars={k: v for k, v in env.env.items() if k.startswith(("ANSIBLE_", "YUNWEI_"))})
    assert r.status == "successful", r.stdout.read()
    _assert_store_clean(env, token)
    inputs = {pb, extra, pdd / "project" / pb.name}
    assert list((pdd / "artifacts").rglob("job_events/*.json"))
    assert _grep_tree(pdd / "artifacts", token, inputs) == []
    assert _grep_tree(env.tmp, token, inputs) == []
    assert _grep_tree(Path("/tmp"), token, inputs, since=start) == []


# ------------------------------------------------------------------ point 4: robustness
def test_unreachable_host_recorded_and_run_continues(env):
    env.write_inventory(["h1"], extra=(
        "\n[dead]\nghost ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh ansible_user=nobody "
        "ansible_timeout=3 ansible_ssh_common_args='-o ConnectTimeout=3 -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null'\n"
    ))
    pb = env.playbook("unreach.yml", """\
        - name: Reach
          hosts: all
          gather_facts: false
          tasks:
            - name: Ping
              ansible.builtin.ping:
            - name: Carry on
              ansible.builtin.debug:
                msg: still here
        """)
    env.run(pb, rc=4)
    with env.open() as store:
        run = _only_run(store)
        assert run.status == "failed"
        assert sorted(run.hosts) == ["ghost", "h1"]
        results = store.task_results(run.id)
        ghost = [r for r in results if r.host == "ghost"]
        assert [r.status for r in ghost] == ["unreachable"]
        assert ghost[0].result.get("unreachable") is True and ghost[0].result.get("msg")
        assert [r.task for r in results if r.host == "h1"] == ["Ping", "Carry on"]
        stats = {s.host: s for s in run.host_stats}
        assert stats["ghost"].unreachable == 1 and stats["h1"].ok == 2


def _long_playbook(env: Env, tasks: int = 60) -> Path:
    body = "".join(f"    - name: Step {i}\n      ansible.builtin.command: sleep 0.1\n      changed_when: false\n"
                   for i in range(tasks))
    return env.playbook("long.yml", "- name: Long\n  hosts: local\n  gather_facts: false\n  tasks:\n" + body)


def _wait_for_results(path: str, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            count = con.execute("SELECT COUNT(*) FROM task_results").fetchone()[0]
            con.close()
            if count >= n:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    raise AssertionError("the journal recorded nothing in time")


def _assert_consistent(path: str) -> None:
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    for (text,) in con.execute("SELECT result FROM task_results"):
        json.loads(text)  # every row complete
    dup = con.execute("SELECT run_id, seq, COUNT(*) FROM task_results GROUP BY run_id, seq HAVING COUNT(*) > 1")
    assert dup.fetchall() == []
    con.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_run_is_marked_interrupted(env, sig):
    pb = _long_playbook(env)
    proc = env.popen(pb, env={"YUNWEI_JOURNAL_FLUSH_INTERVAL": "0.1"}, start_new_session=True)
    try:
        _wait_for_results(env.store, 6, proc)
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole process tree, no chance to clean up
        else:
            proc.send_signal(signal.SIGTERM)  # what ansible-runner and init systems send
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -sig, out
    _assert_consistent(env.store)
    con = sqlite3.connect(env.store)
    raw_status = con.execute("SELECT status FROM runs").fetchone()[0]
    con.close()
    if sig == signal.SIGTERM:
        assert raw_status == "interrupted"  # recorded on the way out
    with env.open() as store:  # next time the store is seen
        run = _only_run(store)
        assert run.status == "interrupted" and run.ended_at is not None
        results = store.task_results(run.id)
        assert 6 <= len(results) < 120
    # the store is still usable for the next run
    env.run(env.playbook("basic.yml", BASIC))
    with env.open() as store:
        assert [r.status for r in store.list_runs()] == ["ok", "interrupted"]
    _assert_consistent(env.store)


_SIGNAL_PRELUDE = """
import importlib.util, multiprocessing, os, signal, sys, time
sys.path.insert(0, {collections!r})  # the collection, as ansible's collection loader would find it
spec = importlib.util.spec_from_file_location("journal_cb", {callback!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
"""


def _run_signal_script(body: str, tmp: Path) -> subprocess.CompletedProcess:
    code = _SIGNAL_PRELUDE.format(callback=str(CALLBACK), collections=str(ROOT / ".collections")) + textwrap.dedent(body)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YUNWEI_", "ANSIBLE_"))}
    env.update(ANSIBLE_HOME=str(tmp / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local-tmp"))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp, env=env)


def test_sigterm_dies_of_the_signal_when_ansible_handler_hits_a_closed_worker(tmp_path):
    # ansible-core's strategy close()s a finished WorkerProcess and only then puts a new one in its
    # slot; SIGTERM in between made TaskQueueManager._signal_handler raise ValueError("process
    # object is closed") through our handler: ansible-playbook exited 250 instead of -15.
    out = _run_signal_script("""
        from ansible.executor.task_queue_manager import TaskQueueManager

        class Tqm:
            pass

        tqm = Tqm()
        worker = multiprocessing.get_context("fork").Process(target=int)
        worker.start()
        worker.join()
        worker.close()
        tqm._workers = [worker]
        signal.signal(signal.SIGTERM, TaskQueueManager._signal_handler.__get__(tqm))
        cb = mod.CallbackModule()
        cb._install_handlers()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        print("still alive")
        """, tmp_path)
    assert out.returncode == -signal.SIGTERM, out.stdout + out.stderr


def test_sigterm_while_main_thread_holds_the_journal_lock(tmp_path):
    # SIGTERM lands while the main thread is inside _enqueue (holding the writer's lock): the
    # handler must neither hang nor re-enter that lock, and the run is still recorded interrupted.
    store_path = tmp_path / "journal.sqlite"
    out = _run_signal_script(f"""
        from yunwei.store import open_store

        opts = dict(store={str(store_path)!r}, run_id="sig-run", job="sig", flush_interval=0.1, batch_size=500,
                    max_result_size=65536, store_facts=False, profile="", operator="", content_digest="")

        class Playbook:
            _file_name = "sig.yml"

        cb = mod.CallbackModule()
        cb.get_option = opts.get
        cb._begin(Playbook())
        deadline = time.time() + 20
        while time.time() < deadline:
            if cb._store is not None:
                break
            time.sleep(0.05)
        assert cb._store is not None, "the run was never opened"
        cb._cond.acquire()  # as if interrupted inside _enqueue
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        print("still alive")
        """, tmp_path)
    assert out.returncode == -signal.SIGTERM, out.stdout + out.stderr
    con = sqlite3.connect(store_path)
    status = con.execute("SELECT status FROM runs WHERE id = 'sig-run'").fetchone()[0]
    con.close()
    assert status == "interrupted", out.stdout + out.stderr


def test_two_playbooks_recording_at_once(env):
    env.write_inventory(["h1", "h2", "h3"])
    body = "".join(f"    - name: Task {i}\n      ansible.builtin.debug:\n        msg: {i}\n" for i in range(15))
    pb = env.playbook("many.yml", "- name: Many\n  hosts: local\n  gather_facts: false\n  tasks:\n" + body)
    stress = {"YUNWEI_JOURNAL_BATCH_SIZE": "1", "YUNWEI_JOURNAL_FLUSH_INTERVAL": "0.05"}
    procs = [env.popen(pb, env=stress) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    for out in outs:
        assert "locked" not in out and "yunwei.ops.journal" not in out, out
    with env.open() as store:
        runs = store.list_runs()
        assert len(runs) == 2 and all(r.status == "ok" for r in runs)
        assert [len(store.task_results(r.id)) for r in runs] == [45, 45]
        assert all(r.error_count == 0 for r in runs)
    _assert_consistent(env.store)


def test_callback_error_is_a_warning_and_recorded(env):
    pb = env.playbook("basic.yml", BASIC)
    out = env.run(pb, env={"YUNWEI_JOURNAL_FAULT": "v2_runner_on_ok"})
    assert "[WARNING]: yunwei.ops.journal: v2_runner_on_ok: RuntimeError" in out
    assert "PLAY RECAP" in out
    with env.open() as store:
        run = _only_run(store)
        assert run.status == "ok"
        errors = store.run_errors(run.id)
        assert errors and run.error_count == len(errors)
        assert "v2_runner_on_ok" in errors[0].message
        # other events are still recorded (ok and changed results both arrive through v2_runner_on_ok)
        assert {r.status for r in store.task_results(run.id)} == {"skipped", "failed"}


def test_unusable_store_is_a_warning_not_a_failure(env):
    blocker = env.tmp / "not-a-dir"
    blocker.write_text("")
    pb = env.playbook("basic.yml", BASIC)
    out = env.run(pb, env={"YUNWEI_STORE": str(blocker / "journal.sqlite")})
    assert "[WARNING]: yunwei.ops.journal: journal store" in out and "not recorded" in out
    assert "PLAY RECAP" in out


def test_unusable_postgresql_store_never_shows_its_password(env):
    secret = "pw" + uuid.uuid4().hex
    url = f"postgresql://yunwei:{secret}@127.0.0.1:1/journal?connect_timeout=3"
    pb = env.playbook("basic.yml", BASIC)
    out = env.run(pb, "-vvv", env={"YUNWEI_STORE": url})
    assert "[WARNING]: yunwei.ops.journal: journal store postgresql://yunwei:***@127.0.0.1:1/journal" in out, out
    assert "not recorded" in out and "PLAY RECAP" in out
    assert secret not in out


# ------------------------------------------------------------------ point 6: ansible-runner
def test_works_under_ansible_runner(env, monkeypatch):
    import ansible_runner

    monkeypatch.setenv("PATH", env.env["PATH"])  # runner looks ansible-playbook up on our PATH

    pdd = env.tmp / "runner"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(env.inventory.read_text())
    (pdd / "project" / "basic.yml").write_text(BASIC)
    run_id = str(uuid.uuid4())
    envvars = {k: v for k, v in env.env.items() if k.startswith(("ANSIBLE_", "YUNWEI_"))}
    envvars.update(YUNWEI_RUN_ID=run_id, YUNWEI_JOB="basic-runner")
    r = ansible_runner.run(private_data_dir=str(pdd), playbook="basic.yml", envvars=envvars, quiet=True)
    assert r.status == "successful", r.stdout.read()
    events = list(r.events)
    assert any(e.get("event") == "runner_on_ok" for e in events)  # runner's stdout callback did its job
    with env.open() as store:
        run = store.get_run(run_id)
        assert run is not None and run.status == "ok" and run.job == "basic-runner"
        results = store.task_results(run_id)
        assert len(results) == 10
        runner_results = [e for e in events if e.get("event") in
                          ("runner_on_ok", "runner_on_failed", "runner_on_skipped")]
        assert len(runner_results) == len(results)

"""Fork safety (issue 10, item 1; docs/journal.md "Fork safety"): Ansible forks its workers while
the journal's writer thread may be inside SQLite. Nothing that runs in a worker (action plugins,
filters, lookups, modules) opens or touches a store; the history the inspection needs is prepared
on the controller and handed over as plain data; a store opened in a forked child raises at once
instead of hanging on a lock copied in its held state."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from yunwei.inspection import dynamic, history
from yunwei.store import ForkedProcessError, Metric, Run, open_reader, open_store

ROOT = Path(__file__).resolve().parents[2]
# Plugin types Ansible runs in forked workers (callbacks run in the controller's main process).
WORKER_PLUGINS = ("action", "filter", "lookup", "modules", "module_utils", "plugin_utils", "test", "inventory", "vars",
                  "connection", "become", "cache", "shell", "strategy")
FORBIDDEN = re.compile(r"yunwei\.store|\bopen_store\b|\bopen_reader\b|\bopen_history\b|SQLiteStore|PostgresStore|"
                       r"^\s*(import|from)\s+(sqlite3|psycopg)", re.M)


def test_no_worker_plugin_imports_or_opens_a_store():
    offenders = []
    for kind in WORKER_PLUGINS:
        for path in sorted((ROOT / "plugins" / kind).glob("**/*.py")):
            for m in FORBIDDEN.finditer(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}")
    assert offenders == [], "worker-side plugins must use data prepared on the controller: " + "; ".join(offenders)


def test_what_the_action_plugin_imports_does_not_import_the_store():
    # the action plugin imports these in the worker: they must not pull in the store (or sqlite3)
    code = ("import sys; import yunwei.inspection.dynamic, yunwei.inspection.history, yunwei.inspection.judge, "
            "yunwei.backup.judge, yunwei.catalogue; yunwei.catalogue.catalogue(); "
            "print(sorted(m for m in sys.modules if m.startswith(('yunwei.store', 'sqlite3', 'psycopg'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _wait(pid: int, limit: float) -> int | None:
    """Exit status of child ``pid`` within ``limit`` seconds, else kill it and return None (a hang)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def _seed(url: Path, host: str = "web01", n: int = 40) -> None:
    now = time.time()
    with open_store(url) as store:
        for i in range(n):
            rid = str(uuid.uuid4())
            t = now - (n - i) * 3600
            store.begin_run(Run(id=rid, job="inspect", started_at=t, hosts=[host]))
            store.write_batch(rid, metrics=[Metric(name="cpu.used_pct", value=10.0 + (i % 3), host=host, time=t),
                                            Metric(name="web.errlog.lines", value=0.0, host=host, time=t)])
            store.finish_run(rid, "ok", ended_at=t + 1)


@pytest.fixture()
def registry(monkeypatch):
    """The module-level history registry, emptied for one test."""
    monkeypatch.setattr(history, "_REGISTRY", {})
    monkeypatch.setattr(history, "_NOTES", {})
    monkeypatch.setattr(history, "_ACTIVE", False)
    return history


def test_fork_while_another_thread_keeps_the_store_busy(tmp_path, registry):
    """The unit-level regression test: a thread of the parent is inside SQLite (holding the store's
    lock and SQLite's) while the parent forks. Each child judges with the prepared history and
    finishes at once; its attempts to open a store or use the parent's raise instead of hanging."""
    url = tmp_path / "journal.sqlite"
    _seed(url)
    assert registry.prepare({"web01": ("", 56.0)}, str(url)) == []
    busy = open_store(url)
    rid = str(uuid.uuid4())
    busy.begin_run(Run(id=rid, job="noise"))
    stop = threading.Event()
    writes = []

    def keep_busy():
        while not stop.is_set():
            with busy._tx() as cur:  # holds the store's RLock and SQLite's write lock
                cur.executemany("INSERT INTO metrics (run_id, host, time, name, instance, value, unit) "
                                "VALUES (?, 'noise', ?, 'noise', '', ?, '')",
                                [(rid, time.time(), float(i)) for i in range(300)])
            writes.append(1)

    thread = threading.Thread(target=keep_busy, daemon=True)
    thread.start()
    try:
        while not writes:
            time.sleep(0.01)
        results = []
        for _ in range(25):
            pid = os.fork()
            if pid == 0:  # the child: what an Ansible worker does
                code = 1
                try:
                    hist, note = history.prepared("web01")
                    metric = {"name": "cpu.used_pct", "instance": "", "value": 95.0, "unit": "%", "time": time.time()}
                    found, judged = dynamic.anomaly_findings(hist, "web01", "host", [metric], dynamic.Settings())
                    ok = note == "" and judged == 1 and found and found[0]["id"] == "HOST-ANOM-001"
                    ok = ok and hist.last_inspection.get("web") is not None
                    for attempt in (lambda: open_store(url), lambda: open_reader(url), lambda: busy.get_run(rid)):
                        try:
                            attempt()
                            ok = False
                        except ForkedProcessError:
                            pass
                    code = 0 if ok else 3
                finally:
                    os._exit(code)
            results.append(_wait(pid, 10.0))
    finally:
        stop.set()
        thread.join(10)
        busy.close()
    assert results == [0] * 25, f"child exit codes (None = hung, killed after 10 s): {results}"
    assert len(writes) > 1


def test_history_view_answers_like_the_store(tmp_path, registry):
    url = tmp_path / "journal.sqlite"
    _seed(url)
    registry.prepare({"web01": ("", 56.0), "db01": ("", 56.0)}, str(url))
    hist, note = registry.prepared("web01")
    with open_store(url) as store:
        since, until = time.time() - 20 * 3600, time.time() - 5 * 3600
        expected = [(round(t.timestamp(), 3), v) for t, v in store.metric_series(
            "cpu.used_pct", host="web01", instance="", since=since, until=until)]
        got = hist.metric_series("cpu.used_pct", host="web01", instance="", since=since, until=until)
        assert [(round(t, 3), v) for t, v in got] == expected
        assert len(expected) == 15
        newest = store.metric_series("web.errlog.lines", host="web01")[-1][0].timestamp()
        assert hist.last_inspection["web"] == pytest.approx(newest, abs=1e-3)
    assert registry.prepared("db01")[0].series == {}  # a host without history: empty, not an error
    assert registry.prepared("nohost") == (None, "no journal history was prepared for this host; static limits only")


def test_nothing_prepared_says_why(tmp_path, registry):
    assert registry.prepared("web01") == (None, history.NOT_ENABLED)
    registry.prepare({"web01": ("", 56.0)}, str(tmp_path / "absent.sqlite"))
    hist, note = registry.prepared("web01")
    assert hist is None and "no journal history yet" in note
    assert not (tmp_path / "absent.sqlite").exists()  # reading never creates a store
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database" * 100)
    problems = registry.prepare({"web01": ("", 56.0)}, str(bad))
    assert problems and "static limits only" in registry.prepared("web01")[1]


def test_reader_is_read_only(tmp_path):
    url = tmp_path / "journal.sqlite"
    _seed(url, n=2)
    assert open_reader(tmp_path / "none.sqlite") is None
    reader = open_reader(url)
    try:
        assert len(reader.list_runs()) == 2
        with pytest.raises(Exception, match="readonly"):
            reader.begin_run(Run(id="x"))
    finally:
        reader.close()


def test_store_opened_in_a_forked_child_is_refused(tmp_path):
    url = tmp_path / "journal.sqlite"
    store = open_store(url)
    store._lock.acquire()  # as if the parent's writer thread held it at fork time
    try:
        pid = os.fork()
        if pid == 0:
            code = 0
            for attempt in (lambda: open_store(url), lambda: store.list_runs(), lambda: store.finish_run("x", "ok")):
                try:
                    attempt()
                    code = 1
                except ForkedProcessError:
                    pass
            store.close()  # never touches the parent's connection or lock
            os._exit(code)
        assert _wait(pid, 10.0) == 0
    finally:
        store._lock.release()
        store.close()

"""The journal store API (docs/data-model.md) on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_server import pg_server_url, pg_url  # noqa: E402,F401  (fixtures)

from yunwei.errors import YunweiError  # noqa: E402
from yunwei.store import Check, HostStats, Metric, Run, TaskResult, open_store, schema  # noqa: E402
from yunwei.store.base import Store  # noqa: E402

T0 = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "journal.sqlite")
    return request.getfixturevalue("pg_url")


@pytest.fixture()
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def _seed(store: Store, run_id: str, job: str, start: datetime, status: str = "ok") -> None:
    store.begin_run(Run(id=run_id, playbook=f"playbooks/{job}.yml", job=job, profile="daily", operator="alice",
                        started_at=start, ansible_version="2.19.14", content_digest="sha256:abc", hosts=["web01"]))
    store.write_batch(
        run_id,
        results=[
            TaskResult(run_id=run_id, host="web01", task="collect", status="ok", seq=1, action="yunwei.ops.host_inspect",
                       started_at=start, ended_at=start + timedelta(seconds=2), duration=2.0, result={"changed": False}),
            TaskResult(run_id=run_id, host="db01", task="collect", status="failed", seq=2, ignore_errors=True,
                       result={"msg": "boom"}),
        ],
        checks=[
            Check(id="HOST-FS-001", category="host", status="warn", host="web01", time=start, title="文件系统使用率",
                  instance="/srv", value=87.5, unit="%", threshold={"warn": 80, "crit": 90},
                  evidence="/srv 87.5% used", suggestion="清理"),
            Check(id="WEB-HTTP-001", category="web", status="ok", host="web01", time=start, value="200"),
        ],
        metrics=[
            Metric(name="fs.used_pct", value=87.5, host="web01", instance="/srv", unit="%", time=start),
            Metric(name="cpu.used_pct", value=12.0, host="web01", time=start + timedelta(seconds=1)),
        ],
        hosts=["db01"],
    )
    store.finish_run(run_id, status, ended_at=start + timedelta(minutes=1),
                     host_stats=[HostStats("web01", ok=1), HostStats("db01", failures=1, ignored=1)])


def test_roundtrip_read_api(store):
    _seed(store, "run-a", "inspect", T0)
    _seed(store, "run-b", "inspect", T0 + timedelta(days=1), status="failed")
    _seed(store, "run-c", "baseline", T0 + timedelta(days=2))

    runs = store.list_runs()
    assert [r.id for r in runs] == ["run-c", "run-b", "run-a"]  # newest first
    assert [r.id for r in store.list_runs(job="inspect")] == ["run-b", "run-a"]
    assert [r.id for r in store.list_runs(since=T0 + timedelta(hours=1))] == ["run-c", "run-b"]
    assert [r.id for r in store.list_runs(until=T0 + timedelta(days=1))] == ["run-a"]
    assert [r.id for r in store.list_runs(limit=1)] == ["run-c"]

    run = store.get_run("run-a")
    assert run is not None
    assert (run.playbook, run.job, run.profile, run.operator, run.status) == (
        "playbooks/inspect.yml", "inspect", "daily", "alice", "ok")
    assert run.ansible_version == "2.19.14" and run.content_digest == "sha256:abc"
    assert run.started_at == T0 and run.started_at.tzinfo is not None
    assert run.ended_at == T0 + timedelta(minutes=1)
    assert run.hosts == ["db01", "web01"]
    assert {s.host: (s.ok, s.failures, s.ignored) for s in run.host_stats} == {"web01": (1, 0, 0), "db01": (0, 1, 1)}
    assert store.get_run("nope") is None

    results = store.task_results("run-a")
    assert [(r.seq, r.host, r.status) for r in results] == [(1, "web01", "ok"), (2, "db01", "failed")]
    assert results[0].duration == 2.0 and results[0].action == "yunwei.ops.host_inspect"
    assert results[1].ignore_errors is True and results[1].result == {"msg": "boom"}

    checks = store.checks(run_id="run-a")
    assert [c.id for c in checks] == ["HOST-FS-001", "WEB-HTTP-001"]
    c = checks[0]
    assert (c.run_id, c.host, c.status, c.value, c.unit, c.threshold, c.title) == (
        "run-a", "web01", "warn", 87.5, "%", {"warn": 80, "crit": 90}, "文件系统使用率")
    assert c.time == T0
    assert checks[1].value == "200"  # short strings keep their type
    assert len(store.checks(job="inspect")) == 4
    assert len(store.checks(status="warn")) == 3
    assert len(store.checks(host="web01", since=T0 + timedelta(days=1))) == 4
    assert len(store.checks(until=T0 + timedelta(days=1))) == 2

    ms = store.metrics(name="fs.used_pct")
    assert [m.run_id for m in ms] == ["run-a", "run-b", "run-c"]
    assert ms[0].instance == "/srv" and ms[0].unit == "%" and ms[0].time == T0
    assert len(store.metrics(run_id="run-b")) == 2
    assert len(store.metrics(host="web01", instance="/srv", since=T0 + timedelta(days=2))) == 1


def test_extensions(store):
    _seed(store, "abc-1", "inspect", T0)
    _seed(store, "abd-2", "inspect", T0 + timedelta(days=1), status="failed")
    assert store.find_run("last").id == "abd-2"
    assert store.find_run("abc").id == "abc-1"
    assert store.find_run("zzz") is None
    with pytest.raises(LookupError):
        store.find_run("ab")
    assert store.result_counts("abc-1") == {"ok": 1, "failed": 1}
    summary = {(s.host, s.id): s for s in store.check_summary(job="inspect")}
    assert summary[("web01", "HOST-FS-001")].warn == 2
    assert summary[("web01", "HOST-FS-001")].last_status == "warn"
    assert summary[("web01", "WEB-HTTP-001")].ok == 2
    series = store.metric_series("fs.used_pct", host="web01", instance="/srv")
    assert [v for _, v in series] == [87.5, 87.5] and series[0][0] == T0
    assert ("cpu.used_pct", "web01", "") in store.metric_names()
    store.record_error("abc-1", "something odd")
    assert [e.message for e in store.run_errors("abc-1")] == ["something odd"]
    assert store.get_run("abc-1").error_count == 1
    store.delete_run("abc-1")
    assert store.get_run("abc-1") is None and store.task_results("abc-1") == []


def test_batch_is_atomic(store, monkeypatch):
    """A batch that fails half-way leaves nothing behind (no torn rows)."""
    store.begin_run(Run(id="r1", hosts=["h"]))
    real_sql = store._sql

    def failing_sql(sql):  # the database fails after the task results are inserted
        if sql.startswith("INSERT INTO metrics"):
            raise RuntimeError("database went away")
        return real_sql(sql)

    monkeypatch.setattr(store, "_sql", failing_sql)
    with pytest.raises(RuntimeError):
        store.write_batch(
            "r1",
            results=[TaskResult(run_id="r1", host="h", task="t", status="ok", seq=1)],
            metrics=[Metric(name="x", value=1.0, host="h")],
        )
    monkeypatch.undo()
    assert store.task_results("r1") == []
    assert store.metrics(run_id="r1") == []
    store.write_batch("r1", results=[TaskResult(run_id="r1", host="h", task="t", status="ok", seq=1)])
    assert len(store.task_results("r1")) == 1


def test_schema_version_and_migration(store_url, monkeypatch):
    with open_store(store_url) as s:
        assert s.schema_version() == schema.SCHEMA_VERSION
    with open_store(store_url) as s:  # reopening applies nothing twice
        assert s.schema_version() == schema.SCHEMA_VERSION
        s.begin_run(Run(id="keep"))
    extra = (schema.SCHEMA_VERSION + 1, ["CREATE TABLE extra_test (x INTEGER)", "ALTER TABLE runs ADD COLUMN note TEXT"])
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, extra])
    monkeypatch.setattr("yunwei.store.base.SCHEMA_VERSION", extra[0])
    with open_store(store_url) as s:
        assert s.schema_version() == extra[0]
        assert s.get_run("keep") is not None  # data survives the migration
        assert s._query("SELECT COUNT(*) FROM extra_test")[0][0] == 0
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:-1])
    monkeypatch.setattr("yunwei.store.base.SCHEMA_VERSION", extra[0] - 1)
    with pytest.raises(YunweiError, match="newer"):
        open_store(store_url)


def test_reap_interrupted(store_url):
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open_store(store_url) as s:
        s.begin_run(Run(id="dead", pid=dead.pid))
        s.begin_run(Run(id="alive"))  # this process
        s.begin_run(Run(id="elsewhere", pid=dead.pid, node="some-other-machine"))
        s.write_batch("dead", results=[TaskResult(run_id="dead", host="h", task="t", status="ok", seq=1)])
    with open_store(store_url) as s:  # "when next seen"
        assert s.get_run("dead").status == "interrupted"
        assert s.get_run("dead").ended_at is not None
        assert len(s.task_results("dead")) == 1
        assert s.get_run("alive").status == "running"
        assert s.get_run("elsewhere").status == "running"  # recent heartbeat
        # another machine's run without a heartbeat for longer than STALE_AFTER
        s.heartbeat("elsewhere")
        assert s.reap_interrupted(stale_after=3600) == []
        assert s.reap_interrupted(stale_after=-1) == ["elsewhere"]
        assert s.get_run("elsewhere").status == "interrupted"
        assert s.get_run("alive").status == "running"


def test_sqlite_pragmas_and_permissions(tmp_path):
    path = tmp_path / "j.sqlite"
    with open_store(f"sqlite:///{path}") as s:
        assert s._query("PRAGMA journal_mode")[0][0] == "wal"
        assert s._query("PRAGMA busy_timeout")[0][0] >= 10_000
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_default_store_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_STORE", str(tmp_path / "env.sqlite"))
    with open_store() as s:
        assert s.url == str(tmp_path / "env.sqlite")
    monkeypatch.delenv("YUNWEI_STORE")
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    with open_store() as s:
        assert s.url == str(tmp_path / "var" / "journal.sqlite")


def _writer(url: str, n: int, idx: int) -> None:
    with open_store(url) as s:
        rid = f"w{idx}"
        s.begin_run(Run(id=rid, hosts=["h"]))
        for i in range(n):
            s.write_batch(rid, results=[TaskResult(run_id=rid, host="h", task="t", status="ok", seq=i)],
                          metrics=[Metric(name="m", value=float(i), host="h")])
        s.finish_run(rid, "ok")


def test_concurrent_writers_sqlite(tmp_path):
    url = str(tmp_path / "c.sqlite")
    # spawn, not fork: a forked child may not open a store (docs/journal.md, "Fork safety")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, 150, i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with open_store(url) as s:
        for i in range(4):
            assert s.get_run(f"w{i}").status == "ok"
            assert len(s.task_results(f"w{i}")) == 150
    con = sqlite3.connect(url)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


def test_postgres_concurrent_writers(pg_url):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(pg_url, 50, i)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    with open_store(pg_url) as s:
        assert sorted(r.id for r in s.list_runs()) == ["w0", "w1", "w2"]
        assert all(len(s.task_results(f"w{i}")) == 50 for i in range(3))


def test_bad_status_rejected(store):
    store.begin_run(Run(id="r"))
    with pytest.raises(ValueError):
        store.finish_run("r", "weird")


def test_pg_url_password_redacted():
    from yunwei.store import redact_url

    assert redact_url("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert "secret" not in redact_url("postgresql://u:secret@db/x")


if os.environ.get("YUNWEI_PG_REQUIRED"):  # CI: fail instead of skipping when binaries are missing
    from pg_server import pg_bindir

    assert pg_bindir() is not None


# ---------------------------------------------------------------- store URLs are shown without their password
@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://ops:s3cret@db.example:5432/journal", "postgresql://ops:***@db.example:5432/journal"),
    ("postgres://ops:p%40ss@[::1]/j?sslmode=require", "postgres://ops:***@[::1]/j?sslmode=require"),
    ("postgresql://ops@db/j?password=s3cret&sslmode=require", "postgresql://ops@db/j?password=***&sslmode=require"),
    ("postgresql://ops@/postgres?host=/run/pg&port=5", "postgresql://ops@/postgres?host=/run/pg&port=5"),
    ("/var/lib/yunwei/journal.sqlite", "/var/lib/yunwei/journal.sqlite"),
])
def test_redact_url(url, shown):
    from yunwei.store import redact_text, redact_url

    assert redact_url(url) == shown
    if "s3cret" in url:
        assert "s3cret" not in redact_text(f"failed: {url} (password s3cret)", url)
    assert "p@ss" not in redact_text("failed: password p@ss", "postgres://ops:p%40ss@h/j")


def test_open_store_error_never_shows_the_password():
    secret = "pw" + "x" * 20
    with pytest.raises(Exception) as info:
        open_store(f"postgresql://ops:{secret}@127.0.0.1:1/journal?connect_timeout=3")
    assert secret not in str(info.value)


# ---------------------------------------------------------------- one bad row never loses the batch
def test_bad_rows_are_left_out_not_the_batch(store):
    store.begin_run(Run(id="bad", job="inspect", started_at=T0, hosts=["web01"]))
    results = [TaskResult(run_id="bad", host="web01", task=f"t{i}", status="ok", seq=i, result={"i": i})
               for i in range(1, 301)]
    metrics = [
        Metric(name="load.1m", value=0.5, host="web01", time=T0),
        Metric(name="nan.metric", value=float("nan"), host="web01", time=T0),
        Metric(name="inf.metric", value=float("inf"), host="web01", time=T0),
        Metric(name="bool.metric", value=True, host="web01", time=T0),  # type: ignore[arg-type]
        Metric(name="huge.metric", value=10 ** 400, host="web01", time=T0),
        Metric(name="text.metric", value="12", host="web01", time=T0),  # type: ignore[arg-type]
        Metric(name="badtime.metric", value=1.0, host="web01", time="yesterday"),  # type: ignore[arg-type]
        Metric(name="mem.used_pct", value=41, host="web01", time=T0),
    ]
    checks = [Check(id="HOST-NAN-001", category="host", status="warn", host="web01", time=T0, value=float("nan")),
              Check(id="", category="host", status="ok", host="web01", time=T0)]
    left_out = store.write_batch("bad", results=results, metrics=metrics, checks=checks)
    assert len(store.task_results("bad")) == 300
    assert sorted((m.name, m.value) for m in store.metrics(run_id="bad")) == [("load.1m", 0.5),
                                                                                ("mem.used_pct", 41.0)]
    assert [c.id for c in store.checks(run_id="bad")] == ["HOST-NAN-001"]  # NaN value kept as text, no number
    names = ["nan.metric", "inf.metric", "bool.metric", "huge.metric", "text.metric", "badtime.metric"]
    assert len(left_out) == len(names) + 1
    messages = [e.message for e in store.run_errors("bad")]
    assert messages == left_out
    for name in names:
        assert any(name in m for m in messages), (name, messages)
    assert store.get_run("bad").error_count == len(left_out)

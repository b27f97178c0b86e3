"""The service desk under real concurrency and crashes, on SQLite and on a real PostgreSQL server:
two operators' processes acknowledging one ticket at the same moment (one wins, the other is told
who did), two deliveries of one alert at once (one ticket), a process killed with SIGKILL while it
registers tickets (nothing it reported as registered is lost, no half-written ticket), and the
ticket_watch job run through ansible-runner with a notification command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_server import pg_server_url, pg_url  # noqa: E402,F401  (fixtures)

from yunwei.servicedesk import store as sd  # noqa: E402
from yunwei.servicedesk import tickets as tk  # noqa: E402
from yunwei.servicedesk.fold import fold  # noqa: E402
from yunwei.store import open_store  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AT_ONCE = textwrap.dedent("""
    import sys, time
    from yunwei.cli import main
    start = float(sys.argv[1])
    time.sleep(max(0.0, start - time.time()))
    sys.exit(main(sys.argv[2:]))
""")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path, monkeypatch):
    url = str(tmp_path / "journal.sqlite") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    env = {"YUNWEI_STORE": url, "YUNWEI_VAR": str(tmp_path / "var"), "YUNWEI_OPERATOR": "alice"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("YUNWEI_CONFIG", raising=False)
    monkeypatch.delenv("YUNWEI_SERVICE_DESK", raising=False)
    return url


def at_once(commands: list[tuple[str, list[str]]]) -> list[subprocess.CompletedProcess]:
    """Start one process per (operator, argv), all acting at the same instant."""
    start = time.time() + 3.0
    procs = [subprocess.Popen([sys.executable, "-c", AT_ONCE, str(start), *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "YUNWEI_OPERATOR": who})
             for who, argv in commands]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def test_two_acks_at_once_one_wins_the_other_is_told(backend):
    with open_store(backend) as store:
        ids = [tk.open_ticket(store, grade="fault", channel="hotline", reporter="王芳", title=f"故障 {i}").id
               for i in range(2)]
    runs = at_once([(who, ["ticket", "ack", tid]) for tid in ids for who in ("li", "zhang")])
    for tid, (li, zhang) in zip(ids, (runs[:2], runs[2:])):
        assert sorted([li.returncode, zhang.returncode]) == [0, 2], (li.stderr, zhang.stderr)
        winner, loser = (li, zhang) if li.returncode == 0 else (zhang, li)
        who = "li" if winner is li else "zhang"
        assert f"already acknowledged by {who}" in loser.stderr
        with open_store(backend) as store:
            evs = tk.history(store, tid)
            assert [(e.kind, e.operator) for e in evs] == [("open", "alice"), ("ack", who)]
            assert sd.ticket_row(fold(tid, evs)) == sd.ticket_row(tk.get(store, tid))


def test_postgresql_version_guard_between_read_and_write(pg_url, tmp_path, monkeypatch):
    """READ COMMITTED: zhang's transaction has read the ticket when li's ack commits; zhang's write
    finds the version moved, is rolled back and re-validated, and zhang is told li was first."""
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_OPERATOR", "alice")
    with open_store(pg_url) as store, open_store(pg_url) as other:
        tid = tk.open_ticket(store, grade="fault", channel="hotline", reporter="王芳", title="故障").id
        attempts = []

        def build(t, evs, now):
            attempts.append(t.state)
            if len(attempts) == 1:
                tk.ack(other, tid, operator="li")          # commits on another connection meanwhile
            if t.state != "new":
                raise tk._refuse(t, "acknowledge", "already acknowledged")
            return {}

        with pytest.raises(Exception, match="already acknowledged"):
            tk.act(store, tid, "ack", build, "zhang")
        assert attempts == ["new", "acked"]
        assert [(e.kind, e.operator) for e in tk.history(store, tid)] == [("open", "alice"), ("ack", "li")]


def test_one_alert_delivered_twice_at_once_is_one_ticket(backend, tmp_path):
    payload = tmp_path / "alert.json"
    payload.write_text(json.dumps({"alerts": [{"status": "firing", "fingerprint": "0f0f", "startsAt": "2026-11-25T02:00:00Z",
                                               "labels": {"alertname": "PgDown", "host": "db01", "severity": "critical"},
                                               "annotations": {"summary": "db01 PostgreSQL 不可用"}}]}))
    runs = at_once([("alertmanager", ["ticket", "alert", "--file", str(payload), "--json"])] * 3)
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    actions = sorted(json.loads(r.stdout)[0]["action"] for r in runs)
    assert actions == ["opened", "unchanged", "unchanged"]
    with open_store(backend) as store:
        assert len(tk.list_tickets(store)) == 1


CRASHER = textwrap.dedent("""
    import sys
    from yunwei.servicedesk import tickets as tk
    from yunwei.store import open_store
    store = open_store(sys.argv[1])
    i = 0
    while True:
        t = tk.open_ticket(store, grade="consult", channel="wechat", reporter="赵敏", title=f"咨询 {i}")
        tk.ack(store, t.id)
        print(t.id, flush=True)   # acknowledged to the user only now
        i += 1
""")


def test_a_crash_mid_write_loses_nothing_acknowledged(backend):
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, backend], stdout=subprocess.PIPE, text=True)
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while len(seen) < 12 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            seen.append(line.strip())
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert len(seen) == 12
    with open_store(backend) as store:
        rows = {t.id: t for t in tk.list_tickets(store)}
        assert set(seen) <= set(rows)
        assert all(rows[i].state == "acked" for i in seen)
        for tid, t in rows.items():                     # no half-written ticket: row and history agree
            evs = tk.history(store, tid)
            assert evs and sd.ticket_row(fold(tid, evs)) == sd.ticket_row(t)
        orphans = store.query("SELECT COUNT(*) FROM service_events e LEFT JOIN tickets t ON t.id = e.ref "
                              "WHERE e.subject = 'ticket' AND t.id IS NULL")
        assert orphans[0][0] == 0
        tk.open_ticket(store, grade="fault", channel="online", reporter="x", title="after the crash")
    from yunwei.audit import default_log

    assert default_log().verify().ok


NOTIFY = """#!{python}
import json, os, sys
msg = json.load(sys.stdin)
with open({out!r}, "a") as fh:
    fh.write(json.dumps({{"msg": msg, "path": os.environ.get("PATH")}}, ensure_ascii=False) + "\\n")
"""


def test_ticket_watch_job_through_the_runner(tmp_path, monkeypatch):
    """The scheduled job: a read-only catalogue entry run by ansible-runner in the environment yunwei
    builds, which finds the overdue clock, marks it and notifies through the configured command."""
    var = tmp_path / "var"
    store_path = tmp_path / "journal.sqlite"
    sent = tmp_path / "sent.jsonl"
    script = tmp_path / "notify"
    script.write_text(NOTIFY.format(python=sys.executable, out=str(sent)))
    script.chmod(0o755)
    desk = tmp_path / "service-desk.yml"
    desk.write_text(f"grades: {{consult: {{response: 1s}}}}\nnotify: {{command: [{script}]}}\n")
    for k, v in {"YUNWEI_VAR": str(var), "YUNWEI_STORE": str(store_path), "YUNWEI_OPERATOR": "scheduler",
                 "YUNWEI_SERVICE_DESK": str(desk)}.items():
        monkeypatch.setenv(k, v)
    for k in ("YUNWEI_CONFIG", "YUNWEI_JOBS"):
        monkeypatch.delenv(k, raising=False)
    with open_store(store_path) as store:
        tid = tk.open_ticket(store, grade="consult", channel="hotline", reporter="王芳", title="账号无法登录").id
    time.sleep(1.5)
    from yunwei.commands.run import run_readonly

    result = run_readonly("ticket_watch", quiet=True, trigger="schedule")
    assert result.ok, result.stdout()[-2000:]
    [line] = sent.read_text().splitlines()
    msg = json.loads(line)
    assert msg["msg"]["ticket"] == tid and msg["msg"]["level"] == "breach" and "【工单已超时】" in msg["msg"]["message"]
    with open_store(store_path) as store:
        assert [e.kind for e in tk.history(store, tid)] == ["open", "breach", "notify"]
        run = store.get_run(result.run_id)
        assert run.job == "ticket_watch" and run.status == "ok" and run.hosts == ["localhost"]
    from yunwei.audit import default_log

    assert [(r["event"], r.get("action")) for r in default_log().records()][-4:] == [
        ("execution", None), ("ticket", "breach"), ("ticket", "notify"), ("result", None)]

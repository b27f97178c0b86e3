"""``yunwei runs list`` / ``yunwei runs show`` as tables and JSON (issue 3, point 5)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from yunwei.cli import main
from yunwei.store import Check, HostStats, Run, TaskResult, open_store


@pytest.fixture()
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "j.sqlite"
    monkeypatch.setenv("YUNWEI_STORE", str(path))
    with open_store(path) as s:
        for i, job in enumerate(["inspect", "baseline"]):
            rid = f"{i}1234567-0000-4000-8000-00000000000{i}"
            s.begin_run(Run(id=rid, playbook=f"playbooks/{job}.yml", job=job, profile="daily", operator="alice",
                            started_at=datetime(2026, 11, 1 + i, tzinfo=timezone.utc), hosts=["web01"]))
            s.write_batch(rid, results=[
                TaskResult(run_id=rid, host="web01", task="采集主机指标", status="changed", seq=1,
                           action="yunwei.ops.host_inspect", duration=1.25, result={"msg": "done"}),
                TaskResult(run_id=rid, host="web01", task="secret", status="ok", seq=2,
                           result={"censored": "the output has been hidden"}),
            ], checks=[Check(id="HOST-FS-001", category="host", status="warn", host="web01", value=87.5, unit="%",
                             title="文件系统使用率", suggestion="清理")])
            s.finish_run(rid, "ok", host_stats=[HostStats("web01", ok=2, changed=1)])
    return path


def test_runs_list_table(store_path, capsys):
    assert main(["runs", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["RUN", "STARTED", "(UTC)"]
    assert lines[2].startswith("11234567") and "baseline" in lines[2]  # newest first
    assert lines[3].startswith("01234567") and "inspect" in lines[3]


def test_runs_list_json_and_filters(store_path, capsys):
    assert main(["runs", "list", "--json", "--job", "inspect"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["job"] for r in data] == ["inspect"]
    assert data[0]["status"] == "ok" and data[0]["hosts"] == ["web01"]
    assert data[0]["started_at"].startswith("2026-11-01T00:00:00")
    assert main(["runs", "list", "--json", "--since", "2026-11-02"]) == 0
    assert [r["job"] for r in json.loads(capsys.readouterr().out)] == ["baseline"]


def test_runs_show_table(store_path, capsys):
    assert main(["runs", "show", "0123"]) == 0
    out = capsys.readouterr().out
    assert "01234567-0000-4000-8000-000000000000" in out
    assert "采集主机指标" in out and "yunwei.ops.host_inspect" in out and "changed" in out
    assert "HOST-FS-001" in out and "87.5%" in out
    assert "the output has been hidden" in out


def test_runs_show_json(store_path, capsys):
    assert main(["runs", "show", "last", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run"]["job"] == "baseline"
    assert [r["seq"] for r in data["results"]] == [1, 2]
    assert data["results"][0]["result"] == {"msg": "done"}
    assert data["checks"][0]["id"] == "HOST-FS-001"


def test_runs_show_errors(store_path, capsys):
    assert main(["runs", "show", "nope"]) == 3
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["runs", "list", "--since", "yesterday"]) == 2
    assert main(["runs", "show", "ffff", "--store", str(store_path.parent / "other.sqlite")]) == 3


def test_runs_error_never_shows_the_store_password(monkeypatch, capsys):
    secret = "pw" + "y" * 20
    monkeypatch.setenv("YUNWEI_STORE", f"postgresql://ops:{secret}@127.0.0.1:1/journal?connect_timeout=3")
    rc = main(["runs", "list"])
    captured = capsys.readouterr()
    assert rc != 0
    assert "postgresql://ops:***@127.0.0.1:1/journal" in captured.err + captured.out
    assert secret not in captured.err + captured.out

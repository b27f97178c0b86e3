"""T-7 preflight (issue 20): each item judged go / no-go from the run's checks and task results, the
open actions registered as tickets once, and 《节前系统健康检查报告》 laid out with the window's rota."""

from __future__ import annotations

from types import SimpleNamespace

from yunwei.preflight import items
from yunwei.preflight.run import open_tickets
from yunwei.store.model import Check


def ctx(checks=(), tasks=()):
    return {"run": None, "checks": list(checks), "tasks": list(tasks)}


def targets(*health):
    data = {"activeTargets": [{"health": h, "labels": {"instance": f"h{i}:9100", "job": "node"}, "lastError": "refused"}
                              for i, h in enumerate(health)]}
    return SimpleNamespace(task=items.MONITORING_TASK, host="mon01", result={"json": {"data": data}})


def test_each_item_is_judged_on_its_own_areas():
    checks = [Check("HOST-CPU-001", "host", "ok", host="web01"), Check("HOST-MEM-001", "host", "warn", host="db01",
                                                                        title="内存使用率", suggestion="排查内存"),
              Check("BACKUP-AGE-001", "backup", "crit", host="backup01", title="最近一次备份时间", instance="appdb")]
    by = {i.id: i for i in items.ITEMS}
    inspection = by["inspection"].judge(ctx(checks))
    assert inspection.go and [a["title"] for a in inspection.actions] == ["内存使用率"]     # a warn: go, an action
    backup = by["backup"].judge(ctx(checks))
    assert not backup.go and backup.actions[0]["host"] == "backup01（appdb）"
    # the same problem on several hosts is one action naming them
    same = [Check("HOST-PKG-002", "host", "warn", host=h, title="待安装安全更新", suggestion="安装更新") for h in ("a", "b")]
    assert [a["host"] for a in by["inspection"].judge(ctx(same)).actions] == ["a、b"]
    restore = by["restore"].judge(ctx(checks))                                           # nothing recorded: no-go
    assert not restore.go and not restore.ran


def test_monitoring_targets_all_up_or_not():
    assert items.monitoring_targets(ctx(tasks=[targets("up", "up")])).go
    down = items.monitoring_targets(ctx(tasks=[targets("up", "down")]))
    assert not down.go and "h1:9100" in down.actions[0]["host"]
    assert not items.monitoring_targets(ctx()).go                                          # not queried: no-go
    assert not items.monitoring_targets(ctx(tasks=[targets()])).go                         # no target at all


def test_open_actions_become_tickets_once(tmp_path, monkeypatch):
    from yunwei.store import open_store

    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    item = items.ITEMS[2]
    result = items.Result(False, "x", [{"title": "最近一次备份时间", "host": "backup01（appdb）", "level": "crit",
                                        "suggestion": "立即补做备份"}])
    run = SimpleNamespace(id="run-1")
    with open_store(tmp_path / "j.sqlite") as store:
        first = open_tickets(store, run, [(item, result)], operator="alice")
        again = open_tickets(store, run, [(item, result)], operator="alice")
        from yunwei.servicedesk.tickets import get

        t = get(store, first[0][0])
    assert first[0][2] is True and again == [(first[0][0], first[0][1], False)]
    assert t.title == "节前检查待办：备份状态与完整性校验：最近一次备份时间（backup01（appdb））"
    assert t.host == "backup01" and "run-1" in t.description


def test_report_layout_go_no_go_and_rota():
    from yunwei.preflight.report import layout
    from yunwei.reports.contract import Contract

    data = {"kind": "preflight", "title": "节前系统健康检查报告", "empty": False,
            "period": {"unit": "day", "label": "2027-01-29", "title": "2027年1月29日", "first": "2027-01-29",
                       "last": "2027-01-29", "tz": "Asia/Shanghai", "zone": "北京时间"},
            "signoff": {"rows": [], "date": "2027-01-29"},
            "run": {"id": "r", "operator": "李娜", "status": "ok", "started": "2027-01-29 09:00"},
            "items": [{"id": "inspection", "title": "系统巡检（重保阈值）", "go": True, "summary": "ok", "ran": True,
                       "actions": []},
                      {"id": "backup", "title": "备份状态与完整性校验", "go": False, "summary": "1 不通过", "ran": True,
                       "actions": [{"title": "最近一次备份时间", "host": "backup01", "level": "crit", "suggestion": "补做"}]}],
            "go": False,
            "window": {"name": "春节", "kind": "节假日", "start": "2027-02-05", "end": "2027-02-06", "systems": "web、db",
                       "rota": [["2027-02-05", "张伟（138）、李娜（139）"], ["2027-02-06", "张伟（138）、李娜（139）"]]}}
    doc = layout(data, Contract())
    tables = {b["sheet"]: b for b in doc["blocks"] if b["type"] == "table"}
    assert tables["检查项"]["rows"][1][1] == "不通过" and tables["待办事项"]["rows"][0][1] == "最近一次备份时间"
    assert tables["值守安排"]["rows"][0] == ["2027-02-05", "张伟（138）、李娜（139）"]
    assert dict(doc["meta"])["总体结论"] == "暂不具备重保条件（1 项不通过）"


def test_vulnerability_item_reads_the_findings_lifecycle(tmp_path, monkeypatch):
    """No scan within a quarter of the preflight: no-go; an open high finding: no-go; the same finding
    accepted as a risk: go, still listed as an action."""
    import datetime as dt

    from yunwei.store import open_store

    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    run = SimpleNamespace(id="pf", started_at=dt.datetime.now(dt.timezone.utc), ended_at=None, hosts=["web01"])
    t = run.started_at.timestamp()
    with open_store(tmp_path / "j.sqlite") as store:
        ctx = {"run": run, "store": store, "checks": [], "tasks": []}
        never = items.vulnerability_findings(ctx)
        assert not never.go and "没有完成的漏洞扫描" in never.summary

        def seed(scan_time, state="new", severity="high", hosts='["web01"]', feed='{"digest": "sha256:x"}'):
            with store.transaction() as cur:
                cur.execute(store.sql("INSERT INTO vuln_scans (run_id, time, hosts, feed, ingested_at) VALUES (?, ?, ?, ?, ?)"),
                            (f"scan-{scan_time}", scan_time, hosts, feed, scan_time))
                cur.execute(store.sql(
                    "INSERT INTO vuln_findings (host, kind, fkey, cve, package, installed, fixed_version, port, process, "
                    "severity, title, fix_available, state, first_seen, last_seen, first_run, last_run, accepted_by, "
                    "accepted_until) VALUES ('web01', 'vuln', 'CVE-2026-1 openssl', 'CVE-2026-1', 'openssl', '1', '2', NULL, "
                    "'', ?, 'openssl 漏洞', 1, ?, ?, ?, 'scan', 'scan', '', '')"), (severity, state, scan_time, scan_time))

        seed(t - 200 * 86400)                                      # two quarters old: overdue
        assert not items.vulnerability_findings(ctx).go
        seed(t - 5 * 86400, hosts="[]", feed="{}")                 # a refused run (no host, no feed) is no scan
        seed(t - 4 * 86400, feed="{}")                             # nor is one that had no feed
        assert not items.vulnerability_findings(ctx).go
        run.hosts = ["web01", "db01"]
        seed(t - 10 * 86400)                                       # a scan narrowed to web01 does not cover db01
        narrowed = items.vulnerability_findings(ctx)
        assert not narrowed.go and narrowed.actions[0]["host"] == "db01"
        run.hosts = ["web01"]
        open_high = items.vulnerability_findings(ctx)
        assert not open_high.go and open_high.actions[0]["host"] == "web01" and open_high.actions[0]["level"] == "crit"
        # accepted through review (yunwei.vuln.risks): the approved copy as `execute` installs it
        from yunwei.vuln import risks

        proposed = tmp_path / "vuln-risks.yml"
        until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        proposed.write_text(f"risks:\n  - {{host: web01, finding: CVE-2026-1 openssl, justification: 已缓解, expires: {until}}}\n")
        from yunwei.review.reviewed_file import digest_bytes

        risks.activate({"id": "req-1", "requester": "lina", "risks_file": str(proposed),
                        "digest": digest_bytes(proposed.read_bytes())}, approver="wangfang")
        accepted = items.vulnerability_findings(ctx)
        assert accepted.go and {a["level"] for a in accepted.actions} == {"warn"}
        assert "wangfang" in accepted.actions[0]["suggestion"]

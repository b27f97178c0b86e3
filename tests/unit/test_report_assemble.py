"""Data assembly from a real journal filled through the store API - SQLite and a real PostgreSQL
server (tests/pg_server.py): the numbers the reports print."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from yunwei.reports import assemble, health
from yunwei.reports.periods import parse_period
from yunwei.reports.windows import Window, parse_windows
from yunwei.store import Check, Metric, Run, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_server import pg_server_url, pg_url  # noqa: E402,F401  (fixtures)

SH = ZoneInfo("Asia/Shanghai")


def local(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def add_run(store, started, checks=(), metrics=(), *, job="inspect", profile="daily", status="ok",
            operator="alice", hosts=("web01", "db01")):
    run = Run(id=str(uuid.uuid4()), job=job, profile=profile, operator=operator,
              started_at=started.astimezone(timezone.utc), hosts=list(hosts))
    store.begin_run(run)
    t = started.astimezone(timezone.utc) + timedelta(seconds=10)
    cs = []
    for c in checks:
        host, cid, cat, st, *rest = c
        inst = rest[0] if rest else ""
        value = rest[1] if len(rest) > 1 else (1 if st == "ok" else 99)
        cs.append(Check(id=cid, category=cat, status=st, host=host, time=t, title=f"{cid} 标题", instance=inst,
                        value=value, unit="", evidence=f"{host} {cid} {st}",
                        suggestion="" if st == "ok" else f"处理 {cid}"))
    ms = [Metric(name=n, value=v, host=h, instance=i, time=t + timedelta(seconds=k)) for k, (n, h, i, v) in
          enumerate(metrics)]
    store.write_batch(run.id, checks=cs, metrics=ms)
    store.finish_run(run.id, status, ended_at=t + timedelta(seconds=20))
    return run


HEALTHY = [("web01", "WEB-HTTP-001", "web", "ok"), ("web01", "HOST-CPU-001", "host", "ok"),
           ("db01", "DB-CONN-001", "db", "ok"), ("db01", "HOST-CPU-001", "host", "ok")]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_store):
    url = str(tmp_store) if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with open_store(url, reap=False) as s:
        yield s


def test_inspection_record_lists_every_check(store):
    day = parse_period("day", "2026-11-25", SH)
    add_run(store, local(2026, 11, 25, 9), HEALTHY + [("db01", "HOST-FS-001", "host", "warn", "/srv/data", 85.5)])
    add_run(store, local(2026, 11, 25, 23, 50), HEALTHY, operator="bob")     # late evening: still the 25th
    add_run(store, local(2026, 11, 26, 0, 10), HEALTHY)                      # after local midnight: the 26th
    add_run(store, local(2026, 11, 25, 10), HEALTHY, job="resources", profile="resources")  # not an inspection
    data = assemble.inspection_record(store, day)
    assert data["totals"]["runs"] == 2
    assert data["totals"]["checks"] == 9
    assert (data["totals"]["ok"], data["totals"]["warn"], data["totals"]["crit"]) == (8, 1, 0)
    # no contract: logins are nobody's name, so no signer is pre-filled with one
    assert data["signoff"]["inspectors"] == [] and all(r["name"] == "" for r in data["signoff"]["rows"])
    assert data["runs"][0]["operator_name"] == "alice（未登记账号）"
    first = data["runs"][0]
    assert first["started"] == "2026-11-25 09:00"
    db = next(h for h in data["hosts"] if h["host"] == "db01")
    fs = next(c for c in db["items"] if c["check_id"] == "HOST-FS-001")
    assert (fs["instance"], fs["worst_label"], fs["results"][first["run_id"]]["text"]) == ("/srv/data", "警告", "85.5")
    annex = next(a for a in data["annex"] if a["check_id"] == "HOST-FS-001")
    assert (annex["value"], annex["status_label"], annex["suggestion"]) == (85.5, "警告", "处理 HOST-FS-001")
    finding = next(f for f in data["findings"] if f["check_id"] == "HOST-FS-001")
    assert (finding["occurrences"], finding["observations"], finding["state"]) == (1, 1, "未恢复")
    # with the contract: people's names, the reviewer from the signers, never a future date
    from yunwei.reports.contract import parse_contract
    c = parse_contract({"project": {"name": "P", "number": "N"}, "client": {"name": "C"}, "contractor": {"name": "D"},
                        "service_period": {"start": "2026-01-01", "end": "2026-12-31"},
                        "team": [{"name": "艾丽", "role": "运维", "logins": ["alice"]},
                                 {"name": "鲍勃", "role": "运维", "logins": ["bob"]},
                                 {"name": "张伟", "role": "经理", "logins": []}],
                        "signers": {"inspection-record": [{"role": "巡检人"}, {"role": "复核人", "name": "张伟"}]}}, "c.yml")
    data = assemble.inspection_record(store, day, contract=c, now=local(2026, 11, 25, 12))
    assert data["signoff"]["rows"] == [{"role": "巡检人", "name": "艾丽、鲍勃"}, {"role": "复核人", "name": "张伟"}]
    assert data["signoff"]["date"] == "2026-11-25"
    early = assemble.inspection_record(store, parse_period("day", "2026-11-26", SH), contract=c,
                                       now=local(2026, 11, 25, 12))
    assert early["signoff"]["date"] == "2026-11-25"      # the record of a day still ahead is not dated ahead


def test_only_runs_that_did_their_job_count(store):
    """A run counts as an inspection done only with status ok (yunwei.store.COMPLETED_RUN_STATUSES):
    one that reached its hosts but had a failed task, or that the runner's timeout ended, is listed
    with its status in Chinese and never counted."""
    add_run(store, local(2026, 11, 25, 9), HEALTHY)
    add_run(store, local(2026, 11, 25, 13), HEALTHY, status="failed")
    add_run(store, local(2026, 11, 25, 17), HEALTHY, status="timeout")
    data = assemble.inspection_record(store, parse_period("day", "2026-11-25", SH))
    assert [(r["counted"], r["status_label"], r["not_counted_reason"]) for r in data["runs"]] == [
        (True, "完成", ""), (False, "失败", "未完成（失败）"), (False, "超时", "未完成（超时）")]
    m = assemble.monthly(store, parse_period("month", "2026-11", SH), now=datetime(2026, 12, 5, tzinfo=timezone.utc),
                         with_trends=False)
    assert m["inspections"]["counted_runs"] == 1
    assert [x["status_label"] for x in m["inspections"]["not_counted"]] == ["失败", "超时"]


def test_empty_day_says_so(store):
    data = assemble.inspection_record(store, parse_period("day", "2026-11-20", SH))
    assert data["empty"] and data["runs"] == [] and data["totals"]["checks"] == 0
    hd = assemble.health_daily(store, parse_period("day", "2026-11-20", SH))
    assert hd["empty"] and hd["score"] is None and hd["grade"] == "无数据"
    m = assemble.monthly(store, parse_period("month", "2026-11", SH), now=datetime(2026, 12, 5, tzinfo=timezone.utc))
    assert m["empty"] and m["health"]["score_avg"] is None
    assert m["inspections"]["required"] == 30 and m["inspections"]["done"] == 0
    assert len(m["inspections"]["missed"]) == 30
    assert all(a["availability_pct"] is None for a in m["availability"]["rows"])
    r = assemble.resource_record(store, parse_period("week", "2026-W47", SH))
    assert r["empty"] and r["filesystems"] == []


def test_health_daily_score_anomalies_changes(store):
    add_run(store, local(2026, 11, 24), HEALTHY + [("db01", "HOST-KERNEL-001", "host", "ok", "", "6.1.0-25")])
    add_run(store, local(2026, 11, 25, 9), HEALTHY + [
        ("web01", "HOST-PKG-002", "host", "warn", "", 3),
        ("db01", "HOST-KERNEL-001", "host", "ok", "", "6.1.0-26"),
    ])
    add_run(store, local(2026, 11, 25, 15), [
        ("web01", "WEB-HTTP-001", "web", "crit", "https://x/", 502), ("web01", "HOST-CPU-001", "host", "ok"),
        ("db01", "DB-CONN-001", "db", "ok"), ("db01", "HOST-CPU-001", "host", "ok"),
        ("web01", "HOST-PKG-002", "host", "warn", "", 3), ("db01", "HOST-KERNEL-001", "host", "ok", "", "6.1.0-26"),
    ])
    d = assemble.health_daily(store, parse_period("day", "2026-11-25", SH), with_trends=False)
    # web01: WEB-HTTP crit (worst of the day) + PKG warn -> 100-20-5 = 75; db01: 100
    assert d["host_scores"] == {"db01": 100.0, "web01": 75.0}
    assert d["raw_score"] == 87.5 == health.overall_score({"a": 100, "b": 75})
    # ... but the website was down that day: never 良好, capped at 74 (较差)
    assert (d["score"], d["grade"]) == (74.0, "较差") and d["score_caps"]
    web = next(h for h in d["hosts"] if h["host"] == "web01")
    assert (web["light"], web["crit"], web["warn"]) == ("红", 1, 1)
    # one row per distinct anomaly, however often it recurred
    rows = {f["check_id"]: f for f in d["findings"]}
    assert sorted(rows) == ["HOST-PKG-002", "WEB-HTTP-001"]
    assert (rows["HOST-PKG-002"]["occurrences"], rows["HOST-PKG-002"]["first"], rows["HOST-PKG-002"]["last"]) == (
        2, "09:00", "15:00")
    assert rows["WEB-HTTP-001"]["state"] == "未恢复"
    assert [p["check_id"] for p in d["patches"]] == ["HOST-PKG-002"]
    changes = {(c["host"], c["check_id"]): c["change"] for c in d["changes"]}
    assert changes[("web01", "WEB-HTTP-001")] == "新增异常"
    assert changes[("db01", "HOST-KERNEL-001")] == "取值变化"
    assert changes[("web01", "HOST-PKG-002")] == "新增异常"
    assert ("web01", "HOST-CPU-001") not in changes


def test_trends_from_metrics(store):
    add_run(store, local(2026, 11, 25, 9), HEALTHY, metrics=[("cpu.used_pct", "web01", "", 10.0),
                                                           ("cpu.used_pct", "db01", "", 30.0)])
    add_run(store, local(2026, 11, 25, 15), HEALTHY, metrics=[("cpu.used_pct", "web01", "", 12.0)])
    d = assemble.health_daily(store, parse_period("day", "2026-11-25", SH))
    cpu = next(t for t in d["trends"]["24h"] if t["key"] == "cpu")
    # every run is a point of its host's line (no hourly means)
    assert {line["host"]: [p["value"] for p in line["points"]] for line in cpu["lines"]} == {
        "db01": [30.0], "web01": [10.0, 12.0]}
    assert next(t for t in d["trends"]["24h"] if t["key"] == "net")["empty"]


def test_monthly_inspections_availability_risks(store):
    windows = [Window("元旦", date(2026, 12, 30), date(2027, 1, 1))]
    month = parse_period("month", "2026-12", SH)
    for day in range(1, 32):
        n = 3 if day >= 30 else 1
        if day == 31:
            n = 2                                  # one heightened inspection missed
        if day == 10:
            continue                               # the whole day missed
        for k in range(n):
            checks = list(HEALTHY)
            if day == 5 and k == 0:
                checks[0] = ("web01", "WEB-HTTP-001", "web", "crit", "", 502)
            if day in (7, 8, 9):
                checks.append(("db01", "HOST-TIME-001", "host", "warn", "", 0.9))
            elif day > 9:
                checks.append(("db01", "HOST-TIME-001", "host", "ok", "", 0.001))
            add_run(store, local(2026, 12, day, 9 + 4 * k), checks)
    add_run(store, local(2026, 12, 11, 9), HEALTHY, status="interrupted")   # does not count as done
    m = assemble.monthly(store, month, windows, now=datetime(2027, 1, 3, tzinfo=timezone.utc), with_trends=False)
    ins = m["inspections"]
    assert ins["required"] == 29 * 1 + 2 * 3
    assert ins["done"] == ins["required"] - 2
    assert [(x["date"], x["missing"], x["window"]) for x in ins["missed"]] == [("2026-12-10", 1, ""),
                                                                             ("2026-12-31", 1, "元旦")]
    assert ins["heightened_days"] == 2
    web = next(a for a in m["availability"]["rows"] if a["service"].startswith("网站服务"))
    # time-weighted: down from the 5th 09:00 (observed crit) to the 6th 09:00 (the next run observed it up)
    assert web["down_s"] == 24 * 3600 and web["outages"] == 1
    assert web["availability_pct"] == round(100 * (1 - 24 * 3600 / web["observed_s"]), 2)
    assert [(o["start"], o["end"]) for o in m["availability"]["outages"]] == [("2026-12-05 09:00", "2026-12-06 09:00")]
    db = next(a for a in m["availability"]["rows"] if a["service"].startswith("数据库"))
    assert db["availability_pct"] == 100.0
    cats = {a["category"]: (a["warn"], a["crit"]) for a in m["results"]["by_category"]}
    assert cats == {"web": (0, 1), "host": (3, 0)}
    assert [(r["host"], r["check_id"], r["days"], r["state"]) for r in m["risks"]["rows"]] == [
        ("db01", "HOST-TIME-001", 3, "已关闭")]      # recovered by the end of the month
    assert any("漏检 2 次" in s for s in m["measures"])
    assert [e["kind"] for e in m["events"]][:1] == ["服务中断"]
    assert m["backup"]["text"] and m["restore_test"]["text"]
    day5 = next(x for x in m["health"]["daily"] if x["date"] == "2026-12-05")
    assert day5["grade"] != "良好" and day5["score"] <= 74
    assert len(m["health"]["daily"]) == 30


def test_monthly_days_not_yet_due(store):
    m = assemble.monthly(store, parse_period("month", "2026-11", SH), now=datetime(2026, 11, 10, 2, tzinfo=timezone.utc))
    assert m["inspections"]["required"] == 9    # 1..9 November (local) only: the 10th is still under way


def test_monthly_today_is_not_missed_before_it_ends(store):
    """The current month's report at 09:00 local does not list today (nor today's 重保 slots) as missed."""
    windows = [Window("重保", date(2026, 11, 24), date(2026, 11, 26))]
    for day in range(1, 25):
        for k in range(3 if day == 24 else 1):
            add_run(store, local(2026, 11, day, 8 + 4 * k), HEALTHY)
    add_run(store, local(2026, 11, 25, 8, 30), HEALTHY)           # today: 1 of 3 heightened slots so far
    now = local(2026, 11, 25, 9).astimezone(timezone.utc)         # 2026-11-25 09:00 Asia/Shanghai
    m = assemble.monthly(store, parse_period("month", "2026-11", SH), windows, now=now, with_trends=False)
    ins = m["inspections"]
    assert ins["missed"] == [] and ins["missed_count"] == 0
    assert ins["required"] == ins["done"] == 23 + 3 and ins["rate"] == 100.0
    today = next(d for d in ins["days"] if d["date"] == "2026-11-25")
    assert (today["due"], today["required"], today["done"]) == (False, 0, 1)
    # the next morning, the 25th is over: its two missing heightened inspections are listed
    m = assemble.monthly(store, parse_period("month", "2026-11", SH), windows,
                         now=local(2026, 11, 26, 9).astimezone(timezone.utc), with_trends=False)
    assert [(x["date"], x["missing"]) for x in m["inspections"]["missed"]] == [("2026-11-25", 2)]


def test_resource_record_shows_the_recorded_forecast(store):
    """Days until full are the inspection's HOST-CAP-001 (judged against its thresholds), never refitted."""
    for d in range(7):
        cap = [("db01", "HOST-CAP-001", "host", "warn" if d == 6 else "ok", "/srv/data", 19.0 if d == 6 else 40.0)]
        add_run(store, local(2026, 11, 23 + d, 9), cap, job="resources", profile="resources",
                metrics=[("fs.used_pct", "db01", "/srv/data", 50.0 + 2 * d), ("fs.used_pct", "db01", "/", 30.0),
                         ("fs.size_bytes", "db01", "/srv/data", float(64 * 2**30))])
    r = assemble.resource_record(store, parse_period("week", "2026-W48", SH))
    fs = {f["instance"]: f for f in r["filesystems"]}
    data = fs["/srv/data"]
    assert (data["first_pct"], data["last_pct"], data["growth_pct"]) == (50.0, 62.0, 12.0)
    assert (data["days_to_full"], data["forecast_text"], data["status"]) == (19.0, "19 天", "warn")
    assert data["size_text"] == "64 GiB"
    assert fs["/"]["days_to_full"] is None and fs["/"]["status"] is None and "未预测" in fs["/"]["forecast_text"]
    assert len(r["runs"]) == 7 and [f["instance"] for f in r["at_risk"]] == ["/srv/data"]


def test_summary_from_months(store):
    for m_, days in ((10, 31), (11, 30)):
        for d in range(1, days + 1):
            add_run(store, local(2026, m_, d), HEALTHY)
    q = assemble.summary(store, parse_period("quarter", "2026-Q4", SH), now=datetime(2027, 1, 5, tzinfo=timezone.utc))
    assert [m["month"] for m in q["months"]] == ["2026-10", "2026-11", "2026-12"]
    assert [m["done"] for m in q["months"]] == [31, 30, 0]
    assert q["totals"]["required"] == 92 and q["totals"]["done"] == 61 and q["totals"]["missed"] == 31
    assert q["months"][2]["empty"] and q["months"][2]["health"] is None
    assert q["health"]["score_avg"] == 100.0


def test_windows_file_formats():
    assert parse_windows([{"name": "春节", "start": "2027-02-05", "end": "2027-02-13"}], "x")[0].end == date(2027, 2, 13)
    sched = {"heightened": {"jobs": ["inspect"], "windows": [{"name": "A", "start": date(2027, 1, 1),
                                                                "end": date(2027, 1, 3)}]}}
    assert parse_windows(sched, "schedule.yml") == [Window("A", date(2027, 1, 1), date(2027, 1, 3))]
    from yunwei.errors import InputError
    with pytest.raises(InputError, match=r"heightened\[0\].end"):
        parse_windows([{"start": "2027-01-05", "end": "2027-01-01"}], "w.yml")


def test_windows_from_the_schedule(tmp_path, monkeypatch):
    """Without --windows, the heightened windows come from the schedule (issue 6's schedule.yml)."""
    from yunwei.reports.windows import load_windows

    sched = tmp_path / "schedule.yml"
    sched.write_text(
        "timezone: Asia/Shanghai\n"
        "jobs:\n  inspect:\n    cron: '30 8 * * *'\n    profile: daily\n"
        "heightened:\n  jobs: [inspect]\n  cron: '30 8,14,20 * * *'\n  profile: heightened\n"
        "  windows:\n    - {name: 国庆节, kind: holiday, start: 2026-10-01, end: 2026-10-07, systems: [web],"
        " rota: [{on_duty: [a, b]}]}\n"
        "operators:\n  a: {name: 甲, phone: '1'}\n  b: {name: 乙, phone: '2'}\n", encoding="utf-8")
    monkeypatch.setenv("YUNWEI_SCHEDULE", str(sched))
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))      # no approved copy there
    assert load_windows() == [Window("国庆节", date(2026, 10, 1), date(2026, 10, 7), "holiday", ("web",))]
    assert load_windows(sched) == load_windows()                   # --windows accepts a whole schedule.yml


def test_monthly_limited_run_does_not_count_as_the_days_inspection(store):
    """A fault re-check limited to one host (`--limit db01`) is not the day's inspection."""
    month = parse_period("month", "2026-12", SH)
    for day in range(1, 32):
        if day != 10:
            add_run(store, local(2026, 12, day), HEALTHY)
    recheck = add_run(store, local(2026, 12, 10, 15), [("db01", "DB-CONN-001", "db", "ok")], hosts=("db01",))
    add_run(store, local(2026, 12, 11, 16), [("web01", "WEB-HTTP-001", "web", "ok")], hosts=("web01",))
    m = assemble.monthly(store, month, now=datetime(2027, 1, 3, tzinfo=timezone.utc), with_trends=False)
    ins = m["inspections"]
    assert ins["required"] == 31 and ins["done"] == 30
    assert [(x["date"], x["done"], x["missing"]) for x in ins["missed"]] == [("2026-12-10", 0, 1)]
    assert ins["reference_hosts"] == ["db01", "web01"]
    assert [(p["date"], p["run_id"], p["hosts"], p["missing_hosts"]) for p in ins["partial"]] == [
        ("2026-12-10", recheck.id, ["db01"], ["web01"]), ("2026-12-11", ins["partial"][1]["run_id"], ["web01"], ["db01"])]
    assert next(d for d in ins["days"] if d["date"] == "2026-12-10")["partial"] == 1
    from yunwei.reports import document
    from yunwei.reports.contract import Contract
    doc = document.monthly(m, Contract(), charts_on=False)
    part = next(b for b in doc["blocks"] if b["type"] == "table" and b["sheet"] == "部分主机巡检")
    assert [r[0] for r in part["rows"]] == ["2026-12-10", "2026-12-11"]

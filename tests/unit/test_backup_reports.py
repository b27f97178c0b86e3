"""Backups in the reports (yunwei.reports.backups): the health daily's day and the monthly report's
backup windows - required from the schedule's backup slots, done from the BACKUP-RUN-001 the backup
jobs recorded, every missed window with its reason - from a journal written through the store's API,
with statuses judged by the real judge from what the status module computes."""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from yunwei.reports import backups
from yunwei.reports.contract import Contract
from yunwei.reports.periods import day_period, month_period
from yunwei.reports.plan import plan_from
from yunwei.schedule.model import parse_text
from yunwei.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report_journals import record_backup  # noqa: E402
from report_journals import record_status as _record_status  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
SCHEDULE = parse_text("""
timezone: Asia/Shanghai
jobs:
  backup_core_full: {cron: "5 1 * * *"}
  backup_core_incr: {cron: "5 0,2-23 * * *"}
  backup_general_incr: {cron: "30 2 * * *"}
""", "schedule.yml", check_jobs=False)
JOBS = {"backup_core_full": SimpleNamespace(vars={"backup_tier": "core", "backup_type": "full"}),
        "backup_core_incr": SimpleNamespace(vars={"backup_tier": "core", "backup_type": "incr"}),
        "backup_general_incr": SimpleNamespace(vars={"backup_tier": "general", "backup_type": "incr"}),
        "inspect": SimpleNamespace(vars={})}
SETS = [{"name": "appdb", "kind": "postgresql", "tier": "core", "hosts": ["db01"]},
        {"name": "site", "kind": "files", "tier": "general", "hosts": ["web01", "web02"]}]


def record_status(store, when, age: float = 600):
    return _record_status(store, when, sets=SETS, age=age, job="inspect")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(timezone.utc)


@pytest.fixture()
def store(tmp_path):
    with open_store(tmp_path / "j.sqlite", reap=False) as s:
        yield s


def test_missed_windows_per_data_set_with_their_reasons(store):
    # 2026-11-03: every core slot done but three; the full at 01:05 done as a full
    for hour in [0] + list(range(1, 24)):
        when = local(3, hour, 5)
        job = "backup_core_full" if hour == 1 else "backup_core_incr"
        if hour == 5:
            record_backup(store, job, when, [("appdb/repo1", "crit", "failed")], status="failed")  # the store was full
        elif hour == 6:
            record_backup(store, job, when, [], status="interrupted", reason="terminated (SIGTERM)")
        elif hour in (7, 8):
            continue  # the scheduler did not run
        else:
            record_backup(store, job, when, [("appdb/repo1", "ok", "full" if hour == 1 else "incr")])
    # general: web01 backed up, web02 failed on 11-03; both on 11-04; nothing on 11-05
    record_backup(store, "backup_general_incr", local(3, 2, 30), [("site/web01", "ok", "incr"), ("site/web02", "crit", "failed")])
    record_backup(store, "backup_general_incr", local(4, 2, 30), [("site/web01", "ok", "incr"), ("site/web02", "warn", "incr")])
    record_status(store, local(5, 8, 30))
    contract = Contract(start=date(2026, 11, 3), end=date(2026, 12, 31))  # nothing owed before the 3rd
    plan = plan_from(contract, [], SCHEDULE)
    period = month_period(2026, 11, TZ)
    now = local(5, 12)
    b = backups.month_section(store, period, plan, now, jobs=JOBS)
    per = {p["dataset"]: p for p in b["per_dataset"]}
    # core: 11-03 and 11-04 (48 windows) and 11-05's that are over by 12:00 (00:05 to 10:05: 11); only 11-03 ran
    assert per["appdb"]["required"] == 24 + 24 + 11 and per["appdb"]["done"] == 20
    assert per["appdb"]["required_full"] == 3 and per["appdb"]["done_full"] == 1
    # general: 11-03 02:30 (web02 failed), 11-04 02:30 (done, a warn backup completed); 11-05's window is not over
    assert (per["site"]["required"], per["site"]["done"], per["site"]["missed"]) == (2, 1, 1)
    reasons = {(w["dataset"], w["start"]): w["reason"] for w in b["missed"]}
    assert reasons[("appdb", "2026-11-03 05:05")] == "appdb/repo1 备份失败：存储库所在文件系统已满"
    assert reasons[("appdb", "2026-11-03 06:05")] == "备份作业中断：terminated (SIGTERM)"
    assert reasons[("appdb", "2026-11-03 07:05")] == "未执行（无备份作业记录）"
    assert reasons[("site", "2026-11-03 02:30")] == "site/web02 备份失败：存储库所在文件系统已满"
    assert "2026-11-02 23:05" not in {w["start"] for w in b["missed"]}  # before the service period
    assert len(b["missed"]) == per["appdb"]["missed"] + per["site"]["missed"]  # every missed window listed
    groups = [(g["dataset"], g["type"], g["when"], g["count"]) for g in b["missed_groups"]]
    assert ("appdb", "增量", "2026-11-03 07:05 至 2026-11-03 08:05", 2) in groups  # consecutive: one printed row
    # the incremental windows of 11-04 (23) and 11-05 up to the one that ended at 11:05 (10): one row
    assert ("appdb", "增量", "2026-11-04 00:05 至 2026-11-05 10:05", 33) in groups
    assert ("appdb", "全量", "2026-11-04 01:05 至 2026-11-05 01:05", 2) in groups
    assert "漏备 " + str(per["appdb"]["missed"] + 1) + " 次" in b["text"] and "本期未做完整性校验" in b["text"]
    assert [r["dataset"] for r in b["rows"]] == ["appdb", "site"] and b["status_time"] == "2026-11-05 08:30"


def test_a_full_window_needs_a_full_backup_and_a_late_run_counts_in_its_window(store):
    record_backup(store, "backup_core_full", local(3, 1, 5), [("appdb/repo1", "ok", "incr")])  # not a full
    record_backup(store, "backup_core_incr", local(3, 2, 50), [("appdb/repo1", "ok", "incr")])  # late, same window
    record_status(store, local(3, 0, 30))
    plan = plan_from(Contract(), [], SCHEDULE)
    b = backups.month_section(store, month_period(2026, 11, TZ), plan, local(3, 3, 10), jobs=JOBS)
    done = {(w["start"]): w for w in b["missed"]}
    assert "2026-11-03 01:05" in done and "2026-11-03 02:05" not in done


def test_no_schedule_or_no_status_says_so(store):
    plan = plan_from(Contract(), [], None)
    b = backups.month_section(store, month_period(2026, 11, TZ), plan, local(5, 12), jobs=JOBS)
    assert not b["scheduled"] and "无法核对备份窗口" in b["text"] and b["missed"] == []


def test_health_daily_shows_the_days_backups(store):
    record_backup(store, "backup_core_incr", local(5, 7, 5), [("appdb/repo1", "ok", "incr")])
    record_status(store, local(5, 8, 30), age=3 * 3600)  # the core data set's newest backup is 3 h old: crit
    day = backups.day_section(store, day_period(date(2026, 11, 5), TZ), now=local(5, 23))
    assert day["runs"] == 1 and day["ok"] == 1 and day["status_time"] == "2026-11-05 08:30"
    rows = {(r["dataset"], r["repo"]): r for r in day["rows"]}
    appdb = rows[("appdb", "备份存储")]
    assert appdb["status"] == "crit" and appdb["age"] == "3 小时" and appdb["limit"] == "1.5 小时"
    assert rows[("site", "备份存储")]["sources"] == "web01、web02" and rows[("site", "备份存储")]["status"] == "ok"
    assert any(a["title"] == "最近一次备份距今时长" and a["status"] == "crit" and a["suggestion"] for a in day["abnormal"])
    assert "1 项超出时限或异常" in day["text"]
    empty = backups.day_section(store, day_period(date(2026, 11, 1), TZ), now=local(5, 23))
    assert empty["rows"] == [] and "本日无备份状态记录" in empty["text"]


def test_repository_instances_and_tool_errors_read_in_chinese():
    """A damaged repository must not put English state words into the client's documents."""
    from yunwei.reports import humanise as hz

    assert hz.instance_text("site/primary") == "site/备份存储"
    assert hz.instance_text("appdb/offsite") == "appdb/异地副本"
    assert hz.instance_text("appdb/repo1") == "appdb/repo1" and hz.instance_text("port 5432") == "端口 5432"
    assert hz.instance_text("primary") == "主库"  # a replication role alone keeps its meaning
    assert hz.ascii_status_words(hz.instance_text("etc/primary") + " " + hz.local_text("error: pack damaged", None)) == []

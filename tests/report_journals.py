"""Journals and PDF helpers for the report tests (a development tool, not part of the product).

``year_journal`` writes a synthetic year (yunwei_dev.synthetic) plus the faults the client's
reviewer asked about, through the store's public write API:

* the contract's service period starts on 2026-03-01: January and February owe nothing;
* 2026-06-10 14:00: nginx stopped on web01 (its port, process and HTTP probes fail with it), seen
  up again by the next day's 09:00 run;
* 2026-07-15 14:00: db01 unreachable;
* 2026-08-01 .. 03: the daily run found no host (an empty inventory): it fails and never counts.

``backup_month`` adds a month of backups (the schedule's slots as the tier jobs would run them, a
backup status every morning computed by the status module's own code and judged by the real judge),
with the misses a reviewer must find in the monthly report: the backup store full for three hours
(failed backups), a run interrupted, a day the scheduler did not run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from yunwei.reports.contract import parse_contract
from yunwei.store import Check, Run, TaskResult

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))

SH = ZoneInfo("Asia/Shanghai")
YEAR_START = date(2026, 1, 1)
NO_HOST_DAYS = (date(2026, 8, 1), date(2026, 8, 2), date(2026, 8, 3))
NGINX_DOWN = datetime(2026, 6, 10, 14, 0, tzinfo=SH)
DB_UNREACHABLE = datetime(2026, 7, 15, 14, 0, tzinfo=SH)

CONTRACT = {
    "project": {"name": "省政务云上云平台运维服务项目", "number": "YW-TEST-001"},
    "client": {"name": "某省政务服务和数据管理局"}, "contractor": {"name": "某某信息技术有限公司"},
    "service_period": {"start": "2026-03-01", "end": "2027-02-28"},
    "team": [{"name": "张伟", "role": "项目经理", "logins": ["zhangwei"]},
             {"name": "李娜", "role": "运维工程师", "logins": ["zhangsan", "lina"]}],
    "signers": {"inspection-record": [{"role": "巡检人"}, {"role": "复核人", "name": "张伟"}],
                "monthly": [{"role": "编制人", "name": "李娜"}, {"role": "审核人", "name": "张伟"},
                            {"role": "甲方确认"}]},
}


def contract():
    return parse_contract(CONTRACT, "tests/report_journals.py")


def _run(store, started: datetime, hosts: list[str], checks: list[tuple], *, status: str = "ok") -> str:
    rid = str(uuid.uuid4())
    t = started.astimezone(timezone.utc)
    store.begin_run(Run(id=rid, job="inspect", profile="daily", operator="zhangsan", started_at=t, hosts=hosts))
    store.write_batch(rid, checks=[Check(id=cid, category=cat, status=st, host=h, time=t + timedelta(seconds=5),
                                         title=title, instance=inst, value=value, unit=unit, evidence=ev,
                                         suggestion=sug)
                                   for h, cid, cat, st, title, inst, value, unit, ev, sug in checks])
    store.finish_run(rid, status, ended_at=t + timedelta(seconds=40))
    return rid


def nginx_stopped(host: str = "web01") -> list[tuple]:
    return [
        (host, "WEB-NGINX-001", "web", "crit", "nginx 运行状态", "", "stopped", "", "未找到 nginx 主进程",
         "启动 nginx 并查看错误日志找出停止原因。"),
        (host, "HOST-PORT-001", "host", "crit", "监听端口", "", 1, "", "预期但未监听：80", "确认服务已启动。"),
        (host, "WEB-HTTP-001", "web", "crit", "网站可用性（HTTP 状态）", "http://127.0.0.1/", "unreachable", "",
         "请求失败：Connection refused", "检查 nginx。"),
        (host, "WEB-HTTP-003", "web", "crit", "页面关键字", "http://127.0.0.1/", False, "", "页面无法获取",
         "检查 nginx。"),
        (host, "HOST-UP-001", "host", "ok", "运行时间", "", 30, "d", "已运行 30 天", ""),
    ]


def year_journal(store, hosts: int = 5) -> dict:
    from yunwei_dev.synthetic import host_names, make_journal

    skip = [((d - YEAR_START).days, 0) for d in NO_HOST_DAYS]
    truth = make_journal(store, start=YEAR_START, days=365, runs_per_day=1, hosts=hosts, checks_per_host=24,
                         seed=11, skip=skip, operator="zhangsan")
    names = host_names(hosts)
    _run(store, NGINX_DOWN, names, nginx_stopped("web01") + [
        (h, "HOST-UP-001", "host", "ok", "运行时间", "", 30, "d", "", "") for h in names if h != "web01"])
    _run(store, DB_UNREACHABLE, names, [
        ("db01", "HOST-REACH-001", "host", "crit", "主机可达性", "", "unreachable", "", "无法连接主机", "检查网络。")] + [
        (h, "HOST-UP-001", "host", "ok", "运行时间", "", 30, "d", "", "") for h in names if h != "db01"])
    for d in NO_HOST_DAYS:
        _run(store, datetime.combine(d, time(9, 0), tzinfo=SH), [], [], status="failed")
    return {"truth": truth, "hosts": names}


# ----------------------------------------------------------------------------- backups
BACKUP_SCHEDULE = """
timezone: Asia/Shanghai
jobs:
  backup_core_full: {cron: "5 1 * * *"}
  backup_core_incr: {cron: "5 0,2-23 * * *"}
  backup_general_full: {cron: "30 2 * * 0"}
  backup_general_incr: {cron: "30 2 * * 1-6"}
"""
BACKUP_SETS = [{"name": "appdb", "kind": "postgresql", "tier": "core", "hosts": ["db01"]},
               {"name": "site", "kind": "files", "tier": "general", "hosts": ["web01"]}]
STATUS_TASK = "Status | BACKUP-* of the repositories and of the WAL archive"


def backup_schedule():
    from yunwei.schedule.model import parse_text

    return parse_text(BACKUP_SCHEDULE, "tests/report_journals.py", check_jobs=False)


def record_status(store, when: datetime, *, sets=None, age: float = 600, site_type: str = "full",
                  job: str = "backup_status") -> str:
    """A run whose backup status on backup01 was computed by the status module's code from these facts
    (appdb's newest backup ``age`` s old, the files hosts' an hour) and judged as on the controller."""
    from ansible_collections.yunwei.ops.plugins.module_utils.backup_status import compute

    from yunwei.backup.judge import judge_backup_result

    sets = sets or BACKUP_SETS
    now = when.timestamp()
    pg = {"name": "appdb", "cipher": "aes-256-cbc", "status": {"code": 0, "message": "ok"},
          "backup": [{"label": "F", "type": "full", "timestamp": {"start": now - age - 60, "stop": now - age}, "info": {}}]}
    hosts = sorted({h for d in sets if d["kind"] == "files" for h in d["hosts"]})
    snaps = [{"hostname": h, "time_epoch": now - 3600, "short_id": "abcd1234", "tags": [f"type={site_type}"]} for h in hosts]
    facts = {"role": "store", "host": "backup01", "pg": {"appdb": pg},
             "restic": {d["name"]: {"snapshots": snaps} for d in sets if d["kind"] == "files"},
             "verify": {}, "repo_fs": [{"path": "/srv/backup", "total": 100, "free": 60, "used": 40, "days_full": None}]}
    findings, metrics, rows = compute(facts, sets, now)
    res = judge_backup_result({"findings": findings, "metrics": metrics, "rows": rows})
    t = when.astimezone(timezone.utc)
    rid = str(uuid.uuid4())
    store.begin_run(Run(id=rid, job=job, started_at=t, hosts=["backup01"]))
    store.write_batch(rid, results=[TaskResult(run_id=rid, host="backup01", task=STATUS_TASK, status="ok",
                                               action="yunwei.ops.backup_status", result={"rows": res["rows"]})],
                      checks=[Check(**{k: c[k] for k in ("id", "category", "status", "title", "instance", "value", "unit",
                                                         "threshold", "evidence", "suggestion")},
                                    run_id=rid, host="backup01", time=t, task=STATUS_TASK) for c in res["checks"]])
    store.finish_run(rid, "ok", ended_at=t + timedelta(seconds=5))
    return rid


def record_backup(store, job: str, when: datetime, results: list[tuple[str, str, str]], status: str = "ok",
                  reason: str = "") -> None:
    """A backup job's run: one BACKUP-RUN-001 per (instance, status, value)."""
    t = when.astimezone(timezone.utc)
    rid = str(uuid.uuid4())
    store.begin_run(Run(id=rid, job=job, operator="yunwei-scheduler", started_at=t, hosts=["backup01"]))
    store.write_batch(rid, checks=[Check(id="BACKUP-RUN-001", category="backup", status=st, run_id=rid, host="backup01",
                                         time=t + timedelta(minutes=2), title="备份执行结果", instance=inst, value=value,
                                         evidence=f"{inst} 备份失败：存储库所在文件系统已满" if st == "crit" else f"{inst} {value} 备份完成",
                                         suggestion="清理或扩容备份存储后重新备份。" if st == "crit" else "")
                                   for inst, st, value in results])
    store.finish_run(rid, status, ended_at=t + timedelta(minutes=3), reason=reason)


STORE_FULL = (datetime(2026, 6, 12, 3, 5, tzinfo=SH), datetime(2026, 6, 12, 5, 5, tzinfo=SH))
BACKUP_INTERRUPTED = datetime(2026, 6, 18, 14, 5, tzinfo=SH)
SCHEDULER_DOWN = date(2026, 6, 20)


def backup_month(store, year: int = 2026, month: int = 6) -> None:
    """The month's scheduled backups of appdb (core) and site (general) with the misses of the module
    docstring, and a backup status every morning at 08:00."""
    from yunwei.schedule.calendar import fires_between

    sched = backup_schedule()
    start = datetime(year, month, 1, tzinfo=SH)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SH)
    for job in sched.entries:
        for t in fires_between(sched, job, start - timedelta(microseconds=1), end - timedelta(microseconds=1)):
            if t.date() == SCHEDULER_DOWN:
                continue
            btype = "full" if job.endswith("_full") else "incr"
            inst = "appdb/repo1" if "_core_" in job else "site/web01"
            if STORE_FULL[0] <= t <= STORE_FULL[1] and inst == "appdb/repo1":
                record_backup(store, job, t, [(inst, "crit", "failed")], status="failed",
                              reason="task 'Backup | PostgreSQL into the backup store' failed on backup01")
            elif t == BACKUP_INTERRUPTED:
                record_backup(store, job, t, [], status="interrupted", reason="terminated (SIGTERM)")
            else:
                record_backup(store, job, t, [(inst, "ok", btype)])
    day = start
    while day < end:
        record_status(store, day + timedelta(hours=8))
        day += timedelta(days=1)


# ----------------------------------------------------------------------------- PDF
@dataclass
class Pdf:
    path: Path
    pages: int
    sizes: list[tuple[float, float]]
    text: str


def pdf_info(path: Path) -> Pdf:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(path)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    sizes = []
    for line in info.splitlines():
        if line.startswith("Page") and "size:" in line:
            parts = line.split("size:")[1].split()
            sizes.append((float(parts[0]), float(parts[2])))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return Pdf(path, pages, sizes, text)


def is_a4(size: tuple[float, float]) -> bool:
    w, h = sorted(size)
    return abs(w - 595.3) < 2 and abs(h - 841.9) < 2


def keep_pngs(pdf: Path, folder: Path, *, dpi: int = 50) -> list[Path]:
    """Every page as a PNG under ``folder`` (git-ignored test artifacts, for a human to look at)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


# ----------------------------------------------------------------------------- restore tests and drills
DRILL_QUARTER = (2026, 4)  # 2026-Q4: October tested (one failure, retested), November not tested, December drill


def _drill_run(store, job: str, when: datetime, sets: list[dict], *, status: str = "ok", reason: str = "",
               fault: dict | None = None, scenario: str = "") -> str:
    """A restore-test or drill run as the role records it: DRILL-* checks, drill.* metrics and the
    yunwei.ops.restore task results (backup used, phases; for a drill the fault and the timeline)."""
    from yunwei.store import Metric

    t = when.astimezone(timezone.utc)
    rid = str(uuid.uuid4())
    store.begin_run(Run(id=rid, job=job, operator="lina", started_at=t, hosts=["drill01"]))
    checks, metrics, items = [], [], []
    for s in sets:
        inst = s["dataset"]
        for cid, st, title, value, ev, thr in s["checks"]:
            checks.append(Check(id=cid, category="drill", status=st, run_id=rid, host="drill01", time=t + timedelta(minutes=3),
                                title=title, instance=inst, value=value, threshold=thr, evidence=ev,
                                suggestion="按证据中的报错排查，修复后重新执行恢复测试。" if st == "fail" else ""))
        for name, value in s["metrics"].items():
            metrics.append(Metric(name=f"drill.{name}", value=value, run_id=rid, host="drill01", instance=inst,
                                  time=t + timedelta(minutes=3)))
        items.append({"backup": s["backup"], "scenario": scenario, "checks": [{"instance": inst}],
                      "restore_started": t.timestamp() + s.get("wait", 5),
                      "verified_at": t.timestamp() + s.get("wait", 5) + s["metrics"].get("total_s", 0)})
    results = [TaskResult(run_id=rid, host="drill01", task="Restore", status="ok", action="yunwei.ops.restore",
                          result={"results": items})]
    if fault:
        results.insert(0, TaskResult(run_id=rid, host="db01", task="Drill | the fault", status="changed",
                                     action="yunwei.ops.restore", result={"fault": fault}))
    store.write_batch(rid, results=results, checks=checks, metrics=metrics)
    store.finish_run(rid, status, ended_at=t + timedelta(minutes=5), reason=reason)
    return rid


def _pg_set(total: float, *, ok: bool = True, rto: float | None = None, rpo: float | None = None) -> dict:
    checks = [("DRILL-RESTORE-001", "pass" if ok else "fail", "备份恢复结果", "20261001-020000F",
               "appdb 恢复到演练主机并完成恢复" if ok else "pgbackrest restore 失败：checksum mismatch", None),
              ("DRILL-AMCHECK-001", "pass", "索引完整性校验（amcheck）", 24, "24 个 B-tree 索引均通过 amcheck", None),
              ("DRILL-ROWS-001", "pass" if ok else "fail", "恢复数据行数核对", 3,
               "3 张表的行数均与备份时记录一致" if ok else "行数不一致：public.approvals 恢复后 0 行，备份时 11250 行", None)]
    if not ok:  # the restore itself failed: nothing to verify
        checks = checks[:1]
    metrics = {"fetch_s": 1.2, "restore_s": total * 0.6, "start_s": 2.0, "wal_replay_s": total * 0.2, "verify_s": total * 0.1,
               "total_s": total}
    if rto is not None:
        checks += [("DRILL-RTO-001", "pass", "恢复时间（RTO）— 合同要求", rto, "RTO", {"max": 14400}),
                   ("DRILL-RTO-002", "pass" if rto <= 900 else "fail", "恢复时间（RTO）— 运维目标", rto, "RTO", {"max": 900}),
                   ("DRILL-RPO-001", "pass", "数据丢失时间（RPO）— 合同要求", rpo, "RPO", {"max": 3600}),
                   ("DRILL-RPO-002", "pass", "数据丢失时间（RPO）— 运维目标", rpo, "RPO", {"max": 60})]
        metrics.update(rto_s=rto, rpo_s=rpo)
    return {"dataset": "appdb", "checks": checks, "metrics": metrics,
            "backup": {"label": "20261001-020000F", "stop_text": "2026-10-01T02:10:00Z", "repo": 1, "type": "full"}}


def _files_set(total: float) -> dict:
    return {"dataset": "site@web01", "metrics": {"fetch_s": 0.8, "restore_s": total - 1.5, "verify_s": 0.7, "total_s": total},
            "checks": [("DRILL-RESTORE-001", "pass", "备份恢复结果", "3f2a9c1e", "site@web01 快照 3f2a9c1e 已恢复到演练主机", None),
                       ("DRILL-MANIFEST-001", "pass", "恢复文件校验（sha256 清单）", 412, "412 个文件的 sha256 与快照清单一致", None)],
            "backup": {"label": "3f2a9c1e", "stop_text": "2026-10-01T03:00:00.123456789+00:00", "type": "incr"}}


def drill_quarter(store) -> dict:
    """2026-Q4: 10-05 a restore test that failed (appdb: a corrupted backup), 10-06 retested, passed;
    November: no restore test (a missed obligation); 12-03 a restore test refused as bad input (tests
    nothing), 12-04 a passed one; 12-10 the accidental-drop drill (injected, RTO 95 s, RPO 0.8 s)."""
    _drill_run(store, "restore_test", datetime(2026, 10, 5, 10, 0, tzinfo=SH), [_pg_set(40.0, ok=False), _files_set(6.0)],
               status="failed", reason="restore test failed: appdb")
    _drill_run(store, "restore_test", datetime(2026, 10, 6, 10, 0, tzinfo=SH), [_pg_set(38.5), _files_set(5.5)])
    _drill_run(store, "restore_test", datetime(2026, 12, 3, 10, 0, tzinfo=SH), [], status="failed",
               reason="bad input, nothing changed (read-only pre-flight only): restore_drill_dataset: data set x")
    _drill_run(store, "restore_test", datetime(2026, 12, 4, 10, 0, tzinfo=SH), [_pg_set(36.0), _files_set(5.0)])
    fault = datetime(2026, 12, 10, 15, 0, tzinfo=SH).timestamp()
    _drill_run(store, "drill_accidental_drop", datetime(2026, 12, 10, 15, 0, tzinfo=SH), [_pg_set(60.0, rto=95.0, rpo=0.8) | {"wait": 35}],
               scenario="accidental-drop", fault={"fault": fault, "archived_at": fault + 30, "injected": True})
    return {"quarter": "2026-Q4"}

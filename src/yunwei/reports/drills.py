"""《数据备份恢复测试报告》 (``restore-test``, a month) and 《恢复演练报告》 (``drill``, a quarter), and the
restore-test/drill section of the monthly, quarterly and annual reports.

Everything comes from the journal: the runs of the restore-test and drill jobs, their DRILL-* checks
(judged on the controller when they were recorded: a 不通过 is never re-judged as a pass here), the
phase metrics (``drill.*_s``) and the ``yunwei.ops.restore`` task results (the backup restored, the
fault's time, when the restore started and when the application query was verified). A run that
failed or did not complete counts as a failed test; a run refused as bad input (nothing restored) is
listed but tested nothing. A month without a passed restore test is a missed obligation.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from yunwei.drill import DRILL_JOBS, RESTORE_JOBS
from yunwei.reports import humanise as hz
from yunwei.reports.assemble import _local, period_info, runs_of, signoff
from yunwei.reports.periods import Period, month_period

RESTORE_ACTION = "yunwei.ops.restore"
# the contract's limits and our targets (seconds); a drill's RTO/RPO checks carry the ones it was judged by
LIMITS = {"rto_contract": 14400, "rto_target": 900, "rpo_contract": 3600, "rpo_target": 60}
PHASES = (("fetch", "选取备份"), ("restore", "恢复"), ("start", "启动"), ("wal_replay", "WAL 回放"), ("verify", "校验"))
SCENARIOS = {"host-loss": "数据库主机故障（数据目录损毁）", "accidental-drop": "误删表（误操作）",
             "file-corruption": "网站文件损坏", "backup-host-loss": "备份主机失效（自异地副本恢复）"}
RESULT = {"pass": "通过", "fail": "不通过"}
# the order a reviewer reads the verifications in: restored, then each proof, then the times
ORDER = {"DRILL-RESTORE-001": 0, "DRILL-AMCHECK-001": 1, "DRILL-ROWS-001": 2, "DRILL-APP-001": 3, "DRILL-MANIFEST-001": 4}


def _secs(value: Any) -> str:
    return "—" if value is None else hz.duration_text(float(value)) if float(value) >= 60 else f"{float(value):.1f} 秒"


def _limit_text(seconds: float) -> str:
    return hz.duration_text(seconds)


def _items(result: dict[str, Any]) -> list[dict[str, Any]]:
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    return [i for i in items if isinstance(i, dict)]


def run_detail(store: Any, run: Any, period: Period, contract: Any = None) -> dict[str, Any]:
    """One restore-test or drill run as the documents show it: per data set the backup used, every
    verification, the phases; for a drill the fault and the timeline."""
    from yunwei.reports import catalog as cat

    checks = [c for c in store.checks(run_id=run.id) if c.id.startswith("DRILL-")]
    metrics = {(m.name, m.instance): m.value for m in store.metrics(run_id=run.id) if m.name.startswith("drill.")}
    backups: dict[str, dict[str, Any]] = {}
    fault: dict[str, Any] = {}
    scenario = ""
    timeline: dict[str, Any] = {}
    for t in store.task_results(run.id):
        if t.action != RESTORE_ACTION or not isinstance(t.result, dict):
            continue
        for item in _items(t.result):
            if isinstance(item.get("fault"), dict) and item["fault"].get("fault"):
                fault = item["fault"]
            scenario = str(item.get("scenario") or scenario)
            inst = next((c.get("instance") for c in item.get("checks") or () if c.get("instance")), None)
            if inst and isinstance(item.get("backup"), dict):
                backups[inst] = item["backup"]
            # the timeline is the measured restore's: the one with RTO checks (backup-host-loss restores several)
            measured = any(str(c.get("id", "")).startswith("DRILL-RTO") for c in item.get("checks") or ())
            if item.get("restore_started") and item.get("verified_at") and (measured or not timeline):
                if measured or not timeline.get("measured"):
                    timeline = {"restore_started": float(item["restore_started"]), "verified_at": float(item["verified_at"]),
                                "measured": measured, "files": bool(inst and "@" in inst)}
    refused = bool(run.reason and run.reason.startswith("bad input"))
    sets: dict[str, dict[str, Any]] = {}
    for c in sorted(checks, key=lambda c: (c.instance, ORDER.get(c.id, 99), c.id)):
        s = sets.setdefault(c.instance, {"dataset": c.instance, "checks": [], "failed": []})
        row = {"id": c.id, "title": c.title or c.id, "status": c.status, "result": RESULT.get(c.status, c.status),
               "value": c.value, "threshold": c.threshold, "evidence": hz.local_text(c.evidence or "", period.tz),
               "suggestion": hz.client_text(c.suggestion or "")}
        s["checks"].append(row)
        if c.status != "pass":
            s["failed"].append(row)
    for inst, s in sets.items():
        b = backups.get(inst) or {}
        restore = next((x for x in s["checks"] if x["id"] == "DRILL-RESTORE-001"), None)
        label = b.get("label") or (restore or {}).get("value")
        s["backup"] = str(label) if label and label != "failed" else "—（未能读取备份）"
        s["backup_time"] = _iso_local(str(b.get("stop_text") or ""), period)
        s["repo"] = f"repo{b['repo']}" if b.get("repo") else ("restic" if "@" in inst else "—")
        s["phases"] = {k: metrics.get((f"drill.{k}_s", inst)) for k, _ in PHASES}
        s["total_s"] = metrics.get(("drill.total_s", inst))
        s["rto_s"] = metrics.get(("drill.rto_s", inst))
        s["rpo_s"] = metrics.get(("drill.rpo_s", inst))
        # a data set passed when all its checks passed and the run ended (a failed run fails because of
        # another data set, whose checks say so); an interrupted or timed-out run passed nothing
        s["result"] = "pass" if not s["failed"] and restore and run.status in ("ok", "failed") else "fail"
        s["result_label"] = RESULT[s["result"]]
        s["limits"] = dict(LIMITS)
        for x in s["checks"]:
            mx = (x["threshold"] or {}).get("max") if isinstance(x["threshold"], dict) else None
            key = {"DRILL-RTO-001": "rto_contract", "DRILL-RTO-002": "rto_target", "DRILL-RPO-001": "rpo_contract",
                   "DRILL-RPO-002": "rpo_target"}.get(x["id"])
            if key and isinstance(mx, (int, float)):
                s["limits"][key] = float(mx)
    ordered = [sets[k] for k in sorted(sets)]
    passed = sum(1 for s in ordered if s["result"] == "pass")
    evidence = " ".join(x["evidence"] for s in ordered for x in s["checks"] if x["id"] == "DRILL-RESTORE-001")
    if fault:
        injected: bool | None = bool(fault.get("injected"))
    else:  # a run recorded before the fault's task result was kept: what its evidence says
        injected = True if "故障已注入" in evidence else False if "模拟故障" in evidence else None
    result = "pass" if ordered and passed == len(ordered) and run.status == "ok" else "fail"
    problems = [f"{s['dataset']}：{x['title']}不通过（{x['evidence']}）" for s in ordered for x in s["failed"]]
    if not ordered and not refused:
        problems.append(f"作业未完成（{cat.RUN_STATUS_LABEL.get(run.status, run.status)}）：{run.reason or '无可用结果'}")
    fault_t = float(fault["fault"]) if fault.get("fault") else None
    archived = float(fault["archived_at"]) if fault.get("archived_at") else None
    return {
        "run_id": run.id, "job": run.job, "time": _local(run.started_at, period), "started_at": run.started_at,
        "operator": _person(contract, run.operator), "status": run.status, "status_label": cat.RUN_STATUS_LABEL.get(run.status, run.status),
        "refused": refused, "reason": run.reason or "", "datasets": ordered, "passed": passed, "failed": len(ordered) - passed,
        "result": "refused" if refused else result, "result_label": "未执行（输入错误被拒绝）" if refused else RESULT[result],
        "problems": problems, "scenario": scenario, "scenario_label": SCENARIOS.get(scenario, scenario or "—"),
        "injected": injected,
        "fault_mode": "—" if injected is None else "实际注入（演练环境）" if injected else "模拟（未触碰生产主机）",
        "fault_at": fault_t, "restore_started": timeline.get("restore_started"), "verified_at": timeline.get("verified_at"),
        "timeline": _timeline(fault_t, archived, timeline, injected, period) if fault_t else [],
    }


def _timeline(fault: float, archived: float | None, t: dict[str, Any], injected: Any, period: Period) -> list[dict[str, str]]:
    """A drill's timeline: fault, detection, restore start, service back (the application query verified)."""
    def row(what: str, at: float | None, note: str) -> dict[str, str]:
        return {"what": what, "time": _epoch_text(at, period), "note": note,
                "since": "—" if at is None else _secs(max(0.0, at - fault))}

    rows = [row("故障发生", fault, "演练" + ("注入" if injected else "声明") + "的故障时间"),
            row("发现故障", fault, "演练中故障即时发现（真实故障另需监控告警与人工判断的时间）")]
    if archived:
        rows.append(row("故障时刻的 WAL 已归档", archived, "时间点恢复所需的 WAL 已在备份存储中"))
    rows += [row("开始恢复", t.get("restore_started"), "演练主机上开始恢复"),
             row("服务恢复", t.get("verified_at"), "恢复的文件经 sha256 清单校验一致" if t.get("files")
                 else "恢复出的数据库上应用查询验证通过")]
    return rows


def _person(contract: Any, login: str) -> str:
    """An operator login as the person's name (docs/reports.md: an unknown login is marked as such)."""
    if not login:
        return "—"
    if contract is not None and contract.known(login):
        return contract.person(login)
    return f"{login}（未登记账号）"


def _iso_local(text: str, period: Period) -> str:
    """pgBackRest's stop time (``2026-12-01T02:05:00Z``) or restic's snapshot time (nanoseconds, an
    offset) in the client's zone; text that is no timestamp is shown as it is."""
    import re

    m = re.match(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$", text.strip())
    if not m:
        return text or "—"
    zone = "+00:00" if m[3] in (None, "Z") else m[3]
    moment = datetime.fromisoformat(f"{m[1]}T{m[2]}{zone}")
    return _local(moment, period, "%Y-%m-%d %H:%M:%S")


def _epoch_text(epoch: float | None, period: Period) -> str:
    if epoch is None:
        return "—"
    return _local(datetime.fromtimestamp(epoch, timezone.utc), period, "%Y-%m-%d %H:%M:%S")


def _month_obligations(store: Any, period: Period, now: datetime, contract: Any) -> list[dict[str, Any]]:
    """Per month of ``period``: restore tests run and passed, and the obligation: met, missed, not yet
    due (the month is not over) or none (outside the service period)."""
    out = []
    y, m = period.first.year, period.first.month
    while (y, m) <= (period.last.year, period.last.month):
        mp = month_period(y, m, period.tz)
        runs = [run_detail(store, r, mp) for r in runs_of(store, mp, RESTORE_JOBS)]
        tested = [r for r in runs if not r["refused"]]
        passed = [r for r in tested if r["result"] == "pass"]
        owed = contract is None or any(contract.in_service(d) for d in mp.days())
        due = mp.until <= now
        missed = owed and due and not passed
        state = ("已完成" if passed else "服务期外" if not owed else "未完成（漏做）" if due else "未到期")
        out.append({"month": mp.label, "runs": len(tested), "passed": len(passed), "state": state, "missed": missed,
                    "status": "通过" if passed else "不通过" if missed else "—"})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _rate(passed: int, total: int) -> float | None:
    return round(100.0 * passed / total, 2) if total else None


def restore_test(store: Any, period: Period, plan: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """《数据备份恢复测试报告》 of one month."""
    now = now or datetime.now(timezone.utc)
    runs = [run_detail(store, r, period, plan.contract) for r in runs_of(store, period, RESTORE_JOBS)]
    tested = [r for r in runs if not r["refused"]]
    sets = [s for r in tested for s in r["datasets"]]
    passed = sum(1 for s in sets if s["result"] == "pass")
    obligation = _month_obligations(store, period, now, plan.contract)[0]
    problems = []
    for r in tested:
        for s in r["datasets"]:
            for x in s["failed"]:
                retest = next((r2["time"] for r2 in tested if r2["started_at"] > r["started_at"] for s2 in r2["datasets"]
                               if s2["dataset"] == s["dataset"] and s2["result"] == "pass"), None)
                problems.append({"time": r["time"], "dataset": s["dataset"], "title": x["title"], "evidence": x["evidence"],
                                 "action": (x["suggestion"] or "按证据排查后重新测试").rstrip("。") +
                                 (f"；已于 {retest} 重新测试通过。" if retest else "；至期末尚未重新测试通过。")})
        if not r["datasets"]:
            problems.append({"time": r["time"], "dataset": "—", "title": "恢复测试作业未完成", "evidence": "；".join(r["problems"]),
                             "action": "检查作业失败原因（yunwei runs show）后重新执行恢复测试。"})
    return {"kind": "restore-test", "title": "数据备份恢复测试报告", "period": period_info(period), "empty": not runs,
            "runs": tested, "refused": len(runs) - len(tested), "tested": len(tested), "sets": len(sets), "passed": passed, "failed": len(sets) - passed,
            "rate": _rate(passed, len(sets)), "obligation": obligation, "problems": problems, "limits": dict(LIMITS),
            "signoff": signoff(plan.contract, "restore-test", [], period.last, now, period.tz)}


def drill(store: Any, period: Period, plan: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """《恢复演练报告》 of one quarter."""
    now = now or datetime.now(timezone.utc)
    runs = [run_detail(store, r, period, plan.contract) for r in runs_of(store, period, DRILL_JOBS)]
    done = [r for r in runs if not r["refused"]]
    passed = sum(1 for r in done if r["result"] == "pass")
    due = period.until <= now
    months = _month_obligations(store, period, now, plan.contract)
    lessons = []
    for r in done:
        lessons += _lessons(r)
    return {"kind": "drill", "title": "恢复演练报告", "period": period_info(period), "empty": not runs, "runs": done,
            "refused": len(runs) - len(done), "drills": len(done), "passed": passed, "failed": len(done) - passed, "rate": _rate(passed, len(done)),
            "obligation": {"state": "已完成" if passed else ("未完成（漏做）" if due else "未到期（季度末前完成）"),
                           "missed": due and not passed},
            "months": months, "lessons": list(dict.fromkeys(lessons)), "limits": dict(LIMITS),
            "signoff": signoff(plan.contract, "drill", [], period.last, now, period.tz)}


def _lessons(r: dict[str, Any]) -> list[str]:
    """What a drill teaches, from its own figures: where the time went, RPO, what failed."""
    out = []
    for s in r["datasets"]:
        phases = {k: v for k, v in s["phases"].items() if v}
        total = sum(phases.values())
        if phases and s["rto_s"] is not None:
            name, secs = max(phases.items(), key=lambda kv: kv[1])
            label = dict(PHASES)[name]
            wait = (r["restore_started"] - r["fault_at"]) if r["restore_started"] and r["fault_at"] else 0.0
            out.append(f"{r['scenario_label']}（{s['dataset']}）：RTO {_secs(s['rto_s'])}，其中恢复各阶段（选取备份至校验）合计 {_secs(total)}，"
                       f"耗时最多的是{label}（{_secs(secs)}，占 {100 * secs / total:.0f}%）"
                       + (f"；故障至开始恢复 {_secs(wait)}（等待 WAL 归档、切换到异地副本等）" if wait > 1 else "")
                       + "。缩短措施：并行恢复（process-max）、增量恢复（delta），或在演练主机上保持热备库。")
        if s["rpo_s"] is not None:
            out.append(f"{r['scenario_label']}（{s['dataset']}）：RPO {_secs(s['rpo_s'])}，取决于 WAL 归档的及时性"
                       "（archive_timeout 与归档延迟）；" + ("在运维目标之内。" if s["rpo_s"] <= s["limits"]["rpo_target"]
                                                      else "超过运维目标：缩短 archive_timeout 并检查归档延迟。"))
        for x in s["failed"]:
            out.append(f"{r['scenario_label']}（{s['dataset']}）：{x['title']}不通过 — {x['suggestion'] or x['evidence']}")
    if r["injected"] is False:
        out.append(f"{r['scenario_label']}：本次为模拟故障（未触碰生产主机），RTO 自声明的故障时间起算，不含真实故障的发现与决策时间。")
    return out


def section(store: Any, period: Period, contract: Any = None, now: datetime | None = None) -> dict[str, Any]:
    """The restore tests (and, for a quarter or year, the drills) of the monthly/quarterly/annual report:
    results, success rate, and every month without a passed restore test as a missed obligation."""
    now = now or datetime.now(timezone.utc)
    runs = [run_detail(store, r, period, contract) for r in runs_of(store, period, RESTORE_JOBS)]
    tested = [r for r in runs if not r["refused"]]
    sets = [s for r in tested for s in r["datasets"]]
    ok = sum(1 for s in sets if s["result"] == "pass")
    months = _month_obligations(store, period, now, contract)
    missed = [m["month"] for m in months if m["missed"]]
    parts = []
    if tested:
        parts.append(f"本期执行备份恢复测试 {len(tested)} 次，恢复数据集 {len(sets)} 个次，通过 {ok} 个次、不通过 {len(sets) - ok} 个次，"
                     f"恢复成功率 {_rate(ok, len(sets)) if sets else 0:.2f}%（合同要求 100%）。")
        failed = [f"{r['time']} {s['dataset']}" for r in tested for s in r["datasets"] if s["result"] != "pass"]
        if failed:
            parts.append("不通过：" + "；".join(failed[:10]) + "（详见《数据备份恢复测试报告》）。")
    else:
        parts.append("本期无执行记录。")
    if missed:
        parts.append("未履行的义务：" + "、".join(missed) + " 未完成每月备份恢复测试（合同要求每月至少 1 次）。")
    elif any(m["state"] == "已完成" for m in months):
        parts.append("每月备份恢复测试义务均已完成。")
    out = {"title": "备份恢复测试", "enabled": True, "runs": len(runs), "ok": ok, "failed": len(sets) - ok,
           "rate": _rate(ok, len(sets)), "months": months, "missed": missed, "text": "".join(parts)}
    if period.unit in ("quarter", "year"):
        drills = [run_detail(store, r, period, contract) for r in runs_of(store, period, DRILL_JOBS)]
        drills = [d for d in drills if not d["refused"]]
        good = sum(1 for d in drills if d["result"] == "pass")
        out["drill_text"] = (f"本期执行恢复演练 {len(drills)} 次，通过 {good} 次，成功率 {_rate(good, len(drills)):.2f}%："
                             + "；".join(f"{d['time']} {d['scenario_label']} {d['result_label']}"
                                        + "".join(f"，RTO {_secs(s['rto_s'])}、RPO {_secs(s['rpo_s'])}" for s in d["datasets"]
                                                  if s["rto_s"] is not None)[:200] for d in drills) + "。"
                             if drills else "本期未执行恢复演练" + ("（季度义务未履行）。" if period.until <= now else "。"))
    return out

"""《系统运行月度总结报告》 and the quarterly/annual summaries, one function per report section.

Only warn/crit results are loaded row by row; ok results are counted in the store
(``check_summary``), so a month of 200 hosts stays small in memory. Each ``section_*`` function
takes the month's context and returns the plain data of one section of the document.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from yunwei.paths import project_root
from yunwei.reports import analysis, drills, health
from yunwei.reports import catalog as cat
from yunwei.reports import humanise as hz
from yunwei.reports.assemble import (
    _local, as_plan, avail_row, count, finding_row, inspection_runs, outage_rows, period_info,
    reached_hosts, recorded_forecasts, run_verdict, runs_of, score_day, service_availability, signoff,
    trend_series,
)
from yunwei.reports.contract import Contract
from yunwei.reports.periods import Period, month_period, months_of, today, weeks_of
from yunwei.reports.plan import Plan
from yunwei.reports.windows import Window

Item = analysis.Item


@dataclass(frozen=True)
class _Reported:
    """A host a run reported checks on (stands in for its ok checks, which are not loaded)."""

    run_id: str
    host: str
    id: str = ""
    status: str = "ok"
    instance: str = ""
    time: Any = None


@dataclass
class Month:
    """What every section reads: the period, the plan, the clock, and the rows loaded once."""

    store: Any
    period: Period
    plan: Plan
    now: datetime
    runs: list[Any] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    bad: list[Any] = field(default_factory=list)        # warn/crit checks of the month's inspection runs
    markers: list[Any] = field(default_factory=list)    # (run, host) pairs that reported checks
    summary: list[Any] = field(default_factory=list)    # store.check_summary rows

    @property
    def contract(self) -> Contract:
        return self.plan.contract

    @property
    def end(self) -> datetime:
        """The end of what can have been observed: the period's end, or now."""
        return min(self.period.until, self.now)


def load_month(store: Any, period: Period, plan: Plan, now: datetime) -> Month:
    m = Month(store, period, plan, now)
    m.runs = inspection_runs(store, period)
    m.jobs = sorted({r.job for r in m.runs}) or list(cat.INSPECTION_JOBS)
    ids = {r.id for r in m.runs}
    until = period.until + timedelta(hours=12)
    m.bad = sorted((c for job in m.jobs for st in ("warn", "crit")
                    for c in store.checks(job=job, status=st, since=period.since, until=until) if c.run_id in ids),
                   key=lambda c: c.time)
    m.markers = [_Reported(run_id, host) for job in m.jobs
                 for run_id, host in store.check_hosts(since=period.since, until=until, job=job) if run_id in ids]
    m.summary = [x for job in m.jobs for x in store.check_summary(since=period.since, until=period.until, job=job)]
    return m


# ----------------------------------------------------------------------------- sections
def section_inspections(m: Month) -> dict[str, Any]:
    """Inspections owed (plan: schedule and contract, service period only) against those done.

    A run counts when it ran to its end and reached at least one host, and it is *full*: it covered
    every host of the month's reference set (the union of the hosts of the counted runs). A run
    limited to some hosts is listed as partial and does not count."""
    period = m.period
    reached, unreachable = reached_hosts(m.markers + m.bad)
    counted, not_counted = [], []
    for r in m.runs:
        ok, why = run_verdict(r, reached.get(r.id, set()), unreachable.get(r.id, set()))
        (counted if ok else not_counted).append((r, why))
    reference = sorted({h for r, _ in counted for h in (r.hosts or [])})
    done_per_day: dict[date, int] = defaultdict(int)
    partial_per_day: dict[date, int] = defaultdict(int)
    partial = []
    for r, _ in counted:
        d = period.local_day(r.started_at)
        missing_hosts = sorted(set(reference) - set(r.hosts or []))
        if missing_hosts:
            partial_per_day[d] += 1
            partial.append({"date": d.isoformat(), "started": _local(r.started_at, period), "run_id": r.id,
                            "operator": m.contract.person(r.operator), "hosts": sorted(r.hosts or []),
                            "missing_hosts": missing_hosts})
        else:
            done_per_day[d] += 1
    cutoff = today(period.tz, m.now)
    days, missed = [], []
    required_total = done_total = 0
    for d in period.days():
        w = m.plan.window(d)
        in_service = m.contract.in_service(d)
        required = m.plan.required(d)
        done = done_per_day.get(d, 0)
        due = d < cutoff and in_service
        days.append({"date": d.isoformat(), "required": required if due else 0, "done": done,
                     "partial": partial_per_day.get(d, 0), "window": w.name if w else "", "due": due,
                     "in_service": in_service,
                     "state": ("服务期外" if not in_service else "未到期" if d >= cutoff else
                               "完成" if done >= required else "漏检")})
        if not due:
            continue
        required_total += required
        done_total += min(done, required)
        if done < required:
            missed.append({"date": d.isoformat(), "required": required, "done": done,
                           "missing": required - done, "window": w.name if w else ""})
    return {
        "required": required_total, "done": done_total, "runs": len(m.runs), "counted_runs": len(counted),
        "rate": round(100.0 * done_total / required_total, 1) if required_total else None,
        "heightened_days": sum(1 for d in days if d["window"] and d["in_service"]), "days": days,
        "missed": missed, "missed_count": sum(x["missing"] for x in missed), "reference_hosts": reference,
        "partial": partial, "service_days": sum(1 for d in days if d["in_service"]),
        "not_counted": [{"started": _local(r.started_at, period), "run_id": r.id, "reason": why,
                         "operator": m.contract.person(r.operator),
                         "status_label": cat.RUN_STATUS_LABEL.get(r.status, r.status)} for r, why in not_counted],
        "rule": m.plan.source_text(),
    }


def section_results(m: Month) -> dict[str, Any]:
    """Check results: totals (counted in the store), distinct findings with root causes, by category."""
    totals = {"ok": 0, "warn": 0, "crit": 0}
    for x in m.summary:
        totals["ok"] += x.ok
        totals["warn"] += x.warn
        totals["crit"] += x.crit
    last_status = {(x.host, x.id): x.last_status for x in m.summary}
    found = analysis.findings(m.bad)
    for f in found:  # recovery from the latest recorded status (ok rows are not loaded)
        if last_status.get((f.host, f.check_id)) == "ok":
            f.state = analysis.STATE_RECOVERED
    by_cat: dict[str, dict[str, Any]] = {}
    for f in found:
        row = by_cat.setdefault(f.category, {"category": f.category, "label": cat.category_label(f.category),
                                             "warn": 0, "crit": 0, "causes": 0, "consequences": 0, "items": 0})
        row["items"] += 1
        row["causes" if f.is_cause else "consequences"] += 1
        row[f.worst] += f.occurrences
    titles = {analysis.item_of(c): c.title or c.id for c in m.bad}
    return {"totals": {**totals, "checks": sum(totals.values()), "runs": len(m.runs)},
            "hosts": sorted({x.host for x in m.summary} | {h for r in m.runs for h in (r.hosts or [])}),
            "findings": found, "finding_rows": [finding_row(f, m.period, titles=titles) for f in found],
            "by_category": sorted(by_cat.values(), key=lambda r: (-(r["warn"] + r["crit"]), r["label"]))}


def section_availability(m: Month) -> dict[str, Any]:
    """Time-weighted availability per service, counted inside the contract's service period only."""
    since, until = m.period.since, m.period.until
    c = m.contract
    if c.start is not None:
        since = max(since, datetime.combine(c.start, datetime.min.time(), tzinfo=m.period.tz).astimezone(timezone.utc))
    if c.end is not None:
        until = min(until, datetime.combine(c.end + timedelta(days=1), datetime.min.time(),
                                            tzinfo=m.period.tz).astimezone(timezone.utc))
    if until <= since:
        avail = service_availability(m.store, since, since, m.jobs, m.now, ids=())
        return {"rows": [avail_row(a) for a in avail], "outages": [], "method": analysis.AVAILABILITY_METHOD}
    avail = service_availability(m.store, since, until, m.jobs, m.now, ids={x.id for x in m.summary})
    return {"rows": [avail_row(a) for a in avail], "outages": outage_rows(avail, m.period, m.end),
            "method": analysis.AVAILABILITY_METHOD}


def section_health(m: Month) -> dict[str, Any]:
    """The day scores (causes only, caps for outages and unreachable hosts) and the month's score."""
    day_of = {r.id: m.period.local_day(r.started_at) for r in m.runs}
    reached, unreachable = reached_hosts(m.markers + m.bad)
    counted = {r.id for r in m.runs if run_verdict(r, reached.get(r.id, set()), unreachable.get(r.id, set()))[0]}
    per_day: dict[date, list[Any]] = defaultdict(list)
    hosts_day: dict[date, set[str]] = defaultdict(set)
    for c in m.markers + m.bad:
        if c.run_id in counted:
            per_day[day_of[c.run_id]].append(c)
            hosts_day[day_of[c.run_id]].add(c.host)
    daily = []
    for d in m.period.days():
        if d not in per_day:
            continue
        ds, _ = score_day(per_day[d], hosts_day[d])
        if ds.score is not None:
            daily.append((d, ds))
    total = health.period_score([ds for _, ds in daily])
    grade, status = total.grade
    return {"score_avg": total.score, "raw": total.raw, "caps": total.reasons, "grade": grade,
            "grade_status": status,
            "daily": [{"date": d.isoformat(), "score": ds.score, "grade": ds.grade[0], "caps": "；".join(ds.reasons),
                       "cap": ds.cap, "service_down": ds.service_down} for d, ds in daily]}


def section_events(m: Month, results: dict[str, Any], avail: dict[str, Any]) -> list[dict[str, Any]]:
    """Events of the month: service outages, then the root causes that were crit (worst first)."""
    events = [{"time": o["start"], "kind": "服务中断", "what": f"{o['service']}不可用（{o['hosts'] or '—'}）",
               "duration": o["duration"], "state": "已恢复" if o["end"] != "至期末未恢复" else "未恢复",
               "detail": o["evidence"]} for o in avail["outages"]]
    for f in results["findings"]:
        if f.worst != "crit" or not f.is_cause:
            continue
        events.append({"time": _local(f.first, m.period), "kind": "严重异常",
                       "what": f"{f.host} {f.title}" + (f"（{f.instance}）" if f.instance else ""),
                       "duration": f"出现 {f.occurrences} 次", "state": f.state,
                       "detail": hz.local_text(f.evidence, m.period.tz)})
    return sorted(events, key=lambda e: e["time"])


def audit_changes(since: datetime, until: datetime, contract: Contract) -> dict[str, Any]:
    """Changes executed through two-person review, from the audit log's public API."""
    try:
        from yunwei.audit.log import default_log
        from yunwei.audit.show import select
        records = list(default_log().records())
    except (ImportError, OSError):
        return {"available": False, "rows": []}
    by_request: dict[str, dict[str, Any]] = defaultdict(dict)
    for rec in records:
        req = rec.get("request")
        if req:
            by_request[req].setdefault(rec.get("event", ""), rec)
    rows = []
    for rec in select(records, event="execution", since=since, until=until):
        req = rec.get("request")
        if not req:
            continue
        info = by_request.get(req, {})
        requested, approved, result = info.get("request", {}), info.get("approval", {}), info.get("result", {})
        when = datetime.fromisoformat(str(rec["time"]).replace("Z", "+00:00"))
        rows.append({"time": when, "job": rec.get("job", ""), "request": req,
                     "requester": contract.person(requested.get("operator", "")),
                     "approver": contract.person(approved.get("operator", "")),
                     "executor": contract.person(rec.get("operator", "")),
                     "result": {"ok": "成功", "failed": "失败"}.get(str(result.get("status", "")),
                                                                 str(result.get("status", "")) or "未记录")})
    return {"available": True, "rows": rows}


def section_work(m: Month) -> dict[str, Any]:
    """Work done: runs per job, changes executed through review (the tickets: section_service)."""
    runs = [r for r in m.store.list_runs(since=m.period.since, until=m.period.until)
            if r.started_at is not None and m.period.contains(r.started_at)]
    per_job: dict[str, dict[str, int]] = defaultdict(lambda: {"runs": 0, "ok": 0, "failed": 0})
    for r in runs:
        row = per_job[r.job or "（未命名）"]
        row["runs"] += 1
        row["ok" if r.status == "ok" else "failed"] += 1
    changes = audit_changes(m.period.since, m.period.until, m.contract)
    for c in changes["rows"]:
        c["time"] = _local(c["time"], m.period)
    return {"jobs": [{"job": JOB_LABEL.get(k, k), **v} for k, v in sorted(per_job.items())],
            "changes": changes["rows"], "audit_available": changes["available"]}


def section_alerts(m: Month) -> dict[str, Any]:
    """Real-time alerts of the month (docs/monitoring.md): timeline, counts by rule and host, MTTA/MTTR."""
    from yunwei.monitoring.report_data import alert_section

    return alert_section(m.store, m.period.since, m.period.until, m.now)


def section_service(m: Month, *, monthly_rows: bool = False) -> dict[str, Any]:
    """The service desk (服务台): tickets by grade and channel, response and handling times (median, p90,
    max) against the contract's clocks, breaches with their reasons, satisfaction, feedback closed."""
    from yunwei.servicedesk.report_data import service_section

    return service_section(m.store, m.period, now=m.now, contract=m.contract, monthly_rows=monthly_rows)


JOB_LABEL = {"inspect": "日常巡检", "inspection": "日常巡检", "resources": "资源巡检", "ping": "连通性检查",
             "ticket_watch": "工单时限巡查",
             "login_banner": "登录警示横幅（变更）", "backup": "数据备份", "restore_drill": "恢复演练",
             "backup_core_full": "核心数据全量备份", "backup_core_incr": "核心数据增量备份",
             "backup_general_full": "一般数据全量备份", "backup_general_incr": "一般数据增量备份",
             "backup_verify": "备份完整性校验", "backup_status": "备份状态检查", "backup_setup": "备份配置（变更）",
             "baseline-audit": "安全基线核查", "baseline-enforce": "安全基线整改（变更）"}


def item_days(bad: Sequence[Any], period: Period) -> dict[Item, set[date]]:
    out: dict[Item, set[date]] = defaultdict(set)
    for c in bad:
        out[analysis.item_of(c)].add(period.local_day(c.time))
    return out


def section_risks(m: Month, results: dict[str, Any]) -> dict[str, Any]:
    """Hidden risks (隐患) with their lifecycle: a root cause abnormal on >= RISK_MIN_DAYS days is a
    risk; compared with the previous month it is new or carried over; recovered by the month's end
    it is closed; last month's risks not seen again are closed too."""
    days = item_days([c for c in m.bad], m.period)
    prev = month_period(*(m.period.first - timedelta(days=1)).timetuple()[:2], m.period.tz)
    prev_runs = {r.id for r in inspection_runs(m.store, prev)}
    prev_bad = [c for job in m.jobs for st in ("warn", "crit")
                for c in m.store.checks(job=job, status=st, since=prev.since, until=prev.until) if c.run_id in prev_runs]
    prev_days = item_days(prev_bad, prev)
    rows = []
    for f in results["findings"]:
        n = len(days.get(f.item, ()))
        if not f.is_cause or n < cat.RISK_MIN_DAYS:
            continue
        carried = f.item in prev_days
        state = "已关闭" if f.state == analysis.STATE_RECOVERED else ("持续" if carried else "新发现")
        rows.append({"host": f.host, "check_id": f.check_id, "instance": f.instance, "title": f.title,
                     "category_label": cat.category_label(f.category), "days": n, "worst": f.worst,
                     "worst_label": cat.STATUS_LABEL[f.worst], "first": _local(f.first, m.period, "%Y-%m-%d"),
                     "last": _local(f.last, m.period, "%Y-%m-%d"), "state": state,
                     "since": "上月或更早" if carried else _local(f.first, m.period, "%Y-%m-%d"),
                     "last_evidence": hz.local_text(f.evidence, m.period.tz),
                     "suggestion": hz.client_text(f.suggestion)})
    current = {(r["host"], r["check_id"], r["instance"]) for r in rows}
    last_prev = {analysis.item_of(c): c for c in prev_bad}
    for item, ds in sorted(prev_days.items()):
        if len(ds) >= cat.RISK_MIN_DAYS and item not in days and item not in current:
            c = last_prev[item]
            rows.append({"host": item[0], "check_id": item[1], "instance": item[2], "title": c.title or item[1],
                         "category_label": cat.category_label(c.category), "days": 0, "worst": c.status,
                         "worst_label": cat.STATUS_LABEL[c.status], "first": "", "last": max(ds).isoformat(),
                         "state": "已关闭", "since": "上月", "last_evidence": "本月未再出现",
                         "suggestion": ""})
    order = {"持续": 0, "新发现": 1, "已关闭": 2}
    rows.sort(key=lambda r: (order[r["state"]], -cat.STATUS_ORDER[r["worst"]], -r["days"], r["host"]))
    return {"rows": rows, "open": sum(1 for r in rows if r["state"] != "已关闭"),
            "new": sum(1 for r in rows if r["state"] == "新发现"),
            "carried": sum(1 for r in rows if r["state"] == "持续"),
            "closed": sum(1 for r in rows if r["state"] == "已关闭")}


def section_capacity(m: Month) -> list[dict[str, Any]]:
    """Filesystems the inspection forecast to fill (HOST-CAP-001 warn/crit), as recorded."""
    out = []
    for (host, inst), c in sorted(recorded_forecasts(m.store, m.period.since, m.period.until).items()):
        if c.status in ("warn", "crit"):
            out.append({"host": host, "instance": inst, "days_text": hz.value_text(c.value, c.unit or "d"),
                        "status": c.status, "status_label": cat.STATUS_LABEL[c.status],
                        "evidence": hz.local_text(c.evidence, m.period.tz),
                        "suggestion": hz.client_text(c.suggestion)})
    return out


def section_measures(m: Month, results: dict[str, Any], risks: dict[str, Any], capacity: list[dict[str, Any]],
                     ins: dict[str, Any]) -> list[str]:
    """Improvement measures derived from recurring findings, capacity forecasts and missed inspections."""
    measures: list[str] = []
    seen: set[str] = set()
    for r in risks["rows"]:
        s = (r["suggestion"] or "").strip()
        if r["state"] == "已关闭" or not s or s in seen:
            continue
        seen.add(s)
        measures.append(f"{r['title']}（{r['host']}{'，' + r['instance'] if r['instance'] else ''}，本月异常 "
                        f"{r['days']} 天）：{s}")
    by_check: dict[str, set[str]] = defaultdict(set)
    for f in results["findings"]:
        if f.is_cause:
            by_check[f.title].add(f.host)
    for title, hosts in sorted(by_check.items()):
        if len(hosts) >= 3:
            measures.append(f"{title}在 {len(hosts)} 台主机上出现：按同一方案统一整改，并纳入主机标准配置。")
    for f in capacity:
        measures.append(f"{f['host']} 文件系统 {f['instance']} 预计 {f['days_text']}后写满：清理过期数据或扩容，并确认增长来源。")
    if ins["missed"]:
        measures.append(f"本月漏检 {ins['missed_count']} 次：核对巡检定时任务与堡垒机可用性，重保期间确保每日巡检次数。")
    if ins["not_counted"]:
        measures.append(f"{len(ins['not_counted'])} 次巡检作业未完成或未到达主机：检查主机清单与网络连通性后补做巡检。")
    return measures


def section_backup(m: Month) -> dict[str, Any]:
    from yunwei.reports.backups import month_section

    return {"backup": month_section(m.store, m.period, m.plan, m.now),
            "restore_test": drills.section(m.store, m.period, m.plan.contract, m.now)}


def job_section(store: Any, period: Period, jobs: Sequence[str], role: str, title: str) -> dict[str, Any]:
    runs = runs_of(store, period, jobs)
    if runs:
        ok = sum(1 for r in runs if r.status == "ok")
        return {"title": title, "enabled": True, "runs": len(runs), "ok": ok, "failed": len(runs) - ok,
                "text": f"本期共执行 {len(runs)} 次，成功 {ok} 次，失败或中断 {len(runs) - ok} 次。"}
    enabled = (project_root() / "roles" / role / "tasks").is_dir()
    return {"title": title, "enabled": enabled, "runs": 0, "ok": 0, "failed": 0,
            "text": "本期无执行记录。" if enabled else "该项工作尚未纳入自动化（相应角色未启用），本期无记录。"}


def section_baseline(store: Any, period: Period, plan: Plan, now: datetime) -> dict[str, Any]:
    """The semi-annual security baseline check (等保 2.0): when it last ran, when the next is due."""
    from yunwei.reports.baseline import last_check

    months = int(plan.contract.obligations.get("baseline_check_months", 6) or 6)
    return last_check(store, min(period.until, now), period.tz, months)


def section_next(m: Month) -> dict[str, Any]:
    """Next month's due obligations, from the plan and the contract."""
    nxt_first = m.period.last + timedelta(days=1)
    nxt = month_period(nxt_first.year, nxt_first.month, m.period.tz)
    ob = m.contract.obligations
    service_days = [d for d in nxt.days() if m.contract.in_service(d)]
    rows = []
    if not service_days:
        return {"month": nxt.title, "rows": [], "text": f"{nxt.title}不在服务期内，无到期工作。"}
    inspections = sum(m.plan.required(d) for d in service_days)
    windows = sorted({(w.name, w.start, w.end) for d in service_days if (w := m.plan.window(d))}, key=lambda x: x[1])
    rows.append({"item": "日常巡检", "due": f"{inspections} 次",
                 "note": ("重保：" + "；".join(f"{n}（{a:%m-%d} 至 {b:%m-%d}，每日 "
                                               f"{ob.get('heightened_inspection_per_day', 3)} 次）" for n, a, b in windows))
                 if windows else f"每日 {ob.get('inspection_per_day', 1)} 次"})
    weeks = [w for w in weeks_of(nxt) if m.contract.in_service(w.first) or m.contract.in_service(w.last)]
    rows.append({"item": "资源巡检", "due": f"{len(weeks) * ob.get('resource_inspection_per_week', 1)} 次",
                 "note": "每周 1 次，形成《资源巡检记录》"})
    rows.append({"item": "备份恢复测试", "due": f"{ob.get('restore_test_per_month', 1)} 次",
                 "note": "形成《数据备份恢复测试报告》"})
    if nxt.first.month % 3 == 0:
        rows.append({"item": "恢复演练", "due": f"{ob.get('recovery_drill_per_quarter', 1)} 次（本季度末前）",
                     "note": "模拟故障场景，验证 RTO ≤ 4 小时、RPO ≤ 1 小时"})
        rows.append({"item": "漏洞扫描", "due": f"{ob.get('vulnerability_scan_per_quarter', 1)} 次（本季度末前）",
                     "note": "待安装安全更新与已知漏洞软件包"})
    months = ob.get("baseline_check_months", 6)
    start = m.contract.start
    last = section_baseline(m.store, m.period, m.plan, m.now)
    if last["last"]:  # due from the last check that ran
        if date.fromisoformat(last["next_due"]) <= nxt.last:
            rows.append({"item": "安全基线检查", "due": "1 次",
                         "note": f"上次核查 {last['last']}，每 {months} 个月 1 次，应于 {last['next_due']} 前完成"})
    elif start and months and ((nxt.first.year - start.year) * 12 + nxt.first.month - start.month) % months == months - 1:
        rows.append({"item": "安全基线检查", "due": "1 次", "note": f"每 {months} 个月 1 次（等保 2.0 安全计算环境）"})
    return {"month": nxt.title, "rows": rows, "text": ""}


def section_comparison(this: dict[str, Any], prev: dict[str, Any]) -> list[dict[str, Any]]:
    """Month-on-month: the key figures of this month against the previous one."""
    def pick(d: dict[str, Any]) -> dict[str, Any]:
        avail = {a["service"]: a["availability_pct"] for a in d["availability"]["rows"]}
        return {"健康评分": d["health"]["score_avg"], "巡检完成率(%)": d["inspections"]["rate"],
                "漏检次数": d["inspections"]["missed_count"] if d["inspections"]["required"] else None,
                "异常问题（根因）": sum(1 for f in d["results"]["findings"] if f.is_cause) if not d["empty"] else None,
                "严重问题（根因）": sum(1 for f in d["results"]["findings"] if f.is_cause and f.worst == "crit")
                if not d["empty"] else None,
                "未关闭隐患": d["risks"]["open"] if not d["empty"] else None,
                "故障申告（件）": d["service"]["tickets"] if d.get("service") else None,
                "超时工单（件）": d["service"]["breached_tickets"] if d.get("service") else None,
                **{f"{k.split('（')[0]}可用率(%)": v for k, v in avail.items()}}
    a, b = pick(this), pick(prev)
    rows = []
    for k in a:
        x, y = a[k], b.get(k)
        if x is None and y is None:
            change = "—"
        elif x is None or y is None:
            change = "无可比数据"
        else:
            diff = round(x - y, 2)
            change = "持平" if diff == 0 else (f"+{diff}" if diff > 0 else str(diff))
        rows.append({"figure": k, "this": x, "prev": y, "change": change})
    return rows


# ----------------------------------------------------------------------------- monthly
def monthly(store: Any, period: Period, plan: Plan | Sequence[Window] | None = None, *, now: datetime | None = None,
            with_trends: bool = True, compare: bool = True, contract: Contract | None = None,
            service: bool = True) -> dict[str, Any]:
    """《系统运行月度总结报告》 (works for any period; quarterly/annual use it per month, without the
    service section, which they compute once for the whole period)."""
    plan = as_plan(plan, contract)
    now = now or datetime.now(timezone.utc)
    m = load_month(store, period, plan, now)
    ins = section_inspections(m)
    results = section_results(m)
    avail = section_availability(m)
    risks = section_risks(m, results)
    capacity = section_capacity(m)
    data: dict[str, Any] = {
        "kind": "monthly", "title": "系统运行月度总结报告", "period": period_info(period),
        "empty": not m.runs and not results["totals"]["checks"],
        "hosts": results["hosts"], "totals": results["totals"], "inspections": ins, "results": results,
        "availability": avail, "health": section_health(m), "events": section_events(m, results, avail),
        "work": section_work(m), "service": section_service(m) if service else None, "risks": risks,
        "alerts": section_alerts(m),
        "capacity": capacity,
        "measures": section_measures(m, results, risks, capacity, ins),
        "trends": trend_series(store, period.since, period.until, "day", period.tz) if with_trends else [],
        **section_backup(m), "next": section_next(m), "baseline": section_baseline(store, period, plan, now),
        "in_service": any(plan.contract.in_service(d) for d in period.days()),
        "signoff": signoff(plan.contract, "monthly", [], period.last, now, period.tz),
    }
    data["findings"] = results["finding_rows"]
    data["comparison"] = []
    if compare:
        pf = period.first - timedelta(days=1)
        prev = monthly(store, month_period(pf.year, pf.month, period.tz), plan, now=now, with_trends=False,
                       compare=False)
        data["comparison"] = section_comparison(data, prev)
        data["previous_title"] = prev["period"]["title"]
    return data


# ----------------------------------------------------------------------------- 季度 / 年度
def summary(store: Any, period: Period, plan: Plan | Sequence[Window] | None = None, *, now: datetime | None = None,
            contract: Contract | None = None) -> dict[str, Any]:
    """Quarterly or annual summary, built month by month from :func:`monthly`."""
    plan = as_plan(plan, contract)
    now = now or datetime.now(timezone.utc)
    months, risk_acc, outages, changes = [], {}, [], []
    avail: dict[str, dict[str, float]] = defaultdict(lambda: {"observed_s": 0.0, "down_s": 0.0, "outages": 0})
    for mp in months_of(period):
        mm = monthly(store, mp, plan, now=now, with_trends=False, compare=False, service=False)
        ins, h = mm["inspections"], mm["health"]
        months.append({
            "month": mp.label, "title": mp.title, "empty": mm["empty"], "in_service": mm["in_service"],
            "runs": mm["totals"]["runs"], "required": ins["required"], "done": ins["done"],
            "missed": ins["missed_count"], "rate": ins["rate"], "health": h["score_avg"], "grade": h["grade"],
            "warn": mm["totals"]["warn"], "crit": mm["totals"]["crit"],
            "causes": sum(1 for f in mm["results"]["findings"] if f.is_cause),
            "risks_open": mm["risks"]["open"], "risks_closed": mm["risks"]["closed"],
            "availability": {a["service"]: a["availability_pct"] for a in mm["availability"]["rows"]},
            "outages": len(mm["availability"]["outages"]), "changes": len(mm["work"]["changes"]),
            "daily": h["daily"],
        })
        for a in mm["availability"]["rows"]:
            acc = avail[a["service"]]
            acc["observed_s"] += a["observed_s"]
            acc["down_s"] += a["down_s"]
            acc["outages"] += a["outages"]
        outages += mm["availability"]["outages"]
        changes += mm["work"]["changes"]
        for r in mm["risks"]["rows"]:
            key = (r["host"], r["check_id"], r["instance"])
            acc = risk_acc.setdefault(key, {**r, "days": 0, "months": 0, "first_month": mp.label,
                                            "last_month": mp.label, "month_list": []})
            if r["days"]:
                acc["days"] += r["days"]
                acc["months"] += 1
                acc["month_list"].append(mp.label)
                acc["last_month"] = mp.label
            acc["state"] = r["state"]
            acc["worst"] = r["worst"] if cat.STATUS_ORDER[r["worst"]] > cat.STATUS_ORDER[acc["worst"]] else acc["worst"]
            acc["worst_label"] = cat.STATUS_LABEL[acc["worst"]]
            acc["suggestion"] = r["suggestion"] or acc["suggestion"]
    with_data = [x for x in months if not x["empty"]]
    required = sum(x["required"] for x in months)
    done = sum(x["done"] for x in months)
    day_scores = [health.DayScore(d["score"], d["score"], d["cap"], [], d["service_down"])
                  for x in months for d in x["daily"]]
    total = health.period_score(day_scores)
    grade, grade_status = total.grade
    risks = sorted(risk_acc.values(), key=lambda r: (r["state"] == "已关闭", -cat.STATUS_ORDER[r["worst"]],
                                                    -r["months"], -r["days"], r["host"]))
    for r in risks:
        r["lifecycle"] = (f"{r['first_month']} 发现，" + (f"{r['last_month']} 关闭" if r["state"] == "已关闭" else
                                                          "至期末未关闭") + f"，累计 {r['months']} 个月、{r['days']} 天")
    kind = "quarterly" if period.unit == "quarter" else "annual"
    end = min(period.until, now)
    return {
        "kind": kind, "title": "系统运行季度总结报告" if kind == "quarterly" else "系统运行年度总结报告",
        "period": period_info(period), "empty": not with_data, "months": months,
        "totals": {"runs": sum(x["runs"] for x in months), "required": required, "done": done,
                   "missed": sum(x["missed"] for x in months),
                   "rate": round(100.0 * done / required, 1) if required else None,
                   "warn": sum(x["warn"] for x in months), "crit": sum(x["crit"] for x in months),
                   "outages": len(outages), "changes": len(changes)},
        "health": {"score_avg": total.score, "raw": total.raw, "caps": total.reasons, "grade": grade,
                   "grade_status": grade_status},
        "availability": [{"service": s, "observed_s": v["observed_s"], "down_s": v["down_s"],
                          "outages": int(v["outages"]),
                          "observed": hz.duration_text(v["observed_s"]) if v["observed_s"] else "—",
                          "down": hz.duration_text(v["down_s"]) if v["down_s"] else "0",
                          "availability_pct": round(100.0 * (1 - v["down_s"] / v["observed_s"]), 2)
                          if v["observed_s"] else None} for s, v in avail.items()],
        "availability_method": analysis.AVAILABILITY_METHOD,
        "outages": sorted(outages, key=lambda o: o["start"]), "changes": changes,
        "risks": risks,
        "measures": list(dict.fromkeys(f"{r['title']}（{r['host']}）：{r['suggestion']}"
                                       for r in risks if r["suggestion"] and r["state"] != "已关闭")),
        "backup": job_section(store, period, cat.BACKUP_JOBS, "backup", "数据备份"),
        "restore_test": drills.section(store, period, plan.contract, now),
        "contract_period": plan.contract.period_text(), "observed_until": _local(end, period),
        "baseline": section_baseline(store, period, plan, now),
        "service": section_service(Month(store, period, plan, now), monthly_rows=True),
        "signoff": signoff(plan.contract, kind, [], period.last, now, period.tz),
    }

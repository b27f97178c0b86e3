"""Backups in the reports: the health daily's 数据备份 section and the monthly report's backup windows.

Pure functions of the store's read API and the plan (the approved schedule); nothing is judged
again. Statuses are the ones recorded when the backup status ran (``yunwei.backup.from_run``: the
rows and BACKUP-* checks of a run that included ``yunwei.ops.backup_status`` - the daily inspection,
a backup, verify or status job). A backup **window** is one fire of a scheduled backup job
(tier and type from the job catalogue's ``vars``) inside the contract's service period, up to the
tier's next fire; it is done for a data set when a backup of that data set succeeded (an ok or warn
``BACKUP-RUN-001``, the type the window asks for) in a run that started inside it. docs/backup.md
("In the daily inspection and the reports") states the rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from yunwei.reports import catalog as cat
from yunwei.reports import humanise as hz
from yunwei.reports.periods import Period

STATUS_ACTION = "yunwei.ops.backup_status"
# the jobs whose runs may carry a backup status: the backup jobs, verify, status, the daily inspection
STATUS_JOBS = cat.BACKUP_JOBS + ("backup_status",) + cat.INSPECTION_JOBS
TYPE_LABEL = {"full": "全量", "diff": "差异", "incr": "增量"}
REPO_LABEL = {"primary": "备份存储", "offsite": "异地副本", "wal": "WAL 归档（实时）"}
TIER_LABEL = {"core": "核心", "general": "一般"}
START_GRACE = timedelta(minutes=5)  # a run that starts a little before its slot (clock skew, a manual run) counts
LOOKBACK = timedelta(days=35)       # where the data sets come from when the period recorded no status


def _local(moment: datetime | None, period: Period, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return hz.local_time(moment, period.tz, fmt)


def _epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), timezone.utc) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _runs(store: Any, jobs: Iterable[str], since: datetime, until: datetime) -> list[Any]:
    runs: dict[str, Any] = {}
    for job in jobs:
        for r in store.list_runs(job=job, since=since, until=until):
            if r.started_at is not None and since <= r.started_at < until:
                runs[r.id] = r
    return sorted(runs.values(), key=lambda r: r.started_at)


def latest_status(store: Any, since: datetime, until: datetime) -> tuple[Any, Any]:
    """(run, BackupStatus) of the newest run in [since, until) that recorded a backup status, or (None, None)."""
    from yunwei.backup import from_run

    for run in reversed(_runs(store, STATUS_JOBS, since, until)):
        if any(r.action == STATUS_ACTION for r in store.task_results(run.id)):
            status = from_run(store, run.id)
            if status.rows:
                return run, status
    return None, None


# ----------------------------------------------------------------------------- status rows
def _row_status(rows: Sequence[dict[str, Any]]) -> str:
    return max((r.get("status") or "crit" for r in rows), key=lambda s: cat.STATUS_ORDER.get(s, 0))


def status_rows(status: Any, period: Period) -> list[dict[str, Any]]:
    """One row per data set and repository (files: the worst of its hosts), and one per WAL archive."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in status.rows:
        groups[(r["dataset"], r.get("repo") or "")].append(r)
    out = []
    for (dataset, repo), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], list(REPO_LABEL).index(kv[0][1])
                                                                       if kv[0][1] in REPO_LABEL else 9)):
        first = rows[0]
        worst = _row_status(rows)
        limit = next((r.get("limit_s") for r in rows if isinstance(r.get("limit_s"), dict)), None)
        limit_text = hz.duration_text(float(limit["warn"])) if limit else "—"
        if repo == "wal":
            lag = first.get("wal_lag_s")
            newest = (f"最近归档 {_local(_epoch(first.get('last_archived_time')), period)}"
                      if first.get("last_archived_time") else "—")
            age = "—" if lag is None else ("≤" if first.get("wal_lag_bounded") else "") + hz.duration_text(float(lag))
            full = verify = "—"
        else:
            # files: the host whose newest backup is oldest decides the age
            ages = [r.get("newest_age_s") for r in rows]
            known = [a for a in ages if a is not None]
            pick = rows[ages.index(max(known))] if known and len(known) == len(ages) else \
                next((r for r in rows if r.get("newest_age_s") is None), first)
            last = pick.get("last") or {}
            newest_item = max(last.items(), key=lambda kv: kv[1].get("time") or 0) if last else None
            newest = (f"{_local(_epoch(newest_item[1].get('time')), period)}（{TYPE_LABEL.get(newest_item[0], newest_item[0])}）"
                      if newest_item else "无备份")
            age = hz.duration_text(float(pick["newest_age_s"])) if pick.get("newest_age_s") is not None else "—"
            fulls = [(r.get("last") or {}).get("full", {}).get("time") for r in rows]
            full = _local(_epoch(min(fulls)), period) if fulls and all(fulls) else "无全量备份"
            v = first.get("verify") or {}
            verify = cat.STATUS_LABEL.get(v.get("status"), "—") if v else "—"
        hosts = sorted({r.get("source_host") or "" for r in rows} - {""})
        out.append({"dataset": dataset, "tier": TIER_LABEL.get(first.get("tier"), first.get("tier") or ""),
                    "repo": REPO_LABEL.get(repo, repo), "repo_host": first.get("repo_host") or "—",
                    "sources": "、".join(hosts), "newest": newest, "age": age, "limit": limit_text, "full": full,
                    "verify": verify, "status": worst, "status_label": cat.STATUS_LABEL.get(worst, worst),
                    "error": hz.local_text(first.get("error") or "", period.tz)})
    return out


def space_rows(status: Any) -> list[dict[str, Any]]:
    """Repository space (BACKUP-REPO-001 with its forecast BACKUP-REPO-002) per host and folder."""
    forecast = {(c["host"], c["instance"]): c for c in status.checks if c["id"] == "BACKUP-REPO-002"}
    out = []
    for c in sorted((c for c in status.checks if c["id"] == "BACKUP-REPO-001"), key=lambda c: (c["host"], c["instance"])):
        f = forecast.get((c["host"], c["instance"]))
        days = f["value"] if f and isinstance(f["value"], (int, float)) else None
        worst = max([c["status"]] + ([f["status"]] if f else []), key=lambda s: cat.STATUS_ORDER.get(s, 0))
        out.append({"host": c["host"], "path": c["instance"], "free": hz.value_text(c["value"], "%"),
                    "days_full": hz.days_text(float(days)) if days is not None else "暂无预测（增长数据不足）",
                    "status": worst, "status_label": cat.STATUS_LABEL.get(worst, worst)})
    return out


def _abnormal(status: Any, period: Period) -> list[dict[str, Any]]:
    return [{"host": c["host"], "title": c["title"], "instance": hz.instance_text(c["instance"]), "status": c["status"],
             "status_label": cat.STATUS_LABEL.get(c["status"], c["status"]),
             "evidence": hz.local_text(c["evidence"], period.tz), "suggestion": c["suggestion"]}
            for c in status.checks if c["status"] != "ok"]


def _runs_text(runs: Sequence[Any], when: str, what: str) -> str:
    ok = sum(1 for r in runs if r.status in cat.COMPLETED_RUN_STATUSES)
    return f"{when}执行{what} {len(runs)} 次（成功 {ok} 次，失败或中断 {len(runs) - ok} 次）" if runs else f"{when}无{what}记录"


# ----------------------------------------------------------------------------- health daily
def day_section(store: Any, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """The health daily's 数据备份: the day's backup jobs and the day's last recorded status."""
    now = now or datetime.now(timezone.utc)
    until = min(period.until, now)
    runs = _runs(store, cat.BACKUP_RUN_JOBS, period.since, until)
    verifies = _runs(store, cat.BACKUP_VERIFY_JOBS, period.since, until)
    run, status = latest_status(store, period.since, until)
    out: dict[str, Any] = {"title": "数据备份", "runs": len(runs),
                           "ok": sum(1 for r in runs if r.status in cat.COMPLETED_RUN_STATUSES),
                           "verifies": len(verifies), "rows": [], "space": [], "abnormal": [], "status_time": "",
                           "enabled": status is not None or bool(runs)}
    parts = [_runs_text(runs, "本日", "备份作业")]
    if verifies:
        parts.append(_runs_text(verifies, "本日", "完整性校验"))
    if status is None:
        parts.append("本日无备份状态记录（日常巡检未包含备份检查，或备份尚未配置）")
        out["text"] = "；".join(parts) + "。"
        return out
    out["rows"] = status_rows(status, period)
    out["space"] = space_rows(status)
    out["abnormal"] = _abnormal(status, period)
    out["status_time"] = _local(run.started_at, period)
    bad = [r for r in out["rows"] if r["status"] != "ok"]
    parts.append(f"{out['status_time']} 的备份状态（{_job_label(run.job)}）：" +
                 ("全部数据集与存储库均在时限内" if not bad and not out["abnormal"] else
                  f"{len(bad)} 项超出时限或异常" if bad else f"{len(out['abnormal'])} 项检查异常"))
    out["text"] = "；".join(parts) + "。"
    return out


def _job_label(job: str | None) -> str:
    return {"inspect": "日常巡检", "backup_status": "备份状态检查", "backup_verify": "完整性校验"}.get(job or "", "备份作业")


# ----------------------------------------------------------------------------- monthly: windows
@dataclass(frozen=True)
class Slot:
    """One fire of a scheduled backup job: the window [start, end) of its tier."""

    job: str
    tier: str
    type: str
    start: datetime
    end: datetime


def slot_jobs(schedule: Any, jobs: dict[str, Any] | None = None) -> dict[str, tuple[str, str]]:
    """{job: (tier, type)} of the scheduled jobs that take backups of a tier (their catalogue ``vars``)."""
    if schedule is None:
        return {}
    if jobs is None:
        try:
            from yunwei.jobs import load_catalogue

            jobs = load_catalogue()
        except Exception:  # noqa: BLE001 - a report never fails on the job catalogue: no windows then
            return {}
    out = {}
    for name in getattr(schedule, "entries", {}):
        job = jobs.get(name)
        v = getattr(job, "vars", None) or {}
        if v.get("backup_tier") and v.get("backup_type"):
            out[name] = (str(v["backup_tier"]), str(v["backup_type"]))
    return out


def slots(schedule: Any, jobs: dict[str, tuple[str, str]], since: datetime, until: datetime) -> list[Slot]:
    """The fires in [since, until) of ``jobs``; each window ends at its tier's next fire (a day at most)."""
    from yunwei.schedule.calendar import fires_between

    by_tier: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for job, (tier, _type) in jobs.items():
        for t in fires_between(schedule, job, since - timedelta(microseconds=1), until + timedelta(days=2)):
            by_tier[tier].append((t.astimezone(timezone.utc), job))
    out = []
    for tier, fires in by_tier.items():
        fires.sort()
        for i, (t, job) in enumerate(fires):
            if not since <= t < until:
                continue
            end = next((u for u, _ in fires[i + 1:] if u > t), t + timedelta(days=1))
            out.append(Slot(job, tier, jobs[job][1], t, min(end, t + timedelta(days=1))))
    return sorted(out, key=lambda s: (s.start, s.tier))


def datasets_of(status: Any) -> dict[str, dict[str, Any]]:
    """{name: {tier, kind, instances}} from a recorded status: the BACKUP-RUN-001 instances a backup of
    it records (PostgreSQL ``NAME/repo1``; files ``NAME/HOST`` for every host)."""
    out: dict[str, dict[str, Any]] = {}
    for r in status.rows if status is not None else ():
        if r.get("repo") != "primary":
            continue
        d = out.setdefault(r["dataset"], {"tier": r.get("tier"), "kind": r.get("kind"), "instances": set()})
        if r.get("kind") == "postgresql":
            d["instances"].add(f"{r['dataset']}/repo1")
        else:
            for host in str(r.get("source_host") or "").split(","):
                if host:
                    d["instances"].add(f"{r['dataset']}/{host}")
    return out


def windows(slots_: Sequence[Slot], datasets: dict[str, dict[str, Any]], runs: Sequence[Any],
            run_checks: Sequence[Any], in_service: Any, now: datetime) -> list[dict[str, Any]]:
    """Every window that is over, per data set of its tier: done, or missed with the reason.

    ``runs``: the backup jobs' runs; ``run_checks``: their BACKUP-RUN-001 checks (Check objects).
    ``in_service(moment)``: whether the contract owes that window."""
    started = {r.id: r.started_at for r in runs}
    by_run = {r.id: r for r in runs}
    done: dict[str, list[tuple[datetime, str]]] = defaultdict(list)   # instance -> (run start, type)
    failed: dict[str, list[tuple[datetime, str]]] = defaultdict(list)  # instance -> (run start, evidence)
    for c in run_checks:
        if c.id != "BACKUP-RUN-001" or c.run_id not in started:
            continue
        if c.status in ("ok", "warn") and str(c.value) in TYPE_LABEL:
            done[c.instance].append((started[c.run_id], str(c.value)))
        elif c.status == "crit":
            failed[c.instance].append((started[c.run_id], c.evidence or ""))
    out = []
    for s in slots_:
        if s.end > now or not in_service(s.start):
            continue
        for name, d in sorted(datasets.items()):
            if d["tier"] != s.tier or not d["instances"]:
                continue
            lo, hi = s.start - START_GRACE, s.end
            ok_types = ("full",) if s.type == "full" else tuple(TYPE_LABEL)
            missing = [i for i in sorted(d["instances"])
                       if not any(lo <= t < hi and kind in ok_types for t, kind in done.get(i, ()))]
            row = {"dataset": name, "tier": s.tier, "type": s.type, "job": s.job, "start": s.start, "end": s.end,
                   "done": not missing, "reason": ""}
            if missing:
                fails = [(i, e) for i in missing for t, e in failed.get(i, ()) if lo <= t < hi]
                slot_runs = [r for r in by_run.values() if r.job == s.job and lo <= r.started_at < hi]
                if fails:  # the evidence names the data set's repository or host, and says it failed
                    inst, evidence = fails[0]
                    row["reason"] = hz.shorten(evidence if "失败" in evidence else f"备份失败：{inst} {evidence}".strip(), 80)
                elif slot_runs and slot_runs[0].status not in cat.COMPLETED_RUN_STATUSES:
                    r = slot_runs[0]
                    row["reason"] = (f"备份作业{cat.RUN_STATUS_LABEL.get(r.status, r.status)}" +
                                     (f"：{hz.shorten(r.reason, 60)}" if r.reason else ""))
                elif slot_runs:
                    row["reason"] = "作业已运行，未备份 " + "、".join(missing)
                else:
                    row["reason"] = "未执行（无备份作业记录）"
            out.append(row)
    return out


def _groups(missed: Sequence[dict[str, Any]], period: Period) -> list[dict[str, Any]]:
    """Consecutive missed windows of the same data set, type and reason as one printed row."""
    out: list[dict[str, Any]] = []
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for w in sorted(missed, key=lambda w: (w["dataset"], w["type"], w["start"])):
        key = (w["dataset"], w["type"])
        g = last.get(key)
        if g is not None and g["reason"] == w["reason"] and g["next"] == w["index"]:
            g.update(last_start=w["start"], count=g["count"] + 1, next=w["index"] + 1)
            continue
        g = {"dataset": w["dataset"], "type": w["type"], "first_start": w["start"], "last_start": w["start"],
             "count": 1, "reason": w["reason"], "next": w["index"] + 1}
        last[key] = g
        out.append(g)
    return [{"dataset": g["dataset"], "type": TYPE_LABEL.get(g["type"], g["type"]),
             "when": _local(g["first_start"], period) if g["count"] == 1 else
             f"{_local(g['first_start'], period)} 至 {_local(g['last_start'], period)}",
             "count": g["count"], "reason": g["reason"]} for g in sorted(out, key=lambda g: (g["first_start"], g["dataset"]))]


def month_section(store: Any, period: Period, plan: Any, now: datetime | None = None,
                  jobs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The monthly report's 数据备份: windows owed and done per data set, every missed window, the
    month's verifications, the status at the month's end."""
    now = now or datetime.now(timezone.utc)
    until = min(period.until, now)
    runs = _runs(store, cat.BACKUP_RUN_JOBS, period.since, until)
    verifies = _runs(store, cat.BACKUP_VERIFY_JOBS, period.since, until)
    run, status = latest_status(store, period.since, until)
    if status is None:
        run, status = latest_status(store, period.since - LOOKBACK, period.since)
    out: dict[str, Any] = {"title": "数据备份", "enabled": status is not None or bool(runs), "runs": len(runs),
                           "ok": sum(1 for r in runs if r.status in cat.COMPLETED_RUN_STATUSES),
                           "failed": sum(1 for r in runs if r.status not in cat.COMPLETED_RUN_STATUSES),
                           "per_dataset": [], "missed": [], "missed_groups": [], "verify": [], "rows": [],
                           "space": [], "status_time": "", "scheduled": False}
    slot_map = slot_jobs(getattr(plan, "schedule", None), jobs)
    datasets = datasets_of(status)
    all_windows: list[dict[str, Any]] = []
    if slot_map and datasets:
        out["scheduled"] = True
        checks = [c for job in sorted({r.job for r in runs}) for c in store.checks(job=job, since=period.since,
                                                                                    until=until + timedelta(days=1))
                  if c.id == "BACKUP-RUN-001"]
        contract = getattr(plan, "contract", None)

        def in_service(moment: datetime) -> bool:
            return contract is None or contract.in_service(period.local_day(moment))

        all_windows = windows(slots(plan.schedule, slot_map, period.since, until), datasets, runs, checks, in_service, now)
        per: dict[str, dict[str, Any]] = {}
        for w in all_windows:
            p = per.setdefault(w["dataset"], {"dataset": w["dataset"], "tier": TIER_LABEL.get(w["tier"], w["tier"]),
                                               "required": 0, "done": 0, "required_full": 0, "done_full": 0})
            p["required"] += 1
            p["done"] += w["done"]
            if w["type"] == "full":
                p["required_full"] += 1
                p["done_full"] += w["done"]
        for p in per.values():
            p["missed"] = p["required"] - p["done"]
            p["rate"] = round(100.0 * p["done"] / p["required"], 1) if p["required"] else None
        out["per_dataset"] = [per[k] for k in sorted(per)]
        missed = [w for w in all_windows if not w["done"]]
        # consecutive = adjacent in the data set's own sequence of windows of that type
        seq: dict[tuple[str, str], int] = defaultdict(int)
        for w in sorted(all_windows, key=lambda w: (w["dataset"], w["type"], w["start"])):
            w["index"] = seq[(w["dataset"], w["type"])]
            seq[(w["dataset"], w["type"])] += 1
        out["missed_groups"] = _groups(missed, period)
        out["missed"] = [{"dataset": w["dataset"], "tier": TIER_LABEL.get(w["tier"], w["tier"]),
                          "type": TYPE_LABEL.get(w["type"], w["type"]), "start": _local(w["start"], period),
                          "end": _local(w["end"], period), "job": w["job"], "reason": w["reason"]}
                         for w in sorted(missed, key=lambda w: (w["start"], w["dataset"]))]
    verify_ids = {r.id for r in verifies}
    for r in verifies:
        for c in store.checks(run_id=r.id):
            if c.id == "BACKUP-VERIFY-002" and c.run_id in verify_ids:
                out["verify"].append({"time": _local(c.time, period), "host": c.host,
                                      "instance": hz.instance_text(c.instance or ""),
                                      "status": c.status, "status_label": cat.STATUS_LABEL.get(c.status, c.status),
                                      "evidence": hz.local_text(c.evidence, period.tz)})
    if status is not None:
        out["rows"] = status_rows(status, period)
        out["space"] = space_rows(status)
        out["status_time"] = _local(run.started_at, period)
    out["text"] = _month_text(out, runs, verifies)
    return out


def _month_text(out: dict[str, Any], runs: Sequence[Any], verifies: Sequence[Any]) -> str:
    parts = [_runs_text(runs, "本期", "备份作业")]
    if out["scheduled"]:
        req = sum(p["required"] for p in out["per_dataset"])
        done = sum(p["done"] for p in out["per_dataset"])
        parts.append(f"按备份计划应完成备份 {req} 次（各数据集合计），按时完成 {done} 次，漏备 {req - done} 次"
                     if req else "本期尚无到期的备份窗口")
    elif not out["enabled"]:
        parts.append("本期无备份状态记录，无法核对备份窗口（备份尚未配置或未纳入巡检）")
    else:
        parts.append("备份计划中没有定时备份作业，未核对备份窗口")
    if verifies:
        bad = sum(1 for v in out["verify"] if v["status"] != "ok")
        parts.append(f"完整性校验 {len(verifies)} 次，校验存储库 {len(out['verify'])} 个次" +
                     (f"，其中 {bad} 个未通过" if bad else "，全部通过"))
    else:
        parts.append("本期未做完整性校验（合同要求每月一次）")
    return "；".join(parts) + "。"

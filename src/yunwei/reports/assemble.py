"""Data assembly: journal store -> plain data (dicts, lists, numbers, strings).

Pure functions of the store's read API (docs/data-model.md); no rendering here. Tests assert
against these structures, and every renderer prints exactly these numbers.
Times in the output are local (client zone) ISO strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from yunwei.paths import project_root
from yunwei.reports import catalog as cat
from yunwei.reports import health
from yunwei.reports.periods import Period, day_period, months_of, today
from yunwei.reports.windows import Window, window_for

Item = tuple[str, str, str]  # (host, check id, instance)


# ----------------------------------------------------------------------------- helpers
def _worse(a: str | None, b: str) -> str:
    return b if a is None or cat.STATUS_ORDER.get(b, 0) > cat.STATUS_ORDER.get(a, 0) else a


def _local(moment: datetime | None, period: Period, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(period.tz).strftime(fmt) if moment else ""


def _period_info(period: Period) -> dict[str, Any]:
    return {"unit": period.unit, "label": period.label, "title": period.title,
            "first": period.first.isoformat(), "last": period.last.isoformat(), "tz": str(period.tz)}


def format_threshold(threshold: Any) -> str:
    if threshold is None or threshold == "":
        return ""
    if isinstance(threshold, dict):
        parts = []
        for key, label in (("warn", "警告"), ("crit", "严重")):
            if threshold.get(key) is not None:
                parts.append(f"{label} {threshold[key]}")
        rest = [f"{k} {v}" for k, v in threshold.items() if k not in ("warn", "crit")]
        return "，".join(parts + rest)
    return str(threshold)


def format_value(value: Any, unit: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit and unit != "%" else f"{text}{unit or ''}"


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def _runs(store: Any, period: Period, jobs: Sequence[str]) -> list[Any]:
    runs: dict[str, Any] = {}
    for job in jobs:
        for run in store.list_runs(job=job, since=period.since, until=period.until):
            if run.started_at is not None and period.contains(run.started_at):
                runs[run.id] = run
    return sorted(runs.values(), key=lambda r: r.started_at)


def inspection_runs(store: Any, period: Period) -> list[Any]:
    """Inspection runs started inside ``period`` (resource runs excluded)."""
    return [r for r in _runs(store, period, cat.INSPECTION_JOBS) if r.profile not in cat.RESOURCE_PROFILES]


def _checks_of(store: Any, runs: Sequence[Any], period: Period, jobs: Sequence[str] | None = None) -> list[Any]:
    """Checks recorded by ``runs`` (a run near the period's end may record a little after it)."""
    if not runs:
        return []
    ids = {r.id for r in runs}
    if len(runs) <= 4:
        out: list[Any] = []
        for r in runs:
            out.extend(store.checks(run_id=r.id))
        return out
    until = period.until + timedelta(hours=12)
    out = []
    for job in jobs or sorted({r.job for r in runs}):
        out.extend(c for c in store.checks(job=job, since=period.since, until=until) if c.run_id in ids)
    return out


def _check_row(c: Any, period: Period) -> dict[str, Any]:
    return {
        "time": _local(c.time, period), "host": c.host, "check_id": c.id, "category": c.category,
        "category_label": cat.category_label(c.category), "title": c.title or c.id, "instance": c.instance or "",
        "value": c.value, "value_text": format_value(c.value, c.unit or ""), "unit": c.unit or "",
        "threshold": format_threshold(c.threshold), "status": c.status,
        "status_label": cat.STATUS_LABEL.get(c.status, c.status), "evidence": c.evidence or "",
        "suggestion": c.suggestion or "",
    }


def _count(statuses: Iterable[str]) -> dict[str, int]:
    out = {"ok": 0, "warn": 0, "crit": 0}
    for s in statuses:
        if s in out:
            out[s] += 1
    return out


def _item_worst(checks: Iterable[Any]) -> dict[Item, str]:
    worst: dict[Item, str] = {}
    for c in checks:
        key = (c.host, c.id, c.instance or "")
        worst[key] = _worse(worst.get(key), c.status)
    return worst


def _host_scores(worst: dict[Item, str]) -> dict[str, float]:
    per_host: dict[str, list[str]] = defaultdict(list)
    for (host, _cid, _inst), status in worst.items():
        per_host[host].append(status)
    return {h: health.host_score(s) for h, s in sorted(per_host.items())}


def _metric_values(store: Any, names: Sequence[str], since: datetime, until: datetime,
                   host: str | None = None) -> list[Any]:
    """Samples of the first of ``names`` that has any in the window."""
    for name in names:
        rows = store.metrics(name=name, since=since, until=until, host=host)
        if rows:
            return rows
    return []


# ----------------------------------------------------------------------------- trends
def trend_series(store: Any, since: datetime, until: datetime, bucket: str, tz: Any) -> list[dict[str, Any]]:
    """Per trend (cpu, mem, disk, net, load): points of mean and max across hosts per bucket.

    bucket: 'hour' (local hour) or 'day' (local day).
    """
    out = []
    for trend in cat.TRENDS:
        series = []
        for s in trend.series:
            rows = _metric_values(store, s.names, since, until)
            buckets: dict[str, list[float]] = defaultdict(list)
            for m in rows:
                t = m.time.astimezone(tz)
                key = t.strftime("%Y-%m-%dT%H:00") if bucket == "hour" else t.strftime("%Y-%m-%d")
                buckets[key].append(float(m.value))
            points = [{"t": k, "mean": round(sum(v) / len(v), 2), "max": round(max(v), 2), "n": len(v)}
                      for k, v in sorted(buckets.items())]
            series.append({"label": s.label, "metric": rows[0].name if rows else None, "points": points})
        out.append({"key": trend.key, "title": trend.title, "unit": trend.unit, "series": series,
                    "empty": not any(s["points"] for s in series)})
    return out


# ----------------------------------------------------------------------------- 日常巡检记录
def inspection_record(store: Any, period: Period) -> dict[str, Any]:
    """《日常巡检记录》: every inspection run of the day, per host, every check item."""
    runs = inspection_runs(store, period)
    checks = _checks_of(store, runs, period)
    by_run_host: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for c in checks:
        by_run_host[c.run_id][c.host].append(c)
    out_runs = []
    for r in runs:
        hosts = []
        host_names = sorted(set(r.hosts or []) | set(by_run_host[r.id]))
        for h in host_names:
            cs = sorted(by_run_host[r.id].get(h, []), key=lambda c: (c.category, c.id, c.instance or ""))
            hosts.append({"host": h, "counts": _count(c.status for c in cs),
                          "checks": [_check_row(c, period) for c in cs]})
        out_runs.append({
            "run_id": r.id, "started": _local(r.started_at, period), "ended": _local(r.ended_at, period),
            "profile": r.profile, "profile_label": cat.PROFILE_LABEL.get(r.profile, r.profile),
            "operator": r.operator, "status": r.status, "status_label": cat.RUN_STATUS_LABEL.get(r.status, r.status), "hosts": hosts,
            "counts": _count(c.status for h in by_run_host[r.id].values() for c in h),
        })
    totals = _count(c.status for c in checks)
    totals.update(runs=len(runs), hosts=len({c.host for c in checks} | {h for r in runs for h in (r.hosts or [])}),
                  checks=len(checks))
    return {
        "kind": "inspection-record", "title": "日常巡检记录", "period": _period_info(period),
        "runs": out_runs, "totals": totals, "empty": not runs,
        "signoff": {"inspectors": sorted({r.operator for r in runs if r.operator}), "reviewer": "",
                    "date": period.first.isoformat()},
    }


# ----------------------------------------------------------------------------- 资源巡检记录
def _slope_per_day(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope (value per day) of (epoch seconds, value) samples; None when undefined."""
    if len(samples) < 2:
        return None
    xs = [t / 86400.0 for t, _ in samples]
    ys = [v for _, v in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx < (1 / 24) ** 2:  # less than about an hour of spread
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def filesystem_forecast(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Per (host, filesystem): first/last usage, growth and days until full (linear fit)."""
    series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for m in rows:
        series[(m.host, m.instance or "")].append((m.time.timestamp(), float(m.value)))
    out = []
    for (host, inst), samples in sorted(series.items()):
        samples.sort()
        first, last = samples[0][1], samples[-1][1]
        slope = _slope_per_day(samples)
        days = None
        if slope is not None and slope > 1e-6 and last < 100:
            days = round((100.0 - last) / slope, 1)
        elif last >= 100:
            days = 0.0
        status = "crit" if (days is not None and days <= 7) or last >= 90 else (
            "warn" if (days is not None and days <= cat.RISK_FS_DAYS) or last >= 80 else "ok")
        out.append({"host": host, "instance": inst, "samples": len(samples), "first_pct": round(first, 2),
                    "last_pct": round(last, 2), "max_pct": round(max(v for _, v in samples), 2),
                    "growth_pct": round(last - first, 2), "growth_per_day": _r(slope, 3),
                    "days_to_full": days, "status": status, "status_label": cat.STATUS_LABEL[status]})
    return out


def resource_record(store: Any, period: Period) -> dict[str, Any]:
    """《资源巡检记录》 for a week: capacity per host and filesystem, growth, days until full."""
    fs_rows = _metric_values(store, cat.FS_USED_PCT, period.since, period.until)
    filesystems = filesystem_forecast(fs_rows)
    sizes: dict[tuple[str, str], float] = {}
    for m in sorted(_metric_values(store, cat.FS_SIZE_BYTES, period.since, period.until), key=lambda m: m.time):
        sizes[(m.host, m.instance or "")] = float(m.value)
    for fs in filesystems:
        size = sizes.get((fs["host"], fs["instance"]))
        fs["size_gib"] = round(size / 2**30, 2) if size else None
    hosts: dict[str, dict[str, Any]] = defaultdict(dict)
    for trend in cat.TRENDS:
        if trend.key not in ("cpu", "mem", "load", "disk"):
            continue
        per_host: dict[str, list[float]] = defaultdict(list)
        for m in _metric_values(store, trend.series[0].names, period.since, period.until):
            per_host[m.host].append(float(m.value))
        for h, vals in per_host.items():
            hosts[h][f"{trend.key}_avg"] = round(sum(vals) / len(vals), 2)
            hosts[h][f"{trend.key}_max"] = round(max(vals), 2)
    host_rows = [{"host": h, **{f"{k}_{a}": v.get(f"{k}_{a}") for k in ("cpu", "mem", "disk", "load")
                                for a in ("avg", "max")}} for h, v in sorted(hosts.items())]
    db_series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for m in _metric_values(store, cat.DB_SIZE_BYTES, period.since, period.until):
        db_series[(m.host, m.instance or "")].append((m.time.timestamp(), float(m.value)))
    databases = []
    for (h, inst), samples in sorted(db_series.items()):
        samples.sort()
        slope = _slope_per_day(samples)
        databases.append({"host": h, "database": inst, "first_mib": round(samples[0][1] / 2**20, 2),
                          "last_mib": round(samples[-1][1] / 2**20, 2),
                          "growth_mib": round((samples[-1][1] - samples[0][1]) / 2**20, 2),
                          "growth_mib_per_day": _r(slope / 2**20 if slope is not None else None, 3)})
    runs = _runs(store, period, cat.RESOURCE_JOBS + cat.INSPECTION_JOBS)
    resource_runs = [r for r in runs if r.job in cat.RESOURCE_JOBS or r.profile in cat.RESOURCE_PROFILES]
    return {
        "kind": "resource-record", "title": "资源巡检记录", "period": _period_info(period),
        "filesystems": filesystems, "hosts": host_rows, "databases": databases,
        "runs": [{"run_id": r.id, "started": _local(r.started_at, period), "operator": r.operator,
                  "status": r.status} for r in resource_runs],
        "at_risk": [fs for fs in filesystems if fs["status"] != "ok"],
        "empty": not filesystems and not host_rows and not databases,
        "signoff": {"inspectors": sorted({r.operator for r in resource_runs if r.operator}), "reviewer": "",
                    "date": period.last.isoformat()},
    }


# ----------------------------------------------------------------------------- 系统健康检查日报
def _changes(prev: dict[Item, Any], cur: dict[Item, Any]) -> list[dict[str, Any]]:
    out = []
    for key in sorted(set(prev) | set(cur)):
        p, c = prev.get(key), cur.get(key)
        ps, cs = (p.status if p else None), (c.status if c else None)
        change = None
        if p is None:
            change = "新增检查项" if cs == "ok" else "新增异常"
        elif c is None:
            change = "本日未检查"
        elif ps != cs:
            if cat.STATUS_ORDER[cs] > cat.STATUS_ORDER[ps]:
                change = "新增异常" if ps == "ok" else "恶化"
            else:
                change = "已恢复" if cs == "ok" else "好转"
        elif _num(c.value) is None and c.value != p.value and c.value not in (None, ""):
            change = "取值变化"
        if change == "新增检查项" and not prev:
            change = None  # no previous day to compare with: not a change
        if change:
            out.append({"host": key[0], "check_id": key[1], "instance": key[2],
                        "title": (c or p).title or key[1], "change": change,
                        "before": (cat.STATUS_LABEL.get(ps, "—") + (f"（{p.value}）" if p is not None and _num(p.value) is None and p.value not in (None, "") else "")),
                        "after": (cat.STATUS_LABEL.get(cs, "—") + (f"（{c.value}）" if c is not None and _num(c.value) is None and c.value not in (None, "") else ""))})
    return out


def _last_per_item(checks: Iterable[Any]) -> dict[Item, Any]:
    last: dict[Item, Any] = {}
    for c in sorted(checks, key=lambda c: c.time or datetime.min.replace(tzinfo=timezone.utc)):
        last[(c.host, c.id, c.instance or "")] = c
    return last


def health_daily(store: Any, period: Period, *, with_trends: bool = True) -> dict[str, Any]:
    """《系统健康检查日报》 for a day."""
    runs = inspection_runs(store, period)
    checks = _checks_of(store, runs, period)
    worst = _item_worst(checks)
    scores = _host_scores(worst)
    score = health.overall_score(scores)
    grade, grade_status = health.grade(score)
    per_host: dict[str, list[Any]] = defaultdict(list)
    for c in checks:
        per_host[c.host].append(c)
    hosts = []
    for h in sorted(set(per_host) | {h for r in runs for h in (r.hosts or [])}):
        items = {k: s for k, s in worst.items() if k[0] == h}
        status = None
        for s in items.values():
            status = _worse(status, s)
        counts = _count(items.values())
        hosts.append({"host": h, "score": scores.get(h), "status": status, "light": cat.LIGHT[status],
                      "status_label": cat.STATUS_LABEL[status], "items": len(items), **counts})
    anomalies = [_check_row(c, period) for c in sorted(checks, key=lambda c: (c.time, c.host, c.id))
                 if c.status in ("warn", "crit")]
    last = _last_per_item(checks)
    patches = [_check_row(c, period) for k, c in sorted(last.items()) if cat.is_patch_check(c.id, c.category)]
    prev_period = day_period(period.first - timedelta(days=1), period.tz)
    prev_runs = inspection_runs(store, prev_period)
    prev_last = _last_per_item(_checks_of(store, prev_runs, prev_period))
    changes = _changes(prev_last, last) if prev_last or last else []
    trends = {}
    if with_trends:
        end = period.until
        trends = {"24h": trend_series(store, end - timedelta(hours=24), end, "hour", period.tz),
                  "7d": trend_series(store, end - timedelta(days=7), end, "hour", period.tz)}
    return {
        "kind": "health-daily", "title": "系统健康检查日报", "period": _period_info(period),
        "score": score, "grade": grade, "grade_status": grade_status, "host_scores": scores,
        "hosts": hosts, "anomalies": anomalies, "patches": patches,
        "changes": changes, "previous_date": prev_period.first.isoformat(), "previous_has_data": bool(prev_runs),
        "runs": [{"run_id": r.id, "started": _local(r.started_at, period), "profile": r.profile,
                  "operator": r.operator, "status": r.status} for r in runs],
        "totals": {**_count(c.status for c in checks), "checks": len(checks), "hosts": len(hosts),
                   "runs": len(runs)},
        "trends": trends, "empty": not runs,
    }


# ----------------------------------------------------------------------------- 月度总结报告
def _job_section(store: Any, period: Period, jobs: Sequence[str], role: str, title: str) -> dict[str, Any]:
    runs = _runs(store, period, jobs)
    if runs:
        counts = defaultdict(int)
        for r in runs:
            counts[r.status] += 1
        return {"title": title, "enabled": True, "runs": len(runs), "ok": counts["ok"],
                "failed": counts["failed"] + counts["interrupted"],
                "text": f"本期共执行 {len(runs)} 次，成功 {counts['ok']} 次，失败或中断 {counts['failed'] + counts['interrupted']} 次。"}
    enabled = (project_root() / "roles" / role / "tasks").is_dir()
    text = "本期无执行记录。" if enabled else "尚未启用。"
    return {"title": title, "enabled": enabled, "runs": 0, "ok": 0, "failed": 0, "text": text}


def monthly(store: Any, period: Period, windows: Sequence[Window] = (), *, now: datetime | None = None,
            with_trends: bool = True) -> dict[str, Any]:
    """《系统运行月度总结报告》 (works for any period; quarterly/annual use it per month)."""
    runs = inspection_runs(store, period)
    completed = [r for r in runs if r.status in cat.COMPLETED_RUN_STATUSES]
    # A run counts as a full inspection only when it covered every host inspected in the period
    # (the union of the completed inspection runs' hosts): a run limited to some hosts (a fault
    # re-check with --limit) must not stand in for a missed daily inspection. Such runs are listed
    # as partial. (docs/reports.md, "Inspections required")
    reference = sorted({h for r in completed for h in (r.hosts or [])})
    done_per_day: dict[date, int] = defaultdict(int)
    partial_per_day: dict[date, int] = defaultdict(int)
    partial = []
    for r in completed:
        d = period.local_day(r.started_at)
        missing_hosts = sorted(set(reference) - set(r.hosts or []))
        if missing_hosts:
            partial_per_day[d] += 1
            partial.append({"date": d.isoformat(), "started": _local(r.started_at, period), "run_id": r.id,
                            "operator": r.operator, "hosts": sorted(r.hosts or []),
                            "missing_hosts": missing_hosts})
        else:
            done_per_day[d] += 1
    cutoff = today(period.tz, now)
    days, missed = [], []
    required_total = done_total = 0
    for d in period.days():
        w = window_for(d, list(windows))
        required = 3 if w else 1
        done = done_per_day.get(d, 0)
        # only days that are over count: today (and its 重保 slots) is still under way
        due = d < cutoff
        days.append({"date": d.isoformat(), "required": required if due else 0, "done": done,
                     "partial": partial_per_day.get(d, 0), "window": w.name if w else "", "due": due})
        if not due:
            continue
        required_total += required
        done_total += min(done, required)
        if done < required:
            missed.append({"date": d.isoformat(), "required": required, "done": done,
                           "missing": required - done, "window": w.name if w else ""})
    inspections = {
        "required": required_total, "done": done_total, "runs": len(runs), "completed_runs": len(completed),
        "rate": round(100.0 * done_total / required_total, 1) if required_total else None,
        "heightened_days": sum(1 for d in days if d["window"]), "days": days, "missed": missed,
        "missed_count": sum(m["missing"] for m in missed), "reference_hosts": reference, "partial": partial,
    }

    # Only the warn/crit results are loaded row by row; the bulk (ok results) is counted in SQL by
    # the store's check_summary, so a month of 200 hosts stays small in memory.
    jobs = sorted({r.job for r in runs}) or list(cat.INSPECTION_JOBS)
    run_day = {r.id: period.local_day(r.started_at) for r in runs}
    totals = {"ok": 0, "warn": 0, "crit": 0}
    summary_rows = [x for job in jobs for x in store.check_summary(since=period.since, until=period.until, job=job)]
    checked_hosts = {x.host for x in summary_rows}
    check_ids = {x.id for x in summary_rows}
    for x in summary_rows:
        totals["ok"] += x.ok
        totals["warn"] += x.warn
        totals["crit"] += x.crit
    # hosts inspected per day: the day's runs' hosts that have check results
    day_hosts: dict[date, set[str]] = defaultdict(set)
    for r in runs:
        day_hosts[run_day[r.id]].update(h for h in (r.hosts or []) if h in checked_hosts)
    bad = sorted((c for job in jobs for st in ("warn", "crit")
                  for c in store.checks(job=job, status=st, since=period.since, until=period.until)),
                 key=lambda c: c.time)
    # availability per service: one sample = one (run, host) having the service's checks
    samples: dict[str, dict[tuple[str, str], bool]] = {name: {} for name, _ in cat.SERVICES}
    down_times: dict[str, list[str]] = defaultdict(list)
    for name, pattern in cat.SERVICES:
        for cid in sorted(i for i in check_ids if pattern.match(i)):
            for c in (c for job in jobs for c in store.checks(job=job, check_id=cid, since=period.since,
                                                              until=period.until)):
                key = (c.run_id, c.host)
                ok = c.status != "crit"
                if key in samples[name] and not samples[name][key]:
                    continue
                samples[name][key] = ok
                if not ok:
                    down_times[name].append(_local(c.time, period))
    # anomalies per category, risks per item, daily health
    cat_rows: dict[str, dict[str, Any]] = {}
    item_days: dict[Item, set[date]] = defaultdict(set)
    item_info: dict[Item, dict[str, Any]] = {}
    day_worst: dict[date, dict[Item, str]] = defaultdict(dict)
    for c in bad:
        item = (c.host, c.id, c.instance or "")
        d = run_day.get(c.run_id) or period.local_day(c.time)
        dw = day_worst[d]
        dw[item] = _worse(dw.get(item), c.status)
        row = cat_rows.setdefault(c.category or "", {"category": c.category or "",
                                                    "label": cat.category_label(c.category),
                                                    "warn": 0, "crit": 0, "items": set()})
        row[c.status] += 1
        row["items"].add(item)
        item_days[item].add(d)
        info = item_info.get(item)
        worst = _worse(info["worst"] if info else None, c.status)
        item_info[item] = {"title": c.title or c.id, "category": c.category, "evidence": c.evidence,
                           "suggestion": c.suggestion or (info["suggestion"] if info else ""), "worst": worst}
    availability = []
    for name, _ in cat.SERVICES:
        s = samples[name]
        if not s:
            availability.append({"service": name, "samples": 0, "up": 0, "down": 0, "availability_pct": None,
                                 "down_times": []})
            continue
        up = sum(1 for v in s.values() if v)
        availability.append({"service": name, "samples": len(s), "up": up, "down": len(s) - up,
                             "availability_pct": round(100.0 * up / len(s), 2),
                             "down_times": sorted(set(down_times[name]))})
    anomalies = sorted(({**{k: v for k, v in r.items() if k != "items"}, "total": r["warn"] + r["crit"],
                         "distinct_items": len(r["items"])} for r in cat_rows.values()),
                       key=lambda r: (-r["total"], r["category"]))

    risks = []
    for item, ds in item_days.items():
        if len(ds) < cat.RISK_MIN_DAYS:
            continue
        info = item_info[item]
        risks.append({"host": item[0], "check_id": item[1], "instance": item[2], "title": info["title"],
                      "category_label": cat.category_label(info["category"]), "days": len(ds),
                      "worst": info["worst"], "worst_label": cat.STATUS_LABEL[info["worst"]],
                      "last_evidence": info["evidence"], "suggestion": info["suggestion"]})
    risks.sort(key=lambda r: (-cat.STATUS_ORDER[r["worst"]], -r["days"], r["host"], r["check_id"]))
    fs = filesystem_forecast(_metric_values(store, cat.FS_USED_PCT, period.since, period.until))
    fs_risks = [f for f in fs if f["days_to_full"] is not None and f["days_to_full"] <= cat.RISK_FS_DAYS]
    measures: list[str] = []
    seen: set[str] = set()
    for r in risks:
        s = (r["suggestion"] or "").strip()
        if s and s not in seen:
            seen.add(s)
            measures.append(f"{r['title']}（{r['check_id']}，涉及主机 {r['host']}）：{s}")
    for f in fs_risks:
        measures.append(f"{f['host']} 文件系统 {f['instance']} 按当前增长速度约 {f['days_to_full']} 天写满："
                        "清理过期数据或扩容，并确认增长来源。")
    if missed:
        measures.append(f"本期漏检 {inspections['missed_count']} 次：核对定时任务（yunwei schedule）与堡垒机可用性，"
                        "重保期间确保每日三次巡检。")

    day_scores = []
    for d in period.days():
        hosts_today = day_hosts.get(d, set()) | {h for (h, _i, _n) in day_worst.get(d, {})}
        if hosts_today:
            per_host = {h: health.host_score(s for (hh, _i, _n), s in day_worst.get(d, {}).items() if hh == h)
                        for h in hosts_today}
            day_scores.append({"date": d.isoformat(), "score": health.overall_score(per_host)})
    avg = round(sum(x["score"] for x in day_scores) / len(day_scores), 1) if day_scores else None
    grade, grade_status = health.grade(avg)
    n_checks = sum(totals.values())
    return {
        "kind": "monthly", "title": "系统运行月度总结报告", "period": _period_info(period),
        "empty": not runs and not n_checks,
        "hosts": sorted(set().union(*day_hosts.values()) | {h for r in runs for h in (r.hosts or [])}),
        "totals": {**totals, "checks": n_checks, "runs": len(runs)},
        "inspections": inspections, "availability": availability, "anomalies_by_category": anomalies,
        "health": {"score_avg": avg, "grade": grade, "grade_status": grade_status, "daily": day_scores},
        "risks": risks, "fs_risks": fs_risks, "measures": measures,
        "trends": trend_series(store, period.since, period.until, "day", period.tz) if with_trends else [],
        "backup": _job_section(store, period, cat.BACKUP_JOBS, "backup", "数据备份"),
        "restore_test": _job_section(store, period, cat.RESTORE_JOBS, "restore_drill", "备份恢复测试"),
    }


# ----------------------------------------------------------------------------- 季度 / 年度
def summary(store: Any, period: Period, windows: Sequence[Window] = (), *, now: datetime | None = None) -> dict[str, Any]:
    """Quarterly or annual summary, built month by month from :func:`monthly`."""
    months = []
    risk_acc: dict[Item, dict[str, Any]] = {}
    avail: dict[str, dict[str, int]] = defaultdict(lambda: {"samples": 0, "up": 0})
    for mp in months_of(period):
        m = monthly(store, mp, windows, now=now, with_trends=False)
        ins = m["inspections"]
        months.append({
            "month": mp.label, "title": mp.title, "empty": m["empty"], "runs": m["totals"]["runs"],
            "required": ins["required"], "done": ins["done"], "missed": ins["missed_count"], "rate": ins["rate"],
            "health": m["health"]["score_avg"], "warn": m["totals"]["warn"], "crit": m["totals"]["crit"],
            "risks": len(m["risks"]),
            "availability": {a["service"]: a["availability_pct"] for a in m["availability"]},
        })
        for a in m["availability"]:
            avail[a["service"]]["samples"] += a["samples"]
            avail[a["service"]]["up"] += a["up"]
        for r in m["risks"]:
            key = (r["host"], r["check_id"], r["instance"])
            acc = risk_acc.setdefault(key, {**r, "days": 0, "months": 0})
            acc["days"] += r["days"]
            acc["months"] += 1
            acc["worst"] = _worse(acc["worst"], r["worst"])
            acc["worst_label"] = cat.STATUS_LABEL[acc["worst"]]
            acc["suggestion"] = r["suggestion"] or acc["suggestion"]
    with_data = [m for m in months if not m["empty"]]
    required = sum(m["required"] for m in months)
    done = sum(m["done"] for m in months)
    healths = [m["health"] for m in months if m["health"] is not None]
    avg = round(sum(healths) / len(healths), 1) if healths else None
    grade, grade_status = health.grade(avg)
    risks = sorted(risk_acc.values(), key=lambda r: (-cat.STATUS_ORDER[r["worst"]], -r["days"], r["host"]))
    kind = "quarterly" if period.unit == "quarter" else "annual"
    return {
        "kind": kind, "title": "系统运行季度总结报告" if kind == "quarterly" else "系统运行年度总结报告",
        "period": _period_info(period), "empty": not with_data, "months": months,
        "totals": {"runs": sum(m["runs"] for m in months), "required": required, "done": done,
                   "missed": sum(m["missed"] for m in months),
                   "rate": round(100.0 * done / required, 1) if required else None,
                   "warn": sum(m["warn"] for m in months), "crit": sum(m["crit"] for m in months)},
        "health": {"score_avg": avg, "grade": grade, "grade_status": grade_status},
        "availability": [{"service": s, "samples": v["samples"], "up": v["up"],
                          "availability_pct": round(100.0 * v["up"] / v["samples"], 2) if v["samples"] else None}
                         for s, v in avail.items()],
        "risks": risks,
        "measures": list(dict.fromkeys(f"{r['title']}（{r['check_id']}）：{r['suggestion']}"
                                       for r in risks if r["suggestion"])),
        "backup": _job_section(store, period, cat.BACKUP_JOBS, "backup", "数据备份"),
        "restore_test": _job_section(store, period, cat.RESTORE_JOBS, "restore_drill", "备份恢复测试"),
    }


"""Data assembly: journal store -> plain data (dicts, lists, numbers, strings).

Pure functions of the store's read API (docs/data-model.md); no rendering here. Tests assert
against these structures, and every renderer prints exactly these numbers. Times in the output
are local (client zone) strings. Statuses, values, thresholds and forecasts are the ones the
inspection recorded: nothing here judges a check again (analysis.py only groups them).

The monthly report and the quarterly/annual summaries live in monthly.py (one function per
section); they are re-exported here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from yunwei.reports import analysis, health
from yunwei.reports import catalog as cat
from yunwei.reports import humanise as hz
from yunwei.reports.contract import OPERATORS_ROLE, Contract
from yunwei.reports.periods import Period, day_period, today
from yunwei.reports.plan import Plan, plan_from
from yunwei.reports.windows import Window

Item = analysis.Item


# ----------------------------------------------------------------------------- helpers
def as_plan(plan: Plan | Sequence[Window] | None, contract: Contract | None = None) -> Plan:
    """A Plan from a Plan, a list of windows (older callers) or nothing."""
    if isinstance(plan, Plan):
        return plan
    return plan_from(contract, list(plan or ()))


def _worse(a: str | None, b: str) -> str:
    return b if a is None or cat.STATUS_ORDER.get(b, 0) > cat.STATUS_ORDER.get(a, 0) else a


def _local(moment: datetime | None, period: Period, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return hz.local_time(moment, period.tz, fmt)


def period_info(period: Period) -> dict[str, Any]:
    return {"unit": period.unit, "label": period.label, "title": period.title,
            "first": period.first.isoformat(), "last": period.last.isoformat(), "tz": str(period.tz),
            "zone": hz.zone_name(period.tz)}


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


def runs_of(store: Any, period: Period, jobs: Sequence[str]) -> list[Any]:
    runs: dict[str, Any] = {}
    for job in jobs:
        for run in store.list_runs(job=job, since=period.since, until=period.until):
            if run.started_at is not None and period.contains(run.started_at):
                runs[run.id] = run
    return sorted(runs.values(), key=lambda r: r.started_at)


def inspection_runs(store: Any, period: Period) -> list[Any]:
    """Inspection runs started inside ``period`` (resource runs excluded)."""
    return [r for r in runs_of(store, period, cat.INSPECTION_JOBS) if r.profile not in cat.RESOURCE_PROFILES]


def checks_of(store: Any, runs: Sequence[Any], period: Period, jobs: Sequence[str] | None = None) -> list[Any]:
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


def run_verdict(run: Any, reached: set[str], unreachable: set[str]) -> tuple[bool, str]:
    """Does ``run`` count as an inspection done? (counted, why not). Only a run that did its job
    (status ok: yunwei.store.COMPLETED_RUN_STATUSES) and reached at least one host counts; for a run
    that ran to its end (ok or failed) with no host, or reaching none, that is the reason given."""
    if run.status in cat.COMPLETED_RUN_STATUSES or run.status == "failed":
        if not run.hosts:
            return False, "清单中无主机"
        if not reached:
            return False, "未到达任何主机" if unreachable else "无巡检结果"
    if run.status not in cat.COMPLETED_RUN_STATUSES:
        return False, "未完成（" + cat.RUN_STATUS_LABEL.get(run.status, run.status) + "）"
    return True, ""


def reached_hosts(checks: Iterable[Any]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per run: hosts that reported (any check but the unreachable marker), hosts unreachable."""
    reached: dict[str, set[str]] = defaultdict(set)
    unreachable: dict[str, set[str]] = defaultdict(set)
    for c in checks:
        if analysis.UNREACHABLE_IDS.match(c.id):
            if c.status == "crit":
                unreachable[c.run_id].add(c.host)
            else:
                reached[c.run_id].add(c.host)
        else:
            reached[c.run_id].add(c.host)
    for run_id, hosts in unreachable.items():
        reached[run_id] -= hosts
    return reached, unreachable


def check_row(c: Any, period: Period) -> dict[str, Any]:
    return {
        "time": _local(c.time, period), "host": c.host, "check_id": c.id, "category": c.category,
        "category_label": cat.category_label(c.category), "title": c.title or c.id,
        "instance": hz.instance_text(c.instance or ""),
        "value": c.value, "value_text": hz.value_text(c.value, c.unit or ""), "unit": c.unit or "",
        "threshold": hz.threshold_text(c.threshold, c.unit or ""), "status": c.status,
        "status_label": cat.STATUS_LABEL.get(c.status, c.status),
        "evidence": hz.local_text(c.evidence or "", period.tz), "suggestion": c.suggestion or "",
    }


def count(statuses: Iterable[str]) -> dict[str, int]:
    out = {"ok": 0, "warn": 0, "crit": 0}
    for s in statuses:
        if s in out:
            out[s] += 1
    return out


def signoff(contract: Contract, kind: str, operators: Iterable[str], day: date, now: datetime | None,
            tz: Any) -> dict[str, Any]:
    """Signers of ``kind``: printed names from the contract, the inspectors' names from the runs'
    operators (known logins only: a login is never printed as a signer); the date is the period's
    last day, or today when that is still ahead - never a future date."""
    inspectors = sorted({contract.person(o) for o in operators if o and contract.known(o)})
    rows = []
    for s in contract.signers_for(kind):
        name = s.name
        if s.role == OPERATORS_ROLE and not name:
            name = "、".join(inspectors)
        rows.append({"role": s.role, "name": name})
    sign_day = min(day, today(tz, now))
    return {"rows": rows, "date": sign_day.isoformat(), "inspectors": inspectors}


def finding_row(f: analysis.Finding, period: Period, *, titles: dict[Item, str] | None = None) -> dict[str, Any]:
    fmt = "%H:%M" if period.unit == "day" else "%m-%d %H:%M"
    where = f.host + (f"（{hz.instance_text(f.instance)}）" if f.instance else "")
    if f.cause is not None:
        location = f"{where}：由“{f.cause_title}”引起（根因见 {f.cause[0]} {f.cause[1]}）"
    elif f.consequences:
        names = "、".join(sorted({(titles or {}).get(i, i[1]) for i in f.consequences}))
        location = f"{where}：根因；同时导致 {names} 异常"
    else:
        location = where
    return {
        "host": f.host, "check_id": f.check_id, "instance": hz.instance_text(f.instance), "title": f.title,
        "category_label": cat.category_label(f.category), "first": _local(f.first, period, fmt),
        "last": _local(f.last, period, fmt), "occurrences": f.occurrences, "observations": f.observations,
        "worst": f.worst, "worst_label": cat.STATUS_LABEL.get(f.worst, f.worst), "state": f.state,
        "recovered_at": _local(f.last_ok, period, fmt), "value_text": hz.value_text(f.value, f.unit),
        "threshold": hz.threshold_text(f.threshold, f.unit), "evidence": hz.local_text(f.evidence, period.tz),
        "suggestion": hz.client_text(f.suggestion), "suggestion_full": f.suggestion, "is_cause": f.is_cause, "cause_title": f.cause_title,
        "location": location, "consequences": len(f.consequences),
    }


def _metric_values(store: Any, names: Sequence[str], since: datetime, until: datetime,
                   host: str | None = None) -> list[Any]:
    """Samples of the first of ``names`` that has any in the window."""
    for name in names:
        rows = store.metrics(name=name, since=since, until=until, host=host)
        if rows:
            return rows
    return []


def score_day(checks: Sequence[Any], hosts: Iterable[str]) -> tuple[health.DayScore, dict[str, dict[str, Any]]]:
    """The day's score from its checks (causes only; unreachable hosts 0; caps for outages)."""
    by_run_host: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for c in checks:
        by_run_host[(c.run_id, c.host)].append(c)
    worst: dict[Item, str] = {}
    consequence: set[Item] = set()
    unreachable: set[str] = set()
    for (_run, host), cs in by_run_host.items():
        abnormal = [c for c in cs if c.status in ("warn", "crit")]
        follows = analysis.causes_in(abnormal)
        for i, c in enumerate(abnormal):
            if analysis.UNREACHABLE_IDS.match(c.id) and c.status == "crit":
                unreachable.add(host)
            if i in follows:
                consequence.add(analysis.item_of(c))
                continue
            worst[analysis.item_of(c)] = _worse(worst.get(analysis.item_of(c)), c.status)
        for c in cs:
            worst.setdefault(analysis.item_of(c), "ok")
    per_host: dict[str, dict[str, Any]] = {}
    for h in sorted(set(hosts) | {c.host for c in checks}):
        statuses = [s for k, s in worst.items() if k[0] == h]
        per_host[h] = {"score": health.host_score(statuses, unreachable=h in unreachable),
                       "unreachable": h in unreachable, **count(statuses), "items": len(statuses),
                       "consequences": len({k for k in consequence if k[0] == h})}
    down = []
    for name, pattern in analysis.services():
        if any(pattern.match(c.id) and c.status == "crit" for c in checks):
            down.append(name.split("（")[0])
    scores = {h: v["score"] for h, v in per_host.items() if v["items"] or v["unreachable"]}
    any_crit = any(s == "crit" for s in worst.values())
    crit_services = [d for d in down if d.startswith(("网站", "数据库"))]
    ds = health.day_score(scores, any_crit=any_crit, services_down=crit_services,
                          unreachable=sorted(unreachable))
    return ds, per_host


# ----------------------------------------------------------------------------- trends
def trend_series(store: Any, since: datetime, until: datetime, bucket: str, tz: Any) -> list[dict[str, Any]]:
    """Per trend (cpu, mem, disk, net, load): mean and max across hosts per local day (monthly)."""
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


def run_series(store: Any, since: datetime, until: datetime, tz: Any) -> list[dict[str, Any]]:
    """Per trend, one line per host with one point per run (every sample, not bucketed): the
    health daily's continuous charts. Several instances (disks, interfaces) of a host at one sample
    time are combined: the busiest disk, the sum of the interfaces."""
    out = []
    for trend in cat.TRENDS:
        lines: dict[str, dict[str, Any]] = {}
        for s in trend.series:
            rows = _metric_values(store, s.names, since, until)
            acc: dict[tuple[str, datetime], list[float]] = defaultdict(list)
            for m in rows:
                acc[(m.host, m.time.replace(microsecond=0))].append(float(m.value))
            for (host, t), vals in acc.items():
                v = sum(vals) if trend.key == "net" else max(vals)
                label = host if len(trend.series) == 1 else f"{host} {s.label}"
                line = lines.setdefault(label, {"label": label, "host": host, "points": []})
                line["points"].append({"time": t, "t": hz.local_time(t, tz), "value": round(v, 2)})
        for line in lines.values():
            line["points"].sort(key=lambda p: p["time"])
        out.append({"key": trend.key, "title": trend.title, "unit": trend.unit,
                    "lines": sorted(lines.values(), key=lambda x: x["label"]), "empty": not lines,
                    "since": since, "until": until})
    return out


# ----------------------------------------------------------------------------- 日常巡检记录
def _run_info(r: Any, period: Period, contract: Contract, counted: bool, why: str) -> dict[str, Any]:
    return {"run_id": r.id, "started": _local(r.started_at, period), "ended": _local(r.ended_at, period),
            "time": _local(r.started_at, period, "%H:%M"), "profile": r.profile,
            "profile_label": cat.PROFILE_LABEL.get(r.profile, r.profile), "operator": r.operator,
            "operator_name": contract.person(r.operator), "status": r.status,
            "status_label": cat.RUN_STATUS_LABEL.get(r.status, r.status), "counted": counted,
            "not_counted_reason": why, "hosts": sorted(r.hosts or [])}


def inspection_record(store: Any, period: Period, plan: Plan | Sequence[Window] | None = None, *,
                      now: datetime | None = None, contract: Contract | None = None) -> dict[str, Any]:
    """《日常巡检记录》: the day's runs; abnormal items first; per host every item with each run's result."""
    plan = as_plan(plan, contract)
    contract = plan.contract
    runs = inspection_runs(store, period)
    checks = checks_of(store, runs, period)
    reached, unreachable = reached_hosts(checks)
    run_rows = []
    for r in runs:
        ok, why = run_verdict(r, reached.get(r.id, set()), unreachable.get(r.id, set()))
        run_rows.append(_run_info(r, period, contract, ok, why))
    counted_ids = [x["run_id"] for x in run_rows if x["counted"]]
    run_time = {x["run_id"]: x["time"] for x in run_rows}
    counted_checks = [c for c in checks if c.run_id in set(counted_ids)]
    found = analysis.findings(counted_checks)
    titles = {analysis.item_of(c): c.title or c.id for c in counted_checks}
    # per host: one row per item, one column per run
    items: dict[str, dict[tuple[str, str, str], dict[str, Any]]] = defaultdict(dict)
    for c in sorted(counted_checks, key=lambda c: (c.category or "", c.id, c.instance or "")):
        key = (c.category or "", c.id, c.instance or "")
        row = items[c.host].setdefault(key, {"check_id": c.id, "title": c.title or c.id,
                                             "instance": hz.instance_text(c.instance or ""),
                                             "category_label": cat.category_label(c.category), "results": {},
                                             "worst": None, "threshold": hz.threshold_text(c.threshold, c.unit)})
        row["results"][c.run_id] = {"status": c.status, "text": hz.value_text(c.value, c.unit or "")
                                    or cat.STATUS_LABEL.get(c.status, c.status)}
        row["worst"] = _worse(row["worst"], c.status)
    hosts = []
    for h in sorted(items):
        rows = list(items[h].values())
        for row in rows:
            row["worst_label"] = cat.STATUS_LABEL.get(row["worst"], "")
        hosts.append({"host": h, "items": rows, "counts": count(r["worst"] for r in rows),
                      "unreachable": any(h in unreachable.get(rid, set()) for rid in counted_ids)})
    totals = count(c.status for c in counted_checks)
    totals.update(runs=len(runs), counted_runs=len(counted_ids), checks=len(counted_checks),
                  hosts=len({c.host for c in counted_checks} | {h for r in runs if r.id in counted_ids
                                                                for h in (r.hosts or [])}),
                  findings=len(found), causes=sum(1 for f in found if f.is_cause),
                  open=sum(1 for f in found if f.is_cause and f.state == analysis.STATE_OPEN))
    required = plan.required(period.first)
    return {
        "kind": "inspection-record", "title": "日常巡检记录", "period": period_info(period),
        "runs": run_rows, "run_columns": [{"run_id": rid, "time": run_time[rid]} for rid in counted_ids],
        "hosts": hosts, "findings": [finding_row(f, period, titles=titles) for f in found],
        "annex": [check_row(c, period) for c in sorted(counted_checks, key=lambda c: (c.time, c.host, c.id,
                                                                                         c.instance or ""))],
        "totals": totals, "required": required, "in_service": contract.in_service(period.first),
        "empty": not runs, "no_valid_run": bool(runs) and not counted_ids,
        "signoff": signoff(contract, "inspection-record", [r.operator for r in runs if r.id in counted_ids],
                           period.last, now, period.tz),
    }


# ----------------------------------------------------------------------------- 资源巡检记录
def _latest(checks: Iterable[Any]) -> dict[Item, Any]:
    last: dict[Item, Any] = {}
    for c in sorted(checks, key=lambda c: c.time or datetime.min.replace(tzinfo=timezone.utc)):
        last[analysis.item_of(c)] = c
    return last


def filesystem_usage(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Per (host, filesystem): first/last/max usage over the period (descriptive, from the samples)."""
    series: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for m in rows:
        series[(m.host, m.instance or "")].append((m.time.timestamp(), float(m.value)))
    out = []
    for (host, inst), samples in sorted(series.items()):
        samples.sort()
        first, last = samples[0][1], samples[-1][1]
        out.append({"host": host, "instance": inst, "samples": len(samples), "first_pct": round(first, 2),
                    "last_pct": round(last, 2), "max_pct": round(max(v for _, v in samples), 2),
                    "growth_pct": round(last - first, 2)})
    return out


def recorded_forecasts(store: Any, since: datetime, until: datetime) -> dict[tuple[str, str], Any]:
    """The latest HOST-CAP-001 (days until full, judged by the inspection) per (host, filesystem)."""
    rows = store.checks(check_id="HOST-CAP-001", since=since, until=until)
    return {(h, i): c for (h, _cid, i), c in _latest(rows).items()}


def resource_record(store: Any, period: Period, plan: Plan | Sequence[Window] | None = None, *,
                    now: datetime | None = None, contract: Contract | None = None) -> dict[str, Any]:
    """《资源巡检记录》 for a week: capacity per host and filesystem with the inspection's forecasts."""
    plan = as_plan(plan, contract)
    contract = plan.contract
    filesystems = filesystem_usage(_metric_values(store, cat.FS_USED_PCT, period.since, period.until))
    sizes: dict[tuple[str, str], float] = {}
    for m in sorted(_metric_values(store, cat.FS_SIZE_BYTES, period.since, period.until), key=lambda m: m.time):
        sizes[(m.host, m.instance or "")] = float(m.value)
    forecasts = recorded_forecasts(store, period.since, period.until)
    fs_checks = _latest(store.checks(check_id="HOST-FS-001", since=period.since, until=period.until))
    for fs in filesystems:
        key = (fs["host"], fs["instance"])
        size = sizes.get(key)
        fs["size_text"] = hz.bytes_text(size) if size else ""
        cap = forecasts.get(key)
        last = fs_checks.get((fs["host"], "HOST-FS-001", fs["instance"]))
        statuses = [c.status for c in (cap, last) if c is not None]
        status = None
        for s in statuses:
            status = _worse(status, s)
        fs["days_to_full"] = _num(cap.value) if cap is not None else None
        fs["forecast_text"] = (hz.days_text(fs["days_to_full"]) if fs["days_to_full"] is not None else
                               ("未增长" if cap is not None else "未预测（本周无资源巡检）"))
        fs["forecast_evidence"] = hz.local_text(cap.evidence, period.tz) if cap is not None else ""
        fs["status"] = status
        fs["status_label"] = cat.STATUS_LABEL.get(status, "无数据")
        fs["suggestion"] = hz.client_text(next((c.suggestion for c in (cap, last) if c is not None and c.suggestion), ""))
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
    db_growth = _latest(store.checks(check_id="DB-CAP-001", since=period.since, until=period.until))
    databases = []
    for (h, inst), samples in sorted(db_series.items()):
        samples.sort()
        g = db_growth.get((h, "DB-CAP-001", inst))
        databases.append({"host": h, "database": inst, "first_text": hz.bytes_text(samples[0][1]),
                          "last_text": hz.bytes_text(samples[-1][1]),
                          "growth_text": hz.bytes_text(samples[-1][1] - samples[0][1]),
                          "growth_week_pct": _num(g.value) if g is not None else None,
                          "status": g.status if g is not None else None,
                          "status_label": cat.STATUS_LABEL.get(g.status if g is not None else None, "无数据")})
    runs = runs_of(store, period, cat.RESOURCE_JOBS + cat.INSPECTION_JOBS)
    resource_runs = [r for r in runs if r.job in cat.RESOURCE_JOBS or r.profile in cat.RESOURCE_PROFILES]
    return {
        "kind": "resource-record", "title": "资源巡检记录", "period": period_info(period),
        "filesystems": filesystems, "hosts": host_rows, "databases": databases,
        "runs": [_run_info(r, period, contract, r.status in cat.COMPLETED_RUN_STATUSES, "") for r in resource_runs],
        "at_risk": [fs for fs in filesystems if fs["status"] in ("warn", "crit")],
        "empty": not filesystems and not host_rows and not databases,
        "signoff": signoff(contract, "resource-record", [r.operator for r in resource_runs], period.last, now,
                           period.tz),
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
            def state(x: Any, s: str | None) -> str:
                text = cat.STATUS_LABEL.get(s, "—")
                if x is not None and _num(x.value) is None and x.value not in (None, ""):
                    text += f"（{hz.value_text(x.value, x.unit or '')}）"
                return text
            out.append({"host": key[0], "check_id": key[1], "instance": key[2],
                        "title": (c or p).title or key[1], "change": change,
                        "before": state(p, ps), "after": state(c, cs)})
    return out


def service_availability(store: Any, since: datetime, until: datetime, jobs: Sequence[str],
                         now: datetime | None = None, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Time-weighted availability per service over [since, until) (until capped at now).

    ``ids``: the check ids recorded in the period, when the caller has them (else one summary query)."""
    end = min(until, now or datetime.now(timezone.utc))
    look = analysis.lookback(since)
    if ids is None:
        ids = {x.id for job in jobs for x in store.check_summary(since=look, until=until, job=job)}
    known = sorted(set(ids))
    out = []
    for name, pattern in analysis.services():
        rows: list[Any] = []
        for cid in (i for i in known if pattern.match(i)):
            for job in jobs:
                rows.extend(store.checks(job=job, check_id=cid, since=look, until=until))
        timeline = analysis.service_timeline(rows, pattern)
        prior = [o for o in timeline if o[0] < since]
        before = prior[-1][1] if prior else None
        if end <= since:
            out.append({"service": name, "availability_pct": None, "observed_s": 0.0, "down_s": 0.0,
                        "outages": [], "observations": 0, "down_observations": 0})
            continue
        out.append(analysis.availability(timeline, since, end, name, before))
    return out


def outage_rows(avail: Sequence[dict[str, Any]], period: Period, end: datetime) -> list[dict[str, Any]]:
    rows = []
    for a in avail:
        for o in a["outages"]:
            rows.append({"service": a["service"], "start": _local(o.start, period),
                         "end": _local(o.end, period) if o.end else "至期末未恢复",
                         "duration": hz.duration_text(o.seconds(end)), "seconds": o.seconds(end),
                         "hosts": "、".join(sorted(o.hosts)), "evidence": hz.local_text(o.evidence, period.tz)})
    return sorted(rows, key=lambda r: r["start"])


def avail_row(a: dict[str, Any]) -> dict[str, Any]:
    return {"service": a["service"], "availability_pct": a["availability_pct"],
            "observed": hz.duration_text(a["observed_s"]) if a["observed_s"] else "—",
            "down": hz.duration_text(a["down_s"]) if a["down_s"] else "0",
            "down_s": a["down_s"], "observed_s": a["observed_s"], "outages": len(a["outages"]),
            "observations": a["observations"]}


def health_daily(store: Any, period: Period, plan: Plan | Sequence[Window] | None = None, *,
                 with_trends: bool = True, now: datetime | None = None,
                 contract: Contract | None = None) -> dict[str, Any]:
    """《系统健康检查日报》 for a day."""
    plan = as_plan(plan, contract)
    contract = plan.contract
    runs = inspection_runs(store, period)
    all_checks = checks_of(store, runs, period)
    reached, unreachable = reached_hosts(all_checks)
    verdicts = {r.id: run_verdict(r, reached.get(r.id, set()), unreachable.get(r.id, set())) for r in runs}
    counted = [r for r in runs if verdicts[r.id][0]]
    checks = [c for c in all_checks if c.run_id in {r.id for r in counted}]
    ds, per_host = score_day(checks, [h for r in counted for h in (r.hosts or [])])
    grade, grade_status = ds.grade
    hosts = []
    for h, v in per_host.items():
        status = "crit" if v["unreachable"] or v["crit"] else ("warn" if v["warn"] else ("ok" if v["items"] else None))
        hosts.append({"host": h, **v, "status": status, "light": cat.LIGHT[status],
                      "status_label": "不可达" if v["unreachable"] else cat.STATUS_LABEL[status]})
    found = analysis.findings(checks)
    titles = {analysis.item_of(c): c.title or c.id for c in checks}
    last = _latest(checks)
    patches = [check_row(c, period) for k, c in sorted(last.items()) if cat.is_patch_check(c.id, c.category)]
    prev_period = day_period(period.first - timedelta(days=1), period.tz)
    prev_runs = inspection_runs(store, prev_period)
    prev_last = _latest(checks_of(store, prev_runs, prev_period))
    changes = _changes(prev_last, last) if prev_last else []
    end = min(period.until, now or datetime.now(timezone.utc))
    avail = service_availability(store, period.since, period.until, list(cat.INSPECTION_JOBS), now) if runs else []
    from yunwei.servicedesk.report_data import day_tickets

    tickets = day_tickets(store, period, now=now, contract=contract)
    from yunwei.reports.backups import day_section

    backup = day_section(store, period, now)
    from yunwei.monitoring.report_data import alert_section

    alerts = alert_section(store, period.since, period.until, now)
    from yunwei.webaudit.report_data import day_regressions

    web_regressions = day_regressions(store, period)
    trends = {}
    if with_trends:
        trends = {"24h": run_series(store, period.until - timedelta(hours=24), period.until, period.tz),
                  "7d": run_series(store, period.until - timedelta(days=7), period.until, period.tz)}
    return {
        "kind": "health-daily", "title": "系统健康检查日报", "period": period_info(period),
        "score": ds.score, "raw_score": ds.raw, "score_caps": ds.reasons, "grade": grade,
        "grade_status": grade_status, "host_scores": {h["host"]: h["score"] for h in hosts if h["items"] or
                                                      h["unreachable"]},
        "hosts": hosts, "findings": [finding_row(f, period, titles=titles) for f in found],
        "patches": patches, "changes": changes, "previous_date": prev_period.first.isoformat(),
        "previous_has_data": bool(prev_runs),
        "availability": [avail_row(a) for a in avail], "outages": outage_rows(avail, period, end),
        "runs": [_run_info(r, period, contract, *verdicts[r.id]) for r in runs],
        "totals": {**count(c.status for c in checks), "checks": len(checks), "hosts": len(hosts),
                   "runs": len(runs), "counted_runs": len(counted),
                   "causes": sum(1 for f in found if f.is_cause),
                   "open": sum(1 for f in found if f.is_cause and f.state == analysis.STATE_OPEN)},
        "trends": trends, "empty": not runs, "no_valid_run": bool(runs) and not counted, "tickets": tickets,
        "backup": backup,
        "alerts": alerts,
        "web_regressions": web_regressions,
        "signoff": signoff(contract, "health-daily", [], period.last, now, period.tz),
    }


def monthly(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """《系统运行月度总结报告》: see monthly.monthly (kept here for callers of the assembly API)."""
    from yunwei.reports import monthly as mod

    return mod.monthly(*args, **kwargs)


def summary(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Quarterly or annual summary: see monthly.summary."""
    from yunwei.reports import monthly as mod

    return mod.summary(*args, **kwargs)

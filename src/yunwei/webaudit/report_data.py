"""Data of 《网站性能优化报告》 (web-performance) and 《用户体验评估报告》 (ux), per quarter, from the
web-audit runs in the journal and, for ux, the service desk's feedback items and satisfaction scores."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from yunwei.catalogue import catalogue
from yunwei.inspection.judge import check as judge_check
from yunwei.reports.assemble import _local, period_info, runs_of, signoff
from yunwei.reports.periods import Period
from yunwei.webaudit.compare import regressions

JOB = "web-audit"
BAD = ("warn", "crit")
PAGE_METRICS = ("webq.score.performance", "webq.score.accessibility", "webq.score.best_practices", "webq.score.seo",
                "webq.lcp_ms", "webq.fcp_ms", "webq.cls", "webq.tbt_ms", "webq.si_ms", "webq.total_bytes", "webq.requests")


def page_label(instance: str) -> str:
    """``desktop http://…/`` -> ``http://…/（桌面）``; other instances (a section, a sample URL) unchanged."""
    form, _, url = instance.partition(" ")
    if form not in ("desktop", "mobile"):
        return instance
    return f"{url}（{'桌面' if form == 'desktop' else '移动'}）"


def _audits(store: Any, period: Period) -> list[Any]:
    return [r for r in runs_of(store, period, [JOB]) if r.completed]


def _baseline_run(store: Any) -> Any:
    """The baseline audit: the first completed web-audit in the journal (the start of the service)."""
    runs = [r for r in store.list_runs(job=JOB) if r.completed and r.started_at is not None]
    return min(runs, key=lambda r: r.started_at) if runs else None


def _previous_run(store: Any, run: Any) -> Any:
    runs = [r for r in store.list_runs(job=JOB, until=run.started_at) if r.completed and r.started_at < run.started_at]
    return max(runs, key=lambda r: r.started_at) if runs else None


def _values(store: Any, run: Any) -> dict[tuple[str, str], float]:
    return {(m.name, m.instance): m.value for m in store.metrics(run_id=run.id) if m.name.startswith("webq.")}


def _bad_checks(store: Any, run: Any) -> dict[tuple[str, str], Any]:
    return {(c.id, c.instance): c for c in store.checks(run_id=run.id) if c.status in BAD}


def _judged(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cat = catalogue()
    return [{**f, "check": judge_check(f, cat=cat)} for f in findings]


def web_performance(store: Any, period: Period, plan: Any, *, now: datetime | None = None,
                    limits: dict[str, float] | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    runs = _audits(store, period)
    base = _baseline_run(store)
    out: dict[str, Any] = {"kind": "web-performance", "title": "网站性能优化报告", "period": period_info(period),
                           "empty": not runs, "audits": len(runs), "pages": [], "series": {}, "open": [], "fixed": [],
                           "regressions": [], "recommendations": [],
                           "baseline": _local(base.started_at, period) if base else None,
                           "signoff": signoff(plan.contract, "web-performance", [r.operator for r in runs], period.last,
                                              now, period.tz)}
    if not runs:
        return out
    first, last = runs[0], runs[-1]
    cur, start = _values(store, last), _values(store, first)
    base_vals = _values(store, base) if base else {}
    for run in runs:
        for (name, inst), v in _values(store, run).items():
            if name == "webq.score.performance":
                out["series"].setdefault(inst, []).append((_local(run.started_at, period, "%m-%d"), v))
    for inst in sorted({i for (n, i) in cur if n == "webq.score.performance"}):
        row = {"page": inst, **{n: cur.get((n, inst)) for n in PAGE_METRICS},
               "start": start.get(("webq.score.performance", inst)), "base": base_vals.get(("webq.score.performance", inst))}
        out["pages"].append(row)
    bad_last, bad_first = _bad_checks(store, last), _bad_checks(store, first)
    out["open"] = [{"title": c.title, "instance": c.instance, "status": c.status, "value": c.value, "unit": c.unit,
                    "evidence": c.evidence, "suggestion": c.suggestion, "since": _first_seen(store, runs, key, period)}
                   for key, c in sorted(bad_last.items())]
    good_last = {(c.id, c.instance): c for c in store.checks(run_id=last.id) if c.status == "ok"}
    out["fixed"] = [{"title": c.title, "instance": c.instance, "before": c.evidence, "evidence": good_last[key].evidence}
                    for key, c in sorted(bad_first.items()) if key in good_last and last.id != first.id]
    prev = _previous_run(store, last)
    if prev is not None:
        out["regressions"] += _judged(regressions(_values(store, prev), cur, "上次审计", limits))
    if base is not None and base.id != last.id:
        out["regressions"] += _judged(regressions(base_vals, cur, "基线审计", limits))
    out["previous"] = _local(prev.started_at, period) if prev else None
    out["last"] = _local(last.started_at, period)
    out["recommendations"] = list(dict.fromkeys(o["suggestion"] for o in out["open"] if o["suggestion"]))
    return out


def _first_seen(store: Any, runs: list[Any], key: tuple[str, str], period: Period) -> str:
    for run in runs:
        if key in _bad_checks(store, run):
            return _local(run.started_at, period, "%Y-%m-%d")
    return "—"


def ux(store: Any, period: Period, plan: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """《用户体验评估报告》: the quarter's audits (all four Lighthouse categories, content freshness, links,
    search) with the service desk's feedback items and satisfaction scores, and what was delivered."""
    from yunwei.servicedesk.feedback import list_feedback
    from yunwei.servicedesk.report_data import feedback_figures, satisfaction

    now = now or datetime.now(timezone.utc)
    perf = web_performance(store, period, plan, now=now)
    since, until = period.since.timestamp(), period.until.timestamp()
    months = sorted({d.strftime("%Y-%m") for d in period.days()})
    sat = satisfaction(store, months[0], months[-1])
    items = list_feedback(store, since=since, until=until)
    done = [f for f in list_feedback(store, state="done") if f.closed_at and since <= f.closed_at < until]
    content = []
    runs = _audits(store, period)
    if runs:
        content = [{"title": c.title, "instance": c.instance, "status": c.status, "evidence": c.evidence,
                    "suggestion": c.suggestion}
                   for c in store.checks(run_id=runs[-1].id)
                   if c.id.startswith(("WEBQ-FRESH", "WEBQ-LINK", "WEBQ-SEARCH", "WEBQ-SITEMAP"))]
    return {"kind": "ux", "title": "用户体验评估报告", "period": period_info(period),
            "empty": not runs and not items and not sat["answers"], "audits": perf["audits"], "pages": perf["pages"],
            "content": content, "satisfaction": sat, "feedback": feedback_figures(store, since, until),
            "items": [{"title": f.title, "requester": f.requester or "—", "state": f.state, "plan": f.plan or f.note or "—",
                       "created": _local(datetime.fromtimestamp(f.created_at, timezone.utc), period, "%Y-%m-%d")} for f in items],
            "delivered": [f"需求反馈“{f.title}”已完成" + (f"：{f.note}" if f.note else "") for f in done]
                         + [f"{x['title']}（{page_label(x['instance'])}）已整改" for x in perf["fixed"]],
            "open": perf["open"], "last": perf.get("last"),
            "signoff": signoff(plan.contract, "ux", [r.operator for r in runs], period.last, now, period.tz)}


def day_regressions(store: Any, period: Period) -> list[dict[str, Any]]:
    """The web audits' regressions (WEBQ-REG-001) of the day, for the health daily's anomaly section."""
    rows = []
    for run in runs_of(store, period, [JOB]):
        for c in store.checks(run_id=run.id):
            if c.id == "WEBQ-REG-001" and c.status in BAD:
                rows.append({"time": _local(run.started_at, period, "%H:%M"), "instance": c.instance,
                             "status": c.status, "evidence": c.evidence, "suggestion": c.suggestion})
    return rows

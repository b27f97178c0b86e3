"""What the documents show about the service desk, assembled from the store as plain data.

- :func:`register`: 《故障申告登记表》 of a month — every ticket registered in it, and those carried
  over from earlier months that were still open, with times, handling, result and clocks.
- :func:`feedback_week`: the weekly requirements-feedback summary.
- :func:`service_section`: the service section of the monthly, quarterly and annual reports.
- :func:`day_tickets`: the tickets of a day for the health daily's 异常事件记录.

Counts and quantiles are computed in SQL (exact quantiles with ORDER BY .. LIMIT 2 OFFSET k, linear
interpolation), so the annual section holds no per-ticket rows in memory; only the lists a document
prints (a month's register, a month's breaches, a capped list for a year) are loaded row by row.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from yunwei.errors import InputError
from yunwei.reports import humanise as hz
from yunwei.reports.periods import Period, client_tz, parse_period
from yunwei.servicedesk import store as sd
from yunwei.servicedesk.config import ServiceDeskConfig, load_config
from yunwei.servicedesk.model import CHANNELS, CLOCKS, FEEDBACK_CLOSED, FEEDBACK_STATES, GRADES, STATES, Ticket

QUANTILE_METHOD = "时长为申告（故障开始）至响应、解决或到场的间隔；中位数与 P90 为精确分位数（线性插值）。"
YEAR_BREACH_ROWS = 30   # a quarter or a year lists the longest overruns; months list every breach
LOW_SCORE = 3
KIND_SQL = {  # kind -> (time column, due column, breach column, "still running" condition)
    "response": ("responded_at", "response_due", "breach_response", "responded_at IS NULL AND state IN ('new', 'acked')"),
    "handling": ("resolved_at", "handling_due", "breach_handling", "state IN ('new', 'acked')"),
    "onsite": ("onsite_at", "onsite_due", "breach_onsite", "onsite_at IS NULL AND state IN ('new', 'acked')"),
}


def parse_any_period(raw: str, tz: Any = None) -> Period:
    """YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn or YYYY."""
    tz = tz or client_tz()
    text = str(raw).strip()
    unit = ("week" if re.search(r"w", text, re.I) else "quarter" if re.search(r"q", text, re.I) else
            "day" if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text) else "month" if re.fullmatch(r"\d{4}-\d{1,2}", text)
            else "year" if re.fullmatch(r"\d{4}", text) else "")
    if not unit:
        raise InputError("--period", None, f"expected YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn or YYYY, got {raw!r}")
    return parse_period(unit, text, tz)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _local(ts: float | None, tz: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone(tz).strftime(fmt)


def _dur(seconds: float | None) -> str:
    return "" if seconds is None else hz.duration_text(max(0.0, seconds))


def person(contract: Any, name: str) -> str:
    """An operator login as the person's name; a name typed by hand (assign --to) as it is."""
    if not name:
        return ""
    return contract.person(name) if contract is not None and contract.known(name) else name


# ----------------------------------------------------------------------------- per ticket
def clock_lines(t: Ticket, end: float, tz: Any) -> tuple[list[str], bool]:
    """The clocks of one ticket, one line each (达标 / 超时 N / 计时中), and whether any is breached."""
    parts, breached = [], False
    for c in t.clocks:
        if c.cancelled is not None and not c.breached:
            continue
        label = f"{CLOCKS[c.kind]}≤{hz.duration_text(c.seconds)}"
        if c.breached:
            over = (c.stopped if c.stopped is not None else c.cancelled) - c.due  # type: ignore[operator]
            parts.append(f"{label} 超时 {_dur(over)}")
            breached = True
        elif c.stopped is not None:
            parts.append(f"{label} 达标")
        elif c.due < end:
            parts.append(f"{label} 已超时 {_dur(end - c.due)}，未完成")
            breached = True
        else:
            parts.append(f"{label} 计时中（截止 {_local(c.due, tz, '%m-%d %H:%M')}）")
    return parts or ["—"], breached


def timeline(t: Ticket, tz: Any) -> str:
    """响应 / 到场 / 解决 with the time taken, one line each; the day is shown when it is not the day
    of the report."""
    day = _local(t.opened_at, tz, "%m-%d")
    out = []
    for label, ts in (("响应", t.responded_at), ("到场", t.onsite_at), ("解决", t.resolved_at)):
        if ts is None:
            continue
        when = _local(ts, tz, "%m-%d %H:%M")
        when = when[6:] if when.startswith(day) else when
        out.append(f"{label} {when}（{_dur(ts - t.opened_at)}）")
    return "\n".join(out) or "未响应"


def ticket_row(t: Ticket, tz: Any, end: float, contract: Any = None) -> dict[str, Any]:
    lines, breached = clock_lines(t, end, tz)
    notes = []
    for g in t.grades:
        notes.append(f"{_local(g['time'], tz, '%m-%d %H:%M')} 级别由{GRADES[g['from']]}调整为{GRADES[g['to']]}：{g['reason']}")
    for c in t.corrections:
        notes.append(f"{_local(c['time'], tz, '%m-%d %H:%M')} 更正{c['field']}为 {_local(c['to'], tz)}：{c['reason']}")
    if t.breach_reason:
        notes.append(f"超时原因：{t.breach_reason}")
    alert = ""
    if t.alert:
        a = t.alert
        alert = (f"告警 {a.get('name') or ''} {_local(a.get('starts_at'), tz, '%m-%d %H:%M')} 开始，" +
                 (f"{_local(a.get('ends_at'), tz, '%m-%d %H:%M')} 恢复" if a.get("status") == "resolved" else "告警持续中"))
    return {
        "id": t.id, "grade": t.grade, "grade_label": GRADES[t.grade], "channel": t.channel,
        "channel_label": CHANNELS[t.channel], "reporter": t.reporter, "contact": t.contact, "host": t.host,
        "title": t.title, "description": t.description, "state": t.state, "state_label": STATES[t.state],
        "opened": _local(t.opened_at, tz), "opened_short": _local(t.opened_at, tz, "%m-%d %H:%M"),
        "registered": _local(t.registered_at, tz), "timeline": timeline(t, tz),
        "registered_by": person(contract, t.opened_by),
        "responded": _local(t.responded_at, tz), "response_time": _dur(t.responded_at - t.opened_at)
        if t.responded_at is not None else "",
        "onsite": _local(t.onsite_at, tz), "onsite_time": _dur(t.onsite_at - t.opened_at) if t.onsite_at else "",
        "resolved": _local(t.resolved_at, tz), "handling_time": _dur(t.resolved_at - t.opened_at)
        if t.resolved_at is not None else "",
        "closed": _local(t.closed_at, tz), "assignee": person(contract, t.assignee),
        "cause": t.cause, "action": t.action, "result": t.result, "confirmation": t.confirmation,
        "clocks": "；".join(lines), "clock_lines": "\n".join(lines), "breached": breached, "notes": "；".join(notes),
        "alert": alert,
    }


def _tickets(store: Any, where: str, params: list[Any]) -> list[Ticket]:
    rows = store.query(f"SELECT {', '.join(sd.TICKET_COLS)} FROM tickets WHERE {where} ORDER BY opened_at, id", params)
    return [sd.ticket_from_row(r) for r in rows]


# ----------------------------------------------------------------------------- statistics (SQL)
def _quantiles(store: Any, col: str, where: str, params: list[Any],
               qs: tuple[float, ...] = (0.5, 0.9)) -> dict[str, dict[float, float]]:
    """Exact quantiles (linear interpolation between the two nearest ranks, as numpy's default) of
    ``col - opened_at`` per grade, in one query: a window function numbers each grade's rows and only
    the rows at the needed ranks come back (memory flat in the number of tickets). ``qs``: tenths."""
    d = f"({col} - opened_at)"
    ranks = " OR ".join(f"rn = ((n - 1) * {int(q * 10)}) / 10 + {k}" for q in qs for k in (1, 2))
    rows = store.query(
        f"SELECT grade, d, rn, n FROM (SELECT grade, {d} AS d, ROW_NUMBER() OVER (PARTITION BY grade ORDER BY {d}) "
        f"AS rn, COUNT(*) OVER (PARTITION BY grade) AS n FROM tickets WHERE {where} AND {col} IS NOT NULL) x "
        f"WHERE {ranks}", params)
    at: dict[str, dict[int, float]] = defaultdict(dict)
    size: dict[str, int] = {}
    for grade, value, rn, n in rows:
        at[grade][int(rn)] = float(value)
        size[grade] = int(n)
    out: dict[str, dict[float, float]] = {}
    for grade, n in size.items():
        out[grade] = {}
        for q in qs:
            lo = (n - 1) * int(q * 10) // 10          # the 0-based rank below the quantile
            a = at[grade][lo + 1]
            b = at[grade].get(lo + 2, a)
            out[grade][q] = a + (b - a) * ((n - 1) * q - lo)
    return out


def clock_stats(store: Any, since: float, until: float, end: float, config: ServiceDeskConfig) -> list[dict[str, Any]]:
    """Per grade and clock kind: how many tickets carried the clock, met, breached, still running, and
    the durations (median, p90, max) of the tickets that reached the milestone; plus an 'all' row per kind."""
    base = "opened_at >= ? AND opened_at < ?"
    out = []
    grade_rows = store.query(f"SELECT grade, COUNT(*) FROM tickets WHERE {base} GROUP BY grade", [since, until])
    counts = {g: int(n) for g, n in grade_rows}
    for kind, (col, due, flag, running) in KIND_SQL.items():
        agg = store.query(
            f"SELECT grade, SUM(CASE WHEN {due} IS NOT NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {due} IS NOT NULL AND ({flag} = 1 OR ({running} AND {due} < ?)) THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {due} IS NOT NULL AND {flag} = 0 AND NOT ({running}) THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {col} IS NOT NULL THEN 1 ELSE 0 END), MAX({col} - opened_at) "
            f"FROM tickets WHERE {base} GROUP BY grade", [end, since, until])
        per = {r[0]: r for r in agg}
        quant = _quantiles(store, col, base, [since, until])
        for grade in [*GRADES, None]:
            rows = list(per.values()) if grade is None else ([per[grade]] if grade in per else [])
            carried = sum(int(r[1] or 0) for r in rows)
            reached = sum(int(r[4] or 0) for r in rows)
            limit = config.clocks_for(grade).get(kind) if grade else None
            if grade is not None and not carried and not reached:
                continue
            if grade is None and not reached and not carried:
                continue
            breached = sum(int(r[2] or 0) for r in rows)
            met = sum(int(r[3] or 0) for r in rows)
            mx = max((float(r[5]) for r in rows if r[5] is not None), default=None)
            out.append({
                "grade": grade or "all", "grade_label": GRADES[grade] if grade else "全部", "kind": kind,
                "kind_label": CLOCKS[kind], "tickets": counts.get(grade, 0) if grade else sum(counts.values()),
                "limit_s": limit, "limit": hz.duration_text(limit) if limit else "—",
                "with_clock": carried, "met": met, "breached": breached, "running": carried - met - breached,
                "met_pct": round(100.0 * met / (met + breached), 1) if met + breached else None,
                "reached": reached,
                # the quantiles are per grade, against its clock (over all grades they would cost two more sorts)
                "median_s": quant.get(grade, {}).get(0.5) if grade else None,
                "p90_s": quant.get(grade, {}).get(0.9) if grade else None, "max_s": mx,
            })
    for r in out:
        for k in ("median", "p90", "max"):
            r[k] = _dur(r[f"{k}_s"]) if r[f"{k}_s"] is not None else "—"
    return out


def counts_by(store: Any, column: str, since: float, until: float, end: float) -> list[dict[str, Any]]:
    """Tickets registered in the period per grade or channel: total, closed, still open at ``end``."""
    rows = store.query(f"SELECT {column}, COUNT(*), SUM(CASE WHEN closed_at IS NOT NULL AND closed_at < ? THEN 1 ELSE 0 END), "
                       f"SUM(CASE WHEN resolved_at IS NOT NULL AND resolved_at < ? THEN 1 ELSE 0 END) "
                       f"FROM tickets WHERE opened_at >= ? AND opened_at < ? GROUP BY {column}", [end, end, since, until])
    labels = GRADES if column == "grade" else CHANNELS
    per = {r[0]: r for r in rows}
    return [{"code": k, "label": labels[k], "tickets": int(per[k][1]), "resolved": int(per[k][3] or 0),
             "closed": int(per[k][2] or 0), "open": int(per[k][1]) - int(per[k][2] or 0)}
            for k in labels if k in per]


def breaches(store: Any, since: float, until: float, end: float, tz: Any, contract: Any = None,
             limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Tickets registered in the period with a breached clock (on record, or still running past due at
    ``end``): one row per breached clock, the longest overrun first; (rows, total number)."""
    run = {k: v[3] for k, v in KIND_SQL.items()}
    cond = " OR ".join(f"({v[2]} = 1 OR ({run[k]} AND {v[1]} < ?))" for k, v in KIND_SQL.items())
    where = f"opened_at >= ? AND opened_at < ? AND ({cond})"
    params = [since, until, end, end, end]
    total_rows = store.query(f"SELECT COUNT(*) FROM tickets WHERE {where}", params)
    total = int(total_rows[0][0] or 0)
    order = ""
    if limit:  # a quarter or a year: only the longest overruns, estimated in SQL, are loaded
        big = "GREATEST" if store.dialect == "postgresql" else "MAX"
        over = ", ".join(f"COALESCE(COALESCE({v[0]}, ?) - {v[1]}, -1e18)" for v in KIND_SQL.values())
        order = f" ORDER BY {big}({over}) DESC LIMIT {int(limit) * 3}"
        params = [*params, end, end, end]
    rows = store.query(f"SELECT {', '.join(sd.TICKET_COLS)} FROM tickets WHERE {where}{order}", params)
    out = []
    for t in (sd.ticket_from_row(r) for r in rows):
        for c in t.clocks:
            stop = c.stopped if c.stopped is not None else c.cancelled
            if c.breached:
                over = stop - c.due  # type: ignore[operator]
                state = f"{_local(stop, tz)}{'完成' if c.stopped is not None else '（级别调整）'}"
            elif c.running and c.due < end:
                over, state = end - c.due, "未完成"
            else:
                continue
            out.append({"id": t.id, "grade_label": GRADES[c.grade], "title": t.title, "host": t.host,
                        "clock": f"{CLOCKS[c.kind]}≤{hz.duration_text(c.seconds)}", "due": _local(c.due, tz),
                        "done": state, "over_s": over, "over": _dur(over),
                        "reason": t.breach_reason or "未填写超时原因", "assignee": person(contract, t.assignee)})
    out.sort(key=lambda r: -r["over_s"])
    return (out[:limit] if limit else out), total


def satisfaction(store: Any, first_month: str, last_month: str, low: int = LOW_SCORE) -> dict[str, Any]:
    from yunwei.servicedesk.feedback import followups

    rows = followups(store, since_month=first_month, until_month=last_month)
    dist = {s: 0 for s in range(1, 6)}
    for f in rows:
        dist[f.score] += 1
    n = len(rows)
    return {"answers": n, "requesters": len({f.requester for f in rows}),
            "average": round(sum(f.score for f in rows) / n, 2) if n else None,
            "satisfied_pct": round(100.0 * sum(1 for f in rows if f.score >= 4) / n, 1) if n else None,
            "distribution": [{"score": s, "count": c} for s, c in dist.items()],
            "low": [{"month": f.month, "requester": f.requester, "ticket": f.ticket_id, "score": f.score,
                     "remarks": f.remarks or "—"} for f in rows if f.score <= low], "low_max": low}


def feedback_figures(store: Any, since: float, until: float) -> dict[str, Any]:
    rows = store.query("SELECT SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END), "
                       "SUM(CASE WHEN state = 'done' AND closed_at >= ? AND closed_at < ? THEN 1 ELSE 0 END), "
                       "SUM(CASE WHEN state = 'declined' AND closed_at >= ? AND closed_at < ? THEN 1 ELSE 0 END), "
                       "SUM(CASE WHEN created_at < ? AND (closed_at IS NULL OR closed_at >= ?) THEN 1 ELSE 0 END) "
                       "FROM feedback", [since, until, since, until, since, until, until, until])
    new, done, declined, still = (int(x or 0) for x in rows[0])
    return {"new": new, "done": done, "declined": declined, "closed": done + declined, "open_at_end": still}


# ----------------------------------------------------------------------------- documents
def service_section(store: Any, period: Period, *, now: datetime | None = None, config: ServiceDeskConfig | None = None,
                    contract: Any = None, monthly_rows: bool = False) -> dict[str, Any]:
    """The service section of the monthly, quarterly and annual reports."""
    config = config or load_config()
    now = now or datetime.now(timezone.utc)
    since, until = _ts(period.since), _ts(period.until)
    end = min(until, _ts(now))
    tz = period.tz
    by_grade = counts_by(store, "grade", since, until, end)
    total = sum(r["tickets"] for r in by_grade)
    limit = None if period.unit in ("month", "week", "day") else YEAR_BREACH_ROWS
    breach_rows, breached = breaches(store, since, until, end, tz, contract, limit=limit)
    months = _months(store, period, end) if monthly_rows else []
    first, last = period.first.strftime("%Y-%m"), period.last.strftime("%Y-%m")
    return {
        "tickets": total, "by_grade": by_grade, "by_channel": counts_by(store, "channel", since, until, end),
        "open_at_end": sum(r["open"] for r in by_grade),
        "carried_in": _carried(store, since), "clocks": clock_stats(store, since, until, end, config),
        "breaches": breach_rows, "breached_tickets": breached, "breach_list_limited": limit is not None and breached > 0,
        "satisfaction": satisfaction(store, first, last, LOW_SCORE if limit is None else LOW_SCORE - 1),
        "feedback": feedback_figures(store, since, until),
        "months": months, "clock_source": config.source, "method": QUANTILE_METHOD,
        "clock_rules": _clock_rules(config),
    }


def _carried(store: Any, since: float) -> int:
    rows = store.query("SELECT COUNT(*) FROM tickets WHERE opened_at < ? AND (closed_at IS NULL OR closed_at >= ?)",
                       [since, since])
    return int(rows[0][0] or 0)


def _months(store: Any, period: Period, end: float) -> list[dict[str, Any]]:
    """Per month: tickets, breached tickets (one GROUP BY over the period)."""
    from yunwei.reports.periods import months_of

    out = []
    for mp in months_of(period):
        s, u = _ts(mp.since), _ts(mp.until)
        run = {k: v[3] for k, v in KIND_SQL.items()}
        cond = " OR ".join(f"({v[2]} = 1 OR ({run[k]} AND {v[1]} < ?))" for k, v in KIND_SQL.items())
        row = store.query(f"SELECT COUNT(*), SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), "
                          "SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END) FROM tickets "
                          "WHERE opened_at >= ? AND opened_at < ?", [end, end, end, s, u])[0]
        out.append({"month": mp.label, "tickets": int(row[0] or 0), "breached": int(row[1] or 0),
                    "closed": int(row[2] or 0)})
    return out


def _clock_rules(config: ServiceDeskConfig) -> list[str]:
    out = []
    for r in config.clock_table():
        if not r["clocks"]:
            continue
        text = "、".join(f"{CLOCKS[k]} {hz.duration_text(v)}" for k, v in r["clocks"].items())
        where = f"（{CHANNELS[r['channel']]}）" if r["channel"] else ""
        out.append(f"{GRADES[r['grade']]}{where}：{text}")
    return out


def register(store: Any, period: Period, *, now: datetime | None = None, config: ServiceDeskConfig | None = None,
             contract: Any = None) -> dict[str, Any]:
    """《故障申告登记表》 of a month (any period works)."""
    from yunwei.reports.assemble import period_info, signoff

    config = config or load_config()
    now = now or datetime.now(timezone.utc)
    since, until = _ts(period.since), _ts(period.until)
    end = min(until, _ts(now))
    tz = period.tz
    rows = [ticket_row(t, tz, end, contract) for t in _tickets(store, "opened_at >= ? AND opened_at < ?", [since, until])]
    carried = [ticket_row(t, tz, end, contract) for t in
               _tickets(store, "opened_at < ? AND (closed_at IS NULL OR closed_at >= ?)", [since, since])]
    by_grade = counts_by(store, "grade", since, until, end)
    data = {
        "kind": "tickets", "title": "故障申告登记表", "period": period_info(period), "rows": rows, "carried": carried,
        "by_grade": by_grade, "by_channel": counts_by(store, "channel", since, until, end),
        # closed / open as at the end of the period (or now), like the tables by grade and channel
        "totals": {"tickets": len(rows), "closed": sum(r["closed"] for r in by_grade),
                   "open": sum(r["open"] for r in by_grade),
                   "breached": sum(1 for r in rows if r["breached"]), "carried": len(carried)},
        "clock_rules": _clock_rules(config), "empty": not rows and not carried,
    }
    if contract is not None:
        data["signoff"] = signoff(contract, "tickets", [], period.last, now, tz)
    return data


def feedback_week(store: Any, period: Period, *, now: datetime | None = None, contract: Any = None) -> dict[str, Any]:
    """The weekly summary of requirements feedback (每周需求反馈汇总)."""
    from yunwei.reports.assemble import period_info, signoff
    from yunwei.servicedesk import feedback as fb

    now = now or datetime.now(timezone.utc)
    since, until = _ts(period.since), _ts(period.until)
    tz = period.tz
    items = fb.items_at(store, until)  # as they stood at the end of the week
    by_id = {f.id: f for f in items}
    new = [f for f in items if f.created_at >= since]
    moved: dict[str, list[str]] = defaultdict(list)
    for ref, e in fb.week_changes(store, since, until):
        if e.kind == "state":
            d = e.data
            moved[ref].append(f"{_local(e.time, tz, '%m-%d')} {FEEDBACK_STATES[d['state']]}"
                              + (f"（{d['plan']}）" if d.get("plan") else "") + (f"：{d['note']}" if d.get("note") else ""))
    changed = [by_id[ref] for ref in moved if ref in by_id]
    open_items = [f for f in items if f.state not in FEEDBACK_CLOSED]

    def row(f: Any) -> dict[str, Any]:
        return {"id": f.id, "created": _local(f.created_at, tz), "title": f.title, "requester": f.requester or "—",
                "state": f.state, "state_label": FEEDBACK_STATES[f.state], "plan": f.plan or "—",
                "note": f.note or "—", "ticket": f.ticket_id or "—", "moves": "；".join(moved.get(f.id, [])) or "—"}

    counts = {s: 0 for s in FEEDBACK_STATES}
    for f in items:
        counts[f.state] += 1
    data = {
        "kind": "feedback", "title": "需求反馈周汇总", "period": period_info(period),
        "new": [row(f) for f in new], "changed": [row(f) for f in changed],
        "open": [row(f) for f in open_items],
        "figures": {**feedback_figures(store, since, until), "by_state": counts},
        "empty": not new and not moved and not open_items,
    }
    if contract is not None:
        data["signoff"] = signoff(contract, "feedback", [], period.last, now, tz)
    return data


def state_at(t: Ticket, end: float) -> str:
    """The state a ticket was in at ``end`` (from its milestone times)."""
    for state, ts in (("closed", t.closed_at), ("resolved", t.resolved_at), ("acked", t.responded_at)):
        if ts is not None and ts <= end:
            return state
    return "new"


def day_tickets(store: Any, period: Period, *, now: datetime | None = None, contract: Any = None) -> list[dict[str, Any]]:
    """Tickets open at some moment of the day: registered that day, or registered before and closed
    that day or later; their state and handling as at the end of the day."""
    now = now or datetime.now(timezone.utc)
    since, until = _ts(period.since), _ts(period.until)
    end = min(until, _ts(now))
    out = []
    for t in _tickets(store, "opened_at < ? AND (closed_at IS NULL OR closed_at >= ?)", [until, since]):
        row = ticket_row(t, period.tz, end, contract)
        state = state_at(t, end)
        done = t.resolved_at is not None and t.resolved_at <= end
        row.update({"today": t.opened_at >= since, "state": state, "state_label": STATES[state],
                    "progress": f"{t.action}；{t.result}" if done else
                    (f"处理中（{row['assignee']}）" if state == "acked" else "待响应")})
        out.append(row)
    return out


def as_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)

"""What the checks mean together: root causes, distinct findings, time-weighted availability.

The reports never re-judge a check: status, value, threshold and forecast are the ones the
inspection recorded. This module only *groups* them:

* **Root causes.** Within one run and host, an abnormal check that follows from another abnormal
  check (nginx stopped -> its port, stub_status page and HTTP probes fail) is a *consequence* of
  that *cause*: it is listed under the cause and not scored again (``CAUSES``).
* **Findings.** One row per distinct (host, check id, object) abnormal during the period: first
  and last seen, how often, worst status, and whether it is still open at the period's end.
* **Availability** is time-weighted: a service is unavailable from the run that observed it down
  to the next run that observed it up (or to the end of the period, or now).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from yunwei.reports import catalog as cat

# cause check id -> pattern of the check ids on the same host and run that follow from it.
CAUSES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("HOST-REACH-001", re.compile(r".*"), "主机不可达，其余检查无法进行"),
    ("HOST-PROBE-001", re.compile(r"^HOST-(?!REACH)"), "主机巡检采集失败"),
    ("WEB-NGINX-001", re.compile(r"^(WEB-HTTP-00[123]|WEB-TLS-001|WEB-NGINX-00[24]|WEB-ANOM-001|HOST-PORT-001|"
                                 r"HOST-SVC-002)$"), "nginx 未运行"),
    ("DB-CONN-001", re.compile(r"^(DB-(?!CONN-001$).*|HOST-PORT-001|HOST-SVC-002)$"), "数据库不可连接"),
    ("WEB-PROBE-001", re.compile(r"^WEB-"), "网站巡检采集失败"),
    ("DB-PROBE-001", re.compile(r"^DB-"), "数据库巡检采集失败"),
)
UNREACHABLE_IDS = re.compile(r"^(HOST|WEB|DB)-REACH-001$")
STATE_OPEN, STATE_RECOVERED = "未恢复", "已恢复"

Item = tuple[str, str, str]  # (host, check id, instance)


def item_of(c: Any) -> Item:
    return (c.host, c.id, c.instance or "")


def causes_in(abnormal: Sequence[Any]) -> dict[int, Any]:
    """For the abnormal checks of ONE run and host: index -> the cause check it follows from
    (absent when the check is a cause itself)."""
    out: dict[int, Any] = {}
    present = {c.id: c for c in abnormal if c.status == "crit"}
    for cause_id, pattern, _why in CAUSES:
        cause = present.get(cause_id)
        if cause is None:
            continue
        for i, c in enumerate(abnormal):
            if i in out or c is cause or c.id == cause_id:
                continue
            if pattern.match(c.id):
                out[i] = cause
    return out


def cause_title(cause_id: str) -> str:
    return next((why for cid, _p, why in CAUSES if cid == cause_id), cause_id)


@dataclass
class Finding:
    """One distinct abnormal item over a period."""

    host: str
    check_id: str
    instance: str
    title: str
    category: str
    first: datetime
    last: datetime
    occurrences: int = 0
    worst: str = "warn"
    value: Any = None
    unit: str = ""
    threshold: Any = None
    evidence: str = ""
    suggestion: str = ""
    cause: Item | None = None         # set when (in its latest occurrence) it followed from another check
    cause_title: str = ""
    consequences: list[Item] = field(default_factory=list)
    state: str = STATE_OPEN
    last_ok: datetime | None = None   # latest ok observation after the last abnormal one
    observations: int = 0             # runs that checked this item

    @property
    def item(self) -> Item:
        return (self.host, self.check_id, self.instance)

    @property
    def is_cause(self) -> bool:
        return self.cause is None


def findings(checks: Iterable[Any], *, runs_order: Sequence[str] = ()) -> list[Finding]:
    """Distinct findings from all checks of the period (ok ones tell recovery)."""
    by_run_host: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for c in checks:
        by_run_host[(c.run_id, c.host)].append(c)
    out: dict[Item, Finding] = {}
    last_seen_ok: dict[Item, datetime] = {}
    observed: dict[Item, int] = defaultdict(int)
    seq = sorted(by_run_host.items(), key=lambda kv: min(c.time for c in kv[1]))
    for (_run, _host), cs in seq:
        abnormal = [c for c in cs if c.status in ("warn", "crit")]
        cause_of = causes_in(abnormal)
        for c in cs:
            observed[item_of(c)] += 1
            if c.status == "ok":
                last_seen_ok[item_of(c)] = c.time
        for i, c in enumerate(abnormal):
            key = item_of(c)
            f = out.get(key)
            if f is None:
                f = out[key] = Finding(c.host, c.id, c.instance or "", c.title or c.id, c.category or "",
                                       c.time, c.time)
            f.occurrences += 1
            f.last = max(f.last, c.time)
            if cat.STATUS_ORDER.get(c.status, 0) >= cat.STATUS_ORDER.get(f.worst, 0):
                f.worst = c.status
            f.value, f.unit, f.threshold = c.value, c.unit or "", c.threshold
            f.evidence = c.evidence or f.evidence
            f.suggestion = c.suggestion or f.suggestion
            cause = cause_of.get(i)
            f.cause = item_of(cause) if cause is not None else None
            f.cause_title = cause_title(cause.id) if cause is not None else ""
    for key, f in out.items():
        ok_at = last_seen_ok.get(key)
        f.observations = observed[key]
        if ok_at is not None and ok_at > f.last:
            f.state, f.last_ok = STATE_RECOVERED, ok_at
    for f in out.values():
        if f.cause is not None and f.cause in out:
            out[f.cause].consequences.append(f.item)
    return sorted(out.values(), key=lambda f: (-cat.STATUS_ORDER.get(f.worst, 0), f.first, f.host, f.check_id))


# ----------------------------------------------------------------------------- availability
@dataclass
class Outage:
    service: str
    start: datetime                 # first run that observed it down
    end: datetime | None            # first run that observed it up again (None: still down)
    hosts: set[str] = field(default_factory=set)
    evidence: str = ""
    counted_until: datetime | None = None

    def seconds(self, until: datetime) -> float:
        end = self.end or until
        return max(0.0, (min(end, until) - self.start).total_seconds())


def service_timeline(checks: Iterable[Any], pattern: re.Pattern[str]) -> list[tuple[datetime, bool, set[str], str]]:
    """Per run having the service's checks: (time, up, hosts down, evidence), oldest first.
    A run observes the service down when any of its matching checks is crit."""
    runs: dict[str, dict[str, Any]] = {}
    for c in checks:
        if not pattern.match(c.id):
            continue
        r = runs.setdefault(c.run_id, {"time": c.time, "down": set(), "evidence": ""})
        r["time"] = min(r["time"], c.time)
        if c.status == "crit":
            r["down"].add(c.host)
            r["evidence"] = r["evidence"] or (c.evidence or "")
    return sorted(((r["time"], not r["down"], r["down"], r["evidence"]) for r in runs.values()), key=lambda x: x[0])


def availability(timeline: Sequence[tuple[datetime, bool, set[str], str]], start: datetime, end: datetime,
                 service: str, before: bool | None = None) -> dict[str, Any]:
    """Time-weighted availability of a service over [start, end) from its observations.

    ``before``: the state observed last before ``start`` (None: unknown, then the span starts at the
    first observation). Returns the percentage, the observed span, downtime and the outages."""
    obs = [o for o in timeline if start <= o[0] < end]
    if not obs and before is None:
        return {"service": service, "availability_pct": None, "observed_s": 0.0, "down_s": 0.0,
                "outages": [], "observations": 0, "down_observations": 0}
    span_start = start if before is not None else obs[0][0]
    outages: list[Outage] = []
    current: Outage | None = Outage(service, start, None) if before is False else None
    for t, up, hosts, evidence in obs:
        if not up and current is None:
            current = Outage(service, t, None, set(hosts), evidence)
        elif not up and current is not None:
            current.hosts |= hosts
            current.evidence = current.evidence or evidence
        elif up and current is not None:
            current.end = t
            outages.append(current)
            current = None
    if current is not None:
        outages.append(current)
    observed = max(0.0, (end - span_start).total_seconds())
    down = sum(o.seconds(end) for o in outages)
    pct = round(100.0 * (1 - down / observed), 2) if observed > 0 else None
    return {"service": service, "availability_pct": pct, "observed_s": observed, "down_s": down,
            "outages": outages, "observations": len(obs), "down_observations": sum(1 for o in obs if not o[1])}


AVAILABILITY_METHOD = ("可用率按时间加权计算：自某次巡检观测到服务不可用起，至其后首次观测到恢复止，计为不可用时长；"
                       "可用率 = 1 − 不可用时长 ÷ 统计时长（自统计期开始，或本期首次观测起，至统计期末或当前时间）。"
                       "暂无连续监控数据，恢复时刻以下一次巡检为准，不可用时长可能偏长。")


def services() -> Sequence[tuple[str, re.Pattern[str]]]:
    return cat.SERVICES


def critical_service_names() -> tuple[str, str]:
    """The website and database services (their unavailability caps the health grade)."""
    names = [n for n, _ in cat.SERVICES]
    web = next((n for n in names if n.startswith("网站")), names[0])
    db = next((n for n in names if n.startswith("数据库")), names[-1])
    return web, db


def lookback(until: datetime, days: int = 7) -> datetime:
    return until - timedelta(days=days)

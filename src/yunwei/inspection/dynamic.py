"""Controller-side evaluation of an inspection result against the journal's history.

Used by the action plugin of ``yunwei.ops.inspect`` (and of the single-area collectors):
after the module returns, its metrics are judged against baselines learned per host and
metric (:mod:`yunwei.inspection.baselines`) for the metrics the catalogue gives a ``baseline``,
which adds anomaly findings; with ``forecast`` (resources profile) growth and days-until-full
findings are added. They are judged like the collectors' (:mod:`yunwei.inspection.judge`). When
the history is missing, nothing is added: the static limits stand alone.

``store`` below is anything with the store's read methods used here: a
:class:`yunwei.store.Store` on the controller, or in Ansible's forked workers the
:class:`yunwei.inspection.history.HostHistory` prepared on the controller (a worker never opens a
store: docs/journal.md, "Fork safety").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from yunwei.catalogue import catalogue
from yunwei.inspection import baselines as th

DAY = 86400.0
# the metrics judged against their own history: those the catalogue gives a baseline
WATCHED = frozenset(name for name, m in catalogue().metrics.items() if m.baseline_direction)


# log metric per category: its last sample time is the time of the last inspection
LAST_RUN_METRIC = {"web": "web.errlog.lines", "db": "db.errlog.lines", "host": "host.uptime_s"}


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    history_days: float = 56.0
    min_samples: int = 20
    min_bucket: int = 8
    warn_z: float = 4.0
    crit_z: float = 8.0
    tz: str = "Asia/Shanghai"

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Settings:
        data = dict(data or {})
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and data[k] is not None}
        return cls(**known)


def last_inspection(store: Any, host: str, category: str) -> float | None:
    """Epoch seconds of the newest recorded sample of the category's log metric for host."""
    name = LAST_RUN_METRIC.get(category)
    if not name:
        return None
    rows = store.metric_series(name, host=host, since=time.time() - 40 * DAY)
    return rows[-1][0].timestamp() if rows else None


def anomaly_findings(store: Any, host: str, category: str, metrics: list[dict[str, Any]],
                     settings: Settings, now: float | None = None) -> tuple[list[dict[str, Any]], int]:
    """Anomaly findings (``<AREA>-ANOM-001``, only for deviating metrics) and the number of metrics judged."""
    now = time.time() if now is None else now
    since = now - settings.history_days * DAY
    cat = catalogue()
    findings: list[dict[str, Any]] = []
    judged = 0
    area = cat.areas[category]["prefix"] if category in cat.areas else category.upper()
    for m in metrics:
        if m.get("name") not in WATCHED:
            continue
        spec = cat.metrics[m["name"]]
        history = store.metric_series(m["name"], host=host, instance=m.get("instance", ""), since=since,
                                      until=float(m.get("time") or now) - 1.0)
        base = th.learn(history, m.get("time") or now, min_samples=settings.min_samples,
                        min_bucket=settings.min_bucket, tz=settings.tz)
        if base is None:
            continue
        judged += 1
        res = th.evaluate(float(m["value"]), base, warn_z=settings.warn_z, crit_z=settings.crit_z,
                          floor=spec.baseline_floor, direction=spec.baseline_direction)
        if res.status == "ok":
            continue
        inst = m["name"] + (f"[{m['instance']}]" if m.get("instance") else "")
        unit = spec.unit
        findings.append({
            "id": f"{area}-ANOM-001",
            "instance": inst,
            "metric": m["name"],
            "outcome": "deviates_strongly" if res.status == "crit" else "deviates",
            "value": round(res.value, 2),
            "limits": {
                "baseline": round(base.median, 3), "mad": round(base.mad, 3), "samples": base.n,
                "scope": base.scope, "deviation": round(res.deviation, 2),
                "warn_z": settings.warn_z, "crit_z": settings.crit_z,
                "normal_low": round(res.low, 3), "normal_high": round(res.high, 3),
            },
            "evidence": (f"{inst} 当前 {res.value:.2f}{unit}，基线中位数 {base.median:.2f}{unit}"
                         f"（{'同一星期时段' if base.scope == 'hour-of-week' else '全部历史'} {base.n} 个样本，"
                         f"MAD {base.mad:.2f}），偏离 {res.deviation:+.1f} 个稳健标准差，"
                         f"常态范围 {res.low:.2f}–{res.high:.2f}"),
        })
    return findings, judged


def forecast_findings(store: Any, host: str, category: str, metrics: list[dict[str, Any]],
                      settings: Settings, now: float | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Resources profile: findings of filesystem days-until-full (HOST-CAP-001) and database growth
    (DB-CAP-001), and the metrics they add."""
    now = time.time() if now is None else now
    since = now - max(settings.history_days, 30.0) * DAY
    findings: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    by_key = {(m["name"], m.get("instance", "")): m for m in metrics}
    if category == "host":
        for (name, inst), m in sorted(by_key.items()):
            if name != "fs.used_bytes":
                continue
            size = by_key.get(("fs.size_bytes", inst))
            if not size:
                continue
            series = store.metric_series("fs.used_bytes", host=host, instance=inst, since=since)
            series = [(t, v) for t, v in series] + [(m["time"], m["value"])]
            rate = th.growth_per_day(series)
            days = th.days_until_full(series, size["value"], m["value"])
            if rate is not None and _span_days(series) >= 1.0:
                extra.append(_metric("fs.growth_bytes_per_day", rate, inst, m["time"]))
            if days is not None:
                extra.append(_metric("fs.days_to_full", days, inst, m["time"]))
            span = _span_days(series)
            if rate is None or span < 1.0:
                evidence = f"{inst} 历史不足（{len(series)} 个样本，跨度 {span:.1f} 天），暂不预测"
            elif days is None:
                evidence = f"{inst} 未增长（{_hb(rate)}/天，{len(series)} 个样本，{span:.0f} 天）"
            else:
                evidence = (f"{inst} 已用 {_hb(m['value'])} / {_hb(size['value'])}，按 {_hb(rate)}/天增长"
                            f"（{len(series)} 个样本，{span:.0f} 天）预计 {days:.0f} 天后写满")
            findings.append({"id": "HOST-CAP-001", "instance": inst, "value": None if days is None else round(days, 1),
                             "evidence": evidence})
    if category == "db":
        for (name, inst), m in sorted(by_key.items()):
            if name != "db.size_bytes":
                continue
            series = store.metric_series("db.size_bytes", host=host, instance=inst, since=since)
            series = [(t, v) for t, v in series] + [(m["time"], m["value"])]
            rate = th.growth_per_day(series)
            span = _span_days(series)
            if rate is None or span < 1.0:
                findings.append({"id": "DB-CAP-001", "instance": inst, "value": None,
                                 "evidence": f"数据库 {inst} 历史不足（{len(series)} 个样本，跨度 {span:.1f} 天），暂不计算增长"})
                continue
            pct_week = 100.0 * rate * 7 / m["value"] if m["value"] else 0.0
            extra.append(_metric("db.growth_bytes_per_day", rate, inst, m["time"]))
            findings.append({
                "id": "DB-CAP-001", "instance": inst, "value": round(pct_week, 2),
                "evidence": f"数据库 {inst} 大小 {_hb(m['value'])}，增长 {_hb(rate)}/天（每周 {pct_week:.1f}%，{span:.0f} 天历史）",
            })
    return findings, extra


def _metric(name: str, value: float, instance: str, when: float) -> dict[str, Any]:
    return {"name": name, "instance": instance, "value": round(float(value), 4), "time": when}


def _span_days(series: list[tuple[Any, float]]) -> float:
    if len(series) < 2:
        return 0.0
    ts = [th._dt(t).timestamp() for t, _ in series]
    return (max(ts) - min(ts)) / DAY


def _hb(num: float) -> str:
    num = float(num)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(num) < 1024:
            return f"{num:.1f} {unit}"
        num /= 1024.0
    return f"{num:.1f} TiB"


# -- pending updates: reuse the recorded answer while the package state is unchanged ----------

PKG_CHECKS = ("HOST-PKG-001", "HOST-PKG-002")
REPLAY_PREFIX = "软件包数据库与软件源索引自 "
PKG_METRICS = {"HOST-PKG-001": "pkg.pending", "HOST-PKG-002": "pkg.security_pending"}


def last_package_state(store: Any, host: str, max_age_days: float = 7.0,
                       now: float | None = None) -> tuple[str, list[Any], float] | None:
    """(fingerprint, recorded HOST-PKG checks, epoch) of the host's last inspection that ran the
    package manager; None when there is none usable."""
    now = time.time() if now is None else now
    rows = store.metrics(name="pkg.state_hash", host=host, since=now - max_age_days * DAY)
    for m in reversed(rows):
        checks = [c for c in store.checks(run_id=m.run_id, host=host, category="host") if c.id in PKG_CHECKS]
        first = [c for c in checks if c.id == "HOST-PKG-001"]
        if first and isinstance(first[0].value, (int, float)) and not isinstance(first[0].value, bool):
            return "%012x" % int(m.value), checks, m.time.timestamp()
    return None


def replay_package_findings(recorded: list[Any], when: float, now: float | None = None
                            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Findings of the recorded HOST-PKG checks (judged again with today's thresholds), and their metrics."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
    findings, metrics = [], []
    for c in recorded:
        numeric = isinstance(c.value, (int, float)) and not isinstance(c.value, bool)
        if numeric:
            metrics.append(_metric(PKG_METRICS[c.id], c.value, "", now))
        item = {"id": c.id, "instance": c.instance, "value": c.value,
                "evidence": c.evidence if c.evidence.startswith(REPLAY_PREFIX) else
                f"{REPLAY_PREFIX}{stamp} 的巡检以来未变化，沿用其结果：{c.evidence}"}
        if not numeric and c.status != "ok":
            item["outcome"] = "no_advisories" if c.id == "HOST-PKG-002" else "unknown"
        findings.append(item)
    return findings, metrics

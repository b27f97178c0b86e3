"""Controller-side evaluation of an inspection result against the journal's history.

Used by the action plugin of ``yunwei.ops.inspect`` (and of the single-area collectors):
after the module returns, its metrics are judged against baselines learned per host and
metric (:mod:`yunwei.thresholds`), which adds anomaly checks; with ``forecast`` (resources
profile) growth and days-until-full checks are added. When the history is missing, nothing is
added: the static limits of the module stand alone.

``store`` below is anything with the store's read methods used here: a
:class:`yunwei.store.Store` on the controller, or in Ansible's forked workers the
:class:`yunwei.inspection.history.HostHistory` prepared on the controller (a worker never opens a
store: docs/journal.md, "Fork safety").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from yunwei import thresholds as th

DAY = 86400.0


@dataclass(frozen=True)
class Watched:
    """A metric judged against its own history."""

    title: str
    direction: str  # high | low | both
    floor: float  # minimum spread, in the metric's unit
    suggestion: str


WATCHED: dict[str, Watched] = {
    "cpu.used_pct": Watched("CPU 使用率", "high", 5.0,
                            "CPU 使用率明显高于该时段常态：用 top/pidstat 找出新出现的高负载进程，核对是否有计划外任务或异常访问。"),
    "mem.used_pct": Watched("内存使用率", "high", 2.0,
                            "内存使用明显高于常态：检查是否有进程内存泄漏或新部署的服务（ps aux --sort=-rss）。"),
    "load.per_core": Watched("系统负载（每核）", "high", 0.2,
                             "负载明显高于常态：查看运行队列与 D 状态进程，核对计划任务与访问量。"),
    "fs.used_pct": Watched("文件系统使用率", "high", 2.0,
                           "文件系统使用率突增：找出近期新增的大文件（find -newer / du），确认是否日志暴涨或备份落盘异常。"),
    "disk.util_pct": Watched("磁盘繁忙度", "high", 5.0,
                             "磁盘繁忙度明显高于常态：用 iotop 找出 I/O 来源，错开批量任务。"),
    "net.rx_bps": Watched("网络接收流量", "both", 20480.0,
                          "接收流量偏离常态：核对访问量变化，排查攻击、爬虫或业务中断（流量骤降）。"),
    "net.tx_bps": Watched("网络发送流量", "both", 20480.0,
                          "发送流量偏离常态：核对是否有大文件下载、数据外传或业务中断（流量骤降）。"),
    "web.latency_ms": Watched("网站响应时间", "high", 20.0,
                              "响应时间明显慢于常态：检查上游应用、数据库慢查询与服务器负载。"),
    "web.errlog.lines": Watched("nginx 错误日志行数", "high", 3.0,
                                "错误日志数量明显多于常态：按最常见错误排查，确认是否有攻击扫描或配置变更。"),
    "db.connections": Watched("数据库连接数", "high", 5.0,
                              "数据库连接数明显高于常态：检查应用连接池与连接泄漏、是否有异常客户端。"),
    "db.errlog.lines": Watched("数据库错误日志行数", "high", 3.0,
                               "数据库报错数量明显多于常态：查看最常见报错，核对近期应用发布与权限变更。"),
}

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


def anomaly_checks(store: Any, host: str, category: str, metrics: list[dict[str, Any]],
                   settings: Settings, now: float | None = None) -> tuple[list[dict[str, Any]], int]:
    """Anomaly checks (status warn/crit only, plus ok rows for judged metrics) and the number judged."""
    now = time.time() if now is None else now
    since = now - settings.history_days * DAY
    checks: list[dict[str, Any]] = []
    judged = 0
    area = category.upper()
    for m in metrics:
        watch = WATCHED.get(m.get("name", ""))
        if watch is None:
            continue
        history = store.metric_series(m["name"], host=host, instance=m.get("instance", ""), since=since,
                                      until=float(m.get("time") or now) - 1.0)
        base = th.learn(history, m.get("time") or now, min_samples=settings.min_samples,
                        min_bucket=settings.min_bucket, tz=settings.tz)
        if base is None:
            continue
        judged += 1
        res = th.evaluate(float(m["value"]), base, warn_z=settings.warn_z, crit_z=settings.crit_z,
                          floor=watch.floor, direction=watch.direction)
        if res.status == "ok":
            continue
        inst = m["name"] + (f"[{m['instance']}]" if m.get("instance") else "")
        unit = m.get("unit", "")
        checks.append({
            "id": f"{area}-ANOM-001",
            "category": category,
            "title": f"指标偏离动态基线：{watch.title}",
            "instance": inst,
            "status": res.status,
            "value": round(res.value, 2),
            "unit": unit,
            "threshold": {
                "baseline": round(base.median, 3), "mad": round(base.mad, 3), "samples": base.n,
                "scope": base.scope, "deviation": round(res.deviation, 2),
                "warn_z": settings.warn_z, "crit_z": settings.crit_z,
                "normal_low": round(res.low, 3), "normal_high": round(res.high, 3),
            },
            "evidence": (f"{inst} 当前 {res.value:.2f}{unit}，基线中位数 {base.median:.2f}{unit}"
                         f"（{'同一星期时段' if base.scope == 'hour-of-week' else '全部历史'} {base.n} 个样本，"
                         f"MAD {base.mad:.2f}），偏离 {res.deviation:+.1f} 个稳健标准差，"
                         f"常态范围 {res.low:.2f}–{res.high:.2f}"),
            "suggestion": watch.suggestion,
        })
    return checks, judged


def forecast_checks(store: Any, host: str, category: str, metrics: list[dict[str, Any]],
                    thresholds: dict[str, Any] | None, settings: Settings, judge: Callable[..., Any],
                    now: float | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Resources profile: filesystem days-until-full (HOST-CAP-001) and database growth (DB-CAP-001).

    ``judge(value, key, thresholds) -> (status, limits)`` is the collection's static judge.
    """
    now = time.time() if now is None else now
    since = now - max(settings.history_days, 30.0) * DAY
    checks: list[dict[str, Any]] = []
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
                extra.append(_metric("fs.growth_bytes_per_day", rate, "B/d", inst, m["time"]))
            if days is not None:
                extra.append(_metric("fs.days_to_full", days, "d", inst, m["time"]))
            status, limits = judge(days, "fs_days_full", thresholds) if days is not None else ("ok", judge(None, "fs_days_full", thresholds)[1])
            span = _span_days(series)
            if rate is None or span < 1.0:
                evidence = f"{inst} 历史不足（{len(series)} 个样本，跨度 {span:.1f} 天），暂不预测"
            elif days is None:
                evidence = f"{inst} 未增长（{_hb(rate)}/天，{len(series)} 个样本，{span:.0f} 天）"
            else:
                evidence = (f"{inst} 已用 {_hb(m['value'])} / {_hb(size['value'])}，按 {_hb(rate)}/天增长"
                            f"（{len(series)} 个样本，{span:.0f} 天）预计 {days:.0f} 天后写满")
            checks.append({
                "id": "HOST-CAP-001", "category": "host", "title": "文件系统容量预测", "instance": inst,
                "status": status, "value": None if days is None else round(days, 1), "unit": "d",
                "threshold": limits, "evidence": evidence,
                "suggestion": "" if status == "ok" else
                f"{inst} 将在 {days:.0f} 天内写满：清理历史数据或制定扩容计划，确认增长来源（日志、备份、业务数据）。",
            })
    if category == "db":
        for (name, inst), m in sorted(by_key.items()):
            if name != "db.size_bytes":
                continue
            series = store.metric_series("db.size_bytes", host=host, instance=inst, since=since)
            series = [(t, v) for t, v in series] + [(m["time"], m["value"])]
            rate = th.growth_per_day(series)
            span = _span_days(series)
            if rate is None or span < 1.0:
                checks.append({
                    "id": "DB-CAP-001", "category": "db", "title": "数据库增长", "instance": inst, "status": "ok",
                    "value": None, "unit": "%", "threshold": judge(None, "db_growth_pct_week", thresholds)[1],
                    "evidence": f"数据库 {inst} 历史不足（{len(series)} 个样本，跨度 {span:.1f} 天），暂不计算增长",
                    "suggestion": ""})
                continue
            pct_week = 100.0 * rate * 7 / m["value"] if m["value"] else 0.0
            extra.append(_metric("db.growth_bytes_per_day", rate, "B/d", inst, m["time"]))
            status, limits = judge(pct_week, "db_growth_pct_week", thresholds)
            checks.append({
                "id": "DB-CAP-001", "category": "db", "title": "数据库增长", "instance": inst, "status": status,
                "value": round(pct_week, 2), "unit": "%", "threshold": limits,
                "evidence": f"数据库 {inst} 大小 {_hb(m['value'])}，增长 {_hb(rate)}/天（每周 {pct_week:.1f}%，{span:.0f} 天历史）",
                "suggestion": "" if status == "ok" else
                "数据库增长过快：找出增长最快的表（pg_total_relation_size），核对归档/清理策略与业务量，规划存储扩容。",
            })
    return checks, extra


def _metric(name: str, value: float, unit: str, instance: str, when: float) -> dict[str, Any]:
    return {"name": name, "instance": instance, "value": round(float(value), 4), "unit": unit, "time": when}


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

PKG_CHECKS = {"HOST-PKG-001": "pending_updates", "HOST-PKG-002": "pending_security"}
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


def replay_package_checks(recorded: list[Any], when: float, thresholds: dict[str, Any] | None,
                          judge: Callable[..., Any], now: float | None = None
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Recorded HOST-PKG checks re-judged with today's thresholds, and their metrics."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(when))
    checks, metrics = [], []
    for c in recorded:
        status, limits = c.status, c.threshold
        if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
            status, limits = judge(c.value, PKG_CHECKS[c.id], thresholds)
            metrics.append(_metric(PKG_METRICS[c.id], c.value, "", "", now))
        checks.append({
            "id": c.id, "category": "host", "title": c.title, "instance": c.instance, "status": status,
            "value": c.value, "unit": c.unit, "threshold": limits,
            "evidence": c.evidence if c.evidence.startswith(REPLAY_PREFIX) else
            f"{REPLAY_PREFIX}{stamp} 的巡检以来未变化，沿用其结果：{c.evidence}",
            "suggestion": c.suggestion if status != "ok" else "",
        })
    return checks, metrics

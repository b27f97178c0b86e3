"""The health score (健康评分) printed on the daily, monthly and summary reports.

Formula (documented in docs/reports.md, "How the figures are computed"):

* A *check item* is one (host, check id, object). Over the day, each item takes its **worst**
  recorded status. Items that follow from a root cause on the same host and run (analysis.CAUSES:
  nginx stopped -> its port and HTTP probes) are not counted again: only the cause is.
* Host score = max(0, 100 - 20 x crit causes - 5 x warn causes); an **unreachable** host scores 0
  (nothing about it is known: it never scores better than a degraded one).
* Day score = mean of the host scores, then capped: any crit -> at most 89 (不高于“一般”);
  the website or the database unavailable, or a host unreachable -> at most 74 (不高于“较差”).
* Period score (month, quarter, year) = mean of the day scores, capped by the lowest cap that
  applied on at least 10 % of its days with data, and at most 89 when any day had a service
  unavailable.
* Grade: >= 90 良好, >= 75 一般, >= 60 较差, below 60 危险. No check results: no score (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

CRIT_PENALTY = 20
WARN_PENALTY = 5
GRADES = ((90.0, "良好", "ok"), (75.0, "一般", "warn"), (60.0, "较差", "warn"), (0.0, "危险", "crit"))
CAP_CRIT = 89.0
CAP_SERVICE = 74.0
PERIOD_CAP_SHARE = 0.10


def host_score(statuses: Iterable[str], *, unreachable: bool = False) -> float:
    """Score of one host from the worst status of each of its (cause) check items."""
    if unreachable:
        return 0.0
    crit = warn = 0
    for s in statuses:
        if s == "crit":
            crit += 1
        elif s == "warn":
            warn += 1
    return float(max(0, 100 - CRIT_PENALTY * crit - WARN_PENALTY * warn))


def overall_score(host_scores: Mapping[str, float]) -> float | None:
    if not host_scores:
        return None
    return round(sum(host_scores.values()) / len(host_scores), 1)


def grade(score: float | None) -> tuple[str, str | None]:
    """(Chinese grade, status colour key) for a score; ("无数据", None) without one."""
    if score is None:
        return "无数据", None
    for floor, label, status in GRADES:
        if score >= floor:
            return label, status
    return GRADES[-1][1], GRADES[-1][2]


@dataclass
class DayScore:
    score: float | None
    raw: float | None                   # mean of the host scores before any cap
    cap: float | None = None
    reasons: list[str] = field(default_factory=list)
    service_down: bool = False

    @property
    def grade(self) -> tuple[str, str | None]:
        return grade(self.score)


def day_score(host_scores: Mapping[str, float], *, any_crit: bool, services_down: Sequence[str] = (),
              unreachable: Sequence[str] = ()) -> DayScore:
    raw = overall_score(host_scores)
    if raw is None:
        return DayScore(None, None)
    cap, reasons = None, []
    if services_down or unreachable:
        cap = CAP_SERVICE
        if services_down:
            reasons.append(f"{'、'.join(services_down)}曾不可用")
        if unreachable:
            reasons.append(f"主机 {'、'.join(unreachable)} 不可达")
    elif any_crit:
        cap = CAP_CRIT
        reasons.append("存在严重问题")
    score = min(raw, cap) if cap is not None else raw
    return DayScore(round(score, 1), raw, cap, reasons, bool(services_down))


def period_score(days: Sequence[DayScore]) -> DayScore:
    scored = [d for d in days if d.score is not None]
    if not scored:
        return DayScore(None, None)
    raw = round(sum(d.score for d in scored) / len(scored), 1)  # type: ignore[misc]
    cap, reasons = None, []
    for level in (CAP_SERVICE, CAP_CRIT):
        n = sum(1 for d in scored if d.cap is not None and d.cap <= level)
        if n and n >= PERIOD_CAP_SHARE * len(scored):
            cap = level
            reasons.append(f"{n} 天{'存在服务不可用或主机不可达' if level == CAP_SERVICE else '存在严重问题'}"
                           f"（占有数据天数的 {round(100 * n / len(scored))}%）")
            break
    outage_days = sum(1 for d in scored if d.service_down)
    if outage_days and (cap is None or cap > CAP_CRIT):
        cap = CAP_CRIT
        reasons.append(f"{outage_days} 天网站或数据库曾不可用")
    score = min(raw, cap) if cap is not None else raw
    return DayScore(round(score, 1), raw, cap, reasons, outage_days > 0)


def method_text() -> str:
    return (f"评分方法：每个检查项取当日最差状态；同一主机同一次巡检中由同一根因引起的检查项只按根因计一次。"
            f"每台主机 100 分，每个严重项扣 {CRIT_PENALTY} 分、每个警告项扣 {WARN_PENALTY} 分，主机不可达计 0 分；"
            f"总分为各主机得分的平均值。存在严重问题时总分不高于 {int(CAP_CRIT)} 分；网站或数据库不可用、"
            f"或有主机不可达时不高于 {int(CAP_SERVICE)} 分。评级：≥ 90 良好，≥ 75 一般，≥ 60 较差，其余为危险。")

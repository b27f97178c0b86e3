"""The health score (健康评分) printed on the daily, monthly and summary reports.

Formula (documented in docs/reports.md):

* A *check item* is one (host, check id, instance). Over the period, each item takes its
  **worst** status among all recorded results (ok < warn < crit).
* Host score = max(0, 100 - 20 x crit items - 5 x warn items).
* Overall score = the mean of the host scores, rounded to one decimal.
* Grade: >= 90 良好 (green), >= 75 一般 (yellow), >= 60 较差 (orange), below 60 危险 (red).
* No check results in the period: no score (``None``) - never an invented number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CRIT_PENALTY = 20
WARN_PENALTY = 5
GRADES = ((90.0, "良好", "ok"), (75.0, "一般", "warn"), (60.0, "较差", "warn"), (0.0, "危险", "crit"))


def host_score(statuses: Iterable[str]) -> float:
    """Score of one host from the worst status of each of its check items."""
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

"""Judging: what a collector found -> the checks of docs/data-model.md, from the catalogue.

Collectors on the hosts compute values; everything the client reads about a check - its status,
title, unit, the threshold it was judged against and the 处理建议 - comes from here, on the
controller (the action plugin of ``yunwei.ops.inspect`` calls :func:`judge_result`). A finding:

    {"id": "HOST-FS-001", "instance": "/srv/data", "value": 87.5, "evidence": "...",
     "outcome": "...",            # optional: a named outcome of the check's catalogue entry
     "measured": {"key": value},  # optional: values per threshold key (default: value); only the
                                  # thresholds it names are judged and shown
     "limits": {...},             # optional: what it was compared with, when not a threshold
     "vars": {...},               # optional: values the 处理建议 template names
     "metric": "cpu.used_pct"}    # anomaly checks: the metric that deviates

Status = the worst of the thresholds' verdicts on the measured values and the outcome's status
(the kind's first status when neither applies). The suggestion is empty when the status is good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from yunwei.catalogue import Catalogue, CheckDef, Threshold, catalogue

UNKNOWN_SUGGESTION = "该检查项不在本机 yunwei 包的检查目录中：将 yunwei 包与 yunwei.ops 集合升级到同一版本后重新巡检。"


def _tidy(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() else value


def limits(t: Threshold, overrides: Mapping[str, Any] | None = None) -> dict[str, float | int]:
    """The effective {warn, crit} of threshold ``t``: an override of either limit over the default."""
    given = (overrides or {}).get(t.key) or {}
    warn = given.get("warn") if isinstance(given, dict) and given.get("warn") is not None else t.warn
    crit = given.get("crit") if isinstance(given, dict) and given.get("crit") is not None else t.crit
    return {"warn": _tidy(warn), "crit": _tidy(crit)}


def level(value: Any, t: Threshold, overrides: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """(status, limits) of ``value`` against threshold ``t``; 'ok' for a value that is not a number."""
    lim = limits(t, overrides)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "ok", lim
    if t.direction == "high":
        status = "crit" if value >= lim["crit"] else "warn" if value >= lim["warn"] else "ok"
    else:
        status = "crit" if value <= lim["crit"] else "warn" if value <= lim["warn"] else "ok"
    return status, lim


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def _suggestion(template: str, finding: Mapping[str, Any], unit: str) -> str:
    fields = {"instance": finding.get("instance") or "", "value": finding.get("value"), "unit": unit,
              **(finding.get("vars") or {})}
    try:
        return template.format(**fields)
    except (KeyError, ValueError, TypeError, IndexError):  # e.g. {value:.0f} of a value that is not a number
        return template.replace("{instance}", str(fields["instance"]))


def check(finding: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
          cat: Catalogue | None = None) -> dict[str, Any]:
    """The check (docs/data-model.md) of one finding."""
    cat = cat or catalogue()
    cid = str(finding.get("id") or "")
    entry: CheckDef | None = cat.checks.get(cid)
    value = _round(finding.get("value"))
    if entry is None:
        prefix = cid.split("-", 1)[0]
        area = next((a for a, info in cat.areas.items() if info["prefix"] == prefix), prefix.lower())
        return {"id": cid, "category": area, "title": cid, "instance": finding.get("instance") or "", "status": "warn",
                "value": value, "unit": "", "threshold": "", "evidence": str(finding.get("evidence") or ""),
                "suggestion": UNKNOWN_SUGGESTION}
    statuses = cat.kind_statuses(entry.kind)
    status = statuses[0]
    outcome = entry.outcomes.get(finding.get("outcome") or "")
    if finding.get("outcome") and outcome is None:
        status = "warn" if "warn" in statuses else statuses[-1]
    measured = finding.get("measured")
    if measured is None and len(entry.thresholds) == 1:
        measured = {entry.thresholds[0].key: value}
    judged: dict[str, Any] = {}
    for t in entry.thresholds:
        if measured is not None and t.key not in measured:
            continue  # a threshold the finding does not measure (e.g. another backup tier's)
        st, lim = level((measured or {}).get(t.key), t, overrides)
        judged[t.key] = lim
        status = cat.worst(status, st)
    by_outcome = bool(outcome and outcome.status)
    if by_outcome:
        status = cat.worst(status, outcome.status)
    if "limits" in finding:
        threshold: Any = finding["limits"]
    elif len(judged) == 1:
        threshold = next(iter(judged.values()))
    elif judged:
        threshold = judged
    else:
        threshold = entry.rule
    title, unit, template = entry.title, entry.unit, entry.suggestion
    metric = cat.metrics.get(str(finding.get("metric") or ""))
    if entry.anomaly and metric is not None:
        title, unit = f"{entry.title}：{metric.title}", metric.unit
        template = metric.baseline_suggestion or template
    # the outcome's own suggestion when it decided the status (or the thresholds judge and it names the case)
    if outcome and outcome.suggestion and (not outcome.status or cat.rank(outcome.status) >= cat.rank(status)):
        template = outcome.suggestion
    good = cat.rank(status) <= 0
    return {
        "id": cid, "category": entry.area, "title": title, "instance": finding.get("instance") or "",
        "status": status, "value": value, "unit": unit, "threshold": threshold,
        "evidence": str(finding.get("evidence") or ""),
        "suggestion": "" if good else _suggestion(template, finding, unit),
    }


def judge(findings: Iterable[Mapping[str, Any]], overrides: Mapping[str, Any] | None = None,
          disabled: Iterable[str] = (), cat: Catalogue | None = None) -> list[dict[str, Any]]:
    """Checks of ``findings``, without those switched off (``disabled`` check ids), sorted by id and instance."""
    cat = cat or catalogue()
    off = set(disabled or ())
    out = [check(f, overrides, cat) for f in findings if f.get("id") not in off]
    out.sort(key=lambda c: (c["id"], c["instance"]))
    return out


def summary(checks: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Checks per status (ok, warn and crit always present)."""
    counts = {"ok": 0, "warn": 0, "crit": 0}
    for c in checks:
        counts[c.get("status", "ok")] = counts.get(c.get("status", "ok"), 0) + 1
    return counts


def metrics_with_units(metrics: Iterable[Mapping[str, Any]], cat: Catalogue | None = None) -> list[dict[str, Any]]:
    """Metric samples with the unit the catalogue gives their name."""
    cat = cat or catalogue()
    out = []
    for m in metrics:
        spec = cat.metrics.get(str(m.get("name")))
        out.append(dict(m, unit=spec.unit if spec is not None else str(m.get("unit") or "")))
    return out


def judge_result(result: dict[str, Any], overrides: Mapping[str, Any] | None = None, disabled: Iterable[str] = (),
                 cat: Catalogue | None = None) -> dict[str, Any]:
    """A module result with ``findings`` -> with ``checks``, units on ``metrics``, ``summary`` and per-area counts."""
    cat = cat or catalogue()
    found = result.pop("findings", None) or []
    result["checks"] = judge(found, overrides, disabled, cat)
    result["metrics"] = metrics_with_units(result.get("metrics") or [], cat)
    result["summary"] = summary(result["checks"])
    areas = result.get("areas")
    if isinstance(areas, dict):
        for area, info in areas.items():
            info.update(summary(c for c in result["checks"] if c["category"] == area))
    return result

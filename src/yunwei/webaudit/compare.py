"""Before and after: a web audit's metrics against an earlier audit (the previous one, or the baseline
audit at the start of the service), per page, form factor and metric.

A regression is a change for the worse beyond the threshold of its kind (``web_audit_regression``):
score points for the Lighthouse scores, percent for times and bytes, absolute for CLS. The defaults
are set from the run-to-run variance measured in bench/web_audit.py (bench/README.md): a smaller
change cannot be told from noise on the lab machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yunwei.catalogue import catalogue

# metric -> (threshold key, direction: +1 higher is worse, -1 lower is worse)
WATCHED: dict[str, tuple[str, int]] = {
    "webq.score.performance": ("score", -1),
    "webq.score.accessibility": ("score", -1),
    "webq.score.best_practices": ("score", -1),
    "webq.score.seo": ("score", -1),
    "webq.lcp_ms": ("time_pct", 1),
    "webq.fcp_ms": ("time_pct", 1),
    "webq.tbt_ms": ("time_pct", 1),
    "webq.si_ms": ("time_pct", 1),
    "webq.total_bytes": ("bytes_pct", 1),
    "webq.cls": ("cls", 1),
}
DEFAULTS: dict[str, float] = {"score": 10.0, "time_pct": 25.0, "bytes_pct": 10.0, "cls": 0.05}
# times under this many ms are not judged in percent (a 30 ms TBT doubling is noise)
TIME_FLOOR_MS = 100.0


def _change(kind: str, before: float, after: float) -> tuple[float, str]:
    """(amount for the worse in the threshold's unit, printed change)."""
    if kind in ("score", "cls"):
        return after - before, f"{before:g} → {after:g}"
    pct = (after - before) / before * 100.0 if before else (100.0 if after else 0.0)
    return pct, f"{before:,.0f} → {after:,.0f}（{pct:+.0f}%）"


def regressions(before: Mapping[tuple[str, str], float], after: Mapping[tuple[str, str], float],
                against: str, limits: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """Findings WEBQ-REG-001 (docs/data-model.md) for each (metric, instance) worse in ``after`` than in
    ``before`` beyond its limit; ``against`` names the earlier audit in the 处理建议 (上次审计, 基线审计)."""
    lim = {**DEFAULTS, **(limits or {})}
    titles = {name: m.title for name, m in catalogue().metrics.items()}
    out = []
    for (name, instance), new in sorted(after.items()):
        if name not in WATCHED or (name, instance) not in before:
            continue
        kind, sign = WATCHED[name]
        old = before[(name, instance)]
        if kind == "time_pct" and max(old, new) < TIME_FLOOR_MS:
            continue
        amount, text = _change(kind, old, new)
        if amount * sign >= lim[kind] and amount != 0:
            out.append({"id": "WEBQ-REG-001", "instance": f"{instance} {name}", "value": round(new, 3),
                        "evidence": f"{instance}：{titles[name]} {text}（阈值 {lim[kind]:g}{'%' if kind.endswith('pct') else ''}）",
                        "outcome": "regressed", "vars": {"against": against, "change": text},
                        "metric": name, "metric_title": titles[name], "page": instance, "before": old, "after": new})
    return out


def job_regressions(series: Mapping[tuple[str, str], list[tuple[float, float]]], metrics: list[dict[str, Any]],
                    limits: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """The job's own WEBQ-REG-001 findings: this audit's ``metrics`` against the journal's series of the
    same host (prepared on the controller: yunwei.inspection.history), i.e. the previous audit (each
    series' last sample) and the baseline audit (its first sample, when older than the previous)."""
    after = {(m["name"], m["instance"]): m["value"] for m in metrics if m.get("name") in WATCHED}
    watched = {k: pts for k, pts in series.items() if k[0] in WATCHED and pts}
    previous = {k: pts[-1][1] for k, pts in watched.items()}
    baseline = {k: pts[0][1] for k, pts in watched.items() if len(pts) > 1}
    out = []
    for against, before in (("上次审计", previous), ("基线审计", baseline)):
        for r in regressions(before, after, against, limits):
            out.append({k: r[k] for k in ("id", "value", "evidence", "outcome", "vars")}
                       | {"instance": f"{r['instance']}（{against}）"})
    return out

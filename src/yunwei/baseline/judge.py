"""Baseline verdicts -> checks (docs/data-model.md) with waivers, and the pass rates per host and clause.

Status of a rule on a host:

- ``pass`` / ``fail`` / ``not-applicable`` (with the reason) / ``manual`` from the rule's verdict;
- ``waived`` when it failed (or needs a manual check) and an approved waiver covers the rule and the
  host and has not expired; an **expired** waiver never waives: the rule stays ``fail`` and the check's
  evidence, the result's ``waivers`` and the report say it expired and when.

Pass rate = passed ÷ (passed + failed) of the automated rules; waived, not-applicable and manual rules
are counted apart and never raise it. Per clause: the rules naming a GB/T 22239 8.1.4 clause
(8.1.4.1 身份鉴别 … 8.1.4.11), a rule naming two clauses counting in both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from yunwei.baseline.rules import Finding
from yunwei.baseline.waivers import Waiver
from yunwei.catalogue import Catalogue, catalogue

STATUS = {"pass": "pass", "fail": "fail", "not_applicable": "not-applicable", "manual": "manual"}
CLAUSE_TITLES = {
    "8.1.4.1": "身份鉴别", "8.1.4.2": "访问控制", "8.1.4.3": "安全审计", "8.1.4.4": "入侵防范",
    "8.1.4.5": "恶意代码防范", "8.1.4.6": "可信验证", "8.1.4.7": "数据完整性", "8.1.4.8": "数据保密性",
    "8.1.4.9": "数据备份恢复", "8.1.4.10": "剩余信息保护", "8.1.4.11": "个人信息保护",
}


def clause_of(control: str) -> str:
    """gb22239:8.1.4.1-a -> 8.1.4.1"""
    return control.split(":", 1)[1].rsplit("-", 1)[0]


def clauses(controls: Iterable[str]) -> list[str]:
    return sorted({clause_of(c) for c in controls if c.startswith("gb22239:8.1.4.")}, key=_clause_key)


def _clause_key(clause: str) -> tuple[int, ...]:
    return tuple(int(x) for x in clause.split("."))


def test_items(controls: Iterable[str]) -> list[str]:
    return [c.split(":", 1)[1] for c in controls if c.startswith("gb28448:")]


def rule_text(template: str, params: dict[str, float]) -> str:
    try:
        return template.format(**{k: _num(v) for k, v in params.items()})
    except (KeyError, ValueError, IndexError):
        return template


def _num(v: float) -> Any:
    return int(v) if float(v).is_integer() else v


def judge(findings: list[Finding], host: str, *, params: dict[str, float], waivers: list[Waiver] = (),
          today: dt.date | None = None, cat: Catalogue | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(checks, waivers as applied on this host: [{...waiver, state: active|expired|unused}])."""
    cat = cat or catalogue()
    today = today or dt.date.today()
    checks, applied = [], []
    for f in findings:
        entry = cat.checks[f["id"]]
        status = STATUS[f["outcome"]]
        evidence = str(f.get("evidence") or "")
        if entry.manual:
            evidence = f"{evidence}；需收集：{entry.evidence}" if evidence and evidence != "需人工核查" else f"需收集：{entry.evidence}"
        waiver_note = ""
        for w in (w for w in waivers if w.matches(f["id"], host)):
            expired = w.expired(today)
            state = "expired" if expired else ("active" if status in ("fail", "manual") else "unused")
            applied.append({**w.as_dict(), "state": state, "status": status})
            if expired:
                waiver_note = f"豁免 {w.id} 已于 {w.expires} 到期（审批人 {w.approver}），不再豁免"
            elif status in ("fail", "manual"):
                waiver_note = f"已豁免：{w.id}，审批人 {w.approver}，有效期至 {w.expires}，理由：{w.justification}"
                status = "waived"
            break
        if waiver_note:
            evidence = f"{evidence}；{waiver_note}" if evidence else waiver_note
        params = {**{k: v["default"] for k, v in cat.params().items()}, **params}
        suggestion = ""
        if status == "fail" or status == "manual":
            suggestion = rule_text(entry.suggestion, params)
            if status == "manual" and not entry.manual:
                suggestion = f"自动核查未能完成，请人工核查后处理：{suggestion}"
        checks.append({
            "id": f["id"], "category": entry.area, "title": entry.title, "instance": "", "status": status,
            "value": f.get("value"), "unit": "", "threshold": rule_text(entry.rule, params), "evidence": evidence[:1500],
            "suggestion": suggestion,
        })
    return checks, applied


def _rate(counts: dict[str, int]) -> float | None:
    judged = counts.get("pass", 0) + counts.get("fail", 0)
    return round(100.0 * counts.get("pass", 0) / judged, 1) if judged else None


def tally(checks: Iterable[dict[str, Any]], cat: Catalogue | None = None) -> dict[str, Any]:
    """{counts, pass_pct, clauses: {8.1.4.1: {title, counts, pass_pct}}} of one host's checks."""
    cat = cat or catalogue()
    counts: dict[str, int] = {s: 0 for s in ("pass", "fail", "waived", "manual", "not-applicable")}
    by_clause: dict[str, dict[str, int]] = {}
    for c in checks:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
        entry = cat.checks.get(c["id"])
        for clause in clauses(entry.controls if entry else ()):
            slot = by_clause.setdefault(clause, {s: 0 for s in counts})
            slot[c["status"]] = slot.get(c["status"], 0) + 1
    return {"counts": counts, "pass_pct": _rate(counts),
            "clauses": {k: {"title": CLAUSE_TITLES.get(k, k), "counts": v, "pass_pct": _rate(v)}
                        for k, v in sorted(by_clause.items(), key=lambda kv: _clause_key(kv[0]))}}


def metrics(score: dict[str, Any], when: float) -> list[dict[str, Any]]:
    """The journal's metrics of a host's score: baseline.pass_pct for the host ('') and per clause."""
    out = []
    if score["pass_pct"] is not None:
        out.append({"name": "baseline.pass_pct", "instance": "", "value": score["pass_pct"], "unit": "%", "time": when})
    for clause, info in score["clauses"].items():
        if info["pass_pct"] is not None:
            out.append({"name": "baseline.pass_pct", "instance": clause, "value": info["pass_pct"], "unit": "%",
                        "time": when})
    return out


def to_fix(findings: list[Finding], checks: list[dict[str, Any]], cat: Catalogue | None = None) -> dict[str, Any]:
    """What enforce remediates on this host: {rule id: data} of the failed rules that enforce can fix
    (waived ones are left alone), plus the failed ones it cannot (a person must)."""
    cat = cat or catalogue()
    status = {c["id"]: c["status"] for c in checks}
    fix, person = {}, []
    for f in findings:
        if status.get(f["id"]) != "fail":
            continue
        if cat.checks[f["id"]].enforce:
            fix[f["id"]] = f.get("data") or {}
        else:
            person.append(f["id"])
    return {"rules": fix, "manual": person}

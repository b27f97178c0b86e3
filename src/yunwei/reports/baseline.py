"""《安全基线核查报告》 and the semi-annual obligation of the monthly/annual reports.

The data is the journal of the job ``baseline-audit`` (docs/baseline.md): the checks the audit recorded
(status pass/fail/manual/waived/not-applicable, evidence, remediation) and, from the audit task's
result, the waivers as they were applied (active, expired, unused). The report never judges a rule
again; it counts and groups what the audit recorded.

``--date D`` reports the last completed audit that started on or before the end of day D, compared
with the completed audit before it ("what changed since the previous check").
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Any

from yunwei.reports import humanise as hz
from yunwei.reports.assemble import period_info, signoff
from yunwei.reports.contract import Contract
from yunwei.reports.document import _doc, _h, _p, _table, _v
from yunwei.reports.periods import Period
from yunwei.reports.plan import Plan

JOB = "baseline-audit"
AUDIT_ACTION = "yunwei.ops.baseline_audit"
STATUS_LABEL = {"pass": "符合", "fail": "不符合", "waived": "已豁免", "manual": "人工核查", "not-applicable": "不适用"}
STATUS_ORDER = ("pass", "fail", "waived", "manual", "not-applicable")
WAIVER_STATE = {"active": "有效（已豁免）", "expired": "已过期（按不符合计）", "unused": "有效（规则已符合，未使用）"}
DEFAULT_MONTHS = 6


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day: 08-31 + 6 -> 02-28)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _audits(store: Any, until: datetime, limit: int = 2) -> list[Any]:
    """The last completed audits (status ok) started before ``until`` that recorded checks, newest first."""
    out = []
    for run in store.list_runs(job=JOB, until=until, status="ok"):
        if store.checks(run_id=run.id):
            out.append(run)
            if len(out) == limit:
                break
    return out


def last_check(store: Any, until: datetime, tz: Any, months: int = DEFAULT_MONTHS) -> dict[str, Any]:
    """When the semi-annual check last ran (before ``until``) and when the next one is due."""
    runs = _audits(store, until, limit=1)
    if not runs:
        return {"last": None, "next_due": None, "overdue": None, "pass_pct": None, "months": months,
                "text": f"尚无安全基线核查记录：合同要求每 {months} 个月核查 1 次，应尽快执行（yunwei run baseline-audit）。"}
    run = runs[0]
    day = run.started_at.astimezone(tz).date()
    due = add_months(day, months)
    ref = until.astimezone(tz).date()
    overdue = ref > due
    rates = _host_rates(store.checks(run_id=run.id))
    pct = round(sum(rates.values()) / len(rates), 1) if rates else None
    text = (f"上次安全基线核查于 {day.isoformat()} 完成（{len(rates)} 台主机，平均符合率 {_v(pct, '%')}），"
            f"按每 {months} 个月 1 次，下次应于 {due.isoformat()} 前完成" + ("，已超期，须尽快补做。" if overdue else "。"))
    return {"last": day.isoformat(), "next_due": due.isoformat(), "overdue": overdue, "pass_pct": pct,
            "months": months, "text": text}


def _host_rates(checks: list[Any]) -> dict[str, float]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in checks:
        if c.status in ("pass", "fail"):
            counts[c.host][0 if c.status == "pass" else 1] += 1
    return {h: round(100.0 * p / (p + f), 1) for h, (p, f) in counts.items() if p + f}


def _rate(counts: dict[str, int]) -> float | None:
    judged = counts["pass"] + counts["fail"]
    return round(100.0 * counts["pass"] / judged, 1) if judged else None


def _rule_meta(cat: Any, rule: str) -> dict[str, Any]:
    from yunwei.baseline.judge import CLAUSE_TITLES, clauses, test_items

    entry = cat.checks.get(rule)
    if entry is None:  # a rule the catalogue no longer has: keep what the journal recorded
        return {"items": "—", "clauses": [], "clause_text": "—", "severity": "—"}
    cl = clauses(entry.controls)
    return {"items": "、".join(test_items(entry.controls)) or "—", "clauses": cl,
            "clause_text": "、".join(f"{c} {CLAUSE_TITLES.get(c, '')}".strip() for c in cl) or "—",
            "severity": cat.severities.get(entry.severity, {}).get("label", entry.severity or "—")}


def _waivers(store: Any, run_id: str) -> list[dict[str, Any]]:
    """The waivers as the audit applied them, one row per waiver and host (from the audit task's result)."""
    rows = []
    for t in store.task_results(run_id):
        if t.action != AUDIT_ACTION:
            continue
        for w in ((t.result or {}).get("baseline") or {}).get("waivers") or []:
            rows.append({**w, "host": t.host})
    return sorted(rows, key=lambda w: (w.get("state") != "expired", w.get("rule", ""), w.get("host", "")))


def report(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    """The assembled data of 《安全基线核查报告》 for the last audit on or before ``period``'s end."""
    from yunwei.catalogue import catalogue

    cat = catalogue()
    now = now or datetime.now(timezone.utc)
    until = min(period.until, now)
    months = int(plan.contract.obligations.get("baseline_check_months", DEFAULT_MONTHS) or DEFAULT_MONTHS)
    runs = _audits(store, until)
    data: dict[str, Any] = {"kind": "baseline", "title": "安全基线核查报告", "period": period_info(period),
                            "empty": not runs, "months": months}
    data["signoff"] = signoff(plan.contract, "baseline", [r.operator for r in runs[:1]], period.last, now, period.tz)
    if not runs:
        data["status"] = last_check(store, until, period.tz, months)
        return data
    run, prev = runs[0], (runs[1] if len(runs) > 1 else None)
    checks = store.checks(run_id=run.id)
    hosts = sorted({c.host for c in checks})
    per_host: dict[str, dict[str, int]] = {h: dict.fromkeys(STATUS_ORDER, 0) for h in hosts}
    per_clause: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUS_ORDER, 0))
    clause_all: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUS_ORDER, 0))
    grouped: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for c in checks:
        status = c.status if c.status in STATUS_ORDER else "manual"
        per_host[c.host][status] += 1
        for clause in _rule_meta(cat, c.id)["clauses"]:
            per_clause[(c.host, clause)][status] += 1
            clause_all[clause][status] += 1
        grouped[status][c.id].append(c)
    from yunwei.baseline.judge import CLAUSE_TITLES

    clause_keys = sorted(clause_all, key=lambda k: tuple(int(x) for x in k.split(".")))

    def hosts_text(names: list[str]) -> str:
        return f"全部 {len(hosts)} 台" if len(names) == len(hosts) > 2 else "、".join(names)

    def rows_of(status: str) -> list[dict[str, Any]]:
        out = []
        for rule, cs in sorted(grouped[status].items()):
            meta = _rule_meta(cat, rule)
            out.append({"rule": rule, "title": cs[0].title, **meta, "hosts": sorted(c.host for c in cs),
                        "suggestion": hz.client_text(cs[0].suggestion), "suggestion_full": cs[0].suggestion,
                        "hosts_text": hosts_text(sorted(c.host for c in cs)),
                        "evidence": [(c.host, c.evidence) for c in cs], "rule_text": str(cs[0].threshold or "")})
        return out

    data.update({
        "run": {"id": run.id, "started": hz.local_time(run.started_at, period.tz, "%Y-%m-%d %H:%M"),
                "operator": plan.contract.person(run.operator) if plan.contract.known(run.operator) else
                f"{run.operator}（未登记账号）" if run.operator else "—", "check_mode": run.check_mode},
        "hosts": [{"host": h, **per_host[h], "pass_pct": _rate(per_host[h]),
                   "clauses": {k: _rate(per_clause[(h, k)]) for k in clause_keys}} for h in hosts],
        "clauses": [{"clause": k, "title": CLAUSE_TITLES.get(k, k), **clause_all[k], "pass_pct": _rate(clause_all[k])}
                    for k in clause_keys],
        "totals": {**{s: sum(x[s] for x in per_host.values()) for s in STATUS_ORDER}},
        "failures": sorted(rows_of("fail"), key=lambda r: ({"高": 0, "中": 1, "低": 2}.get(r["severity"], 3), r["rule"])),
        "manual": rows_of("manual"), "not_applicable": rows_of("not-applicable"), "waived": rows_of("waived"),
        "waivers": _waivers(store, run.id),
        "detail": [[c.host, c.id, c.title, _rule_meta(cat, c.id)["items"], STATUS_LABEL.get(c.status, c.status),
                    c.evidence, str(c.threshold or ""), c.suggestion] for c in checks],
    })
    data["totals"]["pass_pct"] = _rate(data["totals"])
    data["changes"] = _changes(store, prev, checks, period) if prev else None
    data["status"] = last_check(store, until, period.tz, months)
    data["status"]["previous"] = hz.local_time(prev.started_at, period.tz, "%Y-%m-%d") if prev else None
    return data


def _changes(store: Any, prev: Any, checks: list[Any], period: Period) -> dict[str, Any]:
    before = {(c.host, c.id): c for c in store.checks(run_id=prev.id)}
    after = {(c.host, c.id): c for c in checks}
    rows = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        sa, sb = (a.status if a else None), (b.status if b else None)
        if sa == sb:
            continue
        rows.append({"host": key[0], "rule": key[1], "title": (b or a).title,
                     "before": STATUS_LABEL.get(sa, sa) if sa else "未核查", "after": STATUS_LABEL.get(sb, sb) if sb else "未核查",
                     "better": sb == "pass" or (sa == "fail" and sb in ("waived", "not-applicable")),
                     "worse": sb == "fail"})
    rates_a, rates_b = _host_rates(list(before.values())), _host_rates(checks)
    return {"previous": hz.local_time(prev.started_at, period.tz, "%Y-%m-%d %H:%M"), "rows": rows,
            "fixed": sum(1 for r in rows if r["better"]), "new_failures": sum(1 for r in rows if r["worse"]),
            "rates": [{"host": h, "before": rates_a.get(h), "after": rates_b.get(h)}
                      for h in sorted(set(rates_a) | set(rates_b))]}


# ----------------------------------------------------------------------------- layout
def layout(data: dict[str, Any], contract: Contract, **_: Any) -> dict[str, Any]:
    st = data["status"]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        meta = [["核查截止日期", data["period"]["last"]], ["核查周期", f"每 {data['months']} 个月 1 次"]]
        blocks.append({"type": "notice", "text": f"截至 {data['period']['last']} 日志中没有已完成的安全基线核查"
                                                 "（作业 baseline-audit），以下各项不作统计。"})
        blocks.append(_p(st["text"], "warn"))
        return _doc(data, blocks, meta, contract)
    t, run = data["totals"], data["run"]
    meta = [["核查时间", run["started"]], ["核查人", run["operator"]], ["主机数", len(data["hosts"])],
            ["总体符合率", _v(t["pass_pct"], "%")], ["不符合项", t["fail"]], ["下次核查", st["next_due"]]]
    blocks.append(_h("一、核查概况"))
    blocks.append(_p(
        f"依据 GB/T 22239-2019《信息安全技术 网络安全等级保护基本要求》第三级“安全计算环境”（8.1.4）及 GB/T 28448-2019 "
        f"测评项，于 {run['started']} 对 {len(data['hosts'])} 台服务器进行安全基线核查（自动核查，只读）。"
        f"自动核查项中符合 {t['pass']} 项、不符合 {t['fail']} 项，符合率 {_v(t['pass_pct'], '%')}；已豁免 {t['waived']} 项，"
        f"需人工核查 {t['manual']} 项，不适用 {t['not-applicable']} 项（各项均按主机计）。"
        "符合率 = 符合 ÷（符合 + 不符合），豁免、人工核查与不适用项不计入。"))
    blocks.append(_p(st["text"], "warn" if st["overdue"] else None))
    if run["check_mode"]:
        blocks.append(_p("注：本次核查以检查模式（--check）运行。"))
    blocks.append(_h("二、各主机符合情况"))
    blocks.append(_table("各主机核查结果", "各主机", ["主机", "符合", "不符合", "已豁免", "人工核查", "不适用", "符合率"],
                         [[h["host"], h["pass"], h["fail"], h["waived"], h["manual"], h["not-applicable"],
                           h["pass_pct"]] for h in data["hosts"]],
                         formats=[None, "int", "int", "int", "int", "int", "pct"]))
    cl = data["clauses"]
    blocks.append(_table("各控制点符合率（主机 × GB/T 22239 8.1.4 控制点）", "控制点符合率",
                         ["主机"] + [c["title"] for c in cl],
                         [[h["host"]] + [h["clauses"][c["clause"]] for c in cl] for h in data["hosts"]]
                         + [["全部主机"] + [c["pass_pct"] for c in cl]],
                         formats=[None] + ["pct"] * len(cl)))
    blocks.append(_p("“—”表示该控制点在该主机上无自动核查项（仅人工核查或不适用）。"))
    blocks.append(_h("三、不符合项及整改建议"))
    blocks.append(_table("不符合项", "不符合项", ["测评项", "核查项", "风险", "不符合主机", "整改建议"],
                         [[r["items"], f"{r['rule']} {r['title']}", r["severity"], r["hosts_text"], r["suggestion"]]
                          for r in data["failures"]], empty="无不符合项。")
                  | {"fractions": [1.0, 2.0, 0.5, 1.4, 3.0]})
    blocks.append(_p("各主机的核查证据（实际配置值）见同名 XLSX 文件「核查明细」工作表。整改可通过双人复核的作业 "
                     "baseline-enforce 执行（仅整改不符合项，修改 SSH、PAM、sudo 前校验配置并验证管理员仍可登录）。"))
    blocks.append(_h("四、人工核查项及需收集的证据"))
    blocks.append(_table("人工核查项", "人工核查", ["测评项", "核查项", "需收集的证据", "主机"],
                         [[r["items"], f"{r['rule']} {r['title']}", _evidence_to_collect(r), r["hosts_text"]]
                          for r in data["manual"]], empty="无人工核查项。") | {"fractions": [1.0, 1.8, 3.2, 1.6]})
    blocks.append(_h("五、豁免情况"))
    wv = data["waivers"]
    blocks.append(_table("豁免清单（经双人复核批准）", "豁免", ["编号", "核查项", "主机", "理由", "审批人", "有效期至", "状态"],
                         [[w.get("id", ""), w.get("rule", ""), w["host"], w.get("justification", ""),
                           w.get("approver", ""), w.get("expires", ""), WAIVER_STATE.get(w.get("state", ""), w.get("state", ""))]
                          for w in wv], empty="本次核查无适用的豁免。"))
    expired = [w for w in wv if w.get("state") == "expired"]
    if expired:
        blocks.append(_p(f"有 {len(expired)} 项豁免已过期，相应核查项按不符合计，须整改或重新申请豁免。", "warn"))
    blocks.append(_h("六、不适用项"))
    blocks.append(_table("不适用项及原因", "不适用", ["核查项", "主机", "原因"],
                         [[f"{r['rule']} {r['title']}", r["hosts_text"], r["evidence"][0][1]]
                          for r in data["not_applicable"]], empty="无不适用项。") | {"fractions": [2.0, 1.6, 3.6]})
    blocks.append(_h("七、与上次核查相比"))
    ch = data["changes"]
    if ch is None:
        blocks.append(_p("日志中无此前的安全基线核查记录，本次为首次核查。"))
    else:
        blocks.append(_p(f"上次核查于 {ch['previous']}。与之相比，{ch['fixed']} 项由不符合转为符合（或豁免、不适用），"
                         f"{ch['new_failures']} 项新出现不符合。"))
        blocks.append(_table("各主机符合率变化", "符合率变化", ["主机", "上次", "本次"],
                             [[r["host"], r["before"], r["after"]] for r in ch["rates"]],
                             formats=[None, "pct", "pct"]))
        blocks.append(_table("状态变化的核查项", "状态变化", ["主机", "核查项", "上次", "本次"],
                             [[r["host"], f"{r['rule']} {r['title']}", r["before"], r["after"]] for r in ch["rows"]],
                             empty="各核查项状态均无变化。"))
    blocks.append(_table("核查明细", "核查明细", ["主机", "规则", "核查项", "测评项", "结果", "核查证据", "判定标准", "整改建议"],
                         data["detail"], only="xlsx"))
    return _doc(data, blocks, meta, contract)


def _evidence_to_collect(row: dict[str, Any]) -> str:
    text = row["evidence"][0][1] if row["evidence"] else ""
    return text.split("需收集：", 1)[1] if "需收集：" in text else text

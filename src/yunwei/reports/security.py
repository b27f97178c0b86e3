"""《漏洞扫描报告》 (``yunwei report vuln --quarter Q``) and 《安全运行日报》 (``yunwei report security-daily --date D``).

The vulnerability report reads the findings lifecycle (yunwei.vuln.findings, synced from the vuln-scan runs
first) and the scans of the quarter: what was found, fixed, accepted and still open, compared with the previous
quarter, every finding with its 处理建议, and the feed each scan used.

The daily report reads, for one local day: the alerts (monitoring), the security incidents (service desk:
security grades and tickets of the scan), the privileged logins the ``security-daily`` job read from the hosts'
auth logs, the baseline drift (the changes between the last baseline audit on or before the day and the one
before it), the findings first seen that day, the operators active that day (audit log) and the on-duty list
(:func:`on_duty`: the 重保 window's rota of schedule.yml, else the day's active operators).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from yunwei.reports import humanise as hz
from yunwei.reports.assemble import period_info, signoff
from yunwei.reports.contract import Contract
from yunwei.reports.document import _doc, _h, _p, _table
from yunwei.reports.periods import Period, parse_period
from yunwei.reports.plan import Plan
from yunwei.special.summary import schedule_of
from yunwei.vuln import findings as fl
from yunwei.vuln.judge import SEVERITY_LABELS, SEVERITY_RANK

SEVERITY_ORDER = ("critical", "high", "medium", "low", "unknown")
SECURITY_GRADES = ("sec-normal", "sec-major")
DAILY_JOB = "security-daily"


def _local(ts: float | None, tz: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(ts, tz).strftime(fmt) if ts is not None else "—"


def _previous_quarter(period: Period) -> Period:
    y, q = int(period.label[:4]), int(period.label[-1])
    y, q = (y - 1, 4) if q == 1 else (y, q - 1)
    return parse_period("quarter", f"{y}-Q{q}", period.tz)


def _remediation(f: fl.Finding) -> str:
    if f.kind == "port":
        return (f"核实进程 {f.process or '（未知）'} 监听 TCP {f.port} 的用途：停止不需要的服务或以防火墙限制访问；确属业务需要的，"
                "经审批后加入该主机组的允许端口清单（security_allowed_ports）。")
    fix = f"升级 {f.package} 到 {f.fixed_version} 或更高版本" if f.fixed_version else f"升级 {f.package} 到已修复版本"
    avail = "软件源中已有更新，" if f.fix_available else "软件源中尚无更新，需先同步安全更新源，"
    return f"{avail}通过变更作业 security-updates（双人复核、逐台滚动）{fix}，升级后复扫确认。"


def _what(f: fl.Finding) -> str:
    return f.fkey if f.kind == "vuln" else f"TCP {f.port}（{f.process or '进程未知'}）"


def _counts(rows: list[fl.Finding]) -> dict[str, int]:
    c = Counter(f.severity if f.severity in SEVERITY_ORDER else "unknown" for f in rows)
    return {s: c.get(s, 0) for s in SEVERITY_ORDER} | {"total": len(rows)}


def _quarter_figures(all_rows: list[fl.Finding], since: float, until: float) -> dict[str, Any]:
    found = [f for f in all_rows if since <= f.first_seen < until]
    fixed = [f for f in all_rows if f.fixed_at is not None and since <= f.fixed_at < until]
    open_end = [f for f in all_rows if f.first_seen < until and (f.fixed_at is None or f.fixed_at >= until)]
    accepted = [f for f in open_end if f.state == "accepted"]
    return {"found": found, "fixed": fixed, "open": open_end, "accepted": accepted}


def vuln_report(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    """The assembled data of 《漏洞扫描报告》 for a quarter."""
    now = now or datetime.now(timezone.utc)
    fl.sync(store)
    since, until = period.since.timestamp(), min(period.until, now).timestamp()
    scans = [(r[0], float(r[1]), json.loads(r[2] or "[]"), json.loads(r[3] or "{}"))
             for r in store.query("SELECT run_id, time, hosts, feed FROM vuln_scans WHERE time >= ? AND time < ? ORDER BY time",
                                  (since, until))]
    scans = [s for s in scans if s[2]]  # a run refused before any host was scanned is no scan
    rows = fl.all_findings(store)
    cur = _quarter_figures(rows, since, until)
    prev_p = _previous_quarter(period)
    prev = _quarter_figures(rows, prev_p.since.timestamp(), prev_p.until.timestamp())
    runs = [store.get_run(s[0]) for s in scans]
    data: dict[str, Any] = {"kind": "vuln", "title": "漏洞扫描报告", "period": period_info(period), "empty": not scans}
    data["signoff"] = signoff(plan.contract, "vuln", [r.operator for r in runs if r], period.last, now, period.tz)
    data["scans"] = [{"run": s[0], "time": _local(s[1], period.tz), "hosts": "、".join(s[2]),
                      "operator": (runs[i].operator if runs[i] else "") or "—", "feed": s[3].get("source") or "—",
                      "generated": (s[3].get("generated") or "—")[:10], "digest": (s[3].get("digest") or "")[:23],
                      "age": s[3].get("age_days"), "definitions": s[3].get("definitions")}
                     for i, s in enumerate(scans)]
    last_hosts = sorted({h for s in scans for h in s[2]})
    open_now = sorted(cur["open"], key=lambda f: (SEVERITY_RANK.get(f.severity, 2), f.host, f.fkey))
    data["by_severity"] = {"current": _counts(open_now), "previous": _counts(prev["open"]),
                           "found": _counts(cur["found"]), "fixed": _counts(cur["fixed"])}
    data["by_host"] = [{"host": h, **_counts([f for f in open_now if f.host == h])}
                       for h in sorted(set(last_hosts) | {f.host for f in open_now})]
    data["figures"] = {k: len(v) for k, v in cur.items()} | {"prev_" + k: len(v) for k, v in prev.items()}
    data["prev_label"] = prev_p.label
    data["open"] = [{"id": f.id, "host": f.host, "what": _what(f),
                     "severity": SEVERITY_LABELS.get(f.severity, f.severity),
                     "versions": f"{f.installed} → {f.fixed_version}" if f.kind == "vuln" else "—",
                     "fix": "是" if f.fix_available else "否", "state": fl.STATE_LABELS.get(f.state, f.state),
                     "accepted": f"{f.accepted_by}，至 {f.accepted_until}：{f.accepted_reason}" if f.state == "accepted" else "",
                     "ticket": f.ticket_id or "—", "first": _local(f.first_seen, period.tz, "%Y-%m-%d"),
                     "remediation": _remediation(f)} for f in open_now]
    data["vs_previous_scan"] = None
    if len(scans) >= 1:
        last_id, last_t = scans[-1][0], scans[-1][1]
        earlier = store.query("SELECT time FROM vuln_scans WHERE time < ? AND hosts != '[]' ORDER BY time DESC LIMIT 1",
                              (last_t,))
        if earlier:
            data["vs_previous_scan"] = {
                "previous": _local(float(earlier[0][0]), period.tz), "last": _local(last_t, period.tz),
                "new": sum(1 for f in rows if f.first_run == last_id),
                "gone": sum(1 for f in rows if f.fixed_at == last_t)}
    data["fixed"] = [{"host": f.host, "what": _what(f), "severity": SEVERITY_LABELS.get(f.severity, f.severity),
                      "fixed": _local(f.fixed_at, period.tz, "%Y-%m-%d"),
                      "state": fl.STATE_LABELS.get(f.state, f.state)} for f in cur["fixed"]]
    return data


def vuln_layout(data: dict[str, Any], contract: Contract, **_: Any) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": f"{data['period']['title']}日志中没有漏洞扫描记录（作业 vuln-scan），以下各项不作统计。"})
        blocks.append(_p("合同要求每季度进行 1 次漏洞扫描：导入最新漏洞库（yunwei vuln import）后执行 yunwei vuln scan。", "warn"))
        return _doc(data, blocks, [["报告期", data["period"]["title"]]], contract)
    bs, fg = data["by_severity"], data["figures"]
    cur = bs["current"]
    last = data["scans"][-1]
    meta = [["扫描次数", len(data["scans"])], ["最近扫描", last["time"]], ["漏洞库", f"{last['feed']}（{last['generated']}）"],
            ["未关闭问题", cur["total"]], ["其中严重/高危", cur["critical"] + cur["high"]]]
    blocks.append(_h("一、扫描概况"))
    blocks.append(_p(f"本季度共进行漏洞扫描 {len(data['scans'])} 次（在堡垒机上以 OpenSCAP 依据导入的 OVAL 漏洞库评估各主机已安装软件包，"
                     f"并以 nmap 仅对资产清单内主机核查开放端口）。本季度新发现问题 {fg['found']} 个，已修复 {fg['fixed']} 个，"
                     f"季末未关闭 {fg['open']} 个（其中接受风险 {fg['accepted']} 个）。",
                     "warn" if cur["critical"] + cur["high"] else None))
    stale = [s for s in data["scans"] if isinstance(s["age"], (int, float)) and s["age"] > 30]
    if stale:
        blocks.append(_p(f"注意：有 {len(stale)} 次扫描使用的漏洞库生成已超过 30 天，结果可能遗漏新近公布的漏洞。", "warn"))
    blocks.append(_table("扫描记录及所用漏洞库", "扫描记录", ["扫描时间", "主机", "执行人", "漏洞库", "生成日期", "库龄（天）", "定义数", "摘要"],
                         [[s["time"], s["hosts"], s["operator"], s["feed"], s["generated"], s["age"], s["definitions"], s["digest"]]
                          for s in data["scans"]]) | {"fractions": [1.2, 1.6, 0.7, 1.2, 0.9, 0.6, 0.6, 1.6]})
    blocks.append(_h("二、按严重程度与主机统计"))
    blocks.append(_table("按严重程度（与上季度比较）", "按严重程度", ["", "严重", "高危", "中危", "低危", "未定级", "合计"],
                         [[label] + [bs[k][s] for s in SEVERITY_ORDER] + [bs[k]["total"]]
                          for k, label in (("current", "本季末未关闭"), ("previous", f"上季末（{data['prev_label']}）未关闭"),
                                           ("found", "本季新发现"), ("fixed", "本季已修复"))],
                         formats=[None] + ["int"] * 6))
    trend = cur["total"] - bs["previous"]["total"]
    blocks.append(_p(f"与上季度相比，未关闭问题{'增加' if trend > 0 else '减少' if trend < 0 else '持平'}"
                     f"{abs(trend) if trend else ''}{' 个' if trend else ''}。"))
    vs = data.get("vs_previous_scan")
    if vs:
        blocks.append(_p(f"最近一次扫描（{vs['last']}）与上一次扫描（{vs['previous']}）相比：新发现 {vs['new']} 个，"
                         f"不再出现 {vs['gone']} 个。"))
    blocks.append(_table("按主机（未关闭）", "按主机", ["主机", "严重", "高危", "中危", "低危", "未定级", "合计"],
                         [[h["host"]] + [h[s] for s in SEVERITY_ORDER] + [h["total"]] for h in data["by_host"]],
                         formats=[None] + ["int"] * 6))
    blocks.append(_h("三、未关闭问题及处理建议"))
    blocks.append(_table("未关闭问题", "未关闭问题", ["编号", "主机", "问题", "等级", "已安装 → 修复版本", "状态", "工单", "处理建议"],
                         [[r["id"], r["host"], r["what"], r["severity"], r["versions"],
                           r["state"] + (f"（{r['accepted']}）" if r["accepted"] else ""), r["ticket"], r["remediation"]]
                          for r in data["open"]], empty="无未关闭问题。")
                  | {"fractions": [0.45, 0.7, 1.5, 0.55, 1.6, 0.8, 1.1, 2.6]})
    blocks.append(_h("四、本季度已修复"))
    blocks.append(_table("已修复问题", "已修复", ["主机", "问题", "等级", "修复确认日期", "状态"],
                         [[r["host"], r["what"], r["severity"], r["fixed"], r["state"]] for r in data["fixed"]],
                         empty="本季度无已修复问题。"))
    blocks.append(_p("“已修复”指后续扫描未再发现；再下一次扫描仍未发现即为“已验证修复”。接受风险须经他人审批并注明期限，到期未处理的重新计为未处理。"))
    return _doc(data, blocks, meta, contract)


# ----------------------------------------------------------------------------- 安全运行日报
def on_duty(day: Any, *, active_operators: list[str], contract: Contract, schedule: Any = None) -> list[dict[str, str]]:
    """The on-duty list of the day: [{name, role, contact, source}]. Inside a 重保 window: the window's rota
    (schedule.yml, two people a day: docs/special-periods.md), each marked whether the audit log shows them
    at work that day; outside a window, the operators active in the audit log that day."""
    people = schedule.on_duty(day) if schedule is not None else ()
    if people:
        window = schedule.window_on(day)
        active = set(active_operators)
        return [{"name": o.name, "contact": o.contact, "source": "rota",
                 "role": f"{window.name}重保值守" + ("（当日有操作记录）" if o.login in active else "")}
                for o in people]
    return [{"name": contract.person(o) if contract.known(o) else o, "role": "当班运维（按审计日志）", "contact": "",
             "source": "audit"} for o in active_operators]


def _active_operators(since: datetime, until: datetime) -> tuple[list[str], Counter]:
    from yunwei.audit import default_log

    a, b = since.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"), until.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    count: Counter = Counter()
    for rec in default_log().records():
        t = str(rec.get("time") or "")
        if a <= t < b and rec.get("operator"):
            count[str(rec["operator"])] += 1
    return sorted(count), count


def _logins(store: Any, period: Period, now: datetime) -> tuple[list[dict[str, Any]], list[str], str, list[str]]:
    """Privileged login events of the day from the security-daily runs that read them (de-duplicated: the runs
    read 48 hours), the hosts read, when the last read was, and the hosts that have no auth log."""
    since, until = period.since.timestamp(), period.until.timestamp()
    seen: set[tuple[Any, ...]] = set()
    rows, hosts, last = [], set(), ""
    no_log: set[str] = set()
    for run in store.list_runs(job=DAILY_JOB, since=period.since, limit=50):
        for tr in store.task_results(run.id):
            v = (tr.result or {}).get("vuln") or {}
            if "logins" not in v:
                continue
            hosts.add(tr.host)
            if not v.get("auth_log"):
                no_log.add(tr.host)
            last = max(last, _local(run.started_at.timestamp(), period.tz)) if run.started_at else last
            for e in v["logins"]:
                key = (tr.host, e.get("time"), e.get("kind"), e.get("user"), e.get("ok"))
                if key in seen or not (since <= float(e.get("time") or 0) < until) or not e.get("privileged"):
                    continue
                seen.add(key)
                rows.append({**e, "host": tr.host, "at": _local(float(e["time"]), period.tz, "%H:%M:%S")})
    return sorted(rows, key=lambda e: e["time"]), sorted(hosts), last, sorted(no_log - {r["host"] for r in rows})


def _drift(store: Any, period: Period) -> dict[str, Any]:
    """Baseline drift since the last audit: every rule as the day's security-daily run judged it again
    (``verify_checks`` of its baseline_audit task) against the last baseline audit before that run."""
    from yunwei.reports.baseline import STATUS_LABEL, _audits

    today: dict[tuple[str, str], Any] = {}
    when = None
    for run in store.list_runs(job=DAILY_JOB, since=period.since, until=period.until, limit=50):
        for tr in store.task_results(run.id):
            vc = (tr.result or {}).get("verify_checks")
            if tr.action.endswith("baseline_audit") and isinstance(vc, list):
                for c in vc:
                    today[(tr.host, c.get("id", ""))] = c
        if today:
            when = run.started_at
            break
    runs = _audits(store, when or period.until)
    if not runs:
        return {"text": "尚无安全基线核查记录，无法判断基线变化。", "rows": []}
    audit = runs[0]
    audited = hz.local_time(audit.started_at, period.tz, "%Y-%m-%d %H:%M")
    if not today:
        return {"text": f"最近一次安全基线核查于 {audited}；本日未重新核查（作业 security-daily 未运行），基线变化未核查。",
                "rows": [], "warn": True}
    before = {(c.host, c.id): c for c in store.checks(run_id=audit.id)}
    rows = []
    for key in sorted(set(today) & set(before)):
        a, b = before[key].status, today[key].get("status")
        if a != b:
            rows.append({"host": key[0], "rule": key[1], "title": before[key].title,
                         "before": STATUS_LABEL.get(a, a), "after": STATUS_LABEL.get(b, b), "worse": b == "fail",
                         "evidence": str(today[key].get("evidence") or "")[:300]})
    hosts = sorted({h for h, _ in today})
    worse = sum(1 for r in rows if r["worse"])
    text = (f"{hz.local_time(when, period.tz, '%H:%M')} 重新核查 {len(hosts)} 台主机的全部基线规则，与最近一次安全基线核查"
            f"（{audited}）相比：{len(rows)} 项发生变化，其中 {worse} 项变为不符合。" if rows else
            f"{hz.local_time(when, period.tz, '%H:%M')} 重新核查 {len(hosts)} 台主机的全部基线规则，与最近一次安全基线核查"
            f"（{audited}）相比无变化。")
    return {"text": text, "rows": rows, "warn": bool(worse)}


def security_daily(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    from yunwei.monitoring.report_data import alert_section
    from yunwei.servicedesk.report_data import day_tickets

    now = now or datetime.now(timezone.utc)
    fl.sync(store)
    since, until = period.since.timestamp(), period.until.timestamp()
    alerts = alert_section(store, period.since, period.until, now)
    tickets = [t for t in day_tickets(store, period, now=now, contract=plan.contract)
               if t.get("grade") in SECURITY_GRADES or t.get("channel") == "scan"]
    logins, login_hosts, last_read, no_auth_log = _logins(store, period, now)
    new = [f for f in fl.all_findings(store) if since <= f.first_seen < until]
    active, counts = _active_operators(period.since, period.until)
    data: dict[str, Any] = {"kind": "security-daily", "title": "安全运行日报", "period": period_info(period), "empty": False}
    data["signoff"] = signoff(plan.contract, "security-daily", active, period.last, now, period.tz)
    data.update({
        "alerts": alerts, "tickets": tickets, "logins": logins, "login_hosts": login_hosts, "logins_read": last_read, "no_auth_log": no_auth_log,
        "failed": sum(1 for e in logins if not e["ok"]), "succeeded": sum(1 for e in logins if e["ok"]),
        "drift": _drift(store, period),
        "new_findings": [{"host": f.host, "what": _what(f),
                          "severity": SEVERITY_LABELS.get(f.severity, f.severity), "ticket": f.ticket_id or "—",
                          "remediation": _remediation(f)} for f in sorted(new, key=lambda f: SEVERITY_RANK.get(f.severity, 2))],
        "operators": [{"name": o, "actions": counts[o]} for o in active],
        "on_duty": on_duty(period.first, active_operators=active, contract=plan.contract, schedule=schedule_of(plan)),
    })
    return data


KIND_TEXT = {"ssh": "SSH 登录", "sudo": "sudo 提权", "su": "su 切换"}


def security_daily_layout(data: dict[str, Any], contract: Contract, **_: Any) -> dict[str, Any]:
    from yunwei.monitoring.report_data import alert_blocks

    al = data["alerts"]
    meta = [["日期", data["period"]["title"]], ["告警", al["count"]], ["安全事件工单", len(data["tickets"])],
            ["特权登录失败", data["failed"]], ["新发现漏洞/暴露", len(data["new_findings"])]]
    blocks: list[dict[str, Any]] = []
    serious = data["failed"] or any(t.get("grade") == "sec-major" for t in data["tickets"]) or data["new_findings"]
    blocks.append(_h("一、总体情况"))
    blocks.append(_p(f"本日监控告警 {al['count']} 次，安全事件工单 {len(data['tickets'])} 个，特权登录成功 {data['succeeded']} 次、"
                     f"失败 {data['failed']} 次，新发现漏洞或非预期开放端口 {len(data['new_findings'])} 个。",
                     "warn" if serious else None))
    blocks.append(_h("二、安全告警"))
    blocks.extend(alert_blocks(al, unit_name="本日"))
    blocks.append(_h("三、安全事件（服务台）"))
    blocks.append(_table("安全事件工单", "安全事件", ["工单", "等级", "主机", "事件", "状态", "处理情况"],
                         [[t.get("id", ""), t.get("grade_label", t.get("grade", "")), t.get("host", ""), t.get("title", ""),
                           t.get("state_label", ""), t.get("progress", "")] for t in data["tickets"]],
                         empty="本日无安全事件工单。"))
    blocks.append(_h("四、特权登录"))
    if not data["login_hosts"]:
        blocks.append(_p("本日未读取主机认证日志（作业 security-daily 未运行），特权登录情况未核查。", "warn"))
    else:
        blocks.append(_p(f"读取 {len(data['login_hosts'])} 台主机的认证日志（最近读取于 {data['logins_read']}）：root 与管理员账户的 SSH 登录、"
                         "sudo 提权与 su 切换。"))
        if data["no_auth_log"]:
            blocks.append(_p(f"{'、'.join(data['no_auth_log'])} 上没有认证日志（/var/log/auth.log 或 /var/log/secure；"
                             "未运行 rsyslog 等系统日志服务），其特权登录情况无法核查，应启用系统日志。", "warn"))
        blocks.append(_table("特权登录记录", "特权登录", ["时间", "主机", "类型", "账户", "来源", "结果", "说明"],
                             [[e["at"], e["host"], KIND_TEXT.get(e["kind"], e["kind"]), e["user"],
                               e["source"] or "—", "成功" if e["ok"] else "失败", e["detail"]] for e in data["logins"]],
                             empty="本日无特权登录记录。"))
    blocks.append(_h("五、安全基线变化"))
    blocks.append(_p(data["drift"]["text"], "warn" if data["drift"].get("warn") else None))
    if data["drift"]["rows"]:
        blocks.append(_table("状态变化的核查项", "基线变化", ["主机", "核查项", "上次核查", "本日", "本日证据"],
                             [[r["host"], f"{r['rule']} {r['title']}", r["before"], r["after"], r.get("evidence", "")]
                              for r in data["drift"]["rows"]]) | {"fractions": [0.7, 2.0, 0.7, 0.7, 2.6]})
    blocks.append(_h("六、新发现的漏洞与暴露"))
    blocks.append(_table("新发现问题", "新发现问题", ["主机", "问题", "等级", "工单", "处理建议"],
                         [[r["host"], r["what"], r["severity"], r["ticket"], r["remediation"]] for r in data["new_findings"]],
                         empty="本日无新发现问题。") | {"fractions": [0.7, 1.6, 0.5, 0.9, 3.0]})
    blocks.append(_h("七、值班与操作人员"))
    blocks.append(_table("值班人员", "值班", ["姓名", "职责", "联系方式"],
                         [[d["name"], d["role"], d.get("contact") or "—"] for d in data["on_duty"]],
                         empty="本日不在重保时段，审计日志中也无操作记录。"))
    blocks.append(_table("当日操作人员（审计日志）", "操作人员", ["操作员", "审计记录数"],
                         [[o["name"], o["actions"]] for o in data["operators"]], formats=[None, "int"], empty="无。"))
    return _doc(data, blocks, meta, contract)

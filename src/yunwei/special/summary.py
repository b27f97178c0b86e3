"""《重保期间运行总结》: a 重保 window after it ended (or so far, while it runs) - inspections done against
the three a day the window requires, incidents and tickets, alerts, availability, the rota, lessons.

``--date D`` picks the window containing D, else the last window that ended on or before D. The figures
are the monthly report's sections (yunwei.reports.monthly) computed over the window's days, so both
documents count the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from yunwei.reports import monthly as mo
from yunwei.reports.assemble import period_info, signoff
from yunwei.reports.contract import Contract
from yunwei.reports.document import _doc, _h, _p, _table, group_findings
from yunwei.reports.periods import Period
from yunwei.reports.plan import Plan
from yunwei.schedule.model import duty_text


@dataclass(frozen=True)
class WindowPeriod(Period):
    name: str = ""

    @property
    def title(self) -> str:
        return f"{self.name}（{self.first.isoformat()} 至 {self.last.isoformat()}）"


def pick_window(schedule: Any, day: Any) -> Any | None:
    if schedule is None:
        return None
    inside = schedule.window_on(day)
    if inside is not None:
        return inside
    past = [w for w in schedule.windows if w.end <= day]
    return max(past, key=lambda w: w.end, default=None)


def schedule_of(plan: Plan) -> Any:
    """The plan's schedule, else the approved one (else schedule.yml); None without any."""
    if plan.schedule is not None:
        return plan.schedule
    from yunwei.reports.windows import load_schedule_plan

    return load_schedule_plan()


def lessons(insp: dict[str, Any], results: dict[str, Any], alerts: dict[str, Any], service: dict[str, Any],
            avail: dict[str, Any]) -> list[str]:
    """经验与改进: one sentence per thing that went wrong, from the figures (none invented)."""
    out = []
    if insp["missed_count"]:
        days = "、".join(m["date"] for m in insp["missed"])
        out.append(f"漏检 {insp['missed_count']} 次（{days}）：重保期间巡检须按每日 3 次执行，"
                   "检查调度（yunwei schedule due）与堡垒机可用性，漏检当日补做。")
    crit = [f for f in results["finding_rows"] if f.get("worst") == "crit"]
    if crit:
        out.append(f"严重问题 {len(crit)} 项（{'、'.join(sorted({f['title'] for f in crit}))}）：纳入下次节前检查的重点复查项。")
    if alerts["count"]:
        out.append(f"实时告警 {alerts['count']} 次，平均响应 {alerts['mtta']}、平均恢复 {alerts['mttr']}："
                   "复盘告警规则与值守响应流程。")
    if service["breached_tickets"]:
        out.append(f"超时工单 {service['breached_tickets']} 张：复盘超时原因，调整值守人员与升级流程。")
    for row in avail["rows"]:
        if row["availability_pct"] is not None and row["availability_pct"] < 99.9:
            out.append(f"{row['service']} 可用率 {row['availability_pct']}%，低于 99.9%：分析中断原因，完善应急预案。")
    if not out and not insp["required"]:
        out.append("重保时段内尚无到期的巡检，暂无可总结的经验。")
    elif not out:
        out.append("重保期间巡检按要求完成，未发生严重问题、告警或超时工单，保障措施有效，按现有方案继续执行。")
    return out


def report(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    sched = schedule_of(plan)
    window = pick_window(sched, period.last)
    data: dict[str, Any] = {"kind": "heightened-summary", "title": "重保期间运行总结", "period": period_info(period),
                            "empty": window is None}
    if window is None:
        data["signoff"] = signoff(plan.contract, "heightened-summary", [], period.last, now, period.tz)
        return data
    wp = WindowPeriod("window", window.start, window.end, f"{window.start.isoformat()}", period.tz, window.name)
    if plan.schedule is None:
        plan = Plan(plan.contract, plan.windows, sched)
    m = mo.load_month(store, wp, plan, now)
    insp, results = mo.section_inspections(m), mo.section_results(m)
    avail, alerts, service = mo.section_availability(m), mo.section_alerts(m), mo.section_service(m)
    data.update(period=period_info(wp), window={"name": window.name, "kind": window.kind_label,
                                                "systems": "、".join(window.systems)},
                inspections=insp, results=results, availability=avail, alerts=alerts, service=service,
                rota=[[d.isoformat(), duty_text(sched.on_duty(d))] for d in window.days()],
                lessons=lessons(insp, results, alerts, service, avail),
                state="future" if wp.since > now else "ongoing" if wp.until > now else "ended")
    data["signoff"] = signoff(plan.contract, "heightened-summary", [r.operator for r in m.runs], wp.last, now, wp.tz)
    return data


def layout(data: dict[str, Any], contract: Contract, **_: Any) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": f"{data['period']['last']} 及之前没有重保时段（schedule.yml 的 "
                                                 "heightened.windows），无可总结的内容。"})
        return _doc(data, blocks, [["报告日期", data["period"]["last"]]], contract)
    w, insp, res = data["window"], data["inspections"], data["results"]
    alerts, service, avail = data["alerts"], data["service"], data["availability"]
    meta = [["重保时段", f"{w['name']}（{w['kind']}）"], ["日期", f"{data['period']['first']} 至 {data['period']['last']}"],
            ["保障范围", w["systems"]], ["巡检完成", f"{insp['done']}/{insp['required']}"],
            ["告警", alerts["count"]], ["工单", service["tickets"]]]
    blocks.append(_h("一、总体情况"))
    if data["state"] == "future":
        blocks.append(_p("注：重保时段尚未开始，以下仅列出值守安排与应执行的巡检，各项尚无统计。", "warn"))
    elif data["state"] == "ongoing":
        blocks.append(_p("注：重保时段尚未结束，以下为截至目前的情况；未到期的日期不计入应巡检次数。", "warn"))
    blocks.append(_p(f"{w['name']}重保期间（{data['period']['first']} 至 {data['period']['last']}），对 {w['systems']} "
                     f"实行双人值守与每日 3 次巡检。应巡检 {insp['required']} 次，完成 {insp['done']} 次"
                     f"（完成率 {insp['rate'] if insp['rate'] is not None else '—'}%）；发现问题 {len(group_findings(res['finding_rows']))} 项；"
                     f"实时告警 {alerts['count']} 次；登记工单 {service['tickets']} 张，超时 {service['breached_tickets']} 张。"))
    blocks.append(_h("二、巡检执行情况"))
    blocks.append(_table("每日巡检", "每日巡检", ["日期", "应巡检", "已完成", "状态"],
                         [[d["date"], d["required"], d["done"], d["state"]] for d in insp["days"]],
                         formats=[None, "int", "int", None]))
    blocks.append(_h("三、问题与事件"))
    blocks.append(_table("发现的问题（同一问题多台主机合并为一行）", "问题", ["问题", "级别", "发现时间", "当前状态", "处理建议"],
                         [[f"{g['title']}（{g['where']}）", g["worst_label"],
                           g["first"] if g["first"] == g["last"] else f"{g['first']} 至 {g['last']}", g["state"],
                           g["suggestion"] or "—"] for g in group_findings(res["finding_rows"])],
                         empty="重保期间未发现问题。") | {"fractions": [2.0, 0.5, 1.2, 0.7, 2.6]})
    blocks.append(_table("实时告警", "告警", ["开始", "结束", "主机", "告警", "级别", "工单"],
                         [[a["start"], a["end"], a["host"], a["title"], a["severity"], a["ticket"]] for a in alerts["items"]],
                         empty="重保期间无实时告警。"))
    blocks.append(_p(f"工单：共 {service['tickets']} 张，期末未关闭 {service['open_at_end']} 张，超时 {service['breached_tickets']} 张。"))
    blocks.append(_h("四、服务可用性"))
    blocks.append(_table("服务可用率", "可用率", ["服务", "可用率", "观测时长", "中断时长", "中断次数"],
                         [[r["service"], r["availability_pct"], r["observed"], r["down"], r["outages"]] for r in avail["rows"]],
                         formats=[None, "pct", None, None, "int"], empty="无可用性观测数据。"))
    blocks.append(_h("五、值守情况（双人值守）"))
    blocks.append(_table("值守安排", "值守", ["日期", "值守人员（联系方式）"], data["rota"]))
    blocks.append(_h("六、经验与改进"))
    for i, text in enumerate(data["lessons"], 1):
        blocks.append(_p(f"{i}. {text}"))
    return _doc(data, blocks, meta, contract)

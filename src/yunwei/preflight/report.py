"""《节前系统健康检查报告》: the last ``preflight`` run on or before the report day, judged item by item
(go / no-go) with the open actions, the window it prepares and that window's rota."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from yunwei.preflight.run import LEVEL, judged
from yunwei.reports import humanise as hz
from yunwei.reports.assemble import period_info, signoff
from yunwei.reports.contract import Contract
from yunwei.reports.document import _doc, _h, _p, _table
from yunwei.reports.periods import Period
from yunwei.reports.plan import Plan


def _window_after(plan: Plan, day: Any) -> dict[str, Any] | None:
    from yunwei.schedule.model import duty_text
    from yunwei.special.summary import schedule_of

    sched = schedule_of(plan)
    if sched is None:
        return None
    ahead = sorted((w for w in sched.windows if w.end >= day), key=lambda w: w.start)
    if not ahead:
        return None
    w = ahead[0]
    rota = [[d.isoformat(), duty_text(sched.on_duty(d))] for d in w.days()]
    return {"name": w.name, "kind": w.kind_label, "start": w.start.isoformat(), "end": w.end.isoformat(),
            "systems": "、".join(w.systems), "rota": rota}


def report(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    run, results = judged(store, min(period.until, now))
    data: dict[str, Any] = {"kind": "preflight", "title": "节前系统健康检查报告", "period": period_info(period),
                            "empty": run is None}
    data["signoff"] = signoff(plan.contract, "preflight", [run.operator] if run else [], period.last, now, period.tz)
    if run is None:
        return data
    day = run.started_at.astimezone(period.tz).date()
    data.update(
        run={"id": run.id, "operator": plan.contract.person(run.operator), "status": run.status,
             "started": run.started_at.astimezone(period.tz).strftime("%Y-%m-%d %H:%M")},
        items=[{"id": i.id, "title": i.title, "go": r.go, "summary": r.summary, "ran": r.ran, "actions": r.actions}
               for i, r in results],
        go=all(r.go for _, r in results), window=_window_after(plan, day))
    return data


def layout(data: dict[str, Any], contract: Contract, **_: Any) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": f"截至 {data['period']['last']} 日志中没有节前系统健康检查"
                                                 "（作业 preflight）的记录，以下各项不作统计。"})
        return _doc(data, blocks, [["报告日期", data["period"]["last"]]], contract)
    run, w = data["run"], data["window"]
    nogo = [i for i in data["items"] if not i["go"]]
    actions = [(i, a) for i in data["items"] for a in i["actions"]]
    meta = [["检查时间", run["started"]], ["检查人", run["operator"]],
            ["重保时段", f"{w['name']}（{w['kind']}，{w['start']} 至 {w['end']}）" if w else "—"],
            ["总体结论", "具备重保条件" if data["go"] else f"暂不具备重保条件（{len(nogo)} 项不通过）"],
            ["待办事项", len(actions)]]
    blocks.append(_h("一、检查概况"))
    when = f"为“{w['name']}”重保时段（{w['start']} 至 {w['end']}，范围：{w['systems']}）做准备，" if w else ""
    blocks.append(_p(f"{when}于 {run['started']} 执行节前系统健康检查：按重保阈值巡检、安全基线核查、备份状态与完整性校验、"
                     "备份恢复测试、监控采集目标检查。各项独立判定“通过 / 不通过”，所有待办事项已登记为工单。"))
    blocks.append(_p("结论：" + ("各项均通过，具备重保条件。" if data["go"] else
                                "以下检查项不通过，须在重保开始前整改并复查：" + "、".join(i["title"] for i in nogo) + "。"),
                     "ok" if data["go"] else "crit"))
    blocks.append(_h("二、各检查项结论"))
    blocks.append(_table("各检查项结论", "检查项", ["检查项", "结论", "说明"],
                         [[i["title"], "通过" if i["go"] else "不通过", i["summary"]] for i in data["items"]],
                         status_col=None) | {"fractions": [1.4, 0.7, 4.0]})
    blocks.append(_h("三、待办事项（已登记工单）"))
    blocks.append(_table("待办事项", "待办事项", ["检查项", "问题", "主机", "级别", "处理建议"],
                         [[i["title"], a["title"], a.get("host", ""), LEVEL.get(a.get("level", ""), a.get("level", "")),
                           hz.client_text(a.get("suggestion", ""))] for i, a in actions], empty="无待办事项。")
                  | {"fractions": [0.9, 1.3, 1.7, 0.5, 2.8]})
    if w:
        blocks.append(_h("四、重保值守安排（双人值守）"))
        blocks.append(_table("值守安排", "值守安排", ["日期", "值守人员（联系方式）"], w["rota"]))
    return _doc(data, blocks, meta, contract)

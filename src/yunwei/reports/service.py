"""Layouts of the service desk's documents and sections (the data comes from
yunwei.servicedesk.report_data): 《故障申告登记表》, the weekly feedback summary, the service section
of the monthly/quarterly/annual reports and the health daily's table of the day's tickets.
"""

from __future__ import annotations

from typing import Any

from yunwei.reports.document import _doc, _h, _p, _table
from yunwei.servicedesk.model import FEEDBACK_STATES

# relative widths of the printed register (landscape): short columns keep their text on one line
REGISTER_WIDTHS = [1.3, 0.95, 0.8, 1.15, 0.8, 1.5, 1.7, 0.55, 1.5, 1.7, 1.5]
REGISTER_COLUMNS = ["编号", "申告时间", "渠道", "申告人\n联系方式", "级别", "故障现象（主机）", "响应、到场、解决\n（用时）",
                    "处理人", "原因及处理措施", "处理结果\n用户确认", "时限"]


def _register_row(r: dict[str, Any]) -> list[Any]:
    closed = r["closed"][5:] if r["closed"] else ""
    return [r["id"], r["opened_short"], r["channel_label"], r["reporter"] + (f"\n{r['contact']}" if r["contact"] else ""),
            r["grade_label"], r["title"] + (f"（{r['host']}）" if r["host"] else ""),
            r["timeline"] + ("" if r["resolved"] else f"\n{r['state_label']}"), r["assignee"] or "—",
            (f"原因：{r['cause']}\n措施：{r['action']}" if r["cause"] else "—"),
            (r["result"] or "—") + (f"\n确认：{r['confirmation']}（{closed}）" if r["confirmation"] else ""),
            r["clock_lines"]]


def _annex(rows: list[dict[str, Any]], title: str, sheet: str) -> dict[str, Any]:
    cols = ["编号", "申告时间", "登记时间", "登记人", "渠道", "级别", "申告人", "联系方式", "主机", "故障现象", "详细描述",
            "响应时间", "响应用时", "处理人", "到场时间", "到场用时", "解决时间", "处理用时", "原因", "处理措施", "处理结果",
            "用户确认", "关闭时间", "状态", "时限", "说明", "监控告警"]
    return _table(title, sheet, cols,
                  [[r["id"], r["opened"], r["registered"], r["registered_by"], r["channel_label"], r["grade_label"],
                    r["reporter"], r["contact"], r["host"], r["title"], r["description"], r["responded"],
                    r["response_time"], r["assignee"], r["onsite"], r["onsite_time"], r["resolved"], r["handling_time"],
                    r["cause"], r["action"], r["result"], r["confirmation"], r["closed"], r["state_label"], r["clocks"],
                    r["notes"], r["alert"]] for r in rows], empty="无", only="xlsx")


def _count_table(rows: list[dict[str, Any]], what: str, sheet: str) -> dict[str, Any]:
    total = ["合计", sum(r["tickets"] for r in rows), sum(r["resolved"] for r in rows),
             sum(r["closed"] for r in rows), sum(r["open"] for r in rows)]
    return _table(f"按{what}统计", sheet, [what, "申告数", "已解决", "已关闭", "未关闭"],
                  [[r["label"], r["tickets"], r["resolved"], r["closed"], r["open"]] for r in rows] + ([total] if rows else []),
                  formats=[None, "int", "int", "int", "int"], empty="无申告。")


def tickets_register(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    t = data["totals"]
    meta = [["月份", data["period"]["label"]], ["本月申告", t["tickets"]], ["期末已关闭", t["closed"]],
            ["期末未关闭", t["open"]], ["时限超时", t["breached"]], ["上月结转", t["carried"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本期无故障申告记录：服务台未登记任何申告，也无上期结转的未关闭工单。"})
    blocks.append(_h("一、登记概况"))
    blocks.append(_p(f"本期登记故障申告 {t['tickets']} 件（热线、在线服务、微信服务群、电子邮件与监控告警均登记），"
                     f"至期末已关闭 {t['closed']} 件、未关闭 {t['open']} 件；响应、处理或到场超过合同时限的 {t['breached']} 件；"
                     f"上期结转至本期处理 {t['carried']} 件。"))
    blocks.append(_count_table(data["by_grade"], "级别", "按级别"))
    blocks.append(_count_table(data["by_channel"], "渠道", "按渠道"))
    blocks.append(_p("合同响应时限：" + "；".join(data["clock_rules"]) + "。时长自申告时间（监控告警为告警开始时间）起算。"))
    blocks.append(_h("二、故障申告登记"))
    blocks.append(_table("故障申告登记", "登记表", REGISTER_COLUMNS, [_register_row(r) for r in data["rows"]],
                         empty="本期无故障申告。") | {"fractions": REGISTER_WIDTHS})
    blocks.append(_annex(data["rows"] + data["carried"], "故障申告明细（每项一列，含上期结转）", "明细"))
    blocks.append(_h("三、上期结转工单"))
    blocks.append(_table("上期结转工单（本期初尚未关闭）", "上期结转", REGISTER_COLUMNS,
                         [_register_row(r) for r in data["carried"]], empty="无上期结转工单。")
                  | {"fractions": REGISTER_WIDTHS})
    notes = [r for r in data["rows"] + data["carried"] if r["notes"]]
    if notes:
        blocks.append(_h("四、说明"))
        blocks.append(_table("级别调整、时间更正与超时原因", "说明", ["编号", "说明"], [[r["id"], r["notes"]] for r in notes]))
    return _doc(data, blocks, meta, contract)


def feedback_week(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    f = data["figures"]
    meta = [["周次", data["period"]["label"]], ["本周新增", f["new"]], ["本周完成", f["done"]], ["本周不采纳", f["declined"]],
            ["周末未关闭", f["open_at_end"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本周无需求反馈：未登记新的反馈，也无未关闭的反馈事项。"})
    blocks.append(_h("一、本周概况"))
    by_state = "、".join(f"{label} {f['by_state'][code]} 项" for code, label in FEEDBACK_STATES.items())
    blocks.append(_p(f"本周新增需求反馈 {f['new']} 项，完成 {f['done']} 项，不采纳 {f['declined']} 项；至周末仍在跟踪 "
                     f"{f['open_at_end']} 项。累计：{by_state}。"))
    cols = ["编号", "提出时间", "需求内容", "提出人", "状态", "排期", "说明", "关联工单"]

    def rows(items: list[dict[str, Any]]) -> list[list[Any]]:
        return [[x["id"], x["created"], x["title"], x["requester"], x["state_label"], x["plan"], x["note"], x["ticket"]]
                for x in items]

    blocks.append(_h("二、本周新增"))
    blocks.append(_table("本周新增需求反馈", "本周新增", cols, rows(data["new"]), empty="本周无新增需求反馈。"))
    blocks.append(_h("三、本周进展"))
    blocks.append(_table("本周状态变化", "本周进展", ["编号", "需求内容", "当前状态", "本周变化"],
                         [[x["id"], x["title"], x["state_label"], x["moves"]] for x in data["changed"]],
                         empty="本周无状态变化。"))
    blocks.append(_h("四、跟踪中的需求"))
    blocks.append(_table("未关闭的需求反馈（截至周末）", "跟踪中", cols, rows(data["open"]), empty="无未关闭的需求反馈。"))
    return _doc(data, blocks, meta, contract)



def service_blocks(sv: dict[str, Any], heading: str, *, unit_name: str) -> list[dict[str, Any]]:
    """The service section (服务台与响应时限) of a monthly, quarterly or annual report."""
    blocks: list[dict[str, Any]] = [_h(heading)]
    s, fb = sv["satisfaction"], sv["feedback"]
    breached = sv["breached_tickets"]
    sat = (f"满意度回访 {s['answers']} 人次，平均 {s['average']:.2f} 分（满分 5 分），满意（4 分及以上）占 "
           f"{s['satisfied_pct']:.1f}%" if s["answers"] else "未记录满意度回访")
    blocks.append(_p(f"{unit_name}登记故障申告 {sv['tickets']} 件，期末未关闭 {sv['open_at_end']} 件，期初结转 "
                     f"{sv['carried_in']} 件；超过合同时限的工单 {breached} 件。{sat}；需求反馈新增 {fb['new']} 项、完成 "
                     f"{fb['done']} 项、不采纳 {fb['declined']} 项，期末仍在跟踪 {fb['open_at_end']} 项。",
                     "warn" if breached else None))
    blocks.append(_count_table(sv["by_grade"], "级别", "工单按级别"))
    blocks.append(_count_table(sv["by_channel"], "渠道", "工单按渠道"))
    if sv["months"]:
        blocks.append(_table("各月工单", "各月工单", ["月份", "申告数", "已关闭", "超时工单"],
                             [[m["month"], m["tickets"], m["closed"], m["breached"]] for m in sv["months"]],
                             formats=[None, "int", "int", "int"]))
    rows = [[r["grade_label"], r["kind_label"], r["limit"], r["with_clock"], r["met"], r["breached"], r["met_pct"],
             r["median"], r["p90"], r["max"]] for r in sv["clocks"]]
    blocks.append(_table("响应与处理时长（对照合同时限）", "响应时限", ["级别", "时限", "合同时限", "计时工单", "达标", "超时",
                                                       "达标率", "中位数", "P90", "最长"], rows,
                         formats=[None, None, None, "int", "int", "int", "pct", None, None, None], empty="无工单。"))
    blocks.append(_p("统计口径：" + sv["method"] + "达标率 = 达标 /（达标 + 超时），计时中的不计入。合同时限："
                     + "；".join(sv["clock_rules"]) + "。"))
    title = "超时工单及原因" + ("（超时最长的前 30 项，完整清单见各月月报）" if sv["breach_list_limited"] else "")
    blocks.append(_table(title, "超时工单", ["编号", "级别", "事项", "时限", "截止时间", "完成情况", "超时", "原因说明"],
                         [[b["id"], b["grade_label"], b["title"] + (f"（{b['host']}）" if b["host"] else ""), b["clock"],
                           b["due"], b["done"], b["over"], b["reason"]] for b in sv["breaches"]],
                         empty="无超时工单。") | {"fractions": [1.3, 0.8, 2.0, 1.0, 1.2, 1.3, 0.8, 1.6]})
    if s["answers"]:
        dist = list(reversed(s["distribution"]))
        blocks.append(_table("满意度回访得分分布（人次）", "满意度", [f"{d['score']} 分" for d in dist] + ["平均分"],
                             [[d["count"] for d in dist] + [s["average"]]], formats=["int"] * len(dist) + ["num"]))
        if s["low"]:
            blocks.append(_table(f"{s['low_max']} 分及以下的回访意见", "回访意见", ["月份", "回访对象", "关联工单", "得分", "意见"],
                                 [[x["month"], x["requester"], x["ticket"] or "—", x["score"], x["remarks"]]
                                  for x in s["low"]], formats=[None, None, None, "int", None]))
    return blocks


def day_ticket_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The health daily's tickets (异常事件记录): registered that day, or still open from before."""
    return _table("本日工单（故障申告，含此前未关闭的）", "本日工单",
                  ["编号", "申告时间", "级别", "渠道", "故障现象（主机）", "状态", "处理情况", "时限"],
                  [[r["id"], r["opened_short"] + ("" if r["today"] else "\n（此前申告）"), r["grade_label"],
                    r["channel_label"], r["title"] + (f"（{r['host']}）" if r["host"] else ""), r["state_label"],
                    r["progress"], r["clock_lines"]] for r in rows],
                  empty="本日无故障申告工单。") | {"fractions": [1.35, 1.15, 0.85, 0.85, 1.8, 0.8, 2.0, 2.0]}

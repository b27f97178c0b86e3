"""Layout: assembled data -> a format-neutral document (title, meta, blocks).

Blocks (plain dicts) are what the HTML, DOCX and XLSX renderers print, so the three formats
always hold the same numbers:

* ``{"type": "heading", "text"}``
* ``{"type": "paragraph", "text", "status"?}`` (status ok/warn/crit colours the text)
* ``{"type": "notice", "text"}`` - a plain statement such as "本期无巡检数据"
* ``{"type": "kv", "title", "rows": [[key, value], ...]}``
* ``{"type": "table", "title", "sheet", "columns", "rows", "status_col"?, "empty"}``
* ``{"type": "chart", "title", "png"}`` (PNG bytes)
* ``{"type": "signoff", "rows": [[label, value], ...]}`` - 巡检人 / 复核人 / 日期
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo


class _LazyCharts:
    """Import matplotlib only when a chart is drawn."""

    def __getattr__(self, name: str) -> Any:
        from yunwei.reports import charts as mod

        return getattr(mod, name)


charts = _LazyCharts()

from yunwei.reports import health as health_mod

NO_DATA = "本期无巡检数据：日志中没有该时段的巡检记录，以下各项不作统计。"


def _v(x: Any, suffix: str = "") -> Any:
    """A cell value: numbers stay numbers; None becomes '—' (no data, never a zero)."""
    if x is None:
        return "—"
    return f"{x}{suffix}" if suffix else x


def _table(title: str, sheet: str, columns: list[str], rows: list[list[Any]], *, status_col: int | None = None,
           empty: str = "无") -> dict[str, Any]:
    return {"type": "table", "title": title, "sheet": sheet, "columns": columns, "rows": rows,
            "status_col": status_col, "empty": empty}


def _signoff(s: dict[str, Any]) -> dict[str, Any]:
    return {"type": "signoff", "rows": [["巡检人", "、".join(s.get("inspectors") or []) or ""],
                                        ["复核人", s.get("reviewer") or ""], ["日期", s.get("date") or ""]]}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def generated_at(tz: str | None = None) -> str:
    """The generation time in the client's zone (the report's, else ``$YUNWEI_TZ``), zone named:
    ``2026-11-25 17:21 (Asia/Shanghai)`` - never the machine's local zone."""
    from yunwei.reports.periods import client_tz

    zone = ZoneInfo(tz) if tz else client_tz()
    return f"{_utcnow().astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def _doc(data: dict[str, Any], blocks: list[dict[str, Any]], meta: list[list[Any]]) -> dict[str, Any]:
    return {"kind": data["kind"], "title": f"《{data['title']}》", "subtitle": data["period"]["title"],
            "period": data["period"], "meta": meta, "blocks": blocks, "empty": data.get("empty", False),
            "generated_at": generated_at(data["period"].get("tz"))}


def _trend_blocks(trends: list[dict[str, Any]], suffix: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"type": "paragraph", "text": f"{t['title']}（{suffix}）：无采样数据。"}
                                 for t in trends if t["empty"]]
    if any(not t["empty"] for t in trends):
        out.append({"type": "chart", "title": f"性能趋势（{suffix}）", "png": charts.trend_panel(trends, suffix)})
    return out


def _trend_table(trends: list[dict[str, Any]], title: str, sheet: str) -> dict[str, Any]:
    rows = []
    for t in trends:
        for s in t["series"]:
            for p in s["points"]:
                rows.append([t["title"], s["label"], p["t"], p["mean"], p["max"], p["n"]])
    return _table(title, sheet, ["指标", "序列", "时间", "平均值", "最大值", "样本数"], rows, empty="无采样数据")


# ----------------------------------------------------------------------------- kinds
def inspection_record(data: dict[str, Any]) -> dict[str, Any]:
    t = data["totals"]
    meta = [["巡检日期", data["period"]["first"]], ["巡检次数", t["runs"]], ["主机数", t["hosts"]],
            ["检查项结果数", t["checks"]], ["正常", t["ok"]], ["警告", t["warn"]], ["严重", t["crit"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本日无巡检记录：日志中没有该日的巡检作业。"})
    runs_rows = [[r["started"], r["ended"], r["profile_label"], r["operator"], r["status_label"], len(r["hosts"]),
                  r["counts"]["ok"], r["counts"]["warn"], r["counts"]["crit"], r["run_id"]] for r in data["runs"]]
    blocks.append(_table("巡检作业", "巡检作业", ["开始时间", "结束时间", "类型", "巡检人", "状态", "主机数",
                                          "正常", "警告", "严重", "作业编号"], runs_rows, empty="本日无巡检作业"))
    rows = []
    for r in data["runs"]:
        for h in r["hosts"]:
            for c in h["checks"]:
                rows.append([r["started"], h["host"], c["check_id"], c["category_label"], c["title"], c["instance"],
                             c["value_text"], c["threshold"], c["status_label"], c["evidence"], c["suggestion"]])
    blocks.append(_table("检查明细", "检查明细", ["巡检时间", "主机", "检查项编号", "类别", "检查项", "对象",
                                          "结果", "阈值", "状态", "依据", "处理建议"], rows, status_col=8,
                         empty="本日无检查结果"))
    blocks.append(_signoff(data["signoff"]))
    return _doc(data, blocks, meta)


def resource_record(data: dict[str, Any]) -> dict[str, Any]:
    meta = [["周期", data["period"]["title"]], ["文件系统数", len(data["filesystems"])],
            ["主机数", len(data["hosts"])], ["需关注的文件系统", len(data["at_risk"])]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本周无资源巡检数据：日志中没有该周的资源采样。"})
    fs_rows = [[f["host"], f["instance"], _v(f.get("size_gib")), f["first_pct"], f["last_pct"], f["max_pct"],
                f["growth_pct"], _v(f["growth_per_day"]), _v(f["days_to_full"], "") if f["days_to_full"] is not None
                else "不增长", f["status_label"], f["samples"]] for f in data["filesystems"]]
    blocks.append(_table("文件系统容量", "文件系统容量",
                         ["主机", "文件系统", "容量(GiB)", "期初使用率(%)", "期末使用率(%)", "最高使用率(%)",
                          "本周增长(百分点)", "日均增长(百分点)", "预计写满天数", "状态", "样本数"], fs_rows,
                         status_col=9, empty="无文件系统采样"))
    host_rows = [[h["host"], _v(h["cpu_avg"]), _v(h["cpu_max"]), _v(h["mem_avg"]), _v(h["mem_max"]),
                  _v(h["disk_avg"]), _v(h["disk_max"]), _v(h["load_avg"]), _v(h["load_max"])] for h in data["hosts"]]
    blocks.append(_table("主机资源使用", "主机资源",
                         ["主机", "CPU 平均(%)", "CPU 最高(%)", "内存平均(%)", "内存最高(%)", "磁盘 I/O 平均(%)",
                          "磁盘 I/O 最高(%)", "负载平均", "负载最高"], host_rows, empty="无主机资源采样"))
    if data["databases"]:
        blocks.append(_table("数据库容量", "数据库容量", ["主机", "数据库", "期初(MiB)", "期末(MiB)", "增长(MiB)",
                                                    "日均增长(MiB)"],
                             [[d["host"], d["database"], d["first_mib"], d["last_mib"], d["growth_mib"],
                               _v(d["growth_mib_per_day"])] for d in data["databases"]]))
    if data["at_risk"]:
        blocks.append({"type": "heading", "text": "需关注"})
        for f in data["at_risk"]:
            days = f"，按当前速度约 {f['days_to_full']} 天写满" if f["days_to_full"] is not None else ""
            blocks.append({"type": "paragraph", "status": f["status"],
                           "text": f"{f['host']} 的 {f['instance']} 使用率 {f['last_pct']}%{days}：清理过期数据或扩容。"})
    blocks.append(_signoff(data["signoff"]))
    return _doc(data, blocks, meta)


def health_daily(data: dict[str, Any], *, charts_on: bool = True) -> dict[str, Any]:
    t = data["totals"]
    meta = [["日期", data["period"]["first"]], ["健康评分", _v(data["score"])], ["评级", data["grade"]],
            ["巡检次数", t["runs"]], ["主机数", t["hosts"]], ["警告", t["warn"]], ["严重", t["crit"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本日无巡检数据：日志中没有该日的巡检记录，不给出健康评分。"})
    else:
        blocks.append({"type": "paragraph", "status": data["grade_status"],
                       "text": f"总体健康评分 {data['score']} 分（{data['grade']}）。评分方法：每个检查项取当日最差状态，"
                               f"每台主机 100 分，每个严重项扣 {health_mod.CRIT_PENALTY} 分、每个警告项扣 "
                               f"{health_mod.WARN_PENALTY} 分，总分为各主机得分的平均值。"})
    blocks.append(_table("主机状态", "主机状态", ["主机", "状态灯", "状态", "得分", "检查项数", "正常", "警告", "严重"],
                         [[h["host"], h["light"], h["status_label"], _v(h["score"]), h["items"], h["ok"], h["warn"],
                           h["crit"]] for h in data["hosts"]], status_col=2, empty="无主机数据"))
    blocks.append({"type": "heading", "text": "性能趋势"})
    if data["trends"]:
        if charts_on:
            blocks += _trend_blocks(data["trends"]["24h"], "近 24 小时")
            blocks += _trend_blocks(data["trends"]["7d"], "近 7 天")
        blocks.append(_trend_table(data["trends"]["7d"], "性能趋势数据（近 7 天，按小时）", "性能趋势"))
    blocks.append(_table("异常记录", "异常记录", ["时间", "主机", "检查项编号", "检查项", "对象（定位）", "结果", "状态",
                                          "依据", "处理建议"],
                         [[a["time"], a["host"], a["check_id"], a["title"], a["instance"], a["value_text"],
                           a["status_label"], a["evidence"], a["suggestion"]] for a in data["anomalies"]],
                         status_col=6, empty="本日无异常"))
    blocks.append(_table("补丁与更新", "补丁与更新", ["主机", "检查项", "结果", "状态", "依据", "处理建议"],
                         [[p["host"], p["title"], p["value_text"], p["status_label"], p["evidence"], p["suggestion"]]
                          for p in data["patches"]], status_col=3, empty="无补丁检查数据"))
    empty_changes = ("前一日无巡检数据，无法比较" if not data["previous_has_data"] else "与前一日相比无变化")
    blocks.append(_table(f"与前一日（{data['previous_date']}）相比的变化", "变化",
                         ["主机", "检查项编号", "检查项", "对象", "变化", "前一日", "本日"],
                         [[c["host"], c["check_id"], c["title"], c["instance"], c["change"], c["before"], c["after"]]
                          for c in data["changes"]], empty=empty_changes))
    return _doc(data, blocks, meta)


def _section_backup(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in ("backup", "restore_test"):
        s = data[key]
        out.append({"type": "paragraph", "text": f"{s['title']}：{s['text']}"})
    return out


def monthly(data: dict[str, Any], *, charts_on: bool = True) -> dict[str, Any]:
    ins, h = data["inspections"], data["health"]
    meta = [["月份", data["period"]["label"]], ["平均健康评分", _v(h["score_avg"])], ["评级", h["grade"]],
            ["应巡检次数", ins["required"]], ["实际巡检次数", ins["done"]], ["漏检次数", ins["missed_count"]],
            ["巡检完成率(%)", _v(ins["rate"])], ["重保天数", ins["heightened_days"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": NO_DATA})
    blocks.append({"type": "heading", "text": "一、总体运行情况"})
    if not data["empty"]:
        blocks.append({"type": "paragraph", "status": h["grade_status"],
                       "text": f"本月共执行巡检作业 {data['totals']['runs']} 次，覆盖主机 {len(data['hosts'])} 台，"
                               f"检查结果 {data['totals']['checks']} 条（正常 {data['totals']['ok']}、警告 "
                               f"{data['totals']['warn']}、严重 {data['totals']['crit']}）。平均健康评分 "
                               f"{_v(h['score_avg'])} 分（{h['grade']}）。"})
    blocks.append({"type": "heading", "text": "二、巡检执行情况"})
    blocks.append({"type": "paragraph",
                   "text": f"要求：每日巡检 1 次，重保期间每日 3 次。本月应巡检 {ins['required']} 次，实际完成 "
                           f"{ins['done']} 次，漏检 {ins['missed_count']} 次，完成率 {_v(ins['rate'], '%')}。"})
    blocks.append(_table("漏检明细", "漏检明细", ["日期", "应巡检", "实际巡检", "漏检", "重保时段"],
                         [[m["date"], m["required"], m["done"], m["missing"], m["window"]] for m in ins["missed"]],
                         empty="无漏检"))
    if ins["partial"]:
        blocks.append({"type": "paragraph",
                       "text": f"只覆盖部分主机的巡检作业（如 --limit 故障复查）{len(ins['partial'])} 次不计入完成次数；"
                               f"全量巡检须覆盖本月巡检过的全部 {len(ins['reference_hosts'])} 台主机。"})
        blocks.append(_table("部分主机巡检（不计入）", "部分主机巡检", ["日期", "开始时间", "巡检人", "覆盖主机",
                                                              "未覆盖主机", "作业编号"],
                             [[p["date"], p["started"], p["operator"], "、".join(p["hosts"]),
                               "、".join(p["missing_hosts"]), p["run_id"]] for p in ins["partial"]]))
    blocks.append(_table("每日巡检", "每日巡检", ["日期", "应巡检", "实际巡检", "部分主机巡检", "重保时段"],
                         [[d["date"], d["required"] if d["due"] else "未到期", d["done"], d["partial"], d["window"]]
                          for d in ins["days"]]))
    blocks.append({"type": "heading", "text": "三、服务可用性"})
    blocks.append(_table("服务可用性", "服务可用性", ["服务", "检测次数", "可用", "不可用", "可用率(%)"],
                         [[a["service"], a["samples"], a["up"], a["down"], _v(a["availability_pct"])]
                          for a in data["availability"]]))
    blocks.append({"type": "paragraph", "text": "可用率 = 服务检查项未出现严重（crit）状态的检测次数 ÷ 检测次数；"
                                                "一次检测为一台主机在一次巡检中的该服务检查。"})
    blocks.append({"type": "heading", "text": "四、异常统计（按类别）"})
    blocks.append(_table("异常统计", "异常统计", ["类别", "警告次数", "严重次数", "合计", "涉及检查项数"],
                         [[a["label"], a["warn"], a["crit"], a["total"], a["distinct_items"]]
                          for a in data["anomalies_by_category"]], empty="本月无异常"))
    blocks.append({"type": "heading", "text": "五、运行趋势"})
    if charts_on and h["daily"]:
        blocks.append({"type": "chart", "title": "每日健康评分",
                       "png": charts.line_chart("每日健康评分", "分", [{"label": "健康评分", "points": [
                           {"t": d["date"], "mean": d["score"], "max": d["score"]} for d in h["daily"]]}])})
    if charts_on and data["trends"]:
        blocks += _trend_blocks(data["trends"], "按日")
    blocks.append(_table("每日健康评分", "健康评分", ["日期", "健康评分"], [[d["date"], d["score"]] for d in h["daily"]],
                         empty="无数据"))
    if data["trends"]:
        blocks.append(_trend_table(data["trends"], "运行趋势数据（按日）", "运行趋势"))
    blocks.append({"type": "heading", "text": "六、隐患与改进措施"})
    blocks.append(_table("反复出现的隐患", "隐患", ["主机", "检查项编号", "检查项", "对象", "类别", "异常天数", "最严重",
                                             "最近依据", "处理建议"],
                         [[r["host"], r["check_id"], r["title"], r["instance"], r["category_label"], r["days"],
                           r["worst_label"], r["last_evidence"], r["suggestion"]] for r in data["risks"]],
                         status_col=6, empty=f"无反复出现（≥3 天）的隐患"))
    if data["fs_risks"]:
        blocks.append(_table("容量隐患", "容量隐患", ["主机", "文件系统", "期末使用率(%)", "预计写满天数"],
                             [[f["host"], f["instance"], f["last_pct"], f["days_to_full"]] for f in data["fs_risks"]]))
    blocks.append({"type": "paragraph", "text": "改进措施："})
    if data["measures"]:
        for i, m in enumerate(data["measures"], 1):
            blocks.append({"type": "paragraph", "text": f"{i}. {m}"})
    else:
        blocks.append({"type": "paragraph", "text": "本月无需新增改进措施。"})
    blocks.append({"type": "heading", "text": "七、备份与恢复测试"})
    blocks += _section_backup(data)
    blocks.append(_signoff({"inspectors": [], "reviewer": "", "date": data["period"]["last"]}))
    return _doc(data, blocks, meta)


def summary(data: dict[str, Any], *, charts_on: bool = True) -> dict[str, Any]:
    t, h = data["totals"], data["health"]
    meta = [["周期", data["period"]["title"]], ["平均健康评分", _v(h["score_avg"])], ["评级", h["grade"]],
            ["应巡检次数", t["required"]], ["实际巡检次数", t["done"]], ["漏检次数", t["missed"]],
            ["巡检完成率(%)", _v(t["rate"])]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": NO_DATA})
    services = [a["service"] for a in data["availability"]]
    blocks.append({"type": "heading", "text": "一、各月概况"})
    blocks.append(_table("各月概况", "各月概况",
                         ["月份", "巡检作业数", "应巡检", "实际巡检", "漏检", "完成率(%)", "健康评分", "警告", "严重",
                          "隐患数"] + [f"{s} 可用率(%)" for s in services],
                         [[m["month"], m["runs"], m["required"], m["done"], m["missed"], _v(m["rate"]), _v(m["health"]),
                           m["warn"], m["crit"], m["risks"]] + [_v(m["availability"].get(s)) for s in services]
                          for m in data["months"]]))
    if charts_on and any(m["health"] is not None for m in data["months"]):
        ms = [m for m in data["months"] if m["health"] is not None]
        blocks.append({"type": "chart", "title": "各月平均健康评分",
                       "png": charts.bar_chart("各月平均健康评分", [m["month"] for m in ms], [m["health"] for m in ms],
                                               unit="分")})
    blocks.append({"type": "heading", "text": "二、服务可用性"})
    blocks.append(_table("服务可用性", "服务可用性", ["服务", "检测次数", "可用", "可用率(%)"],
                         [[a["service"], a["samples"], a["up"], _v(a["availability_pct"])] for a in data["availability"]]))
    blocks.append({"type": "heading", "text": "三、主要隐患与改进措施"})
    blocks.append(_table("主要隐患", "隐患", ["主机", "检查项编号", "检查项", "对象", "异常天数", "涉及月数", "最严重",
                                          "处理建议"],
                         [[r["host"], r["check_id"], r["title"], r["instance"], r["days"], r["months"],
                           r["worst_label"], r["suggestion"]] for r in data["risks"]], status_col=6,
                         empty="无反复出现的隐患"))
    for i, m in enumerate(data["measures"], 1):
        blocks.append({"type": "paragraph", "text": f"{i}. {m}"})
    blocks.append({"type": "heading", "text": "四、备份与恢复测试"})
    blocks += _section_backup(data)
    blocks.append(_signoff({"inspectors": [], "reviewer": "", "date": data["period"]["last"]}))
    return _doc(data, blocks, meta)


LAYOUTS = {
    "inspection-record": inspection_record, "resource-record": resource_record, "health-daily": health_daily,
    "monthly": monthly, "quarterly": summary, "annual": summary,
}

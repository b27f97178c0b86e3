"""Layout: assembled data -> a format-neutral document the HTML, DOCX, XLSX and PDF renderers print.

A document is ``{kind, title, subtitle, cover, header, meta, blocks, signoff, generated_at,
audit_anchor, properties}``. Blocks are plain dicts:

* ``{"type": "heading", "text", "level"}`` (level 1 or 2: real heading styles in DOCX)
* ``{"type": "paragraph", "text", "status"?}`` (status ok/warn/crit colours the text)
* ``{"type": "notice", "text"}`` - a plain statement such as "本期无巡检数据"
* ``{"type": "table", "title", "sheet", "columns", "rows", "formats"?, "status_col"?, "empty",
  "only"?}`` - ``formats`` per column: ``pct`` (a percentage number), ``int``, ``num``, or None
  (text); ``only: "xlsx"`` keeps a bulky annex out of the printed formats (they say where it is);
  ``fractions`` (optional): relative column widths in DOCX instead of widths from the content
* ``{"type": "chart", "title", "png"}`` (PNG bytes)

``audit_anchor`` is the hook for the audit log's head (count and hash) printed in the footer of
every signed document; generate.Options fills it (empty when unavailable).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from yunwei.reports import health as health_mod
from yunwei.reports import humanise as hz


class _LazyCharts:
    """Import matplotlib only when a chart is drawn."""

    def __getattr__(self, name: str) -> Any:
        from yunwei.reports import charts as mod

        return getattr(mod, name)


charts = _LazyCharts()

NO_DATA = "本期无巡检数据：日志中没有该时段的巡检记录，以下各项不作统计。"
ANNEX_NOTE = "（完整明细见同名 XLSX 文件「{sheet}」工作表。）"


def _v(x: Any, suffix: str = "") -> Any:
    """A cell value: numbers stay numbers; None becomes '—' (no data, never a zero)."""
    if x is None:
        return "—"
    return f"{x}{suffix}" if suffix else x


def fmt_cell(value: Any, fmt: str | None) -> str:
    """The printed text of a cell (HTML, DOCX): the same figures the XLSX stores as numbers."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        if fmt == "pct":
            return f"{value:.2f}%"
        if fmt == "int":
            return str(int(round(value)))
        if isinstance(value, float):
            return f"{value:.2f}".rstrip("0").rstrip(".")
        return str(value)
    return str(value)


def _table(title: str, sheet: str, columns: list[str], rows: list[list[Any]], *, status_col: int | None = None,
           empty: str = "无", formats: list[str | None] | None = None, only: str | None = None,
           show_title: bool = True) -> dict[str, Any]:
    return {"type": "table", "title": title, "sheet": sheet, "columns": columns, "rows": rows,
            "status_col": status_col, "empty": empty, "formats": formats or [None] * len(columns), "only": only,
            "show_title": show_title}


def _h(text: str, level: int = 1) -> dict[str, Any]:
    return {"type": "heading", "text": text, "level": level}


def _p(text: str, status: str | None = None) -> dict[str, Any]:
    return {"type": "paragraph", "text": text, "status": status}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def generated_at(tz: str | None = None) -> str:
    """The generation time in the client's zone, zone named: ``2026-11-25 17:21 (Asia/Shanghai)``."""
    from yunwei.reports.periods import client_tz

    zone = ZoneInfo(tz) if tz else client_tz()
    return f"{_utcnow().astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def _cover(data: dict[str, Any], contract: Any) -> list[list[str]]:
    tz = data["period"].get("tz")
    made = generated_at(tz).split(" ")[0]
    return [["项目名称", contract.project_name], ["合同编号", contract.project_number],
            ["委托单位（甲方）", contract.client], ["服务单位（乙方）", contract.contractor],
            ["服务期", contract.period_text()], ["报告期", data["period"]["title"]],
            ["编制单位", contract.contractor], ["编制日期", made],
            ["时间", f"均为{data['period'].get('zone') or '本地时间'}（{tz}）"]]


def _doc(data: dict[str, Any], blocks: list[dict[str, Any]], meta: list[list[Any]], contract: Any,
         audit_anchor: str = "") -> dict[str, Any]:
    return {"kind": data["kind"], "title": f"《{data['title']}》", "plain_title": data["title"],
            "subtitle": data["period"]["title"], "period": data["period"], "meta": meta, "blocks": blocks,
            "empty": data.get("empty", False), "generated_at": generated_at(data["period"].get("tz")),
            "cover": _cover(data, contract), "header": contract.project_name if contract.configured else data["title"],
            "signoff": data.get("signoff") or {"rows": [], "date": ""}, "audit_anchor": audit_anchor,
            "properties": {"author": contract.contractor, "company": contract.contractor,
                           "subject": contract.project_name}}


# ----------------------------------------------------------------------------- shared pieces
def group_findings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Root causes only; the same problem on several hosts (same check, level, state and advice)
    becomes one printed row naming the hosts (the XLSX annex keeps one row per host and object)."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in rows:
        if not f["is_cause"]:
            continue
        key = (f["check_id"], f["title"], f["worst"], f["state"], f["suggestion"],
               f["host"] if f["consequences"] else "")
        g = groups.get(key)
        if g is None:
            groups[key] = g = {**f, "hosts": [], "objects": [], "occ": 0, "obs": 0, "firsts": [], "lasts": []}
        g["hosts"].append(f["host"] + (f"（{f['instance']}）" if f["instance"] else ""))
        g["occ"] += f["occurrences"]
        g["obs"] += f["observations"]
        g["firsts"].append(f["first"])
        g["lasts"].append(f["last"])
    out = []
    for g in groups.values():
        g["first"], g["last"] = min(g["firsts"]), max(g["lasts"])
        if len(g["hosts"]) > 1:
            g["where"] = f"{len(g['hosts'])} 台主机：{'、'.join(g['hosts'])}"
            g["location"] = g["where"]
        else:
            g["where"] = g["hosts"][0]
        out.append(g)
    return out


def _findings_table(rows: list[dict[str, Any]], title: str, sheet: str, *, empty: str) -> dict[str, Any]:
    """The problems of the period, one row per root cause (the same problem on several hosts in one
    row); consequences are named in 问题定位, every item is in the XLSX annex."""
    return _table(title, sheet, ["问题", "级别", "发现时间", "出现次数", "当前状态", "问题定位", "处理建议"],
                  [[f"{f['title']}（{f['where']}）", f["worst_label"],
                    f["first"] if f["first"] == f["last"] else f"{f['first']} 至 {f['last']}",
                    f"{f['occ']}/{f['obs']}" if f["obs"] else f["occ"],
                    f["state"] + (f"\n{f['recovered_at']}" if f["recovered_at"] and len(f["hosts"]) == 1 else ""),
                    f["location"] + (f"。{hz.shorten(f['evidence'], 50)}" if f["evidence"] else ""),
                    f["suggestion"] or "—"]
                   for f in group_findings(rows)], status_col=1, empty=empty)


def _findings_annex(rows: list[dict[str, Any]], sheet: str) -> dict[str, Any]:
    return _table("异常明细（含关联异常）", sheet, ["主机", "检查项编号", "检查项", "对象", "级别", "首次发现", "最近发现",
                                           "出现次数", "当前状态", "根因/关联", "取值", "阈值", "取证", "处理建议（原文）"],
                  [[f["host"], f["check_id"], f["title"], f["instance"], f["worst_label"], f["first"], f["last"],
                    f["occurrences"], f["state"], "根因" if f["is_cause"] else f"由“{f['cause_title']}”引起",
                    f["value_text"], f["threshold"], f["evidence"], f["suggestion_full"]] for f in rows],
                  formats=[None] * 7 + ["int"] + [None] * 6, status_col=4, only="xlsx")


def _diagnosis(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """问题定位与处理建议: one paragraph per root cause (grouped across hosts), consequences named."""
    groups = group_findings(rows)
    if not groups:
        return [_p("本期未发现需要处理的问题。")]
    out = []
    for i, f in enumerate(groups, 1):
        cons = f"；由此引起的关联异常 {f['consequences']} 项已并入本问题" if f["consequences"] else ""
        thr = f"，判定阈值：{f['threshold']}" if f["threshold"] else ""
        value = f"，取值 {f['value_text']}" if f["value_text"] and len(f["hosts"]) == 1 else ""
        out.append(_p(f"{i}. 【{f['worst_label']}】{f['title']}（{f['where']}）{value}{thr}；{f['first']} 首次发现，"
                      f"出现 {f['occ']} 次，{f['state']}{cons}。问题定位：{hz.shorten(f['evidence'], 80) or f['location']}。"
                      f"处理建议：{f['suggestion'] or '持续观察。'}", f["worst"]))
    return out


# ----------------------------------------------------------------------------- 日常巡检记录
def inspection_record(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    t = data["totals"]
    meta = [["巡检日期", data["period"]["first"]], ["应巡检次数", data["required"]],
            ["有效巡检次数", t["counted_runs"]], ["巡检主机数", t["hosts"]], ["异常问题（根因）", t["causes"]],
            ["未恢复问题", t["open"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本日无巡检记录：日志中没有该日的巡检作业。"})
    elif data["no_valid_run"]:
        blocks.append({"type": "notice", "text": "本日巡检作业均未完成或未到达任何主机，不构成有效巡检，需补做。"})
    blocks.append(_h("一、巡检概况"))
    if not data["empty"]:
        not_counted = t["runs"] - t["counted_runs"]
        blocks.append(_p(
            f"本日应巡检 {data['required']} 次，执行巡检作业 {t['runs']} 次，其中有效巡检 {t['counted_runs']} 次"
            + (f"（{not_counted} 次未完成或未到达主机，不计入）" if not_counted else "") +
            f"；巡检主机 {t['hosts']} 台，检查结果 {t['checks']} 条（正常 {t['ok']}、警告 {t['warn']}、严重 {t['crit']}）。"
            f"发现异常问题 {t['causes']} 项（按根因合并），其中至本日最后一次巡检仍未恢复 {t['open']} 项。"))
    blocks.append(_table("巡检作业", "巡检作业", ["开始时间", "类型", "巡检人", "作业状态", "主机数", "是否计入", "说明"],
                         [[r["started"], r["profile_label"], r["operator_name"], r["status_label"], len(r["hosts"]),
                           "计入" if r["counted"] else "不计入", r["not_counted_reason"] or "—"] for r in data["runs"]],
                         formats=[None, None, None, None, "int", None, None], empty="本日无巡检作业"))
    blocks.append(_h("二、异常项及处理"))
    blocks.append(_findings_table(data["findings"], "异常问题汇总（按根因合并）", "异常问题", empty="本日巡检未发现异常。"))
    blocks.append(_findings_annex(data["findings"], "异常明细"))
    blocks.append(_h("三、各主机巡检结果"))
    cols = data["run_columns"]
    if cols:
        blocks.append(_p("下表列出每台主机的全部检查项，每列为一次有效巡检的结果（取值），“结论”为当日最差状态。"
                         "判定阈值与完整取证信息见同名 XLSX 文件「检查明细」工作表。"))
    for h in data["hosts"]:
        c = h["counts"]
        blocks.append(_h(f"{h['host']}（{len(h['items'])} 项：正常 {c['ok']}、警告 {c['warn']}、严重 {c['crit']}）"
                         + ("，主机不可达" if h["unreachable"] else ""), 2))
        many = len(cols) > 4   # more runs than columns fit: first, last and the count of abnormal results
        shown_cols = [cols[0], cols[-1]] if many else cols
        rows = []
        for it in h["items"]:
            cells = []
            for col in shown_cols:
                res = it["results"].get(col["run_id"])
                text = res["text"] if res else "—"
                cells.append(text if len(text) <= 28 else text[:27] + "…")
            if many:
                bad = sum(1 for r in it["results"].values() if r["status"] in ("warn", "crit"))
                cells.append(f"{bad}/{len(it['results'])}")
            rows.append([it["title"], it["instance"] or "—", *cells, it["worst_label"]])
        heads = ([f"首次 {cols[0]['time']}", f"末次 {cols[-1]['time']}", "异常次数"] if many else
                 [f"第{i}次 {c['time']}" for i, c in enumerate(cols, 1)])
        blocks.append(_table(f"{h['host']} 巡检结果", f"主机 {h['host']}", ["检查项", "对象", *heads, "结论"], rows,
                             status_col=2 + len(heads), show_title=False))
    blocks.append(_table("检查明细", "检查明细", ["巡检时间", "主机", "检查项编号", "类别", "检查项", "对象", "结果",
                                          "阈值", "状态", "依据", "处理建议"],
                         [[a["time"], a["host"], a["check_id"], a["category_label"], a["title"], a["instance"],
                           a["value_text"], a["threshold"], a["status_label"], a["evidence"], a["suggestion"]]
                          for a in data["annex"]], status_col=8, empty="本日无检查结果", only="xlsx"))
    return _doc(data, blocks, meta, contract)


# ----------------------------------------------------------------------------- 资源巡检记录
def resource_record(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    meta = [["周期", data["period"]["title"]], ["文件系统数", len(data["filesystems"])],
            ["主机数", len(data["hosts"])], ["需关注的文件系统", len(data["at_risk"])]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本周无资源巡检数据：日志中没有该周的资源采样。"})
    blocks.append(_h("一、资源概况"))
    if not data["empty"]:
        blocks.append(_p(f"本周共执行资源巡检 {len(data['runs'])} 次，采集主机 {len(data['hosts'])} 台、文件系统 "
                         f"{len(data['filesystems'])} 个，其中需关注 {len(data['at_risk'])} 个。写满预测取自资源巡检"
                         "记录的容量预测结果（按历史增长趋势）。"))
    blocks.append(_h("二、文件系统容量"))
    blocks.append(_table("文件系统容量", "文件系统容量",
                         ["主机", "文件系统", "容量", "期初使用率", "期末使用率", "最高使用率", "本周增长（百分点）",
                          "预计写满", "状态"],
                         [[f["host"], f["instance"], f["size_text"] or "—", f["first_pct"], f["last_pct"], f["max_pct"],
                           f["growth_pct"], f["forecast_text"], f["status_label"]] for f in data["filesystems"]],
                         formats=[None, None, None, "pct", "pct", "pct", "num", None, None], status_col=8,
                         empty="无文件系统采样"))
    blocks.append(_h("三、主机资源使用"))
    blocks.append(_table("主机资源使用", "主机资源",
                         ["主机", "CPU 平均", "CPU 最高", "内存平均", "内存最高", "磁盘繁忙度平均", "磁盘繁忙度最高",
                          "负载平均", "负载最高"],
                         [[h["host"], h["cpu_avg"], h["cpu_max"], h["mem_avg"], h["mem_max"], h["disk_avg"],
                           h["disk_max"], h["load_avg"], h["load_max"]] for h in data["hosts"]],
                         formats=[None, "pct", "pct", "pct", "pct", "pct", "pct", "num", "num"], empty="无主机资源采样"))
    if data["databases"]:
        blocks.append(_h("四、数据库容量"))
        blocks.append(_table("数据库容量", "数据库容量", ["主机", "数据库", "期初大小", "期末大小", "本周增长",
                                                    "周增长率", "状态"],
                             [[d["host"], d["database"], d["first_text"], d["last_text"], d["growth_text"],
                               d["growth_week_pct"], d["status_label"]] for d in data["databases"]],
                             formats=[None, None, None, None, None, "pct", None], status_col=6))
    if data["at_risk"]:
        blocks.append(_h("需关注与处理建议"))
        for f in data["at_risk"]:
            blocks.append(_p(f"{f['host']} 的 {f['instance']}：使用率 {f['last_pct']:.2f}%，预计写满 {f['forecast_text']}。"
                             f"{f['suggestion'] or '清理过期数据或扩容。'}", f["status"]))
    return _doc(data, blocks, meta, contract)


# ----------------------------------------------------------------------------- 系统健康检查日报
def _trend_charts(trends: dict[str, Any], charts_on: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, label in (("24h", "近 24 小时"), ("7d", "近 7 天")):
        ts = trends.get(key) or []
        if not any(not t["empty"] for t in ts):
            out.append(_p(f"{label}无性能采样数据。"))
            continue
        if charts_on:
            out.append({"type": "chart", "title": f"性能趋势（{label}，每次巡检一个采样点，断开处为无采样）",
                        "png": charts.run_panel(ts, label)})
    return out


def _trend_annex(trends: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for t in trends.get("7d") or []:
        for line in t["lines"]:
            for p in line["points"]:
                rows.append([t["title"], line["label"], p["t"], p["value"]])
    return _table("性能采样数据（近 7 天）", "性能采样", ["指标", "主机/序列", "采样时间", "取值"], rows,
                  formats=[None, None, None, "num"], empty="无采样数据", only="xlsx")


def _patch_table(patches: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per host: pending updates, security updates, reboot needed."""
    hosts: dict[str, dict[str, Any]] = {}
    for p in patches:
        h = hosts.setdefault(p["host"], {"cells": {}, "worst": "ok", "advice": ""})
        h["cells"][p["check_id"]] = p["value_text"] or p["status_label"]
        if p["status"] in ("warn", "crit") and (p["status"] == "crit" or h["worst"] == "ok"):
            h["worst"] = p["status"]
        h["advice"] = h["advice"] or hz.client_text(p["suggestion"])
    from yunwei.reports import catalog as cat

    return _table("补丁与更新", "补丁与更新", ["主机", "待安装更新", "其中安全更新", "需要重启", "状态", "处理建议"],
                  [[host, h["cells"].get("HOST-PKG-001", "—"), h["cells"].get("HOST-PKG-002", "—"),
                    h["cells"].get("HOST-REBOOT-001", "—"), cat.STATUS_LABEL.get(h["worst"], ""), h["advice"] or "—"]
                   for host, h in sorted(hosts.items())], status_col=4, empty="无补丁检查数据")


def health_daily(data: dict[str, Any], contract: Any, *, charts_on: bool = True, **_: Any) -> dict[str, Any]:
    t = data["totals"]
    meta = [["日期", data["period"]["first"]], ["健康评分", _v(data["score"])], ["评级", data["grade"]],
            ["有效巡检次数", t["counted_runs"]], ["主机数", t["hosts"]], ["异常问题（根因）", t["causes"]],
            ["未恢复问题", t["open"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本日无巡检数据：日志中没有该日的巡检记录，不给出健康评分。"})
    elif data["no_valid_run"]:
        blocks.append({"type": "notice", "text": "本日巡检作业均未完成或未到达任何主机，不给出健康评分。"})
    blocks.append(_h("一、总体健康状况"))
    if data["score"] is not None:
        cap = (f"（各主机平均 {data['raw_score']} 分；因{'、'.join(data['score_caps'])}，评分封顶）"
               if data["score_caps"] else "")
        blocks.append(_p(f"本日总体健康评分 {data['score']} 分，评级“{data['grade']}”{cap}。共发现异常问题 {t['causes']} 项，"
                         f"至本日最后一次巡检仍未恢复 {t['open']} 项。", data["grade_status"]))
        blocks.append(_p(health_mod.method_text()))
    blocks.append(_table("主机健康状态", "主机状态", ["主机", "状态灯", "状态", "得分", "检查项数", "严重", "警告",
                                              "关联异常（已并入根因）"],
                         [[h["host"], h["light"], h["status_label"], h["score"], h["items"], h["crit"], h["warn"],
                           h["consequences"]] for h in data["hosts"]],
                         formats=[None, None, None, "num", "int", "int", "int", "int"], status_col=2,
                         empty="无主机数据"))
    if data["availability"]:
        blocks.append(_table("服务可用性（本日）", "服务可用性", ["服务", "可用率", "不可用时长", "统计时长", "巡检观测次数"],
                             [[a["service"], a["availability_pct"], a["down"], a["observed"], a["observations"]]
                              for a in data["availability"]], formats=[None, "pct", None, None, "int"]))
        if data["outages"]:
            blocks.append(_table("服务中断记录", "服务中断", ["服务", "发现时间", "恢复时间", "持续时长", "主机", "取证"],
                                 [[o["service"], o["start"], o["end"], o["duration"], o["hosts"], o["evidence"]]
                                  for o in data["outages"]]))
    blocks.append(_h("二、性能趋势"))
    if data["trends"]:
        blocks += _trend_charts(data["trends"], charts_on)
        blocks.append(_trend_annex(data["trends"]))
    blocks.append(_h("三、异常事件记录"))
    blocks.append(_findings_table(data["findings"], "异常事件（每个问题一行，关联异常并入根因）", "异常事件",
                                  empty="本日无异常。"))
    blocks.append(_findings_annex(data["findings"], "异常明细"))
    if "tickets" in data:
        from yunwei.reports.service import day_ticket_table

        blocks.append(day_ticket_table(data["tickets"]))
    if "alerts" in data:
        from yunwei.monitoring.report_data import alert_blocks

        blocks.append(_h("实时监控告警", 2))
        blocks += alert_blocks(data["alerts"], unit_name="本日")
    if data.get("web_regressions"):  # the web audit (web-audit job) of the day against earlier audits
        from yunwei.reports import catalog as cat

        blocks.append(_h("网站性能回退", 2))
        blocks.append(_table("网站性能回退（与上次 / 基线审计相比）", "网站性能回退", ["时间", "页面与指标", "级别", "证据", "处理建议"],
                             [[r["time"], r["instance"], cat.STATUS_LABEL.get(r["status"]), r["evidence"], r["suggestion"]]
                              for r in data["web_regressions"]], status_col=2))
    blocks.append(_h("四、问题定位与处理建议"))
    blocks += _diagnosis(data["findings"])
    if "backup" in data:
        blocks.append(_h("五、数据备份"))
        blocks += backup_blocks(data["backup"])
    blocks.append(_h("六、补丁与更新" if "backup" in data else "五、补丁与更新"))
    blocks.append(_patch_table(data["patches"]))
    blocks.append(_h("七、与前一日相比的变化" if "backup" in data else "六、与前一日相比的变化"))
    empty_changes = "前一日无巡检数据，无法比较。" if not data["previous_has_data"] else "与前一日相比无变化。"
    blocks.append(_table(f"与前一日（{data['previous_date']}）相比", "变化",
                         ["主机", "检查项", "对象", "变化", "前一日", "本日"],
                         [[c["host"], c["title"], c["instance"] or "—", c["change"], c["before"], c["after"]]
                          for c in data["changes"]], empty=empty_changes))
    return _doc(data, blocks, meta, contract)


# ----------------------------------------------------------------------------- 数据备份
def backup_blocks(b: dict[str, Any], *, monthly: bool = False) -> list[dict[str, Any]]:
    """Backups (reports/backups.py): the health daily's day, or the monthly report's windows."""
    blocks: list[dict[str, Any]] = []
    if not monthly:
        blocks.append(_p(b["text"]))
    if monthly and b.get("scheduled"):
        blocks.append(_table("备份完成情况（按数据集）", "备份完成情况",
                             ["数据集", "层级", "应备份次数", "按时完成", "漏备", "完成率", "其中全量（应/完成）"],
                             [[p["dataset"], p["tier"], p["required"], p["done"], p["missed"],
                               p["rate"], f"{p['required_full']} / {p['done_full']}"]
                              for p in b["per_dataset"]],
                             formats=[None, None, "int", "int", "int", "pct", None], empty="本期无到期的备份窗口"))
        blocks.append(_table("漏备记录（连续漏备合并为一行）", "漏备记录", ["数据集", "备份类型", "计划时间", "次数", "原因"],
                             [[g["dataset"], g["type"], g["when"], g["count"], g["reason"]] for g in b["missed_groups"]],
                             formats=[None, None, None, "int", None], empty="本期无漏备。"))
        blocks.append(_table("漏备明细（每个备份窗口）", "漏备明细", ["数据集", "层级", "备份类型", "计划时间", "窗口结束", "作业", "原因"],
                             [[w["dataset"], w["tier"], w["type"], w["start"], w["end"], w["job"], w["reason"]]
                              for w in b["missed"]], empty="本期无漏备。", only="xlsx"))
    if monthly:
        blocks.append(_table("完整性校验（本期）", "完整性校验", ["时间", "主机", "存储库", "结果", "说明"],
                             [[v["time"], v["host"], v["instance"], v["status_label"], v["evidence"]] for v in b["verify"]],
                             status_col=3, empty="本期未做完整性校验。"))
    if b.get("rows"):
        when = f"（{b['status_time']}）" if b.get("status_time") else ""
        blocks.append(_table(("最新备份状态" if monthly else "备份状态") + when, "备份状态",
                             ["数据集", "层级", "存储库", "最近备份", "距今", "时限", "最近全量", "校验", "状态"],
                             [[r["dataset"], r["tier"], r["repo"], r["newest"], r["age"], r["limit"], r["full"], r["verify"],
                               r["status_label"]] for r in b["rows"]], status_col=8))
    if b.get("space"):
        blocks.append(_table("备份存储空间", "备份存储空间", ["主机", "目录", "剩余空间", "预计写满", "状态"],
                             [[s["host"], s["path"], s["free"], s["days_full"], s["status_label"]] for s in b["space"]],
                             status_col=4))
    if not monthly and b.get("abnormal"):
        blocks.append(_table("备份异常与处理建议", "备份异常", ["主机", "检查项", "对象", "状态", "说明", "处理建议"],
                             [[a["host"], a["title"], a["instance"] or "—", a["status_label"], a["evidence"],
                               hz.client_text(a["suggestion"])] for a in b["abnormal"]], status_col=3))
    return blocks


# ----------------------------------------------------------------------------- 月度总结报告
def _comparison_table(rows: list[dict[str, Any]], prev_title: str) -> dict[str, Any]:
    return _table("与上月对比", "环比", ["指标", "本月", f"上月（{prev_title}）", "变化"],
                  [[r["figure"], _v(r["this"]), _v(r["prev"]), r["change"]] for r in rows],
                  formats=[None, "num", "num", None])


def _monthly_overview(data: dict[str, Any]) -> str:
    ins, h, t = data["inspections"], data["health"], data["totals"]
    causes = [f for f in data["results"]["findings"] if f.is_cause]
    crit = sum(1 for f in causes if f.worst == "crit")
    outages = data["availability"]["outages"]
    cap = f"（因{'；'.join(h['caps'])}，评级封顶）" if h["caps"] else ""
    parts = [f"本月共执行巡检作业 {t['runs']} 次，覆盖主机 {len(data['hosts'])} 台，检查结果 {t['checks']} 条。",
             (f"应巡检 {ins['required']} 次，有效完成 {ins['done']} 次，漏检 {ins['missed_count']} 次，完成率 "
              f"{fmt_cell(ins['rate'], 'pct')}。" if ins["required"] else
              f"本月尚无到期的巡检义务（服务期外或尚未结束的日期不计），已执行有效巡检 {ins['counted_runs']} 次。"),
             f"平均健康评分 {_v(h['score_avg'])} 分，评级“{h['grade']}”{cap}。",
             f"发现异常问题 {len(causes)} 项（按根因合并），其中严重 {crit} 项；" +
             (f"服务中断 {len(outages)} 次。" if outages else "未发生服务中断。"),
             f"隐患 {data['risks']['open']} 项未关闭（新发现 {data['risks']['new']} 项、持续 {data['risks']['carried']} 项），"
             f"本月关闭 {data['risks']['closed']} 项。"]
    comp = {r["figure"]: r for r in data.get("comparison") or []}
    if comp.get("健康评分") and comp["健康评分"]["change"] not in ("—", "无可比数据"):
        parts.append(f"与上月相比，健康评分{_trend_word(comp['健康评分']['change'])}，巡检完成率"
                     f"{_trend_word(comp.get('巡检完成率(%)', {}).get('change', '—'))}。")
    return "".join(parts)


def _trend_word(change: str) -> str:
    if change in ("—", "无可比数据"):
        return "无可比数据"
    if change == "持平":
        return "持平"
    return f"{'上升' if change.startswith('+') else '下降'} {change.lstrip('+-')}"


def monthly(data: dict[str, Any], contract: Any, *, charts_on: bool = True, **_: Any) -> dict[str, Any]:
    ins, h = data["inspections"], data["health"]
    meta = [["月份", data["period"]["label"]], ["平均健康评分", _v(h["score_avg"])], ["评级", h["grade"]],
            ["应巡检次数", ins["required"]], ["有效巡检次数", ins["done"]], ["漏检次数", ins["missed_count"]],
            ["巡检完成率", fmt_cell(ins["rate"], "pct") if ins["rate"] is not None else "—"],
            ["重保天数", ins["heightened_days"]]]
    blocks: list[dict[str, Any]] = []
    if not data["in_service"]:
        blocks.append({"type": "notice", "text": f"本月不在合同服务期（{contract.period_text()}）内，不计巡检义务。"})
    if data["empty"]:
        blocks.append({"type": "notice", "text": NO_DATA})
    blocks.append(_h("一、总体运行情况"))
    if not data["empty"]:
        blocks.append(_p(_monthly_overview(data), h["grade_status"]))
    if data["comparison"]:
        blocks.append(_comparison_table(data["comparison"], data.get("previous_title", "上月")))
    blocks.append(_h("二、巡检执行情况"))
    blocks.append(_p(ins["rule"] + f"本月应巡检 {ins['required']} 次，有效完成 {ins['done']} 次，漏检 "
                     f"{ins['missed_count']} 次。只有运行完成且到达主机、覆盖全部 {len(ins['reference_hosts'])} 台"
                     "主机的巡检计入完成次数。"))
    blocks.append(_table("漏检明细", "漏检明细", ["日期", "应巡检", "有效巡检", "漏检", "重保时段"],
                         [[x["date"], x["required"], x["done"], x["missing"], x["window"] or "—"] for x in ins["missed"]],
                         formats=[None, "int", "int", "int", None], empty="本月无漏检。"))
    if ins["not_counted"]:
        blocks.append(_table("未计入的巡检作业", "未计入作业", ["开始时间", "巡检人", "作业状态", "原因"],
                             [[x["started"], x["operator"], x["status_label"], x["reason"]] for x in ins["not_counted"]]))
    if ins["partial"]:
        blocks.append(_table("部分主机巡检（不计入）", "部分主机巡检", ["日期", "开始时间", "巡检人", "覆盖主机", "未覆盖主机"],
                             [[p["date"], p["started"], p["operator"], "、".join(p["hosts"]),
                               "、".join(p["missing_hosts"])] for p in ins["partial"]]))
    blocks.append(_table("每日巡检", "每日巡检", ["日期", "应巡检", "有效巡检", "部分主机巡检", "重保时段", "结论"],
                         [[d["date"], d["required"] if d["due"] else "—", d["done"], d["partial"], d["window"] or "—",
                           d["state"]] for d in ins["days"]], formats=[None, "int", "int", "int", None, None],
                         only="xlsx"))
    blocks.append(_h("三、服务可用性"))
    av = data["availability"]
    blocks.append(_table("服务可用性", "服务可用性", ["服务", "可用率", "不可用时长", "统计时长", "中断次数", "巡检观测次数"],
                         [[a["service"], a["availability_pct"], a["down"], a["observed"], a["outages"],
                           a["observations"]] for a in av["rows"]],
                         formats=[None, "pct", None, None, "int", "int"]))
    blocks.append(_p("计算方法：" + av["method"]))
    blocks.append(_h("四、事件与异常"))
    blocks.append(_table("本月事件", "事件", ["时间", "类型", "事件", "持续/次数", "状态", "说明"],
                         [[e["time"], e["kind"], e["what"], e["duration"], e["state"], e["detail"]]
                          for e in data["events"]], empty="本月无服务中断或严重异常。"))
    blocks.append(_table("异常统计（按类别）", "异常统计", ["类别", "问题数", "根因", "关联异常", "警告次数", "严重次数"],
                         [[a["label"], a["items"], a["causes"], a["consequences"], a["warn"], a["crit"]]
                          for a in data["results"]["by_category"]],
                         formats=[None, "int", "int", "int", "int", "int"], empty="本月无异常。"))
    blocks.append(_findings_annex(data["findings"], "异常明细"))
    if data.get("alerts") is not None:
        from yunwei.monitoring.report_data import alert_blocks

        blocks.append(_h("实时监控告警", 2))
        blocks += alert_blocks(data["alerts"], unit_name="本月", with_list=data["alerts"]["count"] <= 40)
    blocks.append(_h("五、运维工作"))
    w = data["work"]
    blocks.append(_table("作业执行", "作业执行", ["作业", "执行次数", "成功", "失败或中断"],
                         [[j["job"], j["runs"], j["ok"], j["failed"]] for j in w["jobs"]],
                         formats=[None, "int", "int", "int"], empty="本月无作业记录。"))
    blocks.append(_table("经双人复核执行的变更", "变更", ["执行时间", "作业", "申请人", "复核人", "执行人", "结果"],
                         [[c["time"], JOB_TEXT.get(c["job"], c["job"]), c["requester"], c["approver"], c["executor"],
                           c["result"]] for c in w["changes"]],
                         empty="本月无变更执行记录。" if w["audit_available"] else "审计日志不可读，无法列出变更。"))
    if data.get("service"):
        from yunwei.reports.service import service_blocks

        blocks += service_blocks(data["service"], "六、服务台与响应时限", unit_name="本月")
    blocks.append(_h("七、运行趋势"))
    if charts_on and h["daily"]:
        blocks.append({"type": "chart", "title": "每日健康评分",
                       "png": charts.line_chart("每日健康评分", "分", [{"label": "健康评分", "points": [
                           {"t": d["date"], "mean": d["score"], "max": d["score"]} for d in h["daily"]]}])})
    if charts_on and data["trends"] and any(not t["empty"] for t in data["trends"]):
        blocks.append({"type": "chart", "title": "性能趋势（按日）", "png": charts.trend_panel(data["trends"], "按日")})
    if not h["daily"]:
        blocks.append(_p("本月无健康评分数据。"))
    blocks.append(_table("每日健康评分", "健康评分", ["日期", "健康评分", "评级", "封顶原因"],
                         [[d["date"], d["score"], d["grade"], d["caps"] or "—"] for d in h["daily"]],
                         formats=[None, "num", None, None], empty="无数据", only="xlsx"))
    blocks.append(_h("八、隐患与改进措施"))
    r = data["risks"]
    blocks.append(_p(f"连续或反复出现（本月 ≥ 3 天）的问题列为隐患，跟踪至关闭：本月新发现 {r['new']} 项，自上月持续 "
                     f"{r['carried']} 项，关闭 {r['closed']} 项。"))
    blocks.append(_table("隐患跟踪", "隐患", ["问题", "级别", "本月异常天数", "发现于", "最近出现", "状态", "处理建议"],
                         [[f"{x['host']} {x['title']}" + (f"（{x['instance']}）" if x["instance"] else ""),
                           x["worst_label"], x["days"], x["since"], x["last"] or "—", x["state"], x["suggestion"] or "—"]
                          for x in r["rows"]], formats=[None, None, "int", None, None, None, None],
                         status_col=1, empty="本月无隐患。"))
    if data["capacity"]:
        blocks.append(_table("容量隐患（资源巡检预测）", "容量隐患", ["主机", "文件系统", "预计写满", "状态", "依据"],
                             [[f["host"], f["instance"], f["days_text"], f["status_label"], f["evidence"]]
                              for f in data["capacity"]], status_col=3))
    blocks.append(_p("改进措施："))
    for i, m in enumerate(data["measures"] or ["本月无需新增改进措施。"], 1):
        blocks.append(_p(f"{i}. {m}" if data["measures"] else m))
    blocks.append(_h("九、数据备份、恢复测试与安全基线核查"))
    blocks += [_p(f"{s['title']}：{s['text']}") for s in (data["backup"], data["restore_test"])]
    if "per_dataset" in data["backup"]:
        blocks += backup_blocks(data["backup"], monthly=True)
    blocks += _baseline_status(data)
    blocks.append(_h("十、下月工作计划"))
    nx = data["next"]
    if nx["rows"]:
        blocks.append(_table(f"{nx['month']}到期工作", "下月计划", ["工作", "应完成", "说明"],
                             [[x["item"], x["due"], x["note"]] for x in nx["rows"]]))
    else:
        blocks.append(_p(nx["text"]))
    return _doc(data, blocks, meta, contract)


def _baseline_status(data: dict[str, Any]) -> list[dict[str, Any]]:
    """安全基线核查: the last semi-annual check and the next due date (yunwei.reports.baseline.last_check)."""
    st = data.get("baseline")
    return [_p(f"安全基线核查：{st['text']}", "warn" if st["overdue"] is not False else None)] if st else []


JOB_TEXT = {"login_banner": "登录警示横幅", "schedule": "巡检计划调整", "baseline-enforce": "安全基线整改",
            "waivers": "安全基线豁免变更"}


# ----------------------------------------------------------------------------- 季度 / 年度
def _summary_narrative(data: dict[str, Any]) -> list[str]:
    t, h, months = data["totals"], data["health"], data["months"]
    name = "本季度" if data["kind"] == "quarterly" else "本年度"
    served = [m for m in months if m["in_service"]]
    with_data = [m for m in months if not m["empty"]]
    out = []
    if len(served) < len(months):
        out.append(f"合同服务期为 {data['contract_period']}，{name}内 {len(served)} 个月在服务期内，"
                   "服务期外的日期不计巡检义务。")
    rate = fmt_cell(t["rate"], "pct") if t["rate"] is not None else "—"
    out.append(f"{name}共执行巡检作业 {t['runs']} 次；应巡检 {t['required']} 次，有效完成 {t['done']} 次，漏检 "
               f"{t['missed']} 次，完成率 {rate}。")
    if with_data:
        best = max((m for m in with_data if m["health"] is not None), key=lambda m: m["health"], default=None)
        worst = min((m for m in with_data if m["health"] is not None), key=lambda m: m["health"], default=None)
        cap = f"（因{'；'.join(h['caps'])}，评级封顶）" if h["caps"] else ""
        text = f"平均健康评分 {_v(h['score_avg'])} 分，评级“{h['grade']}”{cap}。"
        if best and worst and best is not worst:
            text += f"各月中 {best['title']}最好（{best['health']} 分），{worst['title']}最差（{worst['health']} 分）。"
        out.append(text)
    av = [a for a in data["availability"] if a["availability_pct"] is not None]
    if av:
        out.append("服务可用率：" + "；".join(f"{a['service'].split('（')[0]} {a['availability_pct']:.2f}%"
                                          f"（中断 {a['outages']} 次，累计 {a['down']}）" for a in av) + "。")
    open_risks = [r for r in data["risks"] if r["state"] != "已关闭"]
    long_risks = [r for r in data["risks"] if r["months"] >= 3]
    out.append(f"共跟踪隐患 {len(data['risks'])} 项，期末仍未关闭 {len(open_risks)} 项"
               + (f"；其中 {len(long_risks)} 项持续 3 个月以上（如 {long_risks[0]['host']} {long_risks[0]['title']}，"
                  f"{long_risks[0]['lifecycle']}），须列入重点整改。" if long_risks else "。"))
    out.append(f"经双人复核执行变更 {t['changes']} 次。")
    return out


def summary(data: dict[str, Any], contract: Any, *, charts_on: bool = True, **_: Any) -> dict[str, Any]:
    t, h = data["totals"], data["health"]
    meta = [["周期", data["period"]["title"]], ["平均健康评分", _v(h["score_avg"])], ["评级", h["grade"]],
            ["应巡检次数", t["required"]], ["有效巡检次数", t["done"]], ["漏检次数", t["missed"]],
            ["巡检完成率", fmt_cell(t["rate"], "pct") if t["rate"] is not None else "—"]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": NO_DATA})
    blocks.append(_h("一、总体情况"))
    if not data["empty"]:
        blocks += [_p(x) for x in _summary_narrative(data)]
    blocks.append(_h("二、各月概况"))
    blocks.append(_table("各月概况", "各月概况",
                         ["月份", "应巡检", "有效巡检", "漏检", "完成率", "健康评分", "评级", "异常问题", "服务中断",
                          "未关闭隐患"],
                         [[m["month"], m["required"], m["done"], m["missed"], m["rate"], m["health"],
                           m["grade"], m["causes"], m["outages"], m["risks_open"]] if m["in_service"] else
                          [m["month"], "服务期外", "—", "—", None, None, "—", "—", "—", "—"]
                          for m in data["months"]],
                         formats=[None, "int", "int", "int", "pct", "num", None, "int", "int", "int"]))
    if charts_on and any(m["health"] is not None for m in data["months"]):
        ms = [m for m in data["months"] if m["health"] is not None]
        blocks.append({"type": "chart", "title": "各月平均健康评分",
                       "png": charts.bar_chart("各月平均健康评分", [m["month"] for m in ms], [m["health"] for m in ms],
                                               unit="分")})
    blocks.append(_h("三、服务可用性"))
    blocks.append(_table("服务可用性", "服务可用性", ["服务", "可用率", "不可用时长", "统计时长", "中断次数"],
                         [[a["service"], a["availability_pct"], a["down"], a["observed"], a["outages"]]
                          for a in data["availability"]], formats=[None, "pct", None, None, "int"]))
    blocks.append(_p("计算方法：" + data["availability_method"]))
    blocks.append(_table("服务中断记录", "服务中断", ["服务", "发现时间", "恢复时间", "持续时长", "主机"],
                         [[o["service"], o["start"], o["end"], o["duration"], o["hosts"]] for o in data["outages"]],
                         empty="本期无服务中断。"))
    blocks.append(_h("四、隐患跟踪"))
    blocks.append(_table("隐患跟踪", "隐患", ["问题", "级别", "出现月份数", "累计异常天数", "生命周期", "状态", "处理建议"],
                         [[f"{r['host']} {r['title']}" + (f"（{r['instance']}）" if r["instance"] else ""),
                           r["worst_label"], r["months"], r["days"], r["lifecycle"], r["state"], r["suggestion"] or "—"]
                          for r in data["risks"]], formats=[None, None, "int", "int", None, None, None], status_col=1,
                         empty="本期无隐患。"))
    blocks.append(_h("五、改进措施与下阶段工作"))
    for i, m in enumerate(data["measures"], 1):
        blocks.append(_p(f"{i}. {m}"))
    if not data["measures"]:
        blocks.append(_p("本期无未关闭隐患，下阶段按合同要求继续执行日常巡检、资源巡检与备份恢复测试。"))
    blocks.append(_h("六、数据备份、恢复测试与安全基线核查"))
    blocks += [_p(f"{s['title']}：{s['text']}") for s in (data["backup"], data["restore_test"])]
    if data["restore_test"].get("drill_text"):
        blocks.append(_p(f"恢复演练：{data['restore_test']['drill_text']}"))
    blocks += _baseline_status(data)
    if data.get("service"):
        from yunwei.reports.service import service_blocks

        blocks += service_blocks(data["service"], "七、服务台与响应时限",
                                 unit_name="本季度" if data["kind"] == "quarterly" else "本年度")
    return _doc(data, blocks, meta, contract)


LAYOUTS = {
    "inspection-record": inspection_record, "resource-record": resource_record, "health-daily": health_daily,
    "monthly": monthly, "quarterly": summary, "annual": summary,
}

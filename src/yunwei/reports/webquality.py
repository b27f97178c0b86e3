"""Layouts of 《网站性能优化报告》 (web-performance) and 《用户体验评估报告》 (ux); data: yunwei.webaudit.report_data."""

from __future__ import annotations

from typing import Any

from yunwei.reports.catalog import STATUS_LABEL
from yunwei.reports.document import _doc, _h, _p, _table, fmt_cell
from yunwei.servicedesk.model import FEEDBACK_STATES
from yunwei.webaudit.report_data import page_label as _page_label

PAGE_COLUMNS = ["页面（终端）", "性能", "无障碍", "最佳实践", "SEO", "LCP（ms）", "CLS", "TBT（ms）", "FCP（ms）",
                "速度指数（ms）", "总字节（KiB）", "请求数"]


def _kib(v: Any) -> Any:
    return None if v is None else round(v / 1024.0, 1)


def _page_rows(pages: list[dict[str, Any]]) -> list[list[Any]]:
    return [[_page_label(p["page"]), p["webq.score.performance"], p["webq.score.accessibility"],
             p["webq.score.best_practices"], p["webq.score.seo"], p["webq.lcp_ms"], p["webq.cls"], p["webq.tbt_ms"],
             p["webq.fcp_ms"], p["webq.si_ms"], _kib(p["webq.total_bytes"]), p["webq.requests"]] for p in pages]


def _score_chart(series: dict[str, list[tuple[str, float]]]) -> bytes:
    from yunwei.reports import charts

    fig = charts._figure(8.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    labels = sorted({t for pts in series.values() for t, _ in pts})
    index = {t: i for i, t in enumerate(labels)}
    for i, (inst, pts) in enumerate(sorted(series.items())):
        ax.plot([index[t] for t, _ in pts], [v for _, v in pts], marker="o", markersize=3,
                color=charts.COLORS[i % len(charts.COLORS)], label=_page_label(inst))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 100)
    ax.axhline(90, color="#2e7d32", linewidth=0.8, linestyle=":")
    ax.axhline(50, color="#c62828", linewidth=0.8, linestyle=":")
    ax.set_title("各页面性能得分（Lighthouse，每次审计一个点；90 分以上为良好）")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return charts._png(fig)


def web_performance(data: dict[str, Any], contract: Any, *, charts_on: bool = True, **_: Any) -> dict[str, Any]:
    meta = [["季度", data["period"]["label"]], ["审计次数", data["audits"]], ["页面×终端", len(data["pages"])],
            ["未解决问题", len(data["open"])], ["已整改", len(data["fixed"])], ["性能回退", len(data["regressions"])]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本季度无网站性能审计记录（web-audit），以下各项不作统计。"})
    blocks.append(_h("一、审计概况"))
    blocks.append(_p(
        f"本季度执行网站性能与内容质量审计 {data['audits']} 次"
        + (f"，最近一次 {data['last']}" if data.get("last") else "")
        + (f"；基线审计（服务起始）{data['baseline']}" if data.get("baseline") else "") + "。"
        "审计方法：Lighthouse 12（无头 Chromium）按固定配置分别以桌面与移动终端测试各页面，记录性能、无障碍、最佳实践、SEO "
        "得分与核心指标（LCP、CLS、TBT、FCP、速度指数、总字节、请求数）；链接检查工具（LinkChecker）检查站点地图内页面的"
        "失效与重定向链接；按站点地图 lastmod 计算各栏目更新时效；按配置的关键词检验站内搜索；读取 Web 服务器的压缩、"
        "HTTP/2、缓存与 TLS 配置。审计逐页顺序进行，单页限时、请求速率受限。"))
    blocks.append(_h("二、各页面得分与核心指标"))
    blocks.append(_table("各页面得分与核心指标（最近一次审计）", "页面指标", PAGE_COLUMNS, _page_rows(data["pages"]),
                         formats=[None] + ["int"] * 4 + ["int", "num", "int", "int", "int", "num", "int"],
                         empty="本季度无页面审计数据。"))
    if data["pages"]:
        blocks.append(_table("性能得分：季度初、最近与基线", "得分对比", ["页面（终端）", "基线审计", "本季度首次", "最近一次", "较基线变化"],
                             [[_page_label(p["page"]), p["base"], p["start"], p["webq.score.performance"],
                               None if p["base"] is None or p["webq.score.performance"] is None
                               else f"{p['webq.score.performance'] - p['base']:+.0f}"] for p in data["pages"]],
                             formats=[None, "int", "int", "int", None]))
    if charts_on and data["series"]:
        blocks.append({"type": "chart", "title": "性能得分趋势", "png": _score_chart(data["series"])})
    blocks.append(_h("三、性能回退"))
    blocks.append(_p("与上次审计及基线审计逐页、逐指标对比；得分下降 10 分以上，或 LCP/FCP/TBT/速度指数增加 25% 以上、总字节增加 "
                     "10% 以上、CLS 增加 0.05 以上记为回退（低于该幅度与同一页面重复测试的波动相当，见 bench/README.md）。"))
    blocks.append(_table("性能回退", "性能回退", ["页面与指标", "对比", "变化", "处理建议"],
                         [[_page_label(r["page"]) + " " + r["metric_title"], r["vars"]["against"], r["vars"]["change"],
                           r["check"]["suggestion"]] for r in data["regressions"]],
                         empty="无超过阈值的回退。"))
    blocks.append(_h("四、问题与整改"))
    blocks.append(_table("未解决的问题（最近一次审计）", "未解决问题", ["检查项", "对象", "级别", "证据", "处理建议", "首次发现"],
                         [[o["title"], _page_label(o["instance"]) if o["instance"] else "—", STATUS_LABEL.get(o["status"], o["status"]), o["evidence"], o["suggestion"], o["since"]]
                          for o in data["open"]], status_col=2, empty="最近一次审计未发现问题。")
                  | {"fractions": [1.0, 1.3, 0.5, 2.4, 2.4, 0.8]})
    blocks.append(_table("本季度已整改的问题", "已整改", ["检查项", "对象", "季度初", "最近一次审计"],
                         [[x["title"], _page_label(x["instance"]) if x["instance"] else "—", x["before"], x["evidence"]]
                          for x in data["fixed"]],
                         empty="本季度无已整改问题（或仅有一次审计）。"))
    blocks.append(_h("五、优化建议"))
    for i, text in enumerate(data["recommendations"], 1):
        blocks.append(_p(f"{i}. {text}"))
    if not data["recommendations"]:
        blocks.append(_p("最近一次审计未发现需要优化的问题，保持现有配置并按季度复测。"))
    return _doc(data, blocks, meta, contract)


def ux(data: dict[str, Any], contract: Any, **_: Any) -> dict[str, Any]:
    sat, fb = data["satisfaction"], data["feedback"]
    meta = [["季度", data["period"]["label"]], ["审计次数", data["audits"]],
            ["满意度回访", sat["answers"]], ["平均满意度", sat["average"] if sat["average"] is not None else "—"],
            ["新增需求反馈", fb["new"]], ["已完成需求", fb["done"]]]
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本季度无网站审计、需求反馈与满意度回访记录，以下各项不作统计。"})
    blocks.append(_h("一、评估方法"))
    blocks.append(_p("用户体验按季度评估，结合两方面：其一为网站审计（web-audit）的客观指标——各页面在桌面与移动终端的性能、"
                     "无障碍、最佳实践与 SEO 得分，栏目更新时效、失效链接与站内搜索；其二为服务台记录的用户反馈——需求反馈事项"
                     "及每月满意度回访评分（1-5 分，4 分及以上为满意）。"))
    blocks.append(_h("二、网站体验指标"))
    blocks.append(_table("各页面体验得分（最近一次审计）", "体验得分", ["页面（终端）", "性能", "无障碍", "最佳实践", "SEO"],
                         [r[:5] for r in _page_rows(data["pages"])], formats=[None, "int", "int", "int", "int"],
                         empty="本季度无页面审计数据。"))
    blocks.append(_table("内容质量与站内搜索（最近一次审计）", "内容质量", ["检查项", "对象", "级别", "证据"],
                         [[c["title"], c["instance"] or "—", STATUS_LABEL.get(c["status"], c["status"]), c["evidence"]] for c in data["content"]],
                         status_col=2, empty="本季度无内容质量检查记录。") | {"fractions": [1.0, 1.4, 0.5, 3.6]})
    blocks.append(_h("三、用户反馈与满意度"))
    blocks.append(_p(f"本季度满意度回访 {sat['answers']} 份（{sat['requesters']} 位用户），平均 "
                     f"{sat['average'] if sat['average'] is not None else '—'} 分，满意率 "
                     f"{fmt_cell(sat['satisfied_pct'], 'pct') if sat['satisfied_pct'] is not None else '—'}；新增需求反馈 "
                     f"{fb['new']} 项，完成 {fb['done']} 项，不采纳 {fb['declined']} 项，季末仍在处理 {fb['open_at_end']} 项。"))
    blocks.append(_table("满意度评分分布", "满意度分布", ["评分", "份数"],
                         [[f"{d['score']} 分", d["count"]] for d in sat["distribution"]], formats=[None, "int"]))
    blocks.append(_table("低分回访（需跟进）", "低分回访", ["月份", "用户", "工单", "评分", "意见"],
                         [[x["month"], x["requester"], x["ticket"] or "—", x["score"], x["remarks"]] for x in sat["low"]],
                         formats=[None, None, None, "int", None], empty="本季度无低分回访。"))
    blocks.append(_table("本季度需求反馈", "需求反馈", ["提出日期", "事项", "提出人", "状态", "计划 / 说明"],
                         [[i["created"], i["title"], i["requester"], FEEDBACK_STATES.get(i["state"], i["state"]), i["plan"]]
                          for i in data["items"]], empty="本季度无需求反馈。"))
    blocks.append(_h("四、本季度交付的改进"))
    for i, text in enumerate(data["delivered"], 1):
        blocks.append(_p(f"{i}. {text}"))
    if not data["delivered"]:
        blocks.append(_p("本季度无已完成的改进记录。"))
    blocks.append(_h("五、待改进事项"))
    blocks.append(_table("待改进事项（最近一次审计）", "待改进", ["检查项", "对象", "处理建议"],
                         [[o["title"], _page_label(o["instance"]) if o["instance"] else "—", o["suggestion"]] for o in data["open"]],
                         empty="无。") | {"fractions": [1.0, 1.6, 3.4]})
    return _doc(data, blocks, meta, contract)

"""Generate a report: assemble from the store, lay out, render every requested format, write atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.files import write_atomic
from yunwei.reports import assemble, document
from yunwei.reports.contract import Contract
from yunwei.reports.periods import Period, day_period, weeks_of
from yunwei.reports.plan import Plan
from yunwei.reports.templates import template_dirs
from yunwei.reports.windows import Window

FORMATS = ("html", "docx", "xlsx", "pdf")
from yunwei.reports.kinds import KINDS  # noqa: E402  (kind -> period unit)

TITLES = {
    "inspection-record": "日常巡检记录", "resource-record": "资源巡检记录", "health-daily": "系统健康检查日报",
    "monthly": "系统运行月度总结报告", "quarterly": "系统运行季度总结报告", "annual": "系统运行年度总结报告",
    "monthly-bundle": "月度交付材料", "tickets": "故障申告登记表", "feedback": "需求反馈周汇总",
    "restore-test": "数据备份恢复测试报告", "drill": "恢复演练报告",
    "baseline": "安全基线核查报告", "stress-test": "压力测试报告",
    "preflight": "节前系统健康检查报告", "heightened-summary": "重保期间运行总结",
    "emergency-drill": "应急演练报告",
    "web-performance": "网站性能优化报告", "ux": "用户体验评估报告",
    "vuln": "漏洞扫描报告", "security-daily": "安全运行日报",
}


@dataclass
class Options:
    formats: Sequence[str] = FORMATS
    out_dir: Path = Path("reports/out")
    templates: str | None = None
    windows: Sequence[Window] = ()
    charts: bool = True
    now: datetime | None = None
    dirs: list[Path] = field(default_factory=list)
    contract: Contract = field(default_factory=Contract)
    schedule: Any = None       # the approved schedule (yunwei.schedule.model.Schedule), when known
    # Hook for the audit log's head (count:hash) printed in the footer of every signed document;
    # the CLI fills it from yunwei.reports.anchor.audit_anchor(); empty when unavailable.
    audit_anchor: str = ""
    service_desk: Any = None   # yunwei.servicedesk.config.ServiceDeskConfig (None: the configured one)

    @property
    def plan(self) -> Plan:
        return Plan(self.contract, list(self.windows), self.schedule)


def parse_formats(raw: str | None) -> list[str]:
    if not raw:
        return list(FORMATS)
    out = []
    for part in raw.split(","):
        f = part.strip().lower()
        if not f:
            continue
        if f not in FORMATS:
            raise InputError("--format", None, f"unknown format {f!r} (one or more of {', '.join(FORMATS)})")
        if f not in out:
            out.append(f)
    if not out:
        raise InputError("--format", None, "no format given")
    return out


def assemble_data(kind: str, store: Any, period: Period, opts: Options) -> dict[str, Any]:
    plan, now = opts.plan, opts.now
    if kind == "inspection-record":
        return assemble.inspection_record(store, period, plan, now=now)
    if kind == "resource-record":
        return assemble.resource_record(store, period, plan, now=now)
    if kind == "health-daily":
        return assemble.health_daily(store, period, plan, with_trends=opts.charts, now=now)
    if kind == "monthly":
        return assemble.monthly(store, period, plan, now=now, with_trends=opts.charts)
    if kind in ("quarterly", "annual"):
        return assemble.summary(store, period, plan, now=now)
    if kind == "tickets":
        from yunwei.servicedesk.report_data import register

        return register(store, period, now=now, config=opts.service_desk, contract=opts.contract)
    if kind == "feedback":
        from yunwei.servicedesk.report_data import feedback_week

        return feedback_week(store, period, now=now, contract=opts.contract)
    if kind in ("restore-test", "drill"):
        from yunwei.reports import drills

        return (drills.restore_test if kind == "restore-test" else drills.drill)(store, period, plan, now=now)
    if kind == "baseline":
        from yunwei.reports.baseline import report

        return report(store, period, plan, now=now)
    if kind == "emergency-drill":
        from yunwei.special import drill as emergency

        return emergency.report(store, period, plan, now=now)
    if kind == "heightened-summary":
        from yunwei.special import summary

        return summary.report(store, period, plan, now=now)
    if kind == "preflight":
        from yunwei.preflight import report as preflight_report

        return preflight_report.report(store, period, plan, now=now)
    if kind == "stress-test":
        from yunwei.stress import report as stress_report

        return stress_report.report(store, period, plan, now=now)
    if kind in ("web-performance", "ux"):
        from yunwei.webaudit import report_data

        return (report_data.web_performance if kind == "web-performance" else report_data.ux)(store, period, plan, now=now)
    if kind in ("vuln", "security-daily"):
        from yunwei.reports import security

        return (security.vuln_report if kind == "vuln" else security.security_daily)(store, period, plan, now=now)
    raise InputError("KIND", None, f"unknown report kind {kind!r}")


def layout(kind: str, data: dict[str, Any], opts: Options) -> dict[str, Any]:
    from yunwei.reports import baseline, drill_layout, security, service, webquality
    from yunwei.preflight import report as preflight_report
    from yunwei.special import drill as emergency
    from yunwei.special import summary
    from yunwei.stress import report as stress_report

    layouts = {**document.LAYOUTS, "tickets": service.tickets_register, "feedback": service.feedback_week,
               "baseline": baseline.layout, "restore-test": drill_layout.restore_test, "drill": drill_layout.drill,
               "stress-test": stress_report.layout, "preflight": preflight_report.layout,
               "heightened-summary": summary.layout, "emergency-drill": emergency.layout,
               "web-performance": webquality.web_performance, "ux": webquality.ux,
               "vuln": security.vuln_layout, "security-daily": security.security_daily_layout}
    doc = layouts[kind](data, opts.contract, charts_on=opts.charts)
    doc["audit_anchor"] = opts.audit_anchor
    return doc


def render_all(kind: str, doc: dict[str, Any], data: dict[str, Any], opts: Options) -> dict[str, bytes]:
    """Render every format in memory first, so a failing renderer writes nothing at all."""
    from yunwei.reports import render_docx, render_html, render_xlsx

    out: dict[str, bytes] = {}
    docx = None
    for fmt in opts.formats:
        if fmt == "html":
            out[fmt] = render_html.render(doc, data, opts.dirs)
        elif fmt in ("docx", "pdf") and docx is None:
            docx = render_docx.render(doc, opts.dirs)
        if fmt == "docx":
            out[fmt] = docx  # type: ignore[assignment]
        elif fmt == "xlsx":
            out[fmt] = render_xlsx.render(doc, opts.dirs)
        elif fmt == "pdf":
            from yunwei.reports.pdf import docx_to_pdf

            out[fmt] = docx_to_pdf(docx, f"{kind}-{doc['period']['label']}")  # type: ignore[arg-type]
    return out


def file_stem(kind: str, period: Period) -> str:
    return f"{kind}-{period.label}"


def generate(kind: str, store: Any, period: Period, opts: Options, *, out_dir: Path | None = None) -> list[Path]:
    """Generate one report (or, for monthly-bundle, the month's whole hand-in). Returns the files written."""
    if not opts.dirs:
        opts.dirs = template_dirs(opts.templates)
    out_dir = out_dir or opts.out_dir
    if kind == "monthly-bundle":
        return generate_bundle(store, period, opts)
    data = assemble_data(kind, store, period, opts)
    doc = layout(kind, data, opts)
    payloads = render_all(kind, doc, data, opts)
    written = []
    for fmt, payload in payloads.items():
        path = out_dir / f"{file_stem(kind, period)}.{fmt}"
        write_atomic(path, payload)
        written.append(path)
    return written


def generate_bundle(store: Any, period: Period, opts: Options) -> list[Path]:
    """《月度交付材料》: every record and report of the month in one folder, with an index.

    Days without an inspection and weeks without resource data get no file; the index says so.
    """
    folder = opts.out_dir / f"monthly-bundle-{period.label}"
    written: list[Path] = []
    lines: list[tuple[str, str, list[Path]]] = []
    for day in period.days():
        dp = day_period(day, period.tz)
        if not assemble.inspection_runs(store, dp):
            lines.append((f"{day.isoformat()} 日常巡检记录 / 系统健康检查日报", "本日无巡检记录", []))
            continue
        files = generate("inspection-record", store, dp, opts, out_dir=folder / "inspection-records")
        files += generate("health-daily", store, dp, opts, out_dir=folder / "health-daily")
        written += files
        lines.append((f"{day.isoformat()} 日常巡检记录 / 系统健康检查日报", "", files))
    for wp in weeks_of(period):
        if assemble.resource_record(store, wp, opts.plan, now=opts.now)["empty"]:
            lines.append((f"{wp.label} 资源巡检记录", "本周无资源巡检数据", []))
            continue
        files = generate("resource-record", store, wp, opts, out_dir=folder / "resource-records")
        written += files
        lines.append((f"{wp.label} 资源巡检记录", "", files))
    from yunwei.servicedesk.report_data import feedback_week

    for wp in weeks_of(period):
        if feedback_week(store, wp, now=opts.now)["empty"]:
            lines.append((f"{wp.label} 需求反馈周汇总", "本周无需求反馈", []))
            continue
        files = generate("feedback", store, wp, opts, out_dir=folder / "feedback")
        written += files
        lines.append((f"{wp.label} 需求反馈周汇总", "", files))
    files = generate("tickets", store, period, opts, out_dir=folder)
    written += files
    lines.insert(0, (f"{period.label} 故障申告登记表", "", files))
    files = generate("monthly", store, period, opts, out_dir=folder)
    written += files
    lines.insert(0, (f"{period.label} 系统运行月度总结报告", "", files))
    index = _bundle_index(period, folder, lines)
    write_atomic(folder / "index.html", index)
    written.append(folder / "index.html")
    return written


def _bundle_index(period: Period, folder: Path, lines: list[tuple[str, str, list[Path]]]) -> bytes:
    from html import escape

    rows = []
    for title, note, files in lines:
        links = " ".join(f'<a href="{escape(str(p.relative_to(folder)))}">{escape(p.suffix[1:].upper())}</a>'
                         for p in files)
        rows.append(f"<tr><td>{escape(title)}</td><td>{links or escape(note)}</td></tr>")
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>月度交付材料 "
            f"{escape(period.title)}</title><style>body{{font-family:'Microsoft YaHei','微软雅黑','Noto Sans CJK SC',sans-serif;margin:24px}}"
            "table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px}</style></head><body>"
            f"<h1>月度交付材料（{escape(period.title)}）</h1><table><tr><th>材料</th><th>文件</th></tr>"
            + "".join(rows) + "</table></body></html>").encode("utf-8")

"""Every kind in every format from a real journal: open the DOCX (python-docx) and XLSX (openpyxl)
files and check that their tables hold exactly the assembled journal numbers."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import openpyxl
import pytest

from yunwei import cli
from yunwei.errors import YunweiError
from yunwei.reports import generate as gen
from yunwei.reports.periods import parse_period
from yunwei_dev.synthetic import make_journal
from yunwei.reports.windows import Window
from yunwei.store import open_store

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 10, tzinfo=timezone.utc)
WINDOWS = [Window("国庆重保", date(2026, 10, 1), date(2026, 10, 3))]
FMT = ("html", "docx", "xlsx")   # PDF is converted by LibreOffice in tests/integration/test_report_documents.py
CASES = [("inspection-record", "day", "2026-10-05"), ("health-daily", "day", "2026-10-05"),
         ("resource-record", "week", "2026-W41"), ("monthly", "month", "2026-10"),
         ("quarterly", "quarter", "2026-Q4"), ("annual", "year", "2026")]


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite"
    with open_store(path, reap=False) as store:
        truth = make_journal(store, start=date(2026, 10, 1), days=7, runs_per_day=1, hosts=4, checks_per_host=30,
                             heightened_days=[date(2026, 10, d) for d in (1, 2, 3)], skip=[(1, 2)], seed=7)
    return path, truth


@pytest.fixture(scope="module")
def generated(journal, tmp_path_factory):
    """(kind -> (data, doc, {fmt: path})) with charts on: what the renderers got and wrote."""
    out = tmp_path_factory.mktemp("out")
    result = {}
    with open_store(journal[0], reap=False) as store:
        for kind, unit, value in CASES:
            period = parse_period(unit, value, SH)
            opts = gen.Options(out_dir=out, windows=WINDOWS, now=NOW, formats=FMT)
            files = gen.generate(kind, store, period, opts)
            data = gen.assemble_data(kind, store, period, gen.Options(windows=WINDOWS, now=NOW, charts=False))
            doc = gen.layout(kind, data, gen.Options(charts=False))
            result[kind] = (data, doc, {f.suffix[1:]: f for f in files})
    return result


def _norm(value):
    """One spelling per value whichever file it came from: 95.0 (number) and '95.0' (DOCX text) -> '95'."""
    if value is None:
        return ""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and "e" not in text.lower() else text


def xlsx_table(path: Path, sheet: str) -> list[list[str]]:
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    return [[_norm(v) for v in row] for row in ws.iter_rows(values_only=True)]


def docx_tables(path: Path) -> list[list[list[str]]]:
    return [[[_norm(c.text) for c in row.cells] for row in t.rows] for t in docx.Document(str(path)).tables]


def tables_of(doc):
    return [b for b in doc["blocks"] if b["type"] == "table"]


@pytest.mark.parametrize("kind", [c[0] for c in CASES])
def test_every_table_in_xlsx_and_docx(generated, kind):
    """Every table holds the same figures in XLSX (numbers, percentages as fractions with a % format)
    and DOCX (printed text); annex tables (only: xlsx) are in the workbook and not in the document."""
    from yunwei.reports.document import fmt_cell

    data, doc, files = generated[kind]
    assert set(files) == set(FMT)
    wb = openpyxl.load_workbook(files["xlsx"])
    docx_tabs = docx_tables(files["docx"])
    for block in tables_of(doc):
        if not block["rows"]:
            continue
        fmts = block["formats"]
        ws = wb[block["sheet"]]
        got = [list(r) for r in ws.iter_rows(values_only=True)]
        assert got[0] == block["columns"], f"{kind}/{block['sheet']}"
        for row, cells in zip(block["rows"], got[1:]):
            for v, f, cell in zip(row, fmts, cells):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    assert isinstance(cell, (int, float)), f"{kind}/{block['sheet']}: {cell!r} stored as text"
                    assert cell == pytest.approx(v / 100 if f == "pct" else v)
                else:
                    assert _norm(cell) == _norm("—" if v is None else v)
        pct_col = next((i for i, f in enumerate(fmts) if f == "pct"), None)
        if pct_col is not None:
            numeric = [r for r in ws.iter_rows(min_row=2) if isinstance(r[pct_col].value, float)]
            assert all(r[pct_col].number_format == "0.00%" for r in numeric)
        if block.get("only") == "xlsx":
            continue
        printed = [[_norm(fmt_cell(v, f)) for v, f in zip(row, fmts)] for row in block["rows"]]
        table = next((t for t in docx_tabs if t[1:] == printed), None)
        assert table is not None, f"{kind}/{block['title']} (docx)"
    keys, values = docx_tabs[1]
    assert keys == [_norm(k) for k, _ in doc["meta"]] and values == [_norm(fmt_cell(v, None)) for _, v in doc["meta"]]


def test_inspection_record_numbers(generated, journal):
    data, _doc, files = generated["inspection-record"]
    truth = journal[1]
    runs = [r for r in truth.runs if r.started_at.astimezone(SH).date() == date(2026, 10, 5)]
    assert data["totals"]["runs"] == len(runs) == 1
    assert data["totals"]["checks"] == 4 * 30
    rows = xlsx_table(files["xlsx"], "检查明细")
    assert len(rows) == 1 + 4 * 30
    assert rows[0][:3] == ["巡检时间", "主机", "检查项编号"]
    fs = [r for r in rows if r[1] == "web01" and r[2] == "HOST-FS-001" and r[5] == "/srv/data"]
    assert fs and fs[0][6] == "66%" and fs[0][8] == "正常"          # 60 + 1.5 x 4 days
    d = docx.Document(str(files["docx"]))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "《日常巡检记录》" in text and "签字确认" in text
    signoff = d.tables[-1]
    assert [c.text for c in signoff.rows[0].cells] == ["角色", "姓名", "签字", "日期"]
    # no contract maps the login zhangsan to a person: the line is left for the hand, never the login
    assert [c.text for c in signoff.rows[1].cells][:3] == ["巡检人", "", ""]
    assert "zhangsan（未登记账号）" in [c.text for t in d.tables for r in t.rows for c in r.cells]


def test_monthly_numbers(generated):
    data, _doc, files = generated["monthly"]
    ins = data["inspections"]
    # 1..3 Oct heightened (3 a day, one skipped on the 2nd), 4..7 once a day, 8..31 nothing
    assert (ins["required"], ins["done"]) == (3 * 3 + 28, 3 * 3 - 1 + 4)
    missed = xlsx_table(files["xlsx"], "漏检明细")
    assert missed[1] == ["2026-10-02", "3", "2", "1", "国庆重保"]
    assert len(missed) == 1 + 1 + 24
    avail = {r[0]: r for r in xlsx_table(files["xlsx"], "服务可用性")[1:]}
    web = avail["网站服务（HTTP 可用性、页面关键字）"]
    assert web[4:6] == ["1", "12"]                         # one outage (HTTP crit on day 5) in 12 observing runs
    assert web[2] == "1 天"                                 # down from day 5 09:00 until day 6 09:00
    summary = openpyxl.load_workbook(files["xlsx"])["概要"]
    values = {r[0]: r[1] for r in summary.iter_rows(values_only=True) if r and r[0]}
    assert values["应巡检次数"] == 37 and values["有效巡检次数"] == 12 and values["漏检次数"] == 25
    html = files["html"].read_text(encoding="utf-8")
    assert "《系统运行月度总结报告》" in html and "data:image/png;base64," in html
    assert "本期无执行记录" in html  # the restore test (role restore_drill) had no run this month
    assert "<link" not in html and 'src="http' not in html      # self-contained


def test_health_daily_has_charts_and_score(generated):
    data, _doc, files = generated["health-daily"]
    assert data["score"] is not None
    html = files["html"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2              # 24 h and 7 days panels
    d = docx.Document(str(files["docx"]))
    assert len(d.inline_shapes) == 2
    keys, values = ([c.text for c in row.cells] for row in d.tables[1].rows)
    assert dict(zip(keys, values))["健康评分"] == _norm(data["score"])
    wb = openpyxl.load_workbook(files["xlsx"])
    assert "图表" in wb.sheetnames and len(wb["图表"]._images) == 2


def test_quarterly_from_months(generated):
    data, _doc, files = generated["quarterly"]
    rows = xlsx_table(files["xlsx"], "各月概况")
    assert [r[0] for r in rows[1:]] == ["2026-10", "2026-11", "2026-12"]
    oct_ = rows[1]
    assert oct_[1:4] == ["37", "12", "25"]
    assert rows[2][2] == "0" and rows[2][5] == "—"             # November: no data, no invented score


def test_empty_period_all_formats(journal, tmp_path):
    with open_store(journal[0], reap=False) as store:
        for kind, unit, value in (("inspection-record", "day", "2026-09-01"), ("health-daily", "day", "2026-09-01"),
                                  ("resource-record", "week", "2026-W36"), ("monthly", "month", "2026-09"),
                                  ("annual", "year", "2025")):
            files = gen.generate(kind, store, parse_period(unit, value, SH),
                                 gen.Options(out_dir=tmp_path, now=NOW, formats=FMT))
            html = next(f for f in files if f.suffix == ".html").read_text(encoding="utf-8")
            assert "无巡检" in html or "无资源巡检数据" in html, kind
            d = docx.Document(str(next(f for f in files if f.suffix == ".docx")))
            assert any("无" in p.text for p in d.paragraphs)
            openpyxl.load_workbook(next(f for f in files if f.suffix == ".xlsx"))


def test_bundle(journal, tmp_path):
    with open_store(journal[0], reap=False) as store:
        files = gen.generate("monthly-bundle", store, parse_period("month", "2026-10", SH),
                             gen.Options(out_dir=tmp_path, formats=("xlsx",), charts=False, windows=WINDOWS, now=NOW))
    folder = tmp_path / "monthly-bundle-2026-10"
    names = sorted(str(f.relative_to(folder)) for f in files)
    assert "monthly-2026-10.xlsx" in names and "index.html" in names
    assert "tickets-2026-10.xlsx" in names           # the service desk's register (empty month: says so)
    assert len([n for n in names if n.startswith("inspection-records/")]) == 7
    assert len([n for n in names if n.startswith("health-daily/")]) == 7
    assert len([n for n in names if n.startswith("resource-records/")]) == 2    # W40, W41 (W42..W44: no data)
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "2026-10-08" in index and "本日无巡检记录" in index and "2026-W43" in index and "本周无资源巡检数据" in index
    assert "故障申告登记表" in index and "本周无需求反馈" in index
    for f in files:                                   # every file of the hand-in opens
        if f.suffix == ".xlsx":
            assert "概要" in openpyxl.load_workbook(f, read_only=True).sheetnames
        assert f'href="{f.relative_to(folder)}"' in index or f.name == "index.html"


def test_failed_render_writes_nothing(journal, tmp_path, monkeypatch):
    from yunwei.reports import render_xlsx

    def boom(*a, **k):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(render_xlsx, "render", boom)
    with open_store(journal[0], reap=False) as store, pytest.raises(RuntimeError):
        gen.generate("inspection-record", store, parse_period("day", "2026-10-05", SH),
                     gen.Options(out_dir=tmp_path, formats=FMT))
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    gen.write_atomic(target, b"old")
    import os

    def fail(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        gen.write_atomic(target, b"new and longer")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_client_templates_override(journal, tmp_path, monkeypatch):
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    (tpl / "inspection-record.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block footer %}<footer>某某省政务云 运维服务</footer>{% endblock %}',
        encoding="utf-8")
    monkeypatch.setenv("YUNWEI_REPORT_TEMPLATES", str(tpl))
    with open_store(journal[0], reap=False) as store:
        files = gen.generate("inspection-record", store, parse_period("day", "2026-10-05", SH),
                             gen.Options(out_dir=tmp_path / "out", formats=("html",)))
    html = files[0].read_text(encoding="utf-8")
    assert "某某省政务云 运维服务" in html and "《日常巡检记录》" in html


def test_cli(journal, tmp_path, capsys):
    rc = cli.main(["report", "inspection-record", "--date", "2026-10-05", "--format", "xlsx,html",
                   "--store", str(journal[0]), "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in out) == ["inspection-record-2026-10-05.html",
                                                 "inspection-record-2026-10-05.xlsx"]


@pytest.mark.parametrize(("argv", "needle"), [
    (["monthly", "--month", "2026-13"], "--month"),
    (["monthly", "--date", "2026-02-30"], "--date"),
    (["inspection-record", "--date", "yesterdayish"], "--date"),
    (["inspection-record", "--week", "2026-W10"], "--week"),
    (["resource-record", "--week", "2026-W60"], "--week"),
    (["quarterly", "--quarter", "2026-Q0"], "--quarter"),
    (["annual", "--year", "twenty"], "--year"),
    (["monthly", "--month", "2026-10", "--format", "odt"], "--format"),
])
def test_cli_bad_input_exits_2(journal, tmp_path, capsys, argv, needle):
    rc = cli.main(["report", *argv, "--store", str(journal[0]), "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert needle in err
    assert list(tmp_path.iterdir()) == []


def test_missing_cjk_font_is_a_clear_error(monkeypatch):
    from yunwei.reports import charts

    monkeypatch.setattr(charts, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    charts.cjk_font.cache_clear()
    try:
        with pytest.raises(YunweiError, match="fonts-noto-cjk"):
            charts.cjk_font()
    finally:
        monkeypatch.undo()
        charts.cjk_font.cache_clear()
    assert "CJK" in charts.cjk_font()


def test_daily_scores_agree(generated):
    """The monthly report's score for a day is the health daily's score for that day."""
    monthly_daily = {d["date"]: d["score"] for d in generated["monthly"][0]["health"]["daily"]}
    assert monthly_daily["2026-10-05"] == generated["health-daily"][0]["score"]
    assert len(monthly_daily) == 7


def test_hostile_text_is_escaped_and_cleaned(tmp_path):
    """Evidence comes from logs: markup is escaped in HTML, control characters never break DOCX/XLSX."""
    import uuid
    from datetime import timedelta

    from yunwei.store import Check, Run

    started = datetime(2026, 10, 5, 1, 0, tzinfo=timezone.utc)
    with open_store(tmp_path / "j.sqlite", reap=False) as store:
        run = Run(id=str(uuid.uuid4()), job="inspect", profile="daily", operator="alice", started_at=started,
                  hosts=["web01"])
        store.begin_run(run)
        store.write_batch(run.id, checks=[Check(
            id="WEB-LOG-001", category="web", status="warn", host="web01", time=started + timedelta(seconds=5),
            title="nginx 错误日志", value=3, evidence='<script>alert("x")</script> \x1b[31mboom\x00\x07',
            suggestion="查看 /var/log/nginx/error.log & 处理")])
        store.finish_run(run.id, "ok")
        files = gen.generate("inspection-record", store, parse_period("day", "2026-10-05", SH),
                             gen.Options(out_dir=tmp_path / "out", formats=FMT))
    by = {f.suffix[1:]: f for f in files}
    html = by["html"].read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    rows = xlsx_table(by["xlsx"], "检查明细")
    assert rows[1][9] == '<script>alert("x")</script> [31mboom'
    assert any('<script>alert("x")</script> [31mboom' in cell for t in docx_tables(by["docx"]) for row in t
               for cell in row)


def test_client_docx_and_xlsx_templates(journal, tmp_path):
    """report.docx / report.xlsx in the client's folder: their letterhead or cover is kept, ours follows."""
    tpl = tmp_path / "tpl"
    tpl.mkdir()
    base = docx.Document()
    base.add_paragraph("某某科技有限公司 运维服务部")
    base.save(str(tpl / "report.docx"))
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    wb.active["A1"] = "某某科技有限公司"
    wb.save(tpl / "report.xlsx")
    with open_store(journal[0], reap=False) as store:
        files = gen.generate("inspection-record", store, parse_period("day", "2026-10-05", SH),
                             gen.Options(out_dir=tmp_path / "out", formats=("docx", "xlsx"), templates=str(tpl)))
    by = {f.suffix[1:]: f for f in files}
    paragraphs = [p.text for p in docx.Document(str(by["docx"])).paragraphs]
    assert paragraphs[0] == "某某科技有限公司 运维服务部" and "《日常巡检记录》" in paragraphs
    sheets = openpyxl.load_workbook(by["xlsx"]).sheetnames
    assert sheets[0] == "封面" and "检查明细" in sheets


def test_generated_at_is_in_the_client_zone_with_the_zone_shown(generated, monkeypatch, tmp_path):
    """The machine's own zone (here UTC) must not leak into 生成时间: it is client time, zone named."""
    import time as _time

    from yunwei.reports import document

    monkeypatch.setenv("TZ", "UTC")
    _time.tzset()
    try:
        instant = datetime(2026, 11, 25, 9, 21, tzinfo=timezone.utc)
        monkeypatch.setattr(document, "_utcnow", lambda: instant)
        data, _doc, _files = generated["monthly"]
        doc = gen.layout("monthly", data, gen.Options(charts=False))
        assert doc["generated_at"] == "2026-11-25 17:21 (Asia/Shanghai)"
        monkeypatch.setenv("YUNWEI_TZ", "Europe/Berlin")          # the client zone, not the machine's
        assert document.generated_at() == "2026-11-25 10:21 (Europe/Berlin)"
        html = gen.render_all("monthly", doc, data, gen.Options(formats=["html"], dirs=gen.template_dirs(None)))
        assert "生成时间：2026-11-25 17:21 (Asia/Shanghai)" in html["html"].decode("utf-8")
    finally:
        monkeypatch.undo()
        _time.tzset()

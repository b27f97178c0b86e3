"""Honest figures and the contract profile: what the client signs must be true.

Journals are written through the store API (tests/report_journals.py); the layouts are checked in
the DOCX/XLSX files themselves (page setup, header/footer fields, styles, fonts, number formats).
"""

from __future__ import annotations

import sys
import zipfile
from datetime import date, datetime, timezone
from pathlib import Path

import docx
import openpyxl
import pytest

from yunwei import cli
from yunwei.errors import InputError
from yunwei.reports import assemble, health
from yunwei.reports import generate as gen
from yunwei.reports import humanise as hz
from yunwei.reports.contract import load_contract, parse_contract
from yunwei.reports.periods import parse_period
from yunwei.reports.plan import Plan
from yunwei.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report_journals import (  # noqa: E402
    CONTRACT, DB_UNREACHABLE, NGINX_DOWN, NO_HOST_DAYS, SH, contract, year_journal,
)

NOW = datetime(2027, 1, 10, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    path = tmp_path_factory.mktemp("year") / "journal.sqlite"
    with open_store(path, reap=False) as store:
        year_journal(store)
    return path


# ----------------------------------------------------------------------------- contract profile
@pytest.mark.parametrize(("mutate", "key"), [
    (lambda c: c["project"].pop("number"), "project.number"),
    (lambda c: c["service_period"].update(end="2026-01-01"), "service_period.end"),
    (lambda c: c["service_period"].update(start="2026-02-30"), "service_period.start"),
    (lambda c: c["team"][1]["logins"].append("zhangwei"), "team[1].logins"),
    (lambda c: c["signers"]["monthly"].append({"role": "审核人", "name": "root"}), "signers.monthly[3].name"),
    (lambda c: c["signers"]["monthly"].append({"role": "审核人", "name": "zhangwei"}), "signers.monthly[3].name"),
    (lambda c: c["signers"].update(weekly=[{"role": "x"}]), "signers.weekly"),
    (lambda c: c.update(obligations={"inspection_per_day": "twice"}), "obligations.inspection_per_day"),
    (lambda c: c.update(colour="red"), "colour"),
])
def test_bad_contract_names_file_and_key(mutate, key):
    import copy

    data = copy.deepcopy(CONTRACT)
    mutate(data)
    with pytest.raises(InputError) as err:
        parse_contract(data, "contract.yml")
    assert err.value.source == "contract.yml" and err.value.key == key


def test_bad_contract_file_exits_2_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "contract.yml"
    bad.write_text("project: {name: x}\n", encoding="utf-8")
    out = tmp_path / "out"
    rc = cli.main(["report", "monthly", "--month", "2026-10", "--store", str(tmp_path / "j.sqlite"),
                   "--out", str(out), "--contract", str(bad), "--format", "html"])
    assert rc == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "project.number" in err
    assert not out.exists()


def test_the_committed_example_contract_is_valid():
    c = load_contract(Path(__file__).resolve().parents[2] / "contract.yml")
    assert c.configured and c.start and c.end and c.signers_for("monthly")
    assert c.person("lina") == "李娜" and c.person("root") == "root（未登记账号）"


# ----------------------------------------------------------------------------- honest counts
def test_runs_reaching_no_host_never_count(year):
    c = contract()
    with open_store(year, reap=False) as store:
        m = assemble.monthly(store, parse_period("month", "2026-08", SH), Plan(c), now=NOW, with_trends=False)
    ins = m["inspections"]
    assert [x["date"] for x in ins["missed"]] == [d.isoformat() for d in NO_HOST_DAYS]
    assert {x["reason"] for x in ins["not_counted"]} == {"清单中无主机"}
    assert ins["rate"] == round(100 * 28 / 31, 1)


def test_obligations_only_inside_the_service_period(year):
    c = contract()
    with open_store(year, reap=False) as store:
        jan = assemble.monthly(store, parse_period("month", "2026-01", SH), Plan(c), now=NOW, with_trends=False)
        annual = assemble.summary(store, parse_period("year", "2026", SH), Plan(c), now=NOW)
    assert jan["inspections"]["required"] == 0 and jan["inspections"]["missed"] == []
    assert not jan["in_service"]
    assert annual["totals"]["required"] == 306                 # 1 March .. 31 December
    assert annual["totals"]["missed"] == len(NO_HOST_DAYS)
    assert [m["in_service"] for m in annual["months"]][:3] == [False, False, True]


def test_required_per_day_comes_from_the_schedule(tmp_path):
    from yunwei.schedule.model import parse_text

    sched = parse_text("timezone: Asia/Shanghai\njobs:\n  inspect: {cron: '0 9,15 * * *'}\n"
                       "heightened:\n  jobs: [inspect]\n  cron: '0 8,12,16,20 * * *'\n"
                       "  windows:\n    - {name: 国庆节, kind: holiday, start: 2026-10-01, end: 2026-10-07, systems: [web],"
                       " rota: [{on_duty: [a, b]}]}\n"
                       "operators:\n  a: {name: 甲, phone: '1'}\n  b: {name: 乙, phone: '2'}\n",
                       "schedule.yml", check_jobs=False)
    plan = Plan(contract(), [], sched)
    assert plan.required(date(2026, 9, 30)) == 2               # two planned runs: more than the contract's one
    assert plan.required(date(2026, 10, 2)) == 4               # heightened cron: four
    assert plan.required(date(2026, 2, 1)) == 0                # before the service period


def test_a_day_with_the_website_down_is_never_good(year):
    with open_store(year, reap=False) as store:
        d = assemble.health_daily(store, parse_period("day", NGINX_DOWN.date().isoformat(), SH), Plan(contract()),
                                  now=NOW, with_trends=False)
    assert d["grade"] in ("较差", "危险") and d["score"] <= health.CAP_SERVICE
    nginx = next(f for f in d["findings"] if f["check_id"] == "WEB-NGINX-001")
    assert nginx["is_cause"] and nginx["consequences"] == 3
    followers = [f for f in d["findings"] if f["host"] == "web01" and not f["is_cause"]]
    assert {f["check_id"] for f in followers} == {"HOST-PORT-001", "WEB-HTTP-001", "WEB-HTTP-003"}
    web01 = next(h for h in d["hosts"] if h["host"] == "web01")
    # the consequences are not scored again: only the cause (and the synthetic /srv/data crit) count
    assert web01["consequences"] == 3 and web01["crit"] == 2


def test_unreachable_host_scores_below_a_degraded_one():
    assert health.host_score([], unreachable=True) < health.host_score(["crit", "crit", "warn"])


def test_unreachable_day_caps_the_grade(year):
    with open_store(year, reap=False) as store:
        d = assemble.health_daily(store, parse_period("day", DB_UNREACHABLE.date().isoformat(), SH),
                                  Plan(contract()), now=NOW, with_trends=False)
    db01 = next(h for h in d["hosts"] if h["host"] == "db01")
    assert db01["score"] == 0.0 and db01["status_label"] == "不可达"
    assert d["score"] <= health.CAP_SERVICE


def test_availability_is_time_weighted(year):
    with open_store(year, reap=False) as store:
        june = assemble.monthly(store, parse_period("month", "2026-06", SH), Plan(contract()), now=NOW,
                                with_trends=False)
    web = next(a for a in june["availability"]["rows"] if a["service"].startswith("网站"))
    # one probe failed at 06-10 14:00; the next run saw it up at 06-11 09:00: 19 hours down, not 1 sample in 31
    assert web["down_s"] == 19 * 3600
    assert web["availability_pct"] == round(100 * (1 - 19 * 3600 / (30 * 86400)), 2)
    assert "时间加权" in june["availability"]["method"]


def test_a_year_of_a_full_filesystem_is_not_good(year):
    with open_store(year, reap=False) as store:
        annual = assemble.summary(store, parse_period("year", "2026", SH), Plan(contract()), now=NOW)
    assert annual["health"]["grade"] != "良好" and annual["health"]["caps"]
    fs = next(r for r in annual["risks"] if r["check_id"] == "HOST-FS-001")
    assert fs["months"] >= 11 and fs["state"] != "已关闭" and "至期末未关闭" in fs["lifecycle"]


def test_monthly_month_on_month_and_next_obligations(year):
    with open_store(year, reap=False) as store:
        sep = assemble.monthly(store, parse_period("month", "2026-09", SH), Plan(contract()), now=NOW,
                               with_trends=False)
    figures = {r["figure"]: r for r in sep["comparison"]}
    assert figures["巡检完成率(%)"]["prev"] == round(100 * 28 / 31, 1) and figures["巡检完成率(%)"]["this"] == 100.0
    items = {r["item"]: r for r in sep["next"]["rows"]}
    assert items["日常巡检"]["due"] == "31 次" and "恢复演练" not in items     # October: not a quarter's end
    with open_store(year, reap=False) as store:
        aug = assemble.monthly(store, parse_period("month", "2026-08", SH), Plan(contract()), now=NOW,
                               with_trends=False, compare=False)
    assert "恢复演练" in {r["item"] for r in aug["next"]["rows"]}              # September closes Q3


# ----------------------------------------------------------------------------- Chinese for the client
@pytest.mark.parametrize(("value", "unit", "text"), [
    (100000, "B/s", "100 KB/s"), (2_500_000, "B/s", "2.5 MB/s"), (9978371, "B", "9.52 MiB"),
    (0.01, "d", "14.4 分钟"), (1.5, "d", "1 天 12 小时"), (80, "d", "80 天"), (0.85, "s", "850 毫秒"),
    (88.324, "%", "88.32%"), ("unsynchronised", "", "未同步"), ("stopped", "", "已停止"), (None, "", ""),
])
def test_values_in_chinese_with_human_units(value, unit, text):
    assert hz.value_text(value, unit) == text


def test_thresholds_carry_their_direction():
    assert hz.threshold_text({"warn": 85, "crit": 95}, "%") == "警告 ≥ 85%，严重 ≥ 95%"
    assert hz.threshold_text({"warn": 95, "crit": 90}, "%") == "警告 ≤ 95%，严重 ≤ 90%"


def test_command_syntax_leaves_client_prose():
    assert hz.client_text("在维护窗口内安装更新（apt-get upgrade / dnf upgrade），先在测试环境验证") == \
        "在维护窗口内安装更新，先在测试环境验证"
    assert hz.client_text("检查网络（端口、密钥）") == "检查网络（端口、密钥）"


# ----------------------------------------------------------------------------- layouts
@pytest.fixture(scope="module")
def files(year, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    with open_store(year, reap=False) as store:
        return {f.suffix[1:]: f for f in gen.generate(
            "monthly", store, parse_period("month", "2026-06", SH),
            gen.Options(out_dir=out, now=NOW, contract=contract(), formats=("docx", "xlsx"), charts=False,
                        audit_anchor="7:0123456789abcdef"))}


def test_docx_is_a4_with_header_footer_headings_and_windows_fonts(files):
    d = docx.Document(str(files["docx"]))
    s = d.sections[0]
    assert (round(s.page_width.cm, 1), round(s.page_height.cm, 1)) == (21.0, 29.7)
    assert "省政务云上云平台运维服务项目" in s.header.paragraphs[0].text
    footer = zipfile.ZipFile(files["docx"]).read("word/footer1.xml").decode() if "word/footer1.xml" in \
        zipfile.ZipFile(files["docx"]).namelist() else "".join(
            zipfile.ZipFile(files["docx"]).read(n).decode() for n in zipfile.ZipFile(files["docx"]).namelist()
            if n.startswith("word/footer"))
    assert "PAGE" in footer and "NUMPAGES" in footer and "第 " in footer and "7:0123456789abcdef" in footer
    headings = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "一、总体运行情况" and "签字确认" in headings
    body = zipfile.ZipFile(files["docx"]).read("word/document.xml").decode()
    assert "<w:tblHeader/>" in body and "<w:cantSplit/>" in body and 'w:type="fixed"' in body
    styles = zipfile.ZipFile(files["docx"]).read("word/styles.xml").decode()
    assert 'w:eastAsia="宋体"' in styles and 'w:eastAsia="黑体"' in styles and "Noto" not in styles
    cp = d.core_properties
    assert cp.author == "某某信息技术有限公司" and cp.created.year >= 2026 and "python-docx" not in (cp.comments or "")


def test_xlsx_numbers_are_numbers_and_sheets_print_on_a4(files):
    wb = openpyxl.load_workbook(files["xlsx"])
    ws = wb["服务可用性"]
    cell = ws.cell(2, 2)
    assert isinstance(cell.value, float) and cell.number_format == "0.00%"
    for sheet in wb.worksheets:
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
        assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text
    assert wb["服务可用性"].print_title_rows == "$1:$1"
    assert wb["概要"]["A1"].font.name == "黑体"


def test_a_wide_table_gets_a_landscape_section_and_the_rest_stays_portrait(tmp_path):
    from yunwei.reports import render_docx
    from yunwei.reports.document import _doc, _h, _p, _table
    from yunwei.reports.templates import template_dirs

    data = {"kind": "monthly", "title": "系统运行月度总结报告", "empty": False,
            "period": {"title": "2026年6月", "label": "2026-06", "tz": "Asia/Shanghai", "zone": "北京时间"}}
    wide = _table("宽表", "宽表", [f"列{i}" for i in range(12)], [[i * j for i in range(12)] for j in range(5)])
    doc = _doc(data, [_h("一、概况"), _p("正文"), wide, _h("二、其后"), _p("正文")], [["月份", "2026-06"]], contract())
    body = zipfile.ZipFile(__import__("io").BytesIO(render_docx.render(doc, template_dirs(None)))).read(
        "word/document.xml").decode()
    sections = body.split("<w:sectPr")[1:]
    assert len(sections) == 3                                      # portrait, landscape (the table), portrait
    assert 'w:orient="landscape"' in sections[1] and "landscape" not in sections[0] + sections[2]
    assert all("w:headerReference" in s and "w:footerReference" in s for s in sections)

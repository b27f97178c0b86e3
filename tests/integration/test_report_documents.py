"""Every report kind read as the client's reviewer reads it: rendered from a real lab journal and
from a synthetic year, the DOCX and XLSX converted to PDF by LibreOffice (once per kind and format
for the whole module), then checked page by page: A4, page numbers, page-count bounds, no empty
states printed as None or 0.0 天, no English status words. The pages are kept as PNGs under
var/test-artifacts/reports/pdf/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from yunwei.paths import project_root
from yunwei.reports import generate as gen
from yunwei.reports.humanise import ascii_status_words
from yunwei.reports.pdf import convert_files
from yunwei.reports.periods import client_tz, parse_period, today
from yunwei.reports.windows import Window
from yunwei.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report_journals import backup_month, backup_schedule, contract, is_a4, keep_pngs, pdf_info, year_journal  # noqa: E402
from service_journals import make_tickets  # noqa: E402

ROOT = project_root()
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "var" / "test-artifacts" / "reports" / "pdf"
NEEDS = [shutil.which("soffice"), shutil.which("pdfinfo"), shutil.which("pdftotext"), shutil.which("pdftoppm")]
pytestmark = pytest.mark.skipif(not all(NEEDS), reason="needs LibreOffice and poppler-utils (scripts/bootstrap.sh)")

YEAR_NOW = datetime(2027, 1, 10, tzinfo=timezone.utc)
YEAR_CASES = [("inspection-record", "day", "2026-06-10"), ("health-daily", "day", "2026-06-10"),
              ("resource-record", "week", "2026-W24"), ("monthly", "month", "2026-06"),
              ("quarterly", "quarter", "2026-Q3"), ("annual", "year", "2026"),
              ("tickets", "month", "2026-06"), ("feedback", "week", "2026-W24")]
MAX_PAGES = {"inspection-record": 12, "health-daily": 6}
QUIET = {"cpu_pct": {"warn": 101, "crit": 101}, "iowait_pct": {"warn": 101, "crit": 101},
         "load_per_core": {"warn": 1000, "crit": 1000}, "disk_util_pct": {"warn": 101, "crit": 101}}


def _lab_cases() -> list[tuple[str, str, str]]:
    tz = client_tz()
    d = today(tz)
    iso = d.isocalendar()
    return [("inspection-record", "day", d.isoformat()), ("health-daily", "day", d.isoformat()),
            ("resource-record", "week", f"{iso[0]}-W{iso[1]:02d}"), ("monthly", "month", f"{d:%Y-%m}"),
            ("quarterly", "quarter", f"{d.year}-Q{(d.month - 1) // 3 + 1}"), ("annual", "year", str(d.year)),
            ("tickets", "month", f"{d:%Y-%m}"), ("feedback", "week", f"{iso[0]}-W{iso[1]:02d}")]


def _render(store_path: Path, cases, out: Path, opts: gen.Options) -> dict[str, dict[str, Path]]:
    files: dict[str, dict[str, Path]] = {}
    with open_store(store_path, reap=False) as store:
        for kind, unit, value in cases:
            written = gen.generate(kind, store, parse_period(unit, value, client_tz()), opts)
            files[kind] = {p.suffix[1:]: p for p in written}
    return files


def _convert(files: dict[str, dict[str, Path]], out: Path, source: str) -> dict[tuple[str, str], Path]:
    """One LibreOffice start per format for all kinds; PNG pages kept per (source, kind, format)."""
    pdfs: dict[tuple[str, str], Path] = {}
    for fmt in ("docx", "xlsx"):
        converted = convert_files([f[fmt] for f in files.values()], out / f"pdf-{fmt}")
        for kind, pdf in zip(files, converted):
            pdfs[(kind, fmt)] = pdf
            keep_pngs(pdf, ARTIFACTS / source / f"{kind}-{fmt}")
    return pdfs


@pytest.fixture(scope="module")
def year_pdfs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("year")
    store_path = tmp / "journal.sqlite"
    with open_store(store_path, reap=False) as store:
        year_journal(store)
        backup_month(store)                              # June's scheduled backups, with their misses
        make_tickets(store, now=YEAR_NOW, per_day=3)     # the service desk: ~90 tickets a month
    opts = gen.Options(out_dir=tmp / "out", formats=("html", "docx", "xlsx"), now=YEAR_NOW, contract=contract(),
                       windows=[Window("国庆重保", date(2026, 10, 1), date(2026, 10, 7))], audit_anchor="12:abcdef0123456789",
                       schedule=backup_schedule())
    files = _render(store_path, YEAR_CASES, tmp, opts)
    return files, _convert(files, tmp, "year")


@pytest.fixture(scope="module")
def lab_pdfs(lab, tmp_path_factory):
    """Three daily inspections of the lab (nginx stopped on web01 during the second), rendered; with
    the lab's backups set up (a no-op when test_backup_lab did it), so the backup sections are real."""
    lab = lab.lab.up(backups=True)
    tmp = tmp_path_factory.mktemp("labjournal")
    store_path = tmp / "journal.sqlite"
    evars = tmp / "vars.json"
    evars.write_text(json.dumps({"inspection_threshold_overrides": QUIET, "inspection_sample_seconds": 0.3,
                                 "inspection_updates_enabled": False}))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(store_path),
           "YUNWEI_JOB": "inspect", "YUNWEI_PROFILE": "daily", "ANSIBLE_FORCE_COLOR": "0",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for i in range(3):
        if i == 1:
            lab.exec("web01", "service", "nginx", "stop")
        try:
            proc = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/inspect.yml", "-i", str(lab.inventory),
                                   "-e", f"@{evars}"], cwd=ROOT, env={**env, "YUNWEI_RUN_ID": str(uuid.uuid4())},
                                  capture_output=True, text=True, timeout=300)
        finally:
            if i == 1:
                lab.exec("web01", "service", "nginx", "start")
        assert proc.returncode in (0, 2), proc.stdout[-3000:] + proc.stderr[-2000:]
    opts = gen.Options(out_dir=tmp / "out", formats=("html", "docx", "xlsx"), contract=contract())
    files = _render(store_path, _lab_cases(), tmp, opts)
    return files, _convert(files, tmp, "lab")


def _check_pdf(pdf: Path, kind: str, fmt: str) -> None:
    info = pdf_info(pdf)
    assert info.pages >= 1
    assert all(is_a4(s) for s in info.sizes), f"{pdf.name}: not A4: {set(info.sizes)}"
    if fmt == "docx":
        assert info.sizes[0][0] < info.sizes[0][1], f"{pdf.name}: the first page is not portrait"
        flat = re.sub(r"\s+", "", info.text)
        assert f"第1页共{info.pages}页" in flat and f"第{info.pages}页共{info.pages}页" in flat
        if kind in MAX_PAGES:
            assert info.pages <= MAX_PAGES[kind], f"{pdf.name}: {info.pages} pages > {MAX_PAGES[kind]}"
        for heading in ("一、", "签字确认"):
            assert heading in info.text
    else:
        assert "第1页" in re.sub(r"\s+", "", info.text), f"{pdf.name}: XLSX print has no page numbers"
    assert "None" not in info.text and "0.0 天" not in info.text and "nan" not in info.text.lower().split()
    assert ascii_status_words(info.text) == [], f"{pdf.name}: {ascii_status_words(info.text)[:10]}"
    signoff = info.text.split("签字确认")[-1].split("\f")[0].split("第")[0]
    assert not re.search(r"\broot\b", signoff), "a login pre-filled as a signer"


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
@pytest.mark.parametrize("kind", [k for k, _, _ in YEAR_CASES])
def test_synthetic_year_documents(year_pdfs, kind, fmt):
    _check_pdf(year_pdfs[1][(kind, fmt)], kind, fmt)


@pytest.mark.lab
@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
@pytest.mark.parametrize("kind", [k for k, _, _ in YEAR_CASES])
def test_lab_journal_documents(lab_pdfs, kind, fmt):
    _check_pdf(lab_pdfs[1][(kind, fmt)], kind, fmt)


@pytest.mark.lab
def test_lab_nginx_stop_is_one_problem_with_its_consequences(lab_pdfs):
    text = pdf_info(lab_pdfs[1][("health-daily", "docx")]).text
    flat = re.sub(r"\s+", "", text)
    assert "nginx运行状态" in flat and "由此引起的关联异常" in flat
    record = re.sub(r"\s+", "", pdf_info(lab_pdfs[1][("inspection-record", "docx")]).text)
    assert "有效巡检3次" in record


def _cells(pdf: Path) -> str:
    """The PDF's text cell by cell (no layout: a wrapped id stays together), without whitespace."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", text)


def test_service_desk_in_print(year_pdfs):
    """The register lists every ticket of the month with its clocks; the monthly and annual reports
    carry the service section; the health daily lists the day's tickets."""
    pdfs = year_pdfs[1]
    register = _cells(pdfs[("tickets", "docx")])
    assert "故障申告登记表" in register and re.search("20260610-?001", register) and "响应≤" in register
    assert "超时原因：" in register                                        # breaches explained
    assert re.search("20260630-?0", _cells(pdfs[("tickets", "xlsx")]))     # every ticket, one row each
    for kind in ("monthly", "annual"):
        text = _cells(pdfs[(kind, "docx")])
        assert "服务台与响应时限" in text and "达标率" in text and "超时工单及原因" in text
    daily = _cells(pdfs[("health-daily", "docx")])
    assert "本日工单" in daily and re.search("20260610-?001", daily)
    weekly = _cells(pdfs[("feedback", "docx")])
    assert "需求反馈周汇总" in weekly and "跟踪中的需求" in weekly


def test_year_numbers_in_print(year_pdfs):
    annual = re.sub(r"\s+", "", pdf_info(year_pdfs[1][("annual", "docx")]).text)
    assert "合同服务期为2026-03-01至2027-02-28" in annual
    june = pdf_info(year_pdfs[1][("health-daily", "docx")]).text
    assert "较差" in june or "危险" in june          # a day with the website down is never 良好
    assert "良好" not in june.split("评分方法")[0]


def test_backups_in_print(year_pdfs, lab_pdfs):
    """The monthly report counts June's backup windows per data set and lists every miss with its
    cause (the store full, an interrupted run, a day without the scheduler); the health dailies show
    the day's backups - the synthetic June and the lab's real status from the daily inspection."""
    monthly = re.sub(r"\s+", "", pdf_info(year_pdfs[1][("monthly", "docx")]).text)
    # appdb: 30 x 24 windows, 3 failed + 1 interrupted + 24 on 06-20; site: 30 windows, 1 on 06-20
    assert "按备份计划应完成备份750次（各数据集合计），按时完成721次，漏备29次" in monthly
    # the cause wraps inside its table cell, and PDF text interleaves the cells of a row
    assert "备份失败：存储库所在" in monthly and "文件系统已满" in monthly
    assert "备份作业中断" in monthly and "terminated" in monthly
    assert "2026-06-2000:05至2026-06-2023:05" in monthly and "未执行（无备份作业记录）" in monthly
    assert "本期未做完整性校验" in monthly
    xlsx = re.sub(r"\s+", "", pdf_info(year_pdfs[1][("monthly", "xlsx")]).text)
    assert xlsx.count("backup_core_incr") >= 25  # the annex lists every missed window
    day = pdf_info(year_pdfs[1][("health-daily", "docx")]).text
    assert "五、数据备份" in day and "本日执行备份作业 25 次（成功 25 次" in day
    lab = pdf_info(lab_pdfs[1][("health-daily", "docx")]).text
    # the WAL row: its label wraps in the narrow 存储库 column, its 最近归档 cell does not
    assert "五、数据备份" in lab and "备份状态" in lab and "appdb" in lab and "最近归档" in lab

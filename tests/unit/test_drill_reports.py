"""《数据备份恢复测试报告》 and 《恢复演练报告》 from a synthetic quarter (tests/report_journals.py,
drill_quarter): the failed test printed 不通过 with its reason and the retest as the action taken, the
success rate counting it, the month without a test listed as a missed obligation, the refused run
counted as nothing tested, the drill's timeline, RTO/RPO against contract and target, and the
monthly/quarterly reports' section. Printed pages: tests/integration/test_report_documents.py."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report_journals import CONTRACT, drill_quarter  # noqa: E402

from yunwei.reports import drills
from yunwei.reports import generate as gen
from yunwei.reports.contract import parse_contract
from yunwei.reports.periods import client_tz, parse_period
from yunwei.store import open_store

NOW = datetime(2027, 1, 5, tzinfo=timezone.utc)


@pytest.fixture()
def quarter(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    store = open_store(tmp_path / "j.sqlite")
    drill_quarter(store)
    yield store
    store.close()


def _opts(tmp_path, formats=("html", "docx", "xlsx")):
    contract = parse_contract({**CONTRACT, "signers": {"restore-test": [{"role": "测试人", "name": "李娜"},
                                                                        {"role": "审核人", "name": "张伟"}, {"role": "甲方确认"}]}},
                              "test")
    return gen.Options(formats=list(formats), out_dir=tmp_path / "out", now=NOW, contract=contract, charts=False)


def test_restore_test_report_counts_failures_and_names_the_action(quarter, tmp_path):
    opts = _opts(tmp_path)
    october = parse_period("month", "2026-10", client_tz())
    data = drills.restore_test(quarter, october, opts.plan, now=NOW)
    assert (data["tested"], data["sets"], data["passed"], data["failed"]) == (2, 4, 3, 1)
    assert data["rate"] == 75.0 and data["obligation"]["state"] == "已完成"
    (problem,) = data["problems"]
    assert problem["dataset"] == "appdb" and "checksum mismatch" in problem["evidence"]
    assert "已于 2026-10-06 10:00 重新测试通过" in problem["action"]

    files = {p.suffix[1:]: p for p in gen.generate("restore-test", quarter, october, opts)}
    html = files["html"].read_text(encoding="utf-8")
    assert "《数据备份恢复测试报告》" in html and "75.00%" in html
    assert 'class=" s-crit">不通过' in html  # 红色 不通过
    assert "20261001-020000F（2026-10-01 10:10:00）" in html  # the backup used, in client time
    wb = openpyxl.load_workbook(files["xlsx"])
    rows = list(wb["恢复结果"].iter_rows(values_only=True))
    assert rows[0] == ("测试时间", "数据集", "所用备份（备份时间）", "恢复耗时", "合同 RTO", "运维目标", "结果")
    assert [r[-1] for r in rows[1:]] == ["不通过", "通过", "通过", "通过"]
    assert wb["恢复结果"]["G2"].fill.fgColor.rgb.endswith("FDECEA")
    summary = {r[0]: r[1] for r in wb["概要"].iter_rows(values_only=True) if r and r[0]}
    assert summary["本月义务"] == "已完成" and summary["测试人"] == "李娜"

    # November: no restore test at all - the notice and the obligation say it was missed
    november = parse_period("month", "2026-11", client_tz())
    data = drills.restore_test(quarter, november, opts.plan, now=NOW)
    assert data["empty"] and data["obligation"]["missed"] and data["rate"] is None
    (page,) = gen.generate("restore-test", quarter, november, _opts(tmp_path, ["html"]))
    assert "本月义务未履行" in page.read_text(encoding="utf-8")
    # December: the refused run tested nothing; the passed one counts
    december = parse_period("month", "2026-12", client_tz())
    data = drills.restore_test(quarter, december, opts.plan, now=NOW)
    assert (data["tested"], data["passed"], data["failed"]) == (1, 2, 0)
    assert data["refused"] == 1 and len(data["runs"]) == 1  # listed as a sentence, not as a test
    (page,) = gen.generate("restore-test", quarter, december, _opts(tmp_path, ["html"]))
    assert "另有 1 次因输入错误在执行前被拒绝" in page.read_text(encoding="utf-8")


def test_drill_report_timeline_limits_and_missed_months(quarter, tmp_path):
    opts = _opts(tmp_path)
    q4 = parse_period("quarter", "2026-Q4", client_tz())
    data = drills.drill(quarter, q4, opts.plan, now=NOW)
    assert (data["drills"], data["passed"], data["rate"]) == (1, 1, 100.0)
    (run,) = data["runs"]
    assert run["scenario_label"] == "误删表（误操作）" and run["fault_mode"] == "实际注入（演练环境）"
    assert [t["what"] for t in run["timeline"]] == ["故障发生", "发现故障", "故障时刻的 WAL 已归档", "开始恢复", "服务恢复"]
    assert run["timeline"][0]["time"] == "2026-12-10 15:00:00" and run["timeline"][2]["since"] == "30.0 秒"
    assert run["timeline"][-1]["since"] == "1.6 分钟" and run["operator"] == "李娜"
    assert [m["state"] for m in data["months"]] == ["已完成", "未完成（漏做）", "已完成"]
    assert any("耗时最多的是恢复" in x for x in data["lessons"])
    files = {p.suffix[1:]: p for p in gen.generate("drill", quarter, q4, opts)}
    wb = openpyxl.load_workbook(files["xlsx"])
    limits = list(wb["RTO-RPO1"].iter_rows(values_only=True))
    assert limits[1] == ("RTO（恢复时间）", "1.6 分钟", "4 小时", "通过", "15 分钟", "通过")
    assert limits[2][:4] == ("RPO（数据丢失时间）", "0.8 秒", "1 小时", "通过")
    months = list(wb["每月义务"].iter_rows(values_only=True))
    assert months[2] == ("2026-11", 0, 0, "未完成（漏做）", "不通过")

    # the quarterly report's section: results, success rate, the missed month, the drill
    sec = drills.section(quarter, q4, opts.contract, NOW)
    assert sec["missed"] == ["2026-11"] and sec["rate"] == 83.33
    assert "2026-11 未完成每月备份恢复测试" in sec["text"] and "恢复成功率 83.33%" in sec["text"]
    assert "误删表（误操作） 通过" in sec["drill_text"]

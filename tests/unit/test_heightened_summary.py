"""《重保期间运行总结》 (issue 20): the window is picked from the day, inspections owed are three a day
inside it, a window with no inspection lists every day as missed and says so in the lessons."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from yunwei.reports.contract import Contract
from yunwei.reports.periods import day_period
from yunwei.reports.plan import Plan
from yunwei.schedule.model import parse_text
from yunwei.special.summary import layout, pick_window, report

SCHED = """\
timezone: Asia/Shanghai
jobs:
  inspect: {cron: "30 8 * * *", profile: daily}
operators:
  zw: {name: 张伟, phone: "13800000001"}
  ln: {name: 李娜, phone: "13800000002"}
heightened:
  jobs: [inspect]
  cron: "30 8,14,20 * * *"
  profile: heightened
  windows:
    - {name: 国庆节, kind: holiday, start: 2026-10-01, end: 2026-10-03, systems: [web, db], rota: [{on_duty: [zw, ln]}]}
    - {name: 峰会, kind: event, start: 2026-11-10, end: 2026-11-11, systems: [web], rota: [{on_duty: [ln, zw]}]}
"""


def test_window_picked_from_the_day():
    s = parse_text(SCHED, "schedule.yml", check_jobs=False)
    assert pick_window(s, date(2026, 10, 2)).name == "国庆节"
    assert pick_window(s, date(2026, 10, 20)).name == "国庆节"          # the last one that ended
    assert pick_window(s, date(2026, 11, 12)).name == "峰会"
    assert pick_window(s, date(2026, 9, 1)) is None


def test_a_window_without_inspections_is_all_missed(tmp_path, monkeypatch):
    from yunwei.store import open_store

    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    tz = ZoneInfo("Asia/Shanghai")
    s = parse_text(SCHED, "schedule.yml", check_jobs=False)
    with open_store(tmp_path / "j.sqlite") as store:
        data = report(store, day_period(date(2026, 10, 20), tz), Plan(Contract(), [], s),
                      now=datetime(2026, 10, 20, tzinfo=timezone.utc))
    insp = data["inspections"]
    assert data["state"] == "ended" and data["period"]["first"] == "2026-10-01"
    assert (insp["required"], insp["done"], insp["missed_count"]) == (9, 0, 9)
    assert data["lessons"][0].startswith("漏检 9 次（2026-10-01、2026-10-02、2026-10-03）")
    assert data["rota"][0] == ["2026-10-01", "张伟（13800000001）、李娜（13800000002）"]
    doc = layout(data, Contract())
    assert dict(doc["meta"])["巡检完成"] == "0/9" and doc["subtitle"] == "国庆节（2026-10-01 至 2026-10-03）"


@pytest.mark.parametrize("kind", ["preflight", "stress-test", "emergency-drill", "heightened-summary"])
def test_new_kinds_render_an_empty_store_without_inventing_figures(tmp_path, monkeypatch, kind):
    from yunwei.reports import generate as gen
    from yunwei.reports.periods import parse_period
    from yunwei.store import open_store

    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    tz = ZoneInfo("Asia/Shanghai")
    s = parse_text(SCHED, "schedule.yml", check_jobs=False)
    period = parse_period(gen.KINDS[kind], "2026-09-15", tz)
    opts = gen.Options(out_dir=tmp_path / "out", formats=("html", "xlsx"), charts=False, schedule=s,
                       now=datetime(2026, 9, 16, tzinfo=timezone.utc))
    with open_store(tmp_path / "j.sqlite") as store:
        files = gen.generate(kind, store, period, opts)
    assert sorted(f.suffix for f in files) == [".html", ".xlsx"]
    html = files[0].read_text(encoding="utf-8") if files[0].suffix == ".html" else files[1].read_text(encoding="utf-8")
    assert gen.TITLES[kind] in html and ("没有" in html or "无" in html)

"""What the documents say about the service desk: the register, the service section's figures (exact
quantiles against an independent computation), breaches with reasons, satisfaction, feedback, the
health daily's tickets. The printed pages are checked in tests/integration/test_report_documents.py."""

from __future__ import annotations

import statistics
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_server import pg_server_url, pg_url  # noqa: E402,F401  (fixtures)

from yunwei.reports import assemble
from yunwei.reports import generate as gen
from yunwei.reports.periods import client_tz, parse_period
from yunwei.servicedesk import feedback as fb
from yunwei.servicedesk import store as sd
from yunwei.servicedesk import tickets as tk
from yunwei.servicedesk.report_data import register, service_section
from yunwei.store import open_store

SH = timezone(timedelta(hours=8))
T0 = datetime(2026, 6, 10, 9, 0, tzinfo=SH).timestamp()
MIN = 60.0
NOW = datetime(2026, 7, 5, tzinfo=timezone.utc)
# (grade, minutes to answer, minutes to resolve) of the June tickets
JUNE = [("fault", 2, 10), ("fault", 5, 12), ("fault", 3, 40), ("fault", 1, 14), ("fault", 9, 20),
        ("consult", 1, 2), ("consult", 7, 9), ("consult", 3, 3), ("major", 20, 90)]


@pytest.fixture()
def june(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_OPERATOR", "lina")
    monkeypatch.delenv("YUNWEI_SERVICE_DESK", raising=False)
    monkeypatch.delenv("YUNWEI_CONFIG", raising=False)
    now = [T0]
    monkeypatch.setattr(sd, "now_ts", lambda: now[0])
    store = open_store(tmp_path / "j.sqlite")
    ids = []
    for i, (grade, ack, res) in enumerate(JUNE):
        start = T0 + i * 3600
        now[0] = start
        t = tk.open_ticket(store, grade=grade, channel=["hotline", "wechat", "alert"][i % 3], reporter=f"用户{i % 4}",
                           title=f"问题 {i}", host="web01")
        now[0] = start + ack * MIN
        tk.ack(store, t.id)
        now[0] = start + res * MIN
        tk.resolve(store, t.id, cause="c", action="a", result="r")
        if grade == "fault" and res > 15:
            tk.note(store, t.id, f"备件到货延迟 {i}", breach_reason=True)
        now[0] = start + (res + 30) * MIN
        tk.close(store, t.id, confirmation="已确认")
        ids.append(t.id)
    now[0] = T0 + 20 * 3600
    open_one = tk.open_ticket(store, grade="fault", channel="email", reporter="用户9", title="仍未处理")
    now[0] = datetime(2026, 6, 29, 10, tzinfo=SH).timestamp()
    fb.record_followup(store, requester="用户0", score=5, month="2026-06")
    fb.record_followup(store, requester="用户1", score=2, month="2026-06", remarks="等待时间长")
    item = fb.add_feedback(store, title="导出功能")
    fb.set_feedback(store, item.id, state="done", note="已上线")
    yield store, ids, open_one.id
    store.close()


def _row(rows, grade, kind):
    return next(r for r in rows if r["grade"] == grade and r["kind"] == kind)


def test_service_section_figures(june):
    store, ids, open_id = june
    sv = service_section(store, parse_period("month", "2026-06", client_tz()), now=NOW)
    assert sv["tickets"] == 10 and sv["open_at_end"] == 1
    assert {r["code"]: r["tickets"] for r in sv["by_grade"]} == {"consult": 3, "fault": 6, "major": 1}
    assert {r["code"]: r["tickets"] for r in sv["by_channel"]} == {"hotline": 3, "wechat": 3, "alert": 3, "email": 1}
    fault = [x for x in JUNE if x[0] == "fault"]
    handling = _row(sv["clocks"], "fault", "handling")
    q = statistics.quantiles([r * MIN for _, _, r in fault], n=10, method="inclusive")
    assert handling["median_s"] == pytest.approx(statistics.median(r * MIN for _, _, r in fault))
    assert handling["p90_s"] == pytest.approx(q[8])
    assert handling["max_s"] == 40 * MIN and handling["limit"] == "15 分钟"
    # 2 of the 5 resolved late (40 and 20 minutes); the sixth, unresolved in July, ran out too
    assert (handling["with_clock"], handling["met"], handling["breached"], handling["met_pct"]) == (6, 3, 3, 50.0)
    everyone = _row(sv["clocks"], "all", "response")
    assert everyone["reached"] == 9 and everyone["max_s"] == 20 * MIN and everyone["median"] == "—"
    consult = _row(sv["clocks"], "consult", "response")
    assert (consult["met"], consult["breached"]) == (2, 1)           # 7 minutes > 5
    reasons = {b["id"]: b["reason"] for b in sv["breaches"]}
    assert reasons[ids[2]] == "备件到货延迟 2" and reasons[open_id] == "未填写超时原因"
    assert sv["breaches"][0]["over_s"] >= sv["breaches"][-1]["over_s"]
    assert sv["satisfaction"]["average"] == 3.5 and sv["satisfaction"]["low"][0]["remarks"] == "等待时间长"
    assert sv["feedback"] == {"new": 1, "done": 1, "declined": 0, "closed": 1, "open_at_end": 0}


def test_register_and_reports_carry_the_tickets(june, tmp_path):
    store, ids, open_id = june
    month = parse_period("month", "2026-06", client_tz())
    data = register(store, month, now=NOW)
    assert [r["id"] for r in data["rows"]] == [*ids, open_id]
    assert data["totals"] == {"tickets": 10, "closed": 9, "open": 1, "breached": 4, "carried": 0}
    first = data["rows"][0]
    assert first["response_time"] == "2 分钟" and first["handling_time"] == "10 分钟" and first["cause"] == "c"
    assert "响应≤30 分钟 达标" in first["clock_lines"] and "处理≤15 分钟 达标" in first["clock_lines"]
    july = register(store, parse_period("month", "2026-07", client_tz()), now=NOW)
    assert [r["id"] for r in july["carried"]] == [open_id]           # still open: carried over
    monthly = assemble.monthly(store, month, now=NOW, with_trends=False)
    assert monthly["service"]["tickets"] == 10
    assert {r["figure"]: r["this"] for r in monthly["comparison"]}["超时工单（件）"] == 4
    annual = assemble.summary(store, parse_period("year", "2026", client_tz()), now=NOW)
    assert annual["service"]["tickets"] == 10 and annual["service"]["months"][5]["breached"] == 4
    day = assemble.health_daily(store, parse_period("day", "2026-06-10", client_tz()), now=NOW, with_trends=False)
    assert [t["id"] for t in day["tickets"]][:2] == ids[:2] and day["tickets"][0]["state_label"] == "已关闭"
    opts = gen.Options(out_dir=tmp_path / "out", formats=("html", "xlsx"), now=NOW)
    files = gen.generate("tickets", store, month, opts) + gen.generate("feedback", store,
                                                                       parse_period("week", "2026-W26", client_tz()), opts)
    html = files[0].read_text(encoding="utf-8")
    assert "故障申告登记表" in html and "备件到货延迟 2" in html and "None" not in html
    from openpyxl import load_workbook

    wb = load_workbook(files[1])
    assert wb["登记表"].max_row == 11 and wb["明细"].max_row == 11      # printable, and one column per field
    assert "需求反馈周汇总" in files[2].read_text(encoding="utf-8")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_quantiles_match_an_independent_computation(tmp_path, monkeypatch, request, backend):
    """The SQL ranks (window functions, integer division) against Python's statistics, per grade,
    on a few hundred synthetic tickets, in both backends."""
    from service_journals import make_tickets

    from yunwei.servicedesk.report_data import _quantiles

    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    url = str(tmp_path / "q.sqlite") if backend == "sqlite" else request.getfixturevalue("pg_url")
    with open_store(url) as store:
        make_tickets(store, days=60, per_day=6, now=NOW)
        got = _quantiles(store, "resolved_at", "opened_at >= ?", [0.0])
        for grade in got:
            values = sorted(float(r[0]) for r in store.query(
                "SELECT resolved_at - opened_at FROM tickets WHERE grade = ? AND resolved_at IS NOT NULL", (grade,)))
            if len(values) < 2:
                continue
            q = statistics.quantiles(values, n=10, method="inclusive")
            assert got[grade][0.5] == pytest.approx(statistics.median(values))
            assert got[grade][0.9] == pytest.approx(q[8])

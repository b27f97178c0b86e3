"""《安全基线核查报告》 and the semi-annual obligation in the monthly/annual reports, from a synthetic
journal written through the store's public API (two baseline audits, a waiver active and one expired)."""

from __future__ import annotations

import io
import sys
import uuid
from pathlib import Path
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from yunwei.reports import baseline
from yunwei.reports.generate import Options, generate
from yunwei.reports.monthly import monthly, summary
from yunwei.reports.periods import day_period, month_period, year_period
from yunwei.reports.plan import Plan
from yunwei.store import Check, Run, TaskResult, open_store

SH = ZoneInfo("Asia/Shanghai")
FIRST = datetime(2026, 5, 20, 10, 0, tzinfo=SH)
SECOND = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
WAIVER = {"id": "W-1", "rule": "BASE-SSH-011", "hosts": ["web01"], "justification": "经负载均衡提供 SFTP",
          "approver": "张伟", "expires": "2027-06-30"}


def _audit(store, started, statuses, *, waivers=None, status="ok", operator="lina"):
    rid = str(uuid.uuid4())
    t = started.astimezone(timezone.utc)
    hosts = sorted({h for h, _ in statuses})
    store.begin_run(Run(id=rid, job="baseline-audit", operator=operator, started_at=t, hosts=hosts))
    checks = [Check(id=rule, category="baseline", status=st, host=h, time=t + timedelta(seconds=5),
                    title={"BASE-SSH-003": "远程登录尝试次数限制", "BASE-SSH-011": "远程管理终端接入受限",
                           "BASE-MAN-001": "双因素身份鉴别", "BASE-KERN-001": "地址空间随机化"}.get(rule, rule),
                    evidence=("需收集：堡垒机双因素认证策略截图" if st == "manual" else
                              "容器（podman）共享宿主机的内核参数" if st == "not-applicable" else f"{rule} {st}"),
                    suggestion="限制每次远程连接的认证尝试次数（/etc/ssh/sshd_config 中 MaxAuthTries 4）。"
                    if st == "fail" else "")
              for (h, rule), st in statuses.items()]
    results = [TaskResult(run_id=rid, seq=i, host=h, task="AUDIT", action=baseline.AUDIT_ACTION, status="ok",
                          result={"baseline": {"waivers": (waivers or {}).get(h, [])}})
               for i, h in enumerate(hosts)]
    store.write_batch(rid, results=results, checks=checks)
    store.finish_run(rid, status, ended_at=t + timedelta(seconds=30))
    return rid


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/journal.sqlite")
    first = {("web01", "BASE-SSH-003"): "fail", ("db01", "BASE-SSH-003"): "fail",
             ("web01", "BASE-SSH-011"): "waived", ("db01", "BASE-SSH-011"): "pass",
             ("web01", "BASE-MAN-001"): "manual", ("db01", "BASE-MAN-001"): "manual",
             ("web01", "BASE-KERN-001"): "not-applicable", ("db01", "BASE-KERN-001"): "pass"}
    _audit(s, FIRST, first, waivers={"web01": [{**WAIVER, "state": "active", "status": "fail"}]})
    second = {**first, ("db01", "BASE-SSH-003"): "pass", ("web01", "BASE-SSH-011"): "fail"}
    _audit(s, SECOND, second, waivers={"web01": [{**WAIVER, "expires": "2026-10-31", "state": "expired",
                                                  "status": "fail"}]})
    # a later failed run and a later run of another job never count as a check
    _audit(s, SECOND + timedelta(days=1), {("web01", "BASE-SSH-003"): "pass"}, status="failed")
    yield s
    s.close()


def _plan():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from report_journals import contract

    return Plan(contract(), [], None)


def test_report_takes_the_last_completed_audit_and_compares_with_the_one_before(store):
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    data = baseline.report(store, day_period(date(2026, 11, 30), SH), _plan(), now=now)
    assert not data["empty"] and data["run"]["started"] == "2026-11-18 10:00"
    assert data["run"]["operator"] == "李娜"
    rates = {h["host"]: h["pass_pct"] for h in data["hosts"]}
    assert rates == {"db01": 100.0, "web01": 0.0}          # waived, manual, n/a never count
    assert data["totals"]["fail"] == 2 and data["totals"]["pass_pct"] == 60.0
    fails = {r["rule"]: r for r in data["failures"]}
    assert fails["BASE-SSH-003"]["hosts"] == ["web01"] and fails["BASE-SSH-003"]["items"] == "L3-CES1-02"
    # the client reads the remediation without command syntax; the XLSX annex keeps it whole
    assert fails["BASE-SSH-003"]["suggestion"] == "限制每次远程连接的认证尝试次数。"
    assert "MaxAuthTries 4" in fails["BASE-SSH-003"]["suggestion_full"]
    assert [w["state"] for w in data["waivers"]] == ["expired"]
    ch = data["changes"]
    assert ch["fixed"] == 1 and ch["new_failures"] == 1
    assert {(r["host"], r["rule"], r["before"], r["after"]) for r in ch["rows"]} == {
        ("db01", "BASE-SSH-003", "不符合", "符合"), ("web01", "BASE-SSH-011", "已豁免", "不符合")}
    st = data["status"]
    assert (st["last"], st["next_due"], st["previous"], st["overdue"]) == ("2026-11-18", "2027-05-18", "2026-05-20",
                                                                           False)
    manual = data["manual"][0]
    assert baseline._evidence_to_collect(manual) == "堡垒机双因素认证策略截图"


def test_report_of_a_day_before_the_second_audit_shows_the_first(store):
    data = baseline.report(store, day_period(date(2026, 6, 1), SH), _plan(), now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert data["run"]["started"] == "2026-05-20 10:00" and data["changes"] is None
    assert [w["state"] for w in data["waivers"]] == ["active"]


def test_no_audit_says_so_and_invents_nothing(store, tmp_path):
    plan = _plan()
    data = baseline.report(store, day_period(date(2026, 5, 1), SH), plan, now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert data["empty"] and data["status"]["last"] is None and "尚无安全基线核查记录" in data["status"]["text"]
    opts = Options(formats=["html"], out_dir=tmp_path / "out", contract=plan.contract, charts=False,
                   now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    (path,) = generate("baseline", store, day_period(date(2026, 5, 1), SH), opts)
    html = path.read_text()
    assert "没有已完成的安全基线核查" in html and "符合率 =" not in html


def test_documents_render_with_the_waivers_and_the_evidence_annex(store, tmp_path):
    plan = _plan()
    opts = Options(formats=["html", "docx", "xlsx"], out_dir=tmp_path / "out", contract=plan.contract, charts=False,
                   now=datetime(2026, 12, 1, tzinfo=timezone.utc))
    paths = {p.suffix: p for p in generate("baseline", store, day_period(date(2026, 11, 30), SH), opts)}
    html = paths[".html"].read_text()
    for text in ("《安全基线核查报告》", "已过期（按不符合计）", "与上次核查相比", "堡垒机双因素认证策略截图", "2027-05-18"):
        assert text in html
    assert "None" not in html and "nan" not in html
    wb = load_workbook(io.BytesIO(paths[".xlsx"].read_bytes()))
    detail = wb["核查明细"]
    assert detail.max_row == 1 + 8 and detail["E1"].value == "结果"
    import docx

    doc = docx.Document(str(paths[".docx"]))
    assert any("核查人" in c.text for t in doc.tables for r in t.rows for c in r.cells)


def test_monthly_and_annual_show_the_last_and_next_check(store):
    plan = _plan()
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    m = monthly(store, month_period(2026, 11, SH), plan, now=now, with_trends=False, compare=False)
    assert (m["baseline"]["last"], m["baseline"]["next_due"]) == ("2026-11-18", "2027-05-18")
    # the month before the next check is due lists it in next month's plan
    # (October: the May check is the last one, due again 2026-11-20; September does not list it yet)
    octo = monthly(store, month_period(2026, 10, SH), plan, now=now, with_trends=False, compare=False)
    assert any(r["item"] == "安全基线检查" and "2026-11-20" in r["note"] for r in octo["next"]["rows"])
    sept = monthly(store, month_period(2026, 9, SH), plan, now=now, with_trends=False, compare=False)
    assert not any(r["item"] == "安全基线检查" for r in sept["next"]["rows"])
    year = summary(store, year_period(2026, SH), plan, now=now)
    assert year["baseline"]["last"] == "2026-11-18" and year["baseline"]["overdue"] is False
    # overdue once six months have passed without a check
    late = baseline.last_check(store, datetime(2027, 6, 1, tzinfo=timezone.utc), SH)
    assert late["overdue"] is True and "已超期" in late["text"]


def test_add_months_clamps_to_the_month_end():
    assert baseline.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert baseline.add_months(date(2026, 11, 18), 6) == date(2027, 5, 18)

"""重保 windows (issue 20): kinds, systems, the two-person rota with contacts, validation that names the
window and the day, ``Schedule.on_duty``, and the window-relative (T-7) schedule entry."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from yunwei.errors import InputError
from yunwei.schedule.calendar import fires_between, last_fire, next_fire
from yunwei.schedule.model import parse_text

TZ = ZoneInfo("Asia/Shanghai")
BASE = """\
timezone: Asia/Shanghai
jobs:
  local_read: {cron: "30 8 * * *", profile: daily}
  pre: {cron: "0 9 * * *", before_windows: 7}
operators:
  zw: {name: 张伟, phone: "13800000001"}
  ln: {name: 李娜, email: lina@example.invalid}
  wf: {name: 王芳, phone: "13800000003"}
heightened:
  jobs: [local_read]
  cron: "30 8,14,20 * * *"
  windows:
    - name: 春节
      kind: holiday
      start: 2027-02-05
      end: 2027-02-08
      systems: [web, db]
      rota:
        - {from: 2027-02-05, to: 2027-02-06, on_duty: [zw, ln]}
        - {from: 2027-02-07, to: 2027-02-08, on_duty: [ln, wf]}
    - name: 峰会
      kind: event
      start: 2027-03-04
      end: 2027-03-05
      systems: [web01]
      rota:
        - {on_duty: [zw, wf]}
"""


def parse(text: str = BASE):
    return parse_text(text, "schedule.yml", check_jobs=False)


def test_windows_carry_kind_systems_and_rota():
    s = parse()
    spring, summit = s.windows
    assert (spring.kind, spring.kind_label, spring.systems) == ("holiday", "节假日", ("web", "db"))
    assert (summit.kind, summit.kind_label, summit.systems) == ("event", "重大活动", ("web01",))
    assert [o.login for o in s.on_duty(dt.date(2027, 2, 6))] == ["zw", "ln"]
    assert [o.login for o in s.on_duty(dt.date(2027, 2, 7))] == ["ln", "wf"]
    assert [o.name for o in s.on_duty(dt.date(2027, 3, 5))] == ["张伟", "王芳"]    # rota entry without dates: whole window
    assert s.on_duty(dt.date(2027, 2, 9)) == () and s.on_duty(dt.date(2027, 2, 4)) == ()
    assert s.on_duty(dt.date(2027, 2, 5))[1].contact == "lina@example.invalid"


@pytest.mark.parametrize(("edit", "key", "words"), [
    # a day with one person: the second rota entry names the same person twice
    (lambda t: t.replace("on_duty: [ln, wf]", "on_duty: [wf, wf]"), "heightened.windows[0].rota",
     "春节 2027-02-07: 1 distinct operator"),
    # a day nobody covers
    (lambda t: t.replace("from: 2027-02-07", "from: 2027-02-08"), "heightened.windows[0].rota", "春节 2027-02-07: 0 distinct"),
    # an operator without a contact, on duty
    (lambda t: t.replace('wf: {name: 王芳, phone: "13800000003"}', "wf: {name: 王芳}"), "operators.wf",
     "春节 2027-02-07: on-duty operator wf has no contact"),
    (lambda t: t.replace("on_duty: [zw, wf]", "on_duty: [zw, nobody]"), "heightened.windows[1].rota",
     "峰会 2027-03-04: on-duty operator 'nobody' is not under operators"),
    (lambda t: t.replace("start: 2027-03-04", "start: 2027-02-08"), "heightened.windows[1]", "overlaps"),
    (lambda t: t.replace("kind: event", "kind: party"), "heightened.windows[1].kind", "holiday or event"),
    (lambda t: t.replace("systems: [web01]", "systems: []"), "heightened.windows[1].systems", "non-empty"),
    (lambda t: t.replace("      rota:\n        - {on_duty: [zw, wf]}\n", ""), "heightened.windows[1].rota", "双人值守"),
    (lambda t: t.replace("to: 2027-02-06", "to: 2027-02-16"), "heightened.windows[0].rota[0]", "outside the window"),
    (lambda t: t.replace("before_windows: 7", "before_windows: seven"), "jobs.pre.before_windows", "1..60"),
    (lambda t: t + "  extra: 1\n", "heightened.extra", "unknown key"),
    (lambda t: t.replace("before_windows: 7}", "before_windows: 7, during_windows: true}"), "jobs.pre.during_windows",
     "not both"),
    (lambda t: t.replace("before_windows: 7}", "during_windows: daily}"), "jobs.pre.during_windows", "true or false"),
])
def test_bad_windows_name_the_window_and_the_day(edit, key, words):
    with pytest.raises(InputError) as info:
        parse(edit(BASE))
    assert info.value.source == "schedule.yml" and info.value.key == key, info.value
    assert words in info.value.problem, info.value.problem


def test_overlap_names_the_first_shared_day():
    with pytest.raises(InputError) as info:
        parse(BASE.replace("start: 2027-03-04", "start: 2027-02-07"))
    assert "2027-02-07" in info.value.problem and "春节" in info.value.problem


def test_an_unused_operator_without_contact_is_refused_too():
    with pytest.raises(InputError) as info:
        parse(BASE.replace("operators:\n", "operators:\n  xx: {name: 某人}\n"))
    assert info.value.key == "operators.xx"


def test_before_windows_fires_only_seven_days_before_each_window():
    s = parse()
    at = dt.datetime(2027, 1, 1, tzinfo=TZ)
    fires = fires_between(s, "pre", at, dt.datetime(2027, 12, 31, tzinfo=TZ))
    assert fires == [dt.datetime(2027, 1, 29, 9, 0, tzinfo=TZ), dt.datetime(2027, 2, 25, 9, 0, tzinfo=TZ)]
    assert next_fire(s, "pre", at) == fires[0]
    assert last_fire(s, "pre", dt.datetime(2027, 2, 20, tzinfo=TZ)) == fires[0]
    assert next_fire(s, "pre", dt.datetime(2027, 3, 1, tzinfo=TZ)) is None     # no window ahead: never due
    # the ordinary job is untouched
    assert len(fires_between(s, "local_read", at, dt.datetime(2027, 1, 3, tzinfo=TZ))) == 2


def test_security_daily_on_duty_is_the_rota_inside_a_window_else_the_active_operators():
    """《安全运行日报》's on-duty list (yunwei.reports.security.on_duty): the window's two people with their
    contacts, marked when the audit log shows them at work; outside a window the day's active operators."""
    from yunwei.reports.contract import Contract
    from yunwei.reports.security import on_duty

    sched = parse_text(BASE, "schedule.yml", check_jobs=False)
    inside = on_duty(dt.date(2027, 2, 7), active_operators=["ln", "root"], contract=Contract(), schedule=sched)
    assert [(d["name"], d["contact"], d["source"]) for d in inside] == [
        ("李娜", "lina@example.invalid", "rota"), ("王芳", "13800000003", "rota")]
    assert inside[0]["role"] == "春节重保值守（当日有操作记录）" and inside[1]["role"] == "春节重保值守"
    outside = on_duty(dt.date(2027, 2, 20), active_operators=["root"], contract=Contract(), schedule=sched)
    assert [(d["name"], d["source"]) for d in outside] == [("root", "audit")]
    assert on_duty(dt.date(2027, 2, 7), active_operators=[], contract=Contract(), schedule=None) == []


def test_during_windows_fires_on_every_day_of_each_window_only():
    s = parse(BASE.replace("before_windows: 7}", "during_windows: true}").replace('"0 9 * * *"', '"45 20 * * *"'))
    fires = fires_between(s, "pre", dt.datetime(2027, 1, 1, tzinfo=TZ), dt.datetime(2027, 12, 31, tzinfo=TZ))
    assert [f.date().isoformat() for f in fires] == ["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08",
                                                      "2027-03-04", "2027-03-05"]
    assert {(f.hour, f.minute) for f in fires} == {(20, 45)}
    assert next_fire(s, "pre", dt.datetime(2027, 2, 8, 21, tzinfo=TZ)) == dt.datetime(2027, 3, 4, 20, 45, tzinfo=TZ)


def test_the_daily_security_report_is_delivered_during_windows_only(tmp_path, monkeypatch):
    """deliver(): the day's 《安全运行日报》 rendered, an audit record naming each file's SHA-256 and the day's
    on-duty people (from the approved schedule only), the notify command given the same JSON. Refused: no
    approved schedule, a day outside every window, a future day, a day without a successful security-daily run."""
    import hashlib
    import json
    import sys

    from yunwei.audit import default_log
    from yunwei.errors import YunweiError
    from yunwei.review.reviewed_file import digest_bytes
    from yunwei.schedule import active
    from yunwei.special.daily import deliver
    from yunwei.store import Run, open_store

    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    today = dt.datetime.now(TZ).date()
    d = [today + dt.timedelta(days=i) for i in (-2, -1, 0, 1)]
    sched = tmp_path / "schedule.yml"
    sched.write_text(f"""timezone: Asia/Shanghai
jobs:
  inspect: {{cron: "30 8 * * *"}}
operators:
  zw: {{name: 张伟, phone: "13800000001"}}
  ln: {{name: 李娜, email: lina@example.invalid}}
heightened:
  jobs: [inspect]
  cron: "30 8,14,20 * * *"
  windows:
    - {{name: 年末保障, kind: event, start: {d[1]}, end: {d[3]}, systems: [web], rota: [{{on_duty: [ln, zw]}}]}}
""")
    monkeypatch.setenv("YUNWEI_SCHEDULE", str(sched))
    got = tmp_path / "notified.json"
    desk = tmp_path / "service-desk.yml"
    desk.write_text(f"notify:\n  command: [{sys.executable}, -c, 'import sys; open(sys.argv[1], \"w\").write(sys.stdin.read())', "
                    f"{got}]\n")
    monkeypatch.setenv("YUNWEI_SERVICE_DESK", str(desk))
    store = tmp_path / "j.sqlite"
    kw = {"out_dir": tmp_path / "out", "formats": ["html"], "store_path": str(store)}
    with pytest.raises(YunweiError, match="no approved schedule"):       # schedule.yml as it stands is not enough
        deliver(d[2], **kw)
    active.activate({"id": "req-s", "requester": "alice", "schedule_file": str(sched),
                     "digest": digest_bytes(sched.read_bytes())}, approver="bob")
    with pytest.raises(InputError, match="no successful security-daily run"):
        deliver(d[2], **kw)
    now = dt.datetime.now(dt.timezone.utc)
    with open_store(store) as s:
        s.begin_run(Run(id="sd", job="security-daily", operator="schedule", started_at=now, hosts=["web01"]))
        s.finish_run("sd", "ok", ended_at=now)
    for day, words in ((d[0], "not a day of a 重保 window"), (d[3], "in the future")):
        with pytest.raises(InputError, match=words):
            deliver(day, **kw)
    fields = deliver(d[2], **kw)
    assert [p["name"] for p in fields["to"]] == ["李娜", "张伟"] and fields["window"] == "年末保障"
    (f,) = fields["files"]
    assert f["sha256"] == hashlib.sha256(open(f["file"], "rb").read()).hexdigest()
    assert "李娜" in open(f["file"], encoding="utf-8").read()           # the rota is in the report itself
    assert fields["notified"] is True and json.loads(got.read_text())["files"] == fields["files"]
    last = list(default_log().records())[-1]
    assert (last["event"], last["date"], last["operator"]) == ("report-delivered", d[2].isoformat(), "schedule")
    assert last["files"] == fields["files"]
    # an approved copy edited outside review is refused, not replaced by schedule.yml
    yml, _ = active.active_paths()
    yml.write_text(yml.read_text().replace("张伟", "某人"))
    with pytest.raises(YunweiError, match="approved digest"):
        deliver(d[2], **kw)
    from yunwei.reports.windows import load_schedule_plan

    with pytest.raises(YunweiError, match="approved digest"):
        load_schedule_plan()

"""Schedules: validation (exit 2), heightened windows, review before activation, due, tick
(idempotent, locked, missed runs), rendering to cron and systemd."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from runner_helpers import env  # noqa: F401  (fixture)

from yunwei.audit import default_log
from yunwei.cli import main
from yunwei.errors import InputError, YunweiError
from yunwei.review import workflow
from yunwei.schedule import active
from yunwei.schedule.calendar import fires_between, last_fire, profile_at
from yunwei.schedule.cronexpr import CronError, on_calendar, parse
from yunwei.schedule.model import load_schedule, parse_text
from yunwei.schedule.tick import due, job_lock, tick

TZ = ZoneInfo("Asia/Shanghai")
SCHEDULE = """\
timezone: Asia/Shanghai
jobs:
  local_read: {cron: "30 8 * * *", profile: daily}
heightened:
  jobs: [local_read]
  cron: "30 8,14,20 * * *"
  profile: heightened
  windows:
    - {name: 国庆节, kind: holiday, start: 2026-10-01, end: 2026-10-07, systems: [web], rota: [{on_duty: [zw, ln]}]}
    - {name: 元旦, kind: holiday, start: 2027-01-01, end: 2027-01-03, systems: [web], rota: [{on_duty: [zw, ln]}]}
operators:
  zw: {name: 张伟, phone: "13800000001"}
  ln: {name: 李娜, email: lina@example.invalid}
"""


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture()
def sched(env, monkeypatch):  # noqa: F811
    path = env.root / "schedule.yml"
    path.write_text(SCHEDULE)
    monkeypatch.setenv("YUNWEI_SCHEDULE", str(path))
    return path


def activate(env, *, when: str = "2026-09-28T00:00:00+08:00") -> dict:  # noqa: F811
    env.as_operator("alice")
    req = workflow.create_request("schedule", quiet=True)
    env.as_operator("bob")
    workflow.approve(req["id"])
    workflow.execute(req["id"])
    meta_path = active.active_paths()[1]
    meta = json.loads(meta_path.read_text())
    meta["activated_at"] = when  # pretend it was activated then (a test clock)
    meta_path.write_text(json.dumps(meta))
    return req


def test_repository_schedule_is_valid(monkeypatch):
    monkeypatch.delenv("YUNWEI_JOBS", raising=False)
    s = load_schedule(active.resolve_schedule_file(None))
    assert {"inspect", "resources"} <= set(s.entries)
    assert "inspect" in s.heightened_jobs and len(s.heightened_cron.hours) == 3


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t.replace('"30 8 * * *"', '"61 8 * * *"'), "jobs.local_read.cron"),
        (lambda t: t.replace('"30 8 * * *"', '"30 8 * *"'), "jobs.local_read.cron"),
        (lambda t: t.replace('"30 8,14,20 * * *"', '"every day"'), "heightened.cron"),
        (lambda t: t.replace("start: 2027-01-01", "start: 2026-10-05"), "heightened.windows[1]"),
        (lambda t: t.replace("end: 2026-10-07", "end: 2026-09-07"), "heightened.windows[0].end"),
        (lambda t: t.replace("local_read: {", "nope: {"), "jobs.nope"),
        (lambda t: t.replace("local_read: {", "local_change: {"), "jobs.local_change"),
        (lambda t: t.replace("Asia/Shanghai", "Mars/Olympus"), "timezone"),
        (lambda t: t.replace("start: 2026-10-01", "start: 1st October"), "heightened.windows[0].start"),
    ],
)
def test_bad_schedule_exits_2_naming_file_and_key(sched, capsys, edit, key):
    sched.write_text(edit(SCHEDULE))
    with pytest.raises(InputError) as info:
        load_schedule(sched)
    assert info.value.key == key and info.value.source == str(sched)
    assert main(["schedule", "validate"]) == 2
    err = capsys.readouterr().err
    assert str(sched) in err and key in err


def test_bad_schedule_request_is_refused_and_audited(env, sched, capsys):  # noqa: F811
    sched.write_text(SCHEDULE.replace("start: 2027-01-01", "start: 2026-10-05"))
    assert main(["request", "schedule", "-q"]) == 2
    assert "heightened.windows[1]" in capsys.readouterr().err
    assert [r["event"] for r in default_log().records()] == ["refusal"]


def test_heightened_window_means_three_times_a_day(env, sched):  # noqa: F811
    s = load_schedule(sched)
    normal = fires_between(s, "local_read", at("2026-09-20T00:00"), at("2026-09-21T00:00"))
    assert [t.hour for t in normal] == [8]
    heightened = fires_between(s, "local_read", at("2026-10-02T00:00"), at("2026-10-03T00:00"))
    assert [t.hour for t in heightened] == [8, 14, 20]
    last_day = fires_between(s, "local_read", at("2026-10-07T00:00"), at("2026-10-09T00:00"))
    assert [(t.day, t.hour) for t in last_day] == [(7, 8), (7, 14), (7, 20), (8, 8)]
    assert profile_at(s, "local_read", at("2026-10-02T14:30")) == "heightened"
    assert profile_at(s, "local_read", at("2026-10-08T08:30")) == "daily"
    assert last_fire(s, "local_read", at("2026-10-02T14:29")) == at("2026-10-02T08:30")
    assert last_fire(s, "local_read", at("2026-10-02T14:30")) == at("2026-10-02T14:30")


def test_schedule_needs_review_before_it_takes_effect(env, sched, capsys):  # noqa: F811
    with pytest.raises(YunweiError, match="no approved schedule"):
        active.load_active()
    assert main(["schedule", "due"]) == 1
    env.as_operator("alice")
    req = workflow.create_request("schedule", quiet=True)
    with pytest.raises(YunweiError, match="same person"):
        workflow.approve(req["id"])
    env.as_operator("bob")
    workflow.approve(req["id"])
    workflow.execute(req["id"])
    schedule, meta = active.load_active()
    assert meta["digest"] == req["digest"] and meta["approver"] == "bob"
    assert "schedule_change" in [r["event"] for r in default_log().records()]
    # an edit to schedule.yml changes nothing until reviewed
    sched.write_text(SCHEDULE.replace('"30 8 * * *"', '"0 3 * * *"'))
    assert active.pending_change() is not None
    schedule, _ = active.load_active()
    assert schedule.entries["local_read"].cron.text == "30 8 * * *"
    assert main(["schedule", "due", "--json"]) == 0
    assert "differs from the approved schedule" in capsys.readouterr().err
    # a request for the edit, approved, but the file changes again before execute
    env.as_operator("alice")
    req2 = workflow.create_request("schedule", quiet=True)
    assert "0 3 * * *" in workflow.show(req2["id"])["preview"]["changes"][0]["diff"]
    env.as_operator("bob")
    workflow.approve(req2["id"])
    sched.write_text(SCHEDULE.replace('"30 8 * * *"', '"0 4 * * *"'))
    with pytest.raises(YunweiError, match="digest differs"):
        workflow.execute(req2["id"])
    # tampering with the active copy is refused
    active.active_paths()[0].write_text(SCHEDULE.replace('"30 8 * * *"', '"0 5 * * *"'))
    with pytest.raises(YunweiError, match="does not match its approved digest"):
        active.load_active()


def test_due_and_tick_idempotent_with_missed_runs(env, sched, capsys):  # noqa: F811
    activate(env)
    ran: list[tuple[str, str | None]] = []

    def runner(job, profile):
        ran.append((job, profile))
        return "successful", 0, f"run-{len(ran)}"

    schedule, meta = active.load_active()
    items = due(schedule, meta, at("2026-09-28T09:00"))
    assert items[0].due and items[0].fire == at("2026-09-28T08:30") and not items[0].missed
    report = tick(at("2026-09-28T09:00"), runner=runner)
    assert ran == [("local_read", "daily")] and not report.missed
    # the same tick again: nothing
    assert tick(at("2026-09-28T09:00"), runner=runner).ran == [] and len(ran) == 1
    assert not due(schedule, meta, at("2026-09-28T10:00"))[0].due
    # the bastion was down from the 29th to Oct 2nd 15:00: only the latest slot runs, the rest are reported
    report = tick(at("2026-10-02T15:00"), runner=runner)
    assert ran[-1] == ("local_read", "heightened") and len(ran) == 2
    missed = report.missed[0]
    assert missed["count"] == 6  # 29th, 30th, 1st x3, 2nd 08:30
    assert missed["first"].startswith("2026-09-29T08:30") and missed["last"].startswith("2026-10-02T08:30")
    rec = [r for r in default_log().records() if r["event"] == "missed_run"]
    assert rec and rec[0]["count"] == 6 and rec[0]["job"] == "local_read"
    # CLI: tick reports, due lists
    assert main(["schedule", "due", "--at", "2026-10-02T21:00+08:00"]) == 0
    out = capsys.readouterr().out
    assert "yes" in out and "重保" in out


def test_tick_lock_prevents_overlap(env, sched):  # noqa: F811
    activate(env)
    ran = []
    with job_lock("local_read") as got:
        assert got
        report = tick(at("2026-09-28T09:00"), runner=lambda j, p: ran.append(j) or ("successful", 0, "x"))
    assert report.busy == ["local_read"] and ran == []
    assert tick(at("2026-09-28T09:00"), runner=lambda j, p: ran.append(j) or ("successful", 0, "x")).ran
    assert ran == ["local_read"]


def test_tick_runs_the_real_job_through_the_runner(env, sched, capsys):  # noqa: F811
    activate(env)
    assert main(["schedule", "tick", "--at", "2026-09-28T09:00+08:00"]) == 0
    assert "ran local_read" in capsys.readouterr().out
    assert (env.root / "read.txt").read_text() == "greeting=hello\n"
    recs = [r for r in default_log().records() if r["event"] in ("execution", "result")]
    assert recs[-2]["trigger"] == "schedule" and recs[-2]["profile"] == "daily"
    assert recs[-1]["status"] == "successful"
    assert main(["schedule", "tick", "--at", "2026-09-28T09:00+08:00"]) == 0
    assert "nothing due" in capsys.readouterr().out


def test_render_cron_and_systemd(env, sched, tmp_path, capsys):  # noqa: F811
    activate(env)
    assert main(["schedule", "render", "--cron"]) == 0
    cron = capsys.readouterr().out
    lines = [ln for ln in cron.splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "CRON_TZ=Asia/Shanghai"
    assert lines[1].startswith("30 8 * * * ") and lines[1].count("schedule tick --job local_read")
    assert lines[2].startswith("30 8,14,20 * * * ")
    out = tmp_path / "units"
    assert main(["schedule", "render", "--systemd", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["yunwei-local_read.service", "yunwei-local_read.timer"]
    timer = (out / "yunwei-local_read.timer").read_text()
    assert "OnCalendar=*-*-* 08:30:00 Asia/Shanghai" in timer
    assert "OnCalendar=*-*-* 08,14,20:30:00 Asia/Shanghai" in timer and "Persistent=true" in timer
    service = (out / "yunwei-local_read.service").read_text()
    assert "Type=oneshot" in service and "schedule tick --job local_read" in service


def test_cron_expressions():
    assert on_calendar(parse("*/15 9-17 * * 1-5"), "UTC") == ["Mon,Tue,Wed,Thu,Fri *-*-* 09,10,11,12,13,14,15,16,17:00,15,30,45:00 UTC"]
    assert on_calendar(parse("0 3 1 jan,jul *"), "UTC") == ["*-01,07-01 03:00:00 UTC"]
    both = on_calendar(parse("0 0 13 * 5"), "UTC")  # cron: the 13th OR a Friday
    assert both == ["*-*-13 00:00:00 UTC", "Fri *-*-* 00:00:00 UTC"]
    assert parse("0 0 * * 7").weekdays == (0,)
    for bad in ("* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "x * * * *", "@daily"):
        with pytest.raises(CronError):
            parse(bad)


def test_parse_text_rejects_unknown_keys():
    with pytest.raises(InputError) as info:
        parse_text("jobs: {}\nholidays: []\n", "s.yml", check_jobs=False)
    assert info.value.key == "holidays"


def test_fires_between_after_a_long_gap_returns_the_latest_fires():
    s = parse_text('timezone: Asia/Shanghai\njobs:\n  every_minute: {cron: "* * * * *"}\n', "s.yml", check_jobs=False)
    after, until = at("2026-09-01T00:00"), at("2026-10-01T12:00")  # 30 days of minutes, far over the cap
    fires = fires_between(s, "every_minute", after, until)
    assert fires[-1] == until  # the slot to run now is the latest one, not one from September 1st
    assert len(fires) > 1 and all(after < t <= until for t in fires)  # older slots still reported as missed
    assert fires == sorted(fires) and fires[-2] == until - dt.timedelta(minutes=1)
    # a short gap is unchanged: every fire, after < t <= until
    short = fires_between(s, "every_minute", at("2026-10-01T11:57"), at("2026-10-01T12:00"))
    assert short == [at("2026-10-01T11:58"), at("2026-10-01T11:59"), at("2026-10-01T12:00")]


def test_at_without_offset_is_in_the_schedule_zone_and_tick_refuses_the_future(env, sched, capsys):  # noqa: F811
    activate(env)
    # 08:20 in Shanghai: the 08:30 slot is not yet due (read as UTC it would be 16:20 Shanghai: due)
    assert main(["schedule", "due", "--at", "2026-09-28T08:20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["due"] is False
    assert main(["schedule", "due", "--at", "2026-09-28T08:40", "--json"]) == 0
    item = json.loads(capsys.readouterr().out)[0]
    assert item["due"] is True and dt.datetime.fromisoformat(item["fire"]) == at("2026-09-28T08:30")
    assert main(["schedule", "tick", "--at", "2026-09-28T08:20"]) == 0
    assert "nothing due" in capsys.readouterr().out
    # tick never acts in the future (it would store a future last slot and swallow the real ones)
    future = (dt.datetime.now(TZ) + dt.timedelta(days=2)).replace(tzinfo=None).isoformat(timespec="minutes")
    assert main(["schedule", "tick", "--at", future]) == 2
    assert "future" in capsys.readouterr().err
    assert "local_read" not in json.loads((env.var / "schedule" / "state.json").read_text() or "{}") \
        if (env.var / "schedule" / "state.json").exists() else True
    with pytest.raises(InputError):
        tick(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1), runner=lambda j, p: ("successful", 0, "x"))
    # due may look into the future
    assert main(["schedule", "due", "--at", future, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["due"] is True


def test_tick_in_a_heightened_window_passes_inspection_profile(env, sched, monkeypatch):  # noqa: F811
    from runner_helpers import fake_run_job

    import yunwei.commands.run as run_cmd

    activate(env)
    calls: list[dict] = []
    monkeypatch.setattr(run_cmd, "run_job", lambda job, **kw: calls.append(kw) or fake_run_job(job, **kw))
    report = tick(at("2026-10-02T14:45"))  # default runner: run_readonly
    assert report.ran[0]["profile"] == "heightened"
    assert calls[0]["extravars"]["inspection_profile"] == "heightened" and calls[0]["profile"] == "heightened"

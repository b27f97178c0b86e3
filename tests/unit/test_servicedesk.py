"""The service desk (issue 17): tickets and their clocks, bad input, corrections, the audit trail,
ticket-watch and its notifications, alerts becoming tickets, follow-ups and feedback.

Times are the tool's: tests move the clock by patching ``yunwei.servicedesk.store.now_ts`` (what
every write reads), never by typing a time. Concurrency and crashes: tests/integration/test_servicedesk_store.py.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from yunwei.audit import default_log
from yunwei.cli import main
from yunwei.errors import InputError, YunweiError
from yunwei.servicedesk import alerts, feedback as fb, store as sd, tickets as tk, watch
from yunwei.servicedesk.config import ServiceDeskConfig, load_config, parse_config
from yunwei.servicedesk.fold import fold
from yunwei.store import open_store

T0 = datetime(2026, 5, 28, 4, 26, tzinfo=timezone(timedelta(hours=8))).timestamp()  # the "now" tests move forward
MIN = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def at(self, minutes: float) -> None:
        self.now = T0 + minutes * MIN


@pytest.fixture()
def desk(tmp_path, monkeypatch):
    """Lab mode, a fresh store and audit log, operator alice, the clock at T0."""
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_STORE", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("YUNWEI_OPERATOR", "alice")
    for name in ("YUNWEI_CONFIG", "YUNWEI_SERVICE_DESK"):
        monkeypatch.delenv(name, raising=False)
    clock = Clock()
    monkeypatch.setattr(sd, "now_ts", clock)
    store = open_store(tmp_path / "journal.sqlite")
    yield store, clock
    store.close()


def audit_records(event: str = "ticket") -> list[dict]:
    return [r for r in default_log().records() if r["event"] == event]


def new_ticket(store, grade="fault", channel="hotline", **kw):
    return tk.open_ticket(store, grade=grade, channel=channel, reporter=kw.pop("reporter", "王芳"),
                          title=kw.pop("title", "网站无法访问"), **kw)


# ----------------------------------------------------------------------------- configuration
def test_contract_defaults():
    c = ServiceDeskConfig()
    assert c.clocks_for("consult") == {"response": 5 * MIN}
    assert c.clocks_for("fault") == {"response": 30 * MIN, "handling": 15 * MIN}       # 一般问题 30 min
    assert c.clocks_for("major") == {"response": 30 * MIN, "onsite": 120 * MIN}
    assert c.clocks_for("sec-normal")["handling"] == 120 * MIN
    assert c.clocks_for("sec-major") == {"response": 15 * MIN}
    assert c.clocks_for("emergency", "hotline") == {"response": MIN, "handling": 15 * MIN}  # 紧急热线故障
    assert c.clocks_for("emergency", "wechat") == {"response": MIN}
    assert load_config(Path(__file__).parents[2] / "service-desk.yml").clocks_for("fault") == c.clocks_for("fault")


@pytest.mark.parametrize(("text", "key"), [
    ("grades: {urgent: {response: 5m}}", "grades.urgent"),
    ("grades: {fault: {handling: 15}}", "grades.fault.handling"),        # a bare number: which unit?
    ("grades: {fault: {handling: -5m}}", "grades.fault.handling"),
    ("grades: {fault: {repair: 15m}}", "grades.fault.repair"),
    ("channels: {fax: {fault: {response: 1m}}}", "channels.fax"),
    ("warn_before: soon", "warn_before"),
    ("notify: {command: [notify-send]}", "notify.command"),              # relative: the job's PATH is minimal
    ("alerts: {severity: {critical: panic}}", "alerts.severity.critical"),
    ("clock: {}", "clock"),
    ("[1, 2]", "(top level)"),
])
def test_malformed_clock_configuration_names_file_and_key(tmp_path, capsys, text, key):
    bad = tmp_path / "service-desk.yml"
    bad.write_text(text + "\n")
    with pytest.raises(InputError) as err:
        parse_config(__import__("yaml").safe_load(text), str(bad))
    assert err.value.key == key
    assert main(["ticket", "clocks", "--config", str(bad)]) == 2
    assert f"{bad}: {key}:" in capsys.readouterr().err


def test_lab_mode_clocks_from_the_environment(desk, tmp_path, monkeypatch):
    store, _ = desk
    conf = tmp_path / "desk.yml"
    conf.write_text("grades: {fault: {handling: 1h}}\ngeneral: {}\n")
    monkeypatch.setenv("YUNWEI_SERVICE_DESK", str(conf))
    t = new_ticket(store)
    assert [(c.kind, c.seconds) for c in t.clocks] == [("handling", 3600.0)]
    conf.write_text("grades: {fault: {handling: 1}}\n")            # broken: nothing is registered
    with pytest.raises(InputError, match="grades.fault.handling"):
        new_ticket(store)
    assert len(tk.list_tickets(store)) == 1


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="root-owned admin files need root")


def _admin(tmp_path: Path, desk_text: str | None) -> Path:
    admin = tmp_path / "etc-yunwei"
    admin.mkdir(mode=0o755)
    (admin / "allowed_signers").write_text("")
    lines = f"allowed_signers: {admin / 'allowed_signers'}\nreview: {{store: {tmp_path / 'state'}}}\n"
    if desk_text is not None:
        (admin / "service-desk.yml").write_text(desk_text)
        lines += f"service_desk: {admin / 'service-desk.yml'}\n"
    (admin / "yunwei.yml").write_text(lines)
    for p in (admin, *admin.iterdir()):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return admin


@needs_root
def test_admin_mode_clocks_come_from_the_administrator(desk, tmp_path, monkeypatch, capsys):
    """The clocks decide breaches: in admin mode only root's file counts, an operator's variable is
    refused (and audited), and a file others could write is not trusted."""
    store, _ = desk
    admin = _admin(tmp_path, "grades: {fault: {handling: 45m}}\n")
    monkeypatch.setenv("YUNWEI_CONFIG", str(admin / "yunwei.yml"))
    monkeypatch.delenv("YUNWEI_OPERATOR")
    assert main(["ticket", "clocks", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == str(admin / "service-desk.yml")
    assert {"grade": "fault", "channel": "", "clocks": {"response": 1800.0, "handling": 2700.0}} in out["clocks"]
    mine = tmp_path / "mine.yml"
    mine.write_text("grades: {fault: {handling: 9h}}\n")
    monkeypatch.setenv("YUNWEI_SERVICE_DESK", str(mine))
    assert main(["ticket", "open", "--grade", "fault", "--channel", "hotline", "--reporter", "x", "--title", "y"]) == 2
    assert "$YUNWEI_SERVICE_DESK" in capsys.readouterr().err
    assert [r["event"] for r in default_log().records()][-1] == "refusal"
    monkeypatch.delenv("YUNWEI_SERVICE_DESK")
    os.chmod(admin / "service-desk.yml", 0o664)
    assert main(["ticket", "clocks"]) == 2
    assert "not trusted" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the life of a ticket
def test_lifecycle_through_the_command_line(desk, capsys):
    store, clock = desk
    assert main(["ticket", "open", "--grade", "fault", "--channel", "hotline", "--reporter", "王芳", "--contact",
                 "13800000000", "--host", "web01", "--title", "网站无法访问"]) == 0
    tid = capsys.readouterr().out.strip()
    steps = [(2, ["ack", tid]), (3, ["assign", tid, "--to", "李娜"]), (4, ["note", tid, "已登录 web01 排查"]),
             (8, ["resolve", tid, "--cause", "nginx 异常退出", "--action", "重启 nginx", "--result", "网站恢复"]),
             (30, ["close", tid, "--confirmation", "电话确认已恢复"])]
    for minute, argv in steps:
        clock.at(minute)
        assert main(["ticket", *argv]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["ticket", "show", tid, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "closed" and shown["assignee"] == "李娜" and shown["cause"] == "nginx 异常退出"
    assert [h["event"] for h in shown["history"]] == ["open", "ack", "assign", "note", "resolve", "close"]
    assert [(c["kind"], c["state"]) for c in shown["clocks"]] == [("response", "met"), ("handling", "met")]
    recs = audit_records()
    assert [(r["action"], r["seq"], r["ticket"], r["operator"]) for r in recs] == [
        (a, i, tid, "alice") for i, a in enumerate(["open", "ack", "assign", "note", "resolve", "close"], 1)]
    assert default_log().verify().ok
    t = tk.get(store, tid)
    assert t.responded_at - t.opened_at == 2 * MIN and t.resolved_at - t.opened_at == 8 * MIN


BAD = [
    (["open", "--grade", "urgent", "--channel", "hotline", "--reporter", "x", "--title", "y"], "--grade"),
    (["open", "--grade", "fault", "--channel", "fax", "--reporter", "x", "--title", "y"], "--channel"),
    (["open", "--grade", "fault", "--channel", "hotline", "--reporter", " ", "--title", "y"], "--reporter"),
    (["open", "--grade", "fault", "--channel", "hotline", "--reporter", "x", "--title", ""], "--title"),
]


@pytest.mark.parametrize(("argv", "field"), BAD)
def test_bad_registration_exits_2_naming_the_field(desk, capsys, argv, field):
    store, _ = desk
    assert main(["ticket", *argv]) == 2
    assert f"error: {field}:" in capsys.readouterr().err
    assert tk.list_tickets(store) == [] and audit_records() == []


def test_disallowed_transitions_leave_the_ticket_unchanged(desk, capsys):
    store, clock = desk
    tid = new_ticket(store).id
    before = len(tk.history(store, tid))

    def refused(argv: list[str], text: str) -> None:
        assert main(["ticket", *argv]) == 2
        err = capsys.readouterr().err
        assert text in err and f"ticket {tid}: state:" in err, err
        assert len(tk.history(store, tid)) == n_events

    n_events = before
    refused(["close", tid, "--confirmation", "ok"], "not resolved yet")
    assert main(["ticket", "ack", tid]) == 0
    n_events += 1
    refused(["ack", tid], "already acknowledged by alice")
    assert main(["ticket", "resolve", tid, "--cause", "c", "--action", "a", "--result", "r"]) == 0
    assert main(["ticket", "close", tid, "--confirmation", "ok"]) == 0
    n_events += 2
    capsys.readouterr()
    refused(["ack", tid], "closed by alice")
    refused(["resolve", tid, "--cause", "c", "--action", "a", "--result", "r"], "closed")
    refused(["escalate", tid, "--grade", "major", "--reason", "x"], "no longer being handled")
    for argv, field in [(["resolve", tid, "--cause", "", "--action", "a", "--result", "r"], "--cause"),
                        (["escalate", tid, "--grade", "panic", "--reason", "x"], "--grade"),
                        (["ack", "20990101-001"], "ticket 20990101-001")]:
        assert main(["ticket", *argv]) == 2
        assert f"error: {field}" in capsys.readouterr().err
    assert tk.get(store, tid).version == n_events


# ----------------------------------------------------------------------------- clocks and breaches
def test_breaches_are_marked_and_stay_after_closing(desk, capsys):
    store, clock = desk
    tid = new_ticket(store).id                       # fault: response 30 min, handling 15 min
    clock.at(10)
    assert [d.clock.kind for d in watch.due(store)] == ["handling", "response"]
    clock.at(20)
    assert tk.list_tickets(store, breached=True)[0].id == tid          # overdue while running
    tk.ack(store, tid)
    clock.at(40)
    tk.resolve(store, tid, cause="磁盘写满", action="清理日志", result="恢复")
    tk.note(store, tid, "机房门禁故障，工程师 25 分钟后才进入", breach_reason=True)
    clock.at(60)
    t = tk.close(store, tid, confirmation="用户确认")
    assert [(c.kind, c.breached) for c in t.clocks] == [("response", False), ("handling", True)]
    assert t.breaches == 1 and t.breach_reason.startswith("机房门禁")
    assert [x.id for x in tk.list_tickets(store, breached=True)] == [tid]
    assert [x.id for x in tk.list_tickets(store, open_only=True)] == []
    assert main(["ticket", "list", "--breached"]) == 0
    assert "handling" in capsys.readouterr().out
    ok = new_ticket(store, grade="consult").id
    tk.ack(store, ok)
    with pytest.raises(InputError, match="no breached clock"):
        tk.note(store, ok, "x", breach_reason=True)


def test_escalation_starts_the_new_grades_clocks_and_keeps_old_breaches(desk):
    store, clock = desk
    tid = new_ticket(store, grade="consult").id      # response 5 min
    clock.at(8)
    t = tk.escalate(store, tid, "major", "影响全省用户")
    old, *new = t.clocks
    assert old.kind == "response" and old.grade == "consult" and old.breached        # ran out before the change
    assert [(c.kind, c.grade, c.due) for c in new] == [("response", "major", T0 + 38 * MIN),
                                                      ("onsite", "major", T0 + 128 * MIN)]
    clock.at(20)
    tk.ack(store, tid)
    clock.at(100)
    t = tk.onsite(store, tid)
    assert [c.breached for c in t.clocks] == [True, False, False] and t.onsite_at == T0 + 100 * MIN
    with pytest.raises(InputError, match="already recorded"):
        tk.onsite(store, tid)


def test_reopen_starts_a_new_handling_clock(desk):
    store, clock = desk
    tid = new_ticket(store).id
    tk.resolve(store, tid, cause="c", action="a", result="r")    # resolving answers too
    clock.at(60)
    t = tk.reopen(store, tid, "问题复现")
    assert t.state == "acked" and t.resolved_at is None
    assert [(c.kind, c.started) for c in t.clocks] == [("response", T0), ("handling", T0), ("handling", T0 + 60 * MIN)]
    assert t.due("handling") == T0 + 75 * MIN


def test_a_correction_is_an_audited_event_with_a_reason(desk, capsys):
    store, clock = desk
    tid = new_ticket(store).id
    clock.at(40)
    t = tk.ack(store, tid)                           # recorded 40 min in: response (30 min) breached
    assert t.breaches == 1
    clock.at(41)
    assert main(["ticket", "correct", tid, "--event", "2", "--at", "2026-05-28T04:33:00+08:00", "--reason",
                 "电话 04:33 已接听，登记晚了"]) == 0
    t = tk.get(store, tid)
    assert t.responded_at == T0 + 7 * MIN and t.breaches == 0
    assert t.corrections[0]["from"] == T0 + 40 * MIN and t.corrections[0]["reason"].startswith("电话")
    assert [e.kind for e in tk.history(store, tid)] == ["open", "ack", "correct"]   # the recorded ack stays
    assert audit_records()[-1]["action"] == "correct"
    capsys.readouterr()
    for at, why in [("2026-05-28T04:20:00+08:00", "before event 1"), ("2099-01-01T00:00", "in the future"),
                    ("yesterday", "expected a time")]:
        assert main(["ticket", "correct", tid, "--event", "2", "--at", at, "--reason", "x"]) == 2
        assert why in capsys.readouterr().err
    assert main(["ticket", "correct", tid, "--event", "3", "--at", "2026-05-28T04:30", "--reason", "x"]) == 2
    assert "not a time that can be corrected" in capsys.readouterr().err


def test_the_row_is_the_fold_of_the_history(desk):
    store, clock = desk
    ids = []
    for i, grade in enumerate(["consult", "fault", "emergency", "major", "sec-normal", "sec-major"]):
        t = new_ticket(store, grade=grade, channel="hotline")
        ids.append(t.id)
        clock.at(i * 7 + 3)
        tk.ack(store, t.id)
        if i % 2:
            tk.resolve(store, t.id, cause="c", action="a", result="r")
        if i == 3:
            tk.close(store, t.id, confirmation="ok")
            tk.reopen(store, t.id, "again")
    for tid in ids:
        assert sd.ticket_row(fold(tid, tk.history(store, tid))) == sd.ticket_row(tk.get(store, tid))


def test_expected_version_guard(desk):
    """The write a concurrent change overtook is refused by the row's version (what PostgreSQL's
    READ COMMITTED relies on; tests/integration runs two real processes)."""
    store, _ = desk
    t = new_ticket(store)
    with pytest.raises(sd.Stale):
        with store.transaction() as cur:
            sd.save_ticket(cur, store, t, expected=t.version + 5)
    assert tk.get(store, t.id).version == 1


# ----------------------------------------------------------------------------- audit
def test_an_event_the_audit_log_missed_is_recorded_late(desk, monkeypatch):
    store, clock = desk
    tid = new_ticket(store).id
    import yunwei.audit as audit

    real = audit.record
    monkeypatch.setattr(audit, "record", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(YunweiError, match="recorded .event 2. but the audit log refused"):
        tk.ack(store, tid)
    monkeypatch.setattr(audit, "record", real)
    assert tk.get(store, tid).state == "acked"               # nothing acknowledged is lost
    assert [r["action"] for r in audit_records()] == ["open"]
    clock.at(5)
    watch.watch(store, config=ServiceDeskConfig())
    late = audit_records()[-1]
    assert late["action"] == "ack" and late["recorded_late"] is True and late["by"] == "alice"
    assert sd.repair_audit(store, older_than=0) == 0


# ----------------------------------------------------------------------------- ticket-watch
NOTIFIER = """#!{python}
import json, sys
msg = json.load(sys.stdin)
with open({out!r}, "a") as fh:
    fh.write(json.dumps(msg, ensure_ascii=False) + "\\n")
sys.exit(1 if msg["ticket"].endswith("-002") else 0)
"""


def test_watch_notifies_once_before_and_once_at_a_breach(desk, tmp_path):
    store, clock = desk
    out = tmp_path / "sent.jsonl"
    script = tmp_path / "notify"
    script.write_text(NOTIFIER.format(python=sys.executable, out=str(out)))
    script.chmod(0o755)
    config = ServiceDeskConfig(notify_command=(str(script),), warn_before=5 * MIN)
    tid = new_ticket(store, grade="consult").id          # response 5 min: near from the start
    broken = new_ticket(store, grade="consult").id       # its notifications fail (exit 1)
    for minute in (1, 2, 6, 7, 8, 9, 10):
        clock.at(minute)
        watch.watch(store, config=config)
    sent = [json.loads(x) for x in out.read_text().splitlines()]
    mine = [(m["level"], m["clock"]) for m in sent if m["ticket"] == tid]
    assert mine == [("warn", "response"), ("breach", "response")]
    assert "【工单已超时】" in [m for m in sent if m["ticket"] == tid][1]["message"]
    failed = [m["level"] for m in sent if m["ticket"] == broken]
    assert failed == ["warn"] * 2 + ["breach"] * 3            # retried (at most 3 times), all on record
    kinds = [e.kind for e in tk.history(store, tid)]
    assert kinds == ["open", "notify", "breach", "notify"]
    notes = [e.data for e in tk.history(store, broken) if e.kind == "notify"]
    assert len(notes) == 5 and not any(n["ok"] for n in notes) and "exited 1" in notes[0]["error"]
    tk.ack(store, tid)
    assert tk.get(store, tid).breaches == 1                 # answered late: the breach is a fact


def test_due_lists_the_soonest_first(desk, capsys):
    store, clock = desk
    a = new_ticket(store, grade="sec-normal").id             # response 30 min, handling 2 h
    b = new_ticket(store, grade="consult").id                # response 5 min
    clock.at(10)
    assert main(["ticket", "due", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["ticket"], r["clock"], r["remaining_s"]) for r in rows] == [
        (b, "response", -5 * MIN), (a, "response", 20 * MIN), (a, "handling", 110 * MIN)]
    assert main(["ticket", "due", "--within", "30m"]) == 0
    assert "OVERDUE 5 分钟" in capsys.readouterr().out


# ----------------------------------------------------------------------------- alerts become tickets
def payload(status="firing", fp="a1b2c3d4", starts="2026-05-27T20:20:00Z", ends=None, **labels):
    alert = {"status": status, "fingerprint": fp, "startsAt": starts,
             "labels": {"alertname": "NginxDown", "host": "web01", "severity": "critical", **labels},
             "annotations": {"summary": "web01 nginx 已停止", "suggestion": "启动 nginx 并查看错误日志"}}
    if ends:
        alert["endsAt"] = ends
    return {"version": "4", "status": status, "receiver": "yunwei", "alerts": [alert]}


def test_an_alert_is_one_ticket_while_it_fires(desk):
    store, clock = desk
    clock.at(3)
    [r] = alerts.ingest(store, payload())
    assert r["action"] == "opened" and r["grade"] == "emergency"
    t = tk.get(store, r["ticket"])
    assert t.opened_at == T0 - 6 * MIN and t.registered_at == T0 + 3 * MIN     # the clock starts at the alert
    assert t.channel == "alert" and t.host == "web01" and "处理建议" in t.description
    assert alerts.ingest(store, payload())[0]["action"] == "unchanged"           # repeated delivery
    clock.at(10)
    done = alerts.ingest(store, payload("resolved", ends="2026-05-27T20:35:00Z"))[0]
    assert done == {**r, "status": "resolved", "action": "annotated"}
    assert tk.get(store, r["ticket"]).alert["status"] == "resolved" and tk.get(store, r["ticket"]).state == "new"
    refire = alerts.ingest(store, payload(starts="2026-05-27T20:40:00Z"))[0]
    assert refire["ticket"] == r["ticket"] and refire["action"] == "annotated"   # still one ticket
    tk.resolve(store, r["ticket"], cause="c", action="a", result="r")
    tk.close(store, r["ticket"], confirmation="监控恢复")
    again = alerts.ingest(store, payload(starts="2026-05-27T20:45:00Z"))[0]
    assert again["action"] == "opened" and again["ticket"] != r["ticket"]        # a closed ticket stays closed
    missed = alerts.ingest(store, payload("resolved", fp="ffff0000", starts="2026-05-27T19:00:00Z",
                                          ends="2026-05-27T19:10:00Z", severity="warning"))[0]
    assert missed["action"] == "opened" and missed["grade"] == "fault"            # never seen firing: registered
    assert [e.kind for e in tk.history(store, missed["ticket"])] == ["open", "alert"]


@pytest.mark.parametrize(("mutate", "key"), [
    (lambda a: a.pop("fingerprint"), "alerts[0].fingerprint"),
    (lambda a: a.update(startsAt="yesterday"), "alerts[0].startsAt"),
    (lambda a: a.update(status="pending"), "alerts[0].status"),
    (lambda a: a.update(labels=["x"]), "alerts[0].labels"),
])
def test_a_malformed_alert_payload_registers_nothing(desk, tmp_path, capsys, mutate, key):
    store, _ = desk
    data = payload()
    data["alerts"].insert(0, json.loads(json.dumps(data["alerts"][0])))
    data["alerts"][0]["fingerprint"] = "other"
    mutate(data["alerts"][0])
    f = tmp_path / "alert.json"
    f.write_text(json.dumps(data))
    assert main(["ticket", "alert", "--file", str(f)]) == 2
    assert f"alert payload: {key}:" in capsys.readouterr().err
    assert tk.list_tickets(store) == []


# ----------------------------------------------------------------------------- closing the loop
def test_followups(desk, capsys):
    store, clock = desk
    tid = new_ticket(store).id
    tk.resolve(store, tid, cause="c", action="a", result="r")
    tk.close(store, tid, confirmation="ok")
    assert fb.pending_requesters(store, "2026-05") == [{"requester": "王芳", "tickets": 1, "contact": ""}]
    for argv, field in [(["--requester", "王芳", "--score", "6"], "--score"), (["--requester", "王芳", "--score", "4.5"], "--score"),
                        (["--requester", "", "--score", "4"], "--requester"),
                        (["--requester", "王芳", "--score", "4", "--month", "2026-13"], "--month"),
                        (["--requester", "王芳", "--score", "4", "--ticket", "nope"], "--ticket")]:
        assert main(["followup", "add", "--month", "2026-05", *argv] if "--month" not in argv else
                    ["followup", "add", *argv]) == 2
        assert f"error: {field}:" in capsys.readouterr().err
    assert main(["followup", "add", "--month", "2026-05", "--requester", "王芳", "--score", "3", "--ticket", tid,
                 "--remarks", "响应慢"]) == 0
    clock.at(60)
    fb.record_followup(store, requester="王芳", score=5, ticket_id=tid, month="2026-05", remarks="复访：满意")
    rows = fb.followups(store, "2026-05", latest_only=False)
    assert [(f.score, f.superseded) for f in rows] == [(3, True), (5, False)]
    assert [f.score for f in fb.followups(store, "2026-05")] == [5]
    assert fb.pending_requesters(store, "2026-05") == []
    assert [r["action"] for r in audit_records("followup")] == ["followup", "followup"]


def test_feedback_items_and_their_states(desk, capsys):
    store, clock = desk
    assert main(["feedback", "add", "--title", "希望增加批量导出", "--requester", "李静"]) == 0
    fid = capsys.readouterr().out.strip()
    assert fid.startswith("FB") and fb.get_feedback(store, fid).state == "new"
    assert main(["feedback", "set", fid, "--state", "scheduled"]) == 2       # scheduled needs its plan
    assert "--plan" in capsys.readouterr().err
    clock.at(60)
    assert main(["feedback", "set", fid, "--state", "scheduled", "--plan", "2026-06 版本"]) == 0
    clock.at(120)
    fb.set_feedback(store, fid, state="done", note="已上线")
    assert main(["feedback", "set", fid, "--state", "accepted"]) == 2
    assert "cannot go from done" in capsys.readouterr().err
    assert main(["feedback", "set", fid, "--state", "maybe"]) == 2
    f = fb.get_feedback(store, fid)
    assert (f.state, f.plan, f.closed_at) == ("done", "2026-06 版本", T0 + 120 * MIN)
    assert [r["action"] for r in audit_records("feedback")] == ["open", "state", "state"]

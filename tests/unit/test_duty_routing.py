"""Alerts during a 重保 window reach the day's on-duty people (issue 20): the message names them with
their contacts, WeCom and DingTalk mention their phones, email goes to them too; outside a window the
channels get exactly what they are configured with."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from yunwei.monitoring import config as mconfig
from yunwei.monitoring.receiver import Receiver
from yunwei.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from monitoring_receivers import Channels  # noqa: E402

SCHED = """\
timezone: Asia/Shanghai
jobs: {}
operators:
  zw: {name: 张伟, phone: "13800000001", email: zw@example.gov.cn}
  ln: {name: 李娜, phone: "13800000002"}
heightened:
  windows:
    - {name: 峰会, kind: event, start: 2026-12-01, end: 2026-12-02, systems: [web], rota: [{on_duty: [zw, ln]}]}
"""


def alert(starts):
    return {"version": "4", "status": "firing", "receiver": "yunwei", "alerts": [{
        "status": "firing", "fingerprint": f"fp-{starts}", "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
        "labels": {"alertname": "WEB_NGINX_001", "id": "WEB-NGINX-001", "host": "web01", "instance": "web01",
                   "severity": "critical"},
        "annotations": {"summary": "nginx 未运行", "title": "nginx 运行状态"}}]}


@pytest.fixture()
def receiver(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_OPERATOR", "alice")
    for name in ("YUNWEI_CONFIG", "YUNWEI_SERVICE_DESK", "YUNWEI_ALERTING"):
        monkeypatch.delenv(name, raising=False)
    sched = tmp_path / "schedule.yml"
    sched.write_text(SCHED, encoding="utf-8")
    monkeypatch.setenv("YUNWEI_SCHEDULE", str(sched))
    ch = Channels()
    rec = Receiver(mconfig.parse_config(ch.config("127.0.0.1:0"), "test"), open_store(tmp_path / "j.sqlite"))
    rec.start()
    yield rec, ch
    rec.stop()
    ch.close()


def test_alert_in_a_window_reaches_the_days_on_duty_people(receiver):
    rec, ch = receiver
    assert rec.receive(json.dumps(alert("2026-12-01T06:00:00Z")).encode())[0] == 200   # 14:00 on 12-01 local
    mail = ch.mail.wait(lambda m: "web01" in m["subject"], 10)
    assert mail and "zw@example.gov.cn" in mail["to"] and "oncall@example.gov.cn" in mail["to"]
    assert "重保值守：张伟（13800000001 / zw@example.gov.cn）、李娜（13800000002）" in mail["text"]
    wecom = ch.wecom.wait(lambda m: "web01" in m["text"], 10)
    assert {"13800000001", "13800000002"} <= set(wecom["body"]["markdown"].get("mentioned_mobile_list", []))
    ding = ch.ding.wait(lambda m: "web01" in m["text"], 10)
    assert {"13800000001", "13800000002"} <= set(ding["body"]["at"]["atMobiles"])


def test_alert_outside_a_window_goes_to_the_configured_recipients_only(receiver):
    rec, ch = receiver
    assert rec.receive(json.dumps(alert("2026-12-05T06:00:00Z")).encode())[0] == 200
    mail = ch.mail.wait(lambda m: "web01" in m["subject"], 10)
    assert mail and mail["to"] == ["oncall@example.gov.cn"] and "重保值守" not in mail["text"]

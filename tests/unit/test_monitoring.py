"""Monitoring without the lab: the rules (static from the catalogue and the reviewed limits, dynamic
from a journal's baselines, promtool as the gate), the receiver (record, ticket, notify, de-duplicate,
retry, silence) against local channel receivers that check each documented message format, and the
secrets that must never leak. The lab tests (tests/integration/test_monitoring_lab.py) measure the
real chain."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from yunwei.errors import InputError
from yunwei.monitoring import config as mconfig
from yunwei.monitoring import record, rules
from yunwei.monitoring.receiver import Receiver, make_server
from yunwei.store import open_store
from yunwei.store.model import Metric, Run

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from monitoring_receivers import Channels  # noqa: E402


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_STORE", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("YUNWEI_OPERATOR", "alice")
    for name in ("YUNWEI_CONFIG", "YUNWEI_SERVICE_DESK", "YUNWEI_ALERTING"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# ----------------------------------------------------------------------------- rules
def rule_docs(out: Path) -> dict[str, list[dict]]:
    return {f.name: yaml.safe_load(f.read_text())["groups"][0]["rules"] for f in out.glob("*.rules.yml")}


def test_static_rules_share_catalogue_ids_and_host_limits(tmp_path):
    res = rules.render(tmp_path / "rules", {"web01": {"inspection_threshold_overrides": {"fs_pct": {"crit": 85}}},
                                            "db01": {}})
    assert "SUCCESS" in res["promtool"]
    alerts = [r for r in rule_docs(tmp_path / "rules")[rules.STATIC_FILE] if "alert" in r]
    from yunwei.catalogue import catalogue

    cat = catalogue()
    for r in alerts:  # every rule: a catalogue id, a Chinese summary and 处理建议, names its host
        assert r["labels"]["id"] in cat.checks
        assert r["annotations"]["title"] == cat.checks[r["labels"]["id"]].title
        assert r["annotations"]["suggestion"], r
        assert "$labels.host" in r["annotations"]["summary"] or "$labels.instance" in r["annotations"]["summary"]
    fs_crit = [r for r in alerts if r["labels"]["id"] == "HOST-FS-001" and r["labels"]["level"] == "crit"]
    assert sorted(r["expr"] for r in fs_crit) == sorted([
        'yunwei:fs_used_pct{host=~"db01"} >= 90', 'yunwei:fs_used_pct{host=~"web01"} >= 85'])
    fs_warn = [r for r in alerts if r["labels"]["id"] == "HOST-FS-001" and r["labels"]["level"] == "warn"]
    assert [r["expr"] for r in fs_warn] == ["yunwei:fs_used_pct{} >= 80"]  # one limit for all: no selector
    assert "{{ $labels.instance }}" in fs_crit[0]["annotations"]["suggestion"]  # {instance} of the catalogue


def test_malformed_override_is_refused_naming_host_variable_and_key(tmp_path):
    out = tmp_path / "rules"
    rules.render(out, {"web01": {}})
    before = {f.name: f.read_text() for f in out.iterdir()}
    with pytest.raises(InputError) as exc:
        rules.render(out, {"web01": {"monitoring_threshold_overrides": {"fs_pct": {"crit": "lots"}}}})
    assert exc.value.exit_code == 2
    assert "web01: monitoring_threshold_overrides.fs_pct.crit" in str(exc.value)
    with pytest.raises(InputError, match="warn .95. is above crit"):
        rules.render(out, {"web01": {"inspection_threshold_overrides": {"fs_pct": {"warn": 95}}}})
    assert {f.name: f.read_text() for f in out.iterdir()} == before


def test_backup_older_than_its_tier_alerts_from_the_backup_runs_textfile(tmp_path):
    """BACKUP-AGE-001 end to end without the lab: the judged status rows of a backup run become the
    node exporter textfile (role backup, filter backup_textfile); Prometheus's own rule engine
    (promtool test rules) evaluates the rendered rule on those series as the store's node exporter
    would expose them: a core data set past its 3 h limit alerts, naming its own host; a general one
    within its 50 h does not; nothing fires before the limit."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
    from ansible_collections.yunwei.ops.plugins.filter.backup import backup_textfile

    hour = 3600.0
    rows = [  # judged rows as backup_status returns them on the store (limit_s from the catalogue)
        {"dataset": "appdb", "tier": "core", "repo": "primary", "source_host": "db01",
         "last": {"full": {"time": 1 * hour}, "incr": {"time": 2 * hour}}, "limit_s": {"warn": 5400, "crit": 10800}},
        {"dataset": "site", "tier": "general", "repo": "primary", "source_host": "web01",
         "last": {"full": {"time": 0.5 * hour}}, "limit_s": {"warn": 93600, "crit": 180000}},
        {"dataset": "appdb", "tier": "core", "repo": "offsite", "source_host": "db01",  # BACKUP-OFFSITE-001's
         "last": {"full": {"time": 0.0}}, "limit_s": {"warn": 10800, "crit": 93600}},
        {"dataset": "broken", "tier": "core", "repo": "primary", "source_host": "db01", "error": "unreadable"},
    ]
    text = backup_textfile(rows)
    assert 'yunwei_backup_newest_timestamp_seconds{dataset="appdb",tier="core",source_host="db01"} 7200.000' in text
    assert "broken" not in text and text.count("yunwei_backup_newest_timestamp_seconds{") == 2
    assert backup_textfile([]) == ""
    target = 'host="backup01",instance="backup01",job="node"'  # what Prometheus adds to the store's series
    series = [{"series": line.rsplit(" ", 1)[0][:-1] + "," + target + "}", "values": f"{line.rsplit(' ', 1)[1]}+0x400"}
              for line in text.splitlines() if not line.startswith("#")]
    out = tmp_path / "rules"
    rules.render(out, {"web01": {}, "db01": {}, "backup01": {}})
    labels = {"alertname": "BACKUP_AGE_001", "id": "BACKUP-AGE-001", "area": "backup", "severity": "critical",
              "host": "db01", "repo_host": "backup01", "instance": "appdb", "dataset": "appdb", "tier": "core",
              "source_host": "db01", "job": "node"}
    from yunwei.catalogue import catalogue

    check = catalogue().checks["BACKUP-AGE-001"]
    firing = {"exp_labels": labels, "exp_annotations": {
        "title": check.title, "suggestion": check.suggestion,
        "summary": "主机 db01 的数据集 appdb（core 级）最近一次备份距今 3.1 小时，超过该级别的时限 3.0 小时（备份存储 backup01）"}}
    test = {"rule_files": [str(out / rules.STATIC_FILE)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "alert_rule_test": [
            {"alertname": "BACKUP_AGE_001", "eval_time": "299m", "exp_alerts": []},  # 2 h 59 min after the newest
            {"alertname": "BACKUP_AGE_001", "eval_time": "306m", "exp_alerts": [firing]},
        ]}]}
    spec = tmp_path / "backup-age.test.yml"
    spec.write_text(yaml.safe_dump(test, allow_unicode=True))
    proc = subprocess.run([rules.promtool(), "test", "rules", str(spec)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rules_promtool_refuses_keep_the_old_ones(tmp_path, monkeypatch):
    out = tmp_path / "rules"
    rules.render(out, {"web01": {}})
    before = {f.name: f.read_text() for f in out.iterdir()}
    bad = json.loads(json.dumps(rules.spec()))
    bad["rules"][0]["expr"] = "up{job=\"node\" == 0 ((("  # a malformed rule
    monkeypatch.setattr(rules, "spec", lambda: bad)
    with pytest.raises(rules.RulesError) as exc:
        rules.render(out, {"web01": {}})
    assert exc.value.exit_code == 2 and "FAILED" in exc.value.output
    assert {f.name: f.read_text() for f in out.iterdir()} == before
    assert not list(tmp_path.glob(".rules-*"))  # no staging left behind


def test_cli_rules_exit_2_with_promtool_output(tmp_path, monkeypatch):
    out = tmp_path / "rules"
    proc = subprocess.run([sys.executable, "-m", "yunwei", "alerts", "rules", "--out", str(out), "--input", "-",
                           "--no-dynamic", "--json"], input=json.dumps({"hosts": {"web01": {
                               "monitoring_threshold_overrides": {"nope_pct": {"crit": 1}}}}}),
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "nope_pct" in json.loads(proc.stdout)["error"]
    assert not out.exists() or not list(out.iterdir())


def _history(store, host, name, instance, values, start):
    run = Run(id=f"r-{host}-{name}-{instance}", playbook="inspect.yml", job="inspect",
              started_at=datetime.fromtimestamp(start, tz=timezone.utc))
    store.begin_run(run)
    rows = [Metric(run_id=run.id, host=host, name=name, instance=instance, value=v, unit="%",
                   time=datetime.fromtimestamp(start + i * 3600, tz=timezone.utc)) for i, v in enumerate(values)]
    store.write_batch(run.id, metrics=rows)


def test_dynamic_thresholds_from_baselines_never_looser_than_static_crit(tmp_path):
    now = time.time()
    start = now - 40 * 86400
    with open_store(tmp_path / "j.sqlite") as store:
        _history(store, "web01", "fs.used_pct", "/srv/data", [5.0 + (i % 3) for i in range(60)], start)
        _history(store, "db01", "mem.used_pct", "", [70.0 + (i % 5) * 5 for i in range(60)], start)
        res = rules.render(tmp_path / "rules", {"web01": {}, "db01": {"inspection_threshold_overrides": {
            "mem_pct": {"warn": 80, "crit": 85}}}}, store, now=now)
    table = res["dynamic_thresholds"]
    fs = [t for t in table if t["host"] == "web01" and t["metric"] == "fs.used_pct"]
    assert len(fs) == rules.HOURS_AHEAD and all(5 < t["threshold"] < 20 for t in fs)  # median ~6 + 4 x floor 2
    mem = [t for t in table if t["host"] == "db01" and t["metric"] == "mem.used_pct"]
    assert mem and all(t["threshold"] == 85 for t in mem)  # the band is above 85: the reviewed crit wins
    dyn = rule_docs(tmp_path / "rules")[rules.DYNAMIC_FILE]
    rec = [r for r in dyn if r.get("record") == "yunwei:dynamic_threshold" and r["labels"]["host"] == "web01"]
    assert rec[0]["labels"]["mountpoint"] == "/srv/data" and "hour() ==" in rec[0]["expr"]
    assert any(r.get("alert") == "HOST_ANOM_001" for r in dyn)
    assert "SUCCESS" in res["promtool"]


# ----------------------------------------------------------------------------- receiver
def payload(status="firing", fp="fp-nginx-web01", starts="2026-12-01T06:00:00Z", ends=None, rule="WEB-NGINX-001",
            host="web01", severity="critical"):
    return {"version": "4", "status": status, "receiver": "yunwei", "alerts": [{
        "status": status, "fingerprint": fp, "startsAt": starts,
        "endsAt": ends or "0001-01-01T00:00:00Z",
        "labels": {"alertname": rule.replace("-", "_"), "id": rule, "host": host, "instance": host,
                   "severity": severity},
        "annotations": {"summary": f"主机 {host} 的 nginx 未运行（状态页无法读取）", "title": "nginx 运行状态",
                        "suggestion": "启动 nginx（service nginx start），查看 nginx 错误日志。"}}]}


@pytest.fixture()
def channels():
    ch = Channels()
    yield ch
    ch.close()


def make_receiver(env, channels, **extra):
    cfg = mconfig.parse_config(channels.config("127.0.0.1:0", **extra), "test")
    store = open_store(env / "journal.sqlite")
    rec = Receiver(cfg, store)
    rec.start()
    return rec


def test_webhook_records_tickets_and_notifies_every_channel_in_its_format(env, channels):
    rec = make_receiver(env, channels)
    server = make_server(rec, "127.0.0.1:0")
    import threading
    import urllib.request

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = json.dumps(payload()).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/alertmanager", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        for box in (channels.wecom, channels.ding, channels.mail):
            got = box.wait(lambda m: "web01" in (m.get("subject", "") + m["text"]), 10)
            assert got, (box.errors, box.messages)
        assert not channels.wecom.errors and not channels.ding.errors
        mail = channels.mail.messages[0]
        assert mail["subject"].startswith("【严重告警】web01 nginx 运行状态") and mail["to"] == ["oncall@example.gov.cn"]
        assert "处理建议：启动 nginx" in mail["text"] and "工单：" in mail["text"]
        rows = record.list_alerts(rec.store)
        assert rows[0]["ticket"] and rows[0]["status"] == "firing" and rows[0]["host"] == "web01"
        assert sorted(n["state"] for n in rows[0]["notifications"]) == ["sent"] * 3
        # resolved: recorded with its end, the same ticket annotated, a 恢复 message
        req = urllib.request.Request(req.full_url, data=json.dumps(payload("resolved", ends="2026-12-01T06:00:42Z")).encode())
        urllib.request.urlopen(req, timeout=5).close()
        assert channels.wecom.wait(lambda m: "【恢复】" in m["text"] and "42 秒" in m["text"], 10)
        rows = record.list_alerts(rec.store)
        assert rows[0]["status"] == "resolved" and rows[0]["duration_s"] == 42
        t = rec.store.query("SELECT detail FROM tickets WHERE id = ?", (rows[0]["ticket"],))[0][0]
        assert json.loads(t)["alert"]["status"] == "resolved"
    finally:
        server.shutdown()
        rec.stop()


def test_webhook_without_the_bearer_token_is_refused_and_nothing_recorded(env, channels):
    token = "tok-" + "x" * 28
    cfg = mconfig.parse_config(channels.config("127.0.0.1:0", token=token), "test")
    store = open_store(env / "journal.sqlite")
    rec = Receiver(cfg, store)
    rec.start()
    server = make_server(rec, "127.0.0.1:0")
    import threading
    import urllib.error
    import urllib.request

    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/alertmanager"
    body = json.dumps(payload()).encode()
    try:
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": token}):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=5)
            assert exc.value.code == 401
        assert store.query("SELECT COUNT(*) FROM alerts")[0][0] == 0 and channels.all_received() == []
        req = urllib.request.Request(url, data=body, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200
        assert store.query("SELECT COUNT(*) FROM alerts")[0][0] == 1
        assert cfg.redact(f"token {token}") == "token ***"
    finally:
        server.shutdown()
        rec.stop()
    # listening beyond this machine without a token: refused, naming the key
    with pytest.raises(InputError, match="token"):
        mconfig.parse_config(channels.config("10.0.0.5:9095"), "alerting.yml")
    with pytest.raises(InputError, match="token"):
        mconfig.parse_config(channels.config("10.0.0.5:9095", token="short"), "alerting.yml")


def test_repeated_delivery_and_restart_notify_once(env, channels):
    rec = make_receiver(env, channels)
    assert rec.receive(json.dumps(payload()).encode())[0] == 200
    assert channels.wecom.wait(lambda m: True, 10)
    rec.receive(json.dumps(payload()).encode())  # Alertmanager's retry / repeat
    rec.stop()
    rec2 = make_receiver(env, channels)  # a restart on the same store, then the same payload again
    rec2.receive(json.dumps(payload()).encode())
    time.sleep(1.5)
    rec2.stop()
    assert len(channels.wecom.messages) == 1 and len(channels.ding.messages) == 1 and len(channels.mail.messages) == 1
    assert rec2.store.query("SELECT COUNT(*) FROM alert_deliveries")[0][0] == 3
    assert rec2.store.query("SELECT COUNT(*) FROM tickets")[0][0] == 1


def test_failing_channel_is_retried_and_visible(env, channels, capsys):
    channels.ding.fail = True
    rec = make_receiver(env, channels, retry={"attempts": 3, "interval": "1s"})
    rec.receive(json.dumps(payload()).encode())
    assert channels.wecom.wait(lambda m: True, 10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = record.list_alerts(rec.store, failed=True)
        if rows and any(n["attempts"] >= 2 for n in rows[0]["notifications"] if n["channel"] == "ops-dingtalk"):
            break
        time.sleep(0.2)
    ding = [n for n in rows[0]["notifications"] if n["channel"] == "ops-dingtalk"][0]
    assert ding["state"] == "failed" and "HTTP 500" in ding["error"]
    channels.ding.fail = False  # the channel comes back: the next retry delivers
    assert channels.ding.wait(lambda m: True, 10)
    rec.stop()
    out = subprocess.run([sys.executable, "-m", "yunwei", "alerts", "list", "--json"], capture_output=True, text=True)
    listed = json.loads(out.stdout)
    assert [n["state"] for n in listed[0]["notifications"] if n["channel"] == "ops-dingtalk"] == ["sent"]
    logs = capsys.readouterr().err + out.stdout + out.stderr
    for secret in channels.secrets():
        assert secret not in logs


def test_maintenance_window_records_without_notifying_or_ticketing(env, channels):
    store = open_store(env / "journal.sqlite")
    record.add_silence(store, hosts=["web01"], alerts=[], start="2026-12-01T13:00", end="2026-12-01T15:00",
                       duration=None, reason="变更 req-0123456789ab")
    rec = make_receiver(env, channels)
    rec.receive(json.dumps(payload(starts="2026-12-01T05:30:00Z")).encode())  # 13:30 Asia/Shanghai: inside
    rec.receive(json.dumps(payload(fp="fp-db", host="db01", rule="DB-CONN-001",
                                   starts="2026-12-01T05:30:00Z")).encode())  # another host: notified
    assert channels.wecom.wait(lambda m: "db01" in m["text"], 10)
    time.sleep(0.5)
    rec.stop()
    assert not [m for m in channels.all_received() if "web01" in m.get("subject", "") + m["text"]]
    rows = {r["host"]: r for r in record.list_alerts(store)}
    assert rows["web01"]["suppressed"] and rows["web01"]["ticket"] is None
    assert {n["state"] for n in rows["web01"]["notifications"]} == {"suppressed"}
    assert rows["db01"]["ticket"] and not rows["db01"]["suppressed"]
    with pytest.raises(InputError):
        record.add_silence(store, hosts=[], alerts=["NOPE-1"], start=None, end=None, duration="1h", reason="x")


def test_malformed_payload_is_refused_and_nothing_recorded(env, channels):
    rec = make_receiver(env, channels)
    bad = payload()
    bad["alerts"][0]["startsAt"] = "yesterday"
    code, data = rec.receive(json.dumps(bad).encode())
    assert code == 400 and "startsAt" in data["error"]
    assert rec.receive(b"{not json")[0] == 400
    rec.stop()
    assert rec.store.query("SELECT COUNT(*) FROM alerts")[0][0] == 0


def test_channel_config_errors_name_the_key_and_hide_secrets(tmp_path):
    src = tmp_path / "alerting.yml"
    src.write_text(yaml.safe_dump({"channels": [{"name": "x", "type": "dingtalk", "url": "ftp://k?access_token=SECRETTOKEN"}]}))
    with pytest.raises(InputError) as exc:
        mconfig.load_config(src)
    assert "channels[0].secret" in str(exc.value) and exc.value.exit_code == 2
    src.write_text(yaml.safe_dump({"channels": [{"name": "x", "type": "wecom", "url": "ftp://h/send?key=SECRETKEY"}]}))
    with pytest.raises(InputError) as exc:
        mconfig.load_config(src)
    assert "channels[0].url" in str(exc.value) and "SECRETKEY" not in str(exc.value)
    cfg = mconfig.parse_config({"channels": [{"name": "w", "type": "wecom", "url": "https://h/send?key=K123"}]}, "t")
    assert cfg.redact("POST https://h/send?key=K123 failed; key K123") == "POST *** failed; key ***"


def test_dingtalk_signature_matches_the_documented_algorithm():
    from yunwei.monitoring.channels import dingtalk_sign

    # HMAC-SHA256 over "timestamp\nsecret" keyed with the secret, base64, URL-encoded
    import base64
    import hashlib
    import hmac
    import urllib.parse

    ts, secret = 1700000000000, "SEC000"
    want = urllib.parse.quote_plus(base64.b64encode(hmac.new(b"SEC000", b"1700000000000\nSEC000", hashlib.sha256).digest()))
    assert dingtalk_sign(secret, ts) == want


# ----------------------------------------------------------------------------- records
def test_alert_timeline_in_health_daily_and_monthly(env, channels):
    from yunwei.reports import generate as gen
    from yunwei.reports.periods import parse_period
    from yunwei.servicedesk import tickets as tk

    store = open_store(env / "journal.sqlite")
    cfg = mconfig.parse_config({}, "test")  # no channel: recorded and ticketed only
    record.receive(store, payload(starts="2026-11-25T02:00:00Z"), cfg)
    record.receive(store, payload("resolved", starts="2026-11-25T02:00:00Z", ends="2026-11-25T02:03:00Z"), cfg)
    record.receive(store, payload(fp="fp-db", host="db01", rule="DB-CONN-001", starts="2026-11-25T03:00:00Z"), cfg)
    tid = record.list_alerts(store)[0]["ticket"]
    tk.ack(store, tid)
    tk.resolve(store, tid, cause="nginx 被误停", action="重新启动 nginx", result="网站恢复")
    from yunwei.monitoring.report_data import alert_section

    now = datetime(2026, 11, 26, tzinfo=timezone.utc)
    sec = alert_section(store, datetime(2026, 11, 24, 16, tzinfo=timezone.utc),
                        datetime(2026, 11, 25, 16, tzinfo=timezone.utc), now)
    assert sec["count"] == 2 and sec["open"] == 1 and sec["mttr"] == "3 分 0 秒"
    assert [r["host"] for r in sec["by_host"]] == ["db01", "web01"]
    nginx = [i for i in sec["items"] if i["host"] == "web01"][0]
    assert nginx["start"] == "2026-11-25 10:00:00" and nginx["end"] == "2026-11-25 10:03:00"
    assert nginx["handling"].startswith("已解决") and "重新启动 nginx" in nginx["handling"]
    out = env / "out"
    opts = gen.Options(formats=("html",), now=now)
    for kind, period in (("health-daily", parse_period("day", "2026-11-25")), ("monthly", parse_period("month", "2026-11"))):
        files = gen.generate(kind, store, period, opts, out_dir=out)
        html = Path(files[0]).read_text()
        assert "实时监控告警" in html and "平均确认用时" in html and "告警统计（按规则）" in html, kind
        assert "WEB-NGINX-001" in html and tid in html


# ----------------------------------------------------------------------------- role settings
def test_role_settings_refuse_wildcard_bind_and_missing_vaulted_secrets():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
    from ansible_collections.yunwei.ops.plugins.filter.monitoring import monitoring_problems

    good = {"listen_address": "10.0.0.7", "ports": {"monitoring_node_exporter_port": 9100},
            "durations": {"monitoring_scrape_interval": "1s"}, "probe_urls": [], "server": True,
            "webhook_url": "http://10.0.0.5:9095/alertmanager", "webhook_token_set": True, "db": True,
            "pg_password_set": True, "pg_user": "yunwei_monitor"}
    assert monitoring_problems(good) == []
    problems = monitoring_problems({**good, "listen_address": "0.0.0.0", "webhook_token_set": False,
                                    "pg_password_set": False, "durations": {"monitoring_scrape_interval": "1 sec"}})
    names = sorted(p.split(":")[0] for p in problems)
    assert names == ["monitoring_listen_address", "monitoring_pg_password", "monitoring_scrape_interval",
                     "monitoring_webhook_token"], problems

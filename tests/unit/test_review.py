"""Two-person review on a local-connection job: the happy path and every refusal."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from runner_helpers import env, fake_run_job  # noqa: F401  (fixture)

from yunwei.audit import default_log
from yunwei.cli import main
from yunwei.errors import InputError, YunweiError
from yunwei.review import workflow
from yunwei.review.store import review_store
from yunwei.runner import run_job as real_run_job


@pytest.fixture(autouse=True)
def _fast_runner(monkeypatch):
    monkeypatch.setattr(workflow, "run_job", fake_run_job)


def rdir(request_id: str):
    """The folder of a request in the lab-mode file store."""
    return review_store().requests_dir / request_id


def events() -> list[str]:
    return [r["event"] for r in default_log().records()]


def last() -> dict:
    return list(default_log().records())[-1]


def requested(env, **kw) -> dict:  # noqa: F811
    env.as_operator("alice")
    return workflow.create_request("local_change", quiet=True, **kw)


def approved(env, **kw) -> dict:  # noqa: F811
    req = requested(env, **kw)
    env.as_operator("bob")
    workflow.approve(req["id"])
    return req


def test_happy_path_request_preview_approve_execute(env, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(workflow, "run_job", real_run_job)  # the real ansible-runner, end to end
    env.target.write_text("greeting=old\n")
    secret = "Sup3r-s3cret-v4lue"
    assert main(["request", "local_change", "-e", "greeting=你好", "-e", f"secret_token={secret}", "-q"]) == 0
    out = capsys.readouterr().out
    req_id = out.split("request ")[1].split()[0]
    assert "would change: local1: Write the target file" in out
    assert "-greeting=old" in out and "+greeting=你好" in out
    assert env.target.read_text() == "greeting=old\n"  # preview ran in check mode
    env.as_operator("bob")
    assert main(["review", req_id]) == 0
    assert "[pending]" in capsys.readouterr().out
    assert main(["approve", req_id]) == 0
    approval = json.loads((rdir(req_id) / "approval.json").read_text())
    assert approval["approver"] == "bob" and "BEGIN SSH SIGNATURE" in approval["signature"]
    assert main(["execute", req_id, "-q"]) == 2  # the sealed secret must be given again
    assert main(["execute", req_id, "-q", "-e", f"secret_token={secret}"]) == 0
    assert env.target.read_text() == "greeting=你好\n"
    for path in env.var.rglob("*"):  # the secret never reached var/ (request, preview, artifacts, audit)
        assert not path.is_file() or secret.encode() not in path.read_bytes(), path
    assert main(["requests", "--json"]) == 0
    assert "executed (successful)" in capsys.readouterr().out
    assert events() == ["request", "preview", "approval", "refusal", "execution", "result"]
    recs = [r for r in default_log().records() if r["event"] != "refusal"]
    assert recs[0]["operator"] == "alice" and recs[2]["operator"] == "bob"
    import getpass

    assert recs[0]["login"] == getpass.getuser()  # the override is visible in the audit trail
    assert len({r["digest"] for r in recs}) == 1
    assert default_log().verify().ok


def test_refuses_read_only_job_request(env):  # noqa: F811
    with pytest.raises(YunweiError, match="read-only"):
        workflow.create_request("local_read", quiet=True)
    assert events() == ["refusal"]


def test_refuses_same_person(env):  # noqa: F811
    req = requested(env)
    with pytest.raises(YunweiError, match="same person"):
        workflow.approve(req["id"])  # alice approves her own request
    assert last()["event"] == "refusal" and last()["action"] == "approve"
    assert workflow.show(req["id"])["state"] == "pending"


def test_refuses_self_signed_approval_at_execute(env):  # noqa: F811
    """Even an approval file that alice writes and signs for herself is refused at execute."""
    from yunwei.review import signing

    req = requested(env)
    fields = workflow._signed_fields(req, "approve", "alice", {"expires": "2999-01-01T00:00:00Z"})
    sig = signing.sign(fields, env.keys["alice"])
    (rdir(req["id"]) / "approval.json").write_text(json.dumps(
        {"approver": "alice", "expires": fields["expires"], "fields": fields, "signature": sig}))
    with pytest.raises(YunweiError, match="same person"):
        workflow.execute(req["id"], quiet=True)
    assert last()["event"] == "refusal"
    assert not env.target.exists()


def test_refuses_changed_digest(env):  # noqa: F811
    req = approved(env)
    playbook = env.root / "pb.yml"
    playbook.write_text(playbook.read_text().replace("greeting=", "greeting2="))
    with pytest.raises(YunweiError, match="digest differs.*pb.yml"):
        workflow.execute(req["id"], quiet=True)
    assert last()["event"] == "refusal" and "digest" in last()["reason"]
    assert not env.target.exists()


def test_refuses_changed_job_vars(env):  # noqa: F811
    req = approved(env)
    env.jobs.write_text(env.jobs.read_text().replace("target.txt", "elsewhere.txt"))
    with pytest.raises(YunweiError, match="digest differs"):
        workflow.execute(req["id"], quiet=True)


def test_refuses_expired_approval(env, monkeypatch):  # noqa: F811
    req = approved(env)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=24, minutes=1)
    with pytest.raises(YunweiError, match="expired"):
        workflow.execute(req["id"], quiet=True, now=later)
    assert last()["event"] == "refusal"
    # the default is 24 h; a shorter TTL also holds
    monkeypatch.setenv("YUNWEI_APPROVAL_TTL_HOURS", "0.0000001")
    req2 = approved(env)
    with pytest.raises(YunweiError, match="expired"):
        workflow.execute(req2["id"], quiet=True)


def test_refuses_denied(env, capsys):  # noqa: F811
    req = requested(env)
    env.as_operator("bob")
    assert main(["deny", req["id"], "--reason", "wrong window"]) == 0
    with pytest.raises(YunweiError, match="denied by bob: wrong window"):
        workflow.execute(req["id"], quiet=True)
    with pytest.raises(YunweiError, match="is denied"):
        workflow.approve(req["id"])
    assert events()[-3:] == ["denial", "refusal", "refusal"]


def test_refuses_denied_after_approval(env):  # noqa: F811
    req = approved(env)
    workflow.deny(req["id"], "changed my mind")
    with pytest.raises(YunweiError, match="denied"):
        workflow.execute(req["id"], quiet=True)


def test_refuses_second_execution(env):  # noqa: F811
    req = approved(env)
    assert workflow.execute(req["id"], quiet=True)["rc"] == 0
    env.target.unlink()
    with pytest.raises(YunweiError, match="already ran"):
        workflow.execute(req["id"], quiet=True)
    assert not env.target.exists()
    assert main(["execute", req["id"]]) == 1


def test_refuses_without_approval(env):  # noqa: F811
    req = requested(env)
    with pytest.raises(YunweiError, match="no approval"):
        workflow.execute(req["id"], quiet=True)


@pytest.mark.parametrize("edit", ["approver", "expires", "digest"])
def test_refuses_edited_approval(env, edit):  # noqa: F811
    req = approved(env)
    path = rdir(req["id"]) / "approval.json"
    approval = json.loads(path.read_text())
    if edit == "approver":
        approval["approver"] = "carol"
    elif edit == "expires":
        approval["expires"] = "2999-01-01T00:00:00Z"
    path.write_text(json.dumps(approval))
    if edit == "digest":  # the request itself edited to match changed content
        rpath = rdir(req["id"]) / "request.json"
        data = json.loads(rpath.read_text())
        data["digest"] = "sha256:" + "0" * 64
        rpath.write_text(json.dumps(data))
    with pytest.raises(YunweiError, match="does not verify"):
        workflow.execute(req["id"], quiet=True)


def test_refuses_edited_requester(env):  # noqa: F811
    """alice rewrites her request as mallory's so she could approve it herself."""
    req = requested(env)
    rpath = rdir(req["id"]) / "request.json"
    data = json.loads(rpath.read_text())
    data["requester"] = "bob"
    rpath.write_text(json.dumps(data))
    with pytest.raises(YunweiError, match="signature does not verify"):
        workflow.approve(req["id"])  # alice, now "not the requester"


def test_operator_missing_from_allowed_signers_exits_2(env, capsys):  # noqa: F811
    env.as_operator("carol")
    before = len(events())
    assert main(["request", "local_change", "-q"]) == 2
    err = capsys.readouterr().err
    assert str(env.allowed) in err and "carol" in err
    assert events()[before:] == ["refusal"]  # the refusal and nothing else
    assert not review_store().ids()
    req = requested(env)
    env.as_operator("carol")
    n = len(events())
    assert main(["approve", req["id"]]) == 2
    assert events()[n:] == ["refusal"]


def test_wrong_key_for_operator_exits_2(env):  # noqa: F811
    req = requested(env)
    env.as_operator("bob")
    env.monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(env.keys["carol"]))
    with pytest.raises(InputError, match="not the key allowed_signers holds for 'bob'"):
        workflow.approve(req["id"])


def test_unknown_job_exits_2_and_records_refusal_only(env, capsys):  # noqa: F811
    assert main(["request", "no_such_job"]) == 2
    assert "jobs.no_such_job" in capsys.readouterr().err
    assert events() == ["refusal"]


def test_unknown_request_id(env, capsys):  # noqa: F811
    assert main(["approve", "req-000000000000"]) == 2
    assert main(["execute", "../../etc"]) == 2
    assert events() == ["refusal", "refusal"]


def test_sealed_secret_must_match_at_execute(env, capsys):  # noqa: F811
    req = approved(env, extravars={"greeting": "hi", "secret_token": "right"})
    stored = json.loads((rdir(req["id"]) / "request.json").read_text())
    assert stored["extravars"] == {"greeting": "hi"} and "right" not in json.dumps(stored)
    assert stored["sealed_vars"]["secret_token"].startswith("pbkdf2-sha256:")
    for bad in ([], ["-e", "secret_token=wrong"], ["-e", "secret_token=right", "-e", "greeting=other"]):
        assert main(["execute", req["id"], "-q", *bad]) == 2
    assert not env.target.exists()
    assert events()[-3:] == ["refusal", "refusal", "refusal"]
    assert main(["execute", req["id"], "-q", "-e", "secret_token=right"]) == 0
    assert env.target.read_text() == "greeting=hi\n"


def test_edited_sealed_secret_is_refused(env):  # noqa: F811
    req = approved(env, extravars={"secret_token": "right"})
    rpath = rdir(req["id"]) / "request.json"
    data = json.loads(rpath.read_text())
    from yunwei.review.sealed import seal

    data["sealed_vars"]["secret_token"] = seal("mine", data["secret_salt"])
    rpath.write_text(json.dumps(data))
    with pytest.raises(YunweiError, match="digest differs"):
        workflow.execute(req["id"], quiet=True, secret_values={"secret_token": "mine"})


def test_content_changed_during_run_is_recorded(env, monkeypatch):  # noqa: F811
    req = approved(env)
    playbook = env.root / "pb.yml"

    def racing_run(job, **kwargs):
        result = fake_run_job(job, **kwargs)
        playbook.write_text(playbook.read_text() + "\n# edited while running\n")
        return result

    monkeypatch.setattr(workflow, "run_job", racing_run)
    execution = workflow.execute(req["id"], quiet=True)
    assert execution["digest_after"] != req["digest"]
    assert last()["event"] == "result" and last()["digest_after"] == execution["digest_after"]


def test_request_for_missing_playbook_exits_2(env, capsys):  # noqa: F811
    (env.root / "pb.yml").unlink()
    assert main(["request", "local_change", "-q"]) == 2
    assert "jobs.local_change.playbook" in capsys.readouterr().err
    assert events() == ["refusal"]


def test_revoked_approver_voids_pending_approval(env):  # noqa: F811
    req = approved(env)
    env.allowed.write_text("\n".join(ln for ln in env.allowed.read_text().splitlines() if not ln.startswith("bob ")) + "\n")
    with pytest.raises(YunweiError, match="does not verify"):
        workflow.execute(req["id"], quiet=True)


def test_alerts_of_the_changes_hosts_during_its_run_are_recorded_not_notified(env, monkeypatch):  # noqa: F811
    """An approved change's run is a maintenance window for the hosts of its reviewed preview: an
    alert of such a host starting during the run (what the change itself causes, e.g. a restart) is
    recorded, suppressed by the change's id, not notified and not ticketed; another host's alert in
    the same moment is notified; after the run (and its grace) the window is closed."""
    import time as _time

    from yunwei.monitoring import config as mconfig
    from yunwei.monitoring import record
    from yunwei.store import open_store

    cfg = mconfig.parse_config({"channels": [{"name": "w", "type": "wecom", "url": "https://h/send?key=K123"}]}, "t")

    def alert(host: str, fp: str, at: float) -> dict:
        starts = dt.datetime.fromtimestamp(at, dt.timezone.utc).isoformat().replace("+00:00", "Z")
        return {"version": "4", "status": "firing", "receiver": "yunwei", "alerts": [{
            "status": "firing", "fingerprint": fp, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
            "labels": {"alertname": "WEB_NGINX_001", "id": "WEB-NGINX-001", "host": host, "instance": host,
                       "severity": "critical"},
            "annotations": {"summary": f"主机 {host} 的 nginx 未运行", "title": "nginx 运行状态", "suggestion": "启动 nginx"}}]}

    def run_and_alert(job, **kw):  # the change runs: nginx restarts on local1; web09 fails meanwhile
        with open_store() as store:
            now = _time.time()
            record.receive(store, alert("local1", "fp-local1", now), cfg)
            record.receive(store, alert("web09", "fp-web09", now), cfg)
        return fake_run_job(job, **kw)

    req = approved(env)
    monkeypatch.setattr(workflow, "run_job", run_and_alert)
    assert workflow.execute(req["id"], quiet=True)["status"] == "successful"
    with open_store() as store:
        rows = {a["host"]: a for a in record.list_alerts(store)}
        window = record.list_silences(store, include_ended=True)
        after = _time.time() + record.CHANGE_GRACE_S + 1
        record.receive(store, alert("local1", "fp-local1-later", after), cfg)  # after the window: notified
        later = [a for a in record.list_alerts(store) if a["fingerprint"] == "fp-local1-later"][0]
    assert rows["local1"]["suppressed"] and rows["local1"]["change"] == req["id"] and rows["local1"]["ticket"] is None
    assert {n["state"] for n in rows["local1"]["notifications"]} == {"suppressed"}
    assert req["id"] in rows["local1"]["notified_text"]
    assert not rows["web09"]["suppressed"] and rows["web09"]["change"] is None and rows["web09"]["ticket"]
    assert {n["state"] for n in rows["web09"]["notifications"]} == {"pending"}
    assert [(w["hosts"], w["change"]) for w in window] == [(["local1"], req["id"])]
    assert not later["suppressed"] and {n["state"] for n in later["notifications"]} == {"pending"}

"""The off-site anchor on the lab's offsite01, over real SSH: every audit append copies the head
there through a key that can only append; ``yunwei audit verify`` catches a consistent rewrite
and a truncation of the whole log, and the key cannot rewrite what the anchor holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from yunwei import audit
from yunwei.audit.log import AuditLog
from yunwei.cli import main
from yunwei.jobs import Job
from yunwei.paths import project_root
from yunwei.runner import run_job

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the admin configuration must be root-owned"),
]


@pytest.fixture()
def anchored(lab, tmp_path, monkeypatch):
    """An admin configuration (file store) whose anchor is a fresh file on offsite01."""
    admin = tmp_path / "admin"
    admin.mkdir(mode=0o755)
    key = admin / "anchor_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "yunwei-anchor", "-f", str(key)], check=True)
    shutil.copy(lab.known_hosts, admin / "known_hosts")
    os.chmod(admin / "known_hosts", 0o644)
    heads = f"heads-{uuid.uuid4().hex[:12]}"
    job = Job(name="audit_anchor", job_class="change", playbook=str(project_root() / "playbooks/audit_anchor.yml"),
              inventory=str(lab.inventory), source="test")
    result = run_job(job, limit="offsite01", quiet=True, extravars={
        "yunwei_anchor_pubkey": Path(f"{key}.pub").read_text().strip(), "yunwei_anchor_file": f"/var/lib/yunwei-anchor/{heads}"})
    assert result.ok, result.stdout()[-2000:]
    (admin / "allowed_signers").write_text("")
    config = admin / "yunwei.yml"
    config.write_text(f"allowed_signers: {admin / 'allowed_signers'}\nreview: {{store: {tmp_path / 'state'}}}\n"
                      f"anchors:\n  - {{ssh: 'yunwei-anchor@{lab.hosts['offsite01']}', key: {key}, "
                      f"known_hosts: {admin / 'known_hosts'}}}\n")
    for name in ("yunwei.yml", "allowed_signers"):
        os.chmod(admin / name, 0o644)
    monkeypatch.setenv("YUNWEI_CONFIG", str(config))
    for name in ("YUNWEI_OPERATOR", "YUNWEI_JOBS", "YUNWEI_ALLOWED_SIGNERS"):
        monkeypatch.delenv(name, raising=False)

    def ssh(command: str, data: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ssh", "-F", "/dev/null", "-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                               "-o", f"UserKnownHostsFile={admin / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
                               f"yunwei-anchor@{lab.hosts['offsite01']}", command],
                              input=data, capture_output=True, text=True, timeout=60, check=False)

    return ssh


def test_offsite_anchor_catches_a_rewritten_log(anchored, capsys):
    ssh = anchored
    for i in range(3):
        audit.record("request", operator="root", job="login_banner", request=f"req-00000000000{i}")
    held = ssh("read").stdout.splitlines()
    log = audit.default_log()
    assert [line.split()[0] for line in held] == [f"{n}:{json.loads(raw)['hash']}" for n, raw in
                                                  enumerate(log.lines(), start=1)]
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"ssh://yunwei-anchor@" in out and "ok (3 heads, last 3)" in out

    # the key cannot rewrite the anchor: no shell, only a well-formed head is appended
    for command, data in (("sh -c 'true > heads'", ""), ("append", "garbage\n"), ("append", "1:" + "0" * 64 + "; rm x\n")):
        proc = ssh(command, data)
        assert proc.returncode != 0, command
    assert ssh("read").stdout.splitlines() == held

    # a consistent rewrite of log and head: the chain verifies, the anchor does not
    forged = AuditLog(log.path.parent / "forged.jsonl")
    for rec in log.records():
        fields = {k: v for k, v in rec.items() if k not in ("seq", "time", "event", "prev", "hash")}
        fields["job"] = "inspect"
        forged.append(rec["event"], **fields)
    original = log.path.read_bytes(), log.head_path.read_bytes()
    log.path.write_bytes(forged.path.read_bytes())
    log.head_path.write_bytes(forged.head_path.read_bytes())
    assert log.verify().ok
    assert main(["audit", "verify"]) == 1
    assert "BAD: record 1 differs from the anchored head (history rewritten)" in capsys.readouterr().out

    # truncation of the whole tail (with a matching head): shorter than what was anchored
    lines = original[0].splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:2]))
    log.head_path.write_text(json.dumps({"count": 2, "hash": json.loads(lines[1])["hash"]}) + "\n")
    assert log.verify().ok
    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["anchors"][0]["reachable"] and "truncated" in report["anchors"][0]["problem"]

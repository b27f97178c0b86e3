"""End to end on the lab, over real SSH: request the `login_banner` change, look at its
check-mode preview, approve it as a second operator with a second SSH key, execute it, check
the banner on the hosts and the audit chain. The hosts are restored afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from runner_helpers import make_key, write_allowed  # noqa: E402

from yunwei.audit import default_log  # noqa: E402
from yunwei.cli import main  # noqa: E402
from yunwei.paths import project_root  # noqa: E402
from yunwei.review import workflow  # noqa: E402

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTS = ("web01", "db01", "backup01", "offsite01", "drill01", "mon01")
TARGETS = ("web01", "db01")  # --limit: the website and data servers (keeps the test quick)
LIMIT = ",".join(TARGETS)
FILES = ("/etc/issue.net", "/etc/ssh/sshd_config")


@pytest.fixture()
def review_env(lab, tmp_path, monkeypatch):
    """Isolated review state and audit log; a site catalogue pointing login_banner at this lab."""
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNWEI_STORE", str(tmp_path / "journal.sqlite"))
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(
        "jobs:\n  login_banner:\n    class: change\n"
        f"    playbook: {project_root() / 'playbooks/login_banner.yml'}\n    inventory: {lab.inventory}\n"
    )
    monkeypatch.setenv("YUNWEI_JOBS", str(jobs))
    keys = {name: make_key(tmp_path, name) for name in ("alice", "bob")}
    allowed = tmp_path / "allowed_signers"
    write_allowed(allowed, keys)
    monkeypatch.setenv("YUNWEI_ALLOWED_SIGNERS", str(allowed))

    def as_operator(name: str) -> None:
        monkeypatch.setenv("YUNWEI_OPERATOR", name)
        monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(keys[name]))

    saved = {h: {f: lab.exec(h, "cat", f).stdout for f in FILES} for h in TARGETS}
    yield as_operator
    for host, files in saved.items():  # restore the pristine lab
        for path, text in files.items():
            lab.exec(host, "sh", "-c", f"cat > {path}", input=text)
        lab.exec(host, "/usr/sbin/sshd", "-t")
        lab.exec(host, "kill", "-HUP", "1")  # sshd is PID 1 in the lab containers: reload it


def test_login_banner_two_person_review_on_the_lab(lab, review_env, capsys):
    as_operator = review_env
    before = {h: lab.exec(h, "cat", "/etc/issue.net").stdout for h in HOSTS}

    # 1. alice requests the change: digest + check-mode preview with diff
    as_operator("alice")
    assert main(["request", "login_banner", "--limit", LIMIT, "-q"]) == 0
    out = capsys.readouterr().out
    req_id = out.split("request ")[1].split()[0]
    preview = workflow.show(req_id)["preview"]
    assert preview["status"] == "successful", preview.get("failures")
    changed_hosts = {c["host"] for c in preview["changes"] if c["task"] == "Write the banner text"}
    assert changed_hosts == set(TARGETS)
    assert "+* WARNING: authorised use only" in out and "Banner /etc/issue.net" in out
    assert {h: lab.exec(h, "cat", "/etc/issue.net").stdout for h in HOSTS} == before  # check mode only

    # 2. bob reviews and approves with his own key
    as_operator("bob")
    assert main(["review", req_id]) == 0
    assert "would change" in capsys.readouterr().out
    assert main(["approve", req_id]) == 0
    assert "approved" in capsys.readouterr().out

    # 3. execute: the real run, over SSH, with host key checking on
    as_operator("alice")
    assert main(["execute", req_id, "-q", "--json"]) == 0
    execution = json.loads(capsys.readouterr().out)
    assert execution["status"] == "successful"
    assert set(execution["stats"]) == set(TARGETS)
    assert all(execution["stats"][h].get("failures", 0) == 0 for h in TARGETS)

    # 4. the hosts serve the banner; the others were left alone
    for host in set(HOSTS) - set(TARGETS):
        assert lab.exec(host, "cat", "/etc/issue.net").stdout == before[host]
    for host in TARGETS:
        assert "authorised use only" in lab.exec(host, "cat", "/etc/issue.net").stdout
        effective = lab.exec(host, "/usr/sbin/sshd", "-T", "-C", "user=root,host=x,addr=127.0.0.1").stdout
        assert "banner /etc/issue.net" in effective.splitlines()
    ssh = subprocess.run(
        ["ssh", "-i", str(lab.ssh_key), "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "StrictHostKeyChecking=yes",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", f"ops@{lab.hosts['web01']}", "true"],
        capture_output=True, text=True, timeout=60,
    )
    assert ssh.returncode == 0 and "authorised use only" in ssh.stderr

    # 5. idempotent: a second request previews no change (and is denied, leaving nothing pending)
    assert main(["request", "login_banner", "--limit", LIMIT, "-q", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["preview"]["changes"] == [] and second["preview"]["status"] == "successful"
    as_operator("bob")
    assert main(["deny", second["id"], "--reason", "nothing to change"]) == 0

    # 6. the audit chain
    log = default_log()
    assert log.verify().ok
    recs = list(log.records())
    assert [(r["event"], r["operator"]) for r in recs] == [
        ("request", "alice"), ("preview", "alice"), ("approval", "bob"), ("execution", "alice"), ("result", "alice"),
        ("request", "alice"), ("preview", "alice"), ("denial", "bob"),
    ]
    assert recs[4]["status"] == "successful" and len({r["digest"] for r in recs[:5]}) == 1
    assert main(["audit", "verify"]) == 0

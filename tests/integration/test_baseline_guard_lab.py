"""The lock-out guard's failure paths on a lab host: when the admin's fresh login fails after the sshd, PAM
and sudo changes, the role puts the previous files back and fails the host loudly; when nobody confirms
(the controller lost the host, sudo broke), the restore armed on the host runs by itself. (The success
path - changes kept after a good login - runs in the Molecule scenario `baseline`.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.lab]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOST = "drill01"
GUARD_DIR = "/var/backups/yunwei-baseline"
# what the guard saves and restores (roles/baseline/vars/main.yml baseline_guard_paths, those present here)
DIGEST = "find /etc/ssh /etc/pam.d /etc/security /etc/sudoers /etc/sudoers.d -type f -print0 | sort -z | xargs -0 sha256sum"


def _rule_ids() -> list[str]:
    data = yaml.safe_load((ROOT / "src/yunwei/catalogue/data/checks/baseline.yml").read_text())
    checks = data["checks"] if isinstance(data, dict) else data
    return [c["id"] for c in checks if c["id"].startswith("BASE-")]


def _state(lab, guard_id: str) -> str:
    return lab.exec(HOST, "cat", f"{GUARD_DIR}/{guard_id}/state").stdout.strip()


def _guards(lab) -> set[str]:
    out = lab.exec(HOST, "sh", "-c", f"ls {GUARD_DIR} 2>/dev/null || true").stdout.split()
    return {name for name in out if name != "guard.sh"}


def test_a_failed_fresh_login_restores_sshd_pam_and_sudo_and_fails_the_host(lab, tmp_path):
    # Only the sshd rules are judged (the lab's MaxAuthTries 6 fails BASE-SSH-003, limit 4), so the enforce
    # is quick and changes nothing outside the guard. The guard logs in with a key the host does not know:
    # exactly what an sshd or PAM change that locks the admin out looks like from the controller.
    wrong_key = tmp_path / "not-authorized"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
    extra = {f"baseline_rule_{rid.lower().replace('-', '_')}_enabled": False
             for rid in _rule_ids() if not rid.startswith("BASE-SSH-")}
    extra.update({"baseline_guard_ssh_key": str(wrong_key), "baseline_updates_enabled": False,
                  "baseline_scan_paths": ["/etc"]})
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(extra))
    before = lab.exec(HOST, "sh", "-c", DIGEST).stdout
    guards_before = _guards(lab)
    assert "maxauthtries 6" in lab.exec(HOST, "sshd", "-T").stdout

    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "YUNWEI_STORE": str(tmp_path / "journal.sqlite"), "YUNWEI_VAR": str(tmp_path / "var")}
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(lab.inventory), "-l", HOST, "-e", f"@{tmp_path / 'vars.yml'}",
         str(ROOT / "playbooks" / "baseline_enforce.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert f"LOCK-OUT GUARD on {HOST}" in out, out[-3000:]
    assert "were restored" in out, out[-3000:]
    assert "BASE-SSH-003" in out  # it did try to remediate

    # every guarded file as it was, sshd running with the old setting, the guard's record says why
    assert lab.exec(HOST, "sh", "-c", DIGEST).stdout == before
    assert "maxauthtries 6" in lab.exec(HOST, "sshd", "-T").stdout
    (guard_id,) = _guards(lab) - guards_before
    assert _state(lab, guard_id).startswith("restored: GUARD | fresh SSH login of the admin")
    # and the lab's own key still logs in (the host stays usable)
    ping = subprocess.run([str(BIN / "ansible"), "-i", str(lab.inventory), HOST, "-m", "ansible.builtin.ping"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_an_unconfirmed_change_is_undone_on_the_host_by_itself(lab, tmp_path):
    # The role's guard script, rendered into a folder of its own, armed with a short deadline; a guarded file
    # changed and a new one added as a bad remediation would, and never confirmed.
    guard_dir = "/var/tmp/yunwei-guard-test"
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "YUNWEI_STORE": str(tmp_path / "journal.sqlite"), "YUNWEI_VAR": str(tmp_path / "var")}
    lab.exec(HOST, "install", "-d", "-m", "0700", guard_dir)
    render = subprocess.run(
        [str(BIN / "ansible"), "-i", str(lab.inventory), HOST, "-b", "-m", "ansible.builtin.template",
         "-a", f"src={ROOT}/roles/baseline/templates/guard.sh.j2 dest={guard_dir}/guard.sh mode=0700",
         "-e", f"baseline_guard_dir={guard_dir}", "-e", '{"baseline_guard_paths": ["etc/ssh", "etc/pam.d"]}'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert render.returncode == 0, render.stdout + render.stderr
    digest = "find /etc/ssh /etc/pam.d -type f -print0 | sort -z | xargs -0 sha256sum"
    before = lab.exec(HOST, "sh", "-c", digest).stdout
    guard_id = f"test-{int(time.time())}"
    try:
        lab.exec(HOST, "sh", f"{guard_dir}/guard.sh", "arm", guard_id, "2")
        lab.exec(HOST, "sh", "-c", "echo 'MaxSessions 1' > /etc/ssh/sshd_config.d/zz-bad.conf; echo '#bad' >> /etc/pam.d/sshd")
        assert lab.exec(HOST, "sh", "-c", digest).stdout != before
        state = lambda: lab.exec(HOST, "cat", f"{guard_dir}/{guard_id}/state").stdout.strip()  # noqa: E731
        deadline = time.monotonic() + 30
        while state() == "armed" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert state() == "restored: not confirmed within 2 s"
        assert lab.exec(HOST, "sh", "-c", digest).stdout == before  # the new file removed, the edited one put back
    finally:
        lab.exec(HOST, "rm", "-rf", guard_dir, "/etc/ssh/sshd_config.d/zz-bad.conf", check=False)

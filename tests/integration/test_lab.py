"""The lab is real: hosts answer over SSH with host key checking, services serve real data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra
import yaml

from yunwei.errors import YunweiError
from yunwei_dev.lab import HOSTS, Lab
from yunwei_dev.lab import image as lab_image

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).parent / "ansible")  # the venv's, whatever PATH says


@pytest.fixture(scope="module")
def hosts(lab):
    return {h: testinfra.get_host(f"ssh://{h}", ssh_config=str(lab.ssh_config)) for h in lab.hosts}


def _app_password(lab) -> str:
    return yaml.safe_load(lab.lab.secrets_path.read_text())["lab_app_password"]


def test_every_host_runs_sshd_and_answers_as_itself(hosts):
    assert sorted(hosts) == sorted(h.name for h in HOSTS)
    for name, host in hosts.items():
        assert host.run("hostname").stdout.strip() == name
        assert host.process.filter(comm="sshd"), f"{name}: no sshd process"
        assert host.user().name == "ops"
        assert host.run("sudo -n true").rc == 0, f"{name}: ops cannot sudo"
        assert host.mount_point("/srv/data").filesystem == "tmpfs"


def test_web01_serves_the_site_and_stub_status_on_localhost_only(hosts):
    web = hosts["web01"]
    assert web.socket("tcp://0.0.0.0:80").is_listening
    page = web.run("curl -sf http://127.0.0.1/")
    assert page.rc == 0 and "政务云" in page.stdout
    status = web.run("curl -sf http://127.0.0.1/nginx_status")
    assert status.rc == 0 and "Active connections" in status.stdout
    # stub_status is not served to other hosts
    probe = hosts["db01"].run(
        "python3 -c \"import urllib.request,urllib.error\ntry: urllib.request.urlopen('http://web01/nginx_status')\n"
        "except urllib.error.HTTPError as e: print(e.code)\""
    )
    assert probe.stdout.strip() == "403"


def test_db01_accepts_the_application_role_with_sample_rows(lab, hosts):
    db = hosts["db01"]
    sql = (
        "SELECT json_build_object('apps', (SELECT count(*) FROM applications),"
        " 'approvals', (SELECT count(*) FROM approvals),"
        " 'depts', (SELECT count(DISTINCT department_id) FROM applications),"
        " 'orphans', (SELECT count(*) FROM approvals a LEFT JOIN applications p ON p.id = a.application_id WHERE p.id IS NULL))"
    )
    out = db.run(f"PGPASSWORD='{_app_password(lab)}' psql -h 127.0.0.1 -U app -d appdb -XAtc \"{sql}\"")
    assert out.rc == 0, out.stderr
    counts = json.loads(out.stdout)
    assert counts["apps"] >= 1000 and counts["approvals"] >= 1000
    assert counts["depts"] == 40 and counts["orphans"] == 0
    wrong = db.run("PGPASSWORD=wrong psql -h 127.0.0.1 -U app -d appdb -XAtc 'select 1'")
    assert wrong.rc != 0 and "password authentication failed" in wrong.stderr


def test_backup_stores_have_a_repository_volume(hosts):
    for name in ("backup01", "offsite01"):
        host = hosts[name]
        assert host.mount_point("/srv/backup").exists
        assert host.file("/srv/backup/repos").is_directory
    assert not hosts["drill01"].mount_point("/srv/backup").exists


def test_ansible_ping_over_real_ssh(lab):
    proc = subprocess.run(
        [ANSIBLE, "-i", str(lab.inventory), "all", "-m", "ansible.builtin.ping", "-o"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(HOSTS)


def test_host_key_checking_stays_on(lab, tmp_path):
    """A wrong key in known_hosts must stop the connection, not be accepted."""
    forged = tmp_path / "known_hosts"
    forged.write_text(lab.known_hosts.read_text().replace("AAAA", "AAAB", 1))
    inv = yaml.safe_load(lab.inventory.read_text())
    inv["all"]["vars"]["ansible_ssh_common_args"] = inv["all"]["vars"]["ansible_ssh_common_args"].replace(
        str(lab.known_hosts), str(forged)
    )
    first = sorted(lab.hosts)[0]
    inv_path = tmp_path / "hosts.yml"
    inv_path.write_text(yaml.safe_dump(inv))
    env = {**os.environ, "ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}
    proc = subprocess.run(
        [ANSIBLE, "-i", str(inv_path), first, "-m", "ansible.builtin.ping", "-o"],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout


def test_lab_up_again_is_fast_and_changes_nothing(lab):
    before = Lab.from_env().status()
    start = time.monotonic()
    Lab.from_env().up()
    assert time.monotonic() - start < 5
    assert Lab.from_env().status() == before


def test_lab_up_takes_back_hosts_another_checkout_provisioned(lab):
    """A second checkout bringing up the same lab installs its own key, app password and
    token. The first checkout's next `lab up` must notice and provision those hosts again."""
    lab.exec("web01", "sh", "-c", "echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherCheckoutOtherCheckoutOtherCheckout x' > ~ops/.ssh/authorized_keys")
    lab.exec("db01", "sh", "-c", "echo other-checkout > /etc/yunwei-lab/token")
    assert Lab.from_env()._owned_hosts(["web01", "db01", "drill01"]) == {"drill01"}
    Lab.from_env().up()
    assert Lab.from_env()._owned_hosts([h.name for h in HOSTS]) == {h.name for h in HOSTS}


def test_a_removed_container_is_recreated_alone(lab):
    lab_obj = Lab.from_env()
    ids = {h: i["id"] for h, i in lab_obj._running().items()}
    subprocess.run(["podman", "rm", "-f", "--time", "1", lab.container("drill01")], check=True, capture_output=True)
    state = lab_obj.up()
    after = {h: i["id"] for h, i in lab_obj._running().items()}
    assert after["drill01"] != ids["drill01"]
    assert {h: i for h, i in after.items() if h != "drill01"} == {h: i for h, i in ids.items() if h != "drill01"}
    host = testinfra.get_host("ssh://drill01", ssh_config=str(state.ssh_config))
    assert host.run("hostname").stdout.strip() == "drill01"


def test_a_host_killed_from_outside_is_recreated(lab):
    """When a session ends, its processes are killed, conmon included; podman then still
    reports the container as running. The next ``lab up`` must notice and recreate it."""
    container = lab.container("drill01")
    subprocess.run(["pkill", "-9", "-f", f"conmon.*{container}"], check=False)
    pid = subprocess.run(["podman", "inspect", "-f", "{{.State.Pid}}", container], capture_output=True, text=True).stdout.strip()
    subprocess.run(["kill", "-9", pid], check=False)
    assert not [r for r in Lab.from_env().status() if r["host"] == "drill01" and r["ssh"]]
    state = Lab.from_env().up()
    host = testinfra.get_host("ssh://drill01", ssh_config=str(state.ssh_config))
    assert host.run("hostname").stdout.strip() == "drill01"


def test_failed_image_build_leaves_no_tagged_image(tmp_path, monkeypatch):
    image = "localhost/yunwei-lab-failtest:broken"
    monkeypatch.setenv("YUNWEI_LAB_IMAGE", image)
    monkeypatch.setenv("YUNWEI_LAB_MIRROR", "http://127.0.0.1:9/debian")  # nothing listens there
    with pytest.raises(YunweiError, match="no image was tagged"):
        lab_image.ensure_image(tmp_path)
    assert subprocess.run(["podman", "image", "exists", image]).returncode != 0
    assert list(tmp_path.glob("image-*")) == []


@pytest.mark.slow
def test_lab_down_leaves_nothing_behind(lab):
    """A second, separately named lab: up, then down, and nothing of it remains."""
    # named after this run's lab, so parallel checkouts (each with its own YUNWEI_LAB_NAME) never share it
    name = f"{lab.lab.name}-downtest"
    other = Lab(name)
    # a backup volume an earlier lab of this name left behind (another checkout, a machine image):
    # its repositories are not ours, so `lab up` must start the store empty
    stale = other.volume("backup01")
    subprocess.run(["podman", "volume", "create", stale], check=True, capture_output=True)
    mountpoint = subprocess.run(["podman", "volume", "inspect", "--format", "{{.Mountpoint}}", stale],
                                capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    Path(mountpoint, "pgbackrest").mkdir()
    Path(mountpoint, "pgbackrest", "stale-repository").write_text("another lab's repository")
    try:
        state = other.up()
        assert len(state.hosts) == len(HOSTS)
        assert other.key_path.exists() and other.inventory_path.exists()
        # provisioning makes its own folders there (/srv/backup/repos); the other lab's repository is gone
        assert other.exec("backup01", "ls", "-A", "/srv/backup").stdout.split() == ["repos"]
        assert other._foreign_volumes() == set()
    finally:
        other.down()
    leftovers = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label=yunwei.lab={name}", "--format", "{{.Names}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert leftovers == ""
    assert subprocess.run(["podman", "network", "exists", other.network]).returncode != 0
    volumes = subprocess.run(["podman", "volume", "ls", "--format", "{{.Name}}"], capture_output=True, text=True).stdout
    assert name not in volumes
    assert not other.dir.exists() and not other.inventory_path.exists()
    assert shutil.which("podman")

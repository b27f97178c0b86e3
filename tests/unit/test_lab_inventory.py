from pathlib import Path

import pytest
import yaml

from yunwei.errors import YunweiError
from yunwei_dev.lab import HOSTS, Lab
from yunwei_dev.lab.image import host_mirror
from yunwei_dev.lab.inventory import LabHost, build_inventory, dump_yaml, known_hosts_lines, ssh_config
from yunwei_dev.lab.podman import ensure_installed

HOSTS_UP = [
    LabHost("web01", "10.89.0.2", ("web",), "ssh-ed25519 AAAAweb"),
    LabHost("db01", "10.89.0.3", ("db",), "ssh-ed25519 AAAAdb"),
    LabHost("backup01", "10.89.0.4", ("backup",), "ssh-ed25519 AAAAbk"),
]


def test_inventory_groups_hosts_and_keeps_host_key_checking_on():
    inv = build_inventory(HOSTS_UP, user="ops", key=Path("/k/id"), known_hosts=Path("/k/known_hosts"))
    all_ = inv["all"]
    assert all_["hosts"]["web01"] == {"ansible_host": "10.89.0.2"}
    assert list(all_["children"]["db"]["hosts"]) == ["db01"]
    assert set(all_["children"]) == {"web", "db", "backup"}
    args = all_["vars"]["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in args and "UserKnownHostsFile=/k/known_hosts" in args
    assert all_["vars"]["ansible_user"] == "ops"
    # round-trips as YAML that ansible reads
    assert yaml.safe_load(dump_yaml(inv)) == inv


def test_known_hosts_lines_cover_address_and_name():
    lines = known_hosts_lines(HOSTS_UP)
    assert "10.89.0.2,web01 ssh-ed25519 AAAAweb" in lines
    assert len(lines) == 3


def test_ssh_config_has_a_block_per_host():
    text = ssh_config(HOSTS_UP, user="ops", key=Path("/k/id"), known_hosts=Path("/k/kh"))
    assert text.count("Host ") == 3
    assert "HostName 10.89.0.3" in text and "StrictHostKeyChecking yes" in text


def test_lab_defines_the_hosts_of_the_design():
    # the design's five, and the monitoring host of issue #18 (the bastion stays a jump host)
    assert [h.name for h in HOSTS] == ["web01", "db01", "backup01", "offsite01", "drill01", "mon01"]
    assert {h.name for h in HOSTS if h.data_volume} == {"backup01", "offsite01"}


def test_lab_names_are_namespaced(tmp_path):
    lab = Lab("ywtest", root=tmp_path, var=tmp_path / "var")
    assert lab.container("web01") == "ywtest-web01"
    assert lab.network == "ywtest-lab"
    assert lab.inventory_path == tmp_path / "var/labs/ywtest/inventory/hosts.yml"
    assert Lab("yunwei", root=tmp_path, var=tmp_path / "var").inventory_path == tmp_path / "inventories/lab/hosts.yml"


@pytest.mark.parametrize("bad", ["1lab", "lab name", "lab;rm", "lab/x"])
def test_bad_lab_name_is_rejected(bad, tmp_path):
    with pytest.raises(YunweiError) as err:
        Lab(bad, root=tmp_path, var=tmp_path)
    assert err.value.exit_code == 2 and "YUNWEI_LAB_NAME" in str(err.value)


def test_host_mirror_reads_deb822_and_skips_security(tmp_path, monkeypatch):
    monkeypatch.delenv("YUNWEI_LAB_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert host_mirror(tmp_path) == "http://mirror.example/debian"


def test_host_mirror_defaults_and_override(tmp_path, monkeypatch):
    monkeypatch.delenv("YUNWEI_LAB_MIRROR", raising=False)
    assert host_mirror(tmp_path) == "http://deb.debian.org/debian"
    monkeypatch.setenv("YUNWEI_LAB_MIRROR", "http://local/debian/")
    assert host_mirror(tmp_path) == "http://local/debian"


def test_missing_podman_as_non_root_exits_2_with_instructions():
    with pytest.raises(YunweiError) as err:
        ensure_installed(which=lambda name: None, is_root=False)
    assert err.value.exit_code == 2
    assert "apt-get install" in str(err.value) and "podman" in str(err.value)


def test_missing_podman_as_root_installs_with_apt():
    calls = []

    class Done:
        returncode = 0
        stderr = ""

    ensure_installed(which=lambda name: None, is_root=True, runner=lambda cmd, **kw: calls.append(cmd) or Done())
    assert calls[0][:2] == ["apt-get", "update"]
    assert calls[1][:3] == ["apt-get", "install", "-y"] and "podman" in calls[1]


def test_present_podman_installs_nothing():
    ensure_installed(which=lambda name: f"/usr/bin/{name}", is_root=True, runner=lambda *a, **k: pytest.fail("ran apt"))

"""Parsers of the inspection collectors, fed with recorded outputs."""

from __future__ import annotations

import calendar
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils import logscan  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils.pg_probe import parse_lsclusters  # noqa: E402

APT_SIMULATE = """\
NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
Reading package lists...
Building dependency tree...
Reading state information...
Calculating upgrade...
The following packages will be upgraded:
  libssl3 openssl tzdata yunwei-probe
4 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.
Inst libssl3 [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Inst openssl [3.0.11-1~deb12u1] (3.0.15-1~deb12u1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.8/stable-updates [all])
Inst linux-image-6.1.0-28-amd64 (6.1.119-1 Debian-Security:12/stable-security [amd64])
Inst yunwei-probe [1.0] (1.1 localhost [all])
Conf libssl3 (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
Conf openssl (3.0.15-1~deb12u1 Debian:12.8/stable, Debian-Security:12/stable-security [amd64])
"""

UBUNTU_SIMULATE = """\
Inst libc6 [2.35-0ubuntu3.6] (2.35-0ubuntu3.8 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64]) []
Inst vim [2:8.2.3995-1ubuntu2.15] (2:8.2.3995-1ubuntu2.16 Ubuntu:22.04/jammy-updates [amd64])
"""

DNF_CHECK_UPDATE = """\
Last metadata expiration check: 0:12:41 ago on Tue 25 Nov 2026 07:00:01 AM UTC.

kernel.x86_64                          5.14.0-427.42.1.el9_4             baseos
openssl.x86_64                         1:3.0.7-28.el9_4                  baseos
openssl-libs.x86_64                    1:3.0.7-28.el9_4                  baseos
python3-very-long-package-name-for-wrapping.noarch
                                       1.2.3-4.el9                       appstream
nginx.x86_64                           1:1.20.1-16.el9_4.1               appstream
Obsoleting Packages
grub2-tools.x86_64                     1:2.06-80.el9                     baseos
    grub2-tools.x86_64                 1:2.06-77.el9                     @baseos
"""

YUM_CHECK_UPDATE = """\
Loaded plugins: fastestmirror
Loading mirror speeds from cached hostfile
 * base: mirror.example.invalid

bash.x86_64                               4.2.46-35.el7_9                updates
openssl-libs.x86_64                       1:1.0.2k-26.el7_9              updates
"""

DNF_UPDATEINFO = """\
Last metadata expiration check: 0:12:41 ago on Tue 25 Nov 2026 07:00:01 AM UTC.
RLSA-2024:9033 Important/Sec. kernel-5.14.0-427.42.1.el9_4.x86_64
RLSA-2024:9033 Important/Sec. kernel-core-5.14.0-427.42.1.el9_4.x86_64
RLSA-2024:8801 Moderate/Sec.  openssl-1:3.0.7-28.el9_4.x86_64
RLSA-2024:8801 Moderate/Sec.  openssl-libs-1:3.0.7-28.el9_4.x86_64
"""

YUM_UPDATEINFO = """\
Loaded plugins: fastestmirror
RHSA-2024:1234 Important/Sec. openssl-libs-1.0.2k-26.el7_9.x86_64
RHSA-2024:2222 Critical/Sec.  bash-4.2.46-35.el7_9.x86_64
updateinfo list done
"""


def test_apt_simulate_upgrades_and_security():
    ups = hp.parse_apt_simulate(APT_SIMULATE)
    names = [u["name"] for u in ups]
    assert names == ["libssl3", "openssl", "tzdata", "yunwei-probe"]  # new kernel package is not an upgrade
    assert [u["name"] for u in ups if u["security"]] == ["libssl3", "openssl"]
    assert ups[0]["current"] == "3.0.11-1~deb12u1" and ups[0]["candidate"] == "3.0.15-1~deb12u1"
    assert ups[3]["origins"] == ["localhost"]


def test_apt_simulate_ubuntu_security_origin():
    ups = hp.parse_apt_simulate(UBUNTU_SIMULATE)
    assert [(u["name"], u["security"]) for u in ups] == [("libc6", True), ("vim", False)]


def test_apt_simulate_nothing_to_do():
    assert hp.parse_apt_simulate("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n") == []


def test_dnf_check_update_wraps_and_stops_at_obsoletes():
    ups = hp.parse_dnf_check_update(DNF_CHECK_UPDATE)
    assert [u["name"] for u in ups] == [
        "kernel", "openssl", "openssl-libs", "python3-very-long-package-name-for-wrapping", "nginx"]
    assert ups[3]["candidate"] == "1.2.3-4.el9" and ups[3]["repo"] == "appstream"


def test_yum_check_update_skips_plugin_noise():
    ups = hp.parse_dnf_check_update(YUM_CHECK_UPDATE)
    assert [(u["name"], u["arch"]) for u in ups] == [("bash", "x86_64"), ("openssl-libs", "x86_64")]


def test_updateinfo_security_packages():
    adv = hp.parse_dnf_updateinfo(DNF_UPDATEINFO)
    assert len(adv) == 4
    assert {hp.split_nevra(a["package"]) for a in adv} == {"kernel", "kernel-core", "openssl", "openssl-libs"}
    assert adv[0]["severity"] == "Important"
    yum = hp.parse_dnf_updateinfo(YUM_UPDATEINFO)
    assert [hp.split_nevra(a["package"]) for a in yum] == ["openssl-libs", "bash"]


STAT1 = "cpu  1000 0 500 8000 100 0 0 0 0 0\ncpu0 500 0 250 4000 50 0 0 0 0 0\nprocs_running 2\n"
STAT2 = "cpu  1600 0 700 8600 200 0 0 0 0 0\ncpu0 800 0 350 4300 100 0 0 0 0 0\nprocs_running 3\n"


def test_cpu_usage_between_samples():
    u = hp.cpu_usage(hp.parse_proc_stat(STAT1), hp.parse_proc_stat(STAT2))
    # delta: user 600, system 200, idle 600, iowait 100 -> total 1500, busy 800
    assert u["used_pct"] == pytest.approx(800 / 1500 * 100)
    assert u["iowait_pct"] == pytest.approx(100 / 1500 * 100)


def test_cpu_usage_no_time_passed():
    s = hp.parse_proc_stat(STAT1)
    assert hp.cpu_usage(s, s)["used_pct"] == 0.0


MEMINFO = """\
MemTotal:        8000000 kB
MemFree:          500000 kB
MemAvailable:    2000000 kB
Buffers:          100000 kB
Cached:          1000000 kB
SwapTotal:       1000000 kB
SwapFree:         750000 kB
HugePages_Total:       0
"""


def test_memory_usage():
    m = hp.memory_usage(hp.parse_meminfo(MEMINFO))
    assert m["used_pct"] == pytest.approx(75.0)
    assert m["swap_pct"] == pytest.approx(25.0)
    assert m["total"] == 8000000 * 1024


DISK1 = """\
 259       0 nvme0n1 1000 0 80000 500 2000 0 160000 900 0 1200 1400 0 0 0 0
 259       1 nvme0n1p1 900 0 70000 400 1900 0 150000 800 0 1100 1200 0 0 0 0
   7       0 loop0 10 0 20 0 0 0 0 0 0 0 0 0 0 0 0
 253       0 dm-0 100 0 800 10 100 0 800 10 0 20 20 0 0 0 0
"""
DISK2 = """\
 259       0 nvme0n1 1100 0 90000 550 2100 0 180000 950 0 1700 1500 0 0 0 0
 259       1 nvme0n1p1 1000 0 80000 450 2000 0 170000 850 0 1600 1300 0 0 0 0
   7       0 loop0 10 0 20 0 0 0 0 0 0 0 0 0 0 0 0
 253       0 dm-0 100 0 800 10 100 0 800 10 0 20 20 0 0 0 0
"""


def test_disk_rates_whole_devices_only():
    a, b = hp.parse_diskstats(DISK1), hp.parse_diskstats(DISK2)
    assert set(a) == {"nvme0n1", "dm-0"}
    r = hp.disk_rates(a, b, 1.0)["nvme0n1"]
    assert r["read_bps"] == 10000 * 512
    assert r["write_bps"] == 20000 * 512
    assert r["iops"] == 200
    assert r["util_pct"] == pytest.approx(50.0)
    assert hp.parse_diskstats(DISK1, {"nvme0n1"}).keys() == {"nvme0n1"}


NETDEV1 = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0
  eth0: 1000000 1000 1 2 0 0 0 0 2000000 2000 0 0 0 0 0 0
"""
NETDEV2 = """\
    lo:  200 2 0 0 0 0 0 0 200 2 0 0 0 0 0 0
  eth0: 1500000 1500 3 2 0 0 0 0 2200000 2200 0 4 0 0 0 0
"""


def test_net_rates_skip_loopback():
    a, b = hp.parse_net_dev(NETDEV1), hp.parse_net_dev(NETDEV2)
    assert set(a) == {"eth0"}
    r = hp.net_rates(a, b, 2.0)["eth0"]
    assert r["rx_bps"] == 250000 and r["tx_bps"] == 100000
    assert r["err_rate"] == 1.0 and r["drop_rate"] == 2.0


MOUNTS = """\
overlay / overlay rw,relatime 0 0
proc /proc proc rw 0 0
tmpfs /dev tmpfs rw 0 0
tmpfs /srv/data tmpfs rw,size=65536k 0 0
/dev/vda1 /boot ext4 rw 0 0
/dev/vda2 /srv/with\\040space xfs rw 0 0
shm /run/lock tmpfs rw 0 0
overlay /var/lib/containers/storage/overlay/abc/merged overlay rw 0 0
/dev/vda1 /boot ext4 rw 0 0
"""


def test_mounts_real_filesystems():
    got = [m[1] for m in hp.parse_mounts(MOUNTS)]
    assert got == ["/", "/srv/data", "/boot", "/srv/with space"]
    assert [m[1] for m in hp.parse_mounts(MOUNTS, exclude=["/boot"])] == ["/", "/srv/data", "/srv/with space"]


def test_fs_usage_like_df():
    st = os.statvfs_result((4096, 4096, 1000, 200, 150, 100, 40, 40, 0, 255, 0))
    u = hp.fs_usage(st)
    assert u["used"] == 800 * 4096
    assert u["used_pct"] == pytest.approx(800 / 950 * 100)
    assert u["inode_pct"] == pytest.approx(60.0)


TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 2 1 0 100 0 0 10 0
   2: 0200590A:0016 0100590A:C350 01 00000000:00000000 02:000A0000 00000000     0        0 3 4 0 20 4 30 10 -1
"""


def test_listening_ports():
    assert hp.parse_proc_net_tcp(TCP) == {22, 5432}


def test_pid_stat_with_spaces_in_comm():
    comm, fields = hp.parse_pid_stat("1234 (my (odd) proc) Z 1 1234 1234 0 -1")
    state, ppid = fields[0], int(fields[1])
    assert (comm, state, ppid) == ("my (odd) proc", "Z", 1)


def test_nginx_error_lines_since(tmp_path):
    log = tmp_path / "error.log"
    old = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(time.time() - 7200))
    new = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(time.time() - 10))
    lines = [
        f'{old} [error] 11#11: *1 open() "/var/www/a.php" failed (2: No such file or directory), client: 10.0.0.1, server: _, request: "GET /a.php HTTP/1.1"',
        f"{new} [notice] 11#11: signal process started",
        f'{new} [error] 11#11: *7 open() "/var/www/b.php" failed (2: No such file or directory), client: 10.0.0.9, server: _, request: "GET /b.php HTTP/1.1"',
        f'{new} [error] 11#11: *8 open() "/var/www/b.php" failed (2: No such file or directory), client: 10.0.0.8, server: _, request: "GET /b.php HTTP/1.1"',
        f"{new} [crit] 11#11: *9 connect() to unix:/run/php.sock failed (13: Permission denied)",
    ]
    log.write_text("\n".join(lines) + "\n")
    res = logscan.scan_errors(str(log), time.time() - 3600, "nginx")
    assert res["lines"] == 3
    assert res["levels"] == {"error": 2, "crit": 1}
    assert res["top"][0][0] == 2 and "b.php" in res["top"][0][1] and "client" not in res["top"][0][1]
    # everything since long ago
    assert logscan.scan_errors(str(log), 0, "nginx")["lines"] == 4


def test_read_lines_since_spans_blocks(tmp_path):
    log = tmp_path / "error.log"
    now = float(int(time.time()))
    with log.open("w") as fh:
        for i in range(5000):
            ts = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now - 5000 + i))
            fh.write(f"{ts} [error] 1#1: message number {i}\n")
    got = logscan.read_lines_since(str(log), now - 100.5, logscan.parse_nginx_line, block=1024)
    assert len(got) == 100
    assert got[-1][2].endswith("message number 4999")


def test_pg_log_line_utc():
    line = '2026-11-25 07:46:06.123 UTC [321] app@appdb ERROR:  relation "nope" does not exist at character 15'
    when, level, msg = logscan.parse_pg_line(line)
    assert level == "ERROR" and msg.startswith("relation")
    assert when == calendar.timegm((2026, 11, 25, 7, 46, 6, 0, 0, 0))
    assert logscan.parse_pg_line("2026-11-25 07:46:06.123 UTC [321] LOG:  checkpoint starting: time")[1] == "LOG"
    assert logscan.parse_pg_line("\tDETAIL-less continuation") is None


def test_lsclusters():
    rows = parse_lsclusters("15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n")
    assert rows == [{"version": "15", "cluster": "main", "port": 5432, "status": "online", "owner": "postgres",
                     "data": "/var/lib/postgresql/15/main", "log": "/var/log/postgresql/postgresql-15-main.log"}]

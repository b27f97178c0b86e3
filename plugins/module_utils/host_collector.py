# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host collector: HOST-* checks and metrics (used by yunwei.ops.host_inspect and yunwei.ops.inspect)."""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import hashlib
import os
import time

from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Collector, human_bytes, human_seconds


def read(path, default=""):
    try:
        with open(path) as fh:
            return fh.read()
    except (IOError, OSError):
        return default


def boottime():
    """Seconds since boot on CLOCK_BOOTTIME, the clock of /proc/self/stat's start time."""
    try:
        return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", 7))
    except (AttributeError, OSError, ValueError):
        return float(read("/proc/uptime", "0").split()[0])


def uptime_offset():
    """CLOCK_BOOTTIME minus /proc/uptime: 0 (up to /proc/uptime's 10 ms truncation) on a plain host;
    under lxcfs /proc/uptime is the container's uptime, and the offset is when the container started."""
    try:
        return boottime() - float(read("/proc/uptime").split()[0])
    except (ValueError, IndexError):
        return 0.0


def own_cpu_ticks():
    """(user, system) clock ticks used by this process and its waited-for children so far."""
    try:
        fields = hp.parse_pid_stat(read("/proc/self/stat"))[1]
        return int(fields[11]) + int(fields[13]), int(fields[12]) + int(fields[14])
    except (ValueError, IndexError):
        return 0, 0


def sample(block_devices):
    return {
        "t": time.time(),
        "boot": boottime(),
        "own": own_cpu_ticks(),
        "stat": hp.parse_proc_stat(read("/proc/stat")),
        "disk": hp.parse_diskstats(read("/proc/diskstats"), block_devices),
        "net": hp.parse_net_dev(read("/proc/net/dev")),
    }


# a first sample older than this is not used (a stale variable, a long-blocked play): sample in-call
START_SAMPLE_MAX_AGE = 300.0


def _counts(value, size):
    return isinstance(value, (list, tuple)) and len(value) == size and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)


def start_sample(given, block_devices, started_boot):
    """The first sample from yunwei.ops.host_sample when it is usable, else None.

    Usable: well formed, taken on this boot (same kernel boot_id) before this process started (so
    all of this process's CPU time falls inside the interval) and not older than
    START_SAMPLE_MAX_AGE. Its time, read from /proc/uptime, is moved onto CLOCK_BOOTTIME."""
    if not isinstance(given, dict):
        return None
    try:
        boot = float(given["boot"]) + uptime_offset()
        stat, disk, net = given["stat"], given["disk"], given["net"]
    except (KeyError, TypeError, ValueError):
        return None
    if not (isinstance(stat, dict) and _counts(stat.get("cpu"), 8)
            and isinstance(disk, dict) and all(_counts(v, 5) for v in disk.values())
            and isinstance(net, dict) and all(_counts(v, 6) for v in net.values())):
        return None
    if given.get("boot_id") != read("/proc/sys/kernel/random/boot_id").strip():
        return None
    now = boottime()
    if started_boot is None or not boot <= started_boot <= now or now - boot > START_SAMPLE_MAX_AGE:
        return None
    if block_devices is not None:
        disk = dict((k, v) for k, v in disk.items() if k in block_devices)
    return {"t": time.time() - (now - boot), "boot": boot, "own": (0, 0), "stat": stat, "disk": disk, "net": net}


def process_start_boot():
    """Boot-clock second at which this process started (Python start-up and module unpacking before it)."""
    try:
        start_ticks = int(hp.parse_pid_stat(read("/proc/self/stat"))[1][19])
        return start_ticks / float(os.sysconf("SC_CLK_TCK"))
    except (ValueError, IndexError, OSError):
        return None


def block_devices():
    names = [os.path.basename(p) for p in glob.glob("/sys/block/*")]
    names = [n for n in names if not n.startswith(("loop", "ram", "zram", "sr", "fd"))]
    return set(names) if names else None


def scan_processes():
    procs, zombies = [], []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        text = read("/proc/%s/stat" % pid)
        if not text:
            continue
        try:
            comm, fields = hp.parse_pid_stat(text)
            state, ppid = fields[0], int(fields[1])
        except (ValueError, IndexError):
            continue
        exe = ""
        cmd = read("/proc/%s/cmdline" % pid)
        if cmd:
            exe = os.path.basename(cmd.split("\0")[0].split(" ")[0])
        procs.append((int(pid), comm, exe))
        if state == "Z":
            zombies.append("%s(%s, ppid %d)" % (comm, pid, ppid))
    return procs, zombies


PKG_STATE_PATHS = (
    "/var/lib/dpkg/status", "/var/lib/apt/lists", "/etc/apt", "/etc/apt/sources.list.d", "/etc/apt/preferences.d",
    "/etc/apt/apt.conf.d", "/var/lib/rpm", "/var/cache/dnf", "/var/cache/yum", "/etc/yum.repos.d", "/etc/dnf",
)


def pkg_state_fingerprint():
    """12 hex digits over names, sizes and mtimes of everything the pending-updates answer depends on."""
    h = hashlib.sha1()
    for base in PKG_STATE_PATHS:
        try:
            st = os.stat(base)
        except OSError:
            continue
        h.update(("%s %d %d\n" % (base, st.st_size, st.st_mtime_ns)).encode())
        if os.path.isdir(base):
            try:
                names = sorted(os.listdir(base))
            except OSError:
                continue
            for name in names:
                try:
                    st = os.stat(os.path.join(base, name))
                except OSError:
                    continue
                h.update(("%s %d %d\n" % (name, st.st_size, st.st_mtime_ns)).encode())
    return h.hexdigest()[:12]


class Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("pad", ctypes.c_int * 11),
    ]


def kernel_time_sync():
    """(synchronised, max error seconds) from adjtimex(2), the kernel's view; None if unavailable."""
    try:
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)  # glibc: no ldconfig subprocess
        except OSError:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        tx = Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    unsync = bool(tx.status & 0x0040) or state == 5
    return (not unsync), tx.maxerror / 1e6


# Options of the host area (argument spec of yunwei.ops.host_inspect and of the host option of yunwei.ops.inspect).
OPTIONS = dict(
    expected_ports=dict(type="list", elements="int", default=[]),
    expected_processes=dict(type="list", elements="str", default=[]),
    updates=dict(type="bool", default=True),
    fs_exclude=dict(type="list", elements="str", default=[]),
    updates_fingerprint=dict(type="str"),
)


class HostInspector(Collector):
    def __init__(self, module, params=None):
        super(HostInspector, self).__init__(module, params)
        self.facts = {}

    def run_cmd(self, args, **kw):
        env = {"LANG": "C", "LC_ALL": "C"}
        return self.module.run_command(args, environ_update=env, **kw)

    def inspect(self, start=None, during=()):
        """All HOST-* checks.

        CPU, disk and network rates are measured between two readings of the kernel counters at
        least sample_seconds apart. The first is ``start`` (read by yunwei.ops.host_sample before
        this module started, so the interval overlaps the inspection of the other hosts) or, without
        it, taken now. Every other check, and the ``during`` steps ((name, callable) pairs: the other
        areas' collectors run by yunwei.ops.inspect), run inside the interval; the inspection's own
        CPU time is left out of the CPU figure.
        """
        if start is None:
            start = self.p.get("start_sample")
        started, begun = process_start_boot(), boottime()
        devices = block_devices()
        first = start_sample(start, devices, started)
        bracketed = first is not None
        if first is None:
            first = sample(devices)
        timings = self.facts["timings"] = {}
        last = boottime()
        steps = [("memory", self.memory), ("load", self.load), ("filesystems", self.filesystems),
                 ("uptime", self.uptime), ("time_sync", self.time_sync), ("processes", self.processes),
                 ("services", self.services), ("ports", self.ports),
                 ("updates", self.updates if self.p["updates"] else None),
                 ("reboot_kernel", self.reboot_and_kernel)]
        second = None
        for name, step in steps + [("after", None)] + list(during):
            if name == "after":
                # the other areas fill the rest of the interval; once it is over, take the second reading
                # first, so that their work (log reads, probes answered by nginx and PostgreSQL) stays out
                if boottime() - first["boot"] >= self.p["sample_seconds"]:
                    second = sample(devices)
                continue
            if step is not None:
                step()
            now = boottime()
            timings[name] = round(now - last, 3)
            last = now
        others_inside = bool(during) and second is None
        if second is None:
            wait = self.p["sample_seconds"] - (boottime() - first["boot"])
            if wait > 0:
                time.sleep(wait)
            second = sample(devices)
        self.rates(first, second)
        timings["interval"] = round(second["boot"] - first["boot"], 3)
        timings["areas_inside_interval"] = others_inside
        timings["first_sample"] = "host_sample" if bracketed else "in-call"
        timings["startup"] = round(begun - started, 3) if started is not None else None
        self.f.sort()
        return self.f.result(facts=self.facts)

    # -- resources -----------------------------------------------------------------------
    def rates(self, first, second):
        f = self.f
        seconds = second["boot"] - first["boot"]
        own = [b - a for a, b in zip(first["own"], second["own"])]
        cpu = hp.cpu_usage(first["stat"], second["stat"], own)
        f.metric("cpu.used_pct", cpu["used_pct"])
        f.metric("cpu.iowait_pct", cpu["iowait_pct"])
        f.metric("cpu.steal_pct", cpu["steal_pct"])
        f.add("HOST-CPU-001", cpu["used_pct"],
              "%.1f 秒采样内 CPU 使用率 %.1f%%（用户 %.1f%%，系统 %.1f%%，iowait %.1f%%，steal %.1f%%）" % (
                  seconds, cpu["used_pct"], cpu["user_pct"], cpu["system_pct"], cpu["iowait_pct"], cpu["steal_pct"]))
        f.add("HOST-CPU-002", cpu["iowait_pct"], "iowait %.1f%%" % cpu["iowait_pct"])
        for dev, r in sorted(hp.disk_rates(first["disk"], second["disk"], seconds).items()):
            f.metric("disk.read_bps", r["read_bps"], dev)
            f.metric("disk.write_bps", r["write_bps"], dev)
            f.metric("disk.iops", r["iops"], dev)
            f.metric("disk.util_pct", r["util_pct"], dev)
            f.add("HOST-IO-001", r["util_pct"], "%s 繁忙度 %.1f%%，读 %s/s，写 %s/s，%.1f IOPS" % (
                dev, r["util_pct"], human_bytes(r["read_bps"]), human_bytes(r["write_bps"]), r["iops"]), instance=dev)
        for iface, r in sorted(hp.net_rates(first["net"], second["net"], seconds).items()):
            f.metric("net.rx_bps", r["rx_bps"], iface)
            f.metric("net.tx_bps", r["tx_bps"], iface)
            f.metric("net.err_rate", r["err_rate"], iface)
            f.metric("net.drop_rate", r["drop_rate"], iface)
            bad = r["err_rate"] + r["drop_rate"]
            f.add("HOST-NET-001", bad, "%s 接收 %s/s，发送 %s/s，错误+丢包 %.2f/s（累计错误 %d，丢包 %d）" % (
                iface, human_bytes(r["rx_bps"]), human_bytes(r["tx_bps"]), bad, r["errors_total"], r["drops_total"]),
                instance=iface)

    def memory(self):
        f = self.f
        mem = hp.memory_usage(hp.parse_meminfo(read("/proc/meminfo")))
        f.metric("mem.used_pct", mem["used_pct"])
        f.metric("mem.used_bytes", mem["used"])
        f.metric("mem.total_bytes", mem["total"])
        f.metric("swap.used_pct", mem["swap_pct"])
        f.add("HOST-MEM-001", mem["used_pct"],
              "已用 %s / 共 %s（%.1f%%）" % (human_bytes(mem["used"]), human_bytes(mem["total"]), mem["used_pct"]))
        if mem["swap_total"]:
            f.add("HOST-MEM-002", mem["swap_pct"],
                  "交换分区已用 %s / 共 %s" % (human_bytes(mem["swap_used"]), human_bytes(mem["swap_total"])))
        else:
            f.add("HOST-MEM-002", 0, "未配置交换分区", outcome="no_swap")

    def load(self):
        f = self.f
        l1, l5, l15 = hp.parse_loadavg(read("/proc/loadavg", "0 0 0"))
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        self.facts["cores"] = cores
        per_core = l5 / cores
        f.metric("load.1", l1)
        f.metric("load.5", l5)
        f.metric("load.15", l15)
        f.metric("load.per_core", per_core)
        f.add("HOST-LOAD-001", per_core,
              "负载 %.2f / %.2f / %.2f（1/5/15 分钟），%d 核，5 分钟每核 %.2f" % (l1, l5, l15, cores, per_core))

    def filesystems(self):
        f = self.f
        seen = set()
        for dev, mnt, fstype in hp.parse_mounts(read("/proc/mounts"), self.p["fs_exclude"]):
            if not os.path.isdir(mnt):
                continue  # bind-mounted files (container /etc/hosts ...)
            try:
                st_dev = os.stat(mnt).st_dev
                u = hp.fs_usage(os.statvfs(mnt))
            except OSError:
                continue
            if st_dev in seen:
                continue  # the same filesystem bind-mounted again
            seen.add(st_dev)
            if u["size"] == 0:
                continue
            f.metric("fs.used_pct", u["used_pct"], mnt)
            f.metric("fs.used_bytes", u["used"], mnt)
            f.metric("fs.size_bytes", u["size"], mnt)
            f.metric("fs.inode_pct", u["inode_pct"], mnt)
            f.add("HOST-FS-001", u["used_pct"], "%s（%s，%s）已用 %.1f%%（%s / %s，可用 %s）" % (
                mnt, dev, fstype, u["used_pct"], human_bytes(u["used"]), human_bytes(u["size"]), human_bytes(u["avail"])),
                instance=mnt)
            if u["inodes_total"]:
                f.add("HOST-FS-002", u["inode_pct"], "%s inode 已用 %d / %d（%.1f%%）" % (
                    mnt, u["inodes_used"], u["inodes_total"], u["inode_pct"]), instance=mnt)

    def uptime(self):
        up = float((read("/proc/uptime", "0 0").split() or ["0"])[0])
        self.f.metric("host.uptime_s", up)
        self.f.add("HOST-UP-001", round(up / 86400.0, 2), "已运行 %s" % human_seconds(up))

    def time_sync(self):
        f = self.f
        chronyc = self.module.get_bin_path("chronyc")
        if chronyc:
            rc, out, err = self.run_cmd([chronyc, "-c", "tracking"])
            fields = out.strip().split(",")
            if rc == 0 and len(fields) >= 14:
                offset = abs(float(fields[4]))
                leap = fields[13]
                f.metric("time.offset_s", offset)
                if "Not synchronised" in leap:
                    f.add("HOST-TIME-001", offset, "chrony 未同步（%s），参考源 %s" % (leap, fields[1]),
                          outcome="chrony_unsynchronised")
                else:
                    f.add("HOST-TIME-001", offset, "chrony 同步于 %s，偏差 %.6f 秒" % (fields[1], offset))
                return
        sync = kernel_time_sync()
        if sync is None:
            f.add("HOST-TIME-001", "unknown", "无法读取时间同步状态（无 chronyc，adjtimex 不可用）", outcome="unknown")
        elif sync[0]:
            f.add("HOST-TIME-001", "synchronised", "内核时钟已同步（adjtimex，最大误差 %.3f 秒）" % sync[1],
                  outcome="kernel_synchronised")
        else:
            f.add("HOST-TIME-001", "unsynchronised", "内核时钟未同步（adjtimex 报告 STA_UNSYNC；容器内为宿主机时钟状态）",
                  outcome="kernel_unsynchronised")

    def processes(self):
        f = self.f
        procs, zombies = scan_processes()
        self._procs = procs
        f.metric("host.procs", len(procs))
        f.metric("host.zombies", len(zombies))
        f.add("HOST-PROC-001", len(zombies),
              ("僵尸进程 %d 个：%s" % (len(zombies), "，".join(zombies[:5]))) if zombies else "无僵尸进程")
        return procs

    def services(self):
        f = self.f
        procs = self._procs
        pid1 = read("/proc/1/comm").strip()
        systemd = os.path.isdir("/run/systemd/system")
        self.facts["systemd"] = systemd
        if systemd and self.module.get_bin_path("systemctl"):
            rc, out, err = self.run_cmd(["systemctl", "--failed", "--no-legend", "--plain", "--no-pager"])
            failed = [line.split()[0] for line in out.splitlines() if line.strip()]
            f.add("HOST-SVC-001", len(failed),
                  ("失败的服务：%s" % "，".join(failed)) if failed else "systemd 无失败的服务",
                  outcome="failed" if failed else None)
        else:
            f.add("HOST-SVC-001", 0, "未运行 systemd（PID 1 为 %s），按预期进程检查服务" % (pid1 or "?"))
        expected = self.p["expected_processes"]
        if expected:
            names = set()
            for pid, comm, exe in procs:
                names.add(comm)
                names.add(exe)
            missing = [name for name in expected if name not in names]
            f.add("HOST-SVC-002", len(missing),
                  ("未运行：%s" % "，".join(missing)) if missing else "预期进程均在运行：%s" % "，".join(expected),
                  outcome="missing" if missing else None, limits={"expected": expected})

    def ports(self):
        listening = set()
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            listening |= hp.parse_proc_net_tcp(read(path))
        self.facts["listening_tcp"] = sorted(listening)
        expected = self.p["expected_ports"]
        missing = [p for p in expected if p not in listening]
        self.f.add("HOST-PORT-001", len(missing), "监听中的 TCP 端口：%s；%s" % (
            ", ".join(str(p) for p in sorted(listening)) or "无",
            ("预期但未监听：%s" % ", ".join(str(p) for p in missing)) if missing else "预期端口均在监听"),
            outcome="missing" if missing else None, limits={"expected": expected})

    # -- packages ------------------------------------------------------------------------
    def updates(self):
        f = self.f
        fingerprint = pkg_state_fingerprint()
        self.facts["pkg_fingerprint"] = fingerprint
        f.metric("pkg.state_hash", int(fingerprint, 16))
        if self.p["updates_fingerprint"] and self.p["updates_fingerprint"] == fingerprint:
            self.facts["updates_cached"] = True
            return
        apt = self.module.get_bin_path("apt-get")
        dnf = self.module.get_bin_path("dnf")
        yum = self.module.get_bin_path("yum")
        pending = security = None
        note = ""
        names = []
        if apt:
            self.facts["pkg_mgr"] = "apt"
            rc, out, err = self.run_cmd([apt, "-s", "-q", "-o", "Debug::NoLocking=true",
                                         "-o", "APT::Get::Show-User-Simulation-Note=false", "dist-upgrade"])
            if rc == 0:
                ups = hp.parse_apt_simulate(out)
                pending = len(ups)
                sec = [u for u in ups if u["security"]]
                security = len(sec)
                names = ["%s%s %s→%s" % ("[安全] " if u["security"] else "", u["name"], u["current"], u["candidate"])
                         for u in ups[:40]] + (["…"] if len(ups) > 40 else [])
                lists = glob.glob("/var/lib/apt/lists/*_Packages*") + glob.glob("/var/lib/apt/lists/*Packages")
                if lists:
                    age = time.time() - max(os.path.getmtime(p) for p in lists)
                    note = "；软件源索引更新于 %s前" % human_seconds(age)
            else:
                note = "apt-get -s 失败：%s" % (err or out).strip()[:300]
        elif dnf or yum:
            tool = dnf or yum
            self.facts["pkg_mgr"] = "dnf" if dnf else "yum"
            rc, out, err = self.run_cmd([tool, "-q", "-C", "check-update"])
            if rc in (0, 100):
                ups = hp.parse_dnf_check_update(out)
                pending = len(ups)
                names = ["%s %s" % (u["name"], u["candidate"]) for u in ups[:40]] + (["…"] if len(ups) > 40 else [])
                args = [tool, "-q", "-C", "updateinfo", "list", "--security"] if dnf else \
                    [tool, "-q", "-C", "updateinfo", "list", "security"]
                rc2, out2, err2 = self.run_cmd(args)
                if rc2 == 0:
                    security = len(set(hp.split_nevra(a["package"]) for a in hp.parse_dnf_updateinfo(out2)))
            else:
                note = "%s check-update 失败：%s" % (os.path.basename(tool), (err or out).strip()[:300])
        else:
            note = "未找到 apt-get/dnf/yum"
        if pending is None:
            f.add("HOST-PKG-001", "unknown", "无法获取待安装更新：%s" % note, outcome="unknown")
        else:
            f.metric("pkg.pending", pending)
            f.add("HOST-PKG-001", pending, "待安装更新 %d 个%s%s%s" % (
                pending, ("（其中安全更新 %d 个）" % security) if security else "",
                ("：" + "，".join(names)) if names else "", note))
        if security is None:
            if pending is not None:
                f.add("HOST-PKG-002", "unknown", "无法获取安全公告（updateinfo）", outcome="no_advisories")
        else:
            f.metric("pkg.security_pending", security)
            f.add("HOST-PKG-002", security, "待安装安全更新 %d 个" % security)

    def reboot_and_kernel(self):
        f = self.f
        release = os.uname()[2]
        self.facts["kernel"] = release
        f.add("HOST-KERNEL-001", release, "运行内核 %s" % release)
        reasons = []
        if os.path.exists("/var/run/reboot-required"):
            pkgs = read("/var/run/reboot-required.pkgs").split()
            reasons.append("存在 /var/run/reboot-required%s" % (("（%s）" % "，".join(pkgs[:5])) if pkgs else ""))
        needs = self.module.get_bin_path("needs-restarting")
        if needs and not self.module.get_bin_path("apt-get"):
            rc, out, err = self.run_cmd([needs, "-r"])
            if rc == 1:
                reasons.append("needs-restarting -r：%s" % out.strip().splitlines()[0] if out.strip() else "needs-restarting -r 返回 1")
        f.add("HOST-REBOOT-001", bool(reasons), "；".join(reasons) if reasons else "无需重启",
              outcome="required" if reasons else None)

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for the host collector: /proc files and package-manager output.

Every function takes text and returns plain data, so unit tests feed recorded outputs.
"""

from __future__ import annotations

import re

SECTOR = 512

PSEUDO_FS = frozenset((
    "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs", "tracefs", "securityfs",
    "pstore", "bpf", "autofs", "binfmt_misc", "configfs", "fusectl", "hugetlbfs", "nsfs",
    "devtmpfs", "rpc_pipefs", "squashfs", "efivarfs", "selinuxfs", "ramfs", "nfsd", "overlay_none",
    "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal",
))
PSEUDO_PREFIXES = ("/proc", "/sys", "/dev", "/run", "/var/lib/containers", "/var/lib/docker",
                   "/var/lib/kubelet", "/snap")


# -- CPU ---------------------------------------------------------------------------------

def parse_proc_stat(text):
    """{'cpu': [user, nice, system, idle, iowait, irq, softirq, steal], ...} plus 'procs_running'."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "cpu":
            out["cpu"] = [int(x) for x in parts[1:9]] + [0] * (8 - len(parts[1:9]))
        elif parts[0] in ("procs_running", "procs_blocked", "ctxt"):
            out[parts[0]] = int(parts[1])
    return out


def cpu_usage(first, second, own=(0, 0)):
    """CPU percentages between two parse_proc_stat() samples.

    ``own`` is the (user, system) ticks the inspection itself used in the interval; they count as
    idle, so the figure shows the host's load, not the inspection's.
    """
    a, b = first["cpu"], second["cpu"]
    delta = [max(0, y - x) for x, y in zip(a, b)]
    own_user = min(delta[0] + delta[1], max(0, own[0]))
    own_system = min(delta[2], max(0, own[1]))
    from_user = min(delta[0], own_user)
    delta[0] -= from_user
    delta[1] -= own_user - from_user  # a niced inspection's user time is counted as nice
    delta[2] -= own_system
    delta[3] += own_user + own_system
    total = sum(delta)
    if total <= 0:
        return {"used_pct": 0.0, "iowait_pct": 0.0, "steal_pct": 0.0, "system_pct": 0.0, "user_pct": 0.0}
    idle = delta[3] + delta[4]
    return {
        "used_pct": 100.0 * (total - idle) / total,
        "iowait_pct": 100.0 * delta[4] / total,
        "steal_pct": 100.0 * delta[7] / total,
        "system_pct": 100.0 * (delta[2] + delta[5] + delta[6]) / total,
        "user_pct": 100.0 * (delta[0] + delta[1]) / total,
    }


# -- memory and load ---------------------------------------------------------------------

def parse_meminfo(text):
    """Values of /proc/meminfo in bytes."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?", line)
        if m:
            out[m.group(1)] = int(m.group(2)) * (1024 if line.rstrip().endswith("kB") else 1)
    return out


def memory_usage(info):
    total = info.get("MemTotal", 0)
    avail = info.get("MemAvailable")
    if avail is None:
        avail = info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
    swap_total = info.get("SwapTotal", 0)
    swap_used = swap_total - info.get("SwapFree", 0)
    return {
        "total": total,
        "used": total - avail,
        "used_pct": 100.0 * (total - avail) / total if total else 0.0,
        "swap_total": swap_total,
        "swap_used": swap_used,
        "swap_pct": 100.0 * swap_used / swap_total if swap_total else 0.0,
    }


def parse_loadavg(text):
    parts = text.split()
    return float(parts[0]), float(parts[1]), float(parts[2])


# -- disks -------------------------------------------------------------------------------

def parse_diskstats(text, devices=None):
    """{device: (reads, sectors_read, writes, sectors_written, io_ms)} for whole devices.

    ``devices``: names to keep (e.g. from /sys/block); default drops partitions,
    loop and ram devices by name.
    """
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 14:
            continue
        name = parts[2]
        if devices is not None:
            if name not in devices:
                continue
        elif re.match(r"^(loop|ram|zram|sr|fd)\d*", name) or re.match(r"^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$", name) \
                or re.match(r"^(nvme\d+n\d+|mmcblk\d+)p\d+$", name):
            continue
        if name.startswith(("loop", "ram", "zram")):
            continue
        out[name] = (int(parts[3]), int(parts[5]), int(parts[7]), int(parts[9]), int(parts[12]))
    return out


def _counter_deltas(first, second):
    """(name, second sample, per-counter increase) for names in both samples; a counter that
    went backwards (reset, device re-added) counts as 0."""
    for name, b in second.items():
        a = first.get(name)
        if a is not None:
            yield name, b, [max(0, y - x) for x, y in zip(a, b)]


def disk_rates(first, second, seconds):
    """Per device: read/write bytes per second, IOPS and utilisation % between two samples."""
    out = {}
    if seconds <= 0:
        return out
    for name, _, (reads, rsec, writes, wsec, io_ms) in _counter_deltas(first, second):
        out[name] = {
            "read_bps": rsec * SECTOR / seconds,
            "write_bps": wsec * SECTOR / seconds,
            "iops": (reads + writes) / seconds,
            "util_pct": min(100.0, io_ms / (seconds * 10.0)),
        }
    return out


# -- network -----------------------------------------------------------------------------

def parse_net_dev(text):
    """{iface: (rx_bytes, rx_errs, rx_drop, tx_bytes, tx_errs, tx_drop)}."""
    out = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        name, data = line.split(":", 1)
        name = name.strip()
        fields = data.split()
        if len(fields) < 16 or name == "lo":
            continue
        out[name] = (int(fields[0]), int(fields[2]), int(fields[3]),
                     int(fields[8]), int(fields[10]), int(fields[11]))
    return out


def net_rates(first, second, seconds):
    out = {}
    if seconds <= 0:
        return out
    for name, b, (rx, rxe, rxd, tx, txe, txd) in _counter_deltas(first, second):
        out[name] = {
            "rx_bps": rx / seconds,
            "tx_bps": tx / seconds,
            "err_rate": (rxe + txe) / seconds,
            "drop_rate": (rxd + txd) / seconds,
            "errors_total": b[1] + b[4],
            "drops_total": b[2] + b[5],
        }
    return out


# -- filesystems -------------------------------------------------------------------------

def _unescape_mount(path):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def parse_mounts(text, exclude=()):
    """[(device, mountpoint, fstype)] of real filesystems from /proc/mounts, de-duplicated."""
    seen = set()
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        dev, mnt, fstype = parts[0], _unescape_mount(parts[1]), parts[2]
        if fstype in PSEUDO_FS or mnt in seen or mnt in exclude:
            continue
        if any(mnt == p or mnt.startswith(p + "/") for p in PSEUDO_PREFIXES):
            continue
        seen.add(mnt)
        out.append((dev, mnt, fstype))
    return out


def fs_usage(st):
    """Usage from an os.statvfs() result (like df: used / (used + available))."""
    size = st.f_blocks * st.f_frsize
    free = st.f_bfree * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    used = size - free
    denom = used + avail
    inodes_used = st.f_files - st.f_ffree
    return {
        "size": size,
        "used": used,
        "avail": avail,
        "used_pct": 100.0 * used / denom if denom else 0.0,
        "inodes_total": st.f_files,
        "inodes_used": inodes_used,
        "inode_pct": 100.0 * inodes_used / st.f_files if st.f_files else 0.0,
    }


# -- processes and sockets ---------------------------------------------------------------

def parse_pid_stat(text):
    """(comm, the fields after it) of a /proc/PID/stat line: fields[0] is the state, fields[1] the
    parent pid, fields[11:15] utime, stime, cutime, cstime and fields[19] the start time, in clock
    ticks (proc(5)). ``comm`` may hold spaces and parentheses: it ends at the last ')'."""
    lpar, rpar = text.find("("), text.rfind(")")
    if lpar < 0 or rpar < lpar:
        raise ValueError("not a /proc/PID/stat line")
    return text[lpar + 1:rpar], text[rpar + 2:].split()


def parse_proc_net_tcp(text):
    """Listening TCP ports (set of int) from /proc/net/tcp or tcp6."""
    ports = set()
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4 or parts[3] != "0A":
            continue
        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def parse_proc_net_udp(text):
    """Bound UDP ports with no remote peer (state 07) from /proc/net/udp or udp6."""
    ports = set()
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4 or parts[3] != "07":
            continue
        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


# -- package managers --------------------------------------------------------------------

_APT_INST = re.compile(r"^Inst (\S+) \[([^\]]+)\] \((\S+) (.*?)(?: \[[^\]]+\])?\)")


def parse_apt_simulate(text):
    """Upgrades from ``apt-get -s dist-upgrade``: [{name, current, candidate, origins, security}].

    Only ``Inst`` lines with a current version (``[old]``) are upgrades; new dependencies
    have none. An origin containing ``-security`` (Debian-Security:12/stable-security,
    Ubuntu:22.04/jammy-security) marks a security update.
    """
    out = []
    for line in text.splitlines():
        m = _APT_INST.match(line)
        if not m:
            continue
        origins = [o.strip() for o in m.group(4).split(",") if o.strip()]
        out.append({
            "name": m.group(1),
            "current": m.group(2),
            "candidate": m.group(3),
            "origins": origins,
            "security": any("-security" in o.lower() or "security" in o.lower().split(":")[0] for o in origins),
        })
    return out


_DNF_PKG = re.compile(r"^(\S+)\.(\w+)\s+(\S+)\s+(\S+)\s*$")


def parse_dnf_check_update(text):
    """Updates from ``dnf -q check-update`` / ``yum -q check-update`` (exit code 100).

    Lines are ``name.arch  version-release  repo``; a long name can wrap the rest to the
    next line. Stops at the ``Obsoleting Packages`` section.
    """
    out = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            pending = ""
            continue
        if line.startswith(("Obsoleting Packages", "Security:")):
            break
        if line.startswith(("Last metadata expiration", "Loaded plugins", "Loading mirror", " * ")):
            continue
        candidate = (pending + " " + line.strip()) if pending else line.strip()
        m = _DNF_PKG.match(candidate)
        if m:
            out.append({"name": m.group(1), "arch": m.group(2), "candidate": m.group(3), "repo": m.group(4)})
            pending = ""
        elif len(candidate.split()) < 3 and "." in candidate.split()[0]:
            pending = candidate
        else:
            pending = ""
    return out


_DNF_ADVISORY = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s*$")


def parse_dnf_updateinfo(text):
    """Security advisories from ``dnf -q updateinfo list --security`` or
    ``yum -q updateinfo list security``: [{advisory, severity, package}].

    dnf prints ``RHSA-2024:1234 Important/Sec. openssl-1:3.0.7-25.el9_3.x86_64``;
    yum prints ``RHSA-2024:1234 Important/Sec. openssl-1.0.2k-26.el7_9.x86_64``.
    """
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("Last metadata", "Loaded plugins", "updateinfo list", "Updating")):
            continue
        m = _DNF_ADVISORY.match(line)
        if not m or "/" not in m.group(2) and not m.group(2).lower().startswith(("sec", "important", "critical", "moderate", "low")):
            continue
        out.append({"advisory": m.group(1), "severity": m.group(2).split("/")[0], "package": m.group(3)})
    return out


def split_nevra(nevra):
    """Package name of a ``name-[epoch:]version-release.arch`` string."""
    base = nevra.rsplit(".", 1)[0] if "." in nevra else nevra
    parts = base.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else base


# -- first reading of a sampling interval (yunwei.ops.host_sample) -------------------------

COUNTER_FILES = ("/proc/uptime", "/proc/sys/kernel/random/boot_id", "/proc/stat", "/proc/diskstats", "/proc/net/dev")
COUNTER_SEPARATOR = "--yunwei-counters--"
# one shell command, no Python on the host: the files above, separated by COUNTER_SEPARATOR lines
COUNTER_COMMAND = ("; echo %s; " % COUNTER_SEPARATOR).join("cat %s 2>/dev/null" % f for f in COUNTER_FILES)


def parse_counters(text):
    """The output of COUNTER_COMMAND (or the same files joined the same way) as a sample:
    {'boot': /proc/uptime, 'boot_id': the kernel's boot id, 'stat': parse_proc_stat,
    'disk': parse_diskstats, 'net': parse_net_dev}.
    Raises ValueError when the output is not that of COUNTER_COMMAND."""
    parts = [p.strip("\n") for p in text.split(COUNTER_SEPARATOR)]
    if len(parts) != len(COUNTER_FILES):
        raise ValueError("expected %d sections, got %d" % (len(COUNTER_FILES), len(parts)))
    uptime, boot_id, stat, disk, net = parts
    sample = {"boot": float(uptime.split()[0]), "boot_id": boot_id.strip(), "stat": parse_proc_stat(stat),
              "disk": parse_diskstats(disk), "net": parse_net_dev(net)}
    if "cpu" not in sample["stat"]:
        raise ValueError("no cpu line in /proc/stat")
    return sample

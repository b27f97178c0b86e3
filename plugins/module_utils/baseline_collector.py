# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The baseline collector (yunwei.ops.baseline_audit): everything the 等保 baseline rules need from one
host, in one call, as facts. What is in force, read the way the service reads it: ``sshd -T``, the PAM
stacks with their includes, ``visudo -c`` and ``sudo -l -U`` per account, the loaded audit rules, an
interactive login shell's umask and TMOUT, logrotate's effective settings, /proc/sys.

It never judges and never returns a secret: /etc/shadow is reduced to whether a password is empty,
locked or set, and its ageing fields. The rules are judged on the controller (yunwei.baseline.rules).
Each section is collected on its own: one that fails is reported in ``errors`` and its rules become
人工核查 (manual) with the reason, while the others still report.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import socket
import stat
import struct
import time

from ansible_collections.yunwei.ops.plugins.module_utils import baseline_probe as bp
from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp
from ansible_collections.yunwei.ops.plugins.module_utils.host_collector import kernel_time_sync

SYSCTLS = ("kernel.randomize_va_space", "fs.suid_dumpable", "net.ipv4.ip_forward",
           "net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.default.accept_redirects",
           "net.ipv4.conf.all.send_redirects", "net.ipv4.conf.all.accept_source_route",
           "net.ipv4.conf.all.secure_redirects", "net.ipv4.tcp_syncookies", "net.ipv4.conf.all.log_martians",
           "net.ipv6.conf.all.accept_redirects", "net.ipv6.conf.all.accept_source_route")
PAM_SERVICES = ("passwd", "sshd", "login", "su", "sudo")
ACCOUNT_FILES = ("/etc/passwd", "/etc/passwd-", "/etc/group", "/etc/group-", "/etc/shadow", "/etc/shadow-",
                 "/etc/gshadow", "/etc/gshadow-")
CRON_PATHS = ("/etc/crontab", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly", "/etc/cron.d")
TIME_DAEMONS = ("chronyd", "ntpd", "ntpsec", "systemd-timesyn", "openntpd", "timesyncd")
SYSLOG_DAEMONS = ("rsyslogd", "syslog-ng", "syslogd", "systemd-journal")
NETLINK_AUDIT = 9
AUDIT_GET = 1000
LIST_CAP = 200


def read(path, limit=None):
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit) if limit else fh.read()
        return data.decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def listdir(path):
    try:
        return os.listdir(path)
    except (IOError, OSError):
        return []


def file_stat(path):
    """{uid, gid, mode (octal text), owner, group, type} of ``path`` (not following a final symlink), or None."""
    try:
        st = os.lstat(path)
    except (IOError, OSError):
        return None
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    kind = "dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "file"
    return {"uid": st.st_uid, "gid": st.st_gid, "mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": owner,
            "group": group, "type": kind}


def in_container():
    """'podman', 'docker', 'lxc', ... when this runs in a container, else ''."""
    if os.path.exists("/run/.containerenv"):
        return "podman"
    if os.path.exists("/.dockerenv"):
        return "docker"
    env = read("/proc/1/environ") or ""
    for item in env.split("\0"):
        if item.startswith("container="):
            return item.split("=", 1)[1] or "container"
    cgroup = read("/proc/1/cgroup") or ""
    for word in ("docker", "kubepods", "lxc", "libpod"):
        if word in cgroup:
            return word
    return ""


def kernel_audit_status():
    """The kernel audit subsystem through netlink (AUDIT_GET): {available, enabled, reason}. A container
    without CAP_AUDIT_CONTROL, or in a pid namespace, gets EPERM / ECONNREFUSED: not available."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    except (OSError, AttributeError, ValueError) as exc:
        return {"available": False, "enabled": None, "reason": "无法打开审计 netlink 套接字：%s" % exc}
    try:
        sock.settimeout(2.0)
        sock.bind((0, 0))
        sock.send(struct.pack("=LHHLL", 16, AUDIT_GET, 0x1 | 0x4, 1, 0))
        for _ in range(3):
            data = sock.recv(65536)
            if len(data) < 16:
                break
            _length, mtype = struct.unpack("=LH", data[:6])
            if mtype == 2:  # NLMSG_ERROR: 0 is the ACK
                err = struct.unpack("=i", data[16:20])[0]
                if err:
                    return {"available": False, "enabled": None,
                            "reason": "内核拒绝审计请求（%s）" % os.strerror(-err)}
                continue
            if mtype == AUDIT_GET and len(data) >= 24:
                enabled = struct.unpack("=LL", data[16:24])[1]
                return {"available": True, "enabled": enabled, "reason": ""}
        return {"available": False, "enabled": None, "reason": "内核未返回审计状态"}
    except (OSError, socket.timeout) as exc:
        return {"available": False, "enabled": None, "reason": "审计 netlink 请求失败：%s" % exc}
    finally:
        sock.close()


def listening_ports():
    """Listening TCP and bound UDP ports with the process holding each: [{proto, port, process}], sorted.
    Also what the network exposure check (yunwei.ops.vuln_scan) reads to name an unexpected port's owner."""
    inodes = {}
    listening = []
    for path, proto, udp in (("/proc/net/tcp", "tcp", False), ("/proc/net/tcp6", "tcp", False),
                             ("/proc/net/udp", "udp", True), ("/proc/net/udp6", "udp", True)):
        for port, inode in bp.proc_net_listeners(read(path) or "", udp):
            listening.append([proto, port, inode])
            inodes[inode] = ""
    if inodes:  # which process holds each socket
        for pid in listdir("/proc"):
            if not pid.isdigit():
                continue
            for fd in listdir("/proc/%s/fd" % pid):
                try:
                    target = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inode = int(target[8:-1])
                    if inode in inodes and not inodes[inode]:
                        inodes[inode] = (read("/proc/%s/comm" % pid) or "").strip()
    seen = set()
    out = []
    for proto, port, inode in listening:
        if (proto, port) not in seen:
            seen.add((proto, port))
            out.append({"proto": proto, "port": port, "process": inodes.get(inode, "")})
    return sorted(out, key=lambda x: (x["proto"], x["port"]))


class BaselineCollector(object):
    """Collects the facts; ``params``: the module's options."""

    def __init__(self, module, params=None):
        self.module = module
        self.p = module.params if params is None else params
        self.facts = {"errors": {}}
        self.timings = {}

    def run_cmd(self, args, environ_update=None, **kw):
        env = {"LC_ALL": "C", "LANG": "C"}
        env.update(environ_update or {})
        return self.module.run_command(args, environ_update=env, **kw)

    def section(self, name, func):
        started = time.time()
        try:
            func()
        except Exception as exc:  # pylint: disable=broad-except
            self.facts["errors"][name] = "%s: %s" % (type(exc).__name__, exc)
        self.timings[name] = round(time.time() - started, 3)

    def collect(self):
        self.section("system", self.system)
        osv = (self.p.get("os_families") or {}).get(self.facts["os"]["family"])
        if osv is None:
            self.facts["errors"]["os"] = "操作系统 %s（ID %s）不在支持的系列中（%s）" % (
                self.facts["os"].get("pretty", "?"), self.facts["os"].get("id", "?"),
                ", ".join(sorted(self.p.get("os_families") or {})))
            osv = {}
        self.osv = osv
        for name in ("accounts", "login_defs", "pam", "shell", "sshd", "files", "sudo", "packages", "processes",
                     "audit", "logs", "time", "kernel", "mac", "ports", "integrity", "scan"):
            self.section(name, getattr(self, name))
        if self.p.get("updates", True):
            self.section("updates", self.updates)
        self.facts["timings"] = self.timings
        return self.facts

    # -- sections ---------------------------------------------------------------------------
    def system(self):
        release = bp.parse_os_release(read("/etc/os-release") or read("/usr/lib/os-release") or "")
        self.facts["os"] = {"id": release.get("ID", ""), "id_like": release.get("ID_LIKE", ""),
                            "version": release.get("VERSION_ID", ""), "pretty": release.get("PRETTY_NAME", ""),
                            "family": bp.os_family(release)}
        self.facts["container"] = in_container()
        comm1 = (read("/proc/1/comm") or "").strip()
        self.facts["systemd"] = comm1 == "systemd" or os.path.isdir("/run/systemd/system")
        self.facts["kernel_audit"] = kernel_audit_status()

    def accounts(self):
        users = bp.parse_passwd(read("/etc/passwd") or "")
        shadow_text = read("/etc/shadow")
        shadow = bp.parse_shadow(shadow_text or "")
        for u in users:
            u.update(shadow.get(u["name"], {"password": "none"}))
        self.facts["accounts"] = {"users": users, "groups": bp.parse_group(read("/etc/group") or ""),
                                  "shadow_readable": shadow_text is not None}
        self.facts["useradd"] = bp.parse_keyvalue(read("/etc/default/useradd") or "", "=")

    def login_defs(self):
        self.facts["login_defs"] = bp.parse_keyvalue(read("/etc/login.defs") or "")

    def pam(self):
        self.facts["pam"] = {s: bp.resolve_pam(s, read) for s in PAM_SERVICES}
        conf = {}
        for name in ("pwquality", "faillock", "pwhistory"):
            values = {}
            for path in ["/etc/security/%s.conf" % name] + sorted(glob.glob("/etc/security/%s.conf.d/*.conf" % name)):
                text = read(path)
                if text is not None:
                    values.update(bp.parse_keyvalue(text, "=", lower=True))
            conf[name] = values
        self.facts["pam_conf"] = conf

    def shell(self):
        """umask and TMOUT as an interactive login shell ends up with, for root and for an ordinary
        account (distributions set them by UID and group), plus where the startup files set them."""
        bash = self.module.get_bin_path("bash")
        probes = {}
        if bash:
            users = ["root"]
            probe_user = self.p.get("probe_user") or ""
            if probe_user and probe_user != "root":
                try:
                    pwd.getpwnam(probe_user)
                    users.append(probe_user)
                except KeyError:
                    pass
            runuser = self.module.get_bin_path("runuser", opt_dirs=["/usr/sbin", "/sbin"])
            for user in users:
                cmd = [bash, "-l", "-i", "-c", bp.ENV_PROBE]
                if user != "root":
                    if not runuser:
                        continue
                    cmd = [runuser, "-u", user, "--"] + cmd
                rc, out, err = self.run_cmd(cmd, environ_update={"HOME": "/", "TERM": "dumb", "LC_ALL": "C"},
                                            data="", check_rc=False)
                probes[user] = bp.parse_env_probe(out)
                probes[user]["rc"] = rc
        files = [p for p in ["/etc/profile"] + sorted(glob.glob("/etc/profile.d/*.sh")) + ["/etc/bash.bashrc", "/etc/bashrc"]
                 if os.path.isfile(p)]
        self.facts["shell"] = {"probes": probes,
                               "settings": bp.shell_settings([(p, read(p) or "") for p in files])}

    def sshd(self):
        sshd_bin = self.module.get_bin_path("sshd", opt_dirs=["/usr/sbin", "/sbin"])
        out = {"installed": bool(sshd_bin), "config": {}, "error": ""}
        if sshd_bin:
            if not os.path.isdir("/run/sshd") and os.path.isdir("/run"):
                out["error_hint"] = "/run/sshd 不存在"
            rc, stdout, stderr = self.run_cmd([sshd_bin, "-T", "-C", "user=root,host=localhost,addr=127.0.0.1"])
            if rc == 0:
                out["config"] = bp.parse_sshd_t(stdout)
            else:
                out["error"] = (stderr or stdout).strip()[:500]
        main = self.osv.get("sshd_config", "/etc/ssh/sshd_config")
        dropin = self.osv.get("sshd_dropin_dir", "/etc/ssh/sshd_config.d")
        out["main"] = main
        out["dropin_dir"] = dropin
        out["first_include"] = bp.sshd_first_include(read(main) or "", dropin)
        out["files"] = {p: file_stat(p) for p in [main] + sorted(glob.glob(os.path.join(dropin, "*")))}
        out["hostkeys"] = {p: file_stat(p) for p in out["config"].get("hostkey", [])}
        banner = (out["config"].get("banner") or ["none"])[0]
        out["banner"] = {"path": banner, "text": (read(banner, 2000) if banner not in ("none", "") else None)}
        allow = [bp.parse_hosts_access(read(p) or "") for p in ("/etc/hosts.allow", "/etc/hosts.deny")]
        out["hosts_allow"], out["hosts_deny"] = allow
        self.facts["sshd"] = out

    def files(self):
        paths = list(ACCOUNT_FILES) + list(CRON_PATHS) + ["/var/log/audit"] + list(self.osv.get("log_files", []))
        found = {p: file_stat(p) for p in paths}
        for p in glob.glob("/var/log/audit/*"):
            found[p] = file_stat(p)
        self.facts["files"] = found

    def sudo(self):
        visudo = self.module.get_bin_path("visudo", opt_dirs=["/usr/sbin", "/sbin"])
        sudo = self.module.get_bin_path("sudo")
        out = {"installed": bool(visudo and sudo), "files": {}, "grants": {}}
        if visudo:
            rc, stdout, stderr = self.run_cmd([visudo, "-c"])
            out["visudo_rc"] = rc
            out["visudo"] = (stdout + stderr).strip()[:1000]
            out["files"] = {p: file_stat(p) for p in bp.parse_visudo(stdout) or ["/etc/sudoers"]}
            out["lines"] = [dict(line, file=p) for p in out["files"] for line in bp.sudoers_nopasswd_lines(read(p) or "")]
        if sudo:
            for u in self.facts.get("accounts", {}).get("users", []):
                if u["login"] and u["name"] != "root":
                    rc, stdout, stderr = self.run_cmd([sudo, "-n", "-l", "-U", u["name"]])
                    out["grants"][u["name"]] = bp.parse_sudo_list(stdout if rc == 0 else "")
        self.facts["sudo"] = out

    def packages(self):
        names = sorted(set(n for key, value in self.osv.items() if key.endswith("_packages") and isinstance(value, list)
                           for n in value))
        found = {}
        if names:
            dpkg = self.module.get_bin_path("dpkg-query")
            rpm = self.module.get_bin_path("rpm")
            if dpkg:
                rc, stdout, _ = self.run_cmd([dpkg, "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Version}\n"] + names)
                for line in stdout.splitlines():
                    parts = line.split("\t")
                    if len(parts) == 3 and parts[1].startswith("ii"):
                        found[parts[0].split(":")[0]] = parts[2]
            elif rpm:
                rc, stdout, _ = self.run_cmd([rpm, "-q", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"] + names)
                for line in stdout.splitlines():
                    parts = line.split("\t")
                    if len(parts) == 2 and " " not in parts[0]:
                        found[parts[0]] = parts[1]
            else:
                raise RuntimeError("neither dpkg-query nor rpm found")
        self.facts["packages"] = found

    def processes(self):
        names = set()
        for pid in listdir("/proc"):
            if pid.isdigit():
                comm = read("/proc/%s/comm" % pid)
                if comm:
                    names.add(comm.strip())
        self.facts["processes"] = sorted(names)

    def audit(self):
        out = {"loaded": None, "file": None, "source": ""}
        auditctl = self.module.get_bin_path("auditctl", opt_dirs=["/usr/sbin", "/sbin"])
        if self.facts.get("kernel_audit", {}).get("available") and auditctl:
            rc, stdout, stderr = self.run_cmd([auditctl, "-l"])
            if rc == 0:
                out["loaded"] = bp.parse_audit_rules(stdout)
                out["source"] = "auditctl -l"
        compiled = read(self.osv.get("audit_rules_file", "/etc/audit/audit.rules"))
        if compiled is not None:
            out["file"] = bp.parse_audit_rules(compiled)
        conf = read(self.osv.get("auditd_conf", "/etc/audit/auditd.conf"))
        out["auditd_conf"] = bp.parse_keyvalue(conf, "=", lower=True) if conf is not None else None
        self.facts["audit"] = out

    def logs(self):
        main = self.osv.get("logrotate_conf", "/etc/logrotate.conf")
        state = bp.parse_logrotate(main, read, listdir) if os.path.exists(main) else {"global": {}, "logs": {}}
        logs = {}
        for path in self.osv.get("syslog_logs", []):
            logs[path] = {"exists": os.path.exists(path), "rotate": state["logs"].get(path),
                          "days": bp.retention_days(state["logs"].get(path)) if path in state["logs"] else None,
                          "configured": path in state["logs"]}
        journald = bp.parse_keyvalue(read("/etc/systemd/journald.conf") or "", "=")
        self.facts["logs"] = {"logrotate_present": os.path.exists(main), "files": logs,
                              "journald": {"persistent": os.path.isdir("/var/log/journal"),
                                           "max_retention": journald.get("MaxRetentionSec", "")}}

    def time(self):
        servers = []
        for path in self.osv.get("time_configs", []):
            text = read(path)
            if text is not None:
                servers += bp.chrony_servers(text)
                for d in ("sourcedir", "confdir"):
                    for line in text.splitlines():
                        if line.startswith(d + " "):
                            for f in glob.glob(os.path.join(line.split()[1], "*")):
                                servers += bp.chrony_servers(read(f) or "")
        timesyncd = bp.parse_keyvalue(read("/etc/systemd/timesyncd.conf") or "", "=")
        if timesyncd.get("NTP"):
            servers += timesyncd["NTP"].split()
        sync = kernel_time_sync()
        self.facts["time"] = {"servers": servers, "synced": None if sync is None else sync[0]}

    def kernel(self):
        values = {}
        for name in SYSCTLS:
            text = read("/proc/sys/" + name.replace(".", "/"))
            values[name] = text.strip() if text is not None else None
        files = [(p, read(p) or "") for p in ["/etc/security/limits.conf"] + sorted(glob.glob("/etc/security/limits.d/*.conf"))]
        self.facts["kernel"] = {"sysctl": values, "core_limits": bp.parse_limits_core(files)}

    def mac(self):
        selinux = {"present": os.path.isdir("/sys/fs/selinux"), "enforce": (read("/sys/fs/selinux/enforce") or "").strip(),
                   "config": bp.parse_keyvalue(read("/etc/selinux/config") or "", "=").get("SELINUX", "")}
        apparmor = {"enabled": (read("/sys/module/apparmor/parameters/enabled") or "").strip(),
                    "profiles": bp.parse_apparmor_profiles(read("/sys/kernel/security/apparmor/profiles") or "")}
        self.facts["mac"] = {"selinux": selinux, "apparmor": apparmor}

    def ports(self):
        self.facts["ports"] = listening_ports()

    def integrity(self):
        dbs = {p: (os.path.getmtime(p) if os.path.exists(p) else None) for p in self.osv.get("aide_db", [])}
        schedules = [p for p in self.osv.get("aide_schedules", []) if os.path.exists(p)]
        clam = [os.path.getmtime(p) for p in glob.glob("/var/lib/clamav/*.c[lv]d")]
        self.facts["integrity"] = {"aide_db": dbs, "aide_schedules": schedules,
                                   "clamav_db": max(clam) if clam else None}

    def scan(self):
        """One walk over the system paths: files and directories writable by others, files without a
        known owner or group, setuid and setgid programs. Local filesystems only (pseudo and remote
        filesystems are skipped), symlinks not followed, bounded by scan_max_files."""
        skip_fs = {}
        for line in (read("/proc/self/mountinfo") or "").splitlines():
            parts = line.split(" - ")
            if len(parts) != 2:
                continue
            left, right = parts[0].split(), parts[1].split()
            if len(left) > 4 and right:
                fstype = right[0]
                if fstype in hp.PSEUDO_FS or fstype.split(".")[0] in ("nfs", "nfs4", "cifs", "smb3", "fuse", "9p",
                                                                      "ceph", "glusterfs", "tmpfs", "devtmpfs"):
                    skip_fs[left[4].replace("\\040", " ")] = fstype
        users = self.facts.get("accounts", {})
        uids = set(u["uid"] for u in users.get("users", []))
        gids = set(g["gid"] for g in users.get("groups", []))
        exclude = set(p.rstrip("/") for p in self.p.get("scan_exclude") or [])
        limit = int(self.p.get("scan_max_files") or 0)
        ww, unowned, setuid = [], [], []
        counts = {"world_writable": 0, "unowned": 0, "files": 0}
        truncated = False
        stack = [p.rstrip("/") or "/" for p in self.p.get("scan_paths") or [] if os.path.isdir(p)]
        seen_dirs = set()
        while stack:
            top = stack.pop()
            if top in exclude or top in skip_fs or top.startswith(hp.PSEUDO_PREFIXES):
                continue
            try:
                st_top = os.stat(top)
                if (st_top.st_dev, st_top.st_ino) in seen_dirs:
                    continue
                seen_dirs.add((st_top.st_dev, st_top.st_ino))
                entries = list(os.scandir(top))
            except OSError:
                continue
            for e in entries:
                counts["files"] += 1
                if limit and counts["files"] > limit:
                    truncated = True
                    stack = []
                    break
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                mode = st.st_mode
                if stat.S_ISLNK(mode):
                    continue
                is_dir = stat.S_ISDIR(mode)
                if mode & 0o002 and (not is_dir or not mode & 0o1000) and (is_dir or stat.S_ISREG(mode)):
                    counts["world_writable"] += 1
                    if len(ww) < LIST_CAP:
                        ww.append(e.path + ("/" if is_dir else ""))
                if (uids and st.st_uid not in uids) or (gids and st.st_gid not in gids):
                    counts["unowned"] += 1
                    if len(unowned) < LIST_CAP:
                        unowned.append("%s（uid %d，gid %d）" % (e.path, st.st_uid, st.st_gid))
                if stat.S_ISREG(mode) and mode & 0o6000 and mode & 0o111:
                    setuid.append(e.path)
                if is_dir and e.path not in exclude:
                    stack.append(e.path)
        self.facts["scan"] = {"world_writable": sorted(ww), "unowned": sorted(unowned), "setuid": sorted(setuid),
                              "counts": counts, "truncated": truncated, "paths": self.p.get("scan_paths") or [],
                              "skipped_fs": sorted(skip_fs)}

    def updates(self):
        apt = self.module.get_bin_path("apt-get")
        dnf = self.module.get_bin_path("dnf") or self.module.get_bin_path("yum")
        out = {"tool": "", "security": [], "pending": None, "error": "", "lists_age": None}
        if apt:
            out["tool"] = "apt"
            rc, stdout, stderr = self.run_cmd([apt, "-s", "-q", "-o", "Debug::NoLocking=true",
                                               "-o", "APT::Get::Show-User-Simulation-Note=false", "dist-upgrade"])
            if rc == 0:
                ups = hp.parse_apt_simulate(stdout)
                out["pending"] = len(ups)
                out["security"] = [{"name": u["name"], "current": u["current"], "candidate": u["candidate"]}
                                   for u in ups if u["security"]]
                lists = glob.glob("/var/lib/apt/lists/*Packages*")
                if lists:
                    out["lists_age"] = round(time.time() - max(os.path.getmtime(p) for p in lists))
            else:
                out["error"] = (stderr or stdout).strip()[:300]
        elif dnf:
            out["tool"] = os.path.basename(dnf)
            args = [dnf, "-q", "-C", "updateinfo", "list", "--security"] if out["tool"] == "dnf" else \
                [dnf, "-q", "-C", "updateinfo", "list", "security"]
            rc, stdout, stderr = self.run_cmd(args)
            if rc == 0:
                names = sorted(set(hp.split_nevra(a["package"]) for a in hp.parse_dnf_updateinfo(stdout)))
                out["security"] = [{"name": n, "current": "", "candidate": ""} for n in names]
                out["pending"] = len(names)
            else:
                out["error"] = (stderr or stdout).strip()[:300]
        else:
            out["error"] = "未找到 apt-get/dnf/yum"
        self.facts["updates"] = out

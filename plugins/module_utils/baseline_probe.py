# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of the baseline collector: configuration files and command output as the services
read them (sshd -T, PAM stacks with their includes, login.defs, sudo -l, audit rules, logrotate).

Every function takes text (or a reader of files) and returns plain data, so unit tests feed recorded
files of Debian, RHEL, Kylin and openEuler hosts. Nothing here judges: yunwei.baseline.rules does,
on the controller.
"""

from __future__ import annotations

import os
import re
import shlex

PAM_TYPES = ("auth", "account", "password", "session")


# -- key/value files ---------------------------------------------------------------------

def parse_keyvalue(text, sep=None, lower=False):
    """``KEY VALUE`` (sep None: whitespace) or ``key = value`` lines; comments (#) and blanks skipped;
    a later line wins. A bare word (faillock.conf's ``even_deny_root``) maps to ''."""
    out = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if sep is None:
            parts = line.split(None, 1)
        else:
            parts = [p.strip() for p in line.split(sep, 1)]
        key = parts[0].lower() if lower else parts[0]
        out[key] = parts[1].strip().strip('"') if len(parts) > 1 else ""
    return out


def parse_os_release(text):
    return {k: v.strip('"\'') for k, v in parse_keyvalue(text, "=").items()}


def os_family(release):
    """Debian, RedHat, Kylin or openEuler from /etc/os-release ({ID, ID_LIKE}); '' when unknown."""
    ids = [release.get("ID", "").lower()] + release.get("ID_LIKE", "").lower().split()
    if any("kylin" in i for i in ids):
        return "Kylin"
    if "openeuler" in ids:
        return "openEuler"
    if "debian" in ids or "ubuntu" in ids:
        return "Debian"
    if any(i in ("rhel", "centos", "fedora", "rocky", "almalinux", "ol", "anolis", "redhat") for i in ids):
        return "RedHat"
    return ""


# -- accounts ----------------------------------------------------------------------------

def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


NOLOGIN = re.compile(r"(^|/)(nologin|false|sync|shutdown|halt)$")


def parse_passwd(text):
    users = []
    for line in text.splitlines():
        f = line.split(":")
        if len(f) < 7 or not f[0] or line.startswith(("#", "+", "-")):
            continue
        shell = f[6].strip()
        users.append({"name": f[0], "uid": _int(f[2]), "gid": _int(f[3]), "home": f[5], "shell": shell,
                      "login": bool(shell) and not NOLOGIN.search(shell)})
    return users


def password_state(field):
    """What a shadow password field is, never the hash: empty, locked (!, *, !!, !$hash) or hash."""
    if field == "":
        return "empty"
    if field.startswith(("!", "*")) or field in ("x", "LK", "NP"):
        return "locked"
    return "hash"


def parse_shadow(text):
    """{name: {password: empty|locked|hash, lastchg, min, max, warn, inactive, expire}} (no hash kept)."""
    out = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) < 8 or not f[0]:
            continue
        out[f[0]] = {"password": password_state(f[1]), "lastchg": _int(f[2]), "min": _int(f[3]), "max": _int(f[4]),
                     "warn": _int(f[5]), "inactive": _int(f[6]), "expire": _int(f[7])}
    return out


def parse_group(text):
    groups = []
    for line in text.splitlines():
        f = line.split(":")
        if len(f) < 4 or not f[0] or line.startswith(("#", "+", "-")):
            continue
        groups.append({"name": f[0], "gid": _int(f[2]), "members": [m for m in f[3].split(",") if m]})
    return groups


# -- sshd -T ----------------------------------------------------------------------------

def parse_sshd_t(text):
    """``sshd -T`` output -> {keyword: [values]} (keywords lower case, as sshd prints them)."""
    out = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if not parts:
            continue
        out.setdefault(parts[0].lower(), []).append(parts[1] if len(parts) > 1 else "")
    return out


def sshd_first_include(text, dropin_dir):
    """True when the first directive of sshd_config is an Include of ``dropin_dir`` (Debian 12, RHEL 9):
    its drop-ins are read before the main file, and sshd keeps the first value of a keyword."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        return words[0].lower() == "include" and any(w.startswith(dropin_dir.rstrip("/") + "/") for w in words[1:])
    return False


# -- PAM ----------------------------------------------------------------------------------

def _pam_words(line):
    """Split a PAM line; a control in brackets ([success=1 default=ignore]) stays one word."""
    words, buf, depth = [], "", 0
    for ch in line:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch.isspace() and depth == 0:
            if buf:
                words.append(buf)
                buf = ""
        else:
            buf += ch
    if buf:
        words.append(buf)
    return words


def pam_lines(text):
    """The logical lines of a PAM file (comments dropped, backslash continuations joined)."""
    out, cont = [], ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.endswith("\\"):
            cont += line[:-1] + " "
            continue
        line = (cont + line).strip()
        cont = ""
        if line:
            out.append(line)
    return out


def resolve_pam(service, read, pam_dir="/etc/pam.d", depth=0, only=None):
    """The stack of ``service`` as libpam builds it: {type: [{control, module, args, file}]}, with
    ``@include``, ``include`` and ``substack`` followed (``only`` restricts an include to one type).
    ``read(path)`` returns the file's text or None. A missing service falls back to ``other``."""
    stack = {t: [] for t in PAM_TYPES}
    path = os.path.join(pam_dir, service)
    text = read(path)
    if text is None and depth == 0:
        path = os.path.join(pam_dir, "other")
        text = read(path)
    if text is None or depth > 8:
        return stack
    for line in pam_lines(text):
        words = _pam_words(line)
        if words[0] == "@include" and len(words) > 1:
            sub = resolve_pam(words[1], read, pam_dir, depth + 1, only)
            for t in PAM_TYPES:
                stack[t].extend(sub[t])
            continue
        if len(words) < 3:
            continue
        ptype = words[0].lstrip("-").lower()
        if ptype not in PAM_TYPES or (only and ptype != only):
            continue
        control, module = words[1], words[2]
        if control in ("include", "substack"):
            sub = resolve_pam(module, read, pam_dir, depth + 1, ptype)
            stack[ptype].extend(sub[ptype])
            continue
        stack[ptype].append({"control": control, "module": os.path.basename(module), "args": words[3:],
                             "file": path})
    return stack


def pam_args(args):
    """Module arguments ['minlen=8', 'enforce_for_root'] -> {'minlen': '8', 'enforce_for_root': ''}."""
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        out[k.strip().lower()] = v.strip()
    return out


# -- shells --------------------------------------------------------------------------------

ENV_PROBE = 'umask; printf "TMOUT=%s\\n" "${TMOUT-unset}"; readonly -p 2>/dev/null | grep -w TMOUT; export -p | grep -w TMOUT'


def parse_env_probe(text):
    """Output of ENV_PROBE run by an interactive login shell -> {umask, tmout, readonly, exported}."""
    out = {"umask": None, "tmout": None, "readonly": False, "exported": False}
    for raw in text.splitlines():
        line = raw.strip()
        if re.fullmatch(r"[0-7]{3,4}", line) and out["umask"] is None:
            out["umask"] = line[-3:]
        elif line.startswith("TMOUT="):
            out["tmout"] = _int(line[6:])
        else:
            m = re.match(r"(?:declare|typeset)\s+-(\w+)\s+TMOUT\b", line)
            if m:
                out["readonly"] = out["readonly"] or "r" in m.group(1)
                out["exported"] = out["exported"] or "x" in m.group(1)
    return out


UMASK_LINE = re.compile(r"^\s*umask\s+(0?[0-7]{3})\b")


def shell_settings(files):
    """Where TMOUT and umask are set in login-shell startup files [(path, text)] -> [{file, line, what}]."""
    out = []
    for path, text in files:
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0]
            if "TMOUT" in line or UMASK_LINE.match(line):
                out.append({"file": path, "line": n, "text": line.strip()[:120]})
    return out


# -- sudo ----------------------------------------------------------------------------------

def parse_visudo(text):
    """``visudo -c`` output -> the files it parsed (sudoers and every include)."""
    files = []
    for line in text.splitlines():
        m = re.match(r"^(/\S+):\s+parsed OK", line.strip())
        if m:
            files.append(m.group(1))
    return files


def parse_sudo_list(text):
    """``sudo -l -U USER`` -> {no_auth: Defaults !authenticate, rules: [text], nopasswd_all: [text]}.

    A rule grants everything without a password when its tags include NOPASSWD (or authentication is
    off) and its command list includes ALL."""
    no_auth = bool(re.search(r"!authenticate\b", text))
    rules, nopasswd_all = [], []
    in_rules = False
    tag = ""
    for raw in text.splitlines():
        line = raw.strip()
        if "may run the following commands" in line:
            in_rules = True
            continue
        if not in_rules or not line:
            continue
        if line.startswith("("):  # (ALL : ALL) NOPASSWD: ALL   -- the runas part, then tags and commands
            rules.append(line)
            rest = line.split(")", 1)[1].strip() if ")" in line else line
            tags = re.findall(r"\b([A-Z_]+):", rest)
            tag = "NOPASSWD" if "NOPASSWD" in tags else ("PASSWD" if "PASSWD" in tags else tag if not tags else "")
            commands = re.sub(r"\b[A-Z_]+:\s*", "", rest)
            cmds = [c.strip() for c in commands.split(",")]
            if "ALL" in cmds and (no_auth or "NOPASSWD" in tags):
                nopasswd_all.append(line)
    return {"no_auth": no_auth, "rules": rules, "nopasswd_all": nopasswd_all}


def sudoers_nopasswd_lines(text):
    """Lines of a sudoers file that grant ALL with NOPASSWD: [{principal, line}] (comments, Defaults and
    alias definitions skipped; continuation lines joined)."""
    out, cont = [], ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith(("#include", "#includedir")) else ""
        if line.endswith("\\"):
            cont += line[:-1] + " "
            continue
        line, cont = (cont + line).strip(), ""
        if not line or line.split()[0] in ("Defaults", "User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias",
                                           "@include", "@includedir") or line.startswith("Defaults"):
            continue
        if "NOPASSWD" in line and re.search(r"(:|\))\s*ALL\s*(,|$)", line.split("NOPASSWD", 1)[1]):
            out.append({"principal": line.split()[0], "line": raw.strip()})
    return out


# -- audit -----------------------------------------------------------------------------------

def parse_audit_rules(text):
    """Audit rules (auditctl -l, or the compiled audit.rules) -> {watches: {path: perms}, exec_paths: set,
    execve_all: bool, lines: n}. A syscall rule with ``-F path=P -F perm=...`` counts as a watch of P."""
    watches, exec_paths = {}, set()
    execve_all = False
    n = 0
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith(("-D", "-b", "-f", "-e", "--backlog", "-r", "-i", "--loginuid")):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        n += 1
        if words[0] == "-w" and len(words) > 1:
            perms = ""
            if "-p" in words and words.index("-p") + 1 < len(words):
                perms = words[words.index("-p") + 1]
            watches[words[1].rstrip("/")] = watches.get(words[1].rstrip("/"), "") + (perms or "rwxa")
            continue
        fields = {}
        syscalls = []
        for i, w in enumerate(words):
            if w == "-F" and i + 1 < len(words):
                k, _, v = words[i + 1].partition("=")
                fields.setdefault(k.rstrip("!<>"), v)
            elif w == "-S" and i + 1 < len(words):
                syscalls.extend(words[i + 1].split(","))
        path = fields.get("path") or fields.get("dir")
        perm = fields.get("perm", "")
        if path and "x" in perm:
            exec_paths.add(path)
        if path and perm:
            watches[path.rstrip("/")] = watches.get(path.rstrip("/"), "") + perm
        if "execve" in syscalls and not path:  # every execution is recorded, privileged ones included
            execve_all = True
    return {"watches": watches, "exec_paths": sorted(exec_paths), "execve_all": execve_all, "lines": n}


# -- logrotate ---------------------------------------------------------------------------------

ROTATE_PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly")


def parse_logrotate(main, read, listdir):
    """logrotate's configuration as it reads it: the global directives of ``main`` and the files it
    includes, and for every log path named by a block its effective {rotate, period, maxage, size}.
    ``read(path)`` -> text or None; ``listdir(path)`` -> names (an include of a folder)."""
    state = {"global": {}, "logs": {}}

    def directives(lines, target):
        for line in lines:
            w = line.split()
            if not w:
                continue
            key = w[0].lower()
            if key in ROTATE_PERIODS:
                target["period"] = key
            elif key == "rotate" and len(w) > 1:
                target["rotate"] = _int(w[1])
            elif key == "maxage" and len(w) > 1:
                target["maxage"] = _int(w[1])
            elif key in ("size", "maxsize") and len(w) > 1:
                target["size"] = w[1]

    def parse(path, depth=0):
        text = read(path)
        if text is None or depth > 4:
            return
        lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        i = 0
        pending = []
        while i < len(lines):
            line = lines[i]
            if not line:
                i += 1
                continue
            if line.lower().startswith("include "):
                target = line.split(None, 1)[1].strip()
                if read(target) is not None:
                    parse(target, depth + 1)
                else:
                    for name in sorted(listdir(target)):
                        if not name.startswith(".") and not name.endswith(("~", ".dpkg-old", ".dpkg-dist", ".rpmsave",
                                                                          ".rpmnew", ".disabled")):
                            parse(os.path.join(target, name), depth + 1)
                i += 1
                continue
            if "{" in line:  # a block: the paths before it (possibly on earlier lines) and on this line
                head = line.split("{", 1)[0]
                pending += head.split()
                body, depth_b = [], 1
                i += 1
                script = False
                while i < len(lines) and depth_b:
                    ln = lines[i]
                    low = ln.lower()
                    if low in ("postrotate", "prerotate", "firstaction", "lastaction", "preremove"):
                        script = True
                    elif low == "endscript":
                        script = False
                    elif not script:
                        if "}" in ln:
                            depth_b -= 1
                        else:
                            body.append(ln)
                    i += 1
                block = dict(state["global"])
                directives(body, block)
                for p in pending:
                    state["logs"][p.strip('"')] = block
                pending = []
                continue
            if line.startswith("/") or line.startswith('"/'):
                pending += line.split()
            else:
                directives([line], state["global"])
            i += 1

    parse(main)
    return state


def retention_days(spec):
    """Days a rotated log is kept: rotate count x period, capped by maxage; None when it cannot tell."""
    if spec is None:
        return None
    days = {"hourly": 1 / 24.0, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}.get(spec.get("period"))
    rotate = spec.get("rotate")
    if rotate is None:
        rotate = 0  # logrotate's default: rotated logs are removed
    kept = None if days is None else rotate * days
    if spec.get("maxage") is not None:
        kept = spec["maxage"] if kept is None else min(kept, spec["maxage"])
    return kept


# -- /proc -------------------------------------------------------------------------------------

def proc_net_listeners(text, udp=False):
    """Listening sockets of /proc/net/tcp{,6} (state 0A) or bound udp sockets (state 07) -> [(port, inode)]."""
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        if parts[3] != ("07" if udp else "0A"):
            continue
        try:
            out.append((int(parts[1].rsplit(":", 1)[1], 16), int(parts[9])))
        except ValueError:
            continue
    return out


def parse_limits_core(files):
    """Hard core-size limits of limits.conf and limits.d: [(file, domain, value)]."""
    out = []
    for path, text in files:
        for raw in text.splitlines():
            w = raw.split("#", 1)[0].split()
            if len(w) >= 4 and w[2] == "core" and w[1] in ("hard", "-"):
                out.append((path, w[0], w[3]))
    return out


def parse_hosts_access(text):
    """Lines of hosts.allow / hosts.deny that name sshd (or ALL)."""
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and re.match(r"^(sshd|ALL)\b", line.split(":", 1)[0].strip()):
            out.append(line)
    return out


def parse_apparmor_profiles(text):
    """/sys/kernel/security/apparmor/profiles -> {enforce: n, complain: n}."""
    counts = {"enforce": 0, "complain": 0}
    for line in text.splitlines():
        m = re.search(r"\((\w+)\)\s*$", line)
        if m and m.group(1) in counts:
            counts[m.group(1)] += 1
    return counts


def chrony_servers(text):
    """server / pool / peer lines of chrony.conf or ntp.conf."""
    return [ln.split()[1] for ln in (l.split("#", 1)[0].strip() for l in text.splitlines())
            if ln and ln.split()[0] in ("server", "pool", "peer") and len(ln.split()) > 1]

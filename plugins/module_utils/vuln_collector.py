# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the vulnerability scan and the exposure check read on a host, in one call (yunwei.ops.vuln_scan):
the installed packages (dpkg status, reduced), the release, pending updates from the local package cache,
and the listening sockets with the process that holds each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import re

STATUS_FIELDS = ("Package", "Status", "Priority", "Section", "Architecture", "Multi-Arch", "Source", "Version",
                 "Provides", "Depends", "Pre-Depends")


def reduce_status(text):
    """The dpkg status stanzas of installed packages with the fields apt needs to build its cache
    (descriptions and conffiles dropped: about a quarter of the size over the wire)."""
    out = []
    for stanza in text.split("\n\n"):
        keep = []
        installed = False
        for line in stanza.splitlines():
            if not line or line[0] in " \t":
                continue
            key = line.split(":", 1)[0]
            if key in STATUS_FIELDS:
                keep.append(line)
                if key == "Status" and line.rstrip().endswith(" installed"):
                    installed = True
        if installed:
            out.append("\n".join(keep))
    return "\n\n".join(out) + "\n"


# -- privileged logins from the auth log (the daily security report) ----------------------------------

_MONTHS = dict((m, i) for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                             "Nov", "Dec"), start=1))
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+(\S+)\s+(.*)$")
_BSD = re.compile(r"^([A-Z][a-z]{2})\s+(\d{1,2}) (\d\d):(\d\d):(\d\d)\s+(\S+)\s+(.*)$")
_EVENTS = (
    ("ssh", True, re.compile(r"^sshd\[\d+\]: Accepted (\S+) for (\S+) from (\S+)")),
    ("ssh", False, re.compile(r"^sshd\[\d+\]: Failed (\S+) for (?:invalid user )?(\S+) from (\S+)")),
    ("ssh", False, re.compile(r"^sshd\[\d+\]: Invalid user (\S*) from (\S+)()")),
    ("sudo", False, re.compile(r"^sudo(?:\[\d+\])?: +(\S+) : (?:\d+ incorrect password attempts?|user NOT in sudoers)")),
    ("sudo", True, re.compile(r"^sudo(?:\[\d+\])?: +(\S+) : .*COMMAND=(.*)$")),
    ("su", False, re.compile(r"^su(?:\[\d+\])?: (?:FAILED SU|pam_unix\(su(?:-l)?:auth\): authentication failure).*?(?:ruser=(\S*))?")),
    ("su", True, re.compile(r"^su(?:\[\d+\])?: \(to (\S+)\) (\S+) on")),
)


def _program(command):
    """Only the program a sudo COMMAND= ran (its base name): the arguments may hold a password typed on the
    command line (mysql -pSECRET, env PGPASSWORD=...), and they would reach the journal and the client's
    daily report. None for Ansible's own become wrapper (yunwei's jobs), which is not an operator's login."""
    words = command.strip().split()
    if not words:
        return ""
    if "BECOME-SUCCESS-" in command:
        return None
    return words[0].rsplit("/", 1)[-1][:64]


def _time(line, year, tzoffset):
    m = _RFC3339.match(line)
    if m:
        raw = m.group(1).replace("Z", "+00:00")
        if re.search(r"[+-]\d\d\d\d$", raw):
            raw = raw[:-2] + ":" + raw[-2:]
        try:
            moment = datetime.datetime.fromisoformat(raw)
        except ValueError:
            return None, None
        if moment.tzinfo is None:
            return calendar.timegm(moment.timetuple()) - tzoffset, m.group(3)
        return moment.timestamp(), m.group(3)
    m = _BSD.match(line)
    if m and m.group(1) in _MONTHS:
        tup = (year, _MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), 0, 0, 0)
        return calendar.timegm(tup) - tzoffset, m.group(7)
    return None, None


def parse_auth_log(text, since, year, tzoffset=0, privileged=(), limit=500):
    """Login and privilege events after ``since`` (epoch) from auth.log text (RFC 3339 or traditional
    syslog time stamps; ``tzoffset``: the host's UTC offset in seconds, for stamps without a zone):
    [{time, kind ssh|sudo|su, ok, user, source, detail, privileged}]. ``privileged``: accounts that are
    administrators (root always is)."""
    out = []
    admins = set(privileged) | set(["root"])
    for line in text.splitlines():
        ts, rest = _time(line, year, tzoffset)
        if ts is None or ts < since:
            continue
        for kind, ok, rx in _EVENTS:
            m = rx.match(rest)
            if not m:
                continue
            g = m.groups()
            if kind == "ssh":
                user, source = (g[1], g[2]) if len(g) == 3 and rx.pattern.find("Invalid") < 0 else (g[0], g[1])
                detail = g[0] if rx.pattern.find("Invalid") < 0 else "invalid user"
                priv = user in admins
            elif kind == "sudo":
                detail = _program(g[1]) if ok and len(g) > 1 else "认证失败"
                if detail is None:
                    break
                user, source, priv = g[0], "", True
            else:
                user = (g[1] if ok else (g[0] or "")) or ""
                source, detail, priv = "", "su" + ((" 到 " + g[0]) if ok else " 失败"), True
            out.append({"time": ts, "kind": kind, "ok": ok, "user": user, "source": source, "detail": detail,
                        "privileged": bool(priv)})
            break
    return out[-limit:]

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Error-log scanning since a point in time: read a log backwards until older lines,
keep the error lines, group them by a normalised message."""

from __future__ import annotations

import calendar
import os
import re
import time

# nginx: "2026/11/25 07:46:06 [error] 123#123: *5 open() ... failed, client: 10.0.0.1, ..."
NGINX_LINE = re.compile(r"^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) \[(\w+)\] (.*)$")
NGINX_ERROR_LEVELS = frozenset(("error", "crit", "alert", "emerg"))

# PostgreSQL (Debian log_line_prefix '%m [%p] %q%u@%d '):
# "2026-11-25 07:46:06.123 UTC [321] app@appdb ERROR:  relation \"x\" does not exist"
PG_LINE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d+)?(?: ([A-Za-z][\w+-]*|[+-]\d+))? "
    r"\[\d+\][: ]?\s*(?:\S*@\S* )?(DEBUG\d?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|STATEMENT|DETAIL|HINT|CONTEXT):\s+(.*)$"
)
PG_ERROR_LEVELS = frozenset(("ERROR", "FATAL", "PANIC"))


def _epoch(fields, zone=None):
    parts = tuple(int(x) for x in fields) + (0, 0, -1)
    if zone in ("UTC", "GMT", "Z", "+00", "+0000"):
        return float(calendar.timegm(parts))
    return float(time.mktime(parts))


def parse_nginx_line(line):
    """(epoch, level, message) or None."""
    m = NGINX_LINE.match(line)
    if not m:
        return None
    return _epoch(m.groups()[:6]), m.group(7), m.group(8)


def parse_pg_line(line):
    m = PG_LINE.match(line)
    if not m:
        return None
    return _epoch(m.groups()[:6], m.group(7)), m.group(8), m.group(9)


_NORMALISE = (
    (re.compile(r"^\d+#\d+: "), ""),
    (re.compile(r"\*\d+ "), ""),
    (re.compile(r", client: [^,]+"), ""),
    (re.compile(r", server: [^,]+"), ""),
    (re.compile(r", (request|upstream|host|referrer): \"[^\"]*\""), ""),
    (re.compile(r"\b\d+\.\d+\.\d+\.\d+(:\d+)?\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-f]+\b"), "<hex>"),
    (re.compile(r"\b\d+\b"), "<n>"),
)


def normalise(message):
    """Message with variable parts removed, so that repeats group together."""
    for pattern, repl in _NORMALISE:
        message = pattern.sub(repl, message)
    return message.strip()[:200]


def read_lines_since(path, since, parse, block=65536, max_bytes=64 * 1024 * 1024):
    """Parsed lines of ``path`` with time >= since, oldest first, reading backwards.

    Lines that do not parse (continuations) are kept with the time of the line after them.
    Stops at the first parsed line older than ``since`` or after ``max_bytes``.
    """
    out = []
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        pos = fh.tell()
        tail = b""
        read = 0
        done = False
        while pos > 0 and not done and read < max_bytes:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step) + tail
            read += step
            lines = chunk.split(b"\n")
            tail = lines[0] if pos > 0 else b""
            body = lines[1:] if pos > 0 else lines
            for raw in reversed(body):
                if not raw.strip():
                    continue
                parsed = parse(raw.decode("utf-8", "replace"))
                if parsed is None:
                    continue
                if parsed[0] < since:
                    done = True
                    break
                out.append(parsed)
    out.reverse()
    return out


def scan_errors(path, since, kind="nginx", top=5):
    """{'lines': n, 'top': [(count, message)], 'first': epoch, 'last': epoch, 'levels': {...}}."""
    since = float(int(since))  # log times have whole seconds: never drop a line of the boundary second
    parse = parse_nginx_line if kind == "nginx" else parse_pg_line
    levels = NGINX_ERROR_LEVELS if kind == "nginx" else PG_ERROR_LEVELS
    counts = {}
    by_level = {}
    first = last = None
    total = 0
    for when, level, message in read_lines_since(path, since, parse):
        if level not in levels:
            continue
        total += 1
        by_level[level] = by_level.get(level, 0) + 1
        key = normalise(message)
        counts[key] = counts.get(key, 0) + 1
        first = when if first is None else first
        last = when
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"lines": total, "top": [[n, msg] for msg, n in ranked], "first": first, "last": last,
            "levels": by_level}

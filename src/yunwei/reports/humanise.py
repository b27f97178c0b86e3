"""Client text: values, units, thresholds and times as the client reads them (in Chinese).

The journal keeps raw values (bytes, bytes per second, seconds, days, English state words of the
collectors). Everything a report prints goes through here, so a document never shows
``100000 B/s``, ``0.01 d``, ``unsynchronised`` or a threshold without its direction.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any

# State words the collectors record as values (plugins/module_utils/*_collector.py) -> Chinese.
WORDS = {
    "ok": "正常", "running": "运行中", "stopped": "已停止", "accepting": "可连接", "down": "不可连接",
    "synchronised": "已同步", "synchronized": "已同步", "unsynchronised": "未同步", "unsynchronized": "未同步",
    "unknown": "未知", "unreadable": "无法读取", "unreachable": "不可达", "unavailable": "不可用",
    "error": "采集失败", "invalid": "无效", "missing": "缺失", "off": "未启用", "on": "已启用",
    "n/a": "不适用", "none": "无", "yes": "是", "no": "否", "true": "是", "false": "否",
    "query failed": "查询失败", "failed": "失败", "streaming": "流复制中", "timeout": "超时",
    "expired": "已过期", "present": "存在", "absent": "不存在", "primary": "主库", "standby": "备库",
    "replica": "备库", "not streaming": "未在流复制", "never": "从未", "failing": "失败",
}


# the backup repositories an instance names after its data set ('site/primary', 'appdb/offsite')
REPOSITORY_WORDS = {"primary": "备份存储", "offsite": "异地副本"}


def instance_text(instance: str) -> str:
    """The object of a check as the client reads it ('port 5432' -> '端口 5432', 'site/primary' ->
    'site/备份存储')."""
    text = (instance or "").strip()
    head, sep, last = text.rpartition("/")
    if sep and head and last.lower() in REPOSITORY_WORDS:
        return f"{head}/{REPOSITORY_WORDS[last.lower()]}"
    return WORDS.get(text.lower(), re.sub(r"^port (\d+)$", r"端口 \1", text))

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_RATE_UNITS = ("B/s", "KB/s", "MB/s", "GB/s", "TB/s")


def _fmt_num(x: float, nd: int = 2) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{nd}f}".rstrip("0").rstrip(".")


def _scaled(x: float, base: float, units: tuple[str, ...], nd: int) -> str:
    i = 0
    while abs(x) >= base and i < len(units) - 1:
        x /= base
        i += 1
    return f"{_fmt_num(x, nd if i else 0)} {units[i]}"


def bytes_text(n: float) -> str:
    """9978371 -> '9.52 MiB' (binary units, as df and the collectors count)."""
    return _scaled(float(n), 1024.0, _BYTE_UNITS, 2)


def rate_text(bps: float) -> str:
    """Bytes per second -> 'KB/s', 'MB/s' (decimal, as network rates are quoted)."""
    return _scaled(float(bps), 1000.0, _RATE_UNITS, 1)


def duration_text(seconds: float) -> str:
    """Seconds -> '850 毫秒', '12 秒', '5 分钟', '3.5 小时', '2 天 4 小时'."""
    s = float(seconds)
    if abs(s) < 1:
        return f"{_fmt_num(s * 1000, 0)} 毫秒"
    if abs(s) < 60:
        return f"{_fmt_num(s, 1)} 秒"
    if abs(s) < 3600:
        return f"{_fmt_num(s / 60, 1)} 分钟"
    if abs(s) < 86400:
        return f"{_fmt_num(s / 3600, 1)} 小时"
    days, rest = divmod(s, 86400)
    hours = round(rest / 3600)
    if hours == 24:
        days, hours = days + 1, 0
    return f"{int(days)} 天" + (f" {hours} 小时" if hours else "")


def days_text(days: float) -> str:
    """A number of days: '0.01 d' reads '约 14 分钟', 1.5 -> '1 天 12 小时', 80 -> '80 天'."""
    d = float(days)
    if abs(d) >= 10:
        return f"{_fmt_num(round(d), 0)} 天"
    return duration_text(d * 86400)


def word(value: Any) -> str | None:
    """The Chinese of a collector's state word, or None when ``value`` is not one."""
    if isinstance(value, str):
        return WORDS.get(value.strip().lower())
    return None


def value_text(value: Any, unit: str = "") -> str:
    """A check's value with a humanised unit; English state words in Chinese; None -> ''."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        w = word(value)
        if w is not None:
            return w
        try:
            value = float(value)
        except ValueError:
            return value
    x = float(value)
    if math.isnan(x) or math.isinf(x):
        return "—"
    u = (unit or "").strip()
    if u == "%":
        return f"{_fmt_num(x)}%"
    if u in ("B", "bytes"):
        return bytes_text(x)
    if u in ("B/s", "Bps"):
        return rate_text(x)
    if u in ("s", "sec"):
        return duration_text(x)
    if u == "ms":
        return f"{_fmt_num(x, 0 if x >= 10 else 1)} 毫秒"
    if u in ("d", "days"):
        return days_text(x)
    if u == "/s":
        return f"{_fmt_num(x)} 次/秒"
    return f"{_fmt_num(x)} {u}".strip()


def threshold_text(threshold: Any, unit: str = "") -> str:
    """``{warn: 85, crit: 95}`` -> '警告 ≥ 85%，严重 ≥ 95%'; a low-is-worse pair (warn > crit) gets ≤.

    Dynamic baselines (extra keys such as median/mad) read '动态基线'; anything else as text."""
    if threshold is None or threshold == "":
        return ""
    if isinstance(threshold, dict):
        warn, crit = threshold.get("warn"), threshold.get("crit")
        if warn is None and crit is None:
            return "动态基线" if threshold else ""
        low = isinstance(warn, (int, float)) and isinstance(crit, (int, float)) and warn > crit
        sign = "≤" if low else "≥"
        parts = []
        for label, v in (("警告", warn), ("严重", crit)):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                parts.append(f"{label} {sign} {value_text(v, unit)}")
        text = "，".join(parts)
        if any(k in threshold for k in ("median", "baseline", "mad")):
            text = "动态基线：" + text
        return text
    return str(threshold)


_ISO_UTC = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]00:?00)")


_STATE_WORD = re.compile(r"\b(" + "|".join(sorted((re.escape(w) for w in WORDS if len(w) > 3 and w.isalpha()),
                                                   key=len, reverse=True)) + r")\b", re.I)


def local_text(text: str, tz: Any) -> str:
    """Evidence for the client: UTC timestamps as local time with the zone named, the collectors'
    state words in Chinese."""
    return _STATE_WORD.sub(lambda m: WORDS[m[1].lower()], _utc_to_local(text, tz))


def _utc_to_local(text: str, tz: Any) -> str:
    def sub(m: re.Match[str]) -> str:
        t = datetime.fromisoformat(f"{m[1]}T{m[2]}:00+00:00").astimezone(tz)
        return f"{t:%Y-%m-%d %H:%M}（{zone_name(tz)}）"

    return _ISO_UTC.sub(sub, text or "")


def zone_name(tz: Any) -> str:
    key = getattr(tz, "key", None) or str(tz)
    return {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "Asia/Urumqi": "乌鲁木齐时间",
            "UTC": "协调世界时"}.get(key, key)


def local_time(moment: datetime | None, tz: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).strftime(fmt)


_ASCII_GROUP = re.compile(r"（([^（）]*)）")


def client_text(text: str) -> str:
    """Prose for the client: parenthesised command syntax or configuration keys are dropped
    ('安装更新（apt-get upgrade / dnf upgrade），先验证' -> '安装更新，先验证'); the full text stays in
    the XLSX annex for the operators."""
    def sub(m: re.Match[str]) -> str:
        inner = m[1]
        ascii_chars = sum(1 for ch in inner if ord(ch) < 128 and not ch.isspace())
        visible = sum(1 for ch in inner if not ch.isspace()) or 1
        if ascii_chars / visible >= 0.6 and re.search(r"[-_=/.:]|\b[a-z]+ [a-z-]+\b", inner):
            return ""
        return m[0]

    return _ASCII_GROUP.sub(sub, text or "")


def shorten(text: str, limit: int = 60) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def ascii_status_words(text: str) -> list[str]:
    """English state words left in client text (the tests assert this is empty)."""
    found = []
    for w in re.findall(r"[A-Za-z][A-Za-z/ ]*[A-Za-z]", text or ""):
        if w.lower() in WORDS and w.lower() not in ("on", "off", "n/a", "none", "no", "yes", "ok"):
            found.append(w)
    return found

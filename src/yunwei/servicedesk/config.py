"""The service desk's configuration: the graded clocks, the warning lead, the notification command.

It decides what counts as a breach and which command runs on the bastion, so it follows the trust
model of docs/runner.md: in admin mode it is the file ``service_desk:`` of /etc/yunwei/yunwei.yml
names (root-owned, checked like every admin file), else ``<root>/service-desk.yml`` (also required
root-owned), else the contract's defaults below; ``$YUNWEI_SERVICE_DESK`` is refused there. In lab
mode: ``$YUNWEI_SERVICE_DESK``, else ``<root>/service-desk.yml``, else the defaults. A malformed file
exits 2 naming the file and the key.

A grade's entry replaces its default entry; ``general`` gives every grade without a response clock
of its own one (一般问题 30 分钟内答复); ``channels.<channel>.<grade>`` adds or replaces clocks for
reports arriving on that channel (紧急热线故障 15 分钟内远程处理).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from yunwei.errors import InputError
from yunwei.servicedesk.model import CHANNELS, CLOCKS, GRADES

ENV_VAR = "YUNWEI_SERVICE_DESK"
FILE_NAME = "service-desk.yml"
MINUTE = 60.0
HOUR = 3600.0

# The contract's defaults (REQUIREMENTS.md; issue 17). 立即 (emergency) is read as one minute.
DEFAULT_GRADES: dict[str, dict[str, float]] = {
    "consult": {"response": 5 * MINUTE},
    "fault": {"handling": 15 * MINUTE},
    "emergency": {"response": 1 * MINUTE},
    "major": {"onsite": 2 * HOUR},
    "sec-normal": {"handling": 2 * HOUR},
    "sec-major": {"response": 15 * MINUTE},
}
DEFAULT_GENERAL: dict[str, float] = {"response": 30 * MINUTE}
DEFAULT_CHANNELS: dict[tuple[str, str], dict[str, float]] = {("hotline", "emergency"): {"handling": 15 * MINUTE}}
DEFAULT_WARN_BEFORE = 5 * MINUTE
DEFAULT_NOTIFY_TIMEOUT = 30.0
DEFAULT_SEVERITY = {"critical": "emergency", "error": "fault", "warning": "fault", "info": "consult"}
_TOP = {"grades", "general", "channels", "warn_before", "notify", "alerts"}
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*(d|h|m|min|s))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)")
_UNIT = {"d": 86400.0, "h": HOUR, "m": MINUTE, "min": MINUTE, "s": 1.0}


@dataclass(frozen=True)
class ServiceDeskConfig:
    source: str = "(defaults)"
    grades: dict[str, dict[str, float]] = field(default_factory=lambda: {g: dict(c) for g, c in DEFAULT_GRADES.items()})
    general: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_GENERAL))
    channels: dict[tuple[str, str], dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_CHANNELS.items()})
    warn_before: float = DEFAULT_WARN_BEFORE
    notify_command: tuple[str, ...] = ()
    notify_timeout: float = DEFAULT_NOTIFY_TIMEOUT
    severity_grades: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    default_alert_grade: str = "fault"

    def clocks_for(self, grade: str, channel: str = "") -> dict[str, float]:
        """Seconds per clock kind for a ticket of ``grade`` arriving on ``channel``."""
        out = dict(self.grades.get(grade, {}))
        for kind, seconds in self.general.items():
            out.setdefault(kind, seconds)
        out.update(self.channels.get((channel, grade), {}))
        return {k: out[k] for k in CLOCKS if k in out}

    def clock_table(self) -> list[dict[str, Any]]:
        """Per grade (and channel rule): the clocks, for documents and ``ticket clocks``."""
        rows = [{"grade": g, "channel": "", "clocks": self.clocks_for(g)} for g in GRADES]
        rows += [{"grade": g, "channel": ch, "clocks": self.clocks_for(g, ch)} for (ch, g) in sorted(self.channels)]
        return rows


def parse_duration(value: Any, src: str, key: str) -> float:
    """``5m``, ``2h``, ``1h30m``, ``90s``, ``1d`` -> seconds (> 0). A bare number is refused: say the unit."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise InputError(src, key, f"expected a duration with its unit (e.g. 5m, 2h, 1h30m), got {value!r}")
    text = value.strip().lower().replace(" ", "")
    if not _DURATION.match(text):
        raise InputError(src, key, f"expected a duration with its unit (e.g. 5m, 2h, 1h30m), got {value!r}")
    seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(text))
    if seconds <= 0:
        raise InputError(src, key, f"must be longer than zero, got {value!r}")
    return seconds


def _mapping(value: Any, src: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(src, key, f"must be a mapping, got {type(value).__name__}")
    return value


def _clocks(value: Any, src: str, key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind, raw in _mapping(value, src, key).items():
        if kind not in CLOCKS:
            raise InputError(src, f"{key}.{kind}", f"unknown clock (one of {', '.join(CLOCKS)})")
        out[kind] = parse_duration(raw, src, f"{key}.{kind}")
    return out


def parse_config(data: Any, src: str) -> ServiceDeskConfig:
    """Validate a parsed file; every problem names ``src`` and the key."""
    if data is None:
        data = {}
    top = _mapping(data, src, "(top level)")
    for key in top:
        if key not in _TOP:
            raise InputError(src, str(key), f"unknown key (known: {', '.join(sorted(_TOP))})")
    grades = {g: dict(c) for g, c in DEFAULT_GRADES.items()}
    for grade, clocks in _mapping(top.get("grades") or {}, src, "grades").items():
        if grade not in GRADES:
            raise InputError(src, f"grades.{grade}", f"unknown grade (one of {', '.join(GRADES)})")
        grades[grade] = _clocks(clocks or {}, src, f"grades.{grade}")
    general = _clocks(top["general"], src, "general") if "general" in top else dict(DEFAULT_GENERAL)
    channels = {k: dict(v) for k, v in DEFAULT_CHANNELS.items()} if "channels" not in top else {}
    for channel, per_grade in _mapping(top.get("channels") or {}, src, "channels").items():
        if channel not in CHANNELS:
            raise InputError(src, f"channels.{channel}", f"unknown channel (one of {', '.join(CHANNELS)})")
        for grade, clocks in _mapping(per_grade or {}, src, f"channels.{channel}").items():
            if grade not in GRADES:
                raise InputError(src, f"channels.{channel}.{grade}", f"unknown grade (one of {', '.join(GRADES)})")
            channels[(channel, grade)] = _clocks(clocks or {}, src, f"channels.{channel}.{grade}")
    warn = parse_duration(top["warn_before"], src, "warn_before") if "warn_before" in top else DEFAULT_WARN_BEFORE
    notify = _mapping(top.get("notify") or {}, src, "notify")
    for key in notify:
        if key not in ("command", "timeout"):
            raise InputError(src, f"notify.{key}", "unknown key (known: command, timeout)")
    command = notify.get("command") or []
    if isinstance(command, str):
        command = shlex.split(command)
    if not isinstance(command, list) or not all(isinstance(a, str) and a for a in command):
        raise InputError(src, "notify.command", "must be a command line: a list of arguments (or one string)")
    if command and not command[0].startswith("/"):
        raise InputError(src, "notify.command", f"{command[0]!r}: give the program's absolute path "
                                                "(the watch job runs with a minimal PATH)")
    timeout = parse_duration(notify["timeout"], src, "notify.timeout") if "timeout" in notify else DEFAULT_NOTIFY_TIMEOUT
    alerts = _mapping(top.get("alerts") or {}, src, "alerts")
    for key in alerts:
        if key not in ("severity", "default_grade"):
            raise InputError(src, f"alerts.{key}", "unknown key (known: severity, default_grade)")
    severity = dict(DEFAULT_SEVERITY)
    for sev, grade in _mapping(alerts.get("severity") or {}, src, "alerts.severity").items():
        if grade not in GRADES:
            raise InputError(src, f"alerts.severity.{sev}", f"unknown grade {grade!r} (one of {', '.join(GRADES)})")
        severity[str(sev)] = grade
    default_grade = alerts.get("default_grade", "fault")
    if default_grade not in GRADES:
        raise InputError(src, "alerts.default_grade", f"unknown grade {default_grade!r} (one of {', '.join(GRADES)})")
    return ServiceDeskConfig(src, grades, general, channels, warn, tuple(command), timeout, severity, default_grade)


def config_path() -> Path | None:
    """Where the configuration comes from (None: the built-in defaults); see the module doc."""
    from yunwei.config import admin_config, require_trusted
    from yunwei.paths import project_root

    admin = admin_config()
    repo = project_root() / FILE_NAME
    if admin is not None:
        if os.environ.get(ENV_VAR):
            raise InputError(f"${ENV_VAR}", None, f"not honoured: {admin.path} decides the service desk's "
                                                  "clocks (admin mode); unset it")
        if admin.service_desk is not None:  # checked again now: the configuration is cached
            return require_trusted(admin.service_desk, str(admin.path), "service_desk")
        if repo.is_file():
            return require_trusted(repo, str(repo), None)
        return None
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return repo if repo.is_file() else None


_cache: dict[tuple[Any, ...], ServiceDeskConfig] = {}


def load_config(path: str | os.PathLike[str] | None = None) -> ServiceDeskConfig:
    """The configuration (``path`` for tests and ``validate``; else :func:`config_path`)."""
    p = Path(path) if path else config_path()
    if p is None:
        return ServiceDeskConfig()
    try:
        st = p.stat()
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), None, "no such file") from None
    except OSError as exc:
        raise InputError(str(p), None, f"cannot read: {exc}") from None
    key = (str(p), st.st_mtime_ns, st.st_size, st.st_ino)
    if key in _cache:
        return _cache[key]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(str(p), None, f"not valid YAML: {exc}") from None
    config = parse_config(data, str(p))
    _cache.clear()
    _cache[key] = config
    return config

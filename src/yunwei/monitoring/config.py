"""The alerting configuration: where ``yunwei alerts serve`` listens and the notification channels.

Channel URLs carry keys (企业微信 ``key=``, 钉钉 ``access_token=`` and the signing secret) and the
SMTP login its password: the file is secret and the administrator's. It follows the trust model of
docs/runner.md: in admin mode it is the file ``alerting:`` of /etc/yunwei/yunwei.yml names (root-owned,
not writable by others along the whole path — it may be readable by the operators' group only),
and ``--config`` / ``$YUNWEI_ALERTING`` are refused; in lab mode ``--config``, else
``$YUNWEI_ALERTING``, else ``<var>/alerting.yml`` (git-ignored), else no channel (alerts are still
recorded and ticketed). A malformed file exits 2 naming the file and the key. Nothing here is ever
logged: :meth:`AlertingConfig.redact` removes every secret from a text before it is printed or stored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.servicedesk.config import parse_duration
from yunwei.yamlfile import load_yaml

ENV_VAR = "YUNWEI_ALERTING"
FILE_NAME = "alerting.yml"
TYPES = ("wecom", "dingtalk", "email")
_TOP = {"listen", "path", "token", "channels", "retry", "timeout"}
_KEYS = {
    "wecom": ({"name", "type", "url"}, {"mentioned_mobile_list"}),
    "dingtalk": ({"name", "type", "url", "secret"}, {"at_mobiles"}),
    "email": ({"name", "type", "host", "from", "to"}, {"port", "security", "username", "password"}),
}


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    settings: dict[str, Any]

    def secrets(self) -> list[str]:
        """Every value of this channel that must never be printed."""
        out: list[str] = []
        s = self.settings
        if self.type in ("wecom", "dingtalk"):
            url = str(s["url"])
            out.append(url)
            out += [v for v in re.findall(r"[?&](?:key|access_token)=([^&#]+)", url)]
        if self.type == "dingtalk":
            out.append(str(s["secret"]))
        if self.type == "email" and s.get("password"):
            out.append(str(s["password"]))
        return [x for x in out if x]


@dataclass(frozen=True)
class AlertingConfig:
    source: str = "(none)"
    listen: str = "127.0.0.1:9095"
    path: str = "/alertmanager"
    channels: tuple[Channel, ...] = ()
    retry_attempts: int = 5
    retry_interval: float = 10.0
    timeout: float = 5.0
    token: str = ""  # the bearer token Alertmanager must send (monitoring_webhook_token)
    extra_secrets: tuple[str, ...] = field(default_factory=tuple)

    def redact(self, text: str) -> str:
        for secret in sorted({s for c in self.channels for s in c.secrets()} | set(self.extra_secrets)
                             | ({self.token} if self.token else set()), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def _listen(value: Any, src: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", value):
        raise InputError(src, "listen", f"expected ADDRESS:PORT, got {value!r}")
    return value


def parse_config(data: Any, src: str) -> AlertingConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(src, None, "must be a mapping")
    for key in data:
        if key not in _TOP:
            raise InputError(src, str(key), f"unknown key (known: {', '.join(sorted(_TOP))})")
    channels = []
    raw = data.get("channels") or []
    if not isinstance(raw, list):
        raise InputError(src, "channels", "must be a list of channels")
    names: set[str] = set()
    for i, ch in enumerate(raw):
        at = f"channels[{i}]"
        if not isinstance(ch, dict) or ch.get("type") not in TYPES:
            raise InputError(src, f"{at}.type", f"must be one of {', '.join(TYPES)}")
        required, optional = _KEYS[ch["type"]]
        for k in sorted(required - set(ch)):
            raise InputError(src, f"{at}.{k}", "missing")
        for k in sorted(set(ch) - required - optional):
            raise InputError(src, f"{at}.{k}", f"unknown key for a {ch['type']} channel")
        name = ch["name"]
        if not isinstance(name, str) or not re.fullmatch(r"[\w\-]+", name) or name in names:
            raise InputError(src, f"{at}.name", "must be a unique word (letters, digits, - and _)")
        names.add(name)
        if ch["type"] in ("wecom", "dingtalk") and not re.match(r"^https?://", str(ch["url"])):
            raise InputError(src, f"{at}.url", "must be an http(s) URL")  # the value is secret: not echoed
        if ch["type"] == "dingtalk" and not isinstance(ch["secret"], str):
            raise InputError(src, f"{at}.secret", "must be the robot's signing secret (SEC...)")
        if ch["type"] == "email":
            to = ch["to"] if isinstance(ch["to"], list) else [ch["to"]]
            if not to or not all(isinstance(x, str) and "@" in x for x in to):
                raise InputError(src, f"{at}.to", "must be an address or a list of addresses")
            ch = {**ch, "to": to}
            if ch.get("security", "starttls") not in ("ssl", "starttls", "none"):
                raise InputError(src, f"{at}.security", "must be ssl, starttls or none")
            if "port" in ch and (isinstance(ch["port"], bool) or not isinstance(ch["port"], int)):
                raise InputError(src, f"{at}.port", "must be a port number")
        channels.append(Channel(name, ch["type"], {k: v for k, v in ch.items() if k not in ("name", "type")}))
    retry = data.get("retry") or {}
    if not isinstance(retry, dict) or set(retry) - {"attempts", "interval"}:
        raise InputError(src, "retry", "expected {attempts: N, interval: 10s}")
    attempts = retry.get("attempts", 5)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
        raise InputError(src, "retry.attempts", f"must be a whole number from 1 to 100, got {attempts!r}")
    interval = parse_duration(retry["interval"], src, "retry.interval") if "interval" in retry else 10.0
    timeout = parse_duration(data["timeout"], src, "timeout") if "timeout" in data else 5.0
    path = data.get("path", "/alertmanager")
    if not isinstance(path, str) or not path.startswith("/"):
        raise InputError(src, "path", "must start with /")
    listen = _listen(data.get("listen", "127.0.0.1:9095"), src)
    token = data.get("token", "")
    if token and (not isinstance(token, str) or len(token) < 16 or not re.fullmatch(r"[\x21-\x7e]+", token)):
        raise InputError(src, "token", "must be a text of at least 16 printable characters without spaces")  # not echoed
    if not token and not _loopback(listen):
        raise InputError(src, "token", f"required when listening on {listen} (not only this machine): the bearer "
                         "token Alertmanager sends (monitoring_webhook_token), so nobody else can post alerts")
    return AlertingConfig(src, listen, path, tuple(channels), attempts, interval, timeout, token)


def _loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    return host == "localhost" or host == "::1" or host.startswith("127.")


def config_path() -> Path | None:
    from yunwei.config import admin_config, require_trusted
    from yunwei.paths import var_dir

    admin = admin_config()
    if admin is not None:
        if os.environ.get(ENV_VAR):
            raise InputError(f"${ENV_VAR}", None, f"not honoured: {admin.path} decides the alert channels (admin mode)")
        return require_trusted(admin.alerting, str(admin.path), "alerting") if admin.alerting else None
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    default = var_dir() / FILE_NAME
    return default if default.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None) -> AlertingConfig:
    if path is not None:
        from yunwei.config import admin_config

        admin = admin_config()
        if admin is not None:
            raise InputError("--config", str(path), f"not honoured: {admin.path} decides the alert channels (admin mode)")
    p = Path(path) if path else config_path()
    if p is None:
        return AlertingConfig()
    return parse_config(load_yaml(p, "alerting configuration"), str(p))  # strict: a duplicate key is refused

"""The administrator's configuration: what decides trust, kept where operators cannot write it.

With ``/etc/yunwei/yunwei.yml`` (or, when that file does not exist, the file ``$YUNWEI_CONFIG``
names) yunwei runs in **admin mode**: signers, the job catalogue, where review state and the audit
log live, the approval TTL and its ceiling and the audit anchors come from that file, which is
trusted only when it and everything it names are owned by root and not writable by group or
others, along the whole path (the way sshd judges authorized_keys). Identity is the OS login.
Operator environment variables that would decide trust (``YUNWEI_ALLOWED_SIGNERS``,
``YUNWEI_JOBS``, ``YUNWEI_ROOT``, ``YUNWEI_OPERATOR`` naming someone else, ...) are refused.

Without it yunwei runs in **lab mode**: a single operator (or a lab) owns all state under var/,
and the ``YUNWEI_*`` overrides are honoured. docs/runner.md states what that mode does not
protect against.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from yunwei.errors import InputError

ETC_CONFIG = Path("/etc/yunwei/yunwei.yml")
CONFIG_ENV = "YUNWEI_CONFIG"
DEFAULT_TTL_HOURS = 24.0
LAB_MAX_TTL_HOURS = 168.0  # lab mode's ceiling: a week
# Variables an operator could use to choose what decides trust; refused in admin mode.
TRUST_ENV = ("YUNWEI_ALLOWED_SIGNERS", "YUNWEI_JOBS", "YUNWEI_ROOT", "YUNWEI_AUDIT_LOG",
             "YUNWEI_APPROVAL_TTL_HOURS", "YUNWEI_SCHEDULE", "YUNWEI_SERVICE_DESK", "YUNWEI_VAULT_PASSWORD_FILE")
_KEYS = {"root", "jobs", "allowed_signers", "review", "approval", "anchors", "service_desk", "vault_password_file",
         "alerting"}


@dataclass(frozen=True)
class Anchor:
    """An off-site copy of the audit head: ``user@host[:port]`` reached with ``key``; the account's
    authorized_keys entry forces ``yunwei-anchor`` (append or read, nothing else)."""

    user: str
    host: str
    port: int
    key: Path
    known_hosts: Path

    @property
    def label(self) -> str:
        return f"ssh://{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")


@dataclass(frozen=True)
class AdminConfig:
    path: Path
    root: Path | None = None
    jobs: Path | None = None
    allowed_signers: Path = Path("/etc/yunwei/allowed_signers")
    review_store: str = ""  # postgresql://... (team) or a folder (single operator)
    ttl_hours: float = DEFAULT_TTL_HOURS
    max_ttl_hours: float = 72.0
    anchors: tuple[Anchor, ...] = field(default_factory=tuple)
    service_desk: Path | None = None  # the clocks that decide breaches, the notification command
    # ansible-vault password of the vaulted inventory variables (backup passphrases): the jobs'
    # --vault-password-file; root-owned like the rest, readable by the operators' group
    vault_password_file: Path | None = None
    alerting: Path | None = None  # the alert channels and their keys (docs/monitoring.md)

    @property
    def team(self) -> bool:
        return self.review_store.startswith(("postgresql://", "postgres://"))


# -- trusted files --------------------------------------------------------------------------

def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def untrusted_reason(path: Path) -> str | None:
    """Why someone other than root could have written ``path`` (None: nobody could).

    The resolved path and every folder above it must be owned by root and not writable by group
    or others; a sticky folder (/tmp) may be world-writable, as others cannot replace root's
    entries in it."""
    try:
        real = Path(os.path.realpath(path, strict=True))
    except (FileNotFoundError, OSError):
        return f"{path} does not exist"
    for i, p in enumerate([real, *real.parents]):
        st = os.lstat(p)
        if st.st_uid != 0:
            return f"{p} is owned by {_owner(st.st_uid)}, not root"
        if st.st_mode & 0o022:
            if i > 0 and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
                continue
            who = "group" if st.st_mode & 0o020 else "others"
            return f"{p} is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def require_trusted(path: Path, source: str, key: str | None) -> Path:
    reason = untrusted_reason(path)
    if reason:
        raise InputError(source, key, f"not trusted: {reason} (admin files must be root-owned and "
                                      "not writable by group or others, along the whole path)")
    return path


# -- loading --------------------------------------------------------------------------------

def config_path() -> Path | None:
    """/etc/yunwei/yunwei.yml if it exists, else $YUNWEI_CONFIG, else None (lab mode).

    $YUNWEI_CONFIG cannot move a machine that has /etc/yunwei/yunwei.yml elsewhere."""
    env = os.environ.get(CONFIG_ENV)
    if ETC_CONFIG.exists():
        if env and Path(env).resolve() != ETC_CONFIG.resolve():
            raise InputError(f"${CONFIG_ENV}", env, f"this machine is configured by {ETC_CONFIG}; "
                                                    "another configuration cannot be chosen")
        return ETC_CONFIG
    if env:
        return Path(env)
    return None


_cache: dict[tuple[Any, ...], AdminConfig] = {}


def admin_config() -> AdminConfig | None:
    """The trusted admin configuration, or None in lab mode. Exit 2 if it exists but is not
    trusted or not valid (naming the file and the key)."""
    path = config_path()
    if path is None:
        return None
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError(str(path), None, "configuration file not found") from None
    cache_key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size, st.st_uid, st.st_mode)
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    require_trusted(path, str(path), None)
    config = _parse(path)
    _cache.clear()
    _cache[cache_key] = config
    return config


def _path(src: str, key: str, value: Any, *, trusted: bool = True) -> Path:
    if not isinstance(value, str) or not value.startswith("/"):
        raise InputError(src, key, "must be an absolute path")
    path = Path(value)
    return require_trusted(path, src, key) if trusted else path


def _hours(src: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InputError(src, key, "must be a positive number of hours")
    return float(value)


def _parse(path: Path) -> AdminConfig:
    src = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(src, None, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(src, None, "must be a mapping")
    for key in data:
        if key not in _KEYS:
            raise InputError(src, str(key), f"unknown key (expected {', '.join(sorted(_KEYS))})")
    if "allowed_signers" not in data:
        raise InputError(src, "allowed_signers", "missing: the operators' signing keys")
    review = data.get("review") or {}
    if not isinstance(review, dict) or not isinstance(review.get("store"), str) or not review["store"]:
        raise InputError(src, "review.store", "missing: postgresql://... (a team) or a folder (one operator)")
    store = review["store"]
    if not store.startswith(("postgresql://", "postgres://")):
        _path(src, "review.store", store, trusted=False)  # a single operator's folder: theirs to write
    approval = data.get("approval") or {}
    if not isinstance(approval, dict):
        raise InputError(src, "approval", "must be a mapping (ttl_hours, max_ttl_hours)")
    max_ttl = _hours(src, "approval.max_ttl_hours", approval.get("max_ttl_hours", 72))
    ttl = _hours(src, "approval.ttl_hours", approval.get("ttl_hours", min(DEFAULT_TTL_HOURS, max_ttl)))
    if ttl > max_ttl:
        raise InputError(src, "approval.ttl_hours", f"{ttl:g} exceeds approval.max_ttl_hours ({max_ttl:g})")
    anchors = data.get("anchors") or []
    if not isinstance(anchors, list):
        raise InputError(src, "anchors", "must be a list")
    return AdminConfig(
        path=path,
        root=_path(src, "root", data["root"]) if data.get("root") else None,
        jobs=_path(src, "jobs", data["jobs"]) if data.get("jobs") else None,
        allowed_signers=_path(src, "allowed_signers", data["allowed_signers"]),
        review_store=store,
        ttl_hours=ttl,
        max_ttl_hours=max_ttl,
        anchors=tuple(_anchor(src, f"anchors[{i}]", a) for i, a in enumerate(anchors)),
        service_desk=_path(src, "service_desk", data["service_desk"]) if data.get("service_desk") else None,
        vault_password_file=(_path(src, "vault_password_file", data["vault_password_file"])
                             if data.get("vault_password_file") else None),
        alerting=_path(src, "alerting", data["alerting"]) if data.get("alerting") else None,
    )


def _anchor(src: str, key: str, spec: Any) -> Anchor:
    if not isinstance(spec, dict) or not isinstance(spec.get("ssh"), str) or "@" not in spec["ssh"]:
        raise InputError(src, f"{key}.ssh", "expected user@host[:port]")
    user, _, hostport = spec["ssh"].partition("@")
    host, _, port = hostport.partition(":")
    if not user or not host or (port and not port.isdigit()):
        raise InputError(src, f"{key}.ssh", "expected user@host[:port]")
    for k in spec:
        if k not in ("ssh", "key", "known_hosts"):
            raise InputError(src, f"{key}.{k}", "unknown key (expected ssh, key, known_hosts)")
    return Anchor(user=user, host=host, port=int(port or 22), key=_path(src, f"{key}.key", spec.get("key")),
                  known_hosts=_path(src, f"{key}.known_hosts", spec.get("known_hosts")))


# -- what the mode means for the running process ----------------------------------------------

def login() -> str:
    """The OS login of the real user id (never an environment variable)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # no passwd entry (containers)
        return str(os.getuid())


def check_environment(config: AdminConfig | None = None) -> None:
    """Admin mode: refuse (exit 2) the operator variables that would choose what decides trust."""
    config = config or admin_config()
    if config is None:
        return
    for name in TRUST_ENV:
        if os.environ.get(name):
            raise InputError(f"${name}", None, f"not honoured: {config.path} decides this (admin mode); unset it")
    label = os.environ.get("YUNWEI_OPERATOR")
    if label and label != login():
        raise InputError("$YUNWEI_OPERATOR", label, f"you are {login()!r}: in admin mode the operator is the "
                                                    "OS login, never a variable")


_announced = False


def announce_lab_mode() -> None:
    """Say once per process that review and audit run in lab mode, and what that means."""
    global _announced
    if _announced or admin_config() is not None:
        return
    _announced = True
    sys.stderr.write("yunwei: lab mode (no /etc/yunwei/yunwei.yml): one operator owns review state, audit log and "
                     "signers under var/; see docs/runner.md\n")

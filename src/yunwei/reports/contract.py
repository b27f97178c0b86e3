"""The contract profile (``contract.yml``): who the documents are for, who signs them, what is owed.

Configured by the administrator, like the signers of the review workflow: the reports take the
project name, the parties, the service period, the team (people's names for operator logins) and
the signers per document kind from here, and count the obligations only inside the service period.

Lookup: ``--contract FILE``, else ``$YUNWEI_CONTRACT``, else ``<root>/contract.yml``. A malformed
file exits 2 naming the file and the key. Without any file the documents say 未配置 where the
project data would be, count every day as in service, and sign-off names stay blank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from yunwei.errors import InputError
from yunwei.paths import project_root
from yunwei.reports.windows import _as_date as _day

ENV_VAR = "YUNWEI_CONTRACT"
DOC_KINDS = ("inspection-record", "resource-record", "health-daily", "monthly", "quarterly", "annual", "tickets",
             "feedback", "baseline", "restore-test", "drill", "preflight", "stress-test", "emergency-drill",
             "heightened-summary", "web-performance", "ux")
# Obligations the reports count (contract minimums; REQUIREMENTS.md). Defaults apply when a key is absent.
OBLIGATIONS: dict[str, tuple[int, str]] = {
    "inspection_per_day": (1, "日常巡检（网站与数据服务器），次/日"),
    "heightened_inspection_per_day": (3, "重保期间巡检，次/日"),
    "resource_inspection_per_week": (1, "资源巡检，次/周"),
    "restore_test_per_month": (1, "备份恢复测试，次/月"),
    "recovery_drill_per_quarter": (1, "恢复演练，次/季度"),
    "vulnerability_scan_per_quarter": (1, "漏洞扫描，次/季度"),
    "baseline_check_months": (6, "安全基线检查周期，月"),
}
# The role filled from the runs' operators (people's names through the team's logins).
OPERATORS_ROLE = "巡检人"
DEFAULT_SIGNERS: dict[str, tuple[str, ...]] = {
    "inspection-record": ("巡检人", "复核人"),
    "resource-record": ("巡检人", "复核人"),
    "health-daily": ("编制人", "审核人"),
    "monthly": ("编制人", "审核人", "甲方确认"),
    "quarterly": ("编制人", "审核人", "甲方确认"),
    "annual": ("编制人", "审核人", "甲方确认"),
    "tickets": ("登记人", "审核人", "甲方确认"),
    "feedback": ("编制人", "审核人"),
    "restore-test": ("测试人", "审核人", "甲方确认"),
    "drill": ("演练负责人", "审核人", "甲方确认"),
    "baseline": ("核查人", "审核人", "甲方确认"),
    "preflight": ("检查人", "审核人", "甲方确认"),
    "stress-test": ("测试人", "审核人", "甲方确认"),
    "emergency-drill": ("演练负责人", "审核人", "甲方确认"),
    "heightened-summary": ("编制人", "审核人", "甲方确认"),
    "web-performance": ("编制人", "审核人", "甲方确认"),
    "ux": ("编制人", "审核人", "甲方确认"),
}
UNCONFIGURED = "（未配置）"


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    logins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signer:
    role: str
    name: str = ""   # printed name; empty: the line is left for the signer's hand


@dataclass(frozen=True)
class Contract:
    project_name: str = UNCONFIGURED
    project_number: str = UNCONFIGURED
    client: str = UNCONFIGURED
    contractor: str = UNCONFIGURED
    start: date | None = None
    end: date | None = None
    team: tuple[Member, ...] = ()
    signers: dict[str, tuple[Signer, ...]] = field(default_factory=dict)
    obligations: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in OBLIGATIONS.items()})
    source: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.source)

    def in_service(self, day: date) -> bool:
        """Is ``day`` inside the service period (both ends inclusive; open ends count)?"""
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def person(self, login: str) -> str:
        """The name of the team member using ``login``; an unknown login is shown as such, marked."""
        for m in self.team:
            if login in m.logins:
                return m.name
        return f"{login}（未登记账号）" if login else ""

    def known(self, login: str) -> bool:
        return any(login in m.logins for m in self.team)

    def signers_for(self, kind: str) -> tuple[Signer, ...]:
        if kind in self.signers:
            return self.signers[kind]
        return tuple(Signer(role) for role in DEFAULT_SIGNERS.get(kind, ("编制人", "审核人")))

    def period_text(self) -> str:
        if self.start is None and self.end is None:
            return UNCONFIGURED
        a = self.start.isoformat() if self.start else "—"
        b = self.end.isoformat() if self.end else "—"
        return f"{a} 至 {b}"


def _str(data: dict[str, Any], key: str, src: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(src, f"{where}{key}", "is required (a non-empty text)")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError(src, f"{where}{key}", f"must be a text, got {type(value).__name__}")
    return str(value).strip()


def _mapping(value: Any, src: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(src, key, f"must be a mapping, got {type(value).__name__}")
    return value


def parse_contract(data: Any, src: str) -> Contract:
    """Validate parsed YAML; every problem names ``src`` and the key."""
    top = _mapping(data, src, "(top level)")
    known = {"project", "client", "contractor", "service_period", "team", "signers", "obligations"}
    unknown = sorted(set(top) - known)
    if unknown:
        raise InputError(src, unknown[0], f"unknown key (known: {', '.join(sorted(known))})")
    project = _mapping(top.get("project"), src, "project")
    name = _str(project, "name", src, "project.")
    number = _str(project, "number", src, "project.")
    client = _str(_mapping(top.get("client"), src, "client"), "name", src, "client.")
    contractor = _str(_mapping(top.get("contractor"), src, "contractor"), "name", src, "contractor.")
    sp = _mapping(top.get("service_period"), src, "service_period")
    if "start" not in sp or "end" not in sp:
        raise InputError(src, "service_period", "needs start and end (YYYY-MM-DD)")
    start = _day(sp["start"], src, "service_period.start")
    end = _day(sp["end"], src, "service_period.end")
    if end < start:
        raise InputError(src, "service_period.end", f"{end} is before start {start}")

    raw_team = top.get("team")
    if not isinstance(raw_team, list) or not raw_team:
        raise InputError(src, "team", "must be a non-empty list of {name, role, logins}")
    team, seen_logins, names = [], {}, set()
    for i, m in enumerate(raw_team):
        key = f"team[{i}]"
        m = _mapping(m, src, key)
        mname = _str(m, "name", src, f"{key}.")
        role = _str(m, "role", src, f"{key}.")
        logins = m.get("logins", [])
        if not isinstance(logins, list) or not all(isinstance(x, str) and x.strip() for x in logins):
            raise InputError(src, f"{key}.logins", "must be a list of operator logins")
        for login in logins:
            if login in seen_logins:
                raise InputError(src, f"{key}.logins", f"login {login!r} already belongs to {seen_logins[login]}")
            seen_logins[login] = mname
        team.append(Member(mname, role, tuple(x.strip() for x in logins)))
        names.add(mname)

    signers: dict[str, tuple[Signer, ...]] = {}
    for kind, rows in _mapping(top.get("signers") or {}, src, "signers").items():
        if kind not in DOC_KINDS:
            raise InputError(src, f"signers.{kind}", f"unknown document kind (one of {', '.join(DOC_KINDS)})")
        if not isinstance(rows, list) or not rows:
            raise InputError(src, f"signers.{kind}", "must be a non-empty list of {role, name}")
        out = []
        for i, row in enumerate(rows):
            key = f"signers.{kind}[{i}]"
            row = _mapping(row, src, key)
            role = _str(row, "role", src, f"{key}.")
            sname = _str(row, "name", src, f"{key}.", required=False)
            if sname and sname in seen_logins:
                raise InputError(src, f"{key}.name", f"{sname!r} is an operator login: give the person's name")
            if sname and role != "甲方确认" and sname not in names:
                raise InputError(src, f"{key}.name", f"{sname!r} is not in team (signers of the contractor "
                                                     "must be team members)")
            out.append(Signer(role, sname))
        signers[kind] = tuple(out)

    obligations = {k: v[0] for k, v in OBLIGATIONS.items()}
    for k, v in _mapping(top.get("obligations") or {}, src, "obligations").items():
        if k not in OBLIGATIONS:
            raise InputError(src, f"obligations.{k}", f"unknown obligation (known: {', '.join(OBLIGATIONS)})")
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(src, f"obligations.{k}", f"must be a whole number >= 0, got {v!r}")
        obligations[k] = v
    return Contract(name, number, client, contractor, start, end, tuple(team), signers, obligations, src)


def resolve(path: str | os.PathLike[str] | None = None) -> Path | None:
    if path:
        return Path(path)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    default = project_root() / "contract.yml"
    return default if default.is_file() else None


def load_contract(path: str | os.PathLike[str] | None = None) -> Contract:
    """The contract profile (see the module doc); an empty Contract when none is configured."""
    p = resolve(path)
    if p is None:
        return Contract()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), None, "no such file") from None
    except OSError as exc:
        raise InputError(str(p), None, f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(str(p), None, f"not valid YAML: {exc}") from None
    return parse_contract(data, str(p))

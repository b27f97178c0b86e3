"""Accepted risks (接受风险) of vulnerability findings: reviewed state, never an operator's say-so.

```yaml
# vuln-risks.yml
risks:
  - host: web01
    finding: CVE-2026-1234 openssl     # the finding's key, as `yunwei vuln findings` prints it (or tcp/8080)
    justification: 上游尚未发布修复版本，已通过 WAF 规则缓解
    expires: 2027-03-31                # inclusive, at most a year ahead; afterwards the finding is open again
```

An accepted risk turns a finding's no-go into an action (the T-7 preflight) and takes it out of the open
count of the reports, so who accepted it must be a second person, proved the way every critical operation
is: ``yunwei request risks`` digests the proposed file and previews its diff, a second operator approves
(signed; self-approval is refused by the review store), and ``execute`` installs exactly the approved
bytes as ``<var>/vuln/risks-active.yml`` with its record. The approver of an accepted risk is the
review's approver, read from that record; the file has no approver field an operator could fill in. The
findings read only the active copy, and a copy that no longer matches its approved digest is refused.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.paths import project_root, var_dir
from yunwei.yamlfile import load_yaml_text

KIND = "risks"
KEYS = ("host", "finding", "justification", "expires")
MAX_DAYS = 366


@dataclass(frozen=True)
class Risk:
    host: str
    finding: str        # the finding's key: "CVE package" or "tcp/PORT"
    justification: str
    expires: str        # YYYY-MM-DD, inclusive

    def expired(self, today: dt.date) -> bool:
        return today > dt.date.fromisoformat(self.expires)


def resolve_file(path: str | None = None) -> Path:
    return Path(path or os.environ.get("YUNWEI_VULN_RISKS") or project_root() / "vuln-risks.yml").resolve()


def parse(text: str, source: str, *, today: dt.date | None = None) -> list[Risk]:
    """The risks of a file; every problem is an InputError naming the file and the key. ``today`` bounds
    the expiry of a proposed file (at most a year ahead); the active copy is read without it (an
    acceptance that has run out simply no longer applies)."""
    data = load_yaml_text(text, source)
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"risks"}:
        raise InputError(source, None, "must be a mapping with the single key 'risks' (a list)")
    items = data.get("risks") or []
    if not isinstance(items, list):
        raise InputError(source, "risks", "must be a list")
    out: list[Risk] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        key = f"risks[{i}]"
        if not isinstance(item, dict):
            raise InputError(source, key, "must be a mapping with host, finding, justification, expires")
        for k in item:
            if k not in KEYS:
                hint = " (the approver is whoever approves the review request)" if k == "approver" else ""
                raise InputError(source, f"{key}.{k}", f"unknown key{hint}; expected {', '.join(KEYS)}")
        for k in KEYS:
            if not str(item.get(k) or "").strip():
                raise InputError(source, f"{key}.{k}", "missing or empty")
        raw = item["expires"]
        try:
            day = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw))
        except ValueError:
            raise InputError(source, f"{key}.expires", f"{raw!r} is not a date (YYYY-MM-DD)") from None
        if today is not None and not today <= day <= today + dt.timedelta(days=MAX_DAYS):
            raise InputError(source, f"{key}.expires", f"{day} must be between today and a year from today")
        risk = Risk(str(item["host"]).strip(), " ".join(str(item["finding"]).split()),
                    str(item["justification"]).strip(), day.isoformat())
        if (risk.host, risk.finding) in seen:
            raise InputError(source, key, f"{risk.host} {risk.finding} is listed twice")
        seen.add((risk.host, risk.finding))
        out.append(risk)
    return out


def _parse_proposed(text: str, source: str) -> list[Risk]:
    return parse(text, source, today=dt.date.today())


# -- the reviewed, active copy --------------------------------------------------------------------

def active_paths() -> tuple[Path, Path]:
    d = var_dir() / "vuln"
    return d / "risks-active.yml", d / "risks-active.json"


def active_meta() -> dict[str, Any] | None:
    from yunwei.review import reviewed_file

    return reviewed_file.read_meta(active_paths()[1], "accepted risks")


def load_active() -> tuple[list[Risk], dict[str, Any] | None]:
    """The approved risks and their review record; ([], None) when none was ever approved. A copy that no
    longer matches its approved digest, or one without a record, is refused (exit 2)."""
    from yunwei.review import reviewed_file

    risks, meta = reviewed_file.load_active(*active_paths(), parse, what="accepted risks", request=KIND)
    return risks or [], meta


def proposed_digest(path: str | None) -> tuple[str, dict[str, str]]:
    """Validate the proposed file (exit 2 on bad input) and digest its exact bytes (the review's digest)."""
    from yunwei.review.reviewed_file import digest_bytes
    from yunwei.yamlfile import read_text

    file = resolve_file(path)
    _parse_proposed(read_text(file, "accepted-risks file"), str(file))
    digest = digest_bytes(file.read_bytes())
    return digest, {str(file): digest}


def preview_change(path: str) -> dict[str, Any]:
    from yunwei.review import reviewed_file

    return reviewed_file.preview_change(path, active_paths()[0], "accepted risks")


def activate(req: dict[str, Any], *, approver: str, operator_name: str | None = None) -> dict[str, Any]:
    """Install the approved bytes (digest checked again) as the active accepted risks."""
    from yunwei import audit
    from yunwei.review import reviewed_file

    yml, meta_path = active_paths()
    previous = (active_meta() or {}).get("digest")
    meta = reviewed_file.install(req, file_key="risks_file", validate=_parse_proposed, active_yml=yml,
                                 meta_path=meta_path, previous=previous, approver=approver)
    audit.record("risks_change", request=req["id"], job=KIND, operator=operator_name or approver,
                 digest=meta["digest"], previous=previous, requester=req["requester"], approver=approver)
    return meta


def accepted(today: dt.date | None = None) -> dict[tuple[str, str], dict[str, str]]:
    """(host, finding key) -> {accepted_by, accepted_until, accepted_reason} of every approved risk still in
    force today (local date)."""
    risks, meta = load_active()
    day = today or dt.date.today()
    who = (meta or {}).get("approver", "")
    return {(r.host, r.finding): {"accepted_by": who, "accepted_until": r.expires, "accepted_reason": r.justification}
            for r in risks if not r.expired(day)}

"""Baseline waivers (豁免): a rule that may fail on some hosts, with why, who approved it and until when.

```yaml
# baseline-waivers.yml
waivers:
  - id: W-2026-01
    rule: BASE-SSH-011                 # a baseline rule of the catalogue
    hosts: [web01]                     # inventory hostnames or shell patterns (web*, all)
    justification: 网站主机经负载均衡对外提供 SFTP 上传，来源地址无法限定
    approver: 张伟
    expires: 2027-06-30                # inclusive; afterwards the rule counts as a failure again
```

Waivers decide compliance, so the file that counts is reviewed state, like the schedule
(:mod:`yunwei.schedule.active`): ``yunwei request waivers`` digests the proposed file and previews the
change against the active copy; after ``approve`` by a second operator, ``execute`` installs exactly
the approved bytes as ``<var>/baseline/waivers-active.yml`` with its digest. The audit reads only the
active copy, and a copy whose bytes no longer match their digest is refused. An edited
baseline-waivers.yml changes nothing until it has been through review.

A waiver that has expired never waives: the rule's status stays ``fail`` and the report lists the
waiver as expired. Bad input (an unknown rule, a waiver without expiry, justification or approver)
exits 2 naming the file and the key.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from yunwei.errors import InputError, YunweiError
from yunwei.paths import project_root, var_dir
from yunwei.yamlfile import load_yaml_text

KEYS = ("id", "rule", "hosts", "justification", "approver", "expires")
REQUIRED = ("rule", "hosts", "justification", "approver", "expires")
KIND = "waivers"


@dataclass(frozen=True)
class Waiver:
    id: str
    rule: str
    hosts: tuple[str, ...]
    justification: str
    approver: str
    expires: str  # YYYY-MM-DD, inclusive

    def matches(self, rule: str, host: str) -> bool:
        return rule == self.rule and any(p == "all" or fnmatch.fnmatchcase(host, p) for p in self.hosts)

    def expired(self, today: dt.date) -> bool:
        return today > dt.date.fromisoformat(self.expires)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hosts": list(self.hosts)}


def resolve_file(path: str | None = None) -> Path:
    return Path(path or os.environ.get("YUNWEI_WAIVERS") or project_root() / "baseline-waivers.yml").resolve()


def parse(text: str, source: str, rules: set[str] | None = None) -> list[Waiver]:
    """Waivers of ``text``; InputError (exit 2) naming ``source`` and the key of the first problem.
    ``rules``: the baseline rule ids a waiver may name (default: the installed catalogue's)."""
    if rules is None:
        from yunwei.catalogue import catalogue

        rules = {c.id for c in catalogue().checks_of(kind="baseline")}
    doc = load_yaml_text(text, source)
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"waivers"}:
        extra = sorted(str(k) for k in set(doc) - {"waivers"}) if isinstance(doc, dict) else []
        raise InputError(source, extra[0] if extra else None,
                         "unknown key (the file holds `waivers:`, a list)" if extra else "must be a mapping with `waivers:`")
    items = doc.get("waivers") or []
    if not isinstance(items, list):
        raise InputError(source, "waivers", "must be a list of waivers")
    out: list[Waiver] = []
    ids: set[str] = set()
    for i, w in enumerate(items):
        at = f"waivers[{i}]"
        if not isinstance(w, dict):
            raise InputError(source, at, "must be a mapping with rule, hosts, justification, approver, expires")
        extra = sorted(str(k) for k in set(w) - set(KEYS))
        if extra:
            raise InputError(source, f"{at}.{extra[0]}", f"unknown key (known: {', '.join(KEYS)})")
        for key in REQUIRED:
            value = w.get(key)
            if value is None or (isinstance(value, str) and not value.strip()) or value == []:
                why = {"expires": "a waiver needs an expiry date (YYYY-MM-DD): none is permanent",
                       "justification": "a waiver needs a justification", "approver": "a waiver names who approved it",
                       "hosts": "a waiver names the hosts it covers (hostnames, patterns or all)",
                       "rule": "a waiver names the rule it waives"}[key]
                raise InputError(source, f"{at}.{key}", f"missing: {why}")
        rule = str(w["rule"]).strip()
        if rule not in rules:
            raise InputError(source, f"{at}.rule", f"no baseline rule {rule!r} in the catalogue (ids: docs/baseline.md)")
        hosts = w["hosts"] if isinstance(w["hosts"], list) else [w["hosts"]]
        if not all(isinstance(h, str) and h.strip() for h in hosts):
            raise InputError(source, f"{at}.hosts", f"must be a list of hostnames or patterns, got {w['hosts']!r}")
        expires = str(w["expires"]).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", expires):
                raise ValueError
            dt.date.fromisoformat(expires)
        except ValueError:
            raise InputError(source, f"{at}.expires", f"not a date (YYYY-MM-DD): {w['expires']!r}") from None
        for key in ("justification", "approver"):
            if not isinstance(w[key], str):
                raise InputError(source, f"{at}.{key}", f"must be text, got {w[key]!r}")
        wid = str(w.get("id") or f"W{i + 1:03d}").strip()
        if wid in ids:
            raise InputError(source, f"{at}.id", f"id {wid} used twice")
        ids.add(wid)
        out.append(Waiver(id=wid, rule=rule, hosts=tuple(h.strip() for h in hosts),
                          justification=" ".join(w["justification"].split()), approver=w["approver"].strip(),
                          expires=expires))
    return out


def load_file(path: str | Path) -> list[Waiver]:
    from yunwei.yamlfile import read_text

    p = Path(path)
    return parse(read_text(p, "waiver file"), str(p))


# -- the reviewed, active copy --------------------------------------------------------------------

def state_dir() -> Path:
    return var_dir() / "baseline"


def active_paths() -> tuple[Path, Path]:
    d = state_dir()
    return d / "waivers-active.yml", d / "waivers-active.json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def active_meta() -> dict[str, Any] | None:
    from yunwei.review import reviewed_file

    return reviewed_file.read_meta(active_paths()[1], "active waivers")


def load_active() -> tuple[list[Waiver], dict[str, Any] | None]:
    """The approved waivers and their record; ([], None) when none was ever approved. A copy that no
    longer matches its approved digest is refused (InputError, exit 2): it was edited outside review."""
    from yunwei.review import reviewed_file

    waivers, meta = reviewed_file.load_active(*active_paths(), parse, what="waivers", request=KIND)
    return waivers or [], meta


def pending_change(path: str | None = None) -> str | None:
    """A warning when the waiver file differs from the active copy (not used until approved)."""
    file = resolve_file(path)
    if not file.is_file():
        return None
    meta = active_meta()
    digest = _digest(file.read_bytes())
    if meta is None or digest != meta.get("digest"):
        return (f"{file} differs from the approved waivers ({(meta or {}).get('digest', 'none approved')}); "
                "it takes effect only after `yunwei request waivers` is approved and executed")
    return None


def proposed_digest(path: str | None) -> tuple[str, dict[str, str]]:
    """Validate the proposed file (exit 2 on bad input) and digest its exact bytes (the review's digest)."""
    file = resolve_file(path)
    load_file(file)
    digest = _digest(file.read_bytes())
    return digest, {str(file): digest}


def preview_change(path: str) -> dict[str, Any]:
    """The review preview: the diff of the proposed file against the active waivers."""
    from yunwei.review import reviewed_file

    return reviewed_file.preview_change(path, active_paths()[0], "baseline waivers")


def activate(req: dict[str, Any], *, approver: str, operator_name: str | None = None) -> dict[str, Any]:
    """Install the approved bytes (digest checked again) as the active waivers."""
    from yunwei import audit
    from yunwei.review import reviewed_file

    yml, meta_path = active_paths()
    previous = (active_meta() or {}).get("digest")
    meta = reviewed_file.install(req, file_key="waivers_file", validate=parse, active_yml=yml, meta_path=meta_path,
                                 previous=previous, approver=approver)
    audit.record("waivers_change", request=req["id"], job=KIND, operator=operator_name or approver,
                 digest=meta["digest"], previous=previous, requester=req["requester"], approver=approver)
    return meta


def for_host(waivers: list[Waiver], host: str) -> list[Waiver]:
    return [w for w in waivers if any(p == "all" or fnmatch.fnmatchcase(host, p) for p in w.hosts)]


def describe(meta: dict[str, Any] | None) -> str:
    if meta is None:
        return "no approved waivers"
    return (f"approved waivers {meta.get('digest', '')[:19]}… (request {meta.get('request')}, requested by "
            f"{meta.get('requester')}, approved by {meta.get('approver')} at {meta.get('activated_at')})")


class WaiverError(YunweiError):
    pass

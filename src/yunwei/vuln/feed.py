"""The imported vulnerability feed: an OVAL 5 definitions file (Debian's per-release OVAL, or one built in
its format), validated on import and kept with its hash.

``yunwei vuln import FILE [--release debian-12]`` checks, before anything is written:

- the file is complete, well-formed XML without a DTD (no entity expansion), whose root is OVAL 5
  ``oval_definitions`` with a ``generator/timestamp``;
- the generation date is not in the future, and not older than the feed already in use for that release
  (an import never silently rolls the scan back to older knowledge);
- every definition that names a platform names the release being imported (``Debian GNU/Linux 12`` for
  ``debian-12``), and at least one definition tests a package version (``dpkginfo_test``).

Then the feed is copied to ``<var>/vuln/feeds/<release>/<sha256>.xml`` with an index (the definitions,
their CVEs, packages, fixed versions and severities, read once here instead of on every scan) and the
``active.json`` pointer is replaced atomically: a failed import leaves the previous feed in use.

A scan (``yunwei.ops.vuln_scan``, in an Ansible worker) reads only these plain files - never the store -
and refuses a feed whose bytes no longer match the recorded hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.files import write_atomic
from yunwei.paths import var_dir

NS_DEF = "http://oval.mitre.org/XMLSchema/oval-definitions-5"
NS_COMMON = "http://oval.mitre.org/XMLSchema/oval-common-5"
NS_LINUX = "http://oval.mitre.org/XMLSchema/oval-definitions-5#linux"
D = "{%s}" % NS_DEF
L = "{%s}" % NS_LINUX
C = "{%s}" % NS_COMMON

DEFAULT_RELEASE = "debian-12"
MAX_AGE_DAYS = 30
# release id -> the platform name the feed's definitions carry
PLATFORMS = {"debian": "Debian GNU/Linux {version}"}
RELEASE_RE = re.compile(r"^(debian)-(\d{1,3})$")
SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_SEVERITY_WORDS = {
    "critical": "critical", "important": "high", "high": "high", "moderate": "medium", "medium": "medium",
    "low": "low", "unimportant": "low", "negligible": "low",
}


@dataclass(frozen=True)
class Feed:
    """An imported feed as the scan uses it."""

    release: str
    path: Path
    digest: str
    generated: str  # ISO 8601, from generator/timestamp
    definitions: int
    imported_at: str
    source: str

    def age_days(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.timezone.utc)
        return (now - parse_timestamp(self.generated, self.source)).total_seconds() / 86400

    def summary(self) -> dict[str, Any]:
        return {"release": self.release, "digest": self.digest, "generated": self.generated,
                "definitions": self.definitions, "imported_at": self.imported_at, "source": self.source,
                "file": self.path.name}


def check_release(release: str, key: str = "--release") -> tuple[str, str]:
    m = RELEASE_RE.match(str(release or ""))
    if not m:
        raise InputError(key, None, f"{release!r} is not a supported release (like debian-12)")
    return m.group(1), m.group(2)


def platform_name(release: str) -> str:
    family, version = check_release(release)
    return PLATFORMS[family].format(version=version)


def parse_timestamp(text: str, source: str, key: str = "generator/timestamp") -> dt.datetime:
    raw = (text or "").strip()
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(source, key, f"{raw!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)  # OVAL's xsd:dateTime without a zone: read as UTC
    return moment


def severity_of(text: str) -> str:
    return _SEVERITY_WORDS.get((text or "").strip().lower(), "unknown")


def parse(data: bytes, source: str) -> dict[str, Any]:
    """Validate an OVAL 5 definitions document and index it. InputError (exit 2) names the file and the
    element at fault."""
    head = data[:4096].decode("utf-8", "replace")
    if "<!DOCTYPE" in head or "<!ENTITY" in data.decode("utf-8", "replace"):
        raise InputError(source, None, "has a DTD or entity declarations: refused (an OVAL feed has none)")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(source, None, f"not well-formed XML (truncated?): {exc}") from None
    if root.tag != D + "oval_definitions":
        raise InputError(source, None, f"not an OVAL 5 definitions file (root element {root.tag!r})")
    gen = root.find(D + "generator")
    stamp = gen.find(C + "timestamp") if gen is not None else None
    if stamp is None or not (stamp.text or "").strip():
        raise InputError(source, "generator/timestamp", "missing: the feed's generation date is required")
    generated = parse_timestamp(stamp.text or "", source)
    schema = gen.find(C + "schema_version") if gen is not None else None
    if schema is None or not (schema.text or "").strip().startswith("5."):
        raise InputError(source, "generator/schema_version", "must be an OVAL 5.x schema version")
    tests: dict[str, dict[str, str]] = {}
    objects = {o.get("id", ""): (o.findtext(L + "name") or "").strip()
               for o in root.iter(L + "dpkginfo_object")}
    states = {}
    for s in root.iter(L + "dpkginfo_state"):
        evr = s.find(L + "evr")
        if evr is not None:
            states[s.get("id", "")] = ((evr.text or "").strip(), evr.get("operation", "equals"))
    for t in root.iter(L + "dpkginfo_test"):
        obj = t.find(L + "object")
        st = t.find(L + "state")
        name = objects.get(obj.get("object_ref", "") if obj is not None else "", "")
        evr, op = states.get(st.get("state_ref", "") if st is not None else "", ("", ""))
        tests[t.get("id", "")] = {"package": name, "fixed": evr.split(":", 1)[1] if evr.startswith("0:") else evr,
                                  "operation": op}
    defs: dict[str, dict[str, Any]] = {}
    platforms: set[str] = set()
    definitions = root.find(D + "definitions")
    for d in (definitions if definitions is not None else []):
        did = d.get("id", "")
        meta = d.find(D + "metadata")
        if meta is None or not did:
            raise InputError(source, f"definition {did or '?'}", "has no id or metadata")
        for p in meta.iter(D + "platform"):
            platforms.add((p.text or "").strip())
        cves = [r.get("ref_id", "") for r in meta.iter(D + "reference") if (r.get("source") or "").upper() == "CVE"]
        title = (meta.findtext(D + "title") or "").strip()
        if not cves:
            cves = re.findall(r"CVE-\d{4}-\d{4,}", title) or [did]
        sev = ""
        for el in meta.iter():
            if el.tag.rsplit("}", 1)[-1] == "severity" and (el.text or "").strip():
                sev = el.text or ""
                break
        pkgs = []
        for crit in d.iter(D + "criterion"):
            t = tests.get(crit.get("test_ref", ""))
            if t and t["package"] and t["operation"] == "less than":
                pkgs.append({"package": t["package"], "fixed": t["fixed"]})
        defs[did] = {"cves": cves, "title": title, "severity": severity_of(sev), "packages": pkgs,
                     "description": (meta.findtext(D + "description") or "").strip()[:500]}
    if not defs:
        raise InputError(source, "definitions", "no definitions: an empty or truncated feed")
    if not tests:
        raise InputError(source, "tests", "no dpkginfo_test: not a package vulnerability feed for Debian")
    return {"generated": generated.isoformat(), "platforms": sorted(p for p in platforms if p),
            "definitions": defs}


# -- where imported feeds live -----------------------------------------------------------------------

def feeds_dir(release: str) -> Path:
    check_release(release)
    return var_dir() / "vuln" / "feeds" / release


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def active(release: str = DEFAULT_RELEASE) -> Feed | None:
    """The feed in use for ``release``; None when none was imported. A feed file that no longer matches
    its recorded hash is refused (InputError): it was changed after the import."""
    pointer = feeds_dir(release) / "active.json"
    try:
        meta = json.loads(pointer.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise InputError(str(pointer), None, "not valid JSON (edited?): re-import the feed") from None
    path = pointer.parent / meta.get("file", "")
    try:
        data = path.read_bytes()
    except OSError:
        raise InputError(str(pointer), "file", f"{path} is missing: re-import the feed") from None
    if _digest(data) != meta.get("digest"):
        raise InputError(str(path), None, f"does not match its imported hash {meta.get('digest')} (changed after import)")
    return Feed(release=release, path=path, digest=meta["digest"], generated=meta["generated"],
                definitions=int(meta.get("definitions", 0)), imported_at=meta.get("imported_at", ""),
                source=meta.get("source", ""))


def index(feed: Feed) -> dict[str, Any]:
    """The definitions index written at import (id -> cves, title, severity, packages)."""
    return json.loads((feed.path.with_suffix(".index.json")).read_text(encoding="utf-8"))


def import_feed(file: str | Path, release: str = DEFAULT_RELEASE, *, now: dt.datetime | None = None) -> tuple[Feed, list[str]]:
    """Validate ``file`` and make it the feed in use for ``release``. Returns the feed and warnings (an
    outdated feed is accepted with a warning: an air-gapped site may have nothing newer)."""
    check_release(release)
    src = Path(file)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise InputError(str(src), None, f"cannot read: {exc.strerror or exc}") from None
    parsed = parse(data, str(src))
    want = platform_name(release)
    other = [p for p in parsed["platforms"] if p != want]
    if other or not parsed["platforms"]:
        found = ", ".join(other or ["none"])
        raise InputError(str(src), "metadata/affected/platform", f"the feed is for {found}, not {want} (--release {release})")
    now = now or dt.datetime.now(dt.timezone.utc)
    generated = dt.datetime.fromisoformat(parsed["generated"])
    if generated > now + dt.timedelta(days=1):
        raise InputError(str(src), "generator/timestamp", f"{parsed['generated']} is in the future")
    current = active(release)
    if current is not None and generated < dt.datetime.fromisoformat(current.generated):
        raise InputError(str(src), "generator/timestamp",
                         f"{parsed['generated']} is older than the feed in use ({current.generated}); kept the feed in use")
    digest = _digest(data)
    d = feeds_dir(release)
    d.mkdir(parents=True, exist_ok=True)
    name = digest.split(":", 1)[1][:32] + ".xml"
    target = d / name
    write_atomic(target.with_suffix(".index.json"), json.dumps(parsed["definitions"], ensure_ascii=False))
    write_atomic(target, data, mode=0o644)
    meta = {"file": name, "digest": digest, "generated": parsed["generated"], "definitions": len(parsed["definitions"]),
            "imported_at": now.isoformat(timespec="seconds"), "source": src.name, "release": release}
    write_atomic(d / "active.json", json.dumps(meta, ensure_ascii=False, indent=1))
    for old in d.iterdir():  # keep the active feed and the one before it (what the last scans named)
        if old.suffix == ".xml" and old.name != name and current is not None and old.name != current.path.name:
            old.unlink(missing_ok=True)
            old.with_suffix(".index.json").unlink(missing_ok=True)
    feed = active(release)
    assert feed is not None
    warnings = []
    if feed.age_days(now) > MAX_AGE_DAYS:
        warnings.append(f"{src}: generated {feed.generated}, {int(feed.age_days(now))} days ago (older than "
                        f"{MAX_AGE_DAYS} days): import a current feed before the quarterly scan")
    return feed, warnings

"""Evaluate one host's installed packages against the imported OVAL feed with OpenSCAP, on the bastion.

The host is read once (``yunwei.ops.vuln_scan``'s module returns its dpkg status, os-release and
architecture); ``oscap`` is never installed on the hosts. OpenSCAP evaluates an offline root: with
``OSCAP_PROBE_ROOT`` its probes read files under that folder instead of ``/``. Verified with oscap 1.3.7
(Debian 12): its dpkginfo probe opens the package cache through libapt-pkg with ``RootDir`` set to the
probe root, so the root needs, besides ``var/lib/dpkg/status`` and ``etc/os-release``/``debian_version``,
dpkg's architecture tables (``usr/share/dpkg/cputable``, ``tupletable``); and apt, which would otherwise
run ``dpkg --print-foreign-architectures`` chrooted into the root (no dpkg there: "dpkginfo_init has
failed" and every package test false), is told the architectures through ``APT_CONFIG``. Without those
two steps oscap reports every definition false - silently, so :func:`evaluate` also refuses a result
where the probe logged that failure.

Fork safety: runs in an Ansible worker (the action plugin) - a subprocess and temporary files, no store.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

NS_RES = "{http://oval.mitre.org/XMLSchema/oval-results-5}"
DPKG_TABLES = ("cputable", "tupletable", "ostable")
TIMEOUT = 600


class EvaluationError(RuntimeError):
    """oscap could not evaluate the host (its message says why)."""


def installed_versions(status: str) -> dict[str, str]:
    """Package name -> installed version, from (reduced) dpkg status text."""
    versions = {}
    for stanza in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] not in " \t")
        if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
            versions[fields["Package"]] = fields.get("Version", "")
    return versions


def build_root(root: Path, facts: dict[str, Any]) -> Path:
    """The offline root oscap's probes read, and the APT configuration file (returned)."""
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(facts.get("dpkg_status") or "", encoding="utf-8")
    (root / "var/lib/dpkg/available").write_text("", encoding="utf-8")
    for sub in ("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "var/lib/apt/lists/partial",
                "var/cache/apt/archives/partial", "usr/share/dpkg"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list").write_text("", encoding="utf-8")
    (root / "etc/os-release").write_text(facts.get("os_release") or "", encoding="utf-8")
    (root / "etc/debian_version").write_text(facts.get("debian_version") or "", encoding="utf-8")
    for table in DPKG_TABLES:
        src = Path("/usr/share/dpkg") / table
        if src.is_file():
            shutil.copyfile(src, root / "usr/share/dpkg" / table)
    arch = "".join(ch for ch in str(facts.get("arch") or "amd64") if ch.isalnum() or ch in "-_") or "amd64"
    conf = root.parent / "apt.conf"
    conf.write_text(f'APT::Architecture "{arch}";\nAPT::Architectures {{ "{arch}"; }};\n'
                    'Dir::Etc::parts "/nonexistent";\nDir::Etc::main "/nonexistent";\n', encoding="utf-8")
    return conf


def true_definitions(results: Path) -> tuple[list[str], dict[str, int]]:
    """Ids of the definitions evaluated true in an OVAL results file, and the count of each result."""
    found = []
    counts: dict[str, int] = {}
    for _event, el in ET.iterparse(results, events=("end",)):
        if el.tag == NS_RES + "definition":
            result = el.get("result", "")
            counts[result] = counts.get(result, 0) + 1
            if result == "true":
                found.append(el.get("definition_id", ""))
            el.clear()
    return found, counts


def evaluate(feed_path: Path, index: dict[str, Any], facts: dict[str, Any], *,
             oscap: str = "oscap", timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Findings of one host: [{definition, cve, package, installed, fixed, severity, title}], one per CVE and
    vulnerable package."""
    exe = shutil.which(oscap)
    if not exe:
        raise EvaluationError("oscap not found on the bastion (Debian package openscap-scanner: make bootstrap)")
    with tempfile.TemporaryDirectory(prefix="yunwei-oval-") as tmp:
        root = Path(tmp) / "root"
        conf = build_root(root, facts)
        results = Path(tmp) / "results.xml"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "OSCAP_PROBE_ROOT": str(root), "APT_CONFIG": str(conf)}
        try:
            proc = subprocess.run([exe, "oval", "eval", "--results", str(results), str(feed_path)],
                                  env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise EvaluationError(f"oscap did not finish within {timeout:.0f} s") from None
        err = (proc.stderr or "").strip()
        if proc.returncode != 0 or not results.is_file():
            raise EvaluationError(f"oscap failed (rc {proc.returncode}): {err[-500:]}")
        if "dpkginfo_init has failed" in err:
            raise EvaluationError("oscap could not read the host's package list (dpkginfo probe failed)")
        true_ids, counts = true_definitions(results)
        failed = sum(n for r, n in counts.items() if r in ("error", "unknown", "not evaluated"))
        if failed:  # e.g. an OpenSCAP built without the dpkginfo probe: never report "no findings" then
            raise EvaluationError(f"oscap could not evaluate {failed} of {sum(counts.values())} definitions "
                                  f"({', '.join(f'{r}: {n}' for r, n in sorted(counts.items()))})")
    installed = installed_versions(facts.get("dpkg_status") or "")
    findings = []
    for did in true_ids:
        d = index.get(did)
        if not d:
            continue
        for pkg in d.get("packages") or [{"package": "", "fixed": ""}]:
            if pkg["package"] and pkg["package"] not in installed:
                continue
            for cve in d.get("cves") or [did]:
                findings.append({"definition": did, "cve": cve, "package": pkg["package"],
                                 "installed": installed.get(pkg["package"], ""), "fixed": pkg["fixed"],
                                 "severity": d.get("severity", "unknown"), "title": d.get("title", "")})
    return findings

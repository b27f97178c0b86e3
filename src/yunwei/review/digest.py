"""The content digest of a job: everything that decides what the run will do.

Covered: the job definition from the catalogue, the playbook and every file under playbooks/,
roles/, plugins/ and meta/, galaxy.yml (the collection version), the ansible-core version, the inventory (file or
directory, with group_vars/host_vars), the limit and the extra vars. The manifest (path ->
sha256) is kept with the request so a mismatch can name the files that changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from yunwei.jobs import Job
from yunwei.paths import project_root

CONTENT_DIRS = ("playbooks", "roles", "plugins", "meta")
CONTENT_FILES = ("galaxy.yml", "ansible.cfg")
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".git"}


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _walk(base: Path) -> list[Path]:
    if base.is_file():
        return [base]
    if not base.is_dir():
        return []
    return sorted(
        p for p in base.rglob("*")
        if p.is_file() and not (_SKIP_PARTS & set(p.parts)) and p.suffix not in (".pyc", ".retry")
    )


def _label(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path.resolve())


def manifest(job: Job) -> dict[str, str]:
    root = project_root()
    files: list[Path] = [job.playbook_path()]
    for d in CONTENT_DIRS:
        files.extend(_walk(root / d))
    files.extend(root / f for f in CONTENT_FILES)
    files.extend(_walk(job.inventory_path()))
    out: dict[str, str] = {}
    for f in files:
        label = _label(f, root)
        out[label] = _file_hash(f) if f.is_file() else "missing"
    return dict(sorted(out.items()))


def content_digest(job: Job, limit: str | None, extravars: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
    """Return ("sha256:<hex>", manifest)."""
    from ansible.release import __version__ as ansible_core_version

    files = manifest(job)
    body = {
        "ansible_core": ansible_core_version,
        "job": job.definition(),
        "limit": limit,
        "extravars": extravars or {},
        "files": files,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest(), files


def changed_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))

"""The content digest of a job: every file Ansible reads for the run, and the job itself.

Covered: the job definition from the catalogue; the playbook and the folders Ansible reads beside
it (group_vars, host_vars, roles, library, module_utils, *_plugins, collections, and the usual
tasks/vars/files/templates/handlers); every file under playbooks/, roles/, plugins/ and meta/,
galaxy.yml (the collection version) and ansible.cfg of the collection root; the collections on the
collection path yunwei sets (``.collections/``, each link *and* its target's content); the
``yunwei`` package the collection's plugins import on the controller (docs/packaging.md: the
journal, the check catalogue and the judge live there, not under plugins/); the
inventory (a folder, or a file with the group_vars/host_vars beside it); the ansible-core and
ansible versions; the limit and the extra vars.

Symbolic links are followed (the layout of every non-default lab links group_vars) and each one is
recorded with its target, so re-pointing a link changes the digest as much as editing a file.

The manifest (label -> sha256, or ``link:<target>``) is kept with the request, so a mismatch names
the files that changed. In admin mode every file and folder of the manifest must also be
root-owned and not writable by group or others (config.py): an operator cannot change what runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import yunwei
from yunwei.errors import InputError
from yunwei.jobs import Job
from yunwei.paths import project_root

CONTENT_DIRS = ("playbooks", "roles", "plugins", "meta")
CONTENT_FILES = ("galaxy.yml", "ansible.cfg")
BESIDE_INVENTORY = ("group_vars", "host_vars")
BESIDE_PLAYBOOK = ("group_vars", "host_vars", "roles", "library", "module_utils", "action_plugins",
                   "callback_plugins", "connection_plugins", "filter_plugins", "lookup_plugins", "test_plugins",
                   "vars_plugins", "collections", "tasks", "handlers", "vars", "files", "templates")
COLLECTIONS_DIR = ".collections"
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".git"}


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Manifest:
    def __init__(self, root: Path, strict: bool) -> None:
        self.root = root
        self.strict = strict
        self.files: dict[str, str] = {}
        self.untrusted: list[str] = []

    def label(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def _check(self, path: Path, st: os.stat_result) -> None:
        if self.strict and (st.st_uid != 0 or st.st_mode & 0o022) and not stat.S_ISLNK(st.st_mode):
            self.untrusted.append(f"{path} (owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o})")

    def add(self, path: Path, *, top: bool = True, seen: frozenset[str] = frozenset()) -> None:
        """Add ``path`` (a file or a folder, walked), following links and recording them."""
        path = Path(os.path.abspath(path))
        if _SKIP_PARTS & set(path.parts) or path.suffix in (".pyc", ".retry"):
            return
        if top and self.strict:
            from yunwei.config import untrusted_reason

            reason = untrusted_reason(path) if path.exists() else None
            if reason:
                self.untrusted.append(reason)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            if top:
                self.files[self.label(path)] = "missing"
            return
        self._check(path, st)
        if stat.S_ISLNK(st.st_mode):
            target = os.path.realpath(path)
            self.files[self.label(path)] = "link:" + target
            if target in seen:
                return  # a loop
            if self.strict:
                from yunwei.config import untrusted_reason

                reason = untrusted_reason(Path(target))
                if reason:
                    self.untrusted.append(f"{path} -> {reason}")
            seen = seen | {target}
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return
        if stat.S_ISDIR(st.st_mode):
            for child in sorted(os.listdir(path)):
                self.add(path / child, top=False, seen=seen | {os.path.realpath(path)})
        elif stat.S_ISREG(st.st_mode):
            self.files[self.label(path)] = _file_hash(path)


def _collections(m: _Manifest) -> None:
    """Each collection on the path yunwei gives ansible-runner: its link, and its content unless
    the link points at this collection root (whose content dirs are covered already)."""
    base = m.root / COLLECTIONS_DIR / "ansible_collections"
    if not base.is_dir():
        return
    for ns in sorted(base.iterdir()):
        if not ns.is_dir():
            continue
        for coll in sorted(ns.iterdir()):
            target = Path(os.path.realpath(coll))
            if target == m.root:
                m.files[m.label(coll)] = "link:" + str(target)
            else:
                m.add(coll)


def package_dir() -> Path:
    """The ``yunwei`` package the job's plugins import: this one, as the runner starts
    ansible-playbook from this Python's environment (runner/env.py)."""
    return Path(yunwei.__file__).resolve().parent


def manifest(job: Job) -> dict[str, str]:
    from yunwei.config import admin_config

    root = project_root()
    m = _Manifest(root, strict=admin_config() is not None)
    playbook = job.playbook_path()
    m.add(playbook)
    for name in BESIDE_PLAYBOOK:
        if (playbook.parent / name).exists():
            m.add(playbook.parent / name)
    for d in CONTENT_DIRS:
        if (root / d).exists():
            m.add(root / d)
    for f in CONTENT_FILES:
        m.add(root / f)
    _collections(m)
    m.add(package_dir())
    inventory = job.inventory_path()
    m.add(inventory)
    if inventory.is_file():
        for name in BESIDE_INVENTORY:
            if (inventory.parent / name).exists():
                m.add(inventory.parent / name)
    if m.untrusted:
        raise InputError(job.source, f"jobs.{job.name}", "a file this job reads can be written by someone other "
                                                         f"than root: {m.untrusted[0]}")
    return dict(sorted(m.files.items()))


def _versions() -> dict[str, str]:
    from importlib import metadata

    from ansible.release import __version__ as ansible_core_version

    try:
        ansible_version = metadata.version("ansible")
    except metadata.PackageNotFoundError:
        ansible_version = ""
    return {"ansible_core": ansible_core_version, "ansible": ansible_version}


def content_digest(job: Job, limit: str | None, extravars: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
    """Return ("sha256:<hex>", manifest)."""
    files = manifest(job)
    body = {
        **_versions(),
        "job": job.definition(),
        "limit": limit,
        "extravars": extravars or {},
        "files": files,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest(), files


def changed_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))

"""The job catalogue: which playbook each job runs, on which inventory, and its class.

The catalogue is ``<root>/jobs.yml``; a site catalogue is loaded on top of it and replaces entries of
the same name: in admin mode the one the administrator's configuration names (``--jobs`` and
``$YUNWEI_JOBS`` are refused there), in lab mode ``--jobs FILE`` or ``$YUNWEI_JOBS``. Relative paths resolve against the
collection root. Validation never requires a playbook to exist: that is checked when a job runs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yunwei.catalogue import catalogue
from yunwei.errors import InputError
from yunwei.paths import project_root, var_dir
from yunwei.yamlfile import load_yaml

READ_ONLY = "read-only"
CHANGE = "change"
JOB_CLASSES = (READ_ONLY, CHANGE)
# Inspection profiles (the role's inspection_profile), from the check catalogue's vocabulary: a job
# with a profile is an inspection.
PROFILES = tuple(catalogue().profiles)
# Every job is bounded: seconds per job class unless the job (or the catalogue's
# defaults.timeout) says otherwise; on expiry the runner sends TERM to the job's process group
# and KILL after KILL_GRACE seconds (docs/runner.md, "Timeouts").
DEFAULT_TIMEOUTS = {READ_ONLY: 1800, CHANGE: 3600}
KILL_GRACE = 30
# The repository's lab inventory; with $YUNWEI_LAB_NAME set to another lab it stands for that
# lab's generated inventory (var/labs/NAME/inventory), never for the empty committed folder.
LAB_INVENTORY = "inventories/lab"
DEFAULT_LAB = "yunwei"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_KEYS = {"class", "playbook", "inventory", "vars", "limit", "description", "profile", "timeout", "secret_vars",
         "extra_vars", "kill_grace"}


@dataclass(frozen=True)
class Job:
    name: str
    job_class: str
    playbook: str
    inventory: str
    vars: dict[str, Any] = field(default_factory=dict)
    limit: str | None = None
    description: str = ""
    profile: str | None = None
    timeout: int | None = None  # seconds; the catalogue fills in its class default
    secret_vars: tuple[str, ...] = ()  # extra vars whose values never reach var/ (sealed in requests)
    extra_vars: tuple[str, ...] = ()  # names (fnmatch patterns) an operator may pass with -e
    source: str = ""
    kill_grace: int = KILL_GRACE  # seconds between TERM and KILL when the timeout expires

    @property
    def is_change(self) -> bool:
        return self.job_class == CHANGE

    def playbook_path(self) -> Path:
        return _resolve(self.playbook)

    def inventory_path(self) -> Path:
        return _lab_inventory(_resolve(self.inventory))

    def definition(self) -> dict[str, Any]:
        """The normalised definition (what the content digest covers)."""
        return {
            "name": self.name,
            "class": self.job_class,
            "playbook": self.playbook,
            "inventory": self.inventory,
            "vars": self.vars,
            "limit": self.limit,
            "profile": self.profile,
            "timeout": self.timeout,
            "kill_grace": self.kill_grace,
            "secret_vars": list(self.secret_vars),
            "extra_vars": list(self.extra_vars),
        }


def check_profile(profile: Any, source: str, key: str | None) -> str:
    """``profile`` when it is a known inspection profile, else an InputError naming ``source`` and ``key``."""
    if not isinstance(profile, str) or profile not in PROFILES:
        raise InputError(source, key, f"unknown profile {profile!r} (choose one of {', '.join(PROFILES)})")
    return profile


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else project_root() / p


def _lab_inventory(path: Path) -> Path:
    """The lab named by $YUNWEI_LAB_NAME has its own generated inventory: the repository's lab
    inventory resolves to it (so `make demo` with another lab inspects that lab, not nothing)."""
    name = os.environ.get("YUNWEI_LAB_NAME") or DEFAULT_LAB
    if name == DEFAULT_LAB or path != _resolve(LAB_INVENTORY):
        return path
    return var_dir() / "labs" / name / "inventory"


def _seconds(value: Any, src: str, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InputError(src, key, f"must be a positive whole number of seconds, got {value!r}")
    return value


def default_catalogue_path() -> Path:
    return project_root() / "jobs.yml"


def _load_yaml(path: Path) -> Any:
    return load_yaml(path, "job catalogue")


def _parse(path: Path, data: Any) -> dict[str, Job]:
    src = str(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(src, None, "must be a mapping with a 'jobs' key")
    unknown = set(data) - {"defaults", "jobs"}
    if unknown:
        raise InputError(src, sorted(unknown)[0], "unknown top-level key (expected defaults, jobs)")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError(src, "defaults", "must be a mapping")
    for key in defaults:
        if key not in {"inventory", "vars", "timeout", "kill_grace"}:
            raise InputError(src, f"defaults.{key}", "unknown key (expected inventory, vars, timeout, kill_grace)")
    class_timeouts = dict(DEFAULT_TIMEOUTS)
    given = defaults.get("timeout") or {}
    if not isinstance(given, dict):
        raise InputError(src, "defaults.timeout", f"must map job classes ({', '.join(JOB_CLASSES)}) to seconds")
    for cls, value in given.items():
        if cls not in JOB_CLASSES:
            raise InputError(src, f"defaults.timeout.{cls}", f"unknown job class (expected {', '.join(JOB_CLASSES)})")
        class_timeouts[cls] = _seconds(value, src, f"defaults.timeout.{cls}")
    default_grace = _seconds(defaults.get("kill_grace", KILL_GRACE), src, "defaults.kill_grace")
    jobs_data = data.get("jobs") or {}
    if not isinstance(jobs_data, dict):
        raise InputError(src, "jobs", "must be a mapping of job name to definition")
    jobs: dict[str, Job] = {}
    for name, spec in jobs_data.items():
        key = f"jobs.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(src, key, "job names are lower case letters, digits, _ and -")
        if not isinstance(spec, dict):
            raise InputError(src, key, "must be a mapping")
        for k in spec:
            if k not in _KEYS:
                raise InputError(src, f"{key}.{k}", f"unknown key (expected one of {', '.join(sorted(_KEYS))})")
        job_class = spec.get("class")
        if job_class not in JOB_CLASSES:
            raise InputError(src, f"{key}.class", f"must be one of {', '.join(JOB_CLASSES)}, got {job_class!r}")
        playbook = spec.get("playbook")
        if not isinstance(playbook, str) or not playbook.endswith((".yml", ".yaml")):
            raise InputError(src, f"{key}.playbook", "must be the path of a playbook (.yml)")
        inventory = spec.get("inventory", defaults.get("inventory"))
        if not isinstance(inventory, str) or not inventory:
            raise InputError(src, f"{key}.inventory", "missing (set it here or in defaults.inventory)")
        spec_vars = spec.get("vars") or {}
        if not isinstance(spec_vars, dict):
            raise InputError(src, f"{key}.vars", "must be a mapping")
        job_vars = {**(defaults.get("vars") or {}), **spec_vars}
        limit = spec.get("limit")
        if limit is not None and not isinstance(limit, str):
            raise InputError(src, f"{key}.limit", "must be a host pattern string")
        timeout = spec.get("timeout")
        timeout = class_timeouts[job_class] if timeout is None else _seconds(timeout, src, f"{key}.timeout")
        grace = spec.get("kill_grace")
        grace = default_grace if grace is None else _seconds(grace, src, f"{key}.kill_grace")
        profile = spec.get("profile")
        if profile is not None:
            check_profile(profile, src, f"{key}.profile")
        secret_vars = spec.get("secret_vars") or []
        if not isinstance(secret_vars, list) or not all(isinstance(v, str) and v for v in secret_vars):
            raise InputError(src, f"{key}.secret_vars", "must be a list of variable names")
        extra_vars = spec.get("extra_vars") or []
        if not isinstance(extra_vars, list) or not all(isinstance(v, str) and v for v in extra_vars):
            raise InputError(src, f"{key}.extra_vars", "must be a list of variable names (patterns like inspection_*)")
        jobs[name] = Job(
            name=name,
            job_class=job_class,
            playbook=playbook,
            inventory=inventory,
            vars=job_vars,
            limit=limit,
            description=str(spec.get("description") or ""),
            profile=profile,
            timeout=timeout,
            secret_vars=tuple(secret_vars),
            extra_vars=tuple(extra_vars),
            source=src,
            kill_grace=grace,
        )
    return jobs


def site_catalogue(site: str | Path | None = None) -> Path | None:
    """The site catalogue: the admin configuration's ``jobs`` (admin mode; a different ``--jobs``
    is refused), else ``site`` or $YUNWEI_JOBS."""
    from yunwei.config import admin_config

    config = admin_config()
    if config is not None:
        if site and (config.jobs is None or Path(site).resolve() != config.jobs.resolve()):
            raise InputError("--jobs", str(site), f"the job catalogue is {config.jobs or 'the repository one'} "
                                                  f"({config.path}); another one cannot be chosen")
        return config.jobs
    chosen = site or os.environ.get("YUNWEI_JOBS")
    return Path(chosen) if chosen else None


def load_catalogue(site: str | Path | None = None) -> dict[str, Job]:
    """The repository catalogue, with the site catalogue (see :func:`site_catalogue`) on top."""
    base = default_catalogue_path()
    jobs = _parse(base, _load_yaml(base)) if base.is_file() else {}
    site_path = site_catalogue(site)
    if site_path:
        site_jobs = _parse(site_path, _load_yaml(site_path))
        _check_site(site_path, jobs, site_jobs)
        jobs.update(site_jobs)
    return jobs


def playbook_digest(job: Job) -> str | None:
    """SHA-256 of the playbook's content (None if it does not exist): a copy or a hard link of a
    change job's playbook is the same playbook, whatever its path."""
    try:
        return hashlib.sha256(job.playbook_path().read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


def change_playbook_of(job: Job, jobs: Iterable[Job]) -> Job | None:
    """The change job whose playbook ``job`` runs (same path or same content), if any."""
    if job.is_change:
        return None
    mine = playbook_digest(job)
    path = job.playbook_path().resolve()
    for other in jobs:
        if other.is_change and (other.playbook_path().resolve() == path
                                or (mine is not None and playbook_digest(other) == mine)):
            return other
    return None


def _check_site(site_path: Path, repo_jobs: dict[str, Job], site_jobs: dict[str, Job]) -> None:
    """A site catalogue must not take a change job out of two-person review: it may not change
    the class of a repository change job, nor run a change job's playbook as a read-only job."""
    src = str(site_path)
    for name, job in site_jobs.items():
        base = repo_jobs.get(name)
        if base is not None and base.is_change and job.job_class != CHANGE:
            raise InputError(src, f"jobs.{name}.class", f"{name} is a change job in {base.source}; "
                             "a site catalogue cannot make it read-only (changes need two-person review)")
    every = [*repo_jobs.values(), *site_jobs.values()]
    for name, job in site_jobs.items():
        other = change_playbook_of(job, every)
        if other is not None:
            raise InputError(src, f"jobs.{name}.playbook", f"{job.playbook} is the playbook of change job "
                             f"{other.name} ({other.source}; same path or same content); it cannot run as a "
                             "read-only job")


def get_job(name: str, site: str | Path | None = None) -> Job:
    """The job called ``name``; ``backup-verify`` finds ``backup_verify`` (job names have no hyphen,
    while operators and the contract's documents often write one). Callers record ``job.name``."""
    jobs = load_catalogue(site)
    if name not in jobs and name.replace("-", "_") in jobs:
        name = name.replace("-", "_")
    if name not in jobs:
        src = str(site_catalogue(site) or default_catalogue_path())
        known = ", ".join(sorted(jobs)) or "none"
        raise InputError(src, f"jobs.{name}", f"unknown job (known: {known})")
    return jobs[name]

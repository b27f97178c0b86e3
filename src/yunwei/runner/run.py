"""Build a private data dir for one job run and run it through the ansible_runner Python API.

Secrets never land in var/: extra vars (``-e``) go through a 0600 file in a private temporary
directory *outside* var/ that is deleted when the run ends; ansible-runner's own env files are
suppressed; the ``command`` artifact is rewritten to keep only the variables yunwei set (a store
URL's password redacted); ``ansible_facts`` are dropped from every event before ansible-runner
writes it and the fact cache stays in memory.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from yunwei.errors import InputError, YunweiError
from yunwei.jobs import Job
from yunwei.paths import project_root, vault_password_file, var_dir
from yunwei.runner.env import job_envvars, operator
from yunwei.runner.progress import Collector
from yunwei.store.base import redact_url


@dataclass
class RunResult:
    run_id: str
    job: str
    status: str  # successful | failed | timeout | canceled
    rc: int
    artifact_dir: Path
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def stdout(self) -> str:
        try:
            return (self.artifact_dir / "stdout").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "job": self.job, "status": self.status, "rc": self.rc, "stats": self.stats}


def runner_dir() -> Path:
    return var_dir() / "runner"


def _scrub_command_artifact(artifact_dir: Path, keep: set[str]) -> None:
    """ansible-runner stores the whole process environment; keep only what yunwei set."""
    path = artifact_dir / "command"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return
    env = data.get("env") or {}
    data["env"] = {k: v for k, v in env.items() if k in keep}
    if data["env"].get("YUNWEI_STORE"):  # a postgresql:// URL may carry a password
        data["env"]["YUNWEI_STORE"] = redact_url(data["env"]["YUNWEI_STORE"])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _drop_facts(event: dict[str, Any]) -> None:
    """Remove ``ansible_facts`` (set_fact / include_vars values, possibly vaulted; gathered facts
    with ansible_env) from an event's result, including each loop item's result. ansible-runner
    calls the event handler *before* it writes the event to artifacts/job_events/, and writes
    the (mutated) dict it passed."""
    res = (event.get("event_data") or {}).get("res")
    if not isinstance(res, dict):
        return
    res.pop("ansible_facts", None)
    for item in res.get("results") or ():
        if isinstance(item, dict):
            item.pop("ansible_facts", None)


def _event_handler(collector: Collector) -> Any:
    def handle(event: dict[str, Any]) -> bool:
        _drop_facts(event)
        should_write = collector.event(event)
        return True if should_write is None else bool(should_write)

    return handle


def run_job(
    job: Job,
    *,
    limit: str | None = None,
    extravars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = False,
    content_digest: str = "",
    operator_name: str | None = None,
    run_id: str | None = None,
    profile: str | None = None,
    quiet: bool = False,
    collector: Collector | None = None,
) -> RunResult:
    """Run ``job`` once; returns when ansible-playbook has finished."""
    playbook = job.playbook_path()
    if not playbook.is_file():
        raise InputError(job.source, f"jobs.{job.name}.playbook", f"playbook {playbook} does not exist")
    inventory = job.inventory_path()
    if not inventory.exists():
        raise InputError(job.source, f"jobs.{job.name}.inventory", f"inventory {inventory} does not exist")
    run_id = run_id or str(uuid.uuid4())
    operator_name = operator_name or operator()
    private = runner_dir() / run_id
    private.mkdir(parents=True, mode=0o700)
    envvars = job_envvars(
        run_id=run_id,
        job=job.name,
        profile=profile or job.profile,
        operator_name=operator_name,
        content_digest=content_digest,
    )
    collector = collector or Collector(quiet=quiet)
    all_vars = {**job.vars, **(extravars or {})}
    secret_dir = tempfile.mkdtemp(prefix="yunwei-run-")  # 0700, outside var/
    try:
        cmdline: list[str] = []
        if all_vars:
            vars_file = Path(secret_dir) / "extravars.json"
            fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(all_vars, fh)
            cmdline += ["-e", f"@{vars_file}"]
        vault = vault_password_file()
        if vault is not None:  # vaulted inventory variables (e.g. the backup passphrases)
            cmdline += ["--vault-password-file", str(vault)]
        if check:
            cmdline.append("--check")
        if diff:
            cmdline.append("--diff")
        kwargs: dict[str, Any] = {
            "private_data_dir": str(private),
            "project_dir": str(project_root()),
            "ident": "artifacts",
            "artifact_dir": str(private),
            "playbook": str(playbook),
            "inventory": str(inventory),
            "envvars": envvars,
            "suppress_env_files": True,
            "quiet": True,
            "event_handler": _event_handler(collector),
            "fact_cache_type": "memory",  # no artifacts/fact_cache/ (facts may hold secrets)
            "status_handler": collector.status,
        }
        effective_limit = limit or job.limit
        if effective_limit:
            kwargs["limit"] = effective_limit
        if cmdline:
            kwargs["cmdline"] = " ".join(shlex.quote(a) for a in cmdline)
        if job.timeout:
            kwargs["timeout"] = job.timeout
        try:
            runner = ansible_runner.run(**kwargs)
        except Exception as exc:  # ansible-runner configuration errors
            raise YunweiError(f"ansible-runner could not start job {job.name}: {exc}") from exc
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
    artifact_dir = private / "artifacts"
    _scrub_command_artifact(artifact_dir, set(envvars))
    return RunResult(
        run_id=run_id,
        job=job.name,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else 1),
        artifact_dir=artifact_dir,
        stats=collector.stats,
        changes=collector.changes,
        failures=collector.failures,
    )

"""Build a private data dir for one job run and run it through the ansible_runner Python API.

Secrets never land in var/: extra vars (``-e``) go through a 0600 file in a private folder in
memory, *outside* var/, removed when the run ends or its process dies (runner/secrets.py); the job
gets only the environment yunwei builds (runner/env.py); ansible-runner's own env files are
suppressed; the ``command`` artifact is rewritten to keep only the variables yunwei set (a store
URL's password redacted); ``ansible_facts`` are dropped from every event before ansible-runner
writes it and the fact cache stays in memory.

Every run is bounded (:mod:`yunwei.runner.watchdog`: TERM to every process of the job when its
timeout expires, KILL after the grace period) and ends with a truthful journal record: a run the
journal could not close itself — ansible-playbook failed before the playbook started, died, or
was ended on its timeout — is settled here as ``failed``, ``interrupted`` or ``timeout`` with
its reason.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from yunwei.errors import InputError, YunweiError
from yunwei.jobs import Job
from yunwei.paths import project_root, vault_password_file, var_dir
from yunwei.runner.env import exact_environ, job_envvars, operator
from yunwei.runner.precheck import check_inventory
from yunwei.runner.progress import Collector
from yunwei.runner.secrets import private_dir
from yunwei.runner.watchdog import Watchdog
from yunwei.store.base import redact_text, redact_url

# ansible-runner's own timeout (an immediate SIGKILL of the group) stays as a last resort this many
# seconds after the watchdog's TERM + grace
_RUNNER_BACKSTOP = 60


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
    journal_status: str = ""  # the run in the journal: ok | failed | interrupted | timeout ('' unknown)
    reason: str = ""  # why the run is not ok (journal)
    input_errors: list[str] = field(default_factory=list)  # bad input refused before any host was contacted

    @property
    def ok(self) -> bool:
        """The run did its job: ansible-playbook succeeded and the journal records it as completed
        (a run that matched or reached no host exits 0 from Ansible but is failed here)."""
        return self.status == "successful" and self.rc == 0 and self.journal_status in ("ok", "")

    def stdout(self) -> str:
        try:
            return (self.artifact_dir / "stdout").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "job": self.job, "status": self.status, "rc": self.rc, "stats": self.stats,
                "journal_status": self.journal_status, "reason": self.reason, "input_errors": self.input_errors}


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


def _unsafe(extravars: dict[str, Any] | None) -> dict[str, Any]:
    """Mark string values unsafe (ansible's JSON form of ``!unsafe``): a value like
    ``{{ lookup('pipe', ...) }}`` stays text instead of running on the controller."""

    def mark(value: Any) -> Any:
        if isinstance(value, str):
            return {"__ansible_unsafe": value}
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    return {k: mark(v) for k, v in (extravars or {}).items()}


def _event_handler(collector: Collector, watch: Any = None) -> Any:
    def handle(event: dict[str, Any]) -> bool:
        if watch is not None and isinstance(event.get("pid"), int):
            watch(event["pid"])  # ansible-playbook: stopped by the guard if yunwei dies
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
    untrusted_vars: bool = False,
    var_sources: dict[str, str] | None = None,
) -> RunResult:
    """Run ``job`` once; returns when ansible-playbook has finished (or was ended on its timeout).

    ``untrusted_vars``: the extra vars reach the playbook as unsafe values (never templated: no
    lookups). ``var_sources`` (variable -> where the operator gave it, e.g. ``-e @file.yml``) lets a
    validation message name that file instead of the private temporary file the vars travel in.
    """
    playbook = job.playbook_path()
    if not playbook.is_file():
        raise InputError(job.source, f"jobs.{job.name}.playbook", f"playbook {playbook} does not exist")
    inventory = job.inventory_path()
    if not inventory.exists():
        hint = " (is the lab up? `yunwei lab up`)" if "labs" in inventory.parts else ""
        raise InputError(job.source, f"jobs.{job.name}.inventory", f"inventory {inventory} does not exist{hint}")
    check_inventory(inventory)
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
    all_vars = {**job.vars, **(_unsafe(extravars) if untrusted_vars else (extravars or {}))}
    sources = {**{k: f"{job.source}: jobs.{job.name}.vars" for k in job.vars}, **(var_sources or {})}
    started = time.time()
    watchdog = Watchdog(run_id, job.timeout, job.kill_grace) if job.timeout else None
    with private_dir() as secret:  # 0700, in memory, outside var/; gone, and the run stopped, after SIGKILL
        # a private ANSIBLE_HOME: no plugins, roles or vars plugins from the operator's ~/.ansible
        envvars["ANSIBLE_HOME"] = str(secret.path / "ansible")
        vars_file = secret.path / "extravars.json"
        cmdline: list[str] = []
        if all_vars:
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
            "event_handler": _event_handler(collector, secret.watch),
            "fact_cache_type": "memory",  # no artifacts/fact_cache/ (facts may hold secrets)
            "status_handler": collector.status,
        }
        effective_limit = limit or job.limit
        if effective_limit:
            kwargs["limit"] = effective_limit
        if cmdline:
            kwargs["cmdline"] = " ".join(shlex.quote(a) for a in cmdline)
        if job.timeout:
            kwargs["timeout"] = job.timeout + job.kill_grace + _RUNNER_BACKSTOP
        if watchdog is not None:
            watchdog.start()
        try:
            with exact_environ(envvars):  # nothing of the operator's environment reaches the job
                runner = ansible_runner.run(**kwargs)
        except Exception as exc:  # ansible-runner configuration errors
            raise YunweiError(f"ansible-runner could not start job {job.name}: {exc}") from exc
        finally:
            if watchdog is not None:
                watchdog.stop()
    artifact_dir = private / "artifacts"
    _scrub_command_artifact(artifact_dir, set(envvars))
    status = "timeout" if (watchdog is not None and watchdog.fired) else str(runner.status)
    result = RunResult(
        run_id=run_id,
        job=job.name,
        status=status,
        rc=int(runner.rc if runner.rc is not None else 1),
        artifact_dir=artifact_dir,
        stats=collector.stats,
        changes=collector.changes,
        failures=collector.failures,
        input_errors=[_name_sources(m, vars_file, sources) for m in collector.input_errors],
    )
    if status == "timeout":
        result.rc = result.rc or 124
        reason = (f"timed out after {job.timeout} s (jobs.{job.name}.timeout): the runner ended the job's "
                  "processes with TERM" + (f" and, {job.kill_grace} s later, KILL" if watchdog.killed else ""))
    elif result.rc != 0 and not result.input_errors:
        reason = _error_lines(result.stdout()) or f"ansible-playbook exited {result.rc}"
    else:
        reason = ""
    if result.input_errors:
        reason = ("bad input, nothing changed (read-only pre-flight only): " if collector.preflight
                  else "bad input, no host contacted: ") + "; ".join(result.input_errors)
    result.journal_status, result.reason = _settle_journal(
        envvars["YUNWEI_STORE"], job, run_id=run_id, profile=envvars["YUNWEI_PROFILE"], operator_name=operator_name,
        digest=content_digest, started=started, status=status, reason=reason, input_error=bool(result.input_errors))
    return result


def _name_sources(message: str, vars_file: Path, sources: dict[str, str]) -> str:
    """``message`` with the private extra-vars file replaced by where each variable came from."""
    pattern = re.compile(r" ?\(" + re.escape(str(vars_file)) + r"(?::\d+){0,2}\)")
    parts = []
    for part in message.split("; "):
        var = re.match(r"[A-Za-z_][A-Za-z0-9_]*", part)
        where = sources.get(var.group(0), "-e") if var else "-e"
        parts.append(pattern.sub(f" ({where})", part))
    return "; ".join(parts)


def _error_lines(stdout: str) -> str:
    """The error Ansible printed (``[ERROR]: ...`` / ``ERROR! ...`` and what follows), for a reason."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip() for line in stdout.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith(("[ERROR]", "ERROR!")):
            return " ".join(x.strip() for x in lines[i:i + 4] if x.strip())[:1000]
    return ""


def _settle_journal(store_url: str, job: Job, *, run_id: str, profile: str, operator_name: str, digest: str,
                    started: float, status: str, reason: str, input_error: bool = False) -> tuple[str, str]:
    """Make the journal tell the truth about run ``run_id``; returns its (status, reason).

    The journal callback records and closes a run itself. What it cannot see is settled here: a
    timeout (the callback saw only a TERM), a run it never began (ansible-playbook failed before
    the playbook started: unparsable inventory, syntax error), one it never closed (the process
    died). This runs in the yunwei process, never in an Ansible worker.
    """
    from yunwei.store import Run, open_store

    try:
        with open_store(store_url) as store:
            run = store.get_run(run_id)
            template = Run(id=run_id, playbook=str(job.playbook_path()), job=job.name, profile=profile,
                           operator=operator_name, started_at=started, status="running", content_digest=digest)
            if status == "timeout":
                store.settle_run(template, "timeout", reason)
            elif run is None and status == "successful":
                return "", "the journal did not record this run (is the yunwei.ops.journal callback loaded?)"
            elif run is None:
                store.settle_run(template, "failed", reason or "ansible-playbook ended before the playbook started")
            elif run.status == "running":
                store.settle_run(template, "interrupted", reason or "ansible-playbook ended without closing the run")
            elif input_error and run.status == "failed":  # name the operator's files, not our temporary one
                store.set_reason(run_id, reason)
            run = store.get_run(run_id)
            return (run.status, run.reason) if run else ("", reason)
    except Exception as exc:  # the run's own outcome stands; say why the journal could not confirm it
        return "", reason or f"journal store not readable: {type(exc).__name__}: {redact_text(str(exc), store_url)}"

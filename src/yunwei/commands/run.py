"""``yunwei run JOB`` (read-only jobs) and ``yunwei jobs`` (the catalogue)."""

from __future__ import annotations

import argparse
import uuid

from yunwei import audit, ui
from yunwei.commands._common import add_job_args, parse_extravars, var_sources
from yunwei.errors import InputError, YunweiError
from yunwei.jobs import check_profile, get_job, load_catalogue
from yunwei.review.digest import content_digest
from yunwei.runner import RunResult, run_job
from yunwei.runner.env import operator
from yunwei.runner.policy import check_extravars, check_readonly_playbook


def run_readonly(job_name: str, *, limit: str | None = None, extravars: dict | None = None,
                 jobs_file: str | None = None, quiet: bool = False, profile: str | None = None,
                 trigger: str = "cli") -> RunResult:
    """Run a read-only job; a change job is refused (it needs two-person review)."""
    who = operator()
    try:
        job = get_job(job_name, jobs_file)
    except InputError as exc:
        audit.record("refusal", action="run", operator=who, job=job_name, reason=str(exc))
        raise
    if job.is_change:
        reason = f"job {job.name} is a change job: use `yunwei request {job.name}` (two-person review)"
        audit.record("refusal", action="run", operator=who, job=job.name, reason=reason)
        raise YunweiError(f"refused: {reason}")
    try:
        if not job.playbook_path().is_file():
            raise InputError(job.source, f"jobs.{job.name}.playbook", f"playbook {job.playbook_path()} does not exist")
        check_readonly_playbook(job, load_catalogue(jobs_file).values())
        check_extravars(job, extravars)
    except InputError as exc:
        audit.record("refusal", action="run", operator=who, job=job.name, reason=str(exc))
        raise
    sources = var_sources(extravars)
    try:
        if profile is not None:
            check_profile(profile, "--profile", None)
        extravars, profile = _with_inspection_profile(job, extravars, profile)
    except InputError as exc:
        audit.record("refusal", action="run", operator=who, job=job.name, reason=str(exc))
        raise
    digest, _ = content_digest(job, limit, extravars)
    run_id = str(uuid.uuid4())
    audit.record("execution", job=job.name, operator=who, digest=digest, run_id=run_id, limit=limit,
                 extravars=sorted((extravars or {}).keys()), trigger=trigger, profile=profile)
    try:
        result = run_job(job, limit=limit, extravars=extravars, content_digest=digest, operator_name=who,
                         run_id=run_id, profile=profile, quiet=quiet, untrusted_vars=True, var_sources=sources)
    except InputError as exc:  # refused before ansible-playbook started (e.g. a malformed inventory)
        audit.record("refusal", action="run", operator=who, job=job.name, run_id=run_id, reason=str(exc))
        raise
    record_result(job.name, who, digest, result)
    return result


def record_result(job: str, who: str, digest: str, result: RunResult) -> None:
    """The ``result`` audit record of a run: its status (``timeout`` included) and, when it is not
    ok, the journal's status and reason (no host matched, none reached, bad input, ...)."""
    extra = {} if result.ok else {"journal_status": result.journal_status, "reason": result.reason}
    audit.record("result", job=job, operator=who, digest=digest, run_id=result.run_id, status=result.status,
                 rc=result.rc, **extra)


def exit_code(result: RunResult) -> int:
    """0 when the run did its job, 2 for bad input refused before any host was contacted, else 1."""
    if result.ok:
        return 0
    return 2 if result.input_errors else 1


def report_failure(result: RunResult) -> None:
    """On stderr: why the run is not ok (the operator must not have to dig in the journal)."""
    if result.ok:
        return
    if result.input_errors:
        for msg in result.input_errors:
            for problem in msg.split("; "):
                ui.progress(f"error: {problem}")
        ui.progress(f"run {result.run_id}: refused, bad input (no host was contacted)")
        return
    ui.progress(f"run {result.run_id}: {result.journal_status or result.status}: {result.reason or 'see the journal'}")


def _with_inspection_profile(job, extravars: dict | None, profile: str | None) -> tuple[dict | None, str | None]:
    """A profile given (``--profile``, a schedule) or defaulted (the job's ``profile`` key) is the
    inspection's: the playbook gets it as ``inspection_profile`` (what the role reads), not only
    the journal label YUNWEI_PROFILE. An explicit ``-e inspection_profile=`` must agree with it."""
    given = (extravars or {}).get("inspection_profile")
    if given is not None:
        if profile and str(given) != profile:
            raise InputError("-e", "inspection_profile", f"{given!r} contradicts --profile {profile!r}")
        return extravars, profile or str(given)
    profile = profile or job.profile
    if not profile:
        return extravars, None
    return {**(extravars or {}), "inspection_profile": profile}, profile


def _cmd_run(args: argparse.Namespace) -> int:
    result = run_readonly(args.job, limit=args.limit, extravars=parse_extravars(args.extravars),
                          jobs_file=args.jobs, quiet=args.quiet, profile=args.profile)
    if args.json:
        ui.print_json({**result.summary(), "artifacts": str(result.artifact_dir), "failures": result.failures})
        return exit_code(result)
    ui.table(["host", "ok", "changed", "failed", "unreachable", "skipped"],
             [[h, s.get("ok", 0), s.get("changed", 0), s.get("failures", 0), s.get("dark", 0), s.get("skipped", 0)]
              for h, s in sorted(result.stats.items())])
    print(f"run {result.run_id}: {result.status} (rc {result.rc}); artifacts in {result.artifact_dir}")
    report_failure(result)
    return exit_code(result)


def _cmd_jobs(args: argparse.Namespace) -> int:
    jobs = load_catalogue(args.jobs)
    if args.json:
        ui.print_json({n: j.definition() | {"description": j.description} for n, j in jobs.items()})
        return 0
    ui.table(["job", "class", "playbook", "inventory", "timeout", "description"],
             [[j.name, j.job_class, j.playbook, j.inventory, f"{j.timeout} s", j.description] for j in jobs.values()])
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run a read-only job through ansible-runner")
    p.add_argument("job")
    add_job_args(p)
    p.add_argument("--profile", help="inspection profile: passed as inspection_profile and recorded in the journal (default: the job's)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_run)

    p = subparsers.add_parser("jobs", help="list (and validate) the job catalogue")
    p.add_argument("--jobs", help="site job catalogue (default $YUNWEI_JOBS)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_jobs)

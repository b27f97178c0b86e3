"""``yunwei run JOB`` (read-only jobs) and ``yunwei jobs`` (the catalogue)."""

from __future__ import annotations

import argparse
import uuid

from yunwei import audit, ui
from yunwei.commands._common import add_job_args, parse_extravars
from yunwei.errors import InputError, YunweiError
from yunwei.jobs import get_job, load_catalogue
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
    extravars, profile = _with_inspection_profile(job, extravars, profile)
    digest, _ = content_digest(job, limit, extravars)
    run_id = str(uuid.uuid4())
    audit.record("execution", job=job.name, operator=who, digest=digest, run_id=run_id, limit=limit,
                 extravars=sorted((extravars or {}).keys()), trigger=trigger, profile=profile)
    result = run_job(job, limit=limit, extravars=extravars, content_digest=digest, operator_name=who,
                     run_id=run_id, profile=profile, quiet=quiet, untrusted_vars=True)
    audit.record("result", job=job.name, operator=who, digest=digest, run_id=run_id, status=result.status, rc=result.rc)
    return result


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
    else:
        ui.table(["host", "ok", "changed", "failed", "unreachable", "skipped"],
                 [[h, s.get("ok", 0), s.get("changed", 0), s.get("failures", 0), s.get("dark", 0), s.get("skipped", 0)]
                  for h, s in sorted(result.stats.items())])
        print(f"run {result.run_id}: {result.status} (rc {result.rc}); artifacts in {result.artifact_dir}")
    return 0 if result.ok else 1


def _cmd_jobs(args: argparse.Namespace) -> int:
    jobs = load_catalogue(args.jobs)
    if args.json:
        ui.print_json({n: j.definition() | {"description": j.description} for n, j in jobs.items()})
        return 0
    ui.table(["job", "class", "playbook", "inventory", "description"],
             [[j.name, j.job_class, j.playbook, j.inventory, j.description] for j in jobs.values()])
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

"""The review workflow: request -> preview -> approve/deny (signed) -> execute (once).

Every step and every refusal goes to the audit log. Refusals raise YunweiError (exit 1), bad
input raises InputError (exit 2); in both cases the audit log gets a ``refusal`` record.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yunwei import audit
from yunwei.errors import InputError, YunweiError
from yunwei.jobs import Job, get_job
from yunwei.review import sealed, signing, store
from yunwei.review.digest import changed_files, content_digest
from yunwei.runner import run_job
from yunwei.runner.env import operator

DEFAULT_TTL_HOURS = 24.0
SCHEDULE_KIND = "schedule"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def ttl_hours() -> float:
    raw = os.environ.get("YUNWEI_APPROVAL_TTL_HOURS")
    if not raw:
        return DEFAULT_TTL_HOURS
    try:
        value = float(raw)
    except ValueError:
        raise InputError("$YUNWEI_APPROVAL_TTL_HOURS", None, f"not a number: {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError("$YUNWEI_APPROVAL_TTL_HOURS", None, f"must be a positive finite number of hours, got {raw!r}")
    try:
        dt.timedelta(hours=value) + dt.datetime.now(dt.timezone.utc)
    except OverflowError:
        raise InputError("$YUNWEI_APPROVAL_TTL_HOURS", None, f"{raw!r} hours is beyond any date") from None
    return value


def refuse(reason: str, *, request: dict[str, Any] | None = None, who: str | None = None,
           action: str, error: YunweiError | None = None) -> YunweiError:
    """Record the refusal, return the exception for the caller to raise."""
    audit.record(
        "refusal",
        action=action,
        operator=who or operator(),
        request=(request or {}).get("id"),
        job=(request or {}).get("job"),
        reason=str(error) if error else reason,
    )
    return error or YunweiError(f"refused: {reason}")


def guarded(action: str, who: str | None = None, request: dict[str, Any] | None = None) -> Callable[..., Any]:
    """Run ``fn`` and audit any InputError it raises as a refusal."""

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            raise refuse(str(exc), request=request, who=who, action=action, error=exc) from None

    return call


# -- digest per kind ------------------------------------------------------------------------

def _digest(req: dict[str, Any], job: Job | None) -> tuple[str, dict[str, str]]:
    if req.get("kind") == SCHEDULE_KIND:
        from yunwei.schedule.active import proposed_digest

        return proposed_digest(req.get("schedule_file"))
    assert job is not None
    return content_digest(job, req.get("limit"), sealed.digest_vars(req))


def _signed_fields(req: dict[str, Any], decision: str, signer: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    fields = {
        "request": req["id"],
        "kind": req.get("kind", "job"),
        "job": req["job"],
        "digest": req["digest"],
        "requester": req["requester"],
        "signer": signer,
        "decision": decision,
        "created": req["created"],
    }
    fields.update(extra or {})
    return fields


def _sign_checked(fields: dict[str, str], signer: str, key: str | None) -> str:
    allowed = signing.require_signer(signer)
    key_path = signing.signing_key_path(key)
    signature = signing.sign(fields, key_path)
    if not signing.verify(fields, signature, signer, allowed):
        raise InputError(str(allowed), signer, f"the key {key_path} is not the key allowed_signers holds for {signer!r}")
    return signature


# -- request --------------------------------------------------------------------------------

def create_request(job_name: str, *, limit: str | None = None, extravars: dict[str, Any] | None = None,
                   key: str | None = None, jobs_file: str | None = None, quiet: bool = False,
                   schedule_file: str | None = None) -> dict[str, Any]:
    who = operator()
    call = guarded("request", who)
    request_id = "req-" + secrets.token_hex(6)
    now = _now()
    req: dict[str, Any] = {"id": request_id, "requester": who, "created": _iso(now), "limit": limit,
                           "extravars": extravars or {}}
    secret_values: dict[str, Any] = {}
    job: Job | None = None
    if job_name == SCHEDULE_KIND:
        req.update(kind=SCHEDULE_KIND, job=SCHEDULE_KIND)
        from yunwei.schedule.active import resolve_schedule_file

        req["schedule_file"] = str(call(resolve_schedule_file, schedule_file))
    else:
        job = call(get_job, job_name, jobs_file)
        if not job.is_change:
            raise refuse(f"job {job.name} is read-only: run it with `yunwei run {job.name}`",
                         who=who, action="request", request={"job": job.name})
        req.update(kind="job", job=job.name, jobs_file=jobs_file or os.environ.get("YUNWEI_JOBS"))
        if not job.playbook_path().is_file():
            raise refuse("", request=req, who=who, action="request", error=InputError(
                job.source, f"jobs.{job.name}.playbook", f"playbook {job.playbook_path()} does not exist"))
        req["extravars"], secret_values = sealed.split(extravars or {}, job.secret_vars)
        if secret_values:
            req["secret_salt"] = sealed.new_salt()
            req["sealed_vars"] = {k: sealed.seal(v, req["secret_salt"]) for k, v in secret_values.items()}
    req["digest"], req["manifest"] = call(_digest, req, job)
    req["signature"] = call(_sign_checked, _signed_fields(req, "request", who), who, key)
    d = store.requests_dir() / request_id
    store.write(d / "request.json", req, exclusive=True)
    audit.record("request", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 limit=limit, extravars=sorted((extravars or {}).keys()), sealed=sorted(secret_values) or None)
    preview = _preview(req, job, quiet=quiet, secret_values=secret_values)
    store.write(d / "preview.json", preview)
    audit.record("preview", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 run_id=preview.get("run_id"), status=preview.get("status"), changed=len(preview.get("changes", [])))
    return req


def _preview(req: dict[str, Any], job: Job | None, *, quiet: bool,
             secret_values: dict[str, Any] | None = None) -> dict[str, Any]:
    if req.get("kind") == SCHEDULE_KIND:
        from yunwei.schedule.active import preview_change

        return preview_change(req["schedule_file"])
    assert job is not None
    result = run_job(job, limit=req.get("limit"), extravars={**req["extravars"], **(secret_values or {})},
                     check=True, diff=True,
                     content_digest=req["digest"], operator_name=req["requester"], profile="preview", quiet=quiet)
    return {
        "run_id": result.run_id, "status": result.status, "rc": result.rc, "stats": result.stats,
        "changes": result.changes, "failures": result.failures, "artifacts": str(result.artifact_dir),
        "stdout": result.stdout(),
    }


def load(request_id: str) -> tuple[Path, dict[str, Any]]:
    d = store.request_dir(request_id)
    req = store.read(d / "request.json")
    assert req is not None
    return d, req


def show(request_id: str) -> dict[str, Any]:
    d, req = load(request_id)
    return {
        "request": req,
        "state": store.state(d),
        "preview": store.read(d / "preview.json"),
        "approval": store.read(d / "approval.json"),
        "denial": store.read(d / "denial.json"),
        "execution": store.read(d / "execution.json"),
    }


def _job_for(req: dict[str, Any]) -> Job | None:
    if req.get("kind") == SCHEDULE_KIND:
        return None
    return get_job(req["job"], req.get("jobs_file"))


def _check_current_digest(req: dict[str, Any], action: str, who: str) -> None:
    digest, files = guarded(action, who, req)(lambda: _digest(req, _job_for(req)))
    if digest != req["digest"]:
        changed = changed_files(req.get("manifest") or {}, files)
        detail = f" (changed: {', '.join(changed[:10])})" if changed else " (job definition, limit or vars changed)"
        raise refuse(f"content digest differs from the reviewed one{detail}", request=req, who=who, action=action)


def _request_signature_ok(req: dict[str, Any]) -> bool:
    return signing.verify(_signed_fields(req, "request", req["requester"]), str(req.get("signature", "")),
                          req["requester"])


# -- decisions ------------------------------------------------------------------------------

def approve(request_id: str, *, key: str | None = None) -> dict[str, Any]:
    who = operator()
    d, req = guarded("approve", who)(load, request_id)
    state = store.state(d)
    if state != "pending":
        raise refuse(f"request {request_id} is {state}", request=req, who=who, action="approve")
    if not _request_signature_ok(req):
        raise refuse("the request's signature does not verify (request file edited?)", request=req, who=who,
                     action="approve")
    if who == req["requester"]:
        raise refuse("requester and approver are the same person (双人复核 needs a second operator)",
                     request=req, who=who, action="approve")
    _check_current_digest(req, "approve", who)
    expires = _now() + dt.timedelta(hours=guarded("approve", who, req)(ttl_hours))
    fields = _signed_fields(req, "approve", who, {"expires": _iso(expires)})
    signature = guarded("approve", who, req)(_sign_checked, fields, who, key)
    approval = {"approver": who, "time": _iso(_now()), "expires": fields["expires"], "fields": fields, "signature": signature}
    try:
        store.write(d / "approval.json", approval, exclusive=True)
    except FileExistsError:  # a concurrent approval won
        raise refuse(f"request {request_id} was approved meanwhile", request=req, who=who, action="approve") from None
    audit.record("approval", request=request_id, job=req["job"], operator=who, digest=req["digest"], expires=fields["expires"])
    return approval


def deny(request_id: str, reason: str, *, key: str | None = None) -> dict[str, Any]:
    who = operator()
    d, req = guarded("deny", who)(load, request_id)
    if not reason.strip():
        raise refuse("a denial needs --reason", request=req, who=who, action="deny",
                     error=InputError("--reason", None, "must not be empty"))
    state = store.state(d)
    if state.startswith("executed") or state == "denied":
        raise refuse(f"request {request_id} is {state}", request=req, who=who, action="deny")
    fields = _signed_fields(req, "deny", who, {"reason": reason})
    signature = guarded("deny", who, req)(_sign_checked, fields, who, key)
    denial = {"operator": who, "time": _iso(_now()), "reason": reason, "fields": fields, "signature": signature}
    try:
        store.write(d / "denial.json", denial, exclusive=True)
    except FileExistsError:
        raise refuse(f"request {request_id} was denied meanwhile", request=req, who=who, action="deny") from None
    audit.record("denial", request=request_id, job=req["job"], operator=who, digest=req["digest"], reason=reason)
    return denial


# -- execute --------------------------------------------------------------------------------

def execute(request_id: str, *, quiet: bool = False, now: dt.datetime | None = None,
            secret_values: dict[str, Any] | None = None) -> dict[str, Any]:
    who = operator()
    d, req = guarded("execute", who)(load, request_id)

    def no(reason: str) -> YunweiError:
        return refuse(reason, request=req, who=who, action="execute")

    if not _request_signature_ok(req):
        raise no("the request's signature does not verify (request file edited?)")
    if (d / "execution.json").exists():
        raise no(f"request {request_id} already ran")
    if (d / "denial.json").exists():
        denial = store.read(d / "denial.json") or {}
        raise no(f"request {request_id} was denied by {denial.get('operator')}: {denial.get('reason')}")
    approval = store.read(d / "approval.json")
    if approval is None:
        raise no(f"request {request_id} has no approval")
    approver = str(approval.get("approver", ""))
    expected = _signed_fields(req, "approve", approver, {"expires": str(approval.get("expires", ""))})
    if not signing.verify(expected, str(approval.get("signature", "")), approver):
        raise no(f"the approval by {approver!r} does not verify against allowed_signers (approval edited or forged?)")
    if approver == req["requester"]:
        raise no("requester and approver are the same person")
    if (now or _now()) >= _parse_iso(expected["expires"]):
        raise no(f"the approval expired at {expected['expires']}")
    _check_current_digest(req, "execute", who)
    secret_values = guarded("execute", who, req)(sealed.unseal_check, req, secret_values or {})
    try:
        store.write(d / "execution.json", {"operator": who, "started": _iso(_now()), "status": "running"}, exclusive=True)
    except FileExistsError:
        raise no(f"request {request_id} already ran") from None
    audit.record("execution", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 requester=req["requester"], approver=approver)
    if req.get("kind") == SCHEDULE_KIND:
        from yunwei.schedule.active import activate

        outcome = activate(req, approver=approver, operator_name=who)
        status, rc, run_id, extra = "successful", 0, None, {"schedule": outcome}
    else:
        job = _job_for(req)
        assert job is not None
        try:
            result = run_job(job, limit=req.get("limit"), extravars={**req["extravars"], **secret_values}, diff=True,
                             content_digest=req["digest"], operator_name=who, quiet=quiet)
            status, rc, run_id = result.status, result.rc, result.run_id
            extra = {"stats": result.stats, "changes": result.changes, "failures": result.failures,
                     "artifacts": str(result.artifact_dir)}
        except YunweiError as exc:
            status, rc, run_id, extra = "error", 1, None, {"error": str(exc)}
    # the digest is checked just before the run; a change *during* the run is recorded, not hidden
    try:
        after, _ = _digest(req, _job_for(req))
    except InputError:
        after = "unreadable"
    changed_during_run = after != req["digest"]
    execution = {"operator": who, "started": (store.read(d / "execution.json") or {}).get("started"),
                 "ended": _iso(_now()), "status": status, "rc": rc, "run_id": run_id, **extra}
    if changed_during_run:
        execution["digest_after"] = after
    store.write(d / "execution.json", execution)
    audit.record("result", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 run_id=run_id, status=status, rc=rc, digest_after=after if changed_during_run else None)
    return execution

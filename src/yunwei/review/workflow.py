"""The review workflow: request -> preview -> approve/deny (signed) -> execute (once).

Every step and every refusal goes to the audit log. Refusals raise YunweiError (exit 1), bad
input raises InputError (exit 2); in both cases the audit log gets a ``refusal`` record.

What a step trusts (docs/runner.md, "Trust"): a decision is a person's only with their SSH
signature over the request id, its digest and the decision; a request is a request only if the
audit log recorded it with that digest; whether it was denied or already ran is read from the
audit log as well as from the review store, so deleting a file undoes nothing; the preview the
reviewer reads must hash to what the audit log recorded when it was made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import secrets
import socket
from collections.abc import Callable
from typing import Any

from yunwei import audit
from yunwei.audit.log import canonical
from yunwei.config import LAB_MAX_TTL_HOURS, admin_config, announce_lab_mode, check_environment
from yunwei.errors import InputError, YunweiError
from yunwei.jobs import Job, get_job
from yunwei.review import sealed, signing
from yunwei.review.digest import changed_files, content_digest
from yunwei.review.store import AlreadyRecorded, Entry, review_store
from yunwei.runner import run_job
from yunwei.runner.env import operator
from yunwei.runner.policy import check_extravars
from yunwei.store.base import process_alive, process_start

DEFAULT_TTL_HOURS = 24.0
SCHEDULE_KIND = "schedule"
WAIVERS_KIND = "waivers"
RISKS_KIND = "risks"
# Reviewed files (not jobs): kind -> (module with resolve/proposed_digest/preview_change/activate, request key).
# The active copy changes only by executing an approved request (docs/runner.md, docs/baseline.md).
FILE_KINDS = {SCHEDULE_KIND: ("yunwei.schedule.active", "schedule_file", "resolve_schedule_file"),
              WAIVERS_KIND: ("yunwei.baseline.waivers", "waivers_file", "resolve_file"),
              RISKS_KIND: ("yunwei.vuln.risks", "risks_file", "resolve_file")}


def _file_kind(kind: str | None) -> tuple[Any, str, str] | None:
    """(module, request key, resolver name) of a reviewed-file kind, None for a job."""
    if kind not in FILE_KINDS:
        return None
    import importlib

    module, key, resolver = FILE_KINDS[kind]
    return importlib.import_module(module), key, resolver


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def max_ttl_hours() -> float:
    """The ceiling of an approval's validity: the administrator's (admin mode), a week (lab mode)."""
    config = admin_config()
    return config.max_ttl_hours if config is not None else LAB_MAX_TTL_HOURS


def ttl_hours() -> float:
    """Admin mode: the configuration's ``approval.ttl_hours``. Lab mode: $YUNWEI_APPROVAL_TTL_HOURS
    (default 24), never above the ceiling."""
    config = admin_config()
    if config is not None:
        return config.ttl_hours
    raw = os.environ.get("YUNWEI_APPROVAL_TTL_HOURS")
    if not raw:
        return DEFAULT_TTL_HOURS
    try:
        value = float(raw)
    except ValueError:
        raise InputError("$YUNWEI_APPROVAL_TTL_HOURS", None, f"not a number: {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError("$YUNWEI_APPROVAL_TTL_HOURS", None, f"must be a positive finite number of hours, got {raw!r}")
    if value > LAB_MAX_TTL_HOURS:
        raise InputError("$YUNWEI_APPROVAL_TTL_HOURS", raw, f"exceeds the ceiling of {LAB_MAX_TTL_HOURS:g} h")
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


def _start(action: str) -> str:
    """Who acts; exit 2 (audited) when the environment tries to choose what decides trust."""
    config = admin_config()
    who = operator()
    guarded(action, who)(check_environment, config)
    if config is None:
        announce_lab_mode()
    return who


# -- digest per kind ------------------------------------------------------------------------

def _digest(req: dict[str, Any], job: Job | None) -> tuple[str, dict[str, str]]:
    fk = _file_kind(req.get("kind"))
    if fk is not None:
        return fk[0].proposed_digest(req.get(fk[1]))
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


def preview_digest(preview: dict[str, Any] | None) -> str:
    return "sha256:" + hashlib.sha256(canonical(preview or {}).encode("utf-8")).hexdigest()


# -- the audit log's view of a request --------------------------------------------------------

def _history(request_id: str) -> dict[str, list[dict[str, Any]]]:
    """The audit records of ``request_id``, by event."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in audit.default_log().records():
        if rec.get("request") == request_id:
            out.setdefault(str(rec.get("event")), []).append(rec)
    return out


def _all_histories() -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rec in audit.default_log().records():
        if rec.get("request"):
            out.setdefault(str(rec["request"]), {}).setdefault(str(rec.get("event")), []).append(rec)
    return out


def _recorded_request(req: dict[str, Any], history: dict[str, list[dict[str, Any]]]) -> bool:
    """The audit log recorded this request, by its requester, with this digest."""
    return any(r.get("digest") == req.get("digest") and r.get("operator") == req.get("requester")
               for r in history.get("request", []))


def _preview_intact(entry: Entry, history: dict[str, list[dict[str, Any]]]) -> bool:
    recorded = [r.get("preview_digest") for r in history.get("preview", [])]
    return bool(recorded) and entry.preview is not None and recorded[-1] == preview_digest(entry.preview)


def state(entry: Entry, history: dict[str, list[dict[str, Any]]]) -> str:
    if entry.result is not None:
        return f"executed ({entry.result.get('status', '?')})"
    if entry.execution is not None:
        return "executed (running)" if _alive(entry.execution) else "executed (interrupted)"
    if history.get("execution"):
        return "executed (its execution record is missing)"
    if entry.denial is not None or history.get("denial"):
        return "denied"
    if entry.approval is not None:
        return "approved"
    return "pending"


def _alive(claim: dict[str, Any]) -> bool:
    """The executing process still runs (or runs on another machine: we cannot tell)."""
    if claim.get("node") != socket.gethostname() or not claim.get("pid"):
        return True
    return process_alive(int(claim["pid"]), str(claim.get("pid_start", "")))


def _reap(entry: Entry, who: str) -> Entry:
    """A claimed execution whose process died without a result is recorded as interrupted."""
    claim = entry.execution
    if claim is None or entry.result is not None or _alive(claim):
        return entry
    req = entry.request
    result = {"operator": who, "status": "interrupted", "rc": None, "ended": _iso(_now()),
              "note": f"process {claim.get('pid')} of {claim.get('operator')} on {claim.get('node')} ended without a result"}
    try:
        review_store().add(req["id"], "result", result, operator=who)
    except AlreadyRecorded:
        return review_store().load(req["id"])
    audit.record("result", request=req["id"], job=req["job"], operator=who, digest=req["digest"],
                 status="interrupted", rc=None, executor=claim.get("operator"))
    entry.result = result
    return entry


# -- request --------------------------------------------------------------------------------

def create_request(job_name: str, *, limit: str | None = None, extravars: dict[str, Any] | None = None,
                   key: str | None = None, jobs_file: str | None = None, quiet: bool = False,
                   schedule_file: str | None = None, waivers_file: str | None = None,
                   risks_file: str | None = None) -> dict[str, Any]:
    who = _start("request")
    call = guarded("request", who)
    request_id = "req-" + secrets.token_hex(6)
    now = _now()
    req: dict[str, Any] = {"id": request_id, "requester": who, "created": _iso(now), "limit": limit,
                           "extravars": extravars or {}}
    secret_values: dict[str, Any] = {}
    job: Job | None = None
    fk = _file_kind(job_name)
    if fk is not None:
        module, file_key, resolver = fk  # never `key`: that is the operator's signing key
        req.update(kind=job_name, job=job_name)
        req[file_key] = str(call(getattr(module, resolver),
                                 {SCHEDULE_KIND: schedule_file, WAIVERS_KIND: waivers_file,
                                  RISKS_KIND: risks_file}[job_name]))
    else:
        job = call(get_job, job_name, jobs_file)
        if not job.is_change:
            raise refuse(f"job {job.name} is read-only: run it with `yunwei run {job.name}`",
                         who=who, action="request", request={"job": job.name})
        site = None if admin_config() is not None else (jobs_file or os.environ.get("YUNWEI_JOBS"))
        req.update(kind="job", job=job.name, jobs_file=site)
        if not job.playbook_path().is_file():
            raise refuse("", request=req, who=who, action="request", error=InputError(
                job.source, f"jobs.{job.name}.playbook", f"playbook {job.playbook_path()} does not exist"))
        guarded("request", who, req)(check_extravars, job, extravars)
        req["extravars"], secret_values = sealed.split(extravars or {}, job.secret_vars)
        if secret_values:
            req["secret_salt"] = sealed.new_salt()
            req["sealed_vars"] = {k: sealed.seal(v, req["secret_salt"]) for k, v in secret_values.items()}
    req["digest"], req["manifest"] = call(_digest, req, job)
    req["signature"] = call(_sign_checked, _signed_fields(req, "request", who), who, key)
    store = review_store()
    store.create(req)
    audit.record("request", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 limit=limit, extravars=sorted((extravars or {}).keys()), sealed=sorted(secret_values) or None)
    preview = _preview(req, job, quiet=quiet, secret_values=secret_values)
    store.add(request_id, "preview", preview, operator=who)
    audit.record("preview", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 run_id=preview.get("run_id"), status=preview.get("status"), changed=len(preview.get("changes", [])),
                 preview_digest=preview_digest(preview))
    return req


def _preview(req: dict[str, Any], job: Job | None, *, quiet: bool,
             secret_values: dict[str, Any] | None = None) -> dict[str, Any]:
    fk = _file_kind(req.get("kind"))
    if fk is not None:
        return fk[0].preview_change(req[fk[1]])
    assert job is not None
    result = run_job(job, limit=req.get("limit"), extravars={**req["extravars"], **(secret_values or {})},
                     check=True, diff=True,
                     content_digest=req["digest"], operator_name=req["requester"], profile="preview", quiet=quiet)
    return {
        "run_id": result.run_id, "status": result.status, "rc": result.rc, "stats": result.stats,
        "changes": result.changes, "failures": result.failures, "artifacts": str(result.artifact_dir),
        "stdout": result.stdout(),
    }


def load(request_id: str) -> Entry:
    return review_store().load(request_id)


def show(request_id: str) -> dict[str, Any]:
    entry = load(request_id)
    history = _history(request_id)
    entry = _reap(entry, operator())
    execution = ({**(entry.execution or {}), **(entry.result or {}), "started": (entry.execution or {}).get("started")}
                 if entry.execution or entry.result else None)
    return {
        "request": entry.request,
        "state": state(entry, history),
        "preview": entry.preview,
        "preview_intact": _preview_intact(entry, history),
        "approval": entry.approval,
        "denial": entry.denial or (history["denial"][-1] if history.get("denial") else None),
        "execution": execution,
    }


def list_requests() -> list[dict[str, Any]]:
    store = review_store()
    histories = _all_histories()
    who = operator()
    out = []
    for request_id in store.ids():
        try:
            entry = _reap(store.load(request_id), who)
        except InputError:
            continue
        req = dict(entry.request)
        req["state"] = state(entry, histories.get(request_id, {}))
        out.append(req)
    return sorted(out, key=lambda r: r.get("created", ""))


def _job_for(req: dict[str, Any]) -> Job | None:
    if _file_kind(req.get("kind")) is not None:
        return None
    return get_job(req["job"], req.get("jobs_file") if admin_config() is None else None)


def _check_current_digest(req: dict[str, Any], action: str, who: str) -> None:
    digest, files = guarded(action, who, req)(lambda: _digest(req, _job_for(req)))
    if digest != req["digest"]:
        changed = changed_files(req.get("manifest") or {}, files)
        detail = f" (changed: {', '.join(changed[:10])})" if changed else " (job definition, limit or vars changed)"
        raise refuse(f"content digest differs from the reviewed one{detail}", request=req, who=who, action=action)


def _request_signature_ok(req: dict[str, Any]) -> bool:
    return signing.verify(_signed_fields(req, "request", req["requester"]), str(req.get("signature", "")),
                          req["requester"])


def _authentic(entry: Entry, history: dict[str, list[dict[str, Any]]], action: str, who: str) -> None:
    """The request is signed by its requester and was recorded as such in the audit log."""
    req = entry.request
    ok = guarded(action, who, req)(_request_signature_ok, req)
    if not ok:
        raise refuse("the request's signature does not verify (request file edited?)", request=req, who=who,
                     action=action)
    if not _recorded_request(req, history):
        raise refuse(f"request {req['id']} is not in the audit log with this digest and requester "
                     "(a copied or forged request)", request=req, who=who, action=action)


# -- decisions ------------------------------------------------------------------------------

def approve(request_id: str, *, key: str | None = None) -> dict[str, Any]:
    who = _start("approve")
    entry = guarded("approve", who)(load, request_id)
    req = entry.request
    history = _history(request_id)
    current = state(entry, history)
    if current != "pending":
        raise refuse(f"request {request_id} is {current}", request=req, who=who, action="approve")
    _authentic(entry, history, "approve", who)
    if who == req["requester"]:
        raise refuse("requester and approver are the same person (双人复核 needs a second operator)",
                     request=req, who=who, action="approve")
    if not _preview_intact(entry, history):
        raise refuse("the preview differs from the one the audit log recorded (edited after the request?)",
                     request=req, who=who, action="approve")
    _check_current_digest(req, "approve", who)
    expires = _now() + dt.timedelta(hours=guarded("approve", who, req)(ttl_hours))
    fields = _signed_fields(req, "approve", who, {"expires": _iso(expires)})
    signature = guarded("approve", who, req)(_sign_checked, fields, who, key)
    approval = {"approver": who, "time": _iso(_now()), "expires": fields["expires"], "fields": fields, "signature": signature}
    try:
        review_store().add(request_id, "approval", approval, operator=who, expires=fields["expires"])
    except AlreadyRecorded:  # a concurrent approval won
        raise refuse(f"request {request_id} was approved meanwhile", request=req, who=who, action="approve") from None
    except YunweiError as exc:
        raise refuse(str(exc), request=req, who=who, action="approve") from None
    audit.record("approval", request=request_id, job=req["job"], operator=who, digest=req["digest"], expires=fields["expires"])
    return approval


def deny(request_id: str, reason: str, *, key: str | None = None) -> dict[str, Any]:
    who = _start("deny")
    entry = guarded("deny", who)(load, request_id)
    req = entry.request
    if not reason.strip():
        raise refuse("a denial needs --reason", request=req, who=who, action="deny",
                     error=InputError("--reason", None, "must not be empty"))
    current = state(entry, _history(request_id))
    if current.startswith("executed") or current == "denied":
        raise refuse(f"request {request_id} is {current}", request=req, who=who, action="deny")
    fields = _signed_fields(req, "deny", who, {"reason": reason})
    signature = guarded("deny", who, req)(_sign_checked, fields, who, key)
    denial = {"operator": who, "time": _iso(_now()), "reason": reason, "fields": fields, "signature": signature}
    try:
        review_store().add(request_id, "denial", denial, operator=who)
    except AlreadyRecorded:
        raise refuse(f"request {request_id} was denied meanwhile", request=req, who=who, action="deny") from None
    except YunweiError as exc:
        raise refuse(str(exc), request=req, who=who, action="deny") from None
    audit.record("denial", request=request_id, job=req["job"], operator=who, digest=req["digest"], reason=reason)
    return denial


# -- execute --------------------------------------------------------------------------------

def execute(request_id: str, *, quiet: bool = False, now: dt.datetime | None = None,
            secret_values: dict[str, Any] | None = None) -> dict[str, Any]:
    who = _start("execute")
    entry = guarded("execute", who)(load, request_id)
    req = entry.request

    def no(reason: str) -> YunweiError:
        return refuse(reason, request=req, who=who, action="execute")

    log = audit.default_log()
    verified = log.verify()
    if not verified.ok:
        raise no(f"the audit log does not verify ({verified}): it cannot show this request ran only once")
    history = _history(request_id)
    _authentic(entry, history, "execute", who)
    entry = _reap(entry, who)
    if entry.execution is not None or entry.result is not None or history.get("execution"):
        raise no(f"request {request_id} already ran")
    denials = ([entry.denial] if entry.denial else []) + history.get("denial", [])
    if denials:
        denial = denials[0]
        raise no(f"request {request_id} was denied by {denial.get('operator')}: {denial.get('reason')}")
    approval = entry.approval
    if approval is None:
        raise no(f"request {request_id} has no approval")
    approver = str(approval.get("approver", ""))
    expected = _signed_fields(req, "approve", approver, {"expires": str(approval.get("expires", ""))})
    if not guarded("execute", who, req)(signing.verify, expected, str(approval.get("signature", "")), approver):
        raise no(f"the approval by {approver!r} does not verify against allowed_signers (approval edited or forged?)")
    if approver == req["requester"]:
        raise no("requester and approver are the same person")
    at = now or _now()
    try:
        expires = _parse_iso(expected["expires"])
    except ValueError:
        raise no(f"the approval's expiry {expected['expires']!r} is not a time") from None
    if at >= expires:
        raise no(f"the approval expired at {expected['expires']}")
    if expires > at + dt.timedelta(hours=max_ttl_hours()):
        raise no(f"the approval is valid until {expected['expires']}, beyond the ceiling of {max_ttl_hours():g} h")
    _check_current_digest(req, "execute", who)
    secret_values = guarded("execute", who, req)(sealed.unseal_check, req, secret_values or {})
    claim = {"operator": who, "started": _iso(_now()), "status": "running", "node": socket.gethostname(),
             "pid": os.getpid(), "pid_start": process_start(os.getpid())}
    try:
        review_store().add(request_id, "execution", claim, operator=who)
    except AlreadyRecorded:
        raise no(f"request {request_id} already ran") from None
    except YunweiError as exc:
        raise no(str(exc)) from None
    audit.record("execution", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 requester=req["requester"], approver=approver)
    fk = _file_kind(req.get("kind"))
    if fk is not None:
        outcome = fk[0].activate(req, approver=approver, operator_name=who)
        status, rc, run_id, extra = "successful", 0, None, {req["kind"]: outcome}
    else:
        job = _job_for(req)
        assert job is not None
        from yunwei.monitoring.record import change_window

        try:
            # the hosts the reviewed preview ran on: their alerts during the run are recorded, not notified
            with change_window(request_id, ((entry.preview or {}).get("stats") or {}), who=who,
                               limit_s=float(job.timeout or 86400)):
                result = run_job(job, limit=req.get("limit"), extravars={**req["extravars"], **secret_values},
                                 diff=True, content_digest=req["digest"], operator_name=who, quiet=quiet)
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
    execution = {"operator": who, "started": claim["started"], "ended": _iso(_now()), "status": status, "rc": rc,
                 "run_id": run_id, **extra}
    if changed_during_run:
        execution["digest_after"] = after
    try:
        review_store().add(request_id, "result", execution, operator=who)
    except (AlreadyRecorded, YunweiError) as exc:  # the audit record below still tells
        from yunwei import ui

        ui.progress(f"warning: the result of {request_id} could not be stored: {exc}")
    audit.record("result", request=request_id, job=req["job"], operator=who, digest=req["digest"],
                 run_id=run_id, status=status, rc=rc, digest_after=after if changed_during_run else None)
    return execution

"""A configuration file that takes effect only through two-person review (the schedule, the baseline
waivers): the review previews its diff against the active copy, and executing the approved request
installs exactly the approved bytes as the active copy, with a record of who asked and who approved."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.files import write_atomic


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def preview_change(path: str, active_yml: Path, what: str) -> dict[str, Any]:
    """The review preview (runner-result shape): the diff of ``path`` against the active copy."""
    file = Path(path)
    new = file.read_text(encoding="utf-8")
    old = active_yml.read_text(encoding="utf-8") if active_yml.is_file() else ""
    diff = "\n".join(line.rstrip("\n") for line in difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"active {what}", tofile=str(file)))
    changes = [{"host": "bastion", "task": f"activate {what}", "diff": diff}] if diff else []
    return {"run_id": None, "status": "successful", "rc": 0, "stats": {}, "changes": changes, "failures": []}


def install(req: dict[str, Any], *, file_key: str, validate: Callable[[str, str], Any], active_yml: Path,
            meta_path: Path, previous: str | None, approver: str) -> dict[str, Any]:
    """Install the approved bytes of ``req[file_key]`` (digest checked again, content validated) as the
    active copy and write its record; returns the record. The caller writes the audit event."""
    file = Path(req[file_key])
    data = file.read_bytes()
    digest = digest_bytes(data)
    if digest != req["digest"]:
        raise InputError(str(file), None, f"changed since it was approved ({digest} != {req['digest']})")
    validate(data.decode("utf-8"), str(file))
    write_atomic(active_yml, data)
    meta = {"digest": digest, "request": req["id"], "requester": req["requester"], "approver": approver,
            "source": str(file), "activated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "previous": previous}
    write_atomic(meta_path, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return meta


def read_meta(meta_path: Path, what: str) -> dict[str, Any] | None:
    """The approval record of an active copy; None when none was ever approved."""
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        raise InputError(str(meta_path), None, f"not valid JSON (edited?): the {what} cannot be trusted") from None


def load_active(active_yml: Path, meta_path: Path, parse: Callable[[str, str], Any], *, what: str,
                request: str) -> tuple[Any, dict[str, Any] | None]:
    """The parsed active copy and its approval record; (None, None) when none was ever approved. A copy
    without a record, a record without its copy, and a copy that no longer matches its approved digest
    are refused (InputError, exit 2): the file was edited outside review."""
    meta = read_meta(meta_path, what)
    if meta is None:
        if active_yml.exists():
            raise InputError(str(active_yml), None, f"has no approval record: {what} take effect only through "
                                                    f"`yunwei request {request}`, approve and execute")
        return None, None
    try:
        data = active_yml.read_bytes()
    except FileNotFoundError:
        raise InputError(str(active_yml), None, f"missing, but {meta_path} records an approved copy") from None
    if digest_bytes(data) != meta.get("digest"):
        raise InputError(str(active_yml), None,
                         f"does not match its approved digest {meta.get('digest')} (edited outside review)")
    return parse(data.decode("utf-8"), str(active_yml)), meta

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

"""The active schedule is an approved copy of schedule.yml, bound to its digest.

``yunwei request schedule`` digests schedule.yml and previews the change (a diff against the
active copy); after ``approve`` by a second operator, ``execute`` copies exactly the approved
bytes to <var>/schedule/active.yml. ``due``, ``tick`` and ``render`` only ever read the active
copy: an edited schedule.yml changes nothing until it has been through review.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from yunwei import audit
from yunwei.errors import YunweiError
from yunwei.paths import project_root, var_dir
from yunwei.review import reviewed_file
from yunwei.schedule.model import Schedule, load_schedule, parse_text


def schedule_dir() -> Path:
    path = var_dir() / "schedule"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_schedule_file(path: str | None = None) -> Path:
    return Path(path or os.environ.get("YUNWEI_SCHEDULE") or project_root() / "schedule.yml").resolve()


def _digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def proposed_digest(path: str | None) -> tuple[str, dict[str, str]]:
    """Validate the proposed file (exit 2 on bad input) and digest its exact bytes."""
    file = resolve_schedule_file(path)
    load_schedule(file)  # raises InputError naming file and key
    digest = _digest_bytes(file.read_bytes())
    return digest, {str(file): digest}


def active_paths() -> tuple[Path, Path]:
    d = schedule_dir()
    return d / "active.yml", d / "active.json"


def active_meta() -> dict[str, Any] | None:
    _, meta = active_paths()
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def load_active() -> tuple[Schedule, dict[str, Any]]:
    """The approved schedule; refuses when there is none or its bytes no longer match."""
    yml, _ = active_paths()
    meta = active_meta()
    if meta is None or not yml.is_file():
        raise YunweiError("no approved schedule yet: `yunwei request schedule`, then approve and execute it")
    data = yml.read_bytes()
    if _digest_bytes(data) != meta.get("digest"):
        raise YunweiError(f"{yml} does not match its approved digest {meta.get('digest')} (edited?)")
    return parse_text(data.decode("utf-8"), str(yml), check_jobs=False), meta


def pending_change() -> str | None:
    """A warning when schedule.yml differs from the approved copy (it is not used until approved)."""
    meta = active_meta()
    file = resolve_schedule_file()
    if meta is None or not file.is_file():
        return None
    digest = _digest_bytes(file.read_bytes())
    if digest != meta.get("digest"):
        return (f"{file} differs from the approved schedule ({meta.get('digest')}); "
                "it takes effect only after `yunwei request schedule` is approved and executed")
    return None


def preview_change(path: str) -> dict[str, Any]:
    return reviewed_file.preview_change(path, active_paths()[0], "schedule")


def activate(req: dict[str, Any], *, approver: str, operator_name: str | None = None) -> dict[str, Any]:
    """Install the approved bytes (digest re-checked) as the active schedule."""
    yml, meta_path = active_paths()
    previous = (active_meta() or {}).get("digest")
    meta = reviewed_file.install(req, file_key="schedule_file", validate=parse_text, active_yml=yml,
                                 meta_path=meta_path, previous=previous, approver=approver)
    audit.record("schedule_change", request=req["id"], job="schedule", operator=operator_name or approver,
                 digest=meta["digest"], previous=previous, requester=req["requester"], approver=approver)
    return meta

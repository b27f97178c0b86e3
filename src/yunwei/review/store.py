"""Requests and decisions on disk: <var>/review/requests/<id>/{request,approval,denial,execution}.json."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.files import write_atomic
from yunwei.paths import var_dir

_ID = re.compile(r"^req-[0-9a-f]{12}$")


def requests_dir() -> Path:
    return var_dir() / "review" / "requests"


def request_dir(request_id: str) -> Path:
    if not _ID.match(request_id):
        raise InputError("request id", request_id, "not a request id (req-<12 hex digits>)")
    path = requests_dir() / request_id
    if not (path / "request.json").is_file():
        raise InputError(str(requests_dir()), request_id, "no such request")
    return path


def read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def write(path: Path, data: dict[str, Any], *, exclusive: bool = False) -> None:
    """Write JSON; ``exclusive`` fails if the file exists (claims are race free)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return
    write_atomic(path, text)


def list_requests() -> list[dict[str, Any]]:
    out = []
    base = requests_dir()
    if not base.is_dir():
        return out
    for d in sorted(base.iterdir()):
        req = read(d / "request.json")
        if req is None:
            continue
        req["state"] = state(d)
        out.append(req)
    return sorted(out, key=lambda r: r.get("created", ""))


def state(d: Path) -> str:
    if (d / "execution.json").is_file():
        ex = read(d / "execution.json") or {}
        return f"executed ({ex.get('status', 'running')})"
    if (d / "denial.json").is_file():
        return "denied"
    if (d / "approval.json").is_file():
        return "approved"
    return "pending"

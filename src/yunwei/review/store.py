"""Where requests and decisions live: a folder (lab / one operator) or PostgreSQL (a team).

Every request has entries of six kinds, each written once and never replaced: ``request``,
``preview``, ``approval``, ``denial``, ``execution`` (the claim, written before the run: it carries
the executing process, so a killed run is told apart from a running one) and ``result``.

- :class:`FileReviewStore`: ``<dir>/requests/<id>/<kind>.json``, folders 0700 and files 0600 (a
  preview's diff may show a vaulted value). Whoever runs yunwei can delete these files, so the
  workflow does not trust their absence: it checks the audit log (requests, denials and executions
  are recorded there, and the chain is anchored).
- :class:`yunwei.review.pg.PgReviewStore`: an insert-only table; the server refuses UPDATE,
  DELETE and TRUNCATE and checks the two-person rule itself (review/pg.py).

:func:`review_store` picks the one the administrator configured (lab mode: ``<var>/review``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from yunwei.errors import InputError
from yunwei.paths import var_dir

_ID = re.compile(r"^req-[0-9a-f]{12}$")
KINDS = ("request", "preview", "approval", "denial", "execution", "result")


class AlreadyRecorded(Exception):
    """An entry of that kind exists for the request (entries are written once)."""


@dataclass
class Entry:
    """A request and everything recorded about it."""

    request: dict[str, Any]
    preview: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    denial: dict[str, Any] | None = None
    execution: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


class ReviewStore(Protocol):
    location: str

    def create(self, req: dict[str, Any]) -> None: ...
    def load(self, request_id: str) -> Entry: ...
    def add(self, request_id: str, kind: str, data: dict[str, Any], *, operator: str,
            expires: str | None = None) -> None: ...
    def ids(self) -> list[str]: ...


def check_id(request_id: str) -> str:
    if not _ID.match(request_id):
        raise InputError("request id", request_id, "not a request id (req-<12 hex digits>)")
    return request_id


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def write_private(path: Path, data: dict[str, Any]) -> None:
    """Create ``path`` (0600) with ``data``; fails if it exists (race free: written once)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(_dump(data))
        fh.flush()
        os.fsync(fh.fileno())


class FileReviewStore:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.location = str(base)

    @property
    def requests_dir(self) -> Path:
        return self.base / "requests"

    def create(self, req: dict[str, Any]) -> None:
        self.requests_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        d = self.requests_dir / check_id(req["id"])
        d.mkdir(mode=0o700)
        write_private(d / "request.json", req)

    def load(self, request_id: str) -> Entry:
        d = self.requests_dir / check_id(request_id)
        req = read(d / "request.json")
        if req is None:
            raise InputError(str(self.requests_dir), request_id, "no such request")
        if req.get("id") != request_id:  # a copied folder: the signed id is the other request's
            raise InputError(str(d), "request.json", f"holds request {req.get('id')!r}, not {request_id} "
                                                     "(a copied request folder is not a request)")
        entry = Entry(req, **{k: read(d / f"{k}.json") for k in KINDS[1:]})
        if entry.result is None and entry.execution and entry.execution.get("status") not in (None, "running"):
            entry.result = entry.execution  # written before result.json existed: execution.json held the outcome
        return entry

    def add(self, request_id: str, kind: str, data: dict[str, Any], *, operator: str,
            expires: str | None = None) -> None:
        assert kind in KINDS[1:]
        try:
            write_private(self.requests_dir / check_id(request_id) / f"{kind}.json", data)
        except FileExistsError:
            raise AlreadyRecorded(kind) from None

    def ids(self) -> list[str]:
        if not self.requests_dir.is_dir():
            return []
        return sorted(d.name for d in self.requests_dir.iterdir() if _ID.match(d.name))


def review_store() -> ReviewStore:
    """The configured store: admin mode's ``review.store`` (PostgreSQL or a folder), else <var>/review."""
    from yunwei.config import admin_config

    config = admin_config()
    if config is None:
        return FileReviewStore(var_dir() / "review")
    if config.team:
        from yunwei.review.pg import PgReviewStore

        return PgReviewStore(config.review_store)
    return FileReviewStore(Path(config.review_store) / "review")

"""Append-only JSON lines, each record carrying the hash of the previous one.

A record is one line of canonical JSON (sorted keys, no spaces, UTF-8)::

    {"seq": 7, "time": "...Z", "event": "approval", "operator": "li", ..., "prev": "<hash of 6>", "hash": "<hash>"}

``hash`` is SHA-256 over the canonical JSON of the record without ``hash``. The first record's
``prev`` is 64 zeros. Verification re-derives every line byte for byte, so any edit, deletion,
insertion or reordering breaks the chain at the first affected record.

Truncation of the tail leaves a valid shorter chain; it is detected against the *head anchor*,
a sidecar file (``audit.jsonl.head``) holding the count and last hash, rewritten after every
append. Before writing a record, the head announces it (``pending``: its count and hash), so a
process killed between the two writes leaves a record the next append recognises as its own; a
record someone else appended after the head is never adopted (verify names it).

Limits: someone who can rewrite both the log and its head can rebuild a consistent chain — the
chain is evidence against partial edits, not against a full rewrite. Against that the head is
copied on every append to the external anchors (anchors.py: an append-only file on the off-site
host), printed in every signed report (:func:`anchor_text`), and for a team the log lives in
PostgreSQL, where the server refuses any change (review/pg.py).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yunwei.files import write_atomic
from yunwei.paths import var_dir

GENESIS = "0" * 64


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(rec: dict[str, Any]) -> str:
    body = {k: v for k, v in rec.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head: str
    bad_seq: int | None = None  # 1-based line number of the first bad record
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.count} records, head {self.head}"
        return f"BAD at record {self.bad_seq}: {self.problem}"


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    # -- writing -----------------------------------------------------------------------------
    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record (under an exclusive lock) and move the head anchor."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            seq, prev = self._tail()
            rec: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
            rec.update({"seq": seq + 1, "time": now_text(), "event": event, "prev": prev})
            rec["hash"] = record_hash(rec)
            line = canonical(rec) + "\n"
            self._write_head(seq, prev, pending=(rec["seq"], rec["hash"]))
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            self._write_head(rec["seq"], rec["hash"])
        return rec

    def _tail(self) -> tuple[int, str]:
        head = self.read_head()
        if head is not None and head[0] >= 0:
            pending = self._landed_pending()
            if pending is not None:  # the last append died between its record and its head
                self._write_head(*pending)
                return pending
            return head
        last = None
        for last in self.records():
            pass
        if last is None:
            return 0, GENESIS
        return int(last["seq"]), str(last["hash"])

    def _landed_pending(self) -> tuple[int, str] | None:
        """The head's pending record, if it is exactly the log's last line (None otherwise)."""
        try:
            pending = json.loads(self.head_path.read_text(encoding="utf-8")).get("pending")
            count, digest = int(pending["count"]), str(pending["hash"])
        except (FileNotFoundError, ValueError, KeyError, TypeError, AttributeError):
            return None
        lines = self.lines()
        if len(lines) != count:
            return None
        try:
            rec = json.loads(lines[-1])
        except ValueError:
            return None
        if isinstance(rec, dict) and rec.get("hash") == digest == record_hash(rec):
            return count, digest
        return None

    def _write_head(self, count: int, last_hash: str, pending: tuple[int, str] | None = None) -> None:
        data: dict[str, Any] = {"count": count, "hash": last_hash}
        if pending:
            data["pending"] = {"count": pending[0], "hash": pending[1]}
        write_atomic(self.head_path, canonical(data) + "\n", mode=0o600)

    def read_head(self) -> tuple[int, str] | None:
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(data["count"]), str(data["hash"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return (-1, "")

    # -- reading -----------------------------------------------------------------------------
    def lines(self) -> list[bytes]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return data.splitlines(keepends=True)

    def records(self) -> Iterator[dict[str, Any]]:
        for raw in self.lines():
            try:
                yield json.loads(raw)
            except ValueError:
                continue

    def verify(self, expect_head: str | None = None) -> Verification:
        return verify_lines(self.lines(), self._landed_pending() or self.read_head(), expect_head)


def verify_lines(
    lines: list[bytes], head: tuple[int, str] | None, expect_head: str | None = None
) -> Verification:
    """Check the chain line by line; name the first bad record (1-based)."""
    prev = GENESIS
    count = 0
    for index, raw in enumerate(lines, start=1):
        def bad(problem: str, index: int = index) -> Verification:
            return Verification(False, index - 1, prev, index, problem)

        if not raw.endswith(b"\n"):
            return bad("incomplete line (no newline)")
        try:
            rec = json.loads(raw)
        except ValueError:
            return bad("not valid JSON")
        if not isinstance(rec, dict):
            return bad("not a JSON object")
        if (canonical(rec) + "\n").encode("utf-8") != raw:
            return bad("not in canonical form (edited by hand?)")
        if rec.get("seq") != index:
            return bad(f"sequence {rec.get('seq')!r} where {index} was expected (deleted, inserted or moved record)")
        if rec.get("prev") != prev:
            return bad("previous-hash link broken (deleted, inserted or moved record)")
        if rec.get("hash") != record_hash(rec):
            return bad("record hash mismatch (modified record)")
        prev = rec["hash"]
        count = index
    end = count + 1
    if head is None:
        if count:
            return Verification(False, count, prev, end, "head anchor missing (log truncated or head deleted?)")
    else:
        head_count, head_hash = head
        if head_count < 0:
            return Verification(False, count, prev, end, "head anchor unreadable")
        if head_count != count or head_hash != prev:
            if head_count > count:
                return Verification(
                    False, count, prev, end, f"log ends after {count} records but the head anchor says {head_count} (truncated)"
                )
            return Verification(False, count, prev, min(head_count + 1, end), "log does not match its head anchor")
    if expect_head is not None and not _matches_head(expect_head, count, prev):
        return Verification(False, count, prev, end, "head differs from the expected (externally anchored) head")
    return Verification(True, count, prev)


def _matches_head(expected: str, count: int, head: str) -> bool:
    """HASH, COUNT:HASH, or COUNT:PREFIX with at least 16 hex digits (a report footer's short form)."""
    if expected == head:
        return True
    n, _, digest = expected.partition(":")
    return n == str(count) and len(digest) >= 16 and head.startswith(digest.lower())


def default_log() -> Any:
    """The audit log the configuration names: admin mode's PostgreSQL store (a team) or
    ``<review.store>/audit/audit.jsonl`` (one operator); lab mode ``<var>/audit/audit.jsonl``.
    No environment variable moves it: review state and the audit log always go together."""
    from yunwei.config import admin_config

    config = admin_config()
    if config is None:
        return AuditLog(var_dir() / "audit" / "audit.jsonl")
    if config.team:
        from yunwei.review.pg import PgAuditLog

        return PgAuditLog(config.review_store)
    return AuditLog(Path(config.review_store) / "audit" / "audit.jsonl")


def record(event: str, **fields: Any) -> dict[str, Any]:
    """Append to the configured log, then copy the new head to the external anchors. When the
    operator name differs from the OS login (lab mode's $YUNWEI_OPERATOR), the login is recorded
    next to it, so the override is visible in the audit trail."""
    from yunwei.audit import anchors
    from yunwei.config import login

    who = login()
    if fields.get("operator") not in (None, who):
        fields["login"] = who
    rec = default_log().append(event, **fields)
    anchors.push(int(rec["seq"]), str(rec["hash"]), who)
    return rec


def verify(expect_head: str | None = None) -> Verification:
    return default_log().verify(expect_head)


def head_text() -> str:
    """The current head as ``COUNT:HASH`` ("" when there is no log yet or it cannot be read), for
    the footer of every signed report: the client's signed copy then anchors the log, and
    ``yunwei audit verify --expect-head COUNT:HASH`` (or ``COUNT:`` and the first 16 or more hex
    digits) fails if history up to that record was rewritten since."""
    from yunwei.errors import YunweiError

    try:
        head = default_log().read_head()
    except (OSError, YunweiError):
        return ""
    if not head or head[0] <= 0:
        return ""
    return f"{head[0]}:{head[1]}"


def anchor_text() -> str:
    """The footer line itself: ``审计日志锚点 COUNT:HASH`` ("" without a head)."""
    head = head_text()
    return f"审计日志锚点 {head}" if head else ""

"""Append-only JSON lines, each record carrying the hash of the previous one.

A record is one line of canonical JSON (sorted keys, no spaces, UTF-8)::

    {"seq": 7, "time": "...Z", "event": "approval", "operator": "li", ..., "prev": "<hash of 6>", "hash": "<hash>"}

``hash`` is SHA-256 over the canonical JSON of the record without ``hash``. The first record's
``prev`` is 64 zeros. Verification re-derives every line byte for byte, so any edit, deletion,
insertion or reordering breaks the chain at the first affected record.

Truncation of the tail leaves a valid shorter chain; it is detected against the *head anchor*,
a sidecar file (``audit.jsonl.head``) holding the count and last hash, rewritten after every
append. Limits: someone who can rewrite both the log and its head (same file-system rights)
can rebuild a consistent chain — the chain is evidence against partial edits, not against a
full rewrite. Copy the head (``yunwei audit head``) somewhere the bastion's operators cannot
write (the ticket, the monthly report) to anchor history; ``verify --expect-head`` checks it.
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


def _now() -> str:
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
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    # -- writing -----------------------------------------------------------------------------
    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record (under an exclusive lock) and move the head anchor."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            seq, prev = self._tail()
            rec: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
            rec.update({"seq": seq + 1, "time": _now(), "event": event, "prev": prev})
            rec["hash"] = record_hash(rec)
            line = canonical(rec) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
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
            adopted = self._adopt_unanchored(head)
            if adopted is not None:
                self._write_head(*adopted)
                return adopted
            return head
        last = None
        for last in self.records():
            pass
        if last is None:
            return 0, GENESIS
        return int(last["seq"]), str(last["hash"])

    def _adopt_unanchored(self, head: tuple[int, str]) -> tuple[int, str] | None:
        """Crash window: a process that died after writing its record but before moving the
        head leaves exactly one valid record after the head. Adopt it (returns the new head);
        anything else (more records, a broken link, a bad hash) is left for verify to report."""
        count, head_hash = head
        lines = self.lines()
        if len(lines) != count + 1:
            return None
        raw = lines[-1]
        try:
            rec = json.loads(raw)
        except ValueError:
            return None
        if (
            not isinstance(rec, dict)
            or (canonical(rec) + "\n").encode("utf-8") != raw
            or rec.get("seq") != count + 1
            or rec.get("prev") != head_hash
            or rec.get("hash") != record_hash(rec)
        ):
            return None
        return count + 1, str(rec["hash"])

    def _write_head(self, count: int, last_hash: str) -> None:
        write_atomic(self.head_path, canonical({"count": count, "hash": last_hash}) + "\n")

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
        return verify_lines(self.lines(), self.read_head(), expect_head)


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
    if expect_head is not None and expect_head not in (prev, f"{count}:{prev}"):
        return Verification(False, count, prev, end, "head differs from the expected (externally anchored) head")
    return Verification(True, count, prev)


def default_log() -> AuditLog:
    """The audit log: $YUNWEI_AUDIT_LOG or <var>/audit/audit.jsonl."""
    env = os.environ.get("YUNWEI_AUDIT_LOG")
    return AuditLog(Path(env) if env else var_dir() / "audit" / "audit.jsonl")


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


def record(event: str, **fields: Any) -> dict[str, Any]:
    """Append to the default log. When the operator name was overridden ($YUNWEI_OPERATOR), the
    real OS login is recorded next to it, so the override is visible in the audit trail."""
    login = _login()
    if fields.get("operator") not in (None, login):
        fields["login"] = login
    return default_log().append(event, **fields)


def verify(expect_head: str | None = None) -> Verification:
    return default_log().verify(expect_head)

"""Signed checkpoints: an operator signs the audit log's head (count and hash) with their SSH key.

A checkpoint anchors history against someone who can rewrite the whole log *and* its head file
but holds no operator's private key: any rewrite of records up to a checkpoint changes the hash
at that count, and the forged head cannot be re-signed. Checkpoints live next to the log
(``audit.jsonl.checkpoints``, JSON lines); deleting the file loses the anchors, so also keep
``yunwei audit head`` output outside the bastion.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yunwei.audit.log import AuditLog, canonical
from yunwei.review import signing


def checkpoints_path(log: AuditLog) -> Path:
    return log.path.with_name(log.path.name + ".checkpoints")


def _fields(count: int, head: str, signer: str, time: str) -> dict[str, str]:
    return {"kind": "audit-checkpoint", "count": str(count), "hash": head, "signer": signer, "time": time}


def create(log: AuditLog, signer: str, key: str | None = None) -> dict[str, Any]:
    """Sign the current head (after verifying the chain) and append the checkpoint."""
    result = log.verify()
    if not result.ok:
        from yunwei.errors import YunweiError

        raise YunweiError(f"refusing to checkpoint a broken log: {result}")
    allowed = signing.require_signer(signer)
    key_path = signing.signing_key_path(key)
    time = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    fields = _fields(result.count, result.head, signer, time)
    signature = signing.sign(fields, key_path)
    if not signing.verify(fields, signature, signer, allowed):
        from yunwei.errors import InputError

        raise InputError(str(allowed), signer, f"the key {key_path} is not the key allowed_signers holds for {signer!r}")
    entry = {"count": result.count, "hash": result.head, "signer": signer, "time": time, "signature": signature}
    path = checkpoints_path(log)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(canonical(entry) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return entry


@dataclass(frozen=True)
class CheckpointResult:
    ok: bool
    checked: int
    problem: str = ""


def verify(log: AuditLog) -> CheckpointResult:
    """Every checkpoint must be validly signed and match the chain at its count."""
    path = checkpoints_path(log)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return CheckpointResult(True, 0)
    hashes: list[str] = []
    for raw in log.lines():
        try:
            hashes.append(str(json.loads(raw).get("hash")))
        except ValueError:
            hashes.append("")
    for n, line in enumerate(lines, start=1):
        try:
            cp = json.loads(line)
            fields = _fields(int(cp["count"]), str(cp["hash"]), str(cp["signer"]), str(cp["time"]))
        except (ValueError, KeyError, TypeError):
            return CheckpointResult(False, n - 1, f"checkpoint {n} unreadable")
        if not signing.verify(fields, str(cp.get("signature", "")), fields["signer"]):
            return CheckpointResult(False, n - 1, f"checkpoint {n} (by {fields['signer']}) has a bad signature")
        count = int(fields["count"])
        if count > len(hashes):
            return CheckpointResult(False, n - 1, f"checkpoint {n} covers {count} records, the log has {len(hashes)} (truncated)")
        if count and hashes[count - 1] != fields["hash"]:
            return CheckpointResult(False, n - 1, f"record {count} differs from checkpoint {n} signed by {fields['signer']} (history rewritten)")
    return CheckpointResult(True, len(lines))

"""Writing files so that a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: Path | str, payload: bytes | str, mode: int | None = None) -> None:
    """Write ``payload`` to a temporary file next to ``path``, fsync it, then rename it over ``path``.

    ``mode``: the file's permissions (default: 0o666 less the umask, as ``open()`` creates files).
    A failure leaves ``path`` as it was and no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""Secret extra vars of a change request: reviewed and approved without being stored.

A job lists its secret variables in the catalogue (``secret_vars``). When such a variable is
passed with ``-e`` to ``yunwei request``, the request keeps only a salted PBKDF2 hash of the
value; the digest (and so the signed approval) covers that hash. ``yunwei execute`` must be given
the same value again with ``-e``; a different or missing value is refused. The preview run gets
the value in memory only (through the runner's private, deleted extra-vars file).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from yunwei.errors import InputError

_ITERATIONS = 200_000


def new_salt() -> str:
    return secrets.token_hex(16)


def seal(value: Any, salt: str) -> str:
    raw = hashlib.pbkdf2_hmac("sha256", str(value).encode("utf-8"), bytes.fromhex(salt), _ITERATIONS)
    return f"pbkdf2-sha256:{_ITERATIONS}:{raw.hex()}"


def split(extravars: dict[str, Any], secret_names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(public vars, secret vars) of ``extravars``."""
    public = {k: v for k, v in extravars.items() if k not in secret_names}
    secret = {k: v for k, v in extravars.items() if k in secret_names}
    return public, secret


def digest_vars(req: dict[str, Any]) -> dict[str, Any]:
    """The extra vars as the digest sees them: public values plus the sealed secrets."""
    return {**(req.get("extravars") or {}), **{k: f"sealed:{v}" for k, v in (req.get("sealed_vars") or {}).items()}}


def unseal_check(req: dict[str, Any], supplied: dict[str, Any]) -> dict[str, Any]:
    """The secret values given at execute time, checked against the sealed ones (exit 2 if wrong)."""
    sealed = req.get("sealed_vars") or {}
    for key in supplied:
        if key not in sealed:
            raise InputError("-e", key, "only the request's secret variables can be given at execute time "
                                        f"({', '.join(sorted(sealed)) or 'none'})")
    for key, expected in sealed.items():
        if key not in supplied:
            raise InputError("-e", key, "secret variable of this request: give the reviewed value again with -e")
        if not hmac.compare_digest(seal(supplied[key], req["secret_salt"]), expected):
            raise InputError("-e", key, "does not match the value that was reviewed and approved")
    return dict(supplied)

"""SSH signatures bind a decision to a person: ``ssh-keygen -Y sign`` / ``-Y verify``.

The signed message is a canonical text naming the request, its content digest, the requester,
the signer, the decision and its expiry, in the namespace ``yunwei-approval``. Verification
uses an allowed_signers file (``principal [namespaces="yunwei-approval"] key-type key``), so a
hand-edited approval (other name, other digest, later expiry) no longer verifies.

allowed_signers: in admin mode the file the administrator's configuration names (root-owned,
config.py); in lab mode ``$YUNWEI_ALLOWED_SIGNERS``, else ``/etc/yunwei/allowed_signers`` when it
exists, else ``<var>/review/allowed_signers``. A key belongs to one operator: a public key listed
under two names (or one line naming two principals) makes the file invalid (exit 2).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from yunwei.errors import InputError, YunweiError
from yunwei.paths import var_dir

NAMESPACE = "yunwei-approval"
ETC_ALLOWED_SIGNERS = Path("/etc/yunwei/allowed_signers")
_KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


def allowed_signers_path() -> Path:
    from yunwei.config import admin_config

    config = admin_config()
    if config is not None:
        return config.allowed_signers
    env = os.environ.get("YUNWEI_ALLOWED_SIGNERS")
    if env:
        return Path(env)
    if ETC_ALLOWED_SIGNERS.is_file():
        return ETC_ALLOWED_SIGNERS
    return var_dir() / "review" / "allowed_signers"


def signing_key_path(explicit: str | None = None) -> Path:
    """The operator's private key: --key, $YUNWEI_SIGNING_KEY, else ~/.ssh/id_ed25519|ecdsa|rsa."""
    chosen = explicit or os.environ.get("YUNWEI_SIGNING_KEY")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise InputError(str(path), None, "signing key not found (--key or $YUNWEI_SIGNING_KEY)")
        return path
    for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
        path = Path.home() / ".ssh" / name
        if path.is_file():
            return path
    raise InputError("~/.ssh", "id_ed25519", "no SSH key to sign with (use --key or $YUNWEI_SIGNING_KEY)")


def _entries(path: Path) -> list[tuple[int, list[str], str]]:
    """(line number, principals, key blob) per entry; exit 2 when a key is listed for two
    operators: a fingerprint must identify exactly one person."""
    entries: list[tuple[int, list[str], str]] = []
    owner: dict[str, tuple[str, int]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        names = [p for p in fields[0].split(",") if p]
        blob = next((fields[i + 1] for i in range(1, len(fields) - 1) if fields[i].startswith(_KEY_TYPES)), "")
        entries.append((n, names, blob))
        if not blob:
            continue
        fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(_b64(blob)).digest()).decode().rstrip("=")
        for name in names:
            first = owner.setdefault(blob, (name, n))
            if first[0] != name:
                raise InputError(str(path), f"line {n}", f"key {fingerprint} is listed for {first[0]!r} (line "
                                 f"{first[1]}) and for {name!r}: a key belongs to one operator only")
    return entries


def _b64(blob: str) -> bytes:
    try:
        return base64.b64decode(blob + "=" * (-len(blob) % 4))
    except ValueError:
        return blob.encode()


def principals(path: Path | None = None) -> set[str]:
    path = path or allowed_signers_path()
    try:
        entries = _entries(path)
    except FileNotFoundError:
        return set()
    return {name for _, names, _ in entries for name in names}


def require_signer(name: str) -> Path:
    """Exit 2 (naming the file and the operator) when ``name`` has no key in allowed_signers."""
    path = allowed_signers_path()
    if not path.is_file():
        raise InputError(str(path), name, "allowed_signers file does not exist ($YUNWEI_ALLOWED_SIGNERS)")
    if name not in principals(path):
        raise InputError(str(path), name, f"operator {name!r} has no key in allowed_signers")
    return path


def message(fields: dict[str, str]) -> bytes:
    return ("yunwei-approval-v1\n" + "".join(f"{k}={fields[k]}\n" for k in sorted(fields))).encode("utf-8")


def sign(fields: dict[str, str], key: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="yunwei-sign-") as tmp:
        data = Path(tmp) / "msg"
        data.write_bytes(message(fields))
        proc = subprocess.run(
            ["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(data)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
        )
        sig = Path(tmp) / "msg.sig"
        if proc.returncode != 0 or not sig.is_file():
            raise YunweiError(f"ssh-keygen could not sign with {key}: {proc.stderr.strip()}")
        return sig.read_text(encoding="ascii")


def verify(fields: dict[str, str], signature: str, signer: str, allowed: Path | None = None) -> bool:
    allowed = allowed or allowed_signers_path()
    if not allowed.is_file() or not signature:
        return False
    _entries(allowed)  # a key listed for two operators proves nothing: exit 2
    with tempfile.TemporaryDirectory(prefix="yunwei-verify-") as tmp:
        sig = Path(tmp) / "msg.sig"
        sig.write_text(signature, encoding="ascii")
        proc = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", signer, "-n", NAMESPACE, "-s", str(sig)],
            input=message(fields), capture_output=True, check=False,
        )
        return proc.returncode == 0

"""SSH signatures bind a decision to a person: ``ssh-keygen -Y sign`` / ``-Y verify``.

The signed message is a canonical text naming the request, its content digest, the requester,
the signer, the decision and its expiry, in the namespace ``yunwei-approval``. Verification
uses an allowed_signers file (``principal [namespaces="yunwei-approval"] key-type key``), so a
hand-edited approval (other name, other digest, later expiry) no longer verifies.

allowed_signers: ``$YUNWEI_ALLOWED_SIGNERS``, else ``/etc/yunwei/allowed_signers`` when it
exists, else ``<var>/review/allowed_signers``. In production keep it root-owned under /etc.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from yunwei.errors import InputError, YunweiError
from yunwei.paths import var_dir

NAMESPACE = "yunwei-approval"
ETC_ALLOWED_SIGNERS = Path("/etc/yunwei/allowed_signers")


def allowed_signers_path() -> Path:
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


def principals(path: Path | None = None) -> set[str]:
    path = path or allowed_signers_path()
    names: set[str] = set()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return names
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names.update(p for p in line.split()[0].split(",") if p)
    return names


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
    with tempfile.TemporaryDirectory(prefix="yunwei-verify-") as tmp:
        sig = Path(tmp) / "msg.sig"
        sig.write_text(signature, encoding="ascii")
        proc = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", signer, "-n", NAMESPACE, "-s", str(sig)],
            input=message(fields), capture_output=True, check=False,
        )
        return proc.returncode == 0

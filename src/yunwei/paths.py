"""Where things live: the checkout (collection root) and its git-ignored var/ folder."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The collection root: $YUNWEI_ROOT, else the checkout this package was imported from."""
    env = os.environ.get("YUNWEI_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "galaxy.yml").is_file():
            return parent
    return Path.cwd().resolve()


def var_dir() -> Path:
    """Generated state (lab keys, runner dirs, stores, reports): $YUNWEI_VAR or <root>/var."""
    env = os.environ.get("YUNWEI_VAR")
    path = Path(env) if env else project_root() / "var"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def vault_password_file() -> Path | None:
    """The ansible-vault password file jobs run with: $YUNWEI_VAULT_PASSWORD_FILE, else
    <var>/vault-pass when it exists (the lab generates one); None when there is none."""
    env = os.environ.get("YUNWEI_VAULT_PASSWORD_FILE")
    if env:
        return Path(env)
    path = var_dir() / "vault-pass"
    return path if path.is_file() else None

"""Where things live: the content root (jobs, playbooks, templates) and the state directory.

State - the journal, runner directories, schedules, lab-mode review requests and audit log - never
goes to the current directory (an AWX job's working directory is thrown away after the job):

1. ``$YUNWEI_VAR`` when set;
2. admin mode (yunwei.config): the operator's own ``$XDG_STATE_HOME/yunwei``
   (``~/.local/state/yunwei``) - the checkout is root's there, and review state and the audit
   log live where the admin configuration says;
3. ``<checkout>/var`` when this package runs from a checkout (``src/yunwei`` next to galaxy.yml:
   the editable install of ``make bootstrap``), so development state stays git-ignored in the tree;
4. otherwise ``/var/lib/yunwei`` as root, ``$XDG_DATA_HOME/yunwei`` (``~/.local/share/yunwei``)
   for anyone else.
"""

from __future__ import annotations

import os
from pathlib import Path


def checkout_root() -> Path | None:
    """The checkout this package is imported from (``<root>/src/yunwei``), or None when installed."""
    package = Path(__file__).resolve().parent
    root = package.parent.parent
    if package.parent.name == "src" and (root / "galaxy.yml").is_file():
        return root
    return None


def project_root() -> Path:
    """The content root (jobs.yml, playbooks/, reports/templates/): the admin configuration's
    ``root`` (admin mode), else $YUNWEI_ROOT (lab mode only), else the checkout, else the current
    directory."""
    from yunwei.config import admin_config

    config = admin_config()
    if config is not None and config.root is not None:
        return config.root.resolve()
    env = os.environ.get("YUNWEI_ROOT") if config is None else None
    if env:
        return Path(env).resolve()
    return checkout_root() or Path.cwd().resolve()


def default_state_dir() -> Path:
    """Rule 4 of the module docstring: the state directory of an installed package."""
    if os.geteuid() == 0:
        return Path("/var/lib/yunwei")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "yunwei"


def var_dir() -> Path:
    """The state directory (created), by the rules of the module docstring."""
    from yunwei.config import admin_config

    env = os.environ.get("YUNWEI_VAR")
    root = checkout_root()
    if env:
        path = Path(env)
    elif admin_config() is not None:
        path = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "yunwei"
    else:
        path = root / "var" if root else default_state_dir()
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

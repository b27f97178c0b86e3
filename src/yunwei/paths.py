"""Where things live: the checkout (collection root) and its git-ignored var/ folder."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The collection root: the admin configuration's ``root`` (admin mode), else $YUNWEI_ROOT,
    else the checkout this package was imported from."""
    from yunwei.config import admin_config

    config = admin_config()
    if config is not None and config.root is not None:
        return config.root.resolve()
    env = os.environ.get("YUNWEI_ROOT") if config is None else None
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "galaxy.yml").is_file():
            return parent
    return Path.cwd().resolve()


def var_dir() -> Path:
    """Generated state (lab keys, runner dirs, stores, reports): $YUNWEI_VAR, else <root>/var in
    lab mode and the operator's own ~/.local/state/yunwei in admin mode (the checkout is root's
    there; review state and the audit log live where the admin configuration says)."""
    from yunwei.config import admin_config

    env = os.environ.get("YUNWEI_VAR")
    if env:
        path = Path(env)
    elif admin_config() is not None:
        path = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "yunwei"
    else:
        path = project_root() / "var"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()

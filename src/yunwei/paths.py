"""Where things live: the content root (jobs, playbooks, templates) and the state directory.

State - the journal, the audit log, review requests, runner directories, schedules - never goes
to the current directory (an AWX job's working directory is thrown away after the job):

1. ``$YUNWEI_VAR`` when set;
2. ``<checkout>/var`` when this package runs from a checkout (``src/yunwei`` next to galaxy.yml:
   the editable install of ``make bootstrap``), so development state stays git-ignored in the tree;
3. otherwise ``/var/lib/yunwei`` as root, ``$XDG_DATA_HOME/yunwei`` (``~/.local/share/yunwei``)
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
    """The content root (jobs.yml, playbooks/, reports/templates/): $YUNWEI_ROOT, else the checkout,
    else the current directory."""
    env = os.environ.get("YUNWEI_ROOT")
    if env:
        return Path(env).resolve()
    return checkout_root() or Path.cwd().resolve()


def default_state_dir() -> Path:
    """Rule 3 of the module docstring: the state directory of an installed package."""
    if os.geteuid() == 0:
        return Path("/var/lib/yunwei")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "yunwei"


def var_dir() -> Path:
    """The state directory (created): $YUNWEI_VAR, else <checkout>/var, else default_state_dir()."""
    env = os.environ.get("YUNWEI_VAR")
    root = checkout_root()
    path = Path(env) if env else (root / "var" if root else default_state_dir())
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()

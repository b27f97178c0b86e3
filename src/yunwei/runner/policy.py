"""What an operator may pass to a job: read-only is enforced, not declared.

- ``ansible_*`` extra vars (connection, privilege escalation: ``ansible_become_flags``,
  ``ansible_ssh_common_args`` ...) are refused for every job unless its catalogue entry lists the
  exact name under ``extra_vars`` (the catalogue is the administrator's, and reviewed).
- A read-only job takes only the extra vars its entry declares (``extra_vars``, fnmatch patterns
  such as ``inspection_*``); yunwei hands them to the playbook as unsafe text (no templating).
- A read-only job never runs a change job's playbook: same path, or same content (a copy or a
  hard link), checked when the catalogue is loaded and again just before the run.
- In admin mode the inventory of a job is the catalogue's (``yunwei inspect -i`` is refused):
  an inventory sets connection and privilege variables too.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from yunwei.errors import InputError
from yunwei.jobs import Job, change_playbook_of


def check_extravars(job: Job, extravars: dict[str, Any] | None) -> None:
    """Exit 2 naming the first variable the operator may not pass to ``job``."""
    for name in sorted(extravars or {}):
        if name.startswith("ansible_") and name not in job.extra_vars:
            raise InputError("-e", name, f"connection and privilege variables (ansible_*) cannot be passed to "
                                         f"{job.name}: only the catalogue can set them ({job.source})")
        if job.is_change or name in job.secret_vars:
            continue  # a change request shows its vars to the reviewer and its digest covers them
        if not any(fnmatchcase(name, pattern) for pattern in job.extra_vars):
            declared = ", ".join(job.extra_vars) or "none"
            raise InputError("-e", name, f"read-only job {job.name} takes only the extra vars its catalogue entry "
                                         f"declares (extra_vars: {declared}; {job.source})")


def check_readonly_playbook(job: Job, catalogue: Iterable[Job]) -> None:
    """Exit 2 when a read-only job would run a change job's playbook (same path or content)."""
    other = change_playbook_of(job, catalogue)
    if other is not None:
        raise InputError(job.source, f"jobs.{job.name}.playbook",
                         f"{job.playbook_path()} is the playbook of change job {other.name} (same path or same "
                         "content): it runs only through two-person review")


def check_inventory_override(inventory: str | None) -> None:
    from yunwei.config import admin_config

    config = admin_config()
    if inventory and config is not None:
        raise InputError("-i", inventory, f"the inventory is the job catalogue's in admin mode ({config.path}): "
                                          "an inventory sets connection and privilege variables")

"""The environment a job runs in: the repo's ansible.cfg, the journal, host key checking."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from yunwei.paths import project_root, var_dir

JOURNAL_CALLBACK = "yunwei.ops.journal"


def operator() -> str:
    """The operator: the OS login, or $YUNWEI_OPERATOR (a label only: approvals are bound to a
    person by an SSH signature verified against allowed_signers, not by this name)."""
    env = os.environ.get("YUNWEI_OPERATOR")
    if env:
        return env
    import getpass

    return getpass.getuser()


def job_envvars(*, run_id: str, job: str, profile: str | None, operator_name: str, content_digest: str) -> dict[str, str]:
    root = project_root()
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    enabled = [c for c in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if c.strip()]
    if JOURNAL_CALLBACK not in enabled:
        enabled.append(JOURNAL_CALLBACK)
    return {
        "PATH": venv_bin + os.pathsep + path if venv_bin not in path.split(os.pathsep) else path,
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(root / ".collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        # bad input is an error, not a warning: an inventory source no plugin can parse (Ansible
        # would go on with no hosts) and a duplicate YAML key (Ansible would take the last one)
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
        "ANSIBLE_DUPLICATE_YAML_DICT_KEY": "error",
        "ANSIBLE_CALLBACKS_ENABLED": ",".join(enabled),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "YUNWEI_STORE": os.environ.get("YUNWEI_STORE") or str(var_dir() / "journal.sqlite"),
        "YUNWEI_RUN_ID": run_id,
        "YUNWEI_JOB": job,
        "YUNWEI_PROFILE": profile or "",
        "YUNWEI_OPERATOR": operator_name,
        "YUNWEI_CONTENT_DIGEST": content_digest,
    }

"""The environment a job runs in, built by yunwei: nothing is inherited from the operator's shell.

ansible-playbook reads much of its behaviour from the environment (``ANSIBLE_BECOME_FLAGS``,
``ANSIBLE_CALLBACK_PLUGINS``, ``ANSIBLE_*_PLUGINS``, ``PYTHONPATH``, ``LD_PRELOAD`` ...): a
variable set after a review would change what runs. So a job gets exactly :func:`job_envvars` —
the repository's ansible.cfg, the collection path, host key checking, the journal — plus a few
neutral variables from an allow-list, and ansible-runner is started with that as its whole
environment (:func:`exact_environ`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import sys
from collections.abc import Iterator
from pathlib import Path

from yunwei.paths import project_root
from yunwei.store import default_store_url

JOURNAL_CALLBACK = "yunwei.ops.journal"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Passed through unchanged: they decide nothing about what a playbook does. SSH_AUTH_SOCK is the
# operator's agent (how they reach the hosts, as with plain ssh).
PASS_THROUGH = ("SSH_AUTH_SOCK", "TERM", "TZ")


def operator() -> str:
    """Who is acting. Admin mode: the OS login of the real user id, nothing else. Lab mode: the
    login, or $YUNWEI_OPERATOR (a label for tests and demos: one person holds every key there)."""
    from yunwei.config import admin_config, login

    if admin_config() is not None:
        return login()
    return os.environ.get("YUNWEI_OPERATOR") or login()


def _home() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return str(Path.home())


def job_envvars(*, run_id: str, job: str, profile: str | None, operator_name: str, content_digest: str) -> dict[str, str]:
    """The whole environment of a job (ansible-runner adds only its own event callback)."""
    root = project_root()
    venv_bin = str(Path(sys.executable).parent)
    from yunwei.config import login

    env = {k: os.environ[k] for k in PASS_THROUGH if os.environ.get(k)}
    env.update({
        "PATH": venv_bin + os.pathsep + SAFE_PATH,
        "HOME": _home(),
        "USER": login(),
        "LOGNAME": login(),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(root / ".collections"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        # bad input is an error, not a warning: an inventory source no plugin can parse (Ansible
        # would go on with no hosts) and a duplicate YAML key (Ansible would take the last one)
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
        "ANSIBLE_DUPLICATE_YAML_DICT_KEY": "error",
        "ANSIBLE_CALLBACKS_ENABLED": JOURNAL_CALLBACK,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "YUNWEI_STORE": default_store_url(),
        "YUNWEI_RUN_ID": run_id,
        "YUNWEI_JOB": job,
        "YUNWEI_PROFILE": profile or "",
        "YUNWEI_OPERATOR": operator_name,
        "YUNWEI_CONTENT_DIGEST": content_digest,
    })
    if os.environ.get("YUNWEI_TZ"):
        env["YUNWEI_TZ"] = os.environ["YUNWEI_TZ"]
    # A job that runs yunwei itself (ticket_watch) sees the mode the controller runs in: the same
    # configuration file and, in lab mode, the same var/ (audit log) and service-desk clocks.
    from yunwei.config import CONFIG_ENV, admin_config

    if os.environ.get(CONFIG_ENV):
        env[CONFIG_ENV] = os.environ[CONFIG_ENV]
    if admin_config() is None:
        env.update({k: os.environ[k] for k in ("YUNWEI_VAR", "YUNWEI_SERVICE_DESK") if os.environ.get(k)})
    return env


@contextlib.contextmanager
def exact_environ(env: dict[str, str]) -> Iterator[None]:
    """Make ``env`` the process environment for the duration (ansible-runner seeds the job's
    environment from ``os.environ``), and restore the operator's afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)

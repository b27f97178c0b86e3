# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module call from an action plugin that judges on the controller: a lost connection becomes an
``unreachable`` result (the host is recorded as such, not as a crash), and the remote temporary folder is
removed whatever happened."""

from __future__ import annotations

from ansible.errors import AnsibleConnectionFailure


def call_module(action, module_name, module_args, task_vars):
    """The module's result, or {"unreachable": True, "msg": ...} when the connection failed."""
    try:
        return action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
    except AnsibleConnectionFailure as exc:
        return {"unreachable": True, "msg": str(exc)}
    finally:
        try:
            action._remove_tmp_path(action._connection._shell.tmpdir)
        except Exception:  # pylint: disable=broad-except
            pass

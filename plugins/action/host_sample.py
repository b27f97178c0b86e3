# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.host_sample: one ``cat`` of four /proc files over the existing
connection, parsed on the controller. No module transfer, no Python start-up, no become: the
first reading of the sampling interval costs a fraction of a module round trip."""

from __future__ import annotations

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible_collections.yunwei.ops.plugins.action.inspect import unreachable_result
from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars or {})
        del tmp
        result["changed"] = False
        try:
            res = self._low_level_execute_command(hp.COUNTER_COMMAND, sudoable=False)
        except AnsibleConnectionFailure as exc:
            return unreachable_result(result, {"unreachable": True, "msg": str(exc)})
        try:
            result["sample"] = hp.parse_counters(res.get("stdout", ""))
        except (ValueError, IndexError) as exc:
            # not fatal: the inspection then takes its first reading itself
            result["sample"] = None
            result["msg"] = "counters unreadable (%s; rc %s, stderr %s); the inspection samples in its own call" % (
                exc, res.get("rc"), str(res.get("stderr", ""))[-300:])
        return result

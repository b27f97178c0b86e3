# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.backup_status, and base of those of yunwei.ops.pgbackrest and
yunwei.ops.restic: the module runs in one round trip and returns findings (values and evidence);
here, on the controller, they are judged against the check catalogue of the ``yunwei`` package like
every other check (yunwei.backup.judge: the tier's thresholds with ``thresholds`` over the defaults,
titles, units, 处理建议), and the status rows take the status of the checks they name.

Fork safety: this runs in a worker Ansible forked from the controller; it reads the catalogue (plain
data, preloaded by the journal callback) and never opens or touches the journal store
(docs/journal.md, "Fork safety"). A module that fails with findings (a failed backup or verify)
stays failed, with its findings judged, so the journal records why.
"""

from __future__ import annotations

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True
    MODULE = "yunwei.ops.backup_status"
    # a status module that fails as a whole becomes a crit BACKUP-PROBE-001 and the task goes on (the
    # inspection's other hosts and areas still report); a failed backup or verify stays failed
    PROBE_ON_FAILURE = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        thresholds = args.pop("thresholds", None) or {}
        disabled = args.pop("disabled_checks", None) or []
        catalogue = require("yunwei.catalogue")
        problems = catalogue.validate_thresholds(thresholds, "thresholds", areas=["backup"])
        if problems:  # before the host is contacted
            result.update(failed=True, changed=False, msg="; ".join(problems))
            return result
        judge = require("yunwei.backup.judge")
        try:
            try:
                res = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
            except AnsibleConnectionFailure as exc:
                res = {"unreachable": True, "msg": str(exc)}
            result.update(res)
            if res.get("failed") and "findings" not in res and self.PROBE_ON_FAILURE and not res.get("unreachable"):
                msg = str(res.get("msg") or res.get("module_stderr") or "failed").strip()
                result.update(failed=False, changed=False, rows=[], metrics=[], findings=[{
                    "id": "BACKUP-PROBE-001", "instance": "", "value": "error", "outcome": "failed",
                    "evidence": ("备份状态采集失败：%s" % msg)[:1500]}])
            if "findings" in result:
                judge.judge_backup_result(result, thresholds, disabled)
            return result
        finally:
            try:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            except Exception:  # pylint: disable=broad-except
                pass

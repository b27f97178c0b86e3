# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.web_audit: runs the audit (on the controller, delegated to localhost)
and judges its findings against the check catalogue, like the inspection's action plugins. Nothing
here opens the journal store (fork safety): the judging reads only the packaged catalogue."""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.action.host_inspect import ActionModule as HostInspectAction
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require


class ActionModule(HostInspectAction):
    MODULE = "yunwei.ops.web_audit"
    AREA = "webq"

    def run(self, tmp=None, task_vars=None):
        """The audit, judged; then WEBQ-REG-001 against the previous and the baseline audit of this host,
        from the journal's series the callback prepared on the controller before this worker was forked
        (yunwei.inspection.history). Without a prepared history (first audit, callback off) no comparison."""
        host = (task_vars or {}).get("inventory_hostname", "")
        limits = dict(self._task.args.get("regression") or {})
        hist, note = require("yunwei.inspection.history").prepared(host)
        result = super(ActionModule, self).run(tmp, task_vars)
        if result.get("failed") or result.get("unreachable") or "metrics" not in result:
            return result
        if hist is None:
            result.setdefault("dynamic", {}).setdefault("notes", []).append(note)
            return result
        found = require("yunwei.webaudit.compare").job_regressions(hist.series, result["metrics"], limits)
        judge = require("yunwei.inspection.judge")
        extra = judge.judge(found, self._task.args.get("thresholds") or {},
                            self._task.args.get("disabled_checks") or [])
        result["checks"].extend(extra)
        result["summary"] = judge.summary(result["checks"])
        return result

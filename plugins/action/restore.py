# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.restore: the module's DRILL-* findings judged on the controller from the
check catalogue like every other check (see action/backup_status.py; no store is opened here).

A drill check passes or fails (kind drill, no warn/crit thresholds): an RTO or RPO finding carries the
limit it is measured against (``limits: {max: seconds}``, the contract's or our target) and is judged
here - over the limit is the outcome ``over`` (不通过).
"""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.action.backup_status import ActionModule as BackupActionModule


def over_limits(findings):
    """Set the outcome ``over`` of each finding whose number exceeds its ``limits.max``."""
    for f in findings or ():
        mx = (f.get("limits") or {}).get("max")
        value = f.get("value")
        if f.get("outcome") or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not isinstance(mx, (int, float)):
            continue
        if value > mx:
            f["outcome"] = "over"
    return findings


class ActionModule(BackupActionModule):
    MODULE = "yunwei.ops.restore"
    PROBE_ON_FAILURE = False

    def _execute_module(self, *args, **kwargs):  # pylint: disable=arguments-differ
        res = super(ActionModule, self)._execute_module(*args, **kwargs)
        over_limits(res.get("findings"))
        return res

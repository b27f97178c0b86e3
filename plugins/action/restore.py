# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.restore: the module's DRILL-* findings judged on the controller from the
check catalogue like every other check (see action/backup_status.py; no store is opened here).

A drill check passes or fails (kind drill, no warn/crit thresholds): an RTO or RPO finding carries the
limit it is measured against (``limits: {max: seconds}``, the contract's or our target) and is judged
here - over the limit is the outcome ``over`` (不通过). A drill over the contract's limit (RTO 4 h, RPO 1 h)
fails the task, so the run fails and the schedule reports it; over our own, tighter target it is recorded
不通过 and the run goes on.
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


CONTRACT_CHECKS = ("DRILL-RTO-001", "DRILL-RPO-001")


def contract_misses(findings):
    """Sentences for the findings over the contract's limit (empty when the drill met the contract)."""
    out = []
    for f in findings or ():
        if f.get("id") in CONTRACT_CHECKS and f.get("outcome") == "over":
            where = " " + f["instance"] if f.get("instance") else ""
            limit = (f.get("limits") or {}).get("max")
            out.append("%s%s: %ss over the contract's %ss" % (f["id"], where, f.get("value"), limit))
    return out


class ActionModule(BackupActionModule):
    MODULE = "yunwei.ops.restore"
    PROBE_ON_FAILURE = False

    def _execute_module(self, *args, **kwargs):  # pylint: disable=arguments-differ
        res = super(ActionModule, self)._execute_module(*args, **kwargs)
        over_limits(res.get("findings"))
        missed = contract_misses(res.get("findings"))
        if missed and not res.get("failed"):
            res["failed"] = True
            res["msg"] = "the drill missed the contract: " + "; ".join(missed)
        return res

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.baseline_audit: one module call per host, then, on the controller:

- judges every baseline rule of the check catalogue from the host's facts (yunwei.baseline.rules),
  leaving out the rules switched off (``disabled_rules``);
- applies the approved waivers (the active copy installed through two-person review, read from the
  state directory; a copy edited outside review is refused before the host is contacted): a waived
  rule is ``waived``, an expired waiver waives nothing and is reported as expired;
- returns ``checks`` (recorded by the journal), the pass rates per host and per GB/T 22239 clause as
  ``metrics`` (baseline.pass_pct), and in ``baseline.to_fix`` what enforce remediates: the failed
  rules it can fix, with the data it needs (the accounts, packages, files that failed).

Fork safety: this runs in a worker; it reads plain files (the catalogue, the active waivers), never the
journal store (docs/journal.md, "Fork safety").
"""

from __future__ import annotations

import datetime as dt
import os
import time

from ansible.plugins.action import ActionBase
from ansible_collections.yunwei.ops.plugins.plugin_utils.module_call import call_module
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require

CONTROLLER_ARGS = ("params", "disabled_rules", "settings", "verify")
FACTS_KEPT = ("os", "container", "systemd", "kernel_audit", "errors", "timings")


def client_today():
    """Today in the client's zone ($YUNWEI_TZ, default Asia/Shanghai): waivers expire at its end."""
    try:
        from zoneinfo import ZoneInfo

        return dt.datetime.now(ZoneInfo(os.environ.get("YUNWEI_TZ") or "Asia/Shanghai")).date()
    except Exception:  # pylint: disable=broad-except
        return dt.date.today()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        host = task_vars.get("inventory_hostname", "")
        opts = dict((k, args.pop(k, None)) for k in CONTROLLER_ARGS)
        settings = opts["settings"] or {}
        disabled = set(opts["disabled_rules"] or [])
        baseline_settings = require("yunwei.baseline.settings")
        waivers_mod = require("yunwei.baseline.waivers")
        rules = require("yunwei.baseline.rules")
        judge = require("yunwei.baseline.judge")
        cat = require("yunwei.catalogue").catalogue()
        problems = baseline_settings.problems({"mode": "audit", "params": opts["params"] or {},
                                               "switches": dict((baseline_settings.switch_name(r), False) for r in disabled),
                                               "os_families": args.get("os_families")}, cat=cat)
        try:
            waivers, waiver_meta = waivers_mod.load_active()
        except Exception as exc:  # pylint: disable=broad-except
            problems.append(str(exc))
            waivers, waiver_meta = [], None
        if problems:  # before the host is contacted
            result.update(failed=True, changed=False, msg="; ".join(problems))
            return result
        started = time.time()
        res = call_module(self, "yunwei.ops.baseline_audit", args, task_vars)
        if res.get("unreachable") or res.get("failed"):
            result.update(res)
            return result
        facts = res.get("facts") or {}
        family = (facts.get("os") or {}).get("family", "")
        osv = dict((args.get("os_families") or {}).get(family) or {})
        osv.update(args.get("os_overrides") or {})
        params = baseline_settings.effective_params(opts["params"], cat)
        ctx = rules.Context(
            params=params, osv=osv, admins=tuple(settings.get("admin_accounts") or ()),
            risky_ports=dict((int(k), str(v)) for k, v in (settings.get("risky_ports") or {}).items()),
            allowed_ports=tuple(int(p) for p in settings.get("allowed_ports") or ()),
            required_packages=tuple(settings.get("required_packages") or ()))
        findings = rules.evaluate(facts, ctx, cat, disabled)
        host_waivers = waivers_mod.for_host(waivers, host)
        checks, applied = judge.judge(findings, host, params=params, waivers=host_waivers, today=client_today(), cat=cat)
        score = judge.tally(checks, cat)
        fix = judge.to_fix(findings, checks, cat)
        result["changed"] = False
        result["summary"] = score["counts"]
        result["baseline"] = {
            "os": facts.get("os"), "family": family, "container": facts.get("container"),
            "kernel_audit": facts.get("kernel_audit"), "score": score, "waivers": applied,
            "waivers_digest": (waiver_meta or {}).get("digest", ""), "to_fix": fix["rules"], "manual_fix": fix["manual"],
            "disabled": sorted(disabled), "params": params, "errors": facts.get("errors") or {},
            "sshd": {"first_include": (facts.get("sshd") or {}).get("first_include"),
                     "main": (facts.get("sshd") or {}).get("main"), "dropin_dir": (facts.get("sshd") or {}).get("dropin_dir")},
            "seconds": round(time.time() - started, 3),
        }
        result["facts"] = dict((k, facts.get(k)) for k in FACTS_KEPT)
        if opts["verify"]:
            result["verify_checks"] = checks
            result["metrics"] = []
        else:
            result["checks"] = checks
            result["metrics"] = judge.metrics(score, time.time())
        return result

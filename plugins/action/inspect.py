# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.inspect, and base of the single-area collectors' action plugins
(host_inspect, web_inspect, pg_inspect).

Runs the module in one round trip, then on the controller:
- judges what the collectors found against the check catalogue of the ``yunwei`` package
  (yunwei.inspection.judge: status, title, unit, threshold and 处理建议 of every check, with the
  effective ``thresholds``), leaving out the checks in ``disabled_checks``;
- turns an unreachable host into a crit check ``<AREA>-REACH-001`` (the result stays
  unreachable, so the host is skipped afterwards) and a failing module into one
  ``<AREA>-PROBE-001`` per area (the result is not failed, so the play goes on);
- passes the time of the host's last inspection to the web and db areas as ``since`` (error-log
  lines since the last inspection), and the recorded package-state fingerprint to the host area
  (``updates_fingerprint``: apt is not run again when nothing changed, the recorded pending-update
  answer is judged again);
- judges the returned metrics against dynamic baselines learned from the history (anomaly
  checks ``<AREA>-ANOM-001``) and, with ``forecast``, adds growth and days-until-full checks.

Fork safety: this runs in a worker Ansible forked from the controller, so it never opens or touches
the journal store (docs/journal.md, "Fork safety"). The history comes from
:mod:`yunwei.inspection.history`, prepared on the controller by the journal callback when this task
started. No history (callback off, empty or unreadable store) never fails the inspection: static
limits apply, and the result's ``dynamic.notes`` (and a warning when the callback is off) say so.
"""

from __future__ import annotations

import time

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require

display = Display()

CONTROLLER_ARGS = ("thresholds", "disabled_checks", "dynamic_thresholds", "forecast", "store")
AREA_ORDER = ("host", "web", "db")
PACKAGE_CHECKS = ("HOST-PKG-001", "HOST-PKG-002")


def unreachable_result(result, res, area="host", thresholds=None, disabled=()):
    """``result`` updated with the unreachable module result ``res`` and its crit check."""
    judge = require("yunwei.inspection.judge")
    msg = str(res.get("msg") or "unreachable").strip()
    result.update(res)
    result["unreachable"] = True
    result["findings"] = [{"id": "%s-REACH-001" % area.upper(), "instance": "", "value": "error",
                           "evidence": ("无法连接主机：%s" % msg)[:1500], "outcome": "unreachable"}]
    result["metrics"] = []
    return judge.judge_result(result, thresholds, disabled)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True
    MODULE = "yunwei.ops.inspect"

    # -- how the module's arguments hold the areas (overridden by the single-area plugins) ------
    def areas(self, args):
        return [a for a in AREA_ORDER if args.get(a) is not None]

    def area_args(self, args, area):
        """The (copied, writable) options of ``area`` inside ``args``."""
        args[area] = dict(args[area])
        return args[area]

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        host = task_vars.get("inventory_hostname", "")
        judge = require("yunwei.inspection.judge")
        dyn = args.get("dynamic_thresholds") or {}
        forecast = bool(args.get("forecast"))
        thresholds = args.get("thresholds") or {}
        disabled = args.get("disabled_checks") or []
        for key in CONTROLLER_ARGS:
            args.pop(key, None)
        problems = self.input_problems(thresholds, disabled)
        if problems:  # before the host is contacted
            result.update(failed=True, changed=False, msg="; ".join(problems))
            return result
        areas = self.areas(args)
        area_args = dict((area, self.area_args(args, area)) for area in areas)
        if "host" in area_args and set(PACKAGE_CHECKS) <= set(disabled):
            area_args["host"]["updates"] = False  # nothing would show the package manager's answer

        hist = dynamic = None
        notes = []
        t0 = time.time()
        wants_since = [a for a in areas if a in ("web", "db") and area_args[a].get("since") is None]
        if dyn.get("enabled", True) or forecast or wants_since:
            try:
                dynamic = require("yunwei.inspection.dynamic")
                history = require("yunwei.inspection.history")
                hist, note = history.prepared(host)  # plain data from the controller: no store, no lock
                if note:
                    notes.append(note)
                    if note == history.NOT_ENABLED:
                        display.warning("yunwei.ops.inspect: " + note)
            except Exception as exc:  # pylint: disable=broad-except
                notes.append("journal history unavailable (%s: %s); static limits only" % (type(exc).__name__, exc))
                hist = None
        try:
            pkg_state = self.prepare(hist, dynamic, host, area_args, wants_since, notes)
            started = time.time()
            try:
                res = self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
            except AnsibleConnectionFailure as exc:
                res = {"unreachable": True, "msg": str(exc)}
            if res.get("unreachable"):
                return unreachable_result(result, res, "host" if "host" in areas or not areas else areas[0],
                                          thresholds, disabled)
            if res.get("failed"):
                return judge.judge_result(self.probe_failed(result, res, areas), thresholds, disabled)
            result.update(res)
            result["changed"] = False
            result.setdefault("findings", [])
            if (res.get("facts") or {}).get("updates_cached"):
                self.replay_packages(result, dynamic, pkg_state)
            module_done = time.time()
            if hist is not None:
                for area in areas:
                    self.controller_checks(result, hist, dynamic, host, area, dyn, forecast, notes)
            judge.judge_result(result, thresholds, disabled)
            result.setdefault("dynamic", {})["notes"] = notes
            result["dynamic"]["seconds"] = {"before": round(started - t0, 3), "module": round(module_done - started, 3),
                                            "after": round(time.time() - module_done, 3)}
            return result
        finally:
            try:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            except Exception:  # pylint: disable=broad-except
                pass

    @staticmethod
    def input_problems(thresholds, disabled):
        """The controller-side options the module's argument spec never sees, checked against the catalogue."""
        catalogue = require("yunwei.catalogue")
        problems = catalogue.validate_thresholds(thresholds, "thresholds")
        known = catalogue.catalogue().checks
        if not isinstance(disabled, list) or not all(isinstance(c, str) for c in disabled):
            problems.append("disabled_checks: must be a list of check ids, got %r" % (disabled,))
        else:
            unknown = sorted(set(disabled) - set(known))
            if unknown:
                problems.append("disabled_checks: no check %s in the catalogue" % ", ".join(unknown))
        return problems

    def prepare(self, hist, dynamic, host, area_args, wants_since, notes):
        """Fill in what the host needs from its prepared history (``hist``: a HostHistory or None);
        returns the recorded package state or None."""
        if hist is None:
            return None
        for area in wants_since:
            last = hist.last_inspection.get(area)
            if last is not None:
                area_args[area]["since"] = last
        hargs = area_args.get("host")
        if hargs is not None and hargs.get("updates", True) and not hargs.get("updates_fingerprint"):
            pkg_state = hist.package_state
            if pkg_state:
                hargs["updates_fingerprint"] = pkg_state[0]
            return pkg_state
        return None

    def controller_checks(self, result, hist, dynamic, host, area, dyn, forecast, notes):
        """Findings from the journal's history: anomalies against baselines, and with ``forecast`` growth."""
        cat = require("yunwei.catalogue").catalogue()
        metrics = [m for m in result.get("metrics") or [] if cat.metric_area(m.get("name")) == area]
        try:
            settings = dynamic.Settings.from_dict(dyn)
            if settings.enabled:
                found, judged = dynamic.anomaly_findings(hist, host, area, metrics, settings)
                result["findings"].extend(found)
                result.setdefault("dynamic", {}).setdefault("judged", 0)
                result["dynamic"]["judged"] += judged
            if forecast:
                found, extra = dynamic.forecast_findings(hist, host, area, metrics, settings)
                result["findings"].extend(found)
                result["metrics"].extend(extra)
        except Exception as exc:  # pylint: disable=broad-except
            notes.append("dynamic thresholds skipped (%s): %s: %s" % (area, type(exc).__name__, exc))
            display.vvv("yunwei.ops: dynamic thresholds skipped: %s" % exc)

    def replay_packages(self, result, dynamic, pkg_state):
        """The module skipped the package manager (state unchanged): the recorded answer, judged again."""
        if pkg_state:
            findings, metrics = dynamic.replay_package_findings(pkg_state[1], pkg_state[2])
        else:
            findings, metrics = [{"id": "HOST-PKG-001", "instance": "", "value": "unknown", "outcome": "no_record",
                                  "evidence": "未运行软件包管理器且无记录可沿用"}], []
        result["findings"].extend(findings)
        result["metrics"].extend(metrics)

    def probe_failed(self, result, res, areas):
        detail = str(res.get("msg") or "").strip()
        for key in ("module_stderr", "stderr", "module_stdout"):
            if res.get(key):
                detail += "；%s: %s" % (key, str(res[key]).strip()[-600:])
        result.update({k: v for k, v in res.items() if k not in ("failed", "findings", "checks", "metrics")})
        result["failed"] = False
        result["changed"] = False
        result["probe_failed"] = True
        result["findings"] = [{"id": "%s-PROBE-001" % area.upper(), "instance": "", "value": "error", "outcome": "failed",
                               "evidence": ("巡检模块执行失败：%s" % detail)[:1500]} for area in (areas or ["host"])]
        result["metrics"] = []
        return result

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.inspect, and base of the single-area collectors' action plugins
(host_inspect, web_inspect, pg_inspect).

Runs the module in one round trip, then on the controller:
- turns an unreachable host into a crit check ``<AREA>-REACH-001`` (the result stays
  unreachable, so the host is skipped afterwards) and a failing module into one
  ``<AREA>-PROBE-001`` per area (the result is not failed, so the play goes on);
- passes the time of the host's last inspection to the web and db areas as ``since`` (error-log
  lines since the last inspection), and the recorded package-state fingerprint to the host area
  (``updates_fingerprint``: apt is not run again when nothing changed, the recorded pending-update
  checks are re-emitted);
- judges the returned metrics against dynamic baselines learned from the history (anomaly
  checks ``<AREA>-ANOM-001``) and, with ``forecast``, adds growth and days-until-full checks.

Fork safety: this runs in a worker Ansible forked from the controller, so it never opens or touches
the journal store (docs/journal.md, "Fork safety"). The history comes from
:mod:`yunwei.inspection.history`, prepared on the controller by the journal callback when this task
started. No history (callback off, empty or unreadable store) never fails the inspection: static
limits apply, and the result's ``dynamic.notes`` (and a warning when the callback is off) say so.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import AREA_TITLES, judge, probe_check

display = Display()

CONTROLLER_ARGS = ("dynamic_thresholds", "forecast", "store")
AREA_ORDER = ("host", "web", "db")


def import_yunwei():
    """The yunwei package (installed, or <collection root>/src of a plain checkout): the judging
    functions and the history prepared on the controller. Never the store."""
    try:
        import yunwei  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        for base in (Path(__file__).resolve().parents[2], Path(__file__).parents[2]):
            src = base / "src"
            if (src / "yunwei" / "__init__.py").is_file() and str(src) not in sys.path:
                sys.path.insert(0, str(src))
                break
    from yunwei.inspection import dynamic, history
    return dynamic, history


def metric_area(name):
    """Area of a metric by its name: web.* and db.* are their areas', everything else the host's."""
    head = str(name).split(".", 1)[0]
    return head if head in ("web", "db") else "host"


def crit_check(area, check_id, title, evidence, suggestion):
    return {
        "id": check_id, "category": area, "title": title, "instance": "", "status": "crit",
        "value": "error", "unit": "", "threshold": "", "evidence": evidence[:1500], "suggestion": suggestion,
    }


def unreachable_result(result, res, area="host"):
    """``result`` updated with the unreachable module result ``res`` and its crit check."""
    msg = str(res.get("msg") or "unreachable").strip()
    result.update(res)
    result["unreachable"] = True
    result["checks"] = [crit_check(
        area, "%s-REACH-001" % area.upper(), "%s可达性" % AREA_TITLES[area], "无法连接主机：%s" % msg,
        "检查主机是否开机、网络/VPN 与堡垒机到主机的 SSH（端口、密钥、sshd 状态）；恢复后重新巡检该主机。")]
    result["metrics"] = []
    recount(result)
    return result


def recount(result):
    counts = {"ok": 0, "warn": 0, "crit": 0}
    for c in result.get("checks") or []:
        counts[c.get("status", "ok")] = counts.get(c.get("status", "ok"), 0) + 1
    result["summary"] = counts


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
        dyn = args.get("dynamic_thresholds") or {}
        forecast = bool(args.get("forecast"))
        for key in CONTROLLER_ARGS:
            args.pop(key, None)
        areas = self.areas(args)
        area_args = dict((area, self.area_args(args, area)) for area in areas)

        hist = dynamic = None
        notes = []
        t0 = time.time()
        wants_since = [a for a in areas if a in ("web", "db") and area_args[a].get("since") is None]
        if dyn.get("enabled", True) or forecast or wants_since:
            try:
                dynamic, history = import_yunwei()
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
                return unreachable_result(result, res, "host" if "host" in areas or not areas else areas[0])
            if res.get("failed"):
                return self.probe_failed(result, res, areas)
            result.update(res)
            result["changed"] = False
            if (res.get("facts") or {}).get("updates_cached"):
                self.replay_packages(result, dynamic, pkg_state, area_args.get("host") or {}, args.get("thresholds"))
            module_done = time.time()
            if hist is not None:
                for area in areas:
                    self.controller_checks(result, hist, dynamic, host, area, dyn, forecast, args.get("thresholds"),
                                           notes)
            result.setdefault("dynamic", {})["notes"] = notes
            result["dynamic"]["seconds"] = {"before": round(started - t0, 3), "module": round(module_done - started, 3),
                                            "after": round(time.time() - module_done, 3)}
            recount(result)
            return result
        finally:
            try:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            except Exception:  # pylint: disable=broad-except
                pass

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

    def controller_checks(self, result, hist, dynamic, host, area, dyn, forecast, thresholds, notes):
        metrics = [m for m in result.get("metrics") or [] if metric_area(m.get("name")) == area]
        try:
            settings = dynamic.Settings.from_dict(dyn)
            if settings.enabled:
                found, judged = dynamic.anomaly_checks(hist, host, area, metrics, settings)
                result["checks"].extend(found)
                result.setdefault("dynamic", {}).setdefault("judged", 0)
                result["dynamic"]["judged"] += judged
            if forecast:
                found, extra = dynamic.forecast_checks(hist, host, area, metrics, thresholds, settings, judge)
                result["checks"].extend(found)
                result["metrics"].extend(extra)
        except Exception as exc:  # pylint: disable=broad-except
            notes.append("dynamic thresholds skipped (%s): %s: %s" % (area, type(exc).__name__, exc))
            display.vvv("yunwei.ops: dynamic thresholds skipped: %s" % exc)

    def replay_packages(self, result, dynamic, pkg_state, hargs, thresholds):
        """The module skipped the package manager (state unchanged): re-emit the recorded answer."""
        if pkg_state:
            checks, metrics = dynamic.replay_package_checks(pkg_state[1], pkg_state[2], thresholds, judge)
        else:
            checks, metrics = [{
                "id": "HOST-PKG-001", "category": "host", "title": "待安装更新", "instance": "", "status": "warn",
                "value": "unknown", "unit": "", "threshold": "", "evidence": "未运行软件包管理器且无记录可沿用",
                "suggestion": "重新巡检该主机（不带 updates_fingerprint）。"}], []
        result["checks"].extend(checks)
        result["metrics"].extend(metrics)
        result["checks"].sort(key=lambda c: (c["id"], c.get("instance", "")))

    def probe_failed(self, result, res, areas):
        detail = str(res.get("msg") or "").strip()
        for key in ("module_stderr", "stderr", "module_stdout"):
            if res.get(key):
                detail += "；%s: %s" % (key, str(res[key]).strip()[-600:])
        result.update({k: v for k, v in res.items() if k not in ("failed", "checks", "metrics")})
        result["failed"] = False
        result["changed"] = False
        result["probe_failed"] = True
        result["checks"] = [probe_check(area, ("巡检模块执行失败：%s" % detail)[:1500]) for area in (areas or ["host"])]
        result["metrics"] = []
        recount(result)
        return result

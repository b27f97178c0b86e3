# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.load_test: the stress test's steps, run from the controller with wrk
against the task host's inventory address, while the host's counters are read before and after each
step over the existing connection (one ``cat`` of /proc files, as yunwei.ops.host_sample does).

Bounded: each step runs wrk for its duration (killed if it overruns by 30 s), the steps ramp up to
max_rate and stop after the first step that breaks the latency objective or the error budget. The
settings are validated again here (yunwei.stress.plan), so the plugin refuses what the role's
validation would refuse. Fork safety: no store, no lock, no journal; the result goes to the journal
through the task result like every other task.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timezone

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase
from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require

SETTINGS = ("duration", "max_rate", "steps", "max_requests", "objective_p95_ms", "error_budget_pct", "path",
            "port", "scheme")
EXTRA_SEPARATOR = "--yunwei-extra--"


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def _counters(self, extra=False):
        cmd = hp.COUNTER_COMMAND
        if extra:
            cmd += "; echo %s; cat /proc/meminfo; echo %s; cat /proc/loadavg" % (EXTRA_SEPARATOR, EXTRA_SEPARATOR)
        res = self._low_level_execute_command(cmd, sudoable=False)
        out = res.get("stdout", "")
        if not extra:
            return hp.parse_counters(out), None, None
        counters, meminfo, loadavg = out.split(EXTRA_SEPARATOR)
        return hp.parse_counters(counters), hp.parse_meminfo(meminfo), hp.parse_loadavg(loadavg.strip())

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        result["changed"] = False
        plan = require("yunwei.stress.plan")
        wrk_mod = require("yunwei.stress.wrk")
        judge = require("yunwei.stress.judge")
        args = self._task.args
        host = task_vars.get("inventory_hostname")
        settings = {k: args.get(k) for k in SETTINGS}
        settings.update(target=host, hosts=[host], hostvars=task_vars)
        problems = plan.problems(settings)
        if problems:
            result.update(failed=True, msg="; ".join(problems))
            return result
        address = str(task_vars.get("ansible_host") or host)
        if ":" in address:
            address = "[%s]" % address
        url = "%s://%s:%s%s" % (args["scheme"], address, args["port"], args["path"])
        objective, budget = float(args["objective_p95_ms"]), float(args["error_budget_pct"])
        steps = plan.steps_for(int(args["max_rate"]), int(args["steps"]), int(args["duration"]))
        result["stress"] = stress = {
            "target": host, "url": url, "objective_p95_ms": objective, "error_budget_pct": budget,
            "max_rate": int(args["max_rate"]), "step_seconds": int(args["duration"]),
            "max_requests": int(args["max_requests"]), "planned_steps": len(steps), "steps": [],
            "generator": "wrk", "started": _now()}
        if self._task.check_mode:
            stress["check_mode"] = True
            stress["planned"] = [{"index": s.index, "rate": s.rate, "connections": s.connections} for s in steps]
            return result
        wrk = shutil.which("wrk")
        if wrk is None:
            result.update(failed=True, msg="wrk is not installed on the controller (Debian package wrk: scripts/bootstrap.sh)")
            return result
        workdir = tempfile.mkdtemp(prefix="yunwei-wrk-")
        script = os.path.join(workdir, "step.lua")
        with open(script, "w") as fh:
            fh.write(wrk_mod.SCRIPT)
        try:
            for step in steps:
                record = self._step(wrk, wrk_mod, url, script, step)
                record["verdict"] = judge.step_verdict(record, objective, budget)
                stress["steps"].append(record)
                if record["verdict"]:
                    break  # the objective or the error budget broke: no higher step
        except AnsibleConnectionFailure as exc:
            result.update(failed=True, msg="lost the connection to %s during the stress test: %s" % (host, exc))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        stress["finished"] = _now()
        stress["capacity"] = judge.capacity(stress["steps"], objective, budget)
        result["metrics"] = [{"name": "stress_capacity_rps", "value": stress["capacity"]["rps"], "unit": "req/s",
                              "instance": url}] if stress["capacity"]["rps"] is not None else []
        return result

    def _step(self, wrk, wrk_mod, url, script, step):
        first, _, _ = self._counters()
        t0 = time.monotonic()
        started = _now()
        env = dict(os.environ, YUNWEI_WRK_DELAY_MS=str(step.delay_ms))
        cmd = wrk_mod.command(wrk, url, script, seconds=step.seconds, connections=step.connections)
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=step.seconds + 30, check=False)
            out, err, rc = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            out, err, rc = exc.stdout or "", "wrk overran its step by 30 s and was killed", -9
        seconds = time.monotonic() - t0
        second, meminfo, loadavg = self._counters(extra=True)
        record = {"index": step.index, "rate": step.rate, "connections": step.connections, "delay_ms": step.delay_ms,
                  "started": started, "finished": _now(), "wrk_rc": rc}
        try:
            record.update(wrk_mod.parse(out if isinstance(out, str) else out.decode()))
        except ValueError:
            record.update({"requests": 0, "rps": 0.0, "errors": 0, "error_pct": 100.0, "p95_ms": None,
                           "wrk_error": (str(err) or str(out))[-500:]})
        interval = max(1e-3, second["boot"] - first["boot"]) if second["boot_id"] == first["boot_id"] else seconds
        cpu = hp.cpu_usage(first["stat"], second["stat"])
        disks = hp.disk_rates(first["disk"], second["disk"], interval)
        nets = hp.net_rates(first["net"], second["net"], interval)
        record["host"] = {
            "cpu_pct": round(cpu["used_pct"], 1), "iowait_pct": round(cpu["iowait_pct"], 1),
            "mem_pct": round(hp.memory_usage(meminfo)["used_pct"], 1), "load1": loadavg[0],
            "disk_util_pct": round(max([d["util_pct"] for d in disks.values()] or [0.0]), 1),
            "net_rx_bps": round(sum(n["rx_bps"] for n in nets.values())),
            "net_tx_bps": round(sum(n["tx_bps"] for n in nets.values())),
        }
        return record

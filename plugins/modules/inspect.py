#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: inspect
short_description: Inspect a host, its website and its PostgreSQL in one call; return checks and metrics
version_added: "0.1.0"
description:
  - Runs the collectors of M(yunwei.ops.host_inspect), M(yunwei.ops.web_inspect) and
    M(yunwei.ops.pg_inspect) in one module call, so a host costs one round trip whatever it runs.
  - The website and PostgreSQL collectors run inside the host's CPU, disk and network sampling
    interval, so they add no wall time while the interval lasts; the inspection's own CPU time is
    left out of the CPU figure.
  - An area whose collector fails becomes one crit check C(<AREA>-PROBE-001) with the error as
    evidence; the other areas still report.
  - Returns C(checks) and C(metrics) of all areas as described in the collection's docs/data-model.md. The
    module only collects values (findings); its action plugin judges them on the controller from the check
    catalogue of the C(yunwei) package (status, title, threshold, 处理建议), in the same round trip.
  - Read-only; never changes the host. Safe in check mode.
  - The action plugin adds, per area, the journal-based parts of the single-area modules (error-log
    window since the last inspection, unchanged package state, dynamic baselines, forecasts).
author:
  - yunwei maintainers (!UNKNOWN)
options:
  sample_seconds:
    description: Minimum interval between the two readings of the kernel counters (host area).
    type: float
    default: 0.5
  start_sample:
    description: First reading of the interval from M(yunwei.ops.host_sample), see M(yunwei.ops.host_inspect).
    type: dict
  host:
    description:
      - Options of the host area, as documented for M(yunwei.ops.host_inspect) (without O(sample_seconds),
        O(start_sample) and the controller-side options). Omit to skip the area.
      - Validated inside the module against the host collector's argument spec; an invalid option fails
        this area alone (C(HOST-PROBE-001)), the other areas still report.
    type: dict
  web:
    description:
      - Options of the website area, as documented for M(yunwei.ops.web_inspect) (without the
        controller-side options). Omit to skip the area. Validated like O(host) (C(WEB-PROBE-001)).
    type: dict
  db:
    description:
      - Options of the PostgreSQL area, as documented for M(yunwei.ops.pg_inspect) (without the
        controller-side options). Omit to skip the area. Validated like O(host) (C(DB-PROBE-001)).
    type: dict
extends_documentation_fragment:
  - yunwei.ops.inspection
"""

EXAMPLES = r"""
- name: Inspect the host, the website and PostgreSQL in one round trip
  yunwei.ops.inspect:
    host:
      expected_ports: [22, 80, 5432]
    web:
      urls:
        - url: http://127.0.0.1/
          keyword: 政务服务
      stub_status_url: http://127.0.0.1/nginx_status
    db:
      database: appdb
    thresholds:
      fs_pct: {warn: 75, crit: 85}
  become: true
  register: inspection
"""

RETURN = r"""
checks:
  description: Checks of all areas (id, category, title, instance, status, value, unit, threshold, evidence, suggestion).
  returned: always
  type: list
  elements: dict
metrics:
  description: Metrics of all areas (name, instance, value, unit, time).
  returned: always
  type: list
  elements: dict
summary:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {ok: 40, warn: 2, crit: 0}
areas:
  description: Per area that ran, its number of checks per status and the seconds it took.
  returned: always
  type: dict
  sample: {host: {ok: 20, warn: 1, crit: 0, seconds: 0.08}, web: {ok: 8, warn: 1, crit: 0, seconds: 0.05}}
facts:
  description: Host area facts (kernel, cores, timings of the steps and the sampling interval).
  returned: when the host area ran
  type: dict
server:
  description: Raw server figures of the PostgreSQL area.
  returned: when the db area ran
  type: dict
"""

import time
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.yunwei.ops.plugins.module_utils import host_collector, pg_collector, web_collector
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import CONTROLLER_OPTIONS, Findings, probe_finding

AREAS = (("host", host_collector), ("web", web_collector), ("db", pg_collector))
OPTIONS = dict(AREAS)
INSPECTOR = {"host": host_collector.HostInspector, "web": web_collector.WebInspector, "db": pg_collector.PgInspector}


def probe_failed(area, detail):
    """The result of an area whose collector raised: its checks are unknown, the other areas stand."""
    f = Findings()
    f.findings.append(probe_finding(area, "巡检采集异常：%s" % detail[-1500:]))
    return f.result()


class AreaFailed(Exception):
    pass


class Inspection(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.results = {}
        self.seconds = {}
        # AnsibleModule.fail_json (get_bin_path(required=True), run_command on OSError) would print a
        # result and exit, taking every area down: within the collectors it fails the area alone
        module.fail_json = self.area_failed

    @staticmethod
    def area_failed(msg="", **kwargs):
        raise AreaFailed(msg if not kwargs else "%s %s" % (msg, kwargs))

    def area_params(self, area):
        """The area's options checked against its collector's argument spec (defaults filled in)."""
        checked = ArgumentSpecValidator(OPTIONS[area].OPTIONS).validate(self.p[area])
        if checked.error_messages:
            raise AreaFailed("options of the %s area: %s" % (area, "; ".join(checked.error_messages)))
        params = dict(checked.validated_parameters)
        if area == "host":
            params["sample_seconds"] = self.p["sample_seconds"]
        return params

    def run_area(self, area, call):
        started = time.time()
        try:
            self.results[area] = call()
        except AreaFailed as exc:
            self.results[area] = probe_failed(area, str(exc))
        except Exception:  # pylint: disable=broad-except
            self.results[area] = probe_failed(area, traceback.format_exc().strip())
        self.seconds[area] = round(time.time() - started, 3)

    def inspect(self):
        others = []
        for area, dummy in AREAS[1:]:
            if self.p[area] is not None:
                others.append((area, lambda a=area: INSPECTOR[a](self.module, self.area_params(a)).inspect()))
        if self.p["host"] is not None:
            during = [(area, lambda a=area, c=call: self.run_area(a, c)) for area, call in others]
            self.run_area("host", lambda: host_collector.HostInspector(self.module, self.area_params("host")).inspect(
                start=self.p["start_sample"], during=during))
            # the host area's own time, without the areas run inside its interval
            self.seconds["host"] = round(self.seconds["host"] - sum(self.seconds.get(a, 0) for a, _ in others), 3)
        for area, call in others:
            if area not in self.results:  # no host area, or it failed before their turn
                self.run_area(area, call)
        out = {"changed": False, "findings": [], "metrics": [], "areas": {}}
        for area, dummy in AREAS:
            res = self.results.get(area)
            if res is None:
                continue
            out["findings"].extend(res.get("findings") or [])
            out["metrics"].extend(res.get("metrics") or [])
            out["areas"][area] = {"seconds": self.seconds.get(area)}
            for key in ("facts", "server"):
                if key in res:
                    out[key] = res[key]
        return out


def main():
    area_specs = dict((area, dict(type="dict")) for area, dummy in AREAS)
    module = AnsibleModule(
        argument_spec=dict(
            sample_seconds=dict(type="float", default=0.5),
            start_sample=dict(type="dict"),
            **dict(CONTROLLER_OPTIONS, **area_specs)
        ),
        supports_check_mode=True,
    )
    module.exit_json(**Inspection(module).inspect())


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_inspect
short_description: Inspect a Linux host and return structured checks and metrics
version_added: "0.1.0"
description:
  - Collects CPU, memory and swap usage, load, filesystem space and inodes, disk I/O and
    network traffic (sampled over O(sample_seconds) inside this one call by reading /proc
    twice), uptime, time synchronisation, failed services, zombie processes, listening ports,
    pending (security) updates, reboot-required state and the kernel version.
  - Returns C(checks) and C(metrics) as described in the collection's docs/data-model.md. The module
    only collects values (findings); the action plugin of the same name judges them on the controller
    from the check catalogue of the C(yunwei) package (status, title, threshold, 处理建议).
  - Read-only; never changes the host. Safe in check mode.
  - The action plugin of the same name adds anomaly checks from dynamic baselines learned
    from the journal's history (controller side).
author:
  - yunwei maintainers (!UNKNOWN)
options:
  sample_seconds:
    description:
      - Interval between the two /proc samples for CPU, disk I/O and network rates.
      - The other checks run inside the interval, so it costs nothing when they take longer.
    type: float
    default: 0.5
  start_sample:
    description:
      - The C(sample) returned by M(yunwei.ops.host_sample) on this host earlier in the play. When given
        (and taken on this boot, before this module started, at most 300 seconds ago) it is the first
        reading of the interval, which then overlaps whatever ran between the two tasks; otherwise the
        first reading is taken at the start of this call.
      - The inspection's own CPU time is left out of the CPU figure either way.
    type: dict
  expected_ports:
    description: TCP ports that must be listening; a missing one is a crit check.
    type: list
    elements: int
    default: []
  expected_processes:
    description: Process names (comm or executable basename) that must be running.
    type: list
    elements: str
    default: []
  updates:
    description: Check pending updates and pending security updates (apt, dnf or yum, from the local cache).
    type: bool
    default: true
  updates_fingerprint:
    description:
      - Set by the action plugin from the journal. The fingerprint (file names, sizes and mtimes of the
        package database, package lists and package-manager configuration) of the last inspection whose
        pending-update checks are recorded. When the host's fingerprint is still the same the package
        manager is not run (its answer cannot have changed) and the action plugin judges the recorded answer again.
    type: str
  fs_exclude:
    description: Mount points not to inspect.
    type: list
    elements: str
    default: []
notes:
  - Works with and without systemd as PID 1; failed units are only checked when systemd runs.
  - Package state is read from the local package cache (C(apt-get -s), C(dnf -C)); it never refreshes it.
extends_documentation_fragment:
  - yunwei.ops.inspection
"""

EXAMPLES = r"""
- name: Inspect the host
  yunwei.ops.host_inspect:
    sample_seconds: 1
    expected_ports: [22, 80]
    thresholds:
      fs_pct: {warn: 75, crit: 85}
  become: true
  register: host_inspection
"""

RETURN = r"""
checks:
  description: Checks (id, category, title, instance, status, value, unit, threshold, evidence, suggestion).
  returned: always
  type: list
  elements: dict
  sample:
    - id: HOST-FS-001
      category: host
      title: 文件系统使用率
      instance: /srv/data
      status: warn
      value: 87.5
      unit: "%"
      threshold: {warn: 80, crit: 90}
      evidence: "/srv/data 87.5% used (56.0 MiB of 64.0 MiB)"
      suggestion: 清理 /srv/data 下的过期文件或扩容；确认增长来源。
metrics:
  description: Metrics (name, instance, value, unit, time).
  returned: always
  type: list
  elements: dict
summary:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {ok: 18, warn: 1, crit: 0}
facts:
  description: A few raw facts (kernel, cores, package manager, systemd).
  returned: always
  type: dict
"""

from ansible_collections.yunwei.ops.plugins.module_utils.host_collector import OPTIONS, HostInspector
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import run_single


def main():
    run_single(HostInspector, OPTIONS, sample_seconds=dict(type="float", default=0.5), start_sample=dict(type="dict"))


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_sample
short_description: Read a host's CPU, disk and network counters, the start of an inspection's sampling interval
version_added: "0.1.0"
description:
  - Reads /proc/uptime, /proc/stat, /proc/diskstats and /proc/net/dev and returns them parsed as C(sample),
    for the O(yunwei.ops.inspect#module:start_sample) option of M(yunwei.ops.inspect) or M(yunwei.ops.host_inspect).
  - Rates (CPU usage, disk throughput, IOPS and utilisation, network bytes, errors and drops per second) need
    two readings some time apart. Taking the first one in a task of its own lets the interval overlap the
    other hosts' inspection instead of being waited out host after host (with C(forks=1) the daily
    inspection of five hosts would otherwise wait five intervals one after the other).
  - The action plugin reads the files with one shell command (C(cat)), without Python on the host and
    without become. An unreachable host becomes the crit check C(HOST-REACH-001).
  - Read-only; safe in check mode.
author:
  - yunwei maintainers (!UNKNOWN)
options: {}
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Nothing is changed.
"""

EXAMPLES = r"""
- name: First reading of the counters on every host
  yunwei.ops.host_sample:
  register: first_reading

- name: Inspect; rates cover the time since the first reading
  yunwei.ops.inspect:
    start_sample: "{{ first_reading.sample }}"
    host: {}
  become: true
"""

RETURN = r"""
sample:
  description: Seconds since boot (C(boot)) and the parsed counters (C(stat), C(disk), C(net)).
  returned: success
  type: dict
checks:
  description: Only when the host is unreachable, the crit check C(HOST-REACH-001).
  returned: when unreachable
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    parts = []
    for path in hp.COUNTER_FILES:
        try:
            with open(path) as fh:
                parts.append(fh.read())
        except (IOError, OSError):
            parts.append("")
    try:
        sample = hp.parse_counters(("\n%s\n" % hp.COUNTER_SEPARATOR).join(parts))
    except ValueError as exc:
        module.fail_json(msg="cannot read the kernel counters: %s" % exc)
    module.exit_json(changed=False, sample=sample)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: load_test
short_description: Stress test of the task host's website in steps, with wrk on the controller
version_added: "0.1.0"
description:
  - Drives the website of the task host at its inventory address (C(ansible_host)) with wrk, in O(steps) steps
    of equal increments up to O(max_rate) requests per second, each step O(duration) seconds, and stops after the
    first step whose 95th percentile latency exceeds O(objective_p95_ms) or whose error rate exceeds
    O(error_budget_pct).
  - Refuses a host that its inventory does not mark with C(stress_test_allowed=true), and a plan that would send
    more than O(max_requests) requests.
  - Reads the host's CPU, memory, disk and network counters before and after each step (one C(cat) of /proc
    files), to tell which resource saturated first.
  - Runs entirely in the action plugin on the controller; this file only documents it.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  duration:
    description: Seconds per step.
    type: int
    required: true
  max_rate:
    description: Request rate of the last step (requests per second); every connection is paced so no step exceeds its rate.
    type: int
    required: true
  steps:
    description: Number of steps.
    type: int
    default: 5
  max_requests:
    description: Upper bound of the requests the plan may send.
    type: int
    required: true
  objective_p95_ms:
    description: Latency objective, 95th percentile in milliseconds.
    type: float
    default: 500
  error_budget_pct:
    description: Error budget in percent of the requests.
    type: float
    default: 1
  path:
    description: URL path requested.
    type: str
    default: /
  port:
    description: Port of the website.
    type: int
    default: 80
  scheme:
    description: Scheme of the website.
    type: str
    choices: [http, https]
    default: http
attributes:
  check_mode:
    support: full
    description: In check mode the planned steps are returned and no request is sent.
  diff_mode:
    support: none
    description: Nothing is changed.
"""

EXAMPLES = r"""
- name: Two steps of 5 s up to 200 requests/s against web01
  yunwei.ops.load_test:
    duration: 5
    max_rate: 200
    steps: 2
    max_requests: 2000
  when: inventory_hostname == 'web01'
"""

RETURN = r"""
stress:
  description: The plan, every step run (rate, requests, requests/s, errors, latency percentiles, host figures, verdict) and the capacity.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        duration=dict(type="int", required=True), max_rate=dict(type="int", required=True),
        steps=dict(type="int", default=5), max_requests=dict(type="int", required=True),
        objective_p95_ms=dict(type="float", default=500), error_budget_pct=dict(type="float", default=1),
        path=dict(type="str", default="/"), port=dict(type="int", default=80),
        scheme=dict(type="str", default="http", choices=["http", "https"]),
    ), supports_check_mode=True)
    module.fail_json(msg="yunwei.ops.load_test runs in its action plugin on the controller")


if __name__ == "__main__":
    main()

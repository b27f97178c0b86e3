#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: alert_rules
short_description: Render yunwei's Prometheus alert rules on the controller and check them with promtool
version_added: "0.1.0"
description:
  - Runs on the controller only (an action plugin; it never connects to a host). For every host of the play
    it reads the threshold layers C(inspection_thresholds), C(inspection_threshold_overrides) and
    C(monitoring_threshold_overrides), validates them (a malformed override fails naming the host,
    variable and key), renders the static rules from the check catalogue and, with O(dynamic=true), the
    dynamic thresholds from the journal's baselines, checks every file with C(promtool check rules) and
    only then replaces the files in O(dest).
  - The rendering runs in a separate process, C(python -m yunwei alerts rules), so that no journal store is
    opened in an Ansible worker (docs/journal.md, fork safety).
  - A refused rule set leaves the files in O(dest) as they were, and the task fails with promtool's output.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  dest:
    description: Folder on the controller that receives the checked rule files; default a new private temporary folder.
    type: path
  dynamic:
    description: Render dynamic thresholds from the journal (the store of the job, C(YUNWEI_STORE)).
    type: bool
    default: true
  store:
    description: Journal store path or URL; default the job's C(YUNWEI_STORE).
    type: str
"""

EXAMPLES = r"""
- name: Render and check the alert rules
  yunwei.ops.alert_rules:
    dest: /var/lib/yunwei/monitoring/rules
  run_once: true
"""

RETURN = r"""
dir:
  description: The folder holding the checked rule files.
  returned: success
  type: str
files:
  description: The rule files written.
  returned: success
  type: list
  elements: str
static_alerts:
  description: Number of static alert rules.
  returned: success
  type: int
dynamic_thresholds:
  description: The dynamic thresholds rendered (host, metric, instance, bound, threshold, median, samples).
  returned: success
  type: list
  elements: dict
promtool:
  description: promtool's output.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    # The options as documented; the work is the action plugin's, on the controller: never on a host.
    module = AnsibleModule(argument_spec=dict(dest=dict(type="path"), dynamic=dict(type="bool", default=True),
                                              store=dict(type="str")))
    module.fail_json(msg="yunwei.ops.alert_rules runs on the controller (action plugin)")


if __name__ == "__main__":
    main()

"""The 等保 2.0 security baseline (GB/T 22239-2019 level 3, 8.1.4 安全计算环境) on the controller.

The rules are data in the check catalogue (``checks/baseline.yml``: clause, GB/T 28448 test item,
severity, evidence, remediation, parameters). The collector module on each host
(``yunwei.ops.baseline_audit``) returns facts; here, in the action plugin's worker on the controller:

- :mod:`yunwei.baseline.rules` judges each rule from the facts (one function per rule id);
- :mod:`yunwei.baseline.judge` turns the verdicts into checks (pass, fail, manual, waived,
  not-applicable) with the approved waivers, and computes the pass rates per host and clause;
- :mod:`yunwei.baseline.waivers` reads and validates the waiver file, whose active copy changes
  only through two-person review (like the schedule);
- :mod:`yunwei.baseline.settings` validates the role's variables before any host is contacted.

None of these opens the journal store (the action plugin runs in a forked worker).
"""

RULE_SWITCH_PREFIX = "baseline_rule_"

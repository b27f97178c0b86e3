# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the baseline role: validate its settings before any host is contacted (naming the variable and
where it was written), list the rules switched off, and read what enforce must remediate. The rule ids,
parameters and waivers come from the yunwei package (docs/baseline.md)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.yunwei.ops.plugins.filter.inspection import origin
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require


def baseline_problems(settings):
    """Problems (list of str) of the role's settings {mode, params, switches, ...}, plus those of the
    approved waivers; [] when valid."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("baseline_problems expects a mapping")
    problems = require("yunwei.baseline.settings").problems(settings, origin)
    try:
        require("yunwei.baseline.waivers").load_active()
    except Exception as exc:  # pylint: disable=broad-except
        problems.append(str(exc))
    return problems


def baseline_disabled_rules(switches):
    """Rule ids switched off by baseline_rule_<id>_enabled: false."""
    return require("yunwei.baseline.settings").disabled_rules(switches)


def baseline_fix(result, rule_id):
    """The data enforce needs for ``rule_id`` on this host ({} when the rule did not fail or is not remediated)."""
    return ((result or {}).get("baseline") or {}).get("to_fix", {}).get(rule_id) or {}


class FilterModule(object):
    def filters(self):
        return {
            "baseline_problems": baseline_problems,
            "baseline_disabled_rules": baseline_disabled_rules,
            "baseline_fix": baseline_fix,
        }

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the security role: validate the port allow-list and the scan targets before any host is
contacted (naming the variable and where it was written), and give each host its allowed ports."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.yunwei.ops.plugins.filter.inspection import origin
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require


def security_problems(settings):
    """Problems (list of str) of {allowed_ports, targets, inventory}; [] when valid. A scan target that is
    not a host of the inventory is refused here: nothing outside the inventory is ever scanned."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("security_problems expects a mapping")
    exposure = require("yunwei.vuln.exposure")
    problems = []
    ports = settings.get("allowed_ports")
    try:
        exposure.allowed_ports(ports, [], "security_allowed_ports")
    except ValueError as exc:
        problems.append("%s%s" % (exc, origin(ports)))
    targets = security_target_list(settings.get("targets"))
    inventory = set(settings.get("inventory") or [])
    if not isinstance(targets, list):
        problems.append("security_targets: must be a list of inventory host names%s" % origin(targets))
    else:
        for t in targets:
            if str(t) not in inventory:
                problems.append("security_targets: %r is not a host of the inventory: scanning it is refused%s"
                                % (str(t), origin(targets)))
    return problems


def security_target_list(targets):
    """security_targets as a list of names: a list, or a comma-separated string (-e security_targets=web01,db01)."""
    if targets is None or targets == "":
        return []
    if isinstance(targets, str):
        return [t.strip() for t in targets.split(",") if t.strip()]
    return targets


def security_allowed(by_group, group_names):
    """The ports a host may expose: the union of the allow-lists of its groups (and of `all`)."""
    return sorted(require("yunwei.vuln.exposure").allowed_ports(by_group or {}, list(group_names or []) + ["all"]))


class FilterModule(object):
    def filters(self):
        return {"security_problems": security_problems, "security_allowed": security_allowed,
                "security_target_list": security_target_list}

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the inspection role: validate its settings (naming the variable) and merge the
threshold layers (role defaults < profile < group/host overrides). Profiles, threshold names and
check ids come from the check catalogue of the yunwei package (docs/data-model.md)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require

SWITCH = re.compile(r"^inspection_check_(.+)_enabled$")
URL_KEYS = frozenset(("url", "status", "keyword", "timeout", "validate_certs"))


def origin(*values):
    """Where the first of ``values`` that carries Ansible's origin tag was written, as " (file:line:col)"
    (group_vars, host_vars, inventory, -e @file), so that a problem names its file; '' when unknown."""
    try:
        from ansible._internal._datatag._tags import Origin  # ansible-core >= 2.19
    except ImportError:
        return ""
    for value in values:
        try:
            tag = Origin.get_tag(value)
        except Exception:  # pylint: disable=broad-except
            continue
        if tag is not None and tag.path:
            return " (%s)" % tag
    return ""


def inspection_areas(cat):
    """The areas the inspection's thresholds may set (kind inspection; backups have backup_thresholds)."""
    return [a for a, info in cat.areas.items() if info["kind"] == "inspection"]


def inspection_problems(settings):
    """Problems (list of str, each naming its variable) of the role's settings; [] when valid.

    ``settings``: {profile, thresholds, heightened_thresholds, threshold_overrides, web_urls, expected_ports,
    check_switches} under their variable names without the ``inspection_`` prefix.
    """
    problems = []
    if not isinstance(settings, dict):
        raise AnsibleFilterError("inspection_problems expects a mapping")
    catalogue = require("yunwei.catalogue")
    cat = catalogue.catalogue()
    profile = settings.get("profile")
    if profile not in cat.profiles:
        problems.append("inspection_profile: unknown profile %r (choose one of %s)%s" % (
            profile, ", ".join(cat.profiles), origin(profile)))
    for name in ("thresholds", "heightened_thresholds", "threshold_overrides"):
        problems.extend(catalogue.validate_thresholds(settings.get(name), "inspection_" + name, origin, cat=cat,
                                                      areas=inspection_areas(cat)))
    problems.extend(switch_problems(settings.get("check_switches"), cat))
    urls = settings.get("web_urls")
    if urls is not None:
        if not isinstance(urls, list):
            problems.append("inspection_web_urls: must be a list of {url: ...} mappings, got %r%s" % (urls, origin(urls)))
        else:
            for i, item in enumerate(urls):
                where = "inspection_web_urls[%d]" % i
                if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item.get("url"):
                    problems.append("%s: must be a mapping with a url string, got %r%s" % (where, item, origin(item, urls)))
                    continue
                if not item["url"].lower().startswith(("http://", "https://")):
                    problems.append("%s.url: not an http(s) URL: %r%s" % (where, item["url"], origin(item["url"], item)))
                extra = sorted(set(item) - URL_KEYS)
                if extra:
                    problems.append("%s: unknown keys %s (known: %s)%s" % (
                        where, ", ".join(extra), ", ".join(sorted(URL_KEYS)), origin(item)))
    ports = settings.get("expected_ports")
    if ports is not None and (not isinstance(ports, list) or
                              not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports)):
        problems.append("inspection_expected_ports: must be a list of port numbers 1-65535, got %r%s" % (ports, origin(ports)))
    return problems


def switch_problems(switches, cat):
    """Problems of the per-check switches {inspection_check_<ID>_enabled: bool} (ID with '_' for '-')."""
    problems = []
    for name, value in sorted((switches or {}).items()):
        check_id = SWITCH.match(name).group(1).upper().replace("_", "-") if SWITCH.match(name) else None
        if check_id not in cat.checks:
            problems.append("%s: no check %s in the catalogue (ids: docs/inspection.md, `yunwei checks`)%s" % (
                name, check_id, origin(value)))
        elif not isinstance(value, bool):
            problems.append("%s: must be true or false, got %r%s" % (name, value, origin(value)))
    return problems


def inspection_disabled_checks(switches):
    """Check ids switched off by {inspection_check_<ID>_enabled: false} (validated by inspection_problems)."""
    return sorted(SWITCH.match(name).group(1).upper().replace("_", "-")
                  for name, value in (switches or {}).items() if SWITCH.match(name) and value is False)


def inspection_thresholds(base, profile="daily", heightened=None, overrides=None):
    """Effective thresholds: ``base`` < ``heightened`` (profile heightened only) < ``overrides``.

    warn and crit merge separately, so an override of only ``crit`` keeps the other's warn.
    Raises on malformed input, naming the variable.
    """
    catalogue = require("yunwei.catalogue")
    cat = catalogue.catalogue()
    layers = [("inspection_thresholds", base)]
    if profile == "heightened":
        layers.append(("inspection_heightened_thresholds", heightened))
    layers.append(("inspection_threshold_overrides", overrides))
    merged = {}
    for name, layer in layers:
        problems = catalogue.validate_thresholds(layer, name, origin, cat=cat, areas=inspection_areas(cat))
        if problems:
            raise AnsibleFilterError("; ".join(problems))
        for key, limits in (layer or {}).items():
            merged.setdefault(key, {}).update({k: v for k, v in limits.items() if v is not None})
    for key, limits in merged.items():
        t = cat.thresholds[key]
        warn, crit = limits.get("warn", t.warn), limits.get("crit", t.crit)
        if t.inverted(warn, crit):
            raise AnsibleFilterError("inspection thresholds for %s: merged warn %s and crit %s are inverted; "
                                     "check inspection_threshold_overrides.%s" % (key, warn, crit, key))
    return merged


class FilterModule(object):
    def filters(self):
        return {
            "inspection_problems": inspection_problems,
            "inspection_thresholds": inspection_thresholds,
            "inspection_disabled_checks": inspection_disabled_checks,
        }

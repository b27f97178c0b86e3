# Copyright: (c) 2026, yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options every yunwei.ops collector shares: thresholds on the host, and the
    controller-side options its action plugin consumes (journal history)."""

    DOCUMENTATION = r"""
options:
  thresholds:
    description: "Threshold overrides C({name: {warn: N, crit: N}}), see docs/inspection.md."
    type: dict
    default: {}
  dynamic_thresholds:
    description:
      - Used by the action plugin on the controller, never sent to the host.
      - Dynamic baselines learned from the journal's history per host and metric; keys
        C(enabled) (default true), C(history_days) (56), C(min_samples) (20), C(min_bucket) (8),
        C(warn_z) (4), C(crit_z) (8), C(tz) (Asia/Shanghai).
    type: dict
    default: {}
  forecast:
    description: Controller side. Add growth and days-until-full checks from the journal history (resources profile).
    type: bool
    default: false
  store:
    description: Controller side. Journal store path or URL; default E(YUNWEI_STORE), else the journal's default location.
    type: str
attributes:
  check_mode:
    support: full
    description: Read-only collector; it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
"""

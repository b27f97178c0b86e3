# Copyright: (c) 2026, yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options every yunwei.ops collector shares: the controller-side options its action plugin
    consumes (judging from the catalogue, journal history); none of them reaches the host."""

    DOCUMENTATION = r"""
options:
  thresholds:
    description:
      - Used by the action plugin on the controller, never sent to the host.
      - "Threshold overrides C({name: {warn: N, crit: N}}) over the check catalogue's defaults; names in
        the collection's docs/inspection.md. The findings of the module are judged with them."
    type: dict
    default: {}
  disabled_checks:
    description:
      - Controller side. Check ids whose findings are left out (switched off). When both C(HOST-PKG-001)
        and C(HOST-PKG-002) are, the package manager is not run at all.
    type: list
    elements: str
    default: []
  dynamic_thresholds:
    description:
      - Controller side. Dynamic baselines learned from the journal's history per host and metric.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Judge the metrics that have a baseline in the catalogue against their own history.
        type: bool
        default: true
      history_days:
        description: Days of history learned from.
        type: float
        default: 56.0
      min_samples:
        description: Samples needed before a baseline exists.
        type: int
        default: 20
      min_bucket:
        description: Samples of the same hour of the week needed to use that hour's baseline.
        type: int
        default: 8
      warn_z:
        description: Robust z-score of a warn anomaly.
        type: float
        default: 4.0
      crit_z:
        description: Robust z-score of a crit anomaly.
        type: float
        default: 8.0
      tz:
        description: Time zone of the hour-of-week buckets.
        type: str
        default: Asia/Shanghai
  forecast:
    description: Controller side. Add growth and days-until-full checks from the journal history (resources profile).
    type: bool
    default: false
  store:
    description: Controller side. Journal store path or URL; default E(YUNWEI_STORE), else the journal's default location.
    type: str
requirements:
  - the C(yunwei) Python package on the controller (the collection's docs/packaging.md)
attributes:
  check_mode:
    support: full
    description: Read-only collector; it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
"""

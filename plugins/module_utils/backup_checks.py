# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the backup modules need to report BACKUP-* findings, and nothing to judge them with.

The modules ``pgbackrest``, ``restic`` and ``backup_status`` compute values and return findings
(check id, instance, value, evidence, a named outcome, the value ``measured`` against the threshold
of the data set's tier) as the inspection collectors do (module_utils/inspection.Findings). Titles,
thresholds per tier, statuses and 处理建议 are the check catalogue's
(``src/yunwei/catalogue/data/checks/backup.yml``), judged on the controller by the action plugins
(yunwei.inspection.judge) - a module on a host cannot import the catalogue.
"""

from __future__ import annotations

TIERS = ("core", "general")
KINDS = ("files", "postgresql")
MIN_RETENTION_DAYS = 183  # six months: the contract's floor


def tier_key(tier, limit):
    """The catalogue threshold a data set of ``tier`` is judged against for ``limit``
    (``age_s``, ``full_age_s``, ``offsite_age_s``, ``wal_lag_s``, ``verify_age_s``)."""
    return "backup_%s_%s" % (tier, limit)


def measured(tier, limit, value):
    """``measured`` of a finding: ``value`` against the threshold of ``tier`` only."""
    return {tier_key(tier, limit): value}

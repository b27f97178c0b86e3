# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.restic: the module's BACKUP-* findings judged on the controller from the
check catalogue (see action/backup_status.py)."""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.action.backup_status import ActionModule as BackupActionModule


class ActionModule(BackupActionModule):
    MODULE = "yunwei.ops.restic"
    PROBE_ON_FAILURE = False

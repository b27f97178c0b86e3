"""Backups seen from the bastion: ``yunwei backup status`` (docs/backup.md)."""

from yunwei.backup.status import BackupStatus, collect, from_run

__all__ = ["BackupStatus", "collect", "from_run"]

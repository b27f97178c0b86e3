"""The tamper-evident audit log: hash-chained JSON lines plus a head anchor."""

from yunwei.audit.log import AuditLog, Verification, default_log, record, verify

__all__ = ["AuditLog", "Verification", "default_log", "record", "verify"]

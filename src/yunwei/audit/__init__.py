"""The tamper-evident audit log: hash-chained records, a head anchor and external anchors."""

from yunwei.audit.log import AuditLog, Verification, anchor_text, default_log, head_text, record, verify

__all__ = ["AuditLog", "Verification", "anchor_text", "default_log", "head_text", "record", "verify"]

"""The audit anchor printed in the footer of every signed document: the audit log's head
(record count and hash of the last record), so a signed paper copy pins the history it was
produced under (``yunwei audit verify --expect-head COUNT:HASH`` checks it later).

Integration hook: issue #11 provides the audit log's own function for its current head; until it
is wired here, the head is read through the log's public API (``AuditLog.read_head``). No log, or
an unreadable head: an empty string (the footer then prints no anchor).
"""

from __future__ import annotations


def audit_anchor() -> str:
    try:
        from yunwei.audit.log import default_log

        head = default_log().read_head()
    except (ImportError, OSError):
        return ""
    if not head or head[0] < 0:
        return ""
    count, last = head
    return f"{count}:{last[:16]}"

"""Filtering the audit log for ``yunwei audit show``."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from typing import Any

from yunwei.errors import InputError


def _client_tz() -> dt.tzinfo:
    """The client's zone ($YUNWEI_TZ, default Asia/Shanghai), as the reports use it."""
    try:
        from yunwei.reports.periods import client_tz
    except ImportError:  # pragma: no cover - reports not importable
        from zoneinfo import ZoneInfo

        return ZoneInfo(os.environ.get("YUNWEI_TZ") or "Asia/Shanghai")
    return client_tz()


def parse_when(text: str, option: str, *, end: bool = False) -> dt.datetime:
    """YYYY-MM-DD (a whole local day of the client, $YUNWEI_TZ, default Asia/Shanghai) or an ISO
    timestamp; times without an offset are local too. Returned aware (compared with UTC records)."""
    tz = _client_tz()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time.min, tzinfo=tz)
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(option, text, "expected YYYY-MM-DD or an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def select(records: Iterable[dict[str, Any]], *, job: str | None = None, operator: str | None = None,
           event: str | None = None, request: str | None = None,
           since: dt.datetime | None = None, until: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    for rec in records:
        if job and rec.get("job") != job:
            continue
        if operator and operator not in (rec.get("operator"), rec.get("requester"), rec.get("approver")):
            continue
        if event and rec.get("event") != event:
            continue
        if request and rec.get("request") != request:
            continue
        if since or until:
            try:
                t = dt.datetime.fromisoformat(str(rec.get("time", "")).replace("Z", "+00:00"))
            except ValueError:
                continue
            if since and t < since:
                continue
            if until and t >= until:
                continue
        yield rec

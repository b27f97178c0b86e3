"""Report periods in the client's time zone.

A *day* is a local calendar day in ``YUNWEI_TZ`` (default ``Asia/Shanghai``), so a report
"for 2026-11-25" covers 2026-11-24T16:00Z .. 2026-11-25T16:00Z. Every period is a half-open
interval ``[start, end)``; :attr:`Period.since` / :attr:`Period.until` give it in UTC for the store.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yunwei.errors import InputError

DEFAULT_TZ = "Asia/Shanghai"
UNITS = ("day", "week", "month", "quarter", "year")
OPTION_OF_UNIT = {"day": "--date", "week": "--week", "month": "--month", "quarter": "--quarter", "year": "--year"}


def client_tz(name: str | None = None) -> ZoneInfo:
    """The client's zone: ``name``, else $YUNWEI_TZ, else Asia/Shanghai."""
    name = name or os.environ.get("YUNWEI_TZ") or DEFAULT_TZ
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError("YUNWEI_TZ", None, f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class Period:
    unit: str          # day | week | month | quarter | year
    first: date        # first local day (inclusive)
    last: date         # last local day (inclusive)
    label: str         # 2026-11-25 | 2026-W48 | 2026-11 | 2026-Q4 | 2026
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """Local midnight starting the period (aware, client zone)."""
        return datetime.combine(self.first, datetime.min.time(), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """Local midnight after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), tzinfo=self.tz)

    @property
    def since(self) -> datetime:
        return self.start.astimezone(timezone.utc)

    @property
    def until(self) -> datetime:
        return self.end.astimezone(timezone.utc)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def contains(self, moment: datetime) -> bool:
        return self.since <= moment.astimezone(timezone.utc) < self.until

    @property
    def title(self) -> str:
        """The period in Chinese, as printed on the documents."""
        f = self.first
        if self.unit == "day":
            return f"{f.year}年{f.month}月{f.day}日"
        if self.unit == "week":
            year, week, _ = f.isocalendar()
            return f"{year}年第{week}周（{f.isoformat()} 至 {self.last.isoformat()}）"
        if self.unit == "month":
            return f"{f.year}年{f.month}月"
        if self.unit == "quarter":
            return f"{f.year}年第{(f.month - 1) // 3 + 1}季度"
        return f"{f.year}年"

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


def day_period(d: date, tz: ZoneInfo) -> Period:
    return Period("day", d, d, d.isoformat(), tz)


def week_period(d: date, tz: ZoneInfo) -> Period:
    monday = d - timedelta(days=d.weekday())
    year, week, _ = monday.isocalendar()
    return Period("week", monday, monday + timedelta(days=6), f"{year}-W{week:02d}", tz)


def month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return Period("month", first, nxt - timedelta(days=1), f"{year}-{month:02d}", tz)


def quarter_period(year: int, quarter: int, tz: ZoneInfo) -> Period:
    first = date(year, 3 * quarter - 2, 1)
    last = month_period(year, 3 * quarter, tz).last
    return Period("quarter", first, last, f"{year}-Q{quarter}", tz)


def year_period(year: int, tz: ZoneInfo) -> Period:
    return Period("year", date(year, 1, 1), date(year, 12, 31), str(year), tz)


def months_of(period: Period) -> list[Period]:
    """The calendar months overlapping ``period`` (quarterly and annual reports are built from these)."""
    out, y, m = [], period.first.year, period.first.month
    while date(y, m, 1) <= period.last:
        out.append(month_period(y, m, period.tz))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def weeks_of(period: Period) -> list[Period]:
    """ISO weeks overlapping ``period``."""
    out, d = [], period.first - timedelta(days=period.first.weekday())
    while d <= period.last:
        out.append(week_period(d, period.tz))
        d += timedelta(days=7)
    return out


def today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(tz).date()


_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_YEAR = re.compile(r"^(\d{4})$")
_MIN_YEAR, _MAX_YEAR = 2000, 2100


def _year(text: str, option: str, raw: str) -> int:
    y = int(text)
    if not _MIN_YEAR <= y <= _MAX_YEAR:
        raise InputError(option, None, f"{raw!r}: year {y} is out of range {_MIN_YEAR}..{_MAX_YEAR}")
    return y


def parse_date(raw: str, tz: ZoneInfo, option: str = "--date", now: datetime | None = None) -> date:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (local)."""
    text = raw.strip().lower()
    if text in ("today", "今天"):
        return today(tz, now)
    if text in ("yesterday", "昨天"):
        return today(tz, now) - timedelta(days=1)
    m = _DATE.match(text)
    if not m:
        raise InputError(option, None, f"{raw!r} is not a date (expected YYYY-MM-DD, 'today' or 'yesterday')")
    try:
        return date(_year(m[1], option, raw), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise InputError(option, None, f"{raw!r} is not a valid date: {exc}") from exc


def parse_period(unit: str, raw: str, tz: ZoneInfo | None = None, now: datetime | None = None) -> Period:
    """Parse the value of ``--date/--week/--month/--quarter/--year`` into a :class:`Period`.

    Every unit also accepts a date (``YYYY-MM-DD``/today/yesterday), meaning the period containing it.
    Raises :class:`InputError` (exit 2) naming the option.
    """
    tz = tz or client_tz()
    option = OPTION_OF_UNIT.get(unit)
    if option is None:
        raise InputError("period", unit, f"unknown period unit (one of {', '.join(UNITS)})")
    text = raw.strip()
    if not text:
        raise InputError(option, None, "empty value")
    if unit == "day" or _DATE.match(text) or text.lower() in ("today", "yesterday", "今天", "昨天"):
        d = parse_date(text, tz, option, now)
        if unit == "day":
            return day_period(d, tz)
        if unit == "week":
            return week_period(d, tz)
        if unit == "month":
            return month_period(d.year, d.month, tz)
        if unit == "quarter":
            return quarter_period(d.year, (d.month - 1) // 3 + 1, tz)
        return year_period(d.year, tz)
    if unit == "week":
        m = _WEEK.match(text)
        if not m:
            raise InputError(option, None, f"{raw!r} is not an ISO week (expected YYYY-Www, e.g. 2026-W48, or a date)")
        y, w = _year(m[1], option, raw), int(m[2])
        try:
            return week_period(date.fromisocalendar(y, w, 1), tz)
        except ValueError as exc:
            raise InputError(option, None, f"{raw!r}: {y} has no week {w}") from exc
    if unit == "month":
        m = _MONTH.match(text)
        if not m or not 1 <= int(m[2]) <= 12:
            raise InputError(option, None, f"{raw!r} is not a month (expected YYYY-MM, e.g. 2026-11, or a date)")
        return month_period(_year(m[1], option, raw), int(m[2]), tz)
    if unit == "quarter":
        m = _QUARTER.match(text)
        if not m:
            raise InputError(option, None, f"{raw!r} is not a quarter (expected YYYY-Qn with n 1..4, e.g. 2026-Q4, or a date)")
        return quarter_period(_year(m[1], option, raw), int(m[2]), tz)
    m = _YEAR.match(text)
    if not m:
        raise InputError(option, None, f"{raw!r} is not a year (expected YYYY, e.g. 2026, or a date)")
    return year_period(_year(m[1], option, raw), tz)


def default_period(unit: str, tz: ZoneInfo, now: datetime | None = None) -> Period:
    """Without an explicit period: today, this week, and the last *complete* month/quarter/year."""
    t = today(tz, now)
    if unit == "day":
        return day_period(t, tz)
    if unit == "week":
        return week_period(t, tz)
    if unit == "month":
        prev = t.replace(day=1) - timedelta(days=1)
        return month_period(prev.year, prev.month, tz)
    if unit == "quarter":
        q = (t.month - 1) // 3 + 1
        return quarter_period(t.year, q - 1, tz) if q > 1 else quarter_period(t.year - 1, 4, tz)
    return year_period(t.year - 1, tz)

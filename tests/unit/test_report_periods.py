"""Report periods: local days in the client's zone, ISO weeks, months, quarters, years; bad input exits 2."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from yunwei.errors import InputError
from yunwei.reports.periods import client_tz, default_period, months_of, parse_period, weeks_of

SH = ZoneInfo("Asia/Shanghai")


def test_day_is_a_local_day():
    p = parse_period("day", "2026-11-25", SH)
    assert p.since == datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)
    assert p.until == datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
    assert p.label == "2026-11-25" and p.title == "2026年11月25日"
    assert p.contains(datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc))
    assert not p.contains(datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc))


def test_other_zone(monkeypatch):
    monkeypatch.setenv("YUNWEI_TZ", "UTC")
    p = parse_period("day", "2026-11-25")
    assert p.since == datetime(2026, 11, 25, tzinfo=timezone.utc)


def test_week_month_quarter_year():
    w = parse_period("week", "2026-W48", SH)
    assert (w.first, w.last, w.label) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    assert parse_period("week", "2026-11-25", SH) == w
    m = parse_period("month", "2026-12", SH)
    assert (m.first, m.last) == (date(2026, 12, 1), date(2026, 12, 31))
    assert parse_period("month", "2028-02", SH).last == date(2028, 2, 29)
    q = parse_period("quarter", "2026-Q4", SH)
    assert (q.first, q.last, q.label) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    assert [x.label for x in months_of(q)] == ["2026-10", "2026-11", "2026-12"]
    y = parse_period("year", "2026", SH)
    assert len(y.days()) == 365 and len(months_of(y)) == 12
    assert [x.label for x in weeks_of(parse_period("month", "2026-11", SH))][0] == "2026-W44"


def test_relative_dates():
    now = datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)  # already the 26th in Shanghai
    assert parse_period("day", "today", SH, now=now).first == date(2026, 11, 26)
    assert parse_period("day", "yesterday", SH, now=now).first == date(2026, 11, 25)
    assert default_period("month", SH, now=now).label == "2026-10"
    assert default_period("quarter", SH, now=now).label == "2026-Q3"
    assert default_period("year", SH, now=now).label == "2025"
    assert default_period("quarter", SH, now=datetime(2026, 2, 1, tzinfo=timezone.utc)).label == "2025-Q4"


@pytest.mark.parametrize(("unit", "raw", "option"), [
    ("day", "2026-02-30", "--date"), ("day", "25/11/2026", "--date"), ("day", "", "--date"),
    ("day", "1999-01-01", "--date"), ("week", "2026-W54", "--week"), ("week", "2026W", "--week"),
    ("month", "2026-13", "--month"), ("month", "2026-00", "--month"), ("quarter", "2026-Q5", "--quarter"),
    ("year", "26", "--year"), ("year", "abcd", "--year"),
])
def test_bad_periods_name_the_option(unit, raw, option):
    with pytest.raises(InputError) as exc:
        parse_period(unit, raw, SH)
    assert exc.value.exit_code == 2
    assert str(exc.value).startswith(option)


def test_bad_zone(monkeypatch):
    monkeypatch.setenv("YUNWEI_TZ", "Mars/Olympus")
    with pytest.raises(InputError, match="YUNWEI_TZ"):
        client_tz()

"""Five-field cron expressions: validation and expansion (for systemd OnCalendar)."""

from __future__ import annotations

from dataclasses import dataclass

from croniter import CroniterBadDateError, croniter

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_MONTHS = {n: i for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_DAYS = {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}


class CronError(ValueError):
    pass


_EPOCH = 1767225600.0  # 2026-01-01T00:00Z: any start will do, a leap day comes within four years


@dataclass(frozen=True)
class Cron:
    text: str
    minutes: tuple[int, ...] | None  # None = every ('*')
    hours: tuple[int, ...] | None
    days: tuple[int, ...] | None
    months: tuple[int, ...] | None
    weekdays: tuple[int, ...] | None  # 0 = Sunday


def _value(token: str, index: int) -> int:
    names = _MONTHS if index == 3 else _DAYS if index == 4 else {}
    low = token.lower()
    if low in names:
        return names[low]
    if not token.isdigit():
        raise CronError(f"{_FIELDS[index][0]}: {token!r} is not a number")
    return int(token)


def _expand(field: str, index: int) -> tuple[int, ...] | None:
    name, lo, hi = _FIELDS[index]
    if field == "*":
        return None
    values: set[int] = set()
    for part in field.split(","):
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: bad step in {part!r}")
            step = int(step_text)
        if rng == "*":
            start, end = lo, hi if index != 4 else 6
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(a, index), _value(b, index)
        else:
            start = _value(rng, index)
            end = hi if step_text else start
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise CronError(f"{name}: {part!r} is out of range {lo}-{hi}")
        values.update(range(start, end + 1, step))
    if index == 4 and 7 in values:
        values.discard(7)
        values.add(0)
    return tuple(sorted(values))


def parse(text: str) -> Cron:
    if not isinstance(text, str):
        raise CronError("must be a string of five fields")
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"{text!r}: expected five fields (minute hour day-of-month month day-of-week)")
    expanded = [_expand(f, i) for i, f in enumerate(fields)]
    if not croniter.is_valid(text):
        raise CronError(f"{text!r} is not a valid cron expression")
    try:  # valid fields can still name a day that never comes (30 February, 31 April)
        croniter(text, _EPOCH).get_next(float)
    except CroniterBadDateError:
        raise CronError(f"{text!r} never fires (no such day: day-of-month {fields[2]} in month {fields[3]})") from None
    return Cron(text, *expanded)


_DOW_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def _join(values: tuple[int, ...] | None, width: int = 2) -> str:
    return "*" if values is None else ",".join(f"{v:0{width}d}" for v in values)


def on_calendar(cron: Cron, timezone: str) -> list[str]:
    """systemd OnCalendar= values equivalent to ``cron`` (several when cron ORs day fields)."""
    time = f"{_join(cron.hours)}:{_join(cron.minutes)}:00"
    date = f"*-{_join(cron.months)}-{{days}}"
    lines = []
    if cron.days is not None and cron.weekdays is not None:
        # cron semantics: day-of-month OR day-of-week when both are restricted
        lines.append(f"{date.format(days=_join(cron.days))} {time} {timezone}")
        lines.append(f"{','.join(_DOW_NAMES[d] for d in cron.weekdays)} {date.format(days='*')} {time} {timezone}")
        return lines
    dow = "" if cron.weekdays is None else ",".join(_DOW_NAMES[d] for d in cron.weekdays) + " "
    lines.append(f"{dow}{date.format(days=_join(cron.days))} {time} {timezone}")
    return lines

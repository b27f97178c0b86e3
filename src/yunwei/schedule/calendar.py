"""When is a job due: fire times of the normal cron outside windows and of the heightened cron
inside them; a job with ``before_windows: N`` (the T-7 preflight) fires only on the day N days before
a window starts. All arithmetic in the schedule's time zone; results are aware datetimes."""

from __future__ import annotations

import datetime as dt

from croniter import croniter

from yunwei.schedule.model import Schedule

MAX_FIRES = 5000


def _crons(schedule: Schedule, job: str) -> list[tuple[str, bool]]:
    """(expression, valid-inside-windows) pairs for ``job``."""
    entry = schedule.entries[job]
    if job in schedule.heightened_jobs and schedule.heightened_cron is not None and schedule.windows:
        return [(entry.cron.text, False), (schedule.heightened_cron.text, True)]
    return [(entry.cron.text, False)]


def _valid(schedule: Schedule, when: dt.datetime, inside: bool, multi: bool) -> bool:
    if not multi:
        return True
    return (schedule.window_at(when) is not None) == inside


def _window_days(schedule: Schedule, job: str) -> list[dt.date]:
    entry = schedule.entries[job]
    if entry.during_windows:
        return [w.start + dt.timedelta(days=i) for w in schedule.windows for i in range((w.end - w.start).days + 1)]
    return [w.start - dt.timedelta(days=entry.before_windows or 0) for w in schedule.windows]


def _window_relative(schedule: Schedule, job: str) -> list[dt.datetime]:
    """Every fire time of a window-bound job: its cron's slots on each day N days before a window starts
    (``before_windows: N``), or on every day of each window (``during_windows: true``). A few dozen days a
    year, so they are listed rather than searched for."""
    entry = schedule.entries[job]
    out: list[dt.datetime] = []
    for day in _window_days(schedule, job):
        begin = dt.datetime.combine(day, dt.time(), schedule.tz)
        it = croniter(entry.cron.text, begin - dt.timedelta(microseconds=1))
        for _ in range(24 * 60):
            t = it.get_next(dt.datetime)
            if t.astimezone(schedule.tz).date() != day:
                break
            out.append(t)
    return sorted(out)


def fires_between(schedule: Schedule, job: str, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """Fire times t with after < t <= until (at most MAX_FIRES, the latest ones).

    Walks backwards from ``until``, so after a long gap the result is the latest fires (the
    slot to run now and the most recent missed ones), never the earliest."""
    if schedule.entries[job].window_bound:
        return [t for t in _window_relative(schedule, job) if after < t <= until][-MAX_FIRES:]
    crons = _crons(schedule, job)
    multi = len(crons) > 1
    times: set[dt.datetime] = set()
    lower = after.astimezone(schedule.tz)
    start = until.astimezone(schedule.tz) + dt.timedelta(microseconds=1)
    for expr, inside in crons:
        it = croniter(expr, start)
        found = 0
        for _ in range(MAX_FIRES * 4):
            t = it.get_prev(dt.datetime)
            if t <= lower:
                break
            if t > until:  # defensive: get_prev never returns a time after its start
                continue
            if _valid(schedule, t, inside, multi):
                times.add(t)
                found += 1
                if found >= MAX_FIRES:
                    break
    return sorted(times)[-MAX_FIRES:]


def last_fire(schedule: Schedule, job: str, at: dt.datetime) -> dt.datetime | None:
    if schedule.entries[job].window_bound:
        return next((t for t in reversed(_window_relative(schedule, job)) if t <= at), None)
    crons = _crons(schedule, job)
    multi = len(crons) > 1
    best = None
    start = at.astimezone(schedule.tz) + dt.timedelta(microseconds=1)
    for expr, inside in crons:
        it = croniter(expr, start)
        for _ in range(2000):
            t = it.get_prev(dt.datetime)
            if _valid(schedule, t, inside, multi):
                best = t if best is None or t > best else best
                break
    return best


def next_fire(schedule: Schedule, job: str, at: dt.datetime) -> dt.datetime | None:
    if schedule.entries[job].window_bound:
        return next((t for t in _window_relative(schedule, job) if t > at), None)
    crons = _crons(schedule, job)
    multi = len(crons) > 1
    best = None
    for expr, inside in crons:
        it = croniter(expr, at.astimezone(schedule.tz))
        for _ in range(2000):
            t = it.get_next(dt.datetime)
            if _valid(schedule, t, inside, multi):
                best = t if best is None or t < best else best
                break
    return best


def profile_at(schedule: Schedule, job: str, when: dt.datetime) -> str | None:
    if job in schedule.heightened_jobs and schedule.window_at(when) is not None:
        return schedule.heightened_profile
    return schedule.entries[job].profile

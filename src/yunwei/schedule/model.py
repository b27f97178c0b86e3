"""schedule.yml: a cron expression per job and heightened-protection (重保) windows.

```yaml
timezone: Asia/Shanghai
jobs:
  inspect:   {cron: "30 8 * * *"}
  resources: {cron: "0 9 * * 1"}
heightened:                    # during a window these jobs follow heightened.cron
  jobs: [inspect]
  cron: "30 8,14,20 * * *"     # three times a day
  profile: heightened
  windows:
    - {name: 元旦, start: 2027-01-01, end: 2027-01-03}   # inclusive dates, in `timezone`
```
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yunwei.errors import InputError
from yunwei.jobs import check_profile, load_catalogue
from yunwei.schedule.cronexpr import Cron, CronError, parse
from yunwei.yamlfile import load_yaml_text, read_text


@dataclass(frozen=True)
class Window:
    name: str
    start: dt.date
    end: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Entry:
    job: str
    cron: Cron
    profile: str | None = None


@dataclass(frozen=True)
class Schedule:
    timezone: str
    entries: dict[str, Entry]
    heightened_jobs: tuple[str, ...] = ()
    heightened_cron: Cron | None = None
    heightened_profile: str = "heightened"
    windows: tuple[Window, ...] = field(default_factory=tuple)
    source: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window_at(self, when: dt.datetime) -> Window | None:
        day = when.astimezone(self.tz).date()
        return next((w for w in self.windows if w.contains(day)), None)


def _date(value: Any, src: str, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(src, key, f"expected a date YYYY-MM-DD, got {value!r}") from None


def _cron(value: Any, src: str, key: str) -> Cron:
    try:
        return parse(value)
    except CronError as exc:
        raise InputError(src, key, f"bad cron expression: {exc}") from None


def parse_schedule(data: Any, src: str, *, check_jobs: bool = True) -> Schedule:
    if not isinstance(data, dict):
        raise InputError(src, None, "must be a mapping with 'jobs'")
    for key in data:
        if key not in ("timezone", "jobs", "heightened"):
            raise InputError(src, str(key), "unknown key (expected timezone, jobs, heightened)")
    tz = data.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(src, "timezone", f"unknown time zone {tz!r}") from None
    jobs_data = data.get("jobs") or {}
    if not isinstance(jobs_data, dict):
        raise InputError(src, "jobs", "must be a mapping of job name to {cron: ...}")
    catalogue = load_catalogue() if check_jobs else {}
    entries: dict[str, Entry] = {}
    for name, spec in jobs_data.items():
        key = f"jobs.{name}"
        if not isinstance(spec, dict):
            raise InputError(src, key, "must be a mapping with 'cron'")
        for k in spec:
            if k not in ("cron", "profile"):
                raise InputError(src, f"{key}.{k}", "unknown key (expected cron, profile)")
        if check_jobs:
            if name not in catalogue:
                raise InputError(src, key, f"unknown job (not in the catalogue: {', '.join(sorted(catalogue))})")
            if catalogue[name].is_change:
                raise InputError(src, key, "change jobs cannot be scheduled: they need two-person review")
        profile = spec.get("profile")
        if profile is not None:
            check_profile(profile, src, f"{key}.profile")
        entries[name] = Entry(str(name), _cron(spec.get("cron"), src, f"{key}.cron"), profile)
    h = data.get("heightened") or {}
    if not isinstance(h, dict):
        raise InputError(src, "heightened", "must be a mapping")
    for k in h:
        if k not in ("jobs", "cron", "profile", "windows"):
            raise InputError(src, f"heightened.{k}", "unknown key (expected jobs, cron, profile, windows)")
    if not isinstance(h.get("jobs") or [], list):
        raise InputError(src, "heightened.jobs", "must be a list of scheduled job names")
    h_jobs = tuple(h.get("jobs") or ())
    for i, name in enumerate(h_jobs):
        if name not in entries:
            raise InputError(src, f"heightened.jobs[{i}]", f"{name!r} is not a scheduled job under jobs")
    h_cron = _cron(h["cron"], src, "heightened.cron") if "cron" in h else None
    if h_jobs and h_cron is None:
        raise InputError(src, "heightened.cron", "missing (the cron used during windows)")
    windows: list[Window] = []
    for i, w in enumerate(h.get("windows") or []):
        key = f"heightened.windows[{i}]"
        if not isinstance(w, dict) or "start" not in w or "end" not in w:
            raise InputError(src, key, "needs name, start and end")
        win = Window(str(w.get("name") or f"window {i}"), _date(w["start"], src, f"{key}.start"),
                     _date(w["end"], src, f"{key}.end"))
        if win.end < win.start:
            raise InputError(src, f"{key}.end", f"ends ({win.end}) before it starts ({win.start})")
        for j, other in enumerate(windows):
            if win.start <= other.end and other.start <= win.end:
                raise InputError(src, key, f"{win.name} ({win.start}..{win.end}) overlaps heightened.windows[{j}] "
                                           f"{other.name} ({other.start}..{other.end})")
        windows.append(win)
    h_profile = check_profile(h.get("profile") or "heightened", src, "heightened.profile")
    return Schedule(str(tz), entries, h_jobs, h_cron, h_profile, tuple(windows), src)


def load_schedule(path: Path, *, check_jobs: bool = True) -> Schedule:
    return parse_text(read_text(path, "schedule file"), str(path), check_jobs=check_jobs)


def parse_text(text: str, src: str, *, check_jobs: bool = True) -> Schedule:
    return parse_schedule(load_yaml_text(text, src), src, check_jobs=check_jobs)

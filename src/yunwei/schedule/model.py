"""schedule.yml: a cron expression per job and heightened-protection (重保) windows.

```yaml
timezone: Asia/Shanghai
jobs:
  inspect:   {cron: "30 8 * * *"}
  resources: {cron: "0 9 * * 1"}
  preflight: {cron: "0 9 * * *", before_windows: 7}   # only on the day 7 days before a window starts
operators:                     # the on-duty people (值守人员): login -> name and at least one contact
  zhangwei: {name: 张伟, phone: "13800000001"}
  lina: {name: 李娜, phone: "13800000002", email: lina@example.invalid}
heightened:                    # during a window these jobs follow heightened.cron
  jobs: [inspect]
  cron: "30 8,14,20 * * *"     # three times a day
  profile: heightened
  windows:
    - name: 元旦
      kind: holiday            # holiday (节假日) or event (重大活动)
      start: 2027-01-01        # inclusive dates, in `timezone`
      end: 2027-01-03
      systems: [web, db]       # inventory groups or hosts in scope
      rota:                    # 双人值守: every day of the window needs two distinct people
        - {from: 2027-01-01, to: 2027-01-03, on_duty: [zhangwei, lina]}
```

Validation names the window and the day: a day with fewer than two distinct people on duty, an
operator on duty who is not under ``operators`` or has no contact, overlapping windows.
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


KINDS = {"holiday": "节假日", "event": "重大活动"}
MIN_ON_DUTY = 2


@dataclass(frozen=True)
class Operator:
    """An on-duty person: ``login`` (the key under ``operators``), printed name and contacts."""
    login: str
    name: str
    phone: str = ""
    email: str = ""

    @property
    def contact(self) -> str:
        return " / ".join(c for c in (self.phone, self.email) if c)


def duty_text(people: Any) -> str:
    """``张伟（138…）、李娜（…）``: the on-duty people as printed in reports and alert messages."""
    return "、".join(f"{o.name}（{o.contact}）" for o in people)


@dataclass(frozen=True)
class RotaEntry:
    start: dt.date
    end: dt.date
    on_duty: tuple[str, ...]   # logins


@dataclass(frozen=True)
class Window:
    name: str
    start: dt.date
    end: dt.date
    kind: str = "holiday"
    systems: tuple[str, ...] = ()
    rota: tuple[RotaEntry, ...] = ()

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def on_duty(self, day: dt.date) -> tuple[str, ...]:
        """Logins on duty on ``day`` (every rota entry covering it, first mention first)."""
        if not self.contains(day):
            return ()
        out: list[str] = []
        for entry in self.rota:
            if entry.start <= day <= entry.end:
                for login in entry.on_duty:
                    if login not in out:
                        out.append(login)
        return tuple(out)


@dataclass(frozen=True)
class Entry:
    job: str
    cron: Cron
    profile: str | None = None
    before_windows: int | None = None  # fires only on the day this many days before a window starts
    during_windows: bool = False       # fires only on the days of the windows (the daily 安全运行日报)

    @property
    def window_bound(self) -> bool:
        """Fires only on days fixed by the windows (before_windows or during_windows), not all year."""
        return bool(self.before_windows) or self.during_windows


@dataclass(frozen=True)
class Schedule:
    timezone: str
    entries: dict[str, Entry]
    heightened_jobs: tuple[str, ...] = ()
    heightened_cron: Cron | None = None
    heightened_profile: str = "heightened"
    windows: tuple[Window, ...] = field(default_factory=tuple)
    source: str = ""
    operators: dict[str, Operator] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window_at(self, when: dt.datetime) -> Window | None:
        return self.window_on(when.astimezone(self.tz).date())

    def window_on(self, day: dt.date) -> Window | None:
        return next((w for w in self.windows if w.contains(day)), None)

    def on_duty(self, day: dt.date) -> tuple[Operator, ...]:
        """The people on duty on the local ``day`` (two or more inside a window, none outside)."""
        window = self.window_on(day)
        if window is None:
            return ()
        return tuple(self.operators[login] for login in window.on_duty(day))

    def window_starting(self, day: dt.date) -> Window | None:
        return next((w for w in self.windows if w.start == day), None)


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
        if key not in ("timezone", "jobs", "heightened", "operators"):
            raise InputError(src, str(key), "unknown key (expected timezone, jobs, operators, heightened)")
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
            if k not in ("cron", "profile", "before_windows", "during_windows"):
                raise InputError(src, f"{key}.{k}", "unknown key (expected cron, profile, before_windows, during_windows)")
        before = spec.get("before_windows")
        if before is not None and (isinstance(before, bool) or not isinstance(before, int) or not 1 <= before <= 60):
            raise InputError(src, f"{key}.before_windows", f"expected a number of days 1..60, got {before!r}")
        during = spec.get("during_windows", False)
        if not isinstance(during, bool):
            raise InputError(src, f"{key}.during_windows", f"expected true or false, got {during!r}")
        if during and before is not None:
            raise InputError(src, f"{key}.during_windows", "a job runs either before_windows or during_windows, not both")
        if check_jobs:
            if name not in catalogue:
                raise InputError(src, key, f"unknown job (not in the catalogue: {', '.join(sorted(catalogue))})")
            if catalogue[name].is_change:
                raise InputError(src, key, "change jobs cannot be scheduled: they need two-person review")
        profile = spec.get("profile")
        if profile is not None:
            check_profile(profile, src, f"{key}.profile")
        entries[name] = Entry(str(name), _cron(spec.get("cron"), src, f"{key}.cron"), profile, before, during)
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
    operators = _operators(data.get("operators"), src)
    if not isinstance(h.get("windows") or [], list):
        raise InputError(src, "heightened.windows", "must be a list of windows")
    windows: list[Window] = []
    for i, w in enumerate(h.get("windows") or []):
        win = _window(w, src, f"heightened.windows[{i}]", i)
        for j, other in enumerate(windows):
            if win.start <= other.end and other.start <= win.end:
                day = max(win.start, other.start)
                raise InputError(src, f"heightened.windows[{i}]",
                                 f"{win.name} ({win.start}..{win.end}) overlaps heightened.windows[{j}] "
                                 f"{other.name} ({other.start}..{other.end}) on {day}")
        _check_rota(win, operators, src, f"heightened.windows[{i}]")
        windows.append(win)
    for login, op in operators.items():
        if not op.contact:
            raise InputError(src, f"operators.{login}", f"{op.name}: no contact (phone or email)")
    for name, entry in entries.items():
        if entry.before_windows and not windows:
            raise InputError(src, f"jobs.{name}.before_windows", "no heightened.windows to run before")
        if entry.during_windows and not windows:
            raise InputError(src, f"jobs.{name}.during_windows", "no heightened.windows to run during")
    h_profile = check_profile(h.get("profile") or "heightened", src, "heightened.profile")
    return Schedule(str(tz), entries, h_jobs, h_cron, h_profile, tuple(windows), src, operators)


def _text(value: Any, src: str, key: str, *, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise InputError(src, key, "missing")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError(src, key, f"expected text, got {type(value).__name__}")
    return str(value).strip()


def _operators(data: Any, src: str) -> dict[str, Operator]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(src, "operators", "must be a mapping of login to {name, phone, email}")
    out: dict[str, Operator] = {}
    for login, spec in data.items():
        key = f"operators.{login}"
        if not isinstance(spec, dict):
            raise InputError(src, key, "must be a mapping with name and a contact (phone or email)")
        for k in spec:
            if k not in ("name", "phone", "email"):
                raise InputError(src, f"{key}.{k}", "unknown key (expected name, phone, email)")
        out[str(login)] = Operator(str(login), _text(spec.get("name"), src, f"{key}.name"),
                                   _text(spec.get("phone"), src, f"{key}.phone", required=False),
                                   _text(spec.get("email"), src, f"{key}.email", required=False))
    return out


def _window(w: Any, src: str, key: str, i: int) -> Window:
    if not isinstance(w, dict) or "start" not in w or "end" not in w:
        raise InputError(src, key, "needs name, kind, start, end, systems and rota")
    for k in w:
        if k not in ("name", "kind", "start", "end", "systems", "rota"):
            raise InputError(src, f"{key}.{k}", "unknown key (expected name, kind, start, end, systems, rota)")
    name = _text(w.get("name"), src, f"{key}.name") if "name" in w else f"window {i}"
    start, end = _date(w["start"], src, f"{key}.start"), _date(w["end"], src, f"{key}.end")
    if end < start:
        raise InputError(src, f"{key}.end", f"{name}: ends ({end}) before it starts ({start})")
    kind = w.get("kind")
    if kind not in KINDS:
        raise InputError(src, f"{key}.kind", f"{name}: expected holiday or event, got {kind!r}")
    systems = w.get("systems")
    if not isinstance(systems, list) or not systems or not all(isinstance(x, str) and x for x in systems):
        raise InputError(src, f"{key}.systems", f"{name}: expected a non-empty list of inventory groups or hosts")
    rota_data = w.get("rota")
    if not isinstance(rota_data, list) or not rota_data:
        raise InputError(src, f"{key}.rota", f"{name}: expected a list of {{from, to, on_duty: [login, login]}} "
                                             f"covering {start}..{end} (双人值守)")
    rota = []
    for j, r in enumerate(rota_data):
        rkey = f"{key}.rota[{j}]"
        if not isinstance(r, dict):
            raise InputError(src, rkey, f"{name}: must be a mapping with from, to and on_duty")
        for k in r:
            if k not in ("from", "to", "on_duty"):
                raise InputError(src, f"{rkey}.{k}", "unknown key (expected from, to, on_duty)")
        r_start = _date(r["from"], src, f"{rkey}.from") if "from" in r else start
        r_end = _date(r["to"], src, f"{rkey}.to") if "to" in r else end
        if r_end < r_start:
            raise InputError(src, f"{rkey}.to", f"{name}: ends ({r_end}) before it starts ({r_start})")
        if r_start < start or r_end > end:
            raise InputError(src, rkey, f"{name}: {r_start}..{r_end} lies outside the window ({start}..{end})")
        people = r.get("on_duty")
        if not isinstance(people, list) or not all(isinstance(p, str) and p for p in people):
            raise InputError(src, f"{rkey}.on_duty", f"{name}: expected a list of operator logins")
        rota.append(RotaEntry(r_start, r_end, tuple(people)))
    return Window(name, start, end, str(kind), tuple(systems), tuple(rota))


def _check_rota(win: Window, operators: dict[str, Operator], src: str, key: str) -> None:
    """Every day of ``win``: at least two distinct people on duty, each under ``operators`` with a contact."""
    for day in win.days():
        people = win.on_duty(day)
        for login in people:
            op = operators.get(login)
            if op is None:
                raise InputError(src, f"{key}.rota", f"{win.name} {day}: on-duty operator {login!r} is not under "
                                                     "operators (name and contact)")
            if not op.contact:
                raise InputError(src, f"operators.{login}", f"{win.name} {day}: on-duty operator {login} has no "
                                                            "contact (phone or email)")
        if len(people) < MIN_ON_DUTY:
            who = "、".join(people) if people else "nobody"
            raise InputError(src, f"{key}.rota", f"{win.name} {day}: {len(people)} distinct operator(s) on duty "
                                                 f"({who}); {MIN_ON_DUTY} are required (双人值守)")


def load_schedule(path: Path, *, check_jobs: bool = True) -> Schedule:
    return parse_text(read_text(path, "schedule file"), str(path), check_jobs=check_jobs)


def parse_text(text: str, src: str, *, check_jobs: bool = True) -> Schedule:
    return parse_schedule(load_yaml_text(text, src), src, check_jobs=check_jobs)

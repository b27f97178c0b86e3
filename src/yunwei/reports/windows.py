"""Heightened-protection (重保) windows: the days on which three inspections a day are required.

Sources, first match wins:
1. an explicit file (``yunwei report --windows FILE``);
2. the schedule module (``yunwei.schedule``): the approved (active) schedule, else schedule.yml
   ($YUNWEI_SCHEDULE or <root>/schedule.yml) as it stands;
3. without that module, ``<root>/schedule.yml`` read directly.
A file holds either a list of ``{name, start, end, kind?, systems?}`` (ISO dates, ``end`` inclusive;
kind holiday|event, default holiday), a mapping with that list under ``heightened`` or ``windows``,
or a whole schedule.yml (``heightened.windows``). The reports need only the days and the kind; the
rota and its validation are the schedule's (yunwei.schedule.model). No source: no heightened days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from yunwei.errors import InputError
from yunwei.paths import project_root
from yunwei.yamlfile import load_yaml


KINDS = {"holiday": "节假日", "event": "重大活动"}


@dataclass(frozen=True)
class Window:
    name: str
    start: date   # first local day
    end: date     # last local day (inclusive)
    kind: str = "holiday"            # holiday | event
    systems: tuple[str, ...] = ()    # inventory groups or hosts in scope

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


def _as_date(value: Any, source: str, key: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise InputError(source, key, f"{value!r} is not a date (YYYY-MM-DD)") from exc


def parse_windows(data: Any, source: str) -> list[Window]:
    """Windows from parsed YAML: a list, or a mapping holding one under heightened/windows."""
    if isinstance(data, dict):
        for key in ("heightened", "heightened_windows", "windows"):
            if key in data:
                data = data[key]
                break
        else:
            return []
        if isinstance(data, dict):  # schedule.yml: heightened: {jobs, cron, windows: [...]}
            data = data.get("windows")
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError(source, "heightened", "must be a list of {name, start, end}")
    out = []
    for i, item in enumerate(data):
        key = f"heightened[{i}]"
        if not isinstance(item, dict) or "start" not in item:
            raise InputError(source, key, "must be a mapping with name, start and end")
        start = _as_date(item["start"], source, f"{key}.start")
        end = _as_date(item.get("end", item["start"]), source, f"{key}.end")
        if end < start:
            raise InputError(source, f"{key}.end", f"{end} is before start {start}")
        kind = item.get("kind", "holiday")
        if kind not in KINDS:
            raise InputError(source, f"{key}.kind", f"expected holiday or event, got {kind!r}")
        systems = item.get("systems") or []
        if not isinstance(systems, list):
            raise InputError(source, f"{key}.systems", "must be a list of inventory groups or hosts")
        out.append(Window(str(item.get("name") or "重保时段"), start, end, str(kind), tuple(str(x) for x in systems)))
    return out


def load_windows_file(path: Path) -> list[Window]:
    """Windows from ``path``, read with the strict loader (duplicate keys, bad dates and bytes that
    are not UTF-8 are an InputError naming the file)."""
    return parse_windows(load_yaml(path, "windows file"), str(path))


def load_schedule_plan() -> Any | None:
    """The approved schedule (yunwei.schedule), else - when none was ever approved - schedule.yml as it
    stands; None without either (or without the schedule module). An approved copy edited outside review
    is refused, never replaced by the file an operator can edit."""
    try:
        from yunwei.schedule.active import load_active, resolve_schedule_file
        from yunwei.schedule.model import load_schedule
    except ImportError:
        return None
    from yunwei.errors import YunweiError

    from yunwei.schedule.active import active_meta

    try:
        sched, _meta = load_active()
    except YunweiError:
        if active_meta() is not None:  # an approved copy that no longer matches its digest: never fall back
            raise
        path = resolve_schedule_file()
        if not path.is_file():
            return None
        sched = load_schedule(path, check_jobs=False)
    return sched


def _from_schedule_module() -> list[Window] | None:
    """Windows of the approved schedule, else of schedule.yml as it stands.

    None when the schedule module is not installed (then schedule.yml is read directly).
    """
    try:
        import yunwei.schedule.active  # noqa: F401
    except ImportError:
        return None
    sched = load_schedule_plan()
    return [] if sched is None else [Window(w.name, w.start, w.end, w.kind, w.systems) for w in sched.windows]


def load_windows(path: Path | None = None) -> list[Window]:
    if path is not None:
        return load_windows_file(path)
    from_module = _from_schedule_module()
    if from_module is not None:
        return from_module
    default = project_root() / "schedule.yml"
    if default.is_file():
        return load_windows_file(default)
    return []


def window_for(day: date, windows: list[Window]) -> Window | None:
    for w in windows:
        if w.covers(day):
            return w
    return None

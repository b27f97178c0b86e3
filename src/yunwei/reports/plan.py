"""How many inspections a day is owed: the schedule's plan, never less than the contract's minimum,
and nothing outside the contract's service period.

required(day) = 0 outside the service period; else max(the inspection job's fires that local day in
the approved schedule (normal cron, or the heightened cron inside a 重保 window), the contract's
``inspection_per_day`` / ``heightened_inspection_per_day``). Without a schedule (``--windows FILE``
or none at all) the contract's figures apply, the windows telling which days are heightened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from yunwei.reports.contract import Contract
from yunwei.reports.windows import Window, window_for

INSPECTION_JOB = "inspect"


@dataclass
class Plan:
    contract: Contract = field(default_factory=Contract)
    windows: Sequence[Window] = ()
    schedule: Any = None           # yunwei.schedule.model.Schedule, or None
    _cache: dict[date, int] = field(default_factory=dict, repr=False)

    def window(self, day: date) -> Window | None:
        return window_for(day, list(self.windows))

    def scheduled(self, day: date) -> int | None:
        """Fires of the inspection job on ``day`` (schedule's zone), None without a schedule."""
        s = self.schedule
        if s is None or INSPECTION_JOB not in getattr(s, "entries", {}):
            return None
        if day not in self._cache:
            from yunwei.schedule.calendar import fires_between

            start = datetime.combine(day, time.min, tzinfo=s.tz)
            self._cache[day] = len(fires_between(s, INSPECTION_JOB, start - timedelta(microseconds=1),
                                                 start + timedelta(days=1) - timedelta(microseconds=1)))
        return self._cache[day]

    def required(self, day: date) -> int:
        if not self.contract.in_service(day):
            return 0
        key = "heightened_inspection_per_day" if self.window(day) else "inspection_per_day"
        minimum = self.contract.obligations.get(key, 3 if key.startswith("heightened") else 1)
        planned = self.scheduled(day)
        return max(minimum, planned or 0)

    def source_text(self) -> str:
        """One sentence for the reports: where the daily requirement comes from."""
        ob = self.contract.obligations
        base = (f"合同要求每日巡检 {ob.get('inspection_per_day', 1)} 次，重保期间每日 "
                f"{ob.get('heightened_inspection_per_day', 3)} 次")
        if self.schedule is not None:
            base += "；巡检计划（已审批的作业计划）安排更多时按计划计"
        if self.contract.start or self.contract.end:
            base += f"；仅统计服务期（{self.contract.period_text()}）内的日期"
        return base + "。"


def plan_from(contract: Contract | None = None, windows: Sequence[Window] | None = None,
              schedule: Any = None) -> Plan:
    return Plan(contract or Contract(), list(windows or ()), schedule)

"""The stress test's plan and its bounds, validated on the controller before anything starts.

A stress test sends real traffic, so it needs explicit bounds: the duration of each step and the
highest request rate (``max_rate``) are required, never defaulted; the steps ramp up to max_rate in
``steps`` equal increments; the planned request count may not exceed ``max_requests``. The target
must be an inventory host marked ``stress_test_allowed: true`` (the lab's web01); any other host
(production) is refused. Traffic goes to the host's inventory address only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_STEP_SECONDS = 600
MAX_STEPS = 20
MAX_RATE = 100000
PER_CONNECTION_RATE = 25     # requests/s one wrk connection is paced at (delay 40 ms): connections = rate / 25
MAX_CONNECTIONS = 400


@dataclass(frozen=True)
class Step:
    index: int           # 1-based
    rate: int            # target requests/s (an upper bound: wrk paces each connection)
    seconds: int
    connections: int

    @property
    def delay_ms(self) -> int:
        """Pause of each connection between requests: connections x 1000 / rate."""
        return max(0, int(self.connections * 1000 / self.rate))


def _int(s: dict[str, Any], key: str, problems: list[str], *, lo: int, hi: int, required: bool) -> int | None:
    value = s.get(key)
    if value is None or value == "":
        if required:
            problems.append(f"stress_test_{key}: missing (a stress test needs explicit bounds: "
                            "stress_test_duration seconds per step and stress_test_max_rate requests/s)")
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        problems.append(f"stress_test_{key}: expected a whole number, got {value!r}")
        return None
    if not lo <= number <= hi:
        problems.append(f"stress_test_{key}: {number} is outside {lo}..{hi}")
        return None
    return number


def _float(s: dict[str, Any], key: str, problems: list[str], *, lo: float, hi: float) -> float | None:
    value = s.get(key)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(str(value).strip())
    except ValueError:
        problems.append(f"stress_test_{key}: expected a number, got {value!r}")
        return None
    if not lo <= number <= hi:
        problems.append(f"stress_test_{key}: {number:g} is outside {lo:g}..{hi:g}")
        return None
    return number


def steps_for(max_rate: int, n: int, seconds: int) -> list[Step]:
    """``n`` steps of equal increments up to ``max_rate`` (the last step is exactly max_rate)."""
    out = []
    for i in range(1, n + 1):
        rate = max(1, round(max_rate * i / n))
        conns = max(2, min(MAX_CONNECTIONS, math.ceil(rate / PER_CONNECTION_RATE)))
        out.append(Step(i, rate, seconds, conns))
    return out


def problems(s: dict[str, Any]) -> list[str]:
    """Every problem of a stress test's settings ``s`` (keys without the stress_test_ prefix plus
    ``hostvars`` of the target and ``hosts``, the inventory's hosts); empty when it may start."""
    out: list[str] = []
    target = str(s.get("target") or "")
    hosts = list(s.get("hosts") or ())
    hv = s.get("hostvars") or {}
    if not target:
        out.append("stress_test_target: missing (the inventory host whose website is loaded, e.g. web01)")
    elif target not in hosts:
        out.append(f"stress_test_target: {target!r} is not a host of the inventory (only inventory hosts, by their "
                   "inventory address, are ever loaded)")
    elif hv.get("stress_test_allowed") is not True:
        out.append(f"stress_test_target: host {target} is not marked for load tests (stress_test_allowed: true in its "
                   "host_vars/group_vars) - a production host is refused unless the inventory allows it")
    duration = _int(s, "duration", out, lo=1, hi=MAX_STEP_SECONDS, required=True)
    max_rate = _int(s, "max_rate", out, lo=1, hi=MAX_RATE, required=True)
    n = _int(s, "steps", out, lo=1, hi=MAX_STEPS, required=True)
    max_requests = _int(s, "max_requests", out, lo=1, hi=10_000_000, required=True)
    _float(s, "objective_p95_ms", out, lo=1, hi=60000)
    _float(s, "error_budget_pct", out, lo=0, hi=100)
    path = str(s.get("path") or "")
    if not path.startswith("/") or any(c.isspace() for c in path):
        out.append(f"stress_test_path: expected an absolute URL path such as /, got {path!r}")
    port = _int(s, "port", out, lo=1, hi=65535, required=True)
    del port
    if s.get("scheme") not in ("http", "https"):
        out.append(f"stress_test_scheme: expected http or https, got {s.get('scheme')!r}")
    if duration and max_rate and n and max_requests:
        planned = sum(st.rate * st.seconds for st in steps_for(max_rate, n, duration))
        if planned > max_requests:
            out.append(f"stress_test_max_requests: the steps would send up to {planned} requests, more than the bound "
                       f"{max_requests} (lower stress_test_max_rate, stress_test_steps or stress_test_duration)")
    return out

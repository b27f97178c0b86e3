"""Robust statistics for dynamic thresholds: baselines learned from a metric's own history.

Pure statistics, no I/O. A baseline is the median and the MAD (median absolute deviation)
of the history, taken from the same hour of the week once enough samples of that hour exist
(weekly rhythm of a government website), else from the whole history; below ``min_samples``
there is no baseline and only the static limits apply. Also linear growth (Theil-Sen) and
days-until-full forecasts for the resources profile.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

MAD_SCALE = 1.4826  # MAD * 1.4826 estimates the standard deviation of normal data

TimeLike = datetime | float | int


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    xs = sorted(values)
    n = len(xs)
    mid = n // 2
    return float(xs[mid]) if n % 2 else (xs[mid - 1] + xs[mid]) / 2.0


def mad(values: Sequence[float], center: float | None = None) -> float:
    """Median absolute deviation (unscaled)."""
    c = median(values) if center is None else center
    return median([abs(v - c) for v in values])


def _dt(value: TimeLike) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def hour_of_week(when: TimeLike, tz: tzinfo | str | None = "Asia/Shanghai") -> int:
    """0..167: Monday 00h = 0, in the client's time zone."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or timezone.utc)
    local = _dt(when).astimezone(zone)
    return local.weekday() * 24 + local.hour


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    mad: float
    n: int
    scope: str  # "hour-of-week" or "all"

    @property
    def sigma(self) -> float:
        return MAD_SCALE * self.mad


def learn(
    history: Iterable[tuple[TimeLike, float]],
    at: TimeLike,
    *,
    min_samples: int = 20,
    min_bucket: int = 8,
    tz: tzinfo | str | None = "Asia/Shanghai",
) -> Baseline | None:
    """The baseline for a value sampled at ``at``; None while history is too short."""
    points = [(t, float(v)) for t, v in history if v is not None and not math.isnan(float(v))]
    if len(points) < min_samples:
        return None
    how = hour_of_week(at, tz)
    bucket = [v for t, v in points if hour_of_week(t, tz) == how]
    if len(bucket) >= min_bucket:
        values, scope = bucket, "hour-of-week"
    else:
        values, scope = [v for _, v in points], "all"
    m = median(values)
    return Baseline(median=m, mad=mad(values, m), n=len(values), scope=scope)


@dataclass(frozen=True, slots=True)
class Anomaly:
    value: float
    baseline: Baseline
    deviation: float  # robust z-score: (value - median) / scale
    scale: float  # the spread used (sigma with floors)
    status: str  # ok | warn | crit
    low: float  # normal band at warn level
    high: float


def evaluate(
    value: float,
    baseline: Baseline,
    *,
    warn_z: float = 4.0,
    crit_z: float = 8.0,
    floor: float = 0.0,
    rel_floor: float = 0.05,
    direction: str = "high",
) -> Anomaly:
    """Judge ``value`` against ``baseline``.

    The spread is max(1.4826*MAD, ``floor``, ``rel_floor``*|median|) so a perfectly flat
    history (MAD 0) does not turn every small wiggle into an anomaly. ``direction``: "high"
    flags values above normal, "low" below, "both" either side.
    """
    if direction not in ("high", "low", "both"):
        raise ValueError(f"direction must be high, low or both, not {direction!r}")
    if warn_z <= 0 or crit_z < warn_z:
        raise ValueError("need 0 < warn_z <= crit_z")
    scale = max(baseline.sigma, floor, rel_floor * abs(baseline.median), 1e-9)
    z = (value - baseline.median) / scale
    signed = z if direction == "high" else (-z if direction == "low" else abs(z))
    status = "crit" if signed >= crit_z else ("warn" if signed >= warn_z else "ok")
    return Anomaly(value=value, baseline=baseline, deviation=z, scale=scale, status=status,
                   low=baseline.median - warn_z * scale, high=baseline.median + warn_z * scale)


# -- growth and forecasts ---------------------------------------------------------------

def theil_sen(points: Sequence[tuple[float, float]], max_points: int = 200) -> tuple[float, float] | None:
    """Robust line (slope, intercept) through (x, y) points; None with fewer than 2 distinct x."""
    pts = sorted(points)[-max_points:]
    slopes = [
        (y2 - y1) / (x2 - x1)
        for i, (x1, y1) in enumerate(pts)
        for (x2, y2) in pts[i + 1:]
        if x2 != x1
    ]
    if not slopes:
        return None
    slope = median(slopes)
    intercept = median([y - slope * x for x, y in pts])
    return slope, intercept


def growth_per_day(series: Iterable[tuple[TimeLike, float]]) -> float | None:
    """Robust growth of a series in units per day; None without two distinct times."""
    pts = [(_dt(t).timestamp() / 86400.0, float(v)) for t, v in series]
    fit = theil_sen(pts)
    return None if fit is None else fit[0]


def days_until_full(series: Iterable[tuple[TimeLike, float]], capacity: float, current: float | None = None,
                    *, min_span_days: float = 1.0) -> float | None:
    """Days until a used-bytes series reaches ``capacity`` at its robust growth rate.

    None when it does not grow (or the history spans less than ``min_span_days``); 0 when full.
    ``current`` defaults to the last value.
    """
    pts = sorted((_dt(t).timestamp() / 86400.0, float(v)) for t, v in series)
    if len(pts) < 2 or pts[-1][0] - pts[0][0] < min_span_days:
        return None
    fit = theil_sen(pts)
    if fit is None:
        return None
    slope = fit[0]
    used = pts[-1][1] if current is None else current
    if used >= capacity:
        return 0.0
    if slope <= 0:
        return None
    return (capacity - used) / slope


"""Robust baselines and forecasts (yunwei.inspection.baselines) and their controller-side use
(yunwei.inspection.dynamic): the findings they add, judged through the catalogue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from yunwei.inspection import baselines as th
from yunwei.inspection import dynamic
from yunwei.inspection.judge import judge

T0 = datetime(2026, 9, 7, 0, 30, tzinfo=timezone.utc)  # a Monday


def test_median_and_mad():
    assert th.median([3, 1, 2]) == 2
    assert th.median([4, 1, 2, 3]) == 2.5
    assert th.mad([1, 2, 3, 4, 100]) == 1  # robust to the outlier
    with pytest.raises(ValueError):
        th.median([])


def test_hour_of_week_in_client_zone():
    # Monday 00:30 UTC is Monday 08:30 in Shanghai
    assert th.hour_of_week(T0, "Asia/Shanghai") == 8
    assert th.hour_of_week(T0, "UTC") == 0
    assert th.hour_of_week(T0 + timedelta(days=6, hours=23), "UTC") == 167


def test_no_baseline_before_enough_history():
    hist = [(T0 + timedelta(hours=i), 10.0) for i in range(19)]
    assert th.learn(hist, T0 + timedelta(days=1), min_samples=20) is None


def test_baseline_all_history_then_hour_of_week():
    # business hours busy (60), nights quiet (10), hourly samples for 3 weeks
    hist = []
    for h in range(24 * 21):
        t = T0 + timedelta(hours=h)
        busy = 9 <= t.astimezone(timezone.utc).hour < 17
        hist.append((t, 60.0 if busy else 10.0))
    at = T0 + timedelta(days=21, hours=10)  # a Monday 10:30 UTC
    b = th.learn(hist, at, min_samples=20, min_bucket=3, tz="UTC")
    assert b.scope == "hour-of-week" and b.median == 60.0 and b.n == 3
    b_all = th.learn(hist, at, min_samples=20, min_bucket=8, tz="UTC")
    assert b_all.scope == "all" and b_all.median == 10.0


def test_evaluate_flags_far_outside_normal_even_below_static_limit():
    b = th.Baseline(median=12.0, mad=1.0, n=40, scope="all")
    # 40% CPU is far below the static 85% warn, but ~19 robust sigmas above this host's normal
    res = th.evaluate(40.0, b, floor=2.0)
    assert res.status == "crit" and res.deviation > 8
    assert th.evaluate(14.0, b, floor=2.0).status == "ok"
    assert th.evaluate(2.0, b, floor=2.0, direction="high").status == "ok"
    assert th.evaluate(0.0, b, floor=0.5, rel_floor=0.0, direction="low").status == "crit"
    assert th.evaluate(0.0, b, floor=0.5, rel_floor=0.0, direction="both").status == "crit"
    assert th.evaluate(2.0, b, floor=0.5, rel_floor=0.0, direction="low").status == "warn"


def test_evaluate_flat_history_uses_floors():
    b = th.Baseline(median=50.0, mad=0.0, n=30, scope="all")
    res = th.evaluate(55.0, b, floor=1.0)  # rel floor 5% of 50 = 2.5 -> z = 2
    assert res.scale == 2.5 and res.status == "ok"
    with pytest.raises(ValueError):
        th.evaluate(1.0, b, direction="sideways")


def test_growth_and_days_until_full():
    day = 86400.0
    series = [(1_700_000_000 + i * day, 1000.0 + 100.0 * i) for i in range(10)]
    series[4] = (series[4][0], 5000.0)  # one outlier does not move Theil-Sen
    assert th.growth_per_day(series) == pytest.approx(100.0)
    assert th.days_until_full(series, capacity=2900.0) == pytest.approx(10.0)
    assert th.days_until_full(series, capacity=1500.0, current=1600.0) == 0.0
    flat = [(1_700_000_000 + i * day, 1000.0) for i in range(5)]
    assert th.days_until_full(flat, capacity=2000.0) is None
    assert th.days_until_full(series[:1], capacity=2000.0) is None


class FakeStore:
    def __init__(self, series):
        self.series = series  # {(name, host, instance): [(datetime, value)]}
        self.calls = []

    def metric_series(self, name, host=None, instance=None, since=None, until=None):
        self.calls.append((name, host, instance))
        rows = self.series.get((name, host, instance if instance is not None else ""), [])
        lo = since if since is not None else float("-inf")
        hi = until if until is not None else float("inf")
        return [(t, v) for t, v in rows if lo <= t.timestamp() < hi]


def test_anomaly_checks_from_history():
    now = datetime.now(timezone.utc)
    hist = [(now - timedelta(hours=6 * i), 10.0 + (i % 3)) for i in range(1, 40)]
    store = FakeStore({("cpu.used_pct", "web01", ""): hist})
    metrics = [{"name": "cpu.used_pct", "instance": "", "value": 60.0, "time": now.timestamp()},
               {"name": "cpu.steal_pct", "instance": "", "value": 1.0, "time": now.timestamp()}]  # no baseline
    found, judged = dynamic.anomaly_findings(store, "web01", "host", metrics, dynamic.Settings())
    assert judged == 1
    checks = judge(found)
    assert len(checks) == 1
    c = checks[0]
    assert c["id"] == "HOST-ANOM-001" and c["status"] == "crit" and c["instance"] == "cpu.used_pct"
    assert c["title"] == "指标偏离动态基线：CPU 使用率" and c["unit"] == "%"
    assert c["threshold"]["baseline"] == 11.0 and c["threshold"]["deviation"] > 8
    assert c["suggestion"].startswith("CPU 使用率明显高于该时段常态") and "基线" in c["evidence"]
    # a smaller deviation is a warn
    metrics[0]["value"] = 35.0  # (35 - 11) / max(MAD spread, floor 5) = 4.8
    assert judge(dynamic.anomaly_findings(store, "web01", "host", metrics, dynamic.Settings())[0])[0]["status"] == "warn"
    # normal value: judged, no check
    metrics[0]["value"] = 11.5
    assert dynamic.anomaly_findings(store, "web01", "host", metrics, dynamic.Settings()) == ([], 1)
    # too little history: static limits only
    short = FakeStore({("cpu.used_pct", "web01", ""): hist[:5]})
    assert dynamic.anomaly_findings(short, "web01", "host", metrics, dynamic.Settings()) == ([], 0)


def test_forecast_days_until_full():
    now = datetime.now(timezone.utc)
    mib = 1048576.0
    hist = [(now - timedelta(days=10 - i), (10 + 4 * i) * mib) for i in range(10)]  # +4 MiB/day
    store = FakeStore({("fs.used_bytes", "db01", "/srv/data"): hist})
    t = now.timestamp()
    metrics = [{"name": "fs.used_bytes", "instance": "/srv/data", "value": 50 * mib, "time": t},
               {"name": "fs.size_bytes", "instance": "/srv/data", "value": 64 * mib, "time": t}]
    found, extra = dynamic.forecast_findings(store, "db01", "host", metrics, dynamic.Settings())
    checks = judge(found)
    assert checks[0]["id"] == "HOST-CAP-001" and checks[0]["status"] == "crit"  # ~3.5 days < 7
    assert checks[0]["value"] == pytest.approx(3.5, abs=0.3)
    assert checks[0]["suggestion"].startswith("/srv/data 将在 4 天内写满")
    assert judge(found, {"fs_days_full": {"warn": 3, "crit": 2}})[0]["status"] == "ok"  # a site's own limits
    assert {m["name"] for m in extra} == {"fs.growth_bytes_per_day", "fs.days_to_full"}

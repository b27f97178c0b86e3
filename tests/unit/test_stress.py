"""Stress test (issue 20): the bounds and the target mark are required (problems name the variable),
wrk's result line is parsed, each step judged against the objective, the capacity and the bottleneck
found, and 《压力测试报告》 laid out from a recorded run."""

from __future__ import annotations

import pytest

from yunwei.stress import judge, plan, wrk

GOOD = {"target": "web01", "hosts": ["web01", "db01"], "hostvars": {"stress_test_allowed": True}, "duration": 5,
        "max_rate": 200, "steps": 2, "max_requests": 5000, "objective_p95_ms": 500, "error_budget_pct": 1,
        "path": "/", "port": 80, "scheme": "http"}


def test_good_settings_have_no_problem_and_ramp_to_max_rate():
    assert plan.problems(GOOD) == []
    steps = plan.steps_for(200, 2, 5)
    assert [(s.rate, s.connections) for s in steps] == [(100, 4), (200, 8)]
    assert steps[1].delay_ms == 40          # 8 connections x 1000 ms / 200 req/s: no step exceeds its rate


@pytest.mark.parametrize(("change", "words"), [
    ({"duration": None}, "stress_test_duration: missing"),
    ({"max_rate": ""}, "stress_test_max_rate: missing"),
    ({"max_rate": "lots"}, "stress_test_max_rate: expected a whole number"),
    ({"duration": 3600}, "stress_test_duration: 3600 is outside 1..600"),
    ({"hostvars": {}}, "stress_test_target: host web01 is not marked for load tests"),
    ({"hostvars": {"stress_test_allowed": "yes"}}, "not marked for load tests"),   # only a real true marks it
    ({"target": "db02"}, "stress_test_target: 'db02' is not a host of the inventory"),
    ({"target": ""}, "stress_test_target: missing"),
    ({"max_requests": 100}, "stress_test_max_requests: the steps would send up to 1500 requests"),
    ({"path": "http://elsewhere/"}, "stress_test_path"),
])
def test_bad_settings_name_the_variable(change, words):
    problems = plan.problems({**GOOD, **change})
    assert any(words in p for p in problems), problems


def test_wrk_result_line_parsed():
    line = ('noise\nYUNWEI-WRK {"requests":1000,"duration_us":5000000,"bytes":600000,"connect_errors":0,"read_errors":0,'
            '"write_errors":0,"status_errors":10,"timeouts":0,"p50_us":1200,"p90_us":3000,"p95_us":4500,'
            '"p99_us":9000,"max_us":20000,"mean_us":1500.5}\n')
    r = wrk.parse(line)
    assert r["rps"] == 200.0 and r["errors"] == 10 and r["error_pct"] == 1.0 and r["p95_ms"] == 4.5
    with pytest.raises(ValueError):
        wrk.parse("Running 5s test @ http://x/\n")


def step(i, rate, rps, p95, err=0.0, cpu=30.0, mem=40.0):
    return {"index": i, "rate": rate, "rps": rps, "p95_ms": p95, "error_pct": err,
            "host": {"cpu_pct": cpu, "iowait_pct": 0.0, "mem_pct": mem, "disk_util_pct": 1.0}}


def test_capacity_is_the_best_step_meeting_the_objective_and_cpu_saturates_first():
    steps = [step(1, 100, 99.5, 3.0), step(2, 200, 198.0, 40.0, cpu=88.0), step(3, 300, 240.0, 700.0, cpu=99.0)]
    cap = judge.capacity(steps, 500, 1)
    assert cap == {"rps": 198.0, "step": 2, "broken_at": 3, "lower_bound": False, "max_rps": 240.0}
    neck = judge.bottleneck(steps, 500, 1)
    assert neck["resource"] == "CPU 使用率" and neck["step"] == 2
    assert judge.step_verdict(steps[2], 500, 1) == ["P95 延迟 700.0 毫秒，超过目标 500 毫秒"]
    assert any("CPU 最先饱和" in r for r in judge.recommendations(steps, 500, 1))


def test_errors_break_the_budget_and_no_saturation_means_a_lower_bound():
    steps = [step(1, 100, 100.0, 2.0), step(2, 200, 150.0, 3.0, err=5.0)]
    assert judge.capacity(steps, 500, 1)["broken_at"] == 2
    assert judge.bottleneck(steps, 500, 1)["resource"] == "服务处理能力"
    ok = [step(1, 100, 100.0, 2.0)]
    assert judge.capacity(ok, 500, 1)["lower_bound"] is True
    assert judge.bottleneck(ok, 500, 1)["resource"] is None
    assert judge.capacity([step(1, 100, 20.0, 900.0)], 500, 1)["rps"] is None


def test_report_layout_of_a_recorded_run():
    from datetime import date
    from zoneinfo import ZoneInfo

    from yunwei.reports.contract import Contract
    from yunwei.stress.report import layout

    tz = ZoneInfo("Asia/Shanghai")
    steps = [step(1, 100, 99.5, 3.0), step(2, 200, 150.0, 700.0)]
    stress = {"target": "web01", "url": "http://10.0.0.2:80/", "objective_p95_ms": 500, "error_budget_pct": 1,
              "max_rate": 200, "step_seconds": 5, "max_requests": 5000, "planned_steps": 2, "steps": steps}
    data = {"kind": "stress-test", "title": "压力测试报告", "empty": False,
            "period": {"unit": "day", "label": "2026-12-01", "title": "2026年12月1日", "first": "2026-12-01",
                       "last": "2026-12-01", "tz": str(tz), "zone": "北京时间"},
            "signoff": {"rows": [], "date": str(date(2026, 12, 1))},
            "run": {"id": "r1", "operator": "李娜", "status": "ok", "started": "2026-12-01 10:00:00",
                    "finished": "2026-12-01 10:00:12"},
            "stress": stress, "steps": steps, "requests": 1250,
            "capacity": judge.capacity(steps, 500, 1), "bottleneck": judge.bottleneck(steps, 500, 1),
            "recommendations": judge.recommendations(steps, 500, 1)}
    for s in steps:
        s["verdict"] = judge.step_verdict(s, 500, 1)
    doc = layout(data, Contract(), charts_on=False)
    text = " ".join(str(b.get("text", "")) for b in doc["blocks"])
    assert "满足性能目标的最大处理能力为 100 次/秒（第 1 级）" in text
    table = next(b for b in doc["blocks"] if b.get("sheet") == "各级结果")
    assert table["rows"][1][-1].startswith("不达标：P95 延迟 700.0 毫秒")

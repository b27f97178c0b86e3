"""Stress test (压力测试) before a 重保 event: plan and bounds (plan.py), the load generator wrk
(wrk.py), judging the steps - capacity at the latency objective, bottleneck (judge.py)."""

"""Judging a stress test's steps: did each step meet the latency objective and the error budget,
the capacity (requests/s of the best step that met both), and which resource saturated first.

Pure functions of the steps the action plugin recorded (yunwei.ops.load_test): the report and the
tests call them; nothing here measures anything again.
"""

from __future__ import annotations

from typing import Any

# (key in a step's host figures, label, saturation limit, unit)
RESOURCES = (
    ("cpu_pct", "CPU 使用率", 85.0, "%"),
    ("iowait_pct", "CPU I/O 等待", 20.0, "%"),
    ("mem_pct", "内存使用率", 90.0, "%"),
    ("disk_util_pct", "磁盘繁忙度", 80.0, "%"),
)
# the rate the generator achieved below this share of the target means it could not be served
ACHIEVED_SHARE = 0.9


def step_verdict(step: dict[str, Any], objective_ms: float, budget_pct: float) -> list[str]:
    """Why the step broke the objective (empty: it met it). Chinese text for the report."""
    out = []
    if step.get("p95_ms") is None:
        return ["压测工具未返回结果"]
    if step["p95_ms"] > objective_ms:
        out.append(f"P95 延迟 {step['p95_ms']:.1f} 毫秒，超过目标 {objective_ms:g} 毫秒")
    if step["error_pct"] > budget_pct:
        out.append(f"错误率 {step['error_pct']:.2f}%，超过预算 {budget_pct:g}%")
    return out


def capacity(steps: list[dict[str, Any]], objective_ms: float, budget_pct: float) -> dict[str, Any]:
    """The capacity found: the achieved requests/s of the highest step that met the objective, and
    whether it is a lower bound only (no step broke it: the real capacity is higher)."""
    good = [s for s in steps if not step_verdict(s, objective_ms, budget_pct)]
    broke = [s for s in steps if step_verdict(s, objective_ms, budget_pct)]
    best = max(good, key=lambda s: s["rps"], default=None)
    return {"rps": best["rps"] if best else None, "step": best["index"] if best else None,
            "broken_at": broke[0]["index"] if broke else None, "lower_bound": not broke,
            "max_rps": max((s["rps"] for s in steps), default=None)}


def bottleneck(steps: list[dict[str, Any]], objective_ms: float, budget_pct: float) -> dict[str, Any]:
    """The resource that saturated first (earliest step at or above its limit, the highest share of
    its limit on a tie), else an explanation from the latency/achieved rate. Chinese text."""
    first: tuple[int, float, str, float, str] | None = None
    for s in steps:
        host = s.get("host") or {}
        for key, label, limit, unit in RESOURCES:
            value = host.get(key)
            if value is None or value < limit:
                continue
            cand = (s["index"], -value / limit, label, value, unit)
            if first is None or cand[:2] < first[:2]:
                first = cand
        if first is not None:
            break
    if first is not None:
        index, _, label, value, unit = first
        return {"resource": label, "step": index,
                "text": f"第 {index} 级压力下目标主机{label}达到 {value:.1f}{unit}（饱和阈值见下表），为最先饱和的资源。"}
    cap = capacity(steps, objective_ms, budget_pct)
    if cap["broken_at"] is None:
        return {"resource": None, "step": None,
                "text": "在本次压测的最大速率内延迟与错误率均满足目标，主机资源未饱和：实际容量高于本次测得值。"}
    s = next(x for x in steps if x["index"] == cap["broken_at"])
    short = s["rps"] < ACHIEVED_SHARE * s["rate"]
    return {"resource": "服务处理能力", "step": s["index"],
            "text": (f"第 {s['index']} 级压力下目标未达到（{'；'.join(step_verdict(s, objective_ms, budget_pct))}），"
                     "而目标主机 CPU、内存、磁盘均未饱和" + ("，实际吞吐低于目标速率" if short else "")
                     + "：瓶颈在服务自身（nginx 工作进程与连接数、后端处理）或网络，需结合 nginx 配置与访问日志分析。")}


def recommendations(steps: list[dict[str, Any]], objective_ms: float, budget_pct: float,
                    generator_ceiling: float | None = None) -> list[str]:
    cap = capacity(steps, objective_ms, budget_pct)
    neck = bottleneck(steps, objective_ms, budget_pct)
    out = []
    if cap["rps"] is None:
        out.append("最低一级压力即未满足延迟目标或错误预算：重保前须排查网站性能问题后重新压测。")
    else:
        out.append(f"按测得容量 {cap['rps']:.0f} 次/秒 评估重保期间预期峰值：预期峰值应不超过容量的 70%，否则需扩容或限流。")
    if neck["resource"] == "CPU 使用率":
        out.append("CPU 最先饱和：检查 nginx worker_processes 与 gzip 级别，静态资源启用缓存或 CDN，必要时增加 Web 节点。")
    elif neck["resource"] == "内存使用率":
        out.append("内存最先饱和：检查 nginx 缓冲区与连接数配置及其他进程的内存占用，必要时扩容内存。")
    elif neck["resource"] in ("磁盘繁忙度", "CPU I/O 等待"):
        out.append("磁盘 I/O 最先饱和：关闭或缓冲访问日志（access_log buffer），静态文件启用 open_file_cache。")
    elif neck["resource"] == "服务处理能力":
        out.append("主机资源未饱和而延迟超标：检查 worker_connections、keepalive 与后端超时设置。")
    if generator_ceiling and cap["max_rps"] and cap["max_rps"] >= 0.8 * generator_ceiling:
        out.append(f"最高吞吐已接近压测机自身上限（约 {generator_ceiling:.0f} 次/秒，见 bench/）：测得值可能受压测机限制。")
    out.append("重保期间保持实时监控，告警按值守表通知当日值守人员。")
    return out

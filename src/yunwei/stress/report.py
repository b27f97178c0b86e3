"""《压力测试报告》: the last completed ``stress-test`` run on or before the report day.

The data is the task result of yunwei.ops.load_test in the journal (every step's rate, requests/s,
errors, latency percentiles and the target's CPU/memory/disk/network figures); the capacity and the
bottleneck are judged by yunwei.stress.judge from those figures, nothing is measured again.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from yunwei.reports import humanise as hz
from yunwei.reports.assemble import period_info, signoff
from yunwei.reports.contract import Contract
from yunwei.reports.document import _doc, _h, _p, _table
from yunwei.reports.periods import Period
from yunwei.reports.plan import Plan
from yunwei.stress import judge

JOB = "stress-test"
ACTION = "yunwei.ops.load_test"


def last_run(store: Any, until: datetime) -> tuple[Any, dict[str, Any]] | tuple[None, None]:
    """The newest stress-test run started before ``until`` whose load task recorded steps."""
    for run in store.list_runs(job=JOB, until=until):
        for t in store.task_results(run.id):
            stress = (t.result or {}).get("stress") if t.action == ACTION else None
            if stress and stress.get("steps"):
                return run, stress
    return None, None


def _local(iso: str, tz: Any) -> str:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def report(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    run, stress = last_run(store, min(period.until, now))
    data: dict[str, Any] = {"kind": "stress-test", "title": "压力测试报告", "period": period_info(period),
                            "empty": run is None}
    data["signoff"] = signoff(plan.contract, "stress-test", [run.operator] if run else [], period.last, now, period.tz)
    if run is None or stress is None:
        return data
    obj, budget = float(stress["objective_p95_ms"]), float(stress["error_budget_pct"])
    steps = stress["steps"]
    for s in steps:
        s["verdict"] = judge.step_verdict(s, obj, budget)
    data.update(
        run={"id": run.id, "operator": plan.contract.person(run.operator), "status": run.status,
             "started": _local(stress["started"], period.tz), "finished": _local(stress.get("finished") or
                                                                                 stress["started"], period.tz)},
        stress=stress, steps=steps, capacity=judge.capacity(steps, obj, budget),
        bottleneck=judge.bottleneck(steps, obj, budget),
        recommendations=judge.recommendations(steps, obj, budget),
        requests=sum(s.get("requests") or 0 for s in steps))
    return data


def _charts(data: dict[str, Any]) -> list[dict[str, Any]]:
    from yunwei.reports import charts

    steps, obj = data["steps"], float(data["stress"]["objective_p95_ms"])
    labels = [f"第{s['index']}级\n{s['rps']:.0f}/s" for s in steps]
    fig = charts._figure(8.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(steps)))
    for key, label, color in (("p50_ms", "P50", charts.COLORS[0]), ("p95_ms", "P95", charts.COLORS[1]),
                              ("p99_ms", "P99", charts.COLORS[3])):
        ax.plot(xs, [s.get(key) or 0 for s in steps], marker="o", color=color, label=label)
    top = max([s.get("p99_ms") or 0 for s in steps] + [1.0]) * 1.25
    title = "各级压力下的响应延迟（毫秒）"
    if obj <= top * 1.6:  # the objective line only when it does not flatten the measured curves
        ax.axhline(obj, color="#555555", linestyle="--", linewidth=1, label=f"目标 P95 ≤ {obj:g} 毫秒")
        top = max(top, obj * 1.1)
    else:
        title += f"，目标 P95 ≤ {obj:g} 毫秒（远高于实测值，未画出）"
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_title(title)
    ax.set_ylim(0, top)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    latency = charts._png(fig)
    fig = charts._figure(8.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    for key, label, color in (("cpu_pct", "CPU 使用率", charts.COLORS[0]), ("mem_pct", "内存使用率", charts.COLORS[2]),
                              ("disk_util_pct", "磁盘繁忙度", charts.COLORS[4])):
        ax.plot(xs, [(s.get("host") or {}).get(key) or 0 for s in steps], marker="o", color=color, label=label)
    ax.plot(xs, [s.get("error_pct") or 0 for s in steps], marker="s", color=charts.COLORS[1], label="错误率")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_title("各级压力下目标主机资源与错误率（%）")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return [{"type": "chart", "title": "响应延迟", "png": latency},
            {"type": "chart", "title": "主机资源与错误率", "png": charts._png(fig)}]


def _net(bps: Any) -> str:
    return "—" if bps is None else hz.rate_text(float(bps))


def layout(data: dict[str, Any], contract: Contract, *, charts_on: bool = True, **_: Any) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if data["empty"]:
        blocks.append({"type": "notice", "text": f"截至 {data['period']['last']} 日志中没有完成的压力测试"
                                                 "（作业 stress-test），以下各项不作统计。"})
        return _doc(data, blocks, [["报告日期", data["period"]["last"]]], contract)
    st, cap, run = data["stress"], data["capacity"], data["run"]
    obj, budget = float(st["objective_p95_ms"]), float(st["error_budget_pct"])
    cap_text = "—" if cap["rps"] is None else f"{cap['rps']:.0f} 次/秒" + ("（下限）" if cap["lower_bound"] else "")
    meta = [["测试时间", f"{run['started']} 至 {run['finished']}"], ["测试人", run["operator"]],
            ["测试对象", f"{st['target']}（{st['url']}）"], ["性能目标", f"P95 ≤ {obj:g} 毫秒，错误率 ≤ {budget:g}%"],
            ["测得容量", cap_text], ["最先饱和", data["bottleneck"]["resource"] or "未饱和"]]
    blocks.append(_h("一、测试概况"))
    blocks.append(_p(
        f"为保障重保期间网站稳定运行，于 {run['started']} 对 {st['target']} 的网站（{st['url']}）进行分级压力测试。"
        f"压测工具 wrk 部署在运维堡垒机，按 {st['planned_steps']} 级逐级加压，每级 {st['step_seconds']} 秒，"
        f"最高 {st['max_rate']} 次/秒，全程请求上限 {st['max_requests']} 次；某一级 P95 延迟超过 {obj:g} 毫秒"
        f"或错误率超过 {budget:g}% 即停止加压。实际执行 {len(data['steps'])} 级，共发送请求 {data['requests']} 次。"
        "测试只发送只读的页面请求，不修改任何业务数据。"))
    blocks.append(_h("二、测试结论"))
    if cap["rps"] is None:
        blocks.append(_p("第 1 级压力即未满足性能目标，未测得满足目标的容量。", "crit"))
    elif cap["lower_bound"]:
        blocks.append(_p(f"各级压力均满足性能目标：在本次最大速率下网站处理能力不低于 {cap['rps']:.0f} 次/秒"
                         "（测得值为下限，实际容量更高）。", "ok"))
    else:
        blocks.append(_p(f"满足性能目标的最大处理能力为 {cap['rps']:.0f} 次/秒（第 {cap['step']} 级）；"
                         f"第 {cap['broken_at']} 级压力下性能目标被突破。", "warn"))
    blocks.append(_p("瓶颈分析：" + data["bottleneck"]["text"]))
    blocks.append(_h("三、各级压力测试结果"))
    rows = []
    for s in data["steps"]:
        rows.append([s["index"], s["rate"], s["rps"], s.get("requests"), s.get("errors"), s.get("error_pct"),
                     s.get("p50_ms"), s.get("p95_ms"), s.get("p99_ms"),
                     "达标" if not s["verdict"] else "不达标：" + "；".join(s["verdict"])])
    blocks.append(_table("各级结果", "各级结果", ["级别", "目标速率(次/秒)", "实际吞吐(次/秒)", "请求数", "错误数", "错误率(%)",
                                             "P50(毫秒)", "P95(毫秒)", "P99(毫秒)", "结论"],
                         rows, formats=["int", "int", "num", "int", "int", "num", "num", "num", "num", None]))
    blocks.append(_table("各级明细（含 P90、最大延迟、超时与连接错误）", "各级明细",
                         ["级别", "连接数", "间隔(毫秒)", "开始", "结束", "P90(毫秒)", "最大(毫秒)", "超时", "连接/读写错误",
                          "状态码错误"],
                         [[s["index"], s.get("connections"), s.get("delay_ms"), s.get("started"), s.get("finished"),
                           s.get("p90_ms"), s.get("max_ms"), s.get("timeouts"), s.get("socket_errors"), s.get("status_errors")]
                          for s in data["steps"]], only="xlsx"))
    host_rows = [[s["index"], s["rps"], (s.get("host") or {}).get("cpu_pct"), (s.get("host") or {}).get("iowait_pct"),
                  (s.get("host") or {}).get("mem_pct"), (s.get("host") or {}).get("disk_util_pct"),
                  (s.get("host") or {}).get("load1"),
                  _net((s.get("host") or {}).get("net_tx_bps"))]
                 for s in data["steps"]]
    blocks.append(_table("目标主机资源（每级开始与结束时读取 /proc 计数器）", "主机资源",
                         ["级别", "实际吞吐(次/秒)", "CPU(%)", "I/O 等待(%)", "内存(%)", "磁盘繁忙度(%)", "1 分钟负载", "网络发送"],
                         host_rows, formats=["int", "num", "num", "num", "num", "num", "num", None]))
    limits = "；".join(f"{label} ≥ {limit:g}{unit}" for _, label, limit, unit in judge.RESOURCES)
    blocks.append(_p(f"饱和判定：{limits}。实验环境中各主机为同一台机器上的容器，CPU 与负载为整机数值，"
                     "且包含压测工具自身的消耗。"))
    if charts_on:
        blocks += _charts(data)
    blocks.append(_h("四、建议"))
    for i, text in enumerate(data["recommendations"], 1):
        blocks.append(_p(f"{i}. {text}"))
    return _doc(data, blocks, meta, contract)

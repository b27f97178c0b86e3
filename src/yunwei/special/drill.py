"""《应急演练报告》: the month's emergency drills - the web tier (job ``emergency-drill``: nginx stopped,
detected by the inspection, recovered) with a timeline from the journal's task times - together with the
month's restore drills (job ``drill``, the data tier: yunwei.reports.drills)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from yunwei.reports import drills
from yunwei.reports.assemble import period_info, runs_of, signoff
from yunwei.reports.contract import Contract
from yunwei.reports.document import _doc, _h, _p, _table
from yunwei.reports.periods import Period
from yunwei.reports.plan import Plan

JOB = "emergency-drill"
# (task name in playbooks/emergency_drill.yml, which end of the task, timeline step, note)
STEPS = (
    ("Emergency drill | before - the website answers", "ended_at", "演练开始", "网站访问正常（HTTP 200）"),
    ("Emergency drill | inject - stop nginx", "ended_at", "故障注入", "停止 Web 服务（nginx）"),
    ("Emergency drill | outage seen from the bastion", "ended_at", "确认中断", "堡垒机访问网站失败"),
    ("Inspect | HOST-*, WEB-*, DB-* checks in one call per host (resources, services, patches, website, PostgreSQL)",
     "ended_at", "发现故障", "巡检发现网站与 Web 服务异常"),
    ("Emergency drill | recover - start nginx", "started_at", "开始恢复", "启动 Web 服务（nginx）"),
    ("Emergency drill | recovery seen from the bastion", "ended_at", "恢复访问", "堡垒机访问网站恢复正常（HTTP 200）"),
)


def _secs(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s:.1f} 秒" if s < 120 else f"{s / 60:.1f} 分钟"


def web_drill(store: Any, run: Any, period: Period) -> dict[str, Any]:
    """One web-tier drill: its timeline (first occurrence of each step's task), what the inspection
    detected while nginx was down, and whether the inspection after recovery was clean."""
    tasks = store.task_results(run.id)
    times: dict[str, Any] = {}
    rows = []
    for name, end, what, note in STEPS:
        hit = [t for t in tasks if t.task == name and getattr(t, end) is not None]
        if what == "恢复访问":
            hit = [t for t in hit if t.status == "ok"]
        at = getattr(hit[0], end) if hit else None
        times[what] = at
        rows.append({"what": what, "time": at.astimezone(period.tz).strftime("%H:%M:%S") if at else "未执行",
                     "note": note})
    fault = times.get("故障注入")
    for r, (_, _, what, _) in zip(rows, STEPS):
        at = times.get(what)
        r["since"] = _secs((at - fault).total_seconds()) if at and fault and at >= fault else "—"
    checks = store.checks(run_id=run.id)
    inspect_times = sorted({c.time for c in checks if c.time is not None})
    detected = sorted({f"{c.id} {c.title}".strip() for c in checks
                       if c.status == "crit" and inspect_times and c.time == inspect_times[0] and c.id.startswith("WEB-")})
    after = [c for c in checks if len(inspect_times) > 1 and c.time == inspect_times[-1] and c.status == "crit"]
    detect_s = (times["发现故障"] - fault).total_seconds() if fault and times.get("发现故障") else None
    recover_s = (times["恢复访问"] - fault).total_seconds() if fault and times.get("恢复访问") else None
    ok = bool(detected) and recover_s is not None and not after and run.status == "ok"
    return {"run_id": run.id, "time": run.started_at.astimezone(period.tz).strftime("%Y-%m-%d %H:%M"),
            "host": next((t.host for t in tasks if t.task == STEPS[1][0]), "—"), "timeline": rows, "detected": detected,
            "detect_s": detect_s, "recover_s": recover_s, "remaining": sorted({c.id for c in after}),
            "result": "通过" if ok else "不通过", "status": run.status}


def report(store: Any, period: Period, plan: Plan, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(timezone.utc)
    web = [web_drill(store, r, period) for r in runs_of(store, period, [JOB])]
    data_tier = drills.drill(store, period, plan, now=now)
    data = {"kind": "emergency-drill", "title": "应急演练报告", "period": period_info(period),
            "empty": not web and data_tier["empty"], "web": web, "restore": data_tier}
    data["signoff"] = signoff(plan.contract, "emergency-drill", [], period.last, now, period.tz)
    return data


def layout(data: dict[str, Any], contract: Contract, **_: Any) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    web, rest = data["web"], data["restore"]
    meta = [["演练期间", data["period"]["title"]], ["网站层演练", f"{len(web)} 次"],
            ["数据层恢复演练", f"{rest['drills']} 次"],
            ["结果", "全部通过" if all(w["result"] == "通过" for w in web) and not rest["failed"] else "存在不通过项"]]
    if data["empty"]:
        blocks.append({"type": "notice", "text": "本期没有应急演练记录（作业 emergency-drill、drill），以下各项不作统计。"})
        return _doc(data, blocks, meta, contract)
    blocks.append(_h("一、演练概况"))
    blocks.append(_p("为验证重保期间的应急处置能力，本期进行应急演练：网站层模拟 Web 服务（nginx）停止，检验巡检能否发现故障、"
                     "值守人员能否按预案恢复；数据层按恢复演练场景（误删表、数据库主机故障、网站文件损坏、备份主机失效）"
                     "从备份恢复并验证。网站层故障只在标记为演练环境的主机上实际注入。"))
    blocks.append(_h("二、网站层故障演练"))
    if not web:
        blocks.append(_p("本期未进行网站层故障演练。"))
    for i, w in enumerate(web, 1):
        blocks.append(_h(f"{i}. {w['time']} {w['host']}：{w['result']}", 2))
        blocks.append(_table("演练时间线", f"时间线{i}", ["步骤", "时间", "距故障", "说明"],
                             [[r["what"], r["time"], r["since"], r["note"]] for r in w["timeline"]]))
        blocks.append(_p(f"发现用时 {_secs(w['detect_s'])}（故障注入至巡检发现），恢复用时 {_secs(w['recover_s'])}"
                         f"（故障注入至访问恢复）。巡检发现：{'、'.join(w['detected']) or '未发现'}。"
                         + ("恢复后复查无严重问题。" if not w["remaining"] else f"恢复后仍有严重问题：{'、'.join(w['remaining'])}。"),
                         "ok" if w["result"] == "通过" else "crit"))
    blocks.append(_h("三、数据层恢复演练"))
    blocks.append(_table("恢复演练", "恢复演练", ["时间", "场景", "故障方式", "结果", "数据集", "RTO", "RPO"],
                         [[r["time"], r["scenario_label"], r["fault_mode"], r["result_label"],
                           "、".join(s["dataset"] for s in r["datasets"]),
                           "、".join(_secs(s["rto_s"]) for s in r["datasets"]),
                           "、".join(_secs(s["rpo_s"]) for s in r["datasets"])] for r in rest["runs"]],
                         empty="本期未进行恢复演练。"))
    blocks.append(_h("四、问题与改进"))
    lessons = list(rest["lessons"])
    if not rest["drills"]:
        lessons.append("本期未进行数据层恢复演练：重大活动前应至少按一个场景演练（yunwei run drill -e scenario=...）。")
    if not web:
        lessons.append("本期未进行网站层故障演练：重大活动前应演练一次（yunwei run emergency-drill）。")
    for w in web:
        if w["detect_s"] is not None and w["detect_s"] > 15:
            lessons.append(f"网站层演练（{w['time']}）：巡检发现用时 {_secs(w['detect_s'])}；重保期间依靠实时监控告警"
                           "（15 秒内）发现故障，巡检作为复核。")
        if w["result"] != "通过":
            lessons.append(f"网站层演练（{w['time']}）未通过：排查后重新演练。")
    for i, text in enumerate(lessons or ["各项演练均按预案完成，无需改进的问题。"], 1):
        blocks.append(_p(f"{i}. {text}"))
    return _doc(data, blocks, meta, contract)

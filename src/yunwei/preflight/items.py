"""The T-7 preflight's items: each an independent entry judging one part of the ``preflight`` run
(playbooks/preflight.yml) go / no-go, with the open actions it found.

An item reads only what the run recorded: the checks of its catalogue areas, or the result of one
named task, or (the vulnerability item) the findings lifecycle of the journal. To add an item, import
its playbook in playbooks/preflight.yml and append one ``Item`` to ``ITEMS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BAD = ("crit", "fail")          # a check in one of these states makes its item no-go
ADVISORY = ("warn",)            # listed as an action, the item stays go
MONITORING_TASK = "Preflight | monitoring targets (Prometheus)"


@dataclass
class Result:
    go: bool
    summary: str
    actions: list[dict[str, str]] = field(default_factory=list)   # {title, host, suggestion, level}
    ran: bool = True


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    judge: Callable[[dict[str, Any]], Result]


def _area_of(check_id: str) -> str:
    from yunwei.catalogue import catalogue

    entry = catalogue().checks.get(check_id)
    return entry.area if entry is not None else ""


def _grouped(checks: list[Any]) -> list[dict[str, str]]:
    """One action per distinct problem (check, level, advice), naming every host it was found on: the
    same missing patch on six hosts is one thing to do, one ticket."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for c in checks:
        where = c.host + (f"（{c.instance}）" if c.instance else "")
        hosts = groups.setdefault((c.title or c.id, c.status, c.suggestion or "按检查项说明处理。"), [])
        if where not in hosts:
            hosts.append(where)
    return [{"title": title, "host": "、".join(hosts), "level": level, "suggestion": advice}
            for (title, level, advice), hosts in groups.items()]


def by_areas(areas: tuple[str, ...], what: str) -> Callable[[dict[str, Any]], Result]:
    """Judge the run's checks of catalogue ``areas``: no-go when one is crit/fail, warns are actions."""
    def judge(ctx: dict[str, Any]) -> Result:
        checks = [c for c in ctx["checks"] if _area_of(c.id) in areas]
        if not checks:
            return Result(False, f"本次检查未产生{what}结果（作业未执行到该项或执行失败）。",
                          [{"title": f"{what}未完成", "host": "", "level": "crit",
                            "suggestion": "查看 preflight 作业日志，排除原因后重新执行节前检查。"}], ran=False)
        bad = [c for c in checks if c.status in BAD]
        warn = [c for c in checks if c.status in ADVISORY]
        actions = _grouped(bad + warn)
        hosts = len({c.host for c in checks})
        summary = (f"{hosts} 台主机 {len(checks)} 项检查：不通过 {len(bad)} 项，警告 {len(warn)} 项。")
        return Result(not bad, summary, actions)
    return judge


def monitoring_targets(ctx: dict[str, Any]) -> Result:
    """Every Prometheus scrape target up (the result of the preflight's query of /api/v1/targets)."""
    results = [t for t in ctx["tasks"] if t.task == MONITORING_TASK]
    data = ((results[-1].result or {}).get("json") or {}).get("data") if results else None
    if not results or data is None:
        return Result(False, "未能读取监控系统的采集目标（监控主机不可达或 Prometheus 未运行）。",
                      [{"title": "监控采集目标状态未知", "host": results[-1].host if results else "", "level": "crit",
                        "suggestion": "检查监控主机与 Prometheus 服务（yunwei lab monitoring / monitoring_setup）。"}],
                      ran=bool(results))
    targets = data.get("activeTargets") or []
    down = [t for t in targets if t.get("health") != "up"]
    actions = [{"title": "监控采集目标异常", "level": "crit",
                "host": f"{(t.get('labels') or {}).get('instance', '?')}（{(t.get('labels') or {}).get('job', '')}）",
                "suggestion": f"目标状态 {t.get('health')}：{t.get('lastError') or '无错误信息'}；恢复采集后重新检查。"}
               for t in down]
    if not targets:
        actions.append({"title": "监控系统没有采集目标", "host": results[-1].host, "level": "crit",
                        "suggestion": "部署 exporter 并配置 Prometheus 采集（monitoring_setup）。"})
    return Result(bool(targets) and not down, f"采集目标 {len(targets)} 个，正常 {len(targets) - len(down)} 个。", actions)


SCAN_MAX_AGE_DAYS = 100  # the scan is quarterly (schedule.yml vuln-scan): older than a quarter and a bit is overdue


def vulnerability_findings(ctx: dict[str, Any]) -> Result:
    """The vulnerability scan's open findings (docs/security.md), as the findings lifecycle holds them when
    the preflight is judged: an open critical or high finding not accepted as a risk is no-go; accepted risks
    and medium/low findings are actions. A host of the preflight that no scan with a feed evaluated within
    a quarter (100 days) before it is no-go too. The
    preflight does not scan itself (a scan needs the imported feed and takes minutes): it reads the last
    quarterly scan's lifecycle, without taking pending runs into it (judging writes nothing)."""
    from yunwei.vuln.findings import open_findings

    store, run = ctx["store"], ctx["run"]
    when = (run.ended_at or run.started_at).timestamp()
    # a scan counts for the hosts it evaluated with a feed: a refused run, one without a feed or one
    # narrowed to a single host does not make the others "scanned this quarter"
    covered: set[str] = set()
    last = None
    for time_, hosts, feed in store.query("SELECT time, hosts, feed FROM vuln_scans WHERE time <= ? AND time >= ?",
                                          (when, when - SCAN_MAX_AGE_DAYS * 86400)):
        try:
            scanned, used = json.loads(hosts or "[]"), json.loads(feed or "{}")
        except ValueError:
            continue
        if scanned and used:
            covered.update(scanned)
            last = max(last or time_, time_)
    in_scope = set(getattr(run, "hosts", None) or ()) or {c.host for c in ctx["checks"]}
    missing = sorted(in_scope - covered) if covered else sorted(in_scope)
    if last is None or missing:
        what = ("近 100 天内没有完成的漏洞扫描" if last is None else
                f"近 100 天内的漏洞扫描未覆盖 {'、'.join(missing)}")
        return Result(False, f"{what}，无法确认漏洞状态。",
                      [{"title": "漏洞扫描未按季度执行", "host": "、".join(missing), "level": "crit",
                        "suggestion": "导入最新漏洞库（yunwei vuln import）后对全部主机执行漏洞扫描，再重新进行节前检查。"}],
                      ran=False)
    found = open_findings(store, sync_first=False)
    blocking = [f for f in found if f["state"] == "new" and f["severity"] in ("critical", "high")]
    actions = [{"title": f"{f['severity_label']}：{f['title'] or f['cve'] or f['fkey']}",
                "host": f["host"], "level": "crit" if f in blocking else "warn",
                "suggestion": (f"已接受风险（{f['accepted_by']}，至 {f['accepted_until']}），到期前完成修复或重新评估。"
                               if f["state"] == "accepted" else
                               "安装安全更新（security-updates 变更作业，双人复核）或按漏洞扫描报告的处理建议加固。")}
               for f in found]
    return Result(not blocking, f"未关闭的漏洞与暴露端口 {len(found)} 项，其中未处理的高危及以上 {len(blocking)} 项。",
                  actions)


ITEMS: list[Item] = [
    Item("inspection", "系统巡检（重保阈值）", by_areas(("host", "web", "db"), "巡检")),
    Item("baseline", "安全基线核查", by_areas(("baseline",), "安全基线核查")),
    Item("backup", "备份状态与完整性校验", by_areas(("backup",), "备份状态与完整性校验")),
    Item("restore", "备份恢复测试", by_areas(("drill",), "备份恢复测试")),
    Item("monitoring", "监控采集目标", monitoring_targets),
    Item("vulnerability", "漏洞扫描未关闭项", vulnerability_findings),
]


def judge_run(store: Any, run: Any, items: list[Item] | None = None) -> list[tuple[Item, Result]]:
    ctx = {"run": run, "store": store, "checks": store.checks(run_id=run.id), "tasks": store.task_results(run.id)}
    return [(item, item.judge(ctx)) for item in (items or ITEMS)]

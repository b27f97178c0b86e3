"""Judge a host's scan into checks (SEC-VULN-001, SEC-FEED-001, SEC-PORT-001), on the controller, with the
titles and 处理建议 of the check catalogue."""

from __future__ import annotations

from typing import Any

from yunwei.catalogue import catalogue

SEVERITY_LABELS = {"critical": "严重", "high": "高危", "medium": "中危", "low": "低危", "unknown": "未定级"}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "unknown": 2}
TICKET_SEVERITIES = ("critical", "high")


def _check(cid: str, status: str, *, instance: str = "", value: Any = None, evidence: str = "",
           suggestion: bool = True) -> dict[str, Any]:
    entry = catalogue().checks[cid]
    text = entry.suggestion.replace("{instance}", instance) if suggestion and status != "ok" else ""
    return {"id": cid, "category": entry.area, "title": entry.title, "instance": instance, "status": status,
            "value": value, "unit": "", "threshold": "", "evidence": evidence[:1500], "suggestion": text}


def with_fix_available(findings: list[dict[str, Any]], updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark each finding whose package has a pending update in the host's configured repositories."""
    by_name = {u.get("name"): u for u in updates or []}
    out = []
    for f in findings:
        u = by_name.get(f["package"])
        out.append({**f, "fix_available": bool(u), "candidate": (u or {}).get("candidate", ""),
                    "security_update": bool(u and u.get("security"))})
    return out


def feed_check(feed: dict[str, Any] | None, problem: str = "", max_age_days: int = 30) -> dict[str, Any]:
    if feed is None or problem:
        return _check("SEC-FEED-001", "crit", value=None, evidence=problem or "未导入该发行版的漏洞库")
    age = float(feed.get("age_days") or 0)
    evidence = (f"漏洞库 {feed.get('source')}（{feed.get('digest', '')[:19]}…），生成于 {feed.get('generated')}，"
                f"距今 {age:.0f} 天，定义 {feed.get('definitions')} 条")
    return _check("SEC-FEED-001", "warn" if age > max_age_days else "ok", value=round(age, 1), evidence=evidence)


def vuln_checks(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checks = []
    for f in sorted(findings, key=lambda f: (SEVERITY_RANK.get(f["severity"], 2), f["cve"], f["package"])):
        status = "crit" if f["severity"] in TICKET_SEVERITIES else "warn"
        fix = (f"软件源已有更新 {f['candidate']}" + ("（安全源）" if f.get("security_update") else "")
               if f.get("fix_available") else "配置的软件源中尚无更新")
        evidence = (f"{f['cve']}（{SEVERITY_LABELS.get(f['severity'], f['severity'])}）：{f['package']} 已安装 "
                    f"{f['installed']}，修复版本 {f['fixed'] or '未知'}；{fix}")
        checks.append(_check("SEC-VULN-001", status, instance=f"{f['cve']} {f['package']}", value=f["severity"],
                             evidence=evidence))
    if not findings:
        checks.append(_check("SEC-VULN-001", "ok", evidence="未发现已知漏洞"))
    return checks


def port_checks(open_ports: list[int], allowed: set[int], sockets: list[dict[str, Any]],
                problem: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Checks and the unexpected ports [{port, process}] (the process read on the host)."""
    if problem:
        return [_check("SEC-PORT-001", "warn", evidence=problem)], []
    owners: dict[int, str] = {}
    for s in sockets or []:
        if s.get("proto") == "tcp" and s.get("process"):
            owners.setdefault(int(s["port"]), s["process"])
    unexpected = [{"port": p, "process": owners.get(p, "")} for p in open_ports if p not in allowed]
    checks = [_check("SEC-PORT-001", "crit", instance=str(u["port"]), value=u["port"],
                     evidence=f"TCP {u['port']} 开放，占用进程：{u['process'] or '未知（未能在主机上读取）'}；"
                              f"允许的端口：{', '.join(map(str, sorted(allowed))) or '无'}")
              for u in unexpected]
    if not unexpected:
        checks.append(_check("SEC-PORT-001", "ok", evidence=f"开放端口 {', '.join(map(str, open_ports)) or '无'} 均在允许清单内"))
    return checks, unexpected

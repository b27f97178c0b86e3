"""The alert timeline for the records the client signs (health daily 异常事件记录, monthly report):
every alert of the period with its start, end, duration, ticket and handling; counts by rule and by
host; mean time to acknowledge (the ticket's response, 工单响应 − 告警开始) and to resolve (告警恢复 −
告警开始). Pure reads of the store."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from yunwei.monitoring import record
from yunwei.monitoring.channels import SEVERITY_TEXT, duration_text

METHOD = ("告警来自实时监控（Prometheus 每秒采集与评估，Alertmanager 推送至 yunwei 告警接收服务）；确认用时 = 对应工单的响应时间 − "
          "告警开始时间，恢复用时 = 告警恢复时间 − 告警开始时间；维护窗口内的告警只记录、不通知、不建工单。")


def _alerts_schema() -> int:
    """The schema version that created the alerts table (looked up: a merge may renumber it)."""
    from yunwei.store.schema import MIGRATIONS

    return next(v for v, stmts in MIGRATIONS if any("CREATE TABLE alerts (" in s for s in stmts))


def _handling(store: Any, ticket_id: str | None, suppressed: bool) -> tuple[str, float | None]:
    if suppressed:
        return "维护窗口内，已记录未通知", None
    if not ticket_id:
        return "—", None
    from yunwei.servicedesk.model import STATES
    from yunwei.servicedesk.store import get_ticket

    t = get_ticket(store, ticket_id)
    if t is None:
        return ticket_id, None
    text = STATES.get(t.state, t.state)
    if t.action or t.result:
        text += f"：{t.action or ''}{'，' if t.action and t.result else ''}{t.result or ''}"
    return text, t.responded_at


def alert_section(store: Any, since: datetime, until: datetime, now: datetime | None = None) -> dict[str, Any]:
    now_ts = (now or datetime.now(timezone.utc)).timestamp()
    rows = []
    # A store read (not migrated) from before monitoring has no alerts table: no alerts. Any other
    # failure must stop the report, never print "no alerts" in a signed record.
    if store.schema_version() >= _alerts_schema():
        rows = record.list_alerts(store, since=since.timestamp(), until=until.timestamp(), now=min(now_ts, until.timestamp()))
    items, acks, fixes = [], [], []
    by_rule: dict[tuple[str, str], dict[str, Any]] = {}
    by_host: dict[str, dict[str, Any]] = {}
    for r in rows:
        handling, responded = _handling(store, r["ticket"], r["suppressed"])
        if responded is not None:
            acks.append(max(0.0, responded - r["starts_at"]))
        if r["ends_at"] is not None:
            fixes.append(r["ends_at"] - r["starts_at"])
        items.append({
            "start": r["start"], "end": r["end"] or "未恢复", "duration": r["duration"] + ("" if r["end"] else "（持续中）"),
            "host": r["host"], "rule_id": r["rule_id"], "title": r["title"] or r["alertname"],
            "summary": r["summary"], "severity": SEVERITY_TEXT.get(r["severity"], r["severity"]),
            "ticket": r["ticket"] or "—", "handling": handling, "suppressed": r["suppressed"],
            "duration_s": r["duration_s"], "notified": r["notified_text"],
        })
        k = (r["rule_id"], r["title"] or r["alertname"])
        rule = by_rule.setdefault(k, {"rule_id": k[0], "title": k[1], "count": 0, "seconds": 0.0, "hosts": set()})
        rule["count"] += 1
        rule["seconds"] += r["duration_s"]
        rule["hosts"].add(r["host"])
        host = by_host.setdefault(r["host"], {"host": r["host"], "count": 0, "critical": 0, "seconds": 0.0})
        host["count"] += 1
        host["critical"] += int(r["severity"] == "critical")
        host["seconds"] += r["duration_s"]
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    mtta, mttr = mean(acks), mean(fixes)
    return {
        "items": items,
        "by_rule": [{**v, "hosts": "、".join(sorted(v["hosts"])), "duration": duration_text(v["seconds"])}
                    for v in sorted(by_rule.values(), key=lambda v: (-v["count"], v["rule_id"]))],
        "by_host": [{**v, "duration": duration_text(v["seconds"])}
                    for v in sorted(by_host.values(), key=lambda v: (-v["count"], v["host"]))],
        "count": len(items), "open": sum(1 for i in items if i["end"] == "未恢复"),
        "suppressed": sum(1 for i in items if i["suppressed"]),
        "mtta_s": mtta, "mttr_s": mttr, "acknowledged": len(acks), "resolved": len(fixes),
        "mtta": duration_text(mtta) if mtta is not None else "—", "mttr": duration_text(mttr) if mttr is not None else "—",
        "method": METHOD,
    }


def alert_blocks(data: dict[str, Any], *, unit_name: str, with_list: bool = True) -> list[dict[str, Any]]:
    """Document blocks: the summary, the timeline (every alert), counts by rule and by host."""
    from yunwei.reports.document import _p, _table

    if not data["count"]:
        return [_p(f"{unit_name}实时监控未产生告警。")]
    blocks = [_p(f"{unit_name}实时监控告警 {data['count']} 次（其中维护窗口内 {data['suppressed']} 次），至期末仍未恢复 "
                 f"{data['open']} 次；平均确认用时 {data['mtta']}（{data['acknowledged']} 次已确认），平均恢复用时 "
                 f"{data['mttr']}（{data['resolved']} 次已恢复）。",
                 "warn" if data["open"] else None)]
    cols = ["开始时间", "结束时间", "持续时长", "主机", "告警", "级别", "工单", "处理情况"]
    rows = [[i["start"], i["end"], i["duration"], i["host"], f"{i['title']}（{i['rule_id']}）", i["severity"], i["ticket"],
             i["handling"]] for i in data["items"]]
    if with_list:
        blocks.append(_table("实时告警记录", "实时告警", cols, rows) | {"fractions": [1.3, 1.3, 0.9, 0.8, 1.8, 0.5, 1.1, 1.5]})
    else:
        blocks.append(_table("实时告警记录", "实时告警", cols + ["摘要"], [r + [i["summary"]] for r, i in zip(rows, data["items"])],
                             only="xlsx"))
    blocks.append(_table("告警统计（按规则）", "告警按规则", ["规则", "告警", "次数", "累计时长", "涉及主机"],
                         [[r["rule_id"], r["title"], r["count"], r["duration"], r["hosts"]] for r in data["by_rule"]],
                         formats=[None, None, "int", None, None]))
    blocks.append(_table("告警统计（按主机）", "告警按主机", ["主机", "次数", "其中严重", "累计时长"],
                         [[r["host"], r["count"], r["critical"], r["duration"]] for r in data["by_host"]],
                         formats=[None, "int", "int", None]))
    blocks.append(_p("统计口径：" + data["method"]))
    return blocks

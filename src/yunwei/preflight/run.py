"""The last preflight run, its judged items, and the tickets of its open actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from yunwei.preflight.items import ITEMS, Item, Result, judge_run

JOB = "preflight"
LEVEL = {"crit": "不通过", "fail": "不通过", "warn": "警告"}


def last_run(store: Any, until: datetime | None = None) -> Any | None:
    """The newest preflight run (started before ``until``) that recorded anything."""
    for run in store.list_runs(job=JOB, until=until):
        if store.checks(run_id=run.id) or store.task_results(run.id):
            return run
    return None


def judged(store: Any, until: datetime | None = None) -> tuple[Any, list[tuple[Item, Result]]]:
    run = last_run(store, until)
    return run, ([] if run is None else judge_run(store, run, ITEMS))


def ticket_title(item: Item, action: dict[str, str]) -> str:
    where = f"（{action['host']}）" if action.get("host") else ""
    return f"节前检查待办：{item.title}：{action['title']}{where}"


def open_tickets(store: Any, run: Any, results: list[tuple[Item, Result]], *, operator: str | None = None,
                 reporter: str = "节前系统健康检查") -> list[tuple[str, str, bool]]:
    """One ticket (grade fault, channel online) per open action; an action whose ticket is still open
    is not opened twice. Returns (ticket id, title, newly opened)."""
    from yunwei.servicedesk.tickets import list_tickets, open_ticket

    existing = {t.title: t.id for t in list_tickets(store, open_only=True)}
    out = []
    for item, result in results:
        for action in result.actions:
            title = ticket_title(item, action)[:500]
            if title in existing:
                out.append((existing[title], title, False))
                continue
            t = open_ticket(store, grade="fault", channel="online", reporter=reporter, title=title,
                            host="" if "、" in action.get("host", "") else action.get("host", "").split("（")[0],
                            description=f"{LEVEL.get(action.get('level', ''), action.get('level', ''))}。处理建议："
                                        f"{action.get('suggestion', '')}（节前检查 run {run.id}）",
                            operator=operator)
            existing[title] = t.id
            out.append((t.id, title, True))
    return out

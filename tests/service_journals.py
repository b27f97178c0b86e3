"""Synthetic service-desk history for tests and the benchmark (development tooling, not the product).

:func:`make_tickets` writes a year (or any span) of tickets with a realistic grade and channel mix,
answered, handled and closed at plausible delays (a few percent late), some escalated, reopened or
corrected, plus monthly satisfaction follow-ups and weekly feedback items. Rows go straight into the
store as the product writes them — the fold of each ticket's events, in batches — without the audit
log (which the product writes per event), so a year takes seconds.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from yunwei.servicedesk import store as sd
from yunwei.servicedesk.config import ServiceDeskConfig
from yunwei.servicedesk.feedback import fold_feedback
from yunwei.servicedesk.fold import fold
from yunwei.servicedesk.model import FEEDBACK, FOLLOWUP, TICKET, Event

TZ = ZoneInfo("Asia/Shanghai")
# share of reports per grade and channel on a government platform's desk
GRADE_MIX = {"consult": 0.55, "fault": 0.30, "emergency": 0.03, "major": 0.01, "sec-normal": 0.10, "sec-major": 0.01}
CHANNEL_MIX = {"hotline": 0.35, "online": 0.20, "wechat": 0.25, "email": 0.05, "alert": 0.15}
HOSTS = ["web01", "web02", "db01", "db02", "backup01"]
TITLES = {
    "consult": ["如何申请平台账号", "单位信息变更流程咨询", "数据上报接口文档在哪里", "证书到期如何续期"],
    "fault": ["网站首页打开缓慢", "登录后页面空白", "文件上传失败", "数据查询超时"],
    "emergency": ["网站无法访问", "数据库连接数耗尽", "统一身份认证不可用"],
    "major": ["机房网络中断", "存储阵列故障"],
    "sec-normal": ["发现异常登录尝试", "WAF 拦截大量扫描请求", "弱口令账号告警"],
    "sec-major": ["疑似网页篡改", "勒索软件告警"],
}
PEOPLE = [f"{s}{g}" for s in "王李张刘陈杨赵黄周吴" for g in ("伟", "芳", "敏", "静", "磊")]
OPERATORS = ["zhangwei", "lina", "wangqiang", "ops"]


def _pick(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _opened(rng: random.Random, day: date) -> float:
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 1, 2, 4, 9, 12, 12, 10, 6, 8, 11, 11, 10, 8, 5, 3, 2, 2, 1, 1])[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=TZ)
    return local.astimezone(timezone.utc).timestamp()


def ticket_events(rng: random.Random, config: ServiceDeskConfig, opened: float, *, now: float,
                  late: float = 0.06) -> list[Event]:
    """The events of one ticket registered at ``opened`` (everything after ``now`` is left out)."""
    grade, channel = _pick(rng, GRADE_MIX), _pick(rng, CHANNEL_MIX)
    if grade in ("major", "sec-major") and channel == "email":
        channel = "hotline"
    op = rng.choice(OPERATORS)
    clocks = config.clocks_for(grade, channel)
    host = rng.choice(HOSTS) if grade != "consult" else ""
    data: dict[str, Any] = {"grade": grade, "channel": channel, "reporter": "监控系统" if channel == "alert"
                            else rng.choice(PEOPLE), "contact": "" if channel == "alert" else f"138{rng.randrange(10**8):08d}",
                            "host": host, "title": rng.choice(TITLES[grade]), "description": "", "clocks": clocks}
    if channel == "alert":
        data["alert"] = {"fingerprint": f"{rng.getrandbits(64):016x}", "name": "SyntheticAlert", "status": "firing",
                         "starts_at": opened - 20}
        data["opened_at"] = opened - 20
    evs = [Event(1, opened, op, "open", data)]
    t = opened

    def add(delay: float, kind: str, d: dict[str, Any] | None = None, who: str | None = None) -> bool:
        nonlocal t
        t += max(1.0, delay)
        if t > now:
            return False
        evs.append(Event(len(evs) + 1, t, who or op, kind, d or {}))
        return True

    def within(limit: float | None, default: float) -> float:
        """A delay inside ``limit`` most of the time, beyond it with probability ``late``."""
        if limit is None:
            return rng.uniform(0.2, 1.0) * default
        if rng.random() < late:
            return limit * rng.uniform(1.05, 2.5)
        return limit * rng.betavariate(2, 3)

    if not add(within(clocks.get("response"), 300), "ack"):
        return evs
    if rng.random() < 0.02 and grade in ("consult", "fault"):
        new = "fault" if grade == "consult" else "emergency"
        if not add(rng.uniform(30, 300), "escalate", {"grade": new, "reason": "用户反映影响范围扩大",
                                                      "clocks": config.clocks_for(new, channel)}):
            return evs
        clocks = config.clocks_for(new, channel)
    if "onsite" in clocks and not add(within(clocks["onsite"] - (t - opened), 3600), "onsite"):
        return evs
    handling = clocks.get("handling")
    left = None if handling is None else max(60.0, handling - (t - opened))
    if channel == "alert" and not add(rng.uniform(60, 1200), "alert", {"status": "resolved", "starts_at": opened - 20,
                                                                      "ends_at": t + 60}):
        return evs
    if not add(within(left, rng.uniform(600, 4 * 3600)), "resolve",
               {"cause": "应用进程异常", "action": "重启服务并核对日志", "result": "恢复正常"}):
        return evs
    late_now = fold("x", evs).breaches
    if late_now and rng.random() < 0.7 and not add(rng.uniform(60, 600), "note",
                                                   {"text": "夜间值守人员在途，到场延误", "breach_reason": True}):
        return evs
    if rng.random() < 0.01:
        if not add(rng.uniform(3600, 86400), "reopen", {"reason": "问题复现", "clocks": clocks}):
            return evs
        if not add(within(handling, 1800), "resolve", {"cause": "配置回滚不完整", "action": "重新发布配置",
                                                       "result": "恢复正常"}):
            return evs
    add(rng.uniform(600, 2 * 86400), "close", {"confirmation": "电话回访确认已恢复"})
    return evs


def make_tickets(store: Any, *, first: date = date(2026, 1, 1), days: int = 365, per_day: float = 55.0,
                 seed: int = 17, now: datetime | None = None, config: ServiceDeskConfig | None = None,
                 batch: int = 2000) -> dict[str, int]:
    """Write ``days`` days of tickets from ``first`` (about ``per_day`` a day), follow-ups and feedback."""
    rng = random.Random(seed)
    config = config or ServiceDeskConfig()
    now_ts = (now or datetime.now(timezone.utc)).timestamp()
    tickets: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    n = 0
    counts: dict[str, int] = {}
    for i in range(days):
        day = first + timedelta(days=i)
        k = max(0, round(rng.gauss(per_day, per_day ** 0.5)))
        for j, opened in enumerate(sorted(_opened(rng, day) for _ in range(k))):
            if opened > now_ts:
                break
            tid = f"{day:%Y%m%d}-{j + 1:03d}"
            evs = ticket_events(rng, config, opened, now=now_ts)
            t = fold(tid, evs)
            counts[t.grade] = counts.get(t.grade, 0) + 1
            tickets.append(sd.ticket_row(t))
            events += [(TICKET, tid, e.seq, e.time, e.operator, e.kind, sd.dumps(e.data)) for e in evs]
            n += 1
            if len(tickets) >= batch:
                _flush(store, tickets, events)
    _flush(store, tickets, events)
    _followups_and_feedback(store, rng, first, days, now_ts)
    return {"tickets": n, **counts}


def _flush(store: Any, tickets: list[tuple[Any, ...]], events: list[tuple[Any, ...]]) -> None:
    if not tickets:
        return
    with store.transaction() as cur:
        cur.executemany(store.sql(f"INSERT INTO tickets ({', '.join(sd.TICKET_COLS)}) VALUES "
                                  f"({', '.join('?' for _ in sd.TICKET_COLS)})"), tickets)
        cur.executemany(store.sql("INSERT INTO service_events (subject, ref, seq, time, operator, kind, data) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?)"), events)
    tickets.clear()
    events.clear()


def _followups_and_feedback(store: Any, rng: random.Random, first: date, days: int, now: float) -> None:
    last = first + timedelta(days=days - 1)
    month = date(first.year, first.month, 1)
    with store.transaction() as cur:
        while month <= last:
            label = f"{month:%Y-%m}"
            end = datetime.combine(month + timedelta(days=27), time(16), tzinfo=TZ).timestamp()
            for seq, who in enumerate(rng.sample(PEOPLE, 20), 1):
                if end > now:
                    break
                score = rng.choices([5, 4, 3, 2, 1], weights=[55, 30, 10, 4, 1])[0]
                remarks = "响应及时" if score >= 4 else "处理时间偏长，希望提前告知进度"
                data = {"month": label, "requester": who, "score": score, "remarks": remarks, "ticket": ""}
                cur.execute(store.sql("INSERT INTO service_events (subject, ref, seq, time, operator, kind, data) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?)"), (FOLLOWUP, label, seq, end, "lina", "followup",
                                                                       sd.dumps(data)))
                cur.execute(store.sql("SELECT MAX(id) FROM service_events"))
                eid = int(cur.fetchone()[0])
                cur.execute(store.sql("INSERT INTO followups (event_id, time, operator, month, requester, ticket_id, "
                                      "score, remarks) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                            (eid, end, "lina", label, who, "", score, remarks))
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        week = first - timedelta(days=first.weekday())
        k = 0
        while week <= last:
            for _ in range(rng.randrange(1, 4)):
                created = datetime.combine(week + timedelta(days=rng.randrange(5)), time(10), tzinfo=TZ).timestamp()
                if created > now:
                    continue
                k += 1
                fid = f"FB{datetime.fromtimestamp(created, TZ):%Y%m%d}-{k:02d}"
                evs = [Event(1, created, "lina", "open", {"title": rng.choice(["希望增加批量导出功能", "首页增加办事指南入口",
                                                                              "统计报表按部门筛选"]),
                                                       "requester": rng.choice(PEOPLE), "description": "", "ticket": ""})]
                t = created
                for state, data in (("accepted", {}), ("scheduled", {"plan": "下一版本"}), ("done", {})):
                    t += rng.uniform(86400, 10 * 86400)
                    if t > now or rng.random() < 0.25:
                        break
                    evs.append(Event(len(evs) + 1, t, "zhangwei", "state", {"state": state, "note": "", **data}))
                f = fold_feedback(fid, evs)
                cur.execute(store.sql(f"INSERT INTO feedback ({', '.join(sd.FEEDBACK_COLS)}) VALUES "
                                      f"({', '.join('?' for _ in sd.FEEDBACK_COLS)})"), sd.feedback_row(f))
                cur.executemany(store.sql("INSERT INTO service_events (subject, ref, seq, time, operator, kind, data) "
                                          "VALUES (?, ?, ?, ?, ?, ?, ?)"),
                                [(FEEDBACK, fid, e.seq, e.time, e.operator, e.kind, sd.dumps(e.data)) for e in evs])
            week += timedelta(days=7)

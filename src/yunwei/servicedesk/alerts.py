"""Alerts become tickets: the entry point the monitoring issue's ``yunwei alerts serve`` calls with each
Alertmanager webhook payload (version 4), and ``yunwei ticket alert --file`` for a payload by hand.

- One live ticket per alert fingerprint: a firing alert whose fingerprint has a ticket that is not
  closed goes to that ticket (a repeated delivery changes nothing; a new firing episode is noted);
  otherwise a ticket is opened — channel ``alert``, its clocks starting at the alert's ``startsAt``
  (never later than now). The store's unique index on live fingerprints makes two concurrent
  deliveries of one alert open one ticket.
- A resolved alert annotates its ticket (the ticket stays open until someone resolves it with cause,
  action and result). A resolved alert that was never seen firing (the receiver was down) is still
  registered: a ticket opened at its start and annotated resolved, in one transaction.
- The grade: label ``yunwei_grade`` if it is a grade, else ``severity`` through ``alerts.severity`` of
  service-desk.yml, else ``alerts.default_grade``. The host: label ``host``, else ``instance``.

The whole payload is validated before anything is written: a malformed alert exits 2 naming its field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yunwei.errors import InputError
from yunwei.servicedesk import store as sd
from yunwei.servicedesk import tickets as tk
from yunwei.servicedesk.config import ServiceDeskConfig, load_config
from yunwei.servicedesk.fold import fold
from yunwei.servicedesk.model import GRADES, TICKET, Event, Ticket

REPORTER = "监控系统"
SOURCE = "alert payload"


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str  # firing | resolved
    name: str
    starts_at: float
    ends_at: float | None
    grade: str
    host: str
    title: str
    description: str


def _time(value: Any, key: str, *, optional: bool = False) -> float | None:
    if optional and (value in (None, "") or str(value).startswith("0001-01-01")):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(SOURCE, key, f"expected an RFC 3339 time, got {value!r}") from None
    if moment.tzinfo is None:
        raise InputError(SOURCE, key, f"{value!r} has no time zone")
    return moment.timestamp()


def _str_map(value: Any, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InputError(SOURCE, key, "must be a mapping of text to text")
    return value


def parse_payload(payload: Any, config: ServiceDeskConfig) -> list[Alert]:
    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise InputError(SOURCE, None, f"not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise InputError(SOURCE, "alerts", "expected an Alertmanager webhook payload with a list of alerts")
    out = []
    for i, a in enumerate(payload["alerts"]):
        key = f"alerts[{i}]"
        if not isinstance(a, dict):
            raise InputError(SOURCE, key, "must be a mapping")
        fp = a.get("fingerprint")
        if not isinstance(fp, str) or not fp.strip() or len(fp) > 200:
            raise InputError(SOURCE, f"{key}.fingerprint", "missing (every alert has one)")
        status = a.get("status")
        if status not in ("firing", "resolved"):
            raise InputError(SOURCE, f"{key}.status", f"expected firing or resolved, got {status!r}")
        labels = _str_map(a.get("labels"), f"{key}.labels")
        notes = _str_map(a.get("annotations"), f"{key}.annotations")
        starts = _time(a.get("startsAt"), f"{key}.startsAt")
        ends = _time(a.get("endsAt"), f"{key}.endsAt", optional=True)
        grade = labels.get("yunwei_grade")
        if grade not in GRADES:
            grade = config.severity_grades.get(labels.get("severity", ""), config.default_alert_grade)
        name = labels.get("alertname") or "告警"
        host = labels.get("host") or labels.get("instance", "")
        title = notes.get("summary") or name
        description = "\n".join(x for x in (notes.get("description", ""),
                                            f"处理建议：{notes['suggestion']}" if notes.get("suggestion") else "")
                                if x)
        out.append(Alert(fp.strip(), status, name[:200], float(starts), ends, grade, host[:200], title[:500],  # type: ignore[arg-type]
                         description[:tk.TEXT_LIMIT]))
    return out


def _live(cur: Any, store: Any, fingerprint: str) -> str | None:
    cur.execute(store.sql("SELECT id FROM tickets WHERE alert_fingerprint = ? AND state <> 'closed'"), (fingerprint,))
    row = cur.fetchone()
    return row[0] if row else None


def _closed_for(cur: Any, store: Any, a: Alert) -> str | None:
    """The closed ticket of this firing episode (same fingerprint and start), if any."""
    cur.execute(store.sql("SELECT id, detail FROM tickets WHERE alert_fingerprint = ? AND state = 'closed' "
                          "ORDER BY registered_at DESC LIMIT 20"), (a.fingerprint,))
    for tid, detail in cur.fetchall():
        if (json.loads(detail or "{}").get("alert") or {}).get("starts_at") == a.starts_at:
            return tid
    return None


def _annotation(t: Ticket, a: Alert) -> dict[str, Any] | None:
    """The alert event to append to ``t`` for ``a`` (None: nothing new)."""
    known = t.alert
    if a.status == "firing":
        if known.get("status") == "firing" and known.get("starts_at") == a.starts_at:
            return None
        return {"status": "firing", "starts_at": a.starts_at, "ends_at": None}
    if known.get("status") == "resolved" and known.get("ends_at") == a.ends_at:
        return None
    return {"status": "resolved", "starts_at": a.starts_at, "ends_at": a.ends_at}


def ingest(store: Any, payload: Any, *, config: ServiceDeskConfig | None = None,
           operator: str | None = None) -> list[dict[str, Any]]:
    """Register the alerts of one webhook payload; returns, per alert, the ticket and what was done
    (``opened``, ``annotated``, ``unchanged``)."""
    config = config or load_config()
    alerts = parse_payload(payload, config)
    who = tk._who(operator)
    return [_one(store, a, config, who) for a in alerts]


def _one(store: Any, a: Alert, config: ServiceDeskConfig, who: str) -> dict[str, Any]:
    def step(cur: Any, now: float) -> sd.Written:
        tid = _live(cur, store, a.fingerprint) or (_closed_for(cur, store, a) if a.status == "resolved" else None)
        if tid is not None:
            evs = sd.events(store, TICKET, tid, cur)
            current = fold(tid, evs)
            data = _annotation(current, a)
            if data is None:
                return sd.Written(TICKET, tid, current, [])
            e = Event(current.version + 1, max(now, evs[-1].time), who, "alert", data)
            new = fold(tid, [*evs, e])
            sd.save_ticket(cur, store, new, current.version)
            e.id = sd.insert_event(cur, store, TICKET, tid, e)
            return sd.Written(TICKET, tid, new, [e])
        tid = sd.next_id(cur, store, "tickets", "", now, 3)
        opened = {"grade": a.grade, "channel": "alert", "reporter": REPORTER, "contact": "", "host": a.host,
                  "title": a.title, "description": a.description, "clocks": config.clocks_for(a.grade, "alert"),
                  "opened_at": min(a.starts_at, now),
                  "alert": {"fingerprint": a.fingerprint, "name": a.name, "status": "firing", "starts_at": a.starts_at}}
        evs = [Event(1, now, who, "open", opened)]
        if a.status == "resolved":
            evs.append(Event(2, now, who, "alert", {"status": "resolved", "starts_at": a.starts_at,
                                                    "ends_at": a.ends_at}))
        t = fold(tid, evs)
        sd.save_ticket(cur, store, t, 0)
        for e in evs:
            e.id = sd.insert_event(cur, store, TICKET, tid, e)
        return sd.Written(TICKET, tid, t, evs)

    written = sd.write(store, step)
    kinds = [e.kind for e in written.events]
    action = "opened" if "open" in kinds else "annotated" if kinds else "unchanged"
    return {"fingerprint": a.fingerprint, "status": a.status, "ticket": written.ref, "action": action,
            "grade": written.state.grade}

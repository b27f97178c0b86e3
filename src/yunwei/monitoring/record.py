"""The alert record in the journal store: every alert Alertmanager delivers, its ticket, its
notifications per channel, and the maintenance windows (silences).

- An alert episode is its fingerprint and start (``startsAt``): a repeated delivery (Alertmanager's
  retries and repeats, or the same payload after a receiver restart) updates ``last_received`` and
  adds a delivery row, and creates no second notification — ``alert_notifications`` is unique per
  episode × channel × firing/resolved.
- A firing alert inside a maintenance window (a silence matching its host and rule at its start) is
  recorded with the silence and its notifications as ``suppressed``; it opens no ticket (the change
  that caused it is reviewed and ticketed already). Its resolution is recorded the same way.
- Executing an approved change opens a window itself (:func:`change_window`): the hosts of its
  reviewed preview, from the run's start until ``CHANGE_GRACE_S`` after its end, with the change's
  request id — so what the change does to its hosts is recorded as suppressed by that change.
- Tickets: every other alert goes through the service desk (:func:`yunwei.servicedesk.alerts.ingest`):
  one ticket per fingerprint while it fires, clocks from its start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from yunwei.errors import InputError
from yunwei.monitoring.config import AlertingConfig

ALERT_COLS = ("id", "fingerprint", "starts_at", "ends_at", "status", "rule_id", "alertname", "host", "instance",
              "severity", "title", "summary", "suggestion", "labels", "first_received", "last_received",
              "resolved_received", "ticket_id", "silence_id")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _alert_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(ALERT_COLS, row))
    d["labels"] = json.loads(d["labels"] or "{}")
    return d


def get_alert(store: Any, alert_id: int) -> dict[str, Any] | None:
    rows = store.query(f"SELECT {', '.join(ALERT_COLS)} FROM alerts WHERE id = ?", (alert_id,))
    return _alert_dict(rows[0]) if rows else None


# ----------------------------------------------------------------------------- silences
def _silence_match(cur: Any, store: Any, host: str, rule_id: str, at: float) -> int | None:
    cur.execute(store.sql("SELECT id, hosts, rules FROM alert_silences WHERE starts_at <= ? AND ends_at > ? "
                          "AND (ended_at IS NULL OR ended_at > ?) ORDER BY id"), (at, at, at))
    for sid, hosts, rules in cur.fetchall():
        hs, rs = json.loads(hosts or "[]"), json.loads(rules or "[]")
        if (not hs or host in hs) and (not rs or rule_id in rs):
            return int(sid)
    return None


def add_silence(store: Any, *, hosts: list[str], alerts: list[str], start: str | None, end: str | None,
                duration: str | None, reason: str, operator: str | None = None) -> dict[str, Any]:
    from yunwei.runner.env import operator as current_operator
    from yunwei.servicedesk.config import parse_duration
    from yunwei.servicedesk.tickets import parse_time

    if not reason or not reason.strip():
        raise InputError("--reason", None, "say why (e.g. the change request id)")
    now = time.time()
    begin = parse_time(start, "--start") if start else now
    if end and duration:
        raise InputError("--end", None, "give --end or --for, not both")
    if end:
        finish = parse_time(end, "--end")
    elif duration:
        finish = begin + parse_duration(duration, "--for", "--for")
    else:
        raise InputError("--for", None, "give --for (e.g. 30m) or --end")
    if finish <= begin:
        raise InputError("--end", None, "must be after the start")
    if finish - begin > 7 * 86400:
        raise InputError("--for", None, "a maintenance window is at most 7 days")
    from yunwei.catalogue import catalogue

    cat = catalogue()
    for rid in alerts:
        if rid not in cat.checks:
            raise InputError("--alert", rid, "not a rule id of the check catalogue (e.g. WEB-NGINX-001)")
    sid = _insert_silence(store, hosts=hosts, rules=alerts, begin=begin, finish=finish, reason=reason.strip(),
                          who=operator or current_operator())
    return next(s for s in list_silences(store, include_ended=True) if s["id"] == sid)


def _insert_silence(store: Any, *, hosts: Iterable[str], rules: Iterable[str], begin: float, finish: float,
                    reason: str, who: str, change_id: str = "") -> int:
    now = time.time()
    with store.transaction() as cur:
        cur.execute(store.sql("INSERT INTO alert_silences (created_at, operator, starts_at, ends_at, hosts, rules, reason, "
                              "change_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                    (now, who, begin, finish, _dumps(sorted(hosts)), _dumps(sorted(rules)), reason, change_id))
    sid = int(store.query("SELECT MAX(id) FROM alert_silences WHERE operator = ? AND created_at = ?", (who, now))[0][0])
    if not change_id:  # a change's window follows from its audited execution and result: no record of its own
        from yunwei import audit

        audit.record("alert_silence", operator=who, silence=sid, hosts=sorted(hosts), rules=sorted(rules),
                     reason=reason, start=begin, end=finish)
    return sid


CHANGE_GRACE_S = 30.0  # after a change's run: an alert its last step caused still starts inside the window


@contextmanager
def change_window(request_id: str, hosts: Iterable[str], *, who: str, limit_s: float,
                  store_url: str | None = None) -> Iterator[int | None]:
    """A maintenance window over the run of the approved change ``request_id`` on ``hosts``: opened
    before the run for at most ``limit_s`` (the job's timeout: a crashed run cannot leave it open for
    long), and closed ``CHANGE_GRACE_S`` after the run ends. Alerts of those hosts starting in it are
    recorded as suppressed by the change (``alerts list``: ``change``), not notified, and open no
    ticket. A store that cannot be written costs the window, never the change: its alerts are then
    notified as usual (the safe side)."""
    from yunwei import ui
    from yunwei.store import open_store

    hosts = sorted(set(hosts))
    sid = None
    if hosts:
        try:
            with open_store(store_url, reap=False) as store:
                begin = time.time()
                sid = _insert_silence(store, hosts=hosts, rules=(), begin=begin, finish=begin + limit_s + CHANGE_GRACE_S,
                                      reason=f"变更 {request_id} 执行期间", who=who, change_id=request_id)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            ui.progress(f"warning: no maintenance window for change {request_id} (its alerts will be notified): {exc}")
    try:
        yield sid
    finally:
        if sid is not None:
            try:
                end = time.time() + CHANGE_GRACE_S
                with open_store(store_url, reap=False) as store, store.transaction() as cur:
                    cur.execute(store.sql("UPDATE alert_silences SET ends_at = ? WHERE id = ? AND ends_at > ?"),
                                (end, sid, end))
            except Exception as exc:  # noqa: BLE001 - the window then ends at its ceiling
                ui.progress(f"warning: the maintenance window of change {request_id} stays until its ceiling: {exc}")


def end_silence(store: Any, sid: int) -> None:
    now = time.time()
    with store.transaction() as cur:
        cur.execute(store.sql("UPDATE alert_silences SET ended_at = ? WHERE id = ? AND ended_at IS NULL AND ends_at > ?"),
                    (now, sid, now))
        if cur.rowcount != 1:
            raise InputError("silence", str(sid), "no such maintenance window in force")
    from yunwei import audit
    from yunwei.runner.env import operator

    audit.record("alert_silence_end", operator=operator(), silence=sid)


def list_silences(store: Any, *, include_ended: bool = False, now: float | None = None) -> list[dict[str, Any]]:
    from yunwei.servicedesk.tickets import local

    now = time.time() if now is None else now
    rows = store.query("SELECT id, created_at, operator, starts_at, ends_at, hosts, rules, reason, ended_at, change_id "
                       "FROM alert_silences ORDER BY id")
    out = []
    for r in rows:
        end = min(r[4], r[8]) if r[8] is not None else r[4]
        if not include_ended and end <= now:
            continue
        out.append({"id": int(r[0]), "created": local(r[1]), "operator": r[2], "start": local(r[3]), "end": local(end),
                    "hosts": json.loads(r[5]), "alerts": json.loads(r[6]), "reason": r[7],
                    "active": r[3] <= now < end, "change": r[9] or None})
    return out


# ----------------------------------------------------------------------------- receiving
def _fields(a: dict[str, Any]) -> dict[str, Any]:
    labels = a.get("labels") or {}
    notes = a.get("annotations") or {}
    return {
        "rule_id": labels.get("id", ""), "alertname": labels.get("alertname", ""),
        "host": labels.get("host") or labels.get("instance", ""),
        "instance": labels.get("mountpoint") or labels.get("device") or labels.get("instance", ""),
        "severity": labels.get("severity", ""), "title": notes.get("title", ""),
        "summary": notes.get("summary", ""), "suggestion": notes.get("suggestion", ""), "labels": _dumps(labels),
    }


def receive(store: Any, payload: Any, config: AlertingConfig, *, now: float | None = None) -> list[int]:
    """Record one webhook payload; open or update tickets; create the notifications it calls for.
    Returns the ids of the notifications to send now. A malformed payload raises InputError (nothing
    recorded)."""
    from yunwei.servicedesk.alerts import ingest, parse_payload
    from yunwei.servicedesk.config import load_config as sd_config

    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except ValueError as exc:
            raise InputError("alert payload", None, f"not valid JSON: {exc}") from None
    sd = sd_config()
    parsed = parse_payload(payload, sd)  # validates every alert before anything is written
    now = time.time() if now is None else now
    raw = payload["alerts"]
    ids: list[int] = []
    to_ticket: list[int] = []
    with store.transaction() as cur:
        for a, p in zip(raw, parsed):
            f = _fields(a)
            cur.execute(store.sql("SELECT id, status, ends_at, silence_id FROM alerts WHERE fingerprint = ? AND starts_at = ?"),
                        (p.fingerprint, p.starts_at))
            row = cur.fetchone()
            if row is None:
                silence = _silence_match(cur, store, f["host"], f["rule_id"], p.starts_at)
                cur.execute(store.sql(
                    "INSERT INTO alerts (fingerprint, starts_at, ends_at, status, rule_id, alertname, host, instance, "
                    "severity, title, summary, suggestion, labels, first_received, last_received, resolved_received, "
                    "silence_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    (p.fingerprint, p.starts_at, p.ends_at if p.status == "resolved" else None, p.status, f["rule_id"],
                     f["alertname"], f["host"], f["instance"], f["severity"], f["title"], f["summary"], f["suggestion"],
                     f["labels"], now, now, now if p.status == "resolved" else None, silence))
                cur.execute(store.sql("SELECT id FROM alerts WHERE fingerprint = ? AND starts_at = ?"),
                            (p.fingerprint, p.starts_at))
                aid = int(cur.fetchone()[0])
            else:
                aid, silence = int(row[0]), row[3]
                if p.status == "resolved" and row[1] != "resolved":
                    cur.execute(store.sql("UPDATE alerts SET status = 'resolved', ends_at = ?, resolved_received = ?, "
                                          "last_received = ? WHERE id = ?"), (p.ends_at, now, now, aid))
                else:
                    cur.execute(store.sql("UPDATE alerts SET last_received = ? WHERE id = ?"), (now, aid))
            cur.execute(store.sql("INSERT INTO alert_deliveries (alert_id, received_at, status) VALUES (?, ?, ?)"),
                        (aid, now, p.status))
            ids.append(aid)
            if silence is None:
                to_ticket.append(len(ids) - 1)
            for ch in config.channels:
                state = "suppressed" if silence is not None else "pending"
                cur.execute(store.sql(
                    "INSERT INTO alert_notifications (alert_id, channel, kind, state, created_at, next_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id, channel, kind) DO NOTHING"),
                    (aid, ch.name, p.status, state, now, now))
    if to_ticket:
        results = ingest(store, {**payload, "alerts": [raw[i] for i in to_ticket]}, config=sd)
        with store.transaction() as cur:
            for i, res in zip(to_ticket, results):
                cur.execute(store.sql("UPDATE alerts SET ticket_id = ? WHERE id = ? AND ticket_id = ''"),
                            (res["ticket"], ids[i]))
    marks = ",".join("?" for _ in ids) or "NULL"
    rows = store.query(f"SELECT id FROM alert_notifications WHERE alert_id IN ({marks}) AND state = 'pending' "
                       "AND attempts = 0 ORDER BY id", ids)
    return [int(r[0]) for r in rows]


# ----------------------------------------------------------------------------- notifications
def due_notifications(store: Any, max_attempts: int, now: float | None = None) -> list[int]:
    """Pending or failed notifications whose next attempt is due (a restart resumes them)."""
    now = time.time() if now is None else now
    rows = store.query("SELECT id FROM alert_notifications WHERE state IN ('pending', 'failed') AND attempts < ? "
                       "AND next_at <= ? ORDER BY id", (max_attempts, now))
    return [int(r[0]) for r in rows]


def notification(store: Any, nid: int) -> tuple[dict[str, Any], str, str, int] | None:
    rows = store.query("SELECT alert_id, channel, kind, attempts, state FROM alert_notifications WHERE id = ?", (nid,))
    if not rows or rows[0][4] not in ("pending", "failed"):
        return None
    alert = get_alert(store, int(rows[0][0]))
    if alert is None:
        return None
    return alert, rows[0][1], rows[0][2], int(rows[0][3])


def mark(store: Any, nid: int, *, ok: bool, error: str = "", retry_after: float = 10.0,
         now: float | None = None) -> None:
    now = time.time() if now is None else now
    with store.transaction() as cur:
        if ok:
            cur.execute(store.sql("UPDATE alert_notifications SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                                  "last_error = '' WHERE id = ?"), (now, nid))
        else:
            cur.execute(store.sql("UPDATE alert_notifications SET state = 'failed', attempts = attempts + 1, "
                                  "last_error = ?, next_at = ? WHERE id = ?"), (error[:500], now + retry_after, nid))


# ----------------------------------------------------------------------------- listing
def list_alerts(store: Any, *, since: float | None = None, until: float | None = None, host: str | None = None,
                firing: bool = False, failed: bool = False, now: float | None = None) -> list[dict[str, Any]]:
    """Alerts that were firing at some moment of [since, until), oldest first, with their notifications."""
    from yunwei.monitoring.channels import duration_text
    from yunwei.servicedesk.tickets import local

    now = time.time() if now is None else now
    where, params = ["1 = 1"], []
    if until is not None:
        where.append("starts_at < ?")
        params.append(until)
    if since is not None:
        where.append("(ends_at IS NULL OR ends_at >= ?)")
        params.append(since)
    if host:
        where.append("host = ?")
        params.append(host)
    if firing:
        where.append("status = 'firing'")
    rows = store.query(f"SELECT {', '.join(ALERT_COLS)} FROM alerts WHERE {' AND '.join(where)} ORDER BY starts_at, id",
                       params)
    alerts = [_alert_dict(r) for r in rows]
    notes: dict[int, list[dict[str, Any]]] = {}
    if alerts:
        marks = ",".join("?" for _ in alerts)
        for r in store.query(f"SELECT alert_id, channel, kind, state, attempts, sent_at, last_error FROM alert_notifications "
                             f"WHERE alert_id IN ({marks}) ORDER BY id", [a["id"] for a in alerts]):
            notes.setdefault(int(r[0]), []).append({"channel": r[1], "kind": r[2], "state": r[3], "attempts": int(r[4]),
                                                    "sent_at": local(r[5]) if r[5] else None, "error": r[6]})
    changes: dict[int, str] = {}  # silence -> the approved change whose run it covered
    silenced = sorted({a["silence_id"] for a in alerts if a["silence_id"] is not None})
    if silenced:
        marks = ",".join("?" for _ in silenced)
        changes = {int(r[0]): r[1] for r in store.query(
            f"SELECT id, change_id FROM alert_silences WHERE id IN ({marks}) AND change_id <> ''", silenced)}
    out = []
    for a in alerts:
        ns = notes.get(a["id"], [])
        change = changes.get(a["silence_id"]) if a["silence_id"] is not None else None
        if failed and not any(n["state"] == "failed" for n in ns):
            continue
        end = a["ends_at"]
        span = (end if end is not None else now) - a["starts_at"]
        states = sorted({f"{n['channel']}:{n['state']}" + (f"({n['attempts']})" if n["state"] == "failed" else "")
                         for n in ns if n["kind"] == a["status"] or n["state"] != "sent"})
        out.append({
            "id": a["id"], "fingerprint": a["fingerprint"], "rule_id": a["rule_id"], "alertname": a["alertname"],
            "host": a["host"], "instance": a["instance"], "severity": a["severity"], "title": a["title"],
            "summary": a["summary"], "status": a["status"], "start": local(a["starts_at"]),
            "end": local(end) if end is not None else None, "starts_at": a["starts_at"], "ends_at": end,
            "duration_s": round(span, 1), "duration": duration_text(span), "ticket": a["ticket_id"] or None,
            "silence": a["silence_id"], "suppressed": a["silence_id"] is not None, "change": change,
            "received": local(a["first_received"]), "notifications": ns,
            "notified_text": (f"变更 {change} 维护窗口，未通知" if change else "维护窗口，未通知")
            if a["silence_id"] is not None else (", ".join(states) or "—"),
        })
    return out

"""The findings lifecycle, on the controller, from the vuln-scan runs in the journal.

A finding is a vulnerable package (kind ``vuln``, key ``CVE package``) or an unexpected open port (kind
``port``, key ``tcp/PORT``) on a host. Its state:

- ``new``: found by a scan (again: a finding that comes back after being fixed is new again);
- ``accepted``: accepted risk, while the reviewed accepted-risks file holds it (:mod:`yunwei.vuln.risks`:
  ``yunwei request risks``, approved by a second operator, who is its approver) until its expiry; after
  that, or when the file no longer lists it, it is open (``new``) again;
- ``fixed``: a scan of that host no longer found it;
- ``verified``: the next scan of that host still does not find it (verified fixed).

:func:`sync` takes every vuln-scan run not yet taken (``vuln_scans``) in time order - after ``yunwei run
vuln-scan``, and before anything reads the findings, so a scheduled run is taken too. New high and
critical findings open a service-desk ticket (grade ``sec-major`` for critical, ``sec-normal`` for high: the
security-incident clocks of service-desk.yml), channel ``scan``.

Only hosts a run scanned move: a run limited to web01 never marks db01's findings fixed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from yunwei.errors import InputError
from yunwei.vuln.judge import SEVERITY_LABELS, SEVERITY_RANK

JOB = "vuln-scan"
OPEN_STATES = ("new", "accepted")
STATE_LABELS = {"new": "未处理", "accepted": "接受风险", "fixed": "已修复", "verified": "已验证修复"}
TICKET_GRADES = {"critical": "sec-major", "high": "sec-normal"}
PORT_SEVERITY = "high"  # an unexpected open port: a high finding (a ticket, 2 h handling)
COLS = ("id", "host", "kind", "fkey", "cve", "package", "installed", "fixed_version", "port", "process", "severity",
        "title", "fix_available", "state", "first_seen", "last_seen", "first_run", "last_run", "fixed_at",
        "verified_at", "accepted_by", "accepted_until", "accepted_reason", "ticket_id")


@dataclass
class Finding:
    id: int
    host: str
    kind: str
    fkey: str
    cve: str
    package: str
    installed: str
    fixed_version: str
    port: int | None
    process: str
    severity: str
    title: str
    fix_available: bool
    state: str
    first_seen: float
    last_seen: float
    first_run: str
    last_run: str
    fixed_at: float | None
    verified_at: float | None
    accepted_by: str
    accepted_until: str
    accepted_reason: str
    ticket_id: str

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def as_dict(self) -> dict[str, Any]:
        d = {c: getattr(self, c) for c in COLS}
        d["severity_label"] = SEVERITY_LABELS.get(self.severity, self.severity)
        d["state_label"] = STATE_LABELS.get(self.state, self.state)
        return d


def _row(r: tuple[Any, ...]) -> Finding:
    d = dict(zip(COLS, r))
    d["fix_available"] = bool(d["fix_available"])
    return Finding(**d)


def _scan_results(store: Any, run_id: str) -> dict[str, dict[str, Any]]:
    """host -> the ``vuln`` result of its scan task in this run (hosts whose scan did not complete are left out).
    A result the journal stored truncated (too many findings for its size limit) is rebuilt from the checks."""
    out: dict[str, dict[str, Any]] = {}
    for tr in store.task_results(run_id):
        if not tr.action.endswith("vuln_scan") or tr.status not in ("ok", "changed"):
            continue
        v = (tr.result or {}).get("vuln")
        if isinstance(v, dict):
            out[tr.host] = v
        elif (tr.result or {}).get("_truncated"):
            out[tr.host] = _from_checks(store.checks(run_id=run_id, host=tr.host))
    return out


def _from_checks(checks: list[Any]) -> dict[str, Any]:
    """The ``vuln`` result of one host, from its SEC-* checks (installed/fixed versions read from the evidence)."""
    v: dict[str, Any] = {"findings": [], "unexpected_ports": [], "open_ports": [], "allowed_ports": [], "errors": {}}
    for c in checks:
        if c.id == "SEC-FEED-001":
            if c.status == "crit":
                v["errors"]["vulns"] = c.evidence
            else:
                v["feed"] = {"source": "", "evidence": c.evidence}
        elif c.id == "SEC-VULN-001" and c.status in ("warn", "crit") and " " in (c.instance or ""):
            cve, package = c.instance.split(" ", 1)
            m = re.search(r"已安装 (\S+)，修复版本 ([^；]+)", c.evidence or "")
            v["findings"].append({"cve": cve, "package": package, "installed": m.group(1) if m else "",
                                  "fixed": m.group(2) if m else "", "severity": str(c.value or "unknown"),
                                  "fix_available": "软件源已有更新" in (c.evidence or "")})
        elif c.id == "SEC-PORT-001":
            if c.status == "crit" and (c.instance or "").isdigit():
                m = re.search(r"占用进程：([^；]+)", c.evidence or "")
                v["unexpected_ports"].append({"port": int(c.instance), "process": m.group(1) if m else ""})
            elif c.status == "warn":
                v["errors"]["exposure"] = c.evidence
    return v


def _observed(v: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The findings one host's scan observed, by (kind, key)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    if not (v.get("errors") or {}).get("vulns") and v.get("feed"):
        for f in v.get("findings") or []:
            seen[("vuln", f"{f['cve']} {f['package']}")] = {
                "cve": f["cve"], "package": f["package"], "installed": f.get("installed", ""),
                "fixed_version": f.get("fixed", ""), "severity": f.get("severity", "unknown"),
                "title": f.get("title", ""), "fix_available": bool(f.get("fix_available")), "port": None, "process": ""}
    if not (v.get("errors") or {}).get("exposure"):
        for u in v.get("unexpected_ports") or []:
            seen[("port", f"tcp/{u['port']}")] = {
                "cve": "", "package": "", "installed": "", "fixed_version": "", "severity": PORT_SEVERITY,
                "title": f"非预期开放端口 TCP {u['port']}", "fix_available": False, "port": int(u["port"]),
                "process": u.get("process", "")}
    return seen


def _kinds_scanned(v: dict[str, Any]) -> set[str]:
    if isinstance(v.get("scanned"), list):  # what the action plugin says it evaluated
        return set(v["scanned"])
    kinds = set()  # rebuilt from the checks (a truncated result): what they show was evaluated
    if v.get("feed") and not (v.get("errors") or {}).get("vulns"):
        kinds.add("vuln")
    if "open_ports" in v and not (v.get("errors") or {}).get("exposure") and v.get("allowed_ports") is not None:
        kinds.add("port")
    return kinds


def _today() -> str:
    from yunwei.reports.periods import client_tz

    return dt.datetime.now(client_tz()).date().isoformat()


def sync(store: Any, *, operator: str | None = None, open_tickets: bool = True) -> dict[str, Any]:
    """Take every vuln-scan run not yet taken into the lifecycle; returns counts and the tickets opened."""
    done = {r[0] for r in store.query("SELECT run_id FROM vuln_scans")}
    runs = sorted((r for r in store.list_runs(job=JOB, limit=100000) if r.id not in done and r.status != "running"),
                  key=lambda r: r.started_at.timestamp() if r.started_at else 0)
    summary: dict[str, Any] = {"runs": 0, "new": 0, "fixed": 0, "verified": 0, "reopened": 0, "tickets": []}
    today = _today()
    for run in runs:
        results = _scan_results(store, run.id)
        when = run.started_at.timestamp() if run.started_at else time.time()
        try:
            _take(store, run, results, when, today, summary)
        except Exception as exc:  # another sync took this run at the same moment: its work stands
            from yunwei.servicedesk.store import is_integrity_error

            if not is_integrity_error(exc):
                raise
            continue
        summary["runs"] += 1
    if open_tickets:
        summary["tickets"] = _open_tickets(store, operator)
    return summary


def _take(store: Any, run: Any, results: dict[str, dict[str, Any]], when: float, today: str,
          summary: dict[str, Any]) -> None:
    """One run's results into the lifecycle, in one transaction (with its vuln_scans row: taken once)."""
    with store.transaction() as cur:
        for host, v in sorted(results.items()):
            seen = _observed(v)
            kinds = _kinds_scanned(v)
            cur.execute(store.sql(f"SELECT {', '.join(COLS)} FROM vuln_findings WHERE host = ?"), (host,))
            current: dict[tuple[str, str], Finding] = {}
            for f in map(_row, cur.fetchall()):
                old = current.get((f.kind, f.fkey))
                if old is None or f.id > old.id:
                    current[(f.kind, f.fkey)] = f
            for key, data in seen.items():
                f = current.get(key)
                expired = f is not None and f.state == "accepted" and f.accepted_until and f.accepted_until < today
                if f is None or f.state in ("fixed", "verified"):
                    cur.execute(store.sql(
                        "INSERT INTO vuln_findings (host, kind, fkey, cve, package, installed, fixed_version, port, "
                        "process, severity, title, fix_available, state, first_seen, last_seen, first_run, last_run) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?)"),
                        (host, key[0], key[1], data["cve"], data["package"], data["installed"], data["fixed_version"],
                         data["port"], data["process"], data["severity"], data["title"], int(data["fix_available"]),
                         when, when, run.id, run.id))
                    summary["new" if f is None else "reopened"] += 1
                else:
                    state = "new" if expired else f.state
                    cur.execute(store.sql(
                        "UPDATE vuln_findings SET last_seen = ?, last_run = ?, installed = ?, fix_available = ?, "
                        "process = ?, state = ? WHERE id = ?"),
                        (when, run.id, data["installed"], int(data["fix_available"]), data["process"], state, f.id))
            for key, f in current.items():
                if key in seen or key[0] not in kinds:
                    continue
                if f.state in OPEN_STATES:
                    cur.execute(store.sql("UPDATE vuln_findings SET state = 'fixed', fixed_at = ? WHERE id = ?"),
                                (when, f.id))
                    summary["fixed"] += 1
                elif f.state == "fixed" and (f.fixed_at or 0) < when:
                    cur.execute(store.sql("UPDATE vuln_findings SET state = 'verified', verified_at = ? WHERE id = ?"),
                                (when, f.id))
                    summary["verified"] += 1
        feed = next((v.get("feed") for v in results.values() if v.get("feed")), None) or {}
        cur.execute(store.sql("INSERT INTO vuln_scans (run_id, time, hosts, feed, ingested_at) VALUES (?, ?, ?, ?, ?)"),
                    (run.id, when, json.dumps(sorted(results)), json.dumps(feed, ensure_ascii=False), time.time()))


def _open_tickets(store: Any, operator: str | None) -> list[str]:
    """A ticket for every new high or critical finding that has none yet (once per finding; a failure
    part-way is completed by the next sync)."""
    from yunwei.servicedesk import tickets as tk

    opened = []
    for f in all_findings(store):
        if f.state != "new" or f.ticket_id or f.severity not in TICKET_GRADES:
            continue
        if f.kind == "vuln":
            title = f"{SEVERITY_LABELS.get(f.severity, '')}漏洞：{f.host} {f.cve} {f.package}"
            text = (f"漏洞扫描（运行 {f.last_run}）发现：{f.cve} {f.package}；已安装 {f.installed}，"
                    f"修复版本 {f.fixed_version or '—'}")
        else:
            title = f"非预期开放端口：{f.host} TCP {f.port}"
            text = f"漏洞扫描（运行 {f.last_run}）发现非预期开放端口 TCP {f.port}，占用进程 {f.process or '未知'}"
        t = tk.open_ticket(store, grade=TICKET_GRADES[f.severity], channel="scan", reporter="漏洞扫描", host=f.host,
                           title=title, description=text, operator=operator or "yunwei")
        with store.transaction() as cur:
            cur.execute(store.sql("UPDATE vuln_findings SET ticket_id = ? WHERE id = ?"), (t.id, f.id))
        opened.append(t.id)
    return opened


def all_findings(store: Any, *, host: str | None = None) -> list[Finding]:
    """Every finding, an open one shown as an accepted risk while the reviewed accepted-risks file
    (yunwei.vuln.risks: approved by a second operator) holds it and has not run out."""
    from dataclasses import replace

    from yunwei.vuln import risks

    sql = f"SELECT {', '.join(COLS)} FROM vuln_findings"
    args: tuple[Any, ...] = ()
    if host:
        sql += " WHERE host = ?"
        args = (host,)
    rows = [_row(r) for r in store.query(sql + " ORDER BY id", args)]
    accepted = risks.accepted(dt.date.fromisoformat(_today()))
    return [replace(f, state="accepted", **accepted[(f.host, f.fkey)])
            if f.state == "new" and (f.host, f.fkey) in accepted else f for f in rows]


def open_findings(store: Any = None, *, hosts: list[str] | None = None, min_severity: str | None = None,
                  sync_first: bool = True) -> list[dict[str, Any]]:
    """The open findings (new, or accepted risk - an accepted risk is still open, with its approver and
    expiry), most severe first: [{host, severity, severity_label, kind, cve, package, port, state, ...}].

    What the special-periods T-7 check calls. ``store``: an open journal store (default: the configured one);
    ``hosts``: only these hosts; ``min_severity``: critical | high | medium | low. Pending vuln-scan runs are
    taken into the lifecycle first (``sync_first``) without opening tickets twice (tickets are opened once per
    finding)."""
    if min_severity is not None and min_severity not in SEVERITY_RANK:
        raise InputError("min_severity", None, f"{min_severity!r} is not one of {', '.join(SEVERITY_RANK)}")
    if store is None:
        from yunwei.store import open_store

        with open_store() as s:
            return open_findings(s, hosts=hosts, min_severity=min_severity, sync_first=sync_first)
    if sync_first:
        sync(store)
    limit = SEVERITY_RANK.get(min_severity or "low", 3)
    out = [f.as_dict() for f in all_findings(store) if f.is_open and (not hosts or f.host in hosts)
           and SEVERITY_RANK.get(f.severity, 2) <= limit]
    return sorted(out, key=lambda d: (SEVERITY_RANK.get(d["severity"], 2), d["host"], d["fkey"]))

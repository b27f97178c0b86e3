"""Run an inspection through the runner layer and summarise it from the journal store.

``inspect()`` runs the job (``inspect`` for daily/heightened, ``resources`` for resources)
through :func:`yunwei.runner.run_job` with a collector that prints one line per host and
area as results arrive; ``summarise()`` reads the run's checks back from the store.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yunwei import ui
from yunwei.catalogue import catalogue
from yunwei.errors import InputError
from yunwei.jobs import PROFILES

# the area each collector action reports on (yunwei.ops.inspect: the areas in its result)
AREA = {"yunwei.ops.host_inspect": "host", "yunwei.ops.web_inspect": "web", "yunwei.ops.pg_inspect": "db",
        "yunwei.ops.inspect": "巡检", "yunwei.ops.host_sample": "host", "yunwei.ops.backup_status": "backup"}


def _area_label(action: str, res: dict[str, Any]) -> str:
    """主机 / 网站 / 数据库, or for yunwei.ops.inspect the areas that ran (主机+网站)."""
    cat = catalogue()
    areas = res.get("areas") if isinstance(res.get("areas"), dict) else None
    if areas:
        return "+".join(cat.area_title(a) for a in areas)
    return cat.area_title(AREA.get(action, action))


@dataclass
class HostSummary:
    host: str
    ok: int = 0
    warn: int = 0
    crit: int = 0
    unreachable: bool = False


@dataclass
class Summary:
    run_id: str
    profile: str
    status: str
    rc: int
    hosts: list[HostSummary] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)  # yunwei.store.Check, crit first
    reason: str = ""  # why the run is not a completed inspection (journal)
    input_errors: list[str] = field(default_factory=list)  # bad input refused before any host was contacted
    completed: bool | None = None  # the journal counts it as an inspection done (None: not known)

    @property
    def totals(self) -> dict[str, int]:
        return {s: sum(getattr(h, s) for h in self.hosts) for s in ("ok", "warn", "crit")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "profile": self.profile, "status": self.status, "rc": self.rc,
            "completed": self.completed, "reason": self.reason, "input_errors": self.input_errors,
            "totals": self.totals, "hosts": [dataclasses.asdict(h) for h in self.hosts],
            "findings": [f.to_dict() for f in self.findings],
        }


def _progress_collector(echo: Callable[[str], None]) -> Any:
    from yunwei.runner.progress import Collector

    class InspectionProgress(Collector):
        """One line per host and area with its check counts; runner stats kept by the base class."""

        def event(self, event: dict[str, Any]) -> bool:
            name = event.get("event", "")
            data = event.get("event_data") or {}
            res = data.get("res") if isinstance(data.get("res"), dict) else {}
            action = str(data.get("resolved_action") or data.get("task_action") or "")
            # host_sample only reads counters: a line for it only when it found the host unreachable
            if name in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable") and (
                    (action in AREA and action != "yunwei.ops.host_sample") or res.get("checks")):
                counts = {"ok": 0, "warn": 0, "crit": 0}
                for c in res.get("checks") or []:
                    if isinstance(c, dict) and c.get("status") in counts:
                        counts[c["status"]] += 1
                state = "不可达" if name == "runner_on_unreachable" else ("失败" if name == "runner_on_failed" else "完成")
                echo(f"{ui.pad(str(data.get('host', '?')), 12)} {ui.pad(_area_label(action, res), 16)} {state}  "
                     f"ok {counts['ok']:>3}  warn {counts['warn']:>2}  crit {counts['crit']:>2}")
            elif name == "playbook_on_play_start":
                echo(f"== {data.get('play', '')}")
            return super().event(event)

    return InspectionProgress(quiet=True)


def inspect(profile: str, *, inventory: str | None = None, limit: str | None = None,
            extravars: dict[str, Any] | None = None, quiet: bool = False,
            echo: Callable[[str], None] | None = None) -> Summary:
    """Run the inspection with ``profile`` and return its summary from the journal."""
    if profile not in PROFILES:
        raise InputError("--profile", None, f"unknown profile {profile!r} (choose one of {', '.join(PROFILES)})")
    from yunwei import audit
    from yunwei.commands._common import var_sources
    from yunwei.commands.run import record_result
    from yunwei.jobs import get_job
    from yunwei.review.digest import content_digest
    from yunwei.runner import run_job
    from yunwei.runner.env import operator

    from yunwei.jobs import load_catalogue
    from yunwei.runner.policy import check_extravars, check_inventory_override, check_readonly_playbook

    who = operator()
    job = get_job("resources" if profile == "resources" else "inspect")
    try:
        check_inventory_override(inventory)
        check_extravars(job, extravars)
        check_readonly_playbook(job, load_catalogue().values())
    except InputError as exc:
        audit.record("refusal", action="inspect", operator=who, job=job.name, reason=str(exc))
        raise
    if inventory:
        path = Path(inventory).expanduser().resolve()
        if not path.exists():
            raise InputError("-i", None, f"inventory {inventory} does not exist")
        job = dataclasses.replace(job, inventory=str(path))
    sources = var_sources(extravars)
    evars = {**(extravars or {}), "inspection_profile": profile}
    digest, _ = content_digest(job, limit, evars)
    run_id = str(uuid.uuid4())
    audit.record("execution", job=job.name, operator=who, digest=digest, run_id=run_id, limit=limit,
                 extravars=sorted(evars), trigger="cli:inspect", profile=profile)
    sink: Callable[[str], None] = (lambda _msg: None) if quiet else (echo or ui.progress)
    collector = _progress_collector(sink)
    try:
        result = run_job(job, limit=limit, extravars=evars, content_digest=digest, operator_name=who, run_id=run_id,
                         profile=profile, collector=collector, untrusted_vars=True, var_sources=sources)
    except InputError as exc:  # refused before ansible-playbook started (e.g. a malformed inventory)
        audit.record("refusal", action="inspect", operator=who, job=job.name, run_id=run_id, reason=str(exc))
        raise
    record_result(job.name, who, digest, result)
    summary = summarise(run_id, profile=profile, status=result.status, rc=result.rc)
    summary.reason, summary.input_errors = result.reason, result.input_errors
    summary.completed = result.ok
    stats_hosts = {h for h in result.stats}
    known = {h.host for h in summary.hosts}
    for host in sorted(stats_hosts - known):
        summary.hosts.append(HostSummary(host))
    for h in summary.hosts:
        if result.stats.get(h.host, {}).get("dark"):
            h.unreachable = True
    return summary


def summarise(run_id: str, *, profile: str = "", status: str = "", rc: int = 0, store_url: str | None = None,
              top: int = 10) -> Summary:
    """Per-host ok/warn/crit counts and the top findings of a run, from the journal store."""
    from yunwei.store import open_store

    with open_store(store_url) as store:
        checks = store.checks(run_id=run_id)
        run = store.get_run(run_id)
    hosts: dict[str, HostSummary] = {}
    for host in (run.hosts if run else []):
        hosts[host] = HostSummary(host)
    for c in checks:
        h = hosts.setdefault(c.host, HostSummary(c.host))
        setattr(h, c.status, getattr(h, c.status) + 1)
        if c.id.endswith("-REACH-001"):
            h.unreachable = True
    cat = catalogue()
    findings = sorted((c for c in checks if cat.rank(c.status) > 0),
                      key=lambda c: (-cat.rank(c.status), c.host, c.id, c.instance))
    return Summary(run_id=run_id, profile=profile or (run.profile if run else ""), status=status or
                   (run.status if run else ""), rc=rc, hosts=sorted(hosts.values(), key=lambda h: h.host),
                   findings=findings[:top] if top else findings, reason=run.reason if run else "",
                   completed=run.completed if run else None)


def print_summary(summary: Summary) -> None:
    if summary.input_errors:  # nothing ran: the reasons, not an empty table
        for msg in summary.input_errors:
            for problem in msg.split("; "):
                ui.progress(f"error: {problem}")
        print(f"巡检 {summary.profile} · run {summary.run_id} · 输入有误，未连接任何主机，未完成巡检")
        return
    print(f"\n巡检 {summary.profile} · run {summary.run_id} · {summary.status}")
    ui.table(["主机", "ok", "warn", "crit", "备注"],
             [[h.host, h.ok, h.warn, h.crit, "不可达" if h.unreachable else ""] for h in summary.hosts])
    t = summary.totals
    print(f"合计: ok {t['ok']}  warn {t['warn']}  crit {t['crit']}")
    if summary.findings:
        print("\n主要发现（处理建议）:")
        ui.table(["状态", "主机", "检查项", "对象", "值", "证据", "处理建议"],
                 [[c.status.upper(), c.host, f"{c.id} {c.title}", _short(c.instance, 24),
                   _short(f"{c.value}{c.unit or ''}", 14), _short(c.evidence, 60), _short(c.suggestion, 60)]
                  for c in summary.findings])
    else:
        print("\n无 warn/crit 发现。")
    if summary.completed is False:
        print(f"\n未完成巡检（不计入巡检次数）：{summary.reason or summary.status}")


def _short(text: Any, width: int) -> str:
    s = " ".join(str(text if text is not None else "").split())
    return s if ui.display_width(s) <= width else _cut(s, width)


def _cut(s: str, width: int) -> str:
    out, w = "", 0
    for ch in s:
        cw = ui.display_width(ch)
        if w + cw > width - 1:
            break
        out += ch
        w += cw
    return out + "…"

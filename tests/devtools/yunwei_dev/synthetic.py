"""A synthetic journal for tests, demos and the benchmark (bench/reports/), built from the catalogue.

Every check a host of the synthetic site would record is taken from the check catalogue (the
inspection checks of its areas), given a healthy value, and judged by the real judge
(yunwei.inspection.judge), so statuses, titles, units, thresholds and 处理建议 are exactly what an
inspection records; report tests therefore exercise real ids. Written through the store's public
write API (begin_run, write_batch, finish_run). Deterministic for a given seed. Built-in faults,
so reports have something to say:

* the first host's /srv/data (HOST-FS-001) grows 1.5 points a day from 60 % (warn from 80 %, crit
  from 90 %) until it stays at 99 % (nobody clears it): a filesystem never holds more than it can;
* the first web host's HTTP probe (WEB-HTTP-001) answers 502 in the first run of day 5 (1-based);
* the first db host's clock (HOST-TIME-001) is 0.85 s off every day from day 2 on (warn);
* a few random warns (``noise``) on checks judged by thresholds.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from yunwei.catalogue import CheckDef, catalogue
from yunwei.inspection.judge import check as judge_check
from yunwei.store.model import Check, Metric, Run

RUN_HOURS = (9, 13, 17)
FS_FULL_PCT = 99.0  # where the growing /srv/data stops: a share of a whole never passes 100 %
SITE = "https://www.example.gov.cn/"

# instances per kind of instance (the catalogue's `instance`), per area where they differ
INSTANCES: dict[str, tuple[str, ...]] = {
    "mount point": ("/", "/var", "/srv/data"),
    "block device": ("sda",),
    "interface": ("eth0",),
    "URL": (SITE,),
    "port": ("port 5432",),
    "database": ("appdb", "postgres"),
    "log file:web": ("/var/log/nginx/error.log",),
    "log file:db": ("/var/log/postgresql/postgresql-15-main.log",),
    "standby": ("primary",),
    "primary": ("primary",),
}
# healthy values of the checks not judged by a threshold (the others get one below their warn limit)
VALUES: dict[str, Any] = {
    "HOST-UP-001": 30.0, "HOST-SVC-001": 0, "HOST-SVC-002": 0, "HOST-PORT-001": 0, "HOST-REBOOT-001": False,
    "HOST-KERNEL-001": "6.1.0-26-amd64", "WEB-HTTP-001": 200, "WEB-HTTP-003": True, "WEB-NGINX-001": "running",
    "WEB-NGINX-002": True, "WEB-NGINX-003": "1.22.1", "DB-CONN-001": "accepting", "DB-VER-001": "15.8",
    "DB-SIZE-001": 268435456, "DB-ARCH-001": 0, "DB-REPL-001": 0, "WEB-NGINX-004": 12,
}
# checks an inspection records only on a fault, or only in the resources profile
SKIP = {"DB-REPL-002"}
for _cid in VALUES:
    catalogue().checks[_cid]  # noqa: B018 - KeyError: a synthetic value for an id no collector emits


@dataclass
class Truth:
    """What was written, for assertions."""

    runs: list[Run] = field(default_factory=list)
    checks: int = 0
    metrics: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: {"ok": 0, "warn": 0, "crit": 0})


def host_names(n: int) -> list[str]:
    return [f"web{i // 2 + 1:02d}" if i % 2 == 0 else f"db{i // 2 + 1:02d}" for i in range(n)]


def _recorded(c: CheckDef) -> bool:
    """Whether a healthy daily inspection records ``c``."""
    return (c.kind == "inspection" and not c.anomaly and c.id not in SKIP
            and (not c.profiles or "daily" in c.profiles)
            and (c.thresholds or c.id in VALUES))


def _healthy(c: CheckDef) -> Any:
    if c.id in VALUES:
        return VALUES[c.id]
    t = c.thresholds[0]
    if t.direction == "high":
        return 0 if c.unit in ("", "1/s") else round(t.warn * 0.4, 2)  # counts: none
    return round(t.warn + (100 - t.warn) / 2, 2) if c.unit == "%" else round(t.warn * 2, 2)


def _noisy(c: CheckDef) -> Any:
    """A value a little past the warn limit of the check's first threshold."""
    t = c.thresholds[0]
    step = (t.crit - t.warn) * 0.1
    return round(t.warn + step, 2)


def base_findings(host: str, extra_mounts: int = 0) -> list[dict[str, Any]]:
    """Findings (docs/data-model.md) of one healthy host: the catalogue's checks of its areas."""
    cat = catalogue()
    areas = {"host", "web" if host.startswith("web") else "db"}
    mounts = INSTANCES["mount point"] + tuple(f"/data{i + 1:02d}" for i in range(extra_mounts))
    out = []
    for c in cat.checks.values():
        if c.area not in areas or not _recorded(c):
            continue
        if c.instance == "mount point":
            instances = mounts
        else:
            instances = INSTANCES.get(f"{c.instance}:{c.area}") or INSTANCES.get(c.instance) or ("",)
        for inst in instances:
            out.append({"id": c.id, "instance": inst, "value": _healthy(c)})
    return out


def make_journal(store: Any, *, start: date, days: int, runs_per_day: int = 1, hosts: int | Sequence[str] = 4,
                 checks_per_host: int = 60, tz: Any = None, seed: int = 0, noise: float = 0.002,
                 skip: Sequence[tuple[int, int]] = (), heightened_days: Sequence[date] = (),
                 operator: str = "zhangsan", metrics: bool = True, faults: bool = True) -> Truth:
    """Write ``days`` x ``runs_per_day`` inspection runs (3 a day on ``heightened_days``).

    ``checks_per_host``: hosts with more get more filesystems (HOST-FS-001/002 per mount), fewer are cut.
    ``skip``: (day index 0-based, run index) pairs not to write - missed inspections.
    """
    from zoneinfo import ZoneInfo

    cat = catalogue()
    tz = tz or ZoneInfo("Asia/Shanghai")
    rng = random.Random(seed)
    names = list(hosts) if not isinstance(hosts, int) else host_names(hosts)
    first_web = next((h for h in names if h.startswith("web")), None)
    first_db = next((h for h in names if h.startswith("db")), None)
    per_host = {}
    for h in names:
        found = base_findings(h)
        extra = max(0, (checks_per_host - len(found) + 1) // 2)
        per_host[h] = base_findings(h, extra)[:max(checks_per_host, 1)]
    units = {name: m.unit for name, m in cat.metrics.items()}
    truth = Truth()
    for d in range(days):
        day = start + timedelta(days=d)
        n_runs = 3 if day in heightened_days else runs_per_day
        for r in range(n_runs):
            if (d, r) in skip:
                continue
            started = datetime.combine(day, time(RUN_HOURS[r % 3], 0), tzinfo=tz).astimezone(timezone.utc)
            run = Run(id=str(uuid.UUID(int=rng.getrandbits(128))), playbook="playbooks/inspect.yml", job="inspect",
                      profile="heightened" if day in heightened_days else "daily", operator=operator,
                      started_at=started, status="running", hosts=list(names))
            store.begin_run(run)
            cs: list[Check] = []
            ms: list[Metric] = []
            fs_data = min(60.0 + 1.5 * d, FS_FULL_PCT)
            for hi, host in enumerate(names):
                t = started + timedelta(seconds=5 + hi)
                for base in per_host[host]:
                    f = dict(base)
                    cid, inst = f["id"], f["instance"]
                    if cid == "HOST-FS-001" and inst == "/srv/data" and hi == 0 and faults:
                        f["value"] = round(fs_data, 1)
                    elif cid == "WEB-HTTP-001" and host == first_web and d == 4 and r == 0 and faults:
                        f.update(value=502, outcome="unexpected_status")
                    elif cid == "HOST-TIME-001" and host == first_db and d >= 1 and faults:
                        f["value"] = 0.85
                    elif noise and cat.checks[cid].thresholds and rng.random() < noise:
                        f["value"] = _noisy(cat.checks[cid])
                    f["evidence"] = f"{host} {cat.checks[cid].title}{('（' + inst + '）') if inst else ''}：{f['value']}"
                    if cid == "WEB-HTTP-001":
                        f["limits"] = {"expected": [200]}
                    c = judge_check(f, cat=cat)
                    truth.statuses[c["status"]] += 1
                    cs.append(Check(id=c["id"], category=c["category"], status=c["status"], host=host, time=t,
                                    title=c["title"], instance=c["instance"], value=c["value"], unit=c["unit"],
                                    threshold=c["threshold"] or None, evidence=c["evidence"],
                                    suggestion=c["suggestion"]))
                if metrics:
                    base = 20 + 10 * ((hi % 5) / 5)
                    hour_wave = 5 * (r % 3)
                    for name, value, inst in (
                        ("cpu.used_pct", base + hour_wave + rng.uniform(-2, 2), ""),
                        ("mem.used_pct", 45 + hi % 7 + rng.uniform(-1, 1), ""),
                        ("disk.util_pct", 5 + rng.uniform(0, 3) + hour_wave, "sda"),
                        ("net.rx_bps", 120_000 + rng.uniform(0, 20_000), "eth0"),
                        ("net.tx_bps", 80_000 + rng.uniform(0, 20_000), "eth0"),
                        ("load.1", 0.3 + 0.1 * (r % 3) + rng.uniform(0, 0.1), ""),
                        ("fs.used_pct", 40.0, "/"),
                        ("fs.used_pct", 40.0, "/var"),
                        ("fs.used_pct", round(fs_data, 1) if hi == 0 and faults else 40.0, "/srv/data"),
                        ("fs.size_bytes", 64 * 2**30, "/srv/data"),
                    ):
                        ms.append(Metric(name=name, value=float(value), host=host, instance=inst, unit=units[name],
                                         time=t))
            store.write_batch(run.id, checks=cs, metrics=ms)
            store.finish_run(run.id, "ok", ended_at=started + timedelta(seconds=30 + len(names)))
            run.status = "ok"
            truth.runs.append(run)
            truth.checks += len(cs)
            truth.metrics += len(ms)
    return truth

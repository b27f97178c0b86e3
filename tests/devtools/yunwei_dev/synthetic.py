"""A synthetic journal for tests, demos and the benchmark (bench/reports/).

Writes runs, checks and metrics through the store's public write API (begin_run, write_batch,
finish_run), shaped like the inspection role's output (docs/data-model.md). Deterministic for a
given seed. Built-in faults, so reports have something to say:

* the first host's /srv/data grows 1.5 points a day from 60 % (warn above 80 %);
* the first web host's HTTP probe (WEB-HTTP-001) is crit in the first run of day 5 (1-based);
* the first db host's time synchronisation (HOST-TIME-001) is warn every day from day 2 on;
* a few random warns (``noise``).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from yunwei.store.model import Check, Metric, Run

RUN_HOURS = (9, 13, 17)


@dataclass
class Truth:
    """What was written, for assertions."""

    runs: list[Run] = field(default_factory=list)
    checks: int = 0
    metrics: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: {"ok": 0, "warn": 0, "crit": 0})


def host_names(n: int) -> list[str]:
    return [f"web{i // 2 + 1:02d}" if i % 2 == 0 else f"db{i // 2 + 1:02d}" for i in range(n)]


def _base_checks(host: str) -> list[tuple[str, str, str, str, Any, str]]:
    """(id, category, title, instance, value, unit) of one healthy host."""
    out = [
        ("HOST-CPU-001", "host", "CPU 使用率", "", 20.0, "%"),
        ("HOST-MEM-001", "host", "内存使用率", "", 45.0, "%"),
        ("HOST-SWAP-001", "host", "交换分区使用率", "", 0.0, "%"),
        ("HOST-LOAD-001", "host", "每核负载", "", 0.3, ""),
        ("HOST-TIME-001", "time", "时间同步", "", "synchronised", ""),
        ("HOST-SVC-001", "service", "失败的服务", "", 0, ""),
        ("HOST-PROC-001", "host", "僵尸进程", "", 0, ""),
        ("HOST-PORT-001", "network", "监听端口", "", "22", ""),
        ("HOST-PKG-001", "patch", "待安装更新", "", 0, ""),
        ("HOST-PKG-002", "patch", "待安装安全更新", "", 0, ""),
        ("HOST-REBOOT-001", "patch", "需要重启", "", "no", ""),
        ("HOST-KERNEL-001", "host", "内核版本", "", "6.1.0-26-amd64", ""),
        ("HOST-UP-001", "host", "运行时间", "", 30, "d"),
    ]
    for mount in ("/", "/var", "/srv/data"):
        out.append(("HOST-FS-001", "host", "文件系统使用率", mount, 40.0, "%"))
        out.append(("HOST-FS-002", "host", "inode 使用率", mount, 5.0, "%"))
    if host.startswith("web"):
        out += [
            ("WEB-HTTP-001", "web", "网站可访问性", "https://www.example.gov.cn/", 200, ""),
            ("WEB-HTTP-002", "web", "网站响应时间", "https://www.example.gov.cn/", 0.12, "s"),
            ("WEB-TLS-001", "web", "证书剩余天数", "www.example.gov.cn", 80, "d"),
            ("WEB-NGINX-001", "web", "nginx 运行状态", "", "running", ""),
            ("WEB-NGINX-002", "web", "nginx 配置检查", "", "ok", ""),
            ("WEB-HTTP-003", "web", "页面关键字", "https://www.example.gov.cn/", "true", ""),
            ("WEB-LOG-001", "log", "nginx 错误日志", "", 0, ""),
        ]
    else:
        out += [
            ("DB-CONN-001", "db", "数据库可连接", "postgres", "accepting", ""),
            ("DB-VER-001", "db", "数据库版本", "", "15.8", ""),
            ("DB-CONN-002", "db", "连接数占比", "", 12.0, "%"),
            ("DB-TX-001", "db", "长事务", "", 0, ""),
            ("DB-REPL-001", "db", "复制状态", "", "n/a", ""),
            ("DB-ARCH-001", "db", "WAL 归档", "", 0, ""),
            ("DB-CACHE-001", "db", "缓存命中率", "", 99.5, "%"),
            ("DB-LOG-001", "log", "数据库错误日志", "", 0, ""),
        ]
    return out


def make_journal(store: Any, *, start: date, days: int, runs_per_day: int = 1, hosts: int | Sequence[str] = 4,
                 checks_per_host: int = 60, tz: Any = None, seed: int = 0, noise: float = 0.002,
                 skip: Sequence[tuple[int, int]] = (), heightened_days: Sequence[date] = (),
                 operator: str = "zhangsan", metrics: bool = True, faults: bool = True) -> Truth:
    """Write ``days`` x ``runs_per_day`` inspection runs (3 a day on ``heightened_days``).

    ``skip``: (day index 0-based, run index) pairs not to write - missed inspections.
    """
    from zoneinfo import ZoneInfo

    tz = tz or ZoneInfo("Asia/Shanghai")
    rng = random.Random(seed)
    names = list(hosts) if not isinstance(hosts, int) else host_names(hosts)
    first_web = next((h for h in names if h.startswith("web")), None)
    first_db = next((h for h in names if h.startswith("db")), None)
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
            for hi, host in enumerate(names):
                t = started + timedelta(seconds=5 + hi)
                items = _base_checks(host)
                pad = max(0, checks_per_host - len(items))
                items += [(f"HOST-MISC-{i + 1:03d}", "host", f"附加检查 {i + 1}", "", "ok", "") for i in range(pad)]
                fs_data = 60.0 + 1.5 * d
                for cid, category, title, inst, value, unit in items[:max(checks_per_host, 1)]:
                    status, evidence, suggestion = "ok", f"{title}: {value}{unit}", ""
                    if cid == "HOST-FS-001" and inst == "/srv/data" and hi == 0 and faults:
                        value = round(fs_data, 1)
                        status = "crit" if value >= 90 else "warn" if value >= 80 else "ok"
                    elif cid == "WEB-HTTP-001" and host == first_web and d == 4 and r == 0 and faults:
                        value, status = 502, "crit"
                    elif cid == "HOST-TIME-001" and host == first_db and d >= 1 and faults:
                        value, status = "offset 850 ms", "warn"
                    elif noise and rng.random() < noise:
                        status = "warn"
                    if status != "ok":
                        evidence = f"{host} {title}{('（' + inst + '）') if inst else ''}：{value}{unit}"
                        suggestion = {"HOST-FS-001": "清理过期文件或扩容；确认增长来源。",
                                      "WEB-HTTP-001": "检查 nginx 与上游服务状态，查看错误日志。",
                                      "HOST-TIME-001": "检查 chrony/ntp 服务与上游时间源。"}.get(cid, f"核查{title}。")
                    truth.statuses[status] += 1
                    cs.append(Check(id=cid, category=category, status=status, host=host, time=t, title=title,
                                    instance=inst, value=value, unit=unit,
                                    threshold={"warn": 80, "crit": 90} if unit == "%" else None,
                                    evidence=evidence, suggestion=suggestion))
                if metrics:
                    base = 20 + 10 * ((hi % 5) / 5)
                    hour_wave = 5 * (r % 3)
                    for name, value, unit, inst in (
                        ("cpu.used_pct", base + hour_wave + rng.uniform(-2, 2), "%", ""),
                        ("mem.used_pct", 45 + hi % 7 + rng.uniform(-1, 1), "%", ""),
                        ("disk.util_pct", 5 + rng.uniform(0, 3) + hour_wave, "%", "sda"),
                        ("net.rx_bps", 120_000 + rng.uniform(0, 20_000), "B/s", "eth0"),
                        ("net.tx_bps", 80_000 + rng.uniform(0, 20_000), "B/s", "eth0"),
                        ("load.1", 0.3 + 0.1 * (r % 3) + rng.uniform(0, 0.1), "", ""),
                        ("fs.used_pct", 40.0, "%", "/"),
                        ("fs.used_pct", 40.0, "%", "/var"),
                        ("fs.used_pct", round(fs_data, 1) if hi == 0 and faults else 40.0, "%", "/srv/data"),
                        ("fs.size_bytes", 64 * 2**30, "B", "/srv/data"),
                    ):
                        ms.append(Metric(name=name, value=float(value), host=host, instance=inst, unit=unit, time=t))
            store.write_batch(run.id, checks=cs, metrics=ms)
            store.finish_run(run.id, "ok", ended_at=started + timedelta(seconds=30 + len(names)))
            run.status = "ok"
            truth.runs.append(run)
            truth.checks += len(cs)
            truth.metrics += len(ms)
    return truth

"""What the reports look for in the journal, taken from the check catalogue (yunwei.catalogue).

Statuses and their order, labels, profiles, areas (check categories), the services whose
availability is computed, the patch checks and the metric names of the trend charts all come
from the catalogue, so a report can only name what a collector records. What is the reports'
own - job names, risk rules - stays here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yunwei.catalogue import catalogue
from yunwei.store import model as _store_model

_CAT = catalogue()

# Jobs (Run.job) and profiles (Run.profile) as recorded by the journal.
INSPECTION_JOBS = ("inspect", "inspection")
RESOURCE_JOBS = ("resources",)
RESOURCE_PROFILES = ("resources",)
# the jobs that take backups (the scheduled tier jobs and the operator's `backup`), and verify
BACKUP_RUN_JOBS = ("backup", "backup_core_full", "backup_core_incr", "backup_general_full", "backup_general_incr")
BACKUP_VERIFY_JOBS = ("backup_verify",)
BACKUP_JOBS = BACKUP_RUN_JOBS + BACKUP_VERIFY_JOBS
RESTORE_JOBS = ("restore_drill", "restore_test")

# A run counts as an inspection done only when it did its job: the store's COMPLETED_RUN_STATUSES
# (status ok). Failed (no host matched or reached, bad input, a task failed), interrupted and
# timed-out runs never count; the records list them with why.
COMPLETED_RUN_STATUSES = _store_model.COMPLETED_RUN_STATUSES

STATUS_ORDER = {name: int(info["rank"]) for name, info in _CAT.statuses.items()}
STATUS_LABEL: dict[str | None, str] = {**{name: info["label"] for name, info in _CAT.statuses.items()}, None: "无数据"}
LIGHT: dict[str | None, str] = {**{name: info["light"] for name, info in _CAT.statuses.items()}, None: "—"}
RUN_STATUS_LABEL = {"ok": "完成", "failed": "失败", "running": "进行中", "interrupted": "中断", "timeout": "超时"}
if set(RUN_STATUS_LABEL) != set(_store_model.RUN_STATUSES):  # every status the journal records, in Chinese
    raise RuntimeError(f"reports: no label for run statuses {set(_store_model.RUN_STATUSES) - set(RUN_STATUS_LABEL)}")
PROFILE_LABEL = {**{name: info["title"] for name, info in _CAT.profiles.items()}, "": ""}
CATEGORY_LABEL = {name: info["title"] for name, info in _CAT.areas.items()}


def category_label(category: str | None) -> str:
    return _CAT.area_title(category)


@dataclass(frozen=True)
class Series:
    label: str
    names: tuple[str, ...]     # metric names (catalogue); the first that has data is used


@dataclass(frozen=True)
class Trend:
    key: str
    title: str
    unit: str
    series: tuple[Series, ...]


def _trend(key: str, title: str, *series: tuple[str, str]) -> Trend:
    metrics = [_CAT.metrics[name] for _label, name in series]  # KeyError: not a metric any collector records
    return Trend(key, title, metrics[0].unit, tuple(Series(label, (name,)) for label, name in series))


TRENDS: tuple[Trend, ...] = (
    _trend("cpu", "CPU 使用率", ("CPU", "cpu.used_pct")),
    _trend("mem", "内存使用率", ("内存", "mem.used_pct")),
    _trend("disk", "磁盘 I/O", ("磁盘利用率", "disk.util_pct")),
    _trend("net", "网络流量", ("接收", "net.rx_bps"), ("发送", "net.tx_bps")),
    _trend("load", "系统负载 load1", ("load1", "load.1")),
)

FS_USED_PCT = ("fs.used_pct",)
FS_SIZE_BYTES = ("fs.size_bytes",)
DB_SIZE_BYTES = ("db.size_bytes",)
for _name in FS_USED_PCT + FS_SIZE_BYTES + DB_SIZE_BYTES:
    _CAT.metrics[_name]  # noqa: B018 - KeyError: not a metric any collector records

# Availability per service: the checks that name the service in the catalogue (`service:`).
# A sample (one host, one run) is "down" when any of its checks is crit.
SERVICES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (info["title"], re.compile("^(%s)$" % "|".join(sorted(re.escape(c.id) for c in _CAT.checks.values()
                                                          if c.service == name))))
    for name, info in _CAT.services.items() if any(c.service == name for c in _CAT.checks.values()))

# Pending patches / security updates: the checks tagged `patch`.
PATCH_CHECKS = _CAT.tagged("patch")

# Hidden risks: a (check, host, instance) that was warn/crit on at least this many days of the period.
RISK_MIN_DAYS = 3


def is_patch_check(check_id: str, category: str | None = None) -> bool:
    return check_id in PATCH_CHECKS

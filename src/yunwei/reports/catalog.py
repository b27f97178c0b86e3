"""What the reports look for in the journal: job names, metric names, services, labels.

Kept as data in one place so that a change in the collectors' naming (issue 4) is a one-line
change here, not a hunt through the report code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Jobs (Run.job) and profiles (Run.profile) as recorded by the journal.
INSPECTION_JOBS = ("inspect", "inspection")
RESOURCE_JOBS = ("resources",)
RESOURCE_PROFILES = ("resources",)
HEIGHTENED_PROFILES = ("heightened",)
BACKUP_JOBS = ("backup", "backup_verify")
RESTORE_JOBS = ("restore_drill", "restore_test")

# A run counts as an inspection done when it ran to its end (a failed task is an anomaly, not a missed run).
COMPLETED_RUN_STATUSES = ("ok", "failed")

STATUS_ORDER = {"ok": 0, "warn": 1, "crit": 2}
STATUS_LABEL = {"ok": "正常", "warn": "警告", "crit": "严重", None: "无数据"}
RUN_STATUS_LABEL = {"ok": "完成", "failed": "完成（有失败任务）", "running": "进行中", "interrupted": "中断"}
PROFILE_LABEL = {"daily": "日常", "heightened": "重保", "resources": "资源", "": ""}
LIGHT = {"ok": "绿", "warn": "黄", "crit": "红", None: "—"}

CATEGORY_LABEL = {
    "host": "主机", "web": "网站", "db": "数据库", "backup": "备份", "baseline": "安全基线",
    "drill": "恢复演练", "patch": "补丁", "security": "安全", "log": "日志", "network": "网络",
    "time": "时间同步", "service": "服务",
}


def category_label(category: str | None) -> str:
    if not category:
        return "其他"
    return CATEGORY_LABEL.get(category, category)


@dataclass(frozen=True)
class Series:
    label: str
    names: tuple[str, ...]     # alternative metric names; the first that has data is used


@dataclass(frozen=True)
class Trend:
    key: str
    title: str
    unit: str
    series: tuple[Series, ...]


TRENDS: tuple[Trend, ...] = (
    Trend("cpu", "CPU 使用率", "%", (Series("CPU", ("cpu.used_pct", "cpu.usage_pct")),)),
    Trend("mem", "内存使用率", "%", (Series("内存", ("mem.used_pct", "memory.used_pct")),)),
    Trend("disk", "磁盘 I/O", "%", (Series("磁盘利用率", ("disk.util_pct", "disk.busy_pct")),)),
    Trend("net", "网络流量", "B/s", (
        Series("接收", ("net.rx_bps", "net.rx_bytes_per_s")),
        Series("发送", ("net.tx_bps", "net.tx_bytes_per_s")),
    )),
    Trend("load", "系统负载 load1", "", (Series("load1", ("load.1", "load1")),)),
)

FS_USED_PCT = ("fs.used_pct",)
FS_SIZE_BYTES = ("fs.size_bytes", "fs.total_bytes")
FS_USED_BYTES = ("fs.used_bytes",)
DB_SIZE_BYTES = ("db.size_bytes", "pg.database_size_bytes", "pg.db_size_bytes")

# Availability per service: the checks whose status says whether the service answered
# (ids of plugins/module_utils/web_collector.py and pg_collector.py).
# A sample (one host, one run) is "down" when any matching check is crit.
SERVICES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("网站服务（HTTP 可用性、页面关键字）", re.compile(r"^WEB-HTTP-00[13]$")),
    ("Web 服务器（nginx 运行状态）", re.compile(r"^WEB-NGINX-001$")),
    ("数据库服务（PostgreSQL 可连接）", re.compile(r"^(DB|PG)-CONN-001$")),
)

# Pending patches / security updates.
PATCH_CHECK = re.compile(r"(PATCH|UPDATE|PKG|APT|REBOOT)", re.I)
PATCH_CATEGORIES = ("patch", "updates")

# Hidden risks: a (check, host, instance) that was warn/crit on at least this many days of the period.
RISK_MIN_DAYS = 3
# Filesystems forecast to fill within this many days are a risk too.
RISK_FS_DAYS = 30


def is_patch_check(check_id: str, category: str | None) -> bool:
    return bool(PATCH_CHECK.search(check_id or "")) or (category or "") in PATCH_CATEGORIES

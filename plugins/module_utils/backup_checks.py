# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BACKUP-* vocabulary as data: one entry per check id, and the limits of each tier.

Collectors (the modules ``pgbackrest``, ``restic``, ``backup_status``) compute values; the
status and suggestion come from here. The inspection and the reports read the same table
(docs/backup.md lists it). Plain Python literals so that modules on the hosts import it
without YAML.

Tier limits are seconds unless the unit says otherwise; ``direction`` "high": bigger is worse,
"low": smaller is worse. Every limit can be overridden with ``backup_tier_limits``.
"""

from __future__ import annotations

CATEGORY = "backup"

# id: title (client text), unit, limit key (None: judged by the collector: ok / crit), 处理建议
CHECKS = {
    "BACKUP-RUN-001": {
        "title": "备份执行结果",
        "unit": "",
        "limit": None,
        "suggestion": "按证据中的报错排查（存储服务器是否可达、空间是否充足、口令是否正确），修复后重新执行本次备份；"
                      "若超过层级时限仍未成功，按漏备处理并报告。",
    },
    "BACKUP-CHECK-001": {
        "title": "备份后一致性检查（pgBackRest check）",
        "unit": "",
        "limit": None,
        "suggestion": "检查 WAL 归档（archive_command）与存储库连通性，修复后执行 pgbackrest check 直至通过。",
    },
    "BACKUP-AGE-001": {
        "title": "最近一次备份距今时长",
        "unit": "s",
        "limit": "newest_age_s",
        "suggestion": "备份已超过层级要求的时间间隔：检查调度（schedule tick）与最近一次备份任务的报错，立即补做一次备份。",
    },
    "BACKUP-FULL-001": {
        "title": "最近一次全量备份距今时长",
        "unit": "s",
        "limit": "full_age_s",
        "suggestion": "全量备份超过层级要求的周期：检查全量备份调度与报错，尽快执行一次全量备份。",
    },
    "BACKUP-OFFSITE-001": {
        "title": "异地副本距今时长",
        "unit": "s",
        "limit": "offsite_age_s",
        "suggestion": "异地备份副本未按时更新：检查异地存储（offsite）可达性、空间与复制任务，补做一次异地复制。",
    },
    "BACKUP-ENC-001": {
        "title": "备份存储库加密",
        "unit": "",
        "limit": None,
        "suggestion": "存储库未加密，不符合合同要求：按 docs/backup.md 新建加密存储库并重新做全量备份，旧库安全销毁。",
    },
    "BACKUP-WAL-001": {
        "title": "WAL 归档延迟（实时 RPO）",
        "unit": "s",
        "limit": "wal_lag_s",
        "suggestion": "WAL 未及时归档，实时恢复点目标（RPO）超标：检查 archive_command 报错（PostgreSQL 日志、"
                      "pg_stat_archiver）、存储服务器可达性与空间。",
    },
    "BACKUP-WAL-002": {
        "title": "WAL 归档状态",
        "unit": "",
        "limit": None,
        "suggestion": "最近一次 WAL 归档失败：查看 PostgreSQL 日志与 /var/log/pgbackrest 中的报错并修复，确认积压的 WAL 已归档。",
    },
    "BACKUP-VERIFY-001": {
        "title": "最近一次完整性校验",
        "unit": "s",
        "limit": "verify_age_s",
        "suggestion": "完整性校验过期或未通过：执行 yunwei run backup_verify，按校验结果处理损坏的文件（重新全量备份）。",
    },
    "BACKUP-VERIFY-002": {
        "title": "备份完整性校验结果",
        "unit": "",
        "limit": None,
        "suggestion": "校验发现损坏或缺失的文件（见证据）：立即做一次新的全量备份，排查存储介质，并在恢复测试中避开受影响的备份。",
    },
    "BACKUP-REPO-001": {
        "title": "备份存储库剩余空间",
        "unit": "%",
        "limit": "repo_free_pct",
        "suggestion": "备份存储空间不足：扩容备份存储，或在合规前提下（保留期不少于 183 天）清理过期备份。",
    },
    "BACKUP-REPO-002": {
        "title": "备份存储库预计写满天数",
        "unit": "d",
        "limit": "repo_days_full",
        "suggestion": "按当前增长速度存储库将很快写满：规划扩容，检查是否有异常增长的数据集。",
    },
    "BACKUP-REPO-003": {
        "title": "备份存储库可读取",
        "unit": "",
        "limit": None,
        "suggestion": "无法读取存储库（口令错误、文件损坏或权限问题，见证据）：勿覆盖现有存储库，核对 vault 中的口令并执行校验。",
    },
}

# Limits per tier. newest: any backup (the incremental window); full: a full backup;
# offsite: the newest backup in the off-site repository; verify: the last integrity check;
# wal_lag: the live RPO of a PostgreSQL data set (our target 60 s, the contract 1 h).
TIER_LIMITS = {
    "core": {
        "newest_age_s": {"warn": 5400, "crit": 10800},          # incremental hourly: 1.5 h / 3 h
        "full_age_s": {"warn": 93600, "crit": 180000},          # full daily: 26 h / 50 h
        "offsite_age_s": {"warn": 10800, "crit": 93600},        # 3 h / 26 h
        "wal_lag_s": {"warn": 120, "crit": 600},
        "verify_age_s": {"warn": 2764800, "crit": 5356800},     # 32 d / 62 d
    },
    "general": {
        "newest_age_s": {"warn": 93600, "crit": 180000},        # incremental daily: 26 h / 50 h
        "full_age_s": {"warn": 612000, "crit": 1216800},        # full weekly: 7 d 2 h / 14 d 2 h
        "offsite_age_s": {"warn": 93600, "crit": 180000},
        "wal_lag_s": {"warn": 600, "crit": 3600},
        "verify_age_s": {"warn": 2764800, "crit": 5356800},
    },
}

# Repository limits (the same for every tier): "low" = smaller is worse.
REPO_LIMITS = {
    "repo_free_pct": {"warn": 20, "crit": 10, "direction": "low"},
    "repo_days_full": {"warn": 30, "crit": 7, "direction": "low"},
}

TIERS = tuple(sorted(TIER_LIMITS))
KINDS = ("files", "postgresql")
MIN_RETENTION_DAYS = 183  # six months: the contract's floor


def limits_for(tier, overrides=None):
    """The effective limits of ``tier``: the table above, then ``overrides[tier][key]`` (warn/crit merged)."""
    out = {}
    for key, value in TIER_LIMITS[tier].items():
        out[key] = dict(value)
    for key, value in REPO_LIMITS.items():
        out[key] = {"warn": value["warn"], "crit": value["crit"]}
    for key, value in ((overrides or {}).get(tier) or {}).items():
        if key in out and isinstance(value, dict):
            out[key].update({k: v for k, v in value.items() if k in ("warn", "crit")})
    return out


def direction(key):
    return REPO_LIMITS.get(key, {}).get("direction", "high")


def judge(value, key, limits):
    """(status, {warn, crit}) of ``value`` against ``limits[key]``; None is ok (nothing to judge)."""
    lim = limits[key]
    if value is None:
        return "ok", lim
    if direction(key) == "high":
        if value >= lim["crit"]:
            return "crit", lim
        if value >= lim["warn"]:
            return "warn", lim
    else:
        if value <= lim["crit"]:
            return "crit", lim
        if value <= lim["warn"]:
            return "warn", lim
    return "ok", lim


def validate_limits(data, name="backup_tier_limits"):
    """Problems (naming the variable) of a tier-limit override mapping."""
    problems = []
    if data in (None, {}):
        return problems
    if not isinstance(data, dict):
        return ["%s: must be a mapping {tier: {limit: {warn, crit}}}" % name]
    known = set(TIER_LIMITS["core"]) | set(REPO_LIMITS)
    for tier, keys in data.items():
        where = "%s.%s" % (name, tier)
        if tier not in TIER_LIMITS:
            problems.append("%s: unknown tier (known: %s)" % (where, ", ".join(TIERS)))
            continue
        if not isinstance(keys, dict):
            problems.append("%s: must be a mapping of limits" % where)
            continue
        for key, lim in keys.items():
            at = "%s.%s" % (where, key)
            if key not in known:
                problems.append("%s: unknown limit (known: %s)" % (at, ", ".join(sorted(known))))
                continue
            if not isinstance(lim, dict) or set(lim) - {"warn", "crit"}:
                problems.append("%s: must be a mapping with warn and/or crit" % at)
                continue
            for part, val in lim.items():
                if isinstance(val, bool) or not isinstance(val, (int, float)) or val != val or val < 0 or val == float("inf"):
                    problems.append("%s.%s: must be a finite number >= 0, got %r" % (at, part, val))
    return problems


def check(check_id, status, value, evidence, instance="", threshold=None, unit=None):
    """One check dict (docs/data-model.md) of the vocabulary entry ``check_id``."""
    entry = CHECKS[check_id]
    return {
        "id": check_id,
        "category": CATEGORY,
        "title": entry["title"],
        "instance": instance or "",
        "status": status,
        "value": round(value, 2) if isinstance(value, float) else value,
        "unit": entry["unit"] if unit is None else unit,
        "threshold": threshold if threshold is not None else "",
        "evidence": evidence,
        "suggestion": "" if status == "ok" else entry["suggestion"],
    }


def judged(check_id, value, evidence, limits, instance=""):
    """A check whose status comes from its vocabulary limit key."""
    status, lim = judge(value, CHECKS[check_id]["limit"], limits)
    return check(check_id, status, value, evidence, instance=instance, threshold=lim)

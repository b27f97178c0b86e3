"""``yunwei backup status [--json]``: every data set and repository against its limits (exit 1 when out)."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from yunwei import ui
from yunwei.backup import collect

STATUS_TEXT = {"ok": "正常", "warn": "警告", "crit": "严重"}


def _when(epoch: Any) -> str:
    """An epoch in the client's zone ($YUNWEI_TZ, as the reports)."""
    from yunwei.reports.periods import client_tz

    return datetime.fromtimestamp(float(epoch), timezone.utc).astimezone(client_tz()).strftime("%m-%d %H:%M") if epoch else "-"


def _age(sec: Any) -> str:
    if sec is None:
        return "-"
    sec = float(sec)
    return f"{sec:.0f}s" if sec < 120 else f"{sec / 60:.0f}min" if sec < 7200 else f"{sec / 3600:.1f}h" if sec < 172800 else f"{sec / 86400:.1f}d"


def _size(num: Any) -> str:
    return "-" if num is None else f"{float(num) / 2 ** 20:.1f}MiB"


def _last(row: dict, kind: str) -> str:
    item = (row.get("last") or {}).get(kind)
    if not item:
        return "-"
    extra = [x for x in (_size(item.get("size")) if item.get("size") is not None else "",
                         f"{item['duration_s']:.0f}s" if item.get("duration_s") is not None else "") if x]
    return _when(item.get("time")) + (f" ({', '.join(extra)})" if extra else "")


def _cmd_status(args: argparse.Namespace) -> int:
    status = collect(jobs_file=args.jobs, quiet=not args.verbose)
    if args.json:
        ui.print_json(status.to_dict())
        return 0 if status.ok else 1
    rows = [r for r in status.rows if r.get("repo") != "wal"]
    ui.table(["数据集", "层级", "存储库", "来源", "最近全量", "最近差异", "最近增量", "距今/时限", "加密", "校验", "剩余", "状态"],
             [[r["dataset"], r["tier"], f"{r['repo']}@{r.get('repo_host') or '-'}", r.get("source_host"),
               _last(r, "full"), _last(r, "diff"), _last(r, "incr"),
               f"{_age(r.get('newest_age_s'))}/{_age((r.get('limit_s') or {}).get('warn'))}",
               "是" if r.get("encrypted") else "否", STATUS_TEXT.get((r.get("verify") or {}).get("status"), "-"),
               f"{r['free_pct']}%" + (f" {r['days_until_full']:.0f}d" if r.get("days_until_full") else "") if r.get("free_pct") is not None else "-",
               STATUS_TEXT.get(r.get("status"), r.get("status"))] for r in rows])
    wal = [r for r in status.rows if r.get("repo") == "wal"]
    if wal:
        print()
        ui.table(["数据集", "主机", "WAL 归档延迟 (RPO)", "时限", "最近归档", "状态"],
                 [[r["dataset"], r.get("source_host"), ("≤" if r.get("wal_lag_bounded") else "") + _age(r.get("wal_lag_s")), _age((r.get("limit_s") or {}).get("warn")),
                   f"{r.get('last_archived_wal') or '-'} {_when(r.get('last_archived_time'))}",
                   STATUS_TEXT.get(r.get("status"), r.get("status"))] for r in wal])
    for host in status.unreachable:
        print(f"严重 {host}: 无法连接，状态未知")
    bad = status.out_of_limits
    print()
    if not bad and not status.unreachable:
        print(f"全部数据集在时限内（run {status.run_id}）")
        return 0
    from yunwei.reports.humanise import local_text
    from yunwei.reports.periods import client_tz

    for c in bad:
        print(f"{STATUS_TEXT[c['status']]} {c['id']} {c['host']} {c['instance']}: {local_text(c['evidence'], client_tz())}")
        print(f"    处理建议：{c['suggestion']}")
    print(f"{len(bad)} 项超出时限（run {status.run_id}）")
    return 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("backup", help="backups: status of every data set and repository")
    sub = p.add_subparsers(dest="backup_command", metavar="ACTION", required=True)
    s = sub.add_parser("status", help="last backups, ages against the tier limits, WAL lag, verify, free space (exit 1 when out of limits)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--jobs", help="site job catalogue (default $YUNWEI_JOBS)")
    s.add_argument("--verbose", "-v", action="store_true", help="show the job's progress")
    s.set_defaults(func=_cmd_status)

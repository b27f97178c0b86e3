"""``yunwei drill status [--json]``: the last restore test per data set and the last drill per scenario,
with RTO/RPO, and whether this month's restore test and this quarter's drill were done (exit 1 when not,
or when a last result failed)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from yunwei import ui

RESULT = {"pass": "通过", "fail": "不通过"}
KIND = {"restore": "恢复测试", "drill": "恢复演练"}


def _sec(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}s" if float(value) < 120 else f"{float(value) / 60:.1f}min"


def _when(iso: str) -> str:
    from yunwei.reports.periods import client_tz

    return datetime.fromisoformat(iso).astimezone(client_tz()).strftime("%Y-%m-%d %H:%M")


def _cmd_status(args: argparse.Namespace) -> int:
    from yunwei.drill import compute
    from yunwei.store import open_reader

    store = open_reader()
    if store is None:  # no journal yet: nothing was done
        status = compute(None)
    else:
        with store:
            status = compute(store)
    if args.json:
        ui.print_json(status.to_dict())
        return 0 if status.ok else 1
    if status.rows:
        ui.table(["类型", "场景", "数据集", "时间", "所用备份", "结果", "恢复耗时", "RTO", "RPO", "run"],
                 [[KIND[r["kind"]], r["scenario"] or "-", r["dataset"] or "-", _when(r["time"]), r["backup"] or "-",
                   RESULT[r["result"]], _sec(r["total_s"]), _sec(r["rto_s"]), _sec(r["rpo_s"]), r["run_id"][:8]]
                  for r in status.rows])
    else:
        print("尚无恢复测试或恢复演练记录")
    for r in status.rows:
        for problem in r["problems"][:3]:
            print(f"不通过 {r['dataset'] or r['run_id'][:8]}: {problem[:300]}")
    print()
    for o in status.obligations:
        print(f"{o['what']}（{o['period']}）：{'已完成' if o['met'] else '未完成'}")
    return 0 if status.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("drill", help="restore tests and recovery drills: last results, RTO/RPO, obligations")
    sub = p.add_subparsers(dest="drill_command", metavar="ACTION", required=True)
    s = sub.add_parser("status", help="last restore test per data set, last drill per scenario (exit 1 when an obligation "
                                      "is not met or a last result failed)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_status)

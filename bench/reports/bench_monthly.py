"""Benchmark: the monthly report (《系统运行月度总结报告》) over a synthetic journal.

31 days x 3 runs x N hosts x 60 checks (+10 metrics per host and run), SQLite store, written
through the store API. For each N, the report (assembly + charts + HTML, DOCX, XLSX) runs in a
fresh process; we report wall and CPU time (median of --repeat) and that process's peak RSS
(CPU time is the figure to compare on a shared, loaded machine).

    python bench/reports/bench_monthly.py                  # 10, 50, 200 hosts
    python bench/reports/bench_monthly.py --hosts 50 --repeat 1

Journals are cached in bench/out/reports/ (git-ignored); --rebuild makes them again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "reports"
START = date(2026, 10, 1)
DAYS, RUNS, CHECKS = 31, 3, 60


def build(hosts: int, path: Path) -> dict:
    from yunwei_dev.synthetic import make_journal
    from yunwei.store import open_store

    path.unlink(missing_ok=True)
    t = time.perf_counter()
    with open_store(path, reap=False) as store:
        truth = make_journal(store, start=START, days=DAYS, runs_per_day=RUNS, hosts=hosts, checks_per_host=CHECKS,
                             seed=hosts)
    return {"build_s": round(time.perf_counter() - t, 1), "runs": len(truth.runs), "checks": truth.checks,
            "metrics": truth.metrics, "db_mb": round(path.stat().st_size / 2**20, 1)}


def measure(path: Path, out: Path) -> dict:
    """Runs in a fresh process: one monthly report, all formats, charts on."""
    from zoneinfo import ZoneInfo

    from yunwei.reports import generate as gen
    from yunwei.reports import charts
    from yunwei.reports.periods import parse_period
    from yunwei.reports.windows import Window
    from yunwei.store import open_store

    charts.cjk_font()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    period = parse_period("month", "2026-10", ZoneInfo("Asia/Shanghai"))
    opts = gen.Options(out_dir=out, windows=[Window("整月重保", START, date(2026, 10, 31))], formats=("html", "docx", "xlsx"))
    opts.dirs = gen.template_dirs(None)
    t0, c0 = time.perf_counter(), time.process_time()
    with open_store(path, reap=False) as store:
        data = gen.assemble_data("monthly", store, period, opts)
    t1, c1 = time.perf_counter(), time.process_time()
    doc = gen.layout("monthly", data, opts)
    payloads = gen.render_all("monthly", doc, data, opts)
    for fmt, payload in payloads.items():
        gen.write_atomic(out / f"monthly-2026-10.{fmt}", payload)
    t2, c2 = time.perf_counter(), time.process_time()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"assemble_s": round(t1 - t0, 2), "render_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
            "assemble_cpu_s": round(c1 - c0, 2), "total_cpu_s": round(c2 - c0, 2), "peak_rss_mb": round(peak / 1024, 1), "base_rss_mb": round(base_rss / 1024, 1),
            "checks_counted": data["totals"]["checks"], "done": data["inspections"]["done"],
            "required": data["inspections"]["required"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="10,50,200")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--measure", metavar="JOURNAL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure), OUT / "render")))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in [int(x) for x in args.hosts.split(",")]:
        path = OUT / f"journal-{n}.sqlite"
        info = {}
        if args.rebuild or not path.exists():
            info = build(n, path)
            print(f"built {path.name}: {info}", file=sys.stderr)
        else:
            info = {"checks": DAYS * RUNS * n * CHECKS, "db_mb": round(path.stat().st_size / 2**20, 1)}
        results = []
        for _ in range(args.repeat):
            proc = subprocess.run([sys.executable, __file__, "--measure", str(path)], capture_output=True, text=True,
                                  check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(r[k] for r in results) for k in ("assemble_s", "render_s", "total_s",
                                                                       "assemble_cpu_s", "total_cpu_s",
                                                                       "peak_rss_mb", "base_rss_mb")}
        assert results[0]["checks_counted"] == info["checks"], (results[0], info)
        rows.append({"hosts": n, **info, **med, "done": results[0]["done"], "required": results[0]["required"]})
        print(json.dumps(rows[-1]), file=sys.stderr)
    print("| hosts | check results | store (MiB) | assembly wall / CPU (s) | render html+docx+xlsx wall (s) | "
          "total wall / CPU (s) | peak RSS (MiB) | RSS after imports (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['hosts']} | {r['checks']:,} | {r['db_mb']} | {r['assemble_s']} / {r['assemble_cpu_s']} | "
              f"{r['render_s']} | {r['total_s']} / {r['total_cpu_s']} | {r['peak_rss_mb']} | {r['base_rss_mb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the service desk (issue 17): a year of synthetic tickets in SQLite and PostgreSQL.

For each backend and size (default 5,000 and 20,000 tickets over 2026, the realistic grade mix of
tests/service_journals.py) it measures, each in a fresh process, median of --repeat runs:

- ``ticket list --open``      tickets.list_tickets(open_only=True)      vs  SELECT * of the same rows
- the annual service section  report_data.service_section(year)         vs  SELECT of the year's rows
- the monthly register        generate("tickets", month, docx + xlsx)   vs  SELECT * of the month's rows

and the peak RSS of the section and the register against the process after its imports: flat in the
number of tickets means the same peak at 5,000 and 20,000. Stores and results go to bench/out/servicedesk/.

    .venv/bin/python bench/servicedesk/bench.py --sizes 5000,20000 --repeat 3
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
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "servicedesk"
sys.path.insert(0, str(ROOT / "tests"))
NOW = datetime(2026, 12, 31, 8, tzinfo=timezone.utc)   # 16:00 on the last day: the latest tickets still open
MONTH, YEAR = "2026-06", "2026"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------- one measurement (child)
def measure(what: str, url: str) -> dict:
    from yunwei.reports.periods import client_tz, parse_period
    from yunwei.servicedesk import store as sd
    from yunwei.servicedesk import tickets as tk
    from yunwei.servicedesk.report_data import service_section
    from yunwei.store import open_store

    store = open_store(url, reap=False)
    tz = client_tz()
    if what == "register":   # import what rendering needs before the baseline RSS is taken
        import docx  # noqa: F401
        import openpyxl  # noqa: F401

        from yunwei.reports import generate as gen
        from yunwei.reports import render_docx, render_xlsx  # noqa: F401
    base_rss = rss_mib()
    cols = ", ".join(sd.TICKET_COLS)
    if what == "open":
        t = time.perf_counter()
        rows = store.query(f"SELECT {cols} FROM tickets WHERE state IN ('new', 'acked', 'resolved') "
                           "ORDER BY opened_at DESC")
        baseline = time.perf_counter() - t
        t = time.perf_counter()
        result = tk.list_tickets(store, open_only=True, now=NOW.timestamp())
        took = time.perf_counter() - t
        n = len(result)
        assert n == len(rows)
    elif what == "annual":
        p = parse_period("year", YEAR, tz)
        t = time.perf_counter()
        rows = store.query("SELECT grade, channel, opened_at, responded_at, resolved_at, onsite_at, breaches FROM tickets "
                           "WHERE opened_at >= ? AND opened_at < ?", (p.since.timestamp(), p.until.timestamp()))
        baseline = time.perf_counter() - t
        n = len(rows)
        del rows
        t = time.perf_counter()
        sv = service_section(store, p, now=NOW, monthly_rows=True)
        took = time.perf_counter() - t
        assert sv["tickets"] == n
    elif what == "register":
        p = parse_period("month", MONTH, tz)
        t = time.perf_counter()
        rows = store.query(f"SELECT {cols} FROM tickets WHERE opened_at >= ? AND opened_at < ?",
                           (p.since.timestamp(), p.until.timestamp()))
        baseline = time.perf_counter() - t
        n = len(rows)
        del rows
        opts = gen.Options(out_dir=OUT / "reports", formats=("docx", "xlsx"), now=NOW)
        t = time.perf_counter()
        gen.generate("tickets", store, p, opts)
        took = time.perf_counter() - t
    else:
        raise SystemExit(f"unknown measurement {what}")
    store.close()
    return {"what": what, "seconds": took, "baseline_seconds": baseline, "rows": n,
            "rss_base_mib": base_rss, "rss_peak_mib": rss_mib()}


def cli_open(url: str) -> float:
    """Wall time of the command an operator types (process start and imports included)."""
    t = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "yunwei"), "ticket", "list", "--open", "--store", url],
                   check=True, capture_output=True)
    return time.perf_counter() - t


# ----------------------------------------------------------------------------- orchestration
def build(url: str, n: int) -> dict:
    from service_journals import make_tickets

    from yunwei.store import open_store

    with open_store(url) as store:
        return make_tickets(store, per_day=n / 365.0, now=NOW, seed=17)


def child(what: str, url: str) -> dict:
    env = {**os.environ, "YUNWEI_VAR": str(OUT / "var")}
    proc = subprocess.run([sys.executable, __file__, "--measure", what, "--store", url], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,20000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--measure")
    ap.add_argument("--store")
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.store)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["YUNWEI_VAR"] = str(OUT / "var")
    results = []
    from contextlib import ExitStack

    from pg_server import pg_server

    with ExitStack() as stack:
        pg = stack.enter_context(pg_server()) if "postgresql" in args.backends else None
        for backend in args.backends.split(","):
            for n in (int(x) for x in args.sizes.split(",")):
                if backend == "sqlite":
                    path = OUT / f"tickets-{n}.sqlite"
                    for f in OUT.glob(f"tickets-{n}.sqlite*"):
                        f.unlink()
                    url = str(path)
                else:
                    import psycopg

                    name = f"bench_{n}"
                    with psycopg.connect(pg, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                        conn.execute(f'CREATE DATABASE "{name}"')
                    url = pg.replace("/postgres?", f"/{name}?", 1)
                t = time.perf_counter()
                made = build(url, n)
                print(f"{backend} {n}: {made} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
                row = {"backend": backend, "tickets": made["tickets"], "mix": made}
                for what in ("open", "annual", "register"):
                    runs = [child(what, url) for _ in range(args.repeat)]
                    row[what] = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "what"}
                    print(f"  {what}: {row[what]}", file=sys.stderr)
                row["cli_open_s"] = statistics.median(cli_open(url) for _ in range(args.repeat))
                results.append(row)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(table(results))


def table(results: list[dict]) -> str:
    lines = ["| backend | tickets | measurement | rows | time (s) | baseline SELECT (s) | ratio | peak RSS (MiB) | "
             "RSS after imports (MiB) |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    names = {"open": "`ticket list --open`", "annual": "annual service section", "register": "monthly register (docx+xlsx)"}
    for r in results:
        for what in ("open", "annual", "register"):
            m = r[what]
            lines.append(f"| {r['backend']} | {r['tickets']:,} | {names[what]} | {int(m['rows']):,} | {m['seconds']:.3f} | "
                         f"{m['baseline_seconds']:.4f} | {m['seconds'] / max(m['baseline_seconds'], 1e-6):.1f}× | "
                         f"{m['rss_peak_mib']:.1f} | {m['rss_base_mib']:.1f} |")
        lines.append(f"| {r['backend']} | {r['tickets']:,} | `yunwei ticket list --open` (whole command) | | "
                     f"{r['cli_open_s']:.2f} | | | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()

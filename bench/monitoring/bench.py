"""Alert latency per fault kind (fault -> message at the 企业微信 receiver) over N injections each,
CPU and memory of each exporter and of Prometheus on the lab, a projection for 200 hosts, and the
daily inspection's wall time with the exporters running vs stopped (A/B, interleaved).

Run from the repository root, with the lab up and monitoring set up (`yunwei lab monitoring`):

    YUNWEI_LAB_NAME=r18 .venv/bin/python bench/monitoring/bench.py --runs 10 > bench/out/monitoring.json

Not a test: it prints JSON and a Markdown summary (stderr) for bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import test_monitoring_lab as t  # noqa: E402  (the faults and the receiver machinery of the lab test)

EXPORTERS = {"web01": ["prometheus-node-exporter", "prometheus-nginx-exporter"],
             "db01": ["prometheus-node-exporter", "prometheus-postgres-exporter"],
             "mon01": ["prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter"]}


def quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def proc_usage(lab, host: str, name: str) -> tuple[float, int]:
    """(CPU seconds so far, RSS bytes) of the process ``name`` in ``host``'s container."""
    out = lab.exec(host, "sh", "-c", f"pid=$(pgrep -xo {name[:15]} || pgrep -fo /usr/bin/{name}); "
                   "cat /proc/$pid/stat; grep VmRSS /proc/$pid/status").stdout.splitlines()
    fields = out[0].rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(out[1].split()[1]) * 1024
    return cpu, rss


def resources(lab, seconds: float = 60.0) -> dict[str, dict[str, float]]:
    first = {(h, n): proc_usage(lab, h, n) for h, names in EXPORTERS.items() for n in names}
    time.sleep(seconds)
    out = {}
    for (h, n), (cpu0, _) in first.items():
        cpu1, rss = proc_usage(lab, h, n)
        out[f"{h}/{n}"] = {"cpu_pct": round(100 * (cpu1 - cpu0) / seconds, 2), "rss_mib": round(rss / 2**20, 1)}
    return out


def inspection_ab(runs: int) -> dict[str, float]:
    """The daily inspection's wall time with the exporters running and stopped, interleaved."""
    env = {**os.environ, "YUNWEI_STORE": str(Path(tempfile.mkdtemp()) / "journal.sqlite")}
    lab_hosts = ["web01", "db01", "backup01", "offsite01", "drill01", "mon01"]
    times: dict[str, list[float]] = {"exporters running": [], "exporters stopped": []}
    from yunwei_dev.lab import Lab

    lab = Lab.from_env()
    for i in range(runs * 2):
        running = i % 2 == 0
        for h in lab_hosts:
            lab.exec(h, "service", "prometheus-node-exporter", "start" if running else "stop", check=False)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "yunwei", "inspect", "--profile", "daily"], env=env, cwd=ROOT,
                       capture_output=True, check=False)
        times["exporters running" if running else "exporters stopped"].append(time.monotonic() - t0)
    for h in lab_hosts:
        lab.exec(h, "service", "prometheus-node-exporter", "start", check=False)
    return {k: round(statistics.median(v), 2) for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10, help="injections per fault kind (>= 10 for the README)")
    ap.add_argument("--kinds", default=",".join(t.FAULTS), help="comma-separated fault kinds")
    ap.add_argument("--inspections", type=int, default=3, help="inspection A/B pairs")
    args = ap.parse_args()
    from yunwei_dev.lab import Lab

    lab_obj = Lab.from_env()
    state = lab_obj.monitoring()
    mon = t.Monitoring(state, Path(tempfile.mkdtemp(prefix="bench-monitoring-")))
    result: dict[str, object] = {"runs": args.runs, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        lat: dict[str, list[float]] = {}
        missed: dict[str, list[str]] = {}
        for _ in range(args.runs):
            for name in args.kinds.split(","):
                try:  # a missed notification is a result to report, not the end of the benchmark
                    lat.setdefault(name, []).append(t.one_fault(mon, name))
                except AssertionError as exc:
                    missed.setdefault(name, []).append(str(exc).splitlines()[0])
                print(f"{name}: {lat.get(name, [])[-1:]} missed {len(missed.get(name, []))}", file=sys.stderr)
            partial = ROOT / "bench" / "out" / "monitoring-latency.partial.json"  # what a long run has so far
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"latency_s": lat, "missed": missed}, indent=1) + "\n")
        result["latency_s"] = {k: {"median": round(statistics.median(v), 2), "p90": round(quantile(v, 0.9), 2),
                                   "max": round(max(v), 2), "n": len(v), "over_15s": sum(x >= 15 for x in v),
                                   "missed": len(missed.get(k, []))} for k, v in lat.items()}
        result["missed"] = missed
        result["resources"] = resources(state)
        samples = mon.query("scrape_samples_scraped")
        per_host = sum(float(r["value"][1]) for r in samples) / max(1, len(state.hosts))
        head = mon.query("prometheus_tsdb_head_series")
        result["prometheus"] = {"samples_per_host_per_scrape": round(per_host), "head_series": head[0]["value"][1],
                                "projection_200_hosts_samples_per_s": round(per_host * 200)}
        if args.inspections:
            result["inspection_wall_s"] = inspection_ab(args.inspections)
    finally:
        mon.close()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for k, v in result.get("latency_s", {}).items():
        print(f"| {k} | {v['n']} | {v['median']} | {v['p90']} | {v['max']} | {v['missed']} |", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The stress test's own ceiling (issue 20): how many requests/s wrk can drive on this machine against a
static nginx page (the lab's web01, at its inventory address), so that a capacity figure in
《压力测试报告》 can be told apart from the generator's limit.

Variants, interleaved per repetition so machine load hits them alike, each `--seconds` long:
- baseline: plain wrk, unpaced (no Lua script), 2 threads, C connections;
- yunwei: the stress test's own wrk invocation and Lua script (yunwei.stress.wrk) with no pause
  (delay 0): the overhead of the script that paces connections and prints the percentiles.
Figures: median requests/s per variant and connection count, and yunwei/baseline as a ratio.
Bounded: 2 variants x len(--connections) x --reps runs of --seconds each.

    YUNWEI_LAB_NAME=r20 .venv/bin/python bench/stress/bench.py --seconds 5 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import yaml

from yunwei.stress import wrk

ROOT = Path(__file__).resolve().parents[2]


def web01_address() -> str:
    name = os.environ.get("YUNWEI_LAB_NAME", "")
    inv = ROOT / "var" / "labs" / name / "inventory" / "hosts.yml" if name else ROOT / "inventories" / "lab" / "hosts.yml"
    data = yaml.safe_load(inv.read_text())
    return data["all"]["hosts"]["web01"]["ansible_host"]


def plain(url: str, seconds: int, conns: int) -> float:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(conns), "-d", f"{seconds}s", url], capture_output=True,
                         text=True, timeout=seconds + 30, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def paced(url: str, seconds: int, conns: int, script: str) -> float:
    cmd = wrk.command(shutil.which("wrk") or "wrk", url, script, seconds=seconds, connections=conns)
    out = subprocess.run(cmd, env={**os.environ, "YUNWEI_WRK_DELAY_MS": "0"}, capture_output=True, text=True,
                         timeout=seconds + 30, check=True).stdout
    return wrk.parse(out)["rps"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--connections", default="8,32,128")
    args = ap.parse_args()
    url = f"http://{web01_address()}/"
    conns = [int(c) for c in args.connections.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    script = tmp / "step.lua"
    script.write_text(wrk.SCRIPT)
    results: dict[str, dict[int, list[float]]] = {"baseline": {c: [] for c in conns}, "yunwei": {c: [] for c in conns}}
    for _ in range(args.reps):
        for c in conns:
            results["baseline"][c].append(plain(url, args.seconds, c))
            results["yunwei"][c].append(paced(url, args.seconds, c, str(script)))
    shutil.rmtree(tmp, ignore_errors=True)
    summary = {c: {"baseline_rps": statistics.median(results["baseline"][c]),
                   "yunwei_rps": statistics.median(results["yunwei"][c])} for c in conns}
    for c, s in summary.items():
        s["ratio"] = round(s["yunwei_rps"] / s["baseline_rps"], 3)
        print(f"{c:4d} connections: wrk {s['baseline_rps']:9.0f} req/s, yunwei script {s['yunwei_rps']:9.0f} req/s, "
              f"ratio {s['ratio']}")
    print(f"ceiling (highest median): {max(s['baseline_rps'] for s in summary.values()):.0f} req/s against {url}")
    out = ROOT / "bench" / "out" / "stress"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"url": url, "seconds": args.seconds, "reps": args.reps,
                                                  "raw": results, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Wall time of the daily inspection on the lab against `ansible all -m ping` (the floor) and
against bench/inspection/naive.yml (the same checks, one shell task per check).

    YUNWEI_LAB_NAME=ywinsp .venv/bin/python bench/inspection/bench.py --rounds 3
    ... --compare /tmp/main-src     # also another checkout's inspection (e.g. `git archive main`), same run

Variants are interleaved round by round so that load changes on the machine hit all of them.
Prints a Markdown table (median of the rounds) and writes it to bench/out/inspection.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"


def lab_inventory() -> Path:
    from yunwei_dev.lab import Lab

    return Lab.from_env().up().inventory


def run(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--inventory", help="inventory (default: the lab of $YUNWEI_LAB_NAME)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--forks", type=int, nargs="+", default=[1, 5])
    ap.add_argument("--compare", type=Path, metavar="DIR",
                    help="another checkout whose playbooks/inspect.yml runs too, with its own src/ and ansible.cfg")
    args = ap.parse_args()
    inventory = args.inventory or str(lab_inventory())
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "YUNWEI_STORE": str(OUT / "inspection-journal.sqlite"), "YUNWEI_JOB": "bench",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    inspect = [str(BIN / "ansible-playbook"), "-i", inventory, "playbooks/inspect.yml"]
    variants = {
        "ping (floor)": [str(BIN / "ansible"), "all", "-i", inventory, "-m", "ansible.builtin.ping"],
        "inspection (playbooks/inspect.yml)": inspect,
        # an empty journal each time: no recorded package state, so apt-get -s runs on every host (as on the
        # first inspection, and on a day the package lists changed); no baselines, no error-log window
        "inspection, cold journal": inspect,
        "naive (bench/inspection/naive.yml)": [str(BIN / "ansible-playbook"), "-i", inventory,
                                               "bench/inspection/naive.yml"],
    }
    other = {}
    if args.compare:
        variants["compare"] = inspect
        other = {"ANSIBLE_CONFIG": str(args.compare / "ansible.cfg"), "PYTHONPATH": str(args.compare / "src"),
                 "YUNWEI_STORE": str(OUT / "inspection-journal-compare.sqlite")}
    # warm up SSH control masters and caches
    run(variants["ping (floor)"], env)
    results: dict[tuple[int, str], list[float]] = {}
    for forks in args.forks:
        for rnd in range(args.rounds):
            for name, cmd in variants.items():
                cold = OUT / "inspection-cold.sqlite"
                if "cold" in name:
                    for leftover in OUT.glob("inspection-cold.sqlite*"):
                        leftover.unlink()
                if name == "compare":
                    took = run(cmd + ["--forks", str(forks)], {**env, **other}, cwd=args.compare)
                else:
                    took = run(cmd + ["--forks", str(forks)], {**env, "YUNWEI_STORE": str(cold)} if "cold" in name else env)
                results.setdefault((forks, name), []).append(took)
                print(f"forks={forks} round {rnd + 1} {name}: {took:.2f}s", file=sys.stderr, flush=True)
    lines = [
        f"Lab: 5 hosts, {args.rounds} rounds, median wall time in seconds "
        f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs).",
        "",
        "| forks | ping (floor) | inspection | cold journal | naive | inspection / ping | cold / ping "
        "| naive / inspection | naive / cold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if args.compare:
        lines[-2] += f" compared: {args.compare} | compared / ping |"
        lines[-1] += "---|---|"
    for forks in args.forks:
        p, i, c, n = (statistics.median(results[(forks, k)]) for k in list(variants)[:4])
        line = (f"| {forks} | {p:.2f} | {i:.2f} | {c:.2f} | {n:.2f} | {i / p:.2f}× | {c / p:.2f}× "
                f"| {n / i:.2f}× | {n / c:.2f}× |")
        if args.compare:
            m = statistics.median(results[(forks, "compare")])
            line += f" {m:.2f} | {m / p:.2f}× |"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    (OUT / "inspection.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

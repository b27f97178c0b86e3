#!/usr/bin/env python3
"""Wall time of the daily inspection on the lab against `ansible all -m ping` (the floor) and
against bench/inspection/naive.yml (the same checks, one shell task per check).

    YUNWEI_LAB_NAME=ywinsp .venv/bin/python bench/inspection/bench.py --rounds 3
    .venv/bin/python bench/inspection/bench.py --base /tmp/base-checkout     # + the same inspection of an
                                                                            # older checkout (A/B)

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
    ap.add_argument("--base", type=Path, help="an older checkout (e.g. `git archive REV | tar -x -C DIR`): its "
                    "inspection runs as one more variant, with its own src/ and journal")
    ap.add_argument("--no-naive", action="store_true", help="leave out the (slow) naive playbook")
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
    if args.no_naive:
        del variants["naive (bench/inspection/naive.yml)"]
    base_env = {}
    if args.base:
        base = args.base.resolve()
        variants["inspection of --base"] = [str(BIN / "ansible-playbook"), "-i", inventory, "playbooks/inspect.yml"]
        base_env = {**env, "ANSIBLE_CONFIG": str(base / "ansible.cfg"), "PYTHONPATH": str(base / "src"),
                    "YUNWEI_ROOT": str(base), "YUNWEI_STORE": str(OUT / "inspection-base-journal.sqlite")}
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
                if name == "inspection of --base":
                    took = run(cmd + ["--forks", str(forks)], base_env, cwd=args.base.resolve())
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
    for forks in args.forks:
        med = {k: statistics.median(results[(forks, k)]) for k in variants}
        p, i, c = med["ping (floor)"], med["inspection (playbooks/inspect.yml)"], med["inspection, cold journal"]
        n = med.get("naive (bench/inspection/naive.yml)", float("nan"))
        lines.append(f"| {forks} | {p:.2f} | {i:.2f} | {c:.2f} | {n:.2f} | {i / p:.2f}× | {c / p:.2f}× "
                     f"| {n / i:.2f}× | {n / c:.2f}× |")
    if args.base:
        lines += ["", f"A/B against {args.base}: the same inspection, interleaved, median of the rounds.", "",
                  "| forks | inspection | --base | inspection / ping | --base / ping | inspection / --base |",
                  "|---|---|---|---|---|---|"]
        for forks in args.forks:
            p = statistics.median(results[(forks, "ping (floor)")])
            i = statistics.median(results[(forks, "inspection (playbooks/inspect.yml)")])
            b = statistics.median(results[(forks, "inspection of --base")])
            lines.append(f"| {forks} | {i:.2f} | {b:.2f} | {i / p:.2f}× | {b / p:.2f}× | {i / b:.2f}× |")
    text = "\n".join(lines) + "\n"
    (OUT / "inspection.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

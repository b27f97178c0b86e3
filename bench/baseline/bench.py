#!/usr/bin/env python3
"""Wall time of the baseline audit (every rule, one module call per host) against
`lynis audit system --quick` on the same lab host, in the same run, with `ansible -m ping` as the floor.

    YUNWEI_LAB_NAME=r16 .venv/bin/python bench/baseline/bench.py --host web01 --rounds 3

Installs Lynis (Debian package) on the host first when it is missing: run it on a lab, not production.
Variants are interleaved round by round so that load changes on the machine hit all of them. Prints a
Markdown table (medians) and writes it to bench/out/baseline.md.
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


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--inventory", help="inventory (default: the lab of $YUNWEI_LAB_NAME)")
    ap.add_argument("--host", default="web01")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    inventory = args.inventory or str(lab_inventory())
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "YUNWEI_STORE": str(OUT / "baseline-journal.sqlite"), "YUNWEI_JOB": "bench",
           "YUNWEI_VAR": str(OUT / "baseline-var"), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    adhoc = [str(BIN / "ansible"), args.host, "-i", inventory, "--become"]
    run(adhoc + ["-m", "ansible.builtin.apt", "-a", "name=lynis update_cache=true cache_valid_time=86400"], env)
    variants = {
        "ping (floor)": adhoc + ["-m", "ansible.builtin.ping"],
        "baseline audit (playbooks/baseline_audit.yml)": [str(BIN / "ansible-playbook"), "-i", inventory, "-l",
                                                           args.host, "playbooks/baseline_audit.yml"],
        "lynis audit system --quick": adhoc + ["-m", "ansible.builtin.command", "-a",
                                               "lynis audit system --quick --no-colors --no-log"],
    }
    run(variants["ping (floor)"], env)  # warm up the SSH control master
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rnd in range(args.rounds):
        for name, cmd in variants.items():
            times[name].append(run(cmd, env))
            print(f"round {rnd + 1}: {name}: {times[name][-1]:.2f} s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    ping, audit, lynis = med["ping (floor)"], med["baseline audit (playbooks/baseline_audit.yml)"], \
        med["lynis audit system --quick"]
    lines = [f"host {args.host}, {args.rounds} rounds, medians (all runs in seconds)", "",
             "| variant | wall median | runs |", "|---|---|---|"]
    lines += [f"| {k} | {med[k]:.2f} s | {', '.join(f'{x:.1f}' for x in v)} |" for k, v in times.items()]
    lines += ["", f"audit / lynis (wall): **{audit / lynis:.2f}**; above the ping floor: "
                  f"(audit − ping) / (lynis − ping) = **{(audit - ping) / max(lynis - ping, 1e-9):.2f}**"]
    text = "\n".join(lines) + "\n"
    (OUT / "baseline.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: cost of the yunwei.ops.journal callback, with ARA beside it.

Runs, in one invocation and interleaved (off/on/off/on...), on the local connection:
  A. 20 hosts x 100 tasks: no recorder vs the journal (SQLite)        -> overhead, target <= 5%
  B. 20 hosts x 60 tasks:  no recorder vs ARA (offline, sqlite) vs the journal
and reports median wall time, CPU time of the ansible process tree, ratios, and store size
per 1,000 results. Not a test: run it by hand.

    .venv/bin/python bench/journal/bench.py [--reps 3] [--out bench/out/journal]

ARA (`ara[server]`) is installed into the running venv when missing (it is not a dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def ensure_ara() -> str:
    try:
        import ara  # noqa: F401
    except ImportError:
        print("bench: installing ara[server] into", sys.prefix, file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "ara[server]"], check=True)
    out = subprocess.run([sys.executable, "-m", "ara.setup.callback_plugins"], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip()


def write_workload(work: Path, hosts: int, tasks: int) -> tuple[Path, Path]:
    inv = work / f"hosts-{hosts}.ini"
    inv.write_text("[bench]\n" + "\n".join(f"node{i:02d}" for i in range(hosts)) +
                   f"\n\n[bench:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n")
    # Mostly tasks that run no module process (debug, set_fact, assert): the cheaper the task,
    # the larger a recorder's share of the run, so this is the worst case for the journal.
    # Every 10th task runs a real module (ping) so results also carry module invocations.
    kinds = [
        "    - name: Ping {i}\n      ansible.builtin.ping:\n",
        "    - name: Debug {i}\n      ansible.builtin.debug:\n        msg: step {i} on {{{{ inventory_hostname }}}}\n",
        "    - name: Fact {i}\n      ansible.builtin.set_fact:\n        step_{i}: \"{{{{ inventory_hostname }}}}-{i}\"\n",
        "    - name: Assert {i}\n      ansible.builtin.assert:\n        that: inventory_hostname | length > 0\n"
        "        quiet: true\n",
    ]
    body = "".join(kinds[0 if i % 10 == 0 else 1 + i % 3].format(i=i) for i in range(tasks))
    pb = work / f"bench-{hosts}x{tasks}.yml"
    pb.write_text(f"- name: Bench {hosts}x{tasks}\n  hosts: bench\n  gather_facts: false\n  tasks:\n" + body)
    return inv, pb


def bench_cfg(work: Path) -> Path:
    """The project's ansible.cfg with no callback enabled (each variant enables its own)."""
    lines = []
    for line in (ROOT / "ansible.cfg").read_text().splitlines():
        if line.replace(" ", "").startswith("callbacks_enabled="):
            continue
        if line.replace(" ", "").startswith("collections_path="):
            line = f"collections_path = {ROOT / '.collections'}"
        lines.append(line)
    cfg = work / "ansible.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def base_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "YUNWEI_", "ARA_"))}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(bench_cfg(work)),
               ANSIBLE_FORKS="20", ANSIBLE_HOME=str(work / "ansible-home"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(work / "tmp"))
    return env


def run_once(inv: Path, pb: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), str(pb)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or "yunwei.ops.journal" in proc.stdout:
        raise SystemExit(f"bench: run failed or warned (rc={proc.returncode}):\n{proc.stdout[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def size_of(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


def count_rows(db: Path, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def bench(name: str, hosts: int, tasks: int, variants: dict[str, dict[str, str]], reps: int, work: Path,
          stores: dict[str, tuple[Path, str]]) -> dict:
    inv, pb = write_workload(work, hosts, tasks)
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    sizes: dict[str, float] = {}
    own: dict[str, list[tuple[float, float, float]]] = {}
    for rep in range(reps):
        for v, env in variants.items():
            if v in stores:  # fresh store each run, so its size is one run's
                db, _ = stores[v]
                shutil.rmtree(db.parent, ignore_errors=True)
                db.parent.mkdir(parents=True)
            timing = env.get("YUNWEI_JOURNAL_TIMING")
            if timing:
                Path(timing).unlink(missing_ok=True)
            wall, cpu = run_once(inv, pb, env)
            times[v].append((wall, cpu))
            if timing:
                t = json.loads(Path(timing).read_text().splitlines()[-1])
                own.setdefault(v, []).append((t["main_s"], t["writer_cpu_s"], wall))
            print(f"bench: {name} rep {rep + 1}/{reps} {v:8s} wall {wall:6.2f}s cpu {cpu:6.2f}s", file=sys.stderr)
            if v in stores:
                db, count_sql = stores[v]
                n = count_rows(db, count_sql)
                files = [db, Path(str(db) + "-wal"), Path(str(db) + "-shm")]
                sizes[v] = size_of(files) / max(n, 1) * 1000
    out = {"name": name, "hosts": hosts, "tasks": tasks, "results": hosts * tasks, "reps": reps, "variants": {}}
    base_wall = statistics.median(w for w, _ in times["off"])
    base_cpu = statistics.median(c for _, c in times["off"])
    for v, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        out["variants"][v] = {
            "wall_median_s": round(wall, 2), "wall_all_s": [round(w, 2) for w, _ in samples],
            "cpu_median_s": round(cpu, 2), "wall_ratio": round(wall / base_wall, 3),
            "cpu_ratio": round(cpu / base_cpu, 3),
            "store_bytes_per_1000_results": round(sizes[v]) if v in sizes else None,
        }
        if v in own:  # the journal's own cost, measured inside the callback (immune to machine noise)
            main_s = statistics.median(m for m, _, _ in own[v])
            writer_s = statistics.median(w for _, w, _ in own[v])
            share = statistics.median((m + w) / wall for m, w, wall in own[v])
            out["variants"][v].update(own_main_thread_s=round(main_s, 3), own_writer_cpu_s=round(writer_s, 3),
                                      own_cost_pct_of_run=round(100 * share, 2))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3, help="runs per variant (median is reported)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "journal"), help="work and result directory")
    ap.add_argument("--skip-ara", action="store_true")
    args = ap.parse_args()
    work = Path(args.out).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = base_env(work)
    journal_db = work / "journal" / "journal.sqlite"
    off = env
    journal = dict(env, ANSIBLE_CALLBACKS_ENABLED="yunwei.ops.journal", YUNWEI_STORE=str(journal_db),
                   YUNWEI_JOURNAL_TIMING=str(work / "journal-timing.jsonl"))
    results_sql = "SELECT COUNT(*) FROM task_results"
    report = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
              time.gmtime())}
    report["ansible"] = subprocess.run([str(BIN / "ansible"), "--version"], capture_output=True, text=True,
                                       env=env).stdout.splitlines()[0]
    report["journal_100"] = bench("journal 20x100", 20, 100, {"off": off, "journal": journal}, args.reps, work,
                                  {"journal": (journal_db, results_sql)})
    if not args.skip_ara:
        ara_plugins = ensure_ara()
        ara_dir = work / "ara"
        ara = dict(env, ANSIBLE_CALLBACK_PLUGINS=ara_plugins, ANSIBLE_CALLBACKS_ENABLED="ara_default",
                   ARA_API_CLIENT="offline", ARA_BASE_DIR=str(ara_dir), ARA_DATABASE_NAME=str(ara_dir / "ansible.sqlite"))
        import ara as _ara  # noqa: F401

        report["ara_version"] = subprocess.run([sys.executable, "-m", "pip", "show", "ara"], capture_output=True,
                                               text=True).stdout.split("Version: ")[1].split()[0]
        report["ara_60"] = bench("ARA vs journal 20x60", 20, 60, {"off": off, "ara": ara, "journal": journal},
                                 args.reps, work,
                                 {"journal": (journal_db, results_sql),
                                  "ara": (ara_dir / "ansible.sqlite", "SELECT COUNT(*) FROM results")})
    (work / "results.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

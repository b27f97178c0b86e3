"""RTO and RPO of the restore drills on the lab (run by hand, not a test; see bench/README.md
"Restore drills").

1. Baseline, in the same run: each database scenario once at the lab's own size (appdb ≈ 20 MB).
2. db01's cluster grown with `pgbench -i -s 50` (database `bench`, ≈ 750 MB: pgBackRest backs up the
   whole cluster, so every restore carries it), then a full backup through the `backup` job (both
   repositories).
3. Per scenario (accidental-drop, host-loss, backup-host-loss) and the monthly restore test of appdb:
   ``--runs`` runs through `yunwei run`, each figure read back from the journal: RTO, RPO and the
   phases (fetch, restore, start, WAL replay, verify). Medians, the ratio against the baseline and
   against the contract's limits (RTO 4 h, RPO 1 h) and our targets (15 min, 60 s).

file-corruption is left out: the site's size does not change with the database's.
At the end the bench database is dropped and a new full backup taken, so the lab's restores are
small again. Its own journal, runner folder and review state live in bench/out/restore_drill/.

    YUNWEI_LAB_NAME=r15 .venv/bin/python bench/restore_drill/bench.py [--runs 3] [--scale 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import yaml
from yunwei_dev.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "restore_drill"
SCENARIOS = ("accidental-drop", "host-loss", "backup-host-loss")
PHASES = ("fetch", "restore", "start", "wal_replay", "verify")
LIMITS = {"rto": (14400, 900), "rpo": (3600, 60)}


def sh(lab, host: str, script: str) -> tuple[float, str]:
    t0 = time.monotonic()
    proc = subprocess.run(["podman", "exec", "-i", lab.container(host), "bash", "-c", script], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{host}: {script[:120]} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return time.monotonic() - t0, proc.stdout


def yunwei(*args: str) -> None:
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "yunwei"), *args, "-q"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"yunwei {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-1500:]}")


def figures(job: str) -> dict:
    """RTO, RPO and phases of the newest run of ``job`` (appdb), from the journal."""
    from yunwei.store import open_store

    with open_store() as store:
        run = store.list_runs(job=job, limit=1)[0]
        m = {x.name: x.value for x in store.metrics(run_id=run.id) if x.instance == "appdb"}
    if run.status != "ok":
        raise SystemExit(f"{job}: run {run.id} {run.status}: {run.reason}")
    return {"run": run.id, "rto_s": m.get("drill.rto_s"), "rpo_s": m.get("drill.rpo_s"), "total_s": m.get("drill.total_s"),
            **{f"{p}_s": m.get(f"drill.{p}_s") for p in PHASES}}


def one(kind: str) -> dict:
    if kind == "restore-test":
        yunwei("run", "restore_test", "-e", "restore_drill_dataset=appdb")
        return figures("restore_test")
    yunwei("run", "drill", "-e", f"scenario={kind}")
    return figures("drill")


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=int, default=50)
    args = ap.parse_args()
    lab = Lab.from_env().up(backups=True)
    from yunwei.paths import var_dir

    vault = os.environ.get("YUNWEI_VAULT_PASSWORD_FILE") or str(var_dir() / "vault-pass")
    OUT.mkdir(parents=True, exist_ok=True)
    repo = yaml.safe_load((ROOT / "jobs.yml").read_text())["jobs"]
    jobs = {"jobs": {n: {**repo[n], "playbook": str(ROOT / repo[n]["playbook"]), "inventory": str(lab.inventory)}
                     for n in ("restore_test", "drill", "backup")}}
    (OUT / "jobs.yml").write_text(yaml.safe_dump(jobs))
    os.environ.update(YUNWEI_VAR=str(OUT / "var"), YUNWEI_STORE=str(OUT / "journal.sqlite"), YUNWEI_JOBS=str(OUT / "jobs.yml"),
                      YUNWEI_VAULT_PASSWORD_FILE=vault)
    out: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "load_before": os.getloadavg(),
                 "runs": args.runs, "scale": args.scale, "baseline": {}, "grown": {}}
    kinds = ("restore-test",) + SCENARIOS
    try:
        for kind in kinds:  # 1. the baseline: the lab's own size
            out["baseline"][kind] = one(kind)
            print(f"baseline {kind}: {out['baseline'][kind]}", flush=True)
        # 2. grown
        sh(lab, "db01", "runuser -u postgres -- dropdb --if-exists bench; runuser -u postgres -- createdb bench")
        t, _ = sh(lab, "db01", f"runuser -u postgres -- pgbench -i -q -s {args.scale} bench")
        out["pgbench_init_s"] = round(t, 1)
        out["cluster_bytes"] = int(sh(lab, "db01", "du -sb --exclude=pg_wal /var/lib/postgresql/15/main | cut -f1")[1])
        t0 = time.monotonic()
        yunwei("run", "backup", "-e", "backup_dataset=appdb", "-e", "backup_type=full")
        out["full_backup_s"] = round(time.monotonic() - t0, 1)
        for kind in kinds:  # 3. the runs, interleaved so that load changes hit every scenario alike
            out["grown"][kind] = []
        for i in range(args.runs):
            for kind in kinds:
                out["grown"][kind].append(one(kind))
                print(f"run {i + 1} {kind}: {out['grown'][kind][-1]}", flush=True)
    finally:
        subprocess.run(["podman", "exec", lab.container("db01"), "runuser", "-u", "postgres", "--", "dropdb", "--if-exists",
                        "bench"], capture_output=True)
        try:
            yunwei("run", "backup", "-e", "backup_dataset=appdb", "-e", "backup_type=full")
        except SystemExit as exc:
            print(f"the closing full backup failed: {exc}")
        out["load_after"] = os.getloadavg()
        (OUT / "results.json").write_text(json.dumps(out, indent=1))
    print(table(out))
    return 0


def table(out: dict) -> str:
    lines = ["| scenario | RTO median (runs) | × baseline | RTO / contract 4 h | RTO / target 15 min | RPO median (runs) | "
             "RPO / contract 1 h | RPO / target 60 s | fetch / restore / start / WAL replay / verify (medians) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, rows in out["grown"].items():
        key = "total_s" if kind == "restore-test" else "rto_s"
        rto, base = median(rows, key), out["baseline"][kind].get(key)
        rpo = median(rows, "rpo_s")
        runs = ", ".join(f"{r[key]:.1f}" for r in rows if r.get(key) is not None)
        rpo_runs = ", ".join(f"{r['rpo_s']:.1f}" for r in rows if r.get("rpo_s") is not None)
        phases = " / ".join(f"{median(rows, p + '_s') or 0:.1f}" for p in PHASES)
        lines.append(f"| {kind} | {rto} s ({runs}) | {rto / base:.1f} | {rto / LIMITS['rto'][0]:.4f} | {rto / LIMITS['rto'][1]:.3f} | "
                     + (f"{rpo} s ({rpo_runs}) | {rpo / LIMITS['rpo'][0]:.4f} | {rpo / LIMITS['rpo'][1]:.2f} | " if rpo is not None
                        else "— | — | — | ") + f"{phases} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

"""Backup benchmark on the lab (run by hand, not a test; see bench/README.md "Backups").

1. db01 grown with `pgbench -i -s 50` (database `bench`, ~750 MB): a full pgBackRest backup into
   repo1 on backup01 vs `tar` of PGDATA piped over SSH from db01 to backup01 (the baseline), in
   the same run: time and throughput.
2. 10,000 pgbench transactions, then an incremental backup: size and time against the full.
3. The site on web01 (grown to ~50 MB of files so there is something to measure): restic first
   and second backup into backup01 vs `rsync -a` over SSH to backup01, first and second run.
4. The WAL archive lag under pgbench load: sampled every 5 s for 5 minutes (median, max), the
   same measure as BACKUP-WAL-001.

Tools run inside the containers through `podman exec` (the lab's trusted channel); the baselines
use a temporary SSH key (root@db01 / root@web01 -> ops@backup01) that the script removes at the end,
as it removes the bench database, the grown files and the baseline copies.

    .venv/bin/python bench/backup/bench.py [--lag-seconds 300]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from yunwei_dev.lab import Lab

ROOT = Path(__file__).resolve().parents[2]

LAG_SQL = ("SELECT coalesce(extract(epoch from now() - (SELECT min(modification) FROM pg_ls_archive_statusdir() "
           "WHERE name LIKE '%.ready')), 0), extract(epoch from now() - last_archived_time), "
           "pg_walfile_name(pg_current_wal_insert_lsn()), last_archived_wal FROM pg_stat_archiver")


def sh(lab, host: str, script: str, check: bool = True) -> tuple[float, str]:
    t0 = time.monotonic()
    proc = subprocess.run(["podman", "exec", "-i", lab.container(host), "bash", "-c", script], capture_output=True, text=True)
    took = time.monotonic() - t0
    if check and proc.returncode != 0:
        raise SystemExit(f"{host}: {script[:120]} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return took, proc.stdout


def pg(lab, sql: str, db: str = "bench") -> str:
    return sh(lab, "db01", f"runuser -u postgres -- psql -XAtq -d {db} -c \"{sql}\"")[1].strip()


def pgbr(lab, args: str) -> tuple[float, str]:
    return sh(lab, "backup01", f"cd /tmp && runuser -u pgbackrest -- pgbackrest --stanza=appdb --repo=1 {args}")


def newest(lab) -> dict:
    info = json.loads(pgbr(lab, "--output=json info")[1])
    return info[0]["backup"][-1]


def temp_key(lab, host: str, ip_backup: str) -> None:
    sh(lab, host, "rm -f /root/.ssh/yw_bench /root/.ssh/yw_bench.pub; mkdir -p /root/.ssh; "
       "ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/yw_bench")
    pub = sh(lab, host, "cat /root/.ssh/yw_bench.pub")[1]
    sh(lab, "backup01", f"echo '{pub.strip()}' >> ~ops/.ssh/authorized_keys")
    sh(lab, host, f"ssh-keyscan -t ed25519 {ip_backup} > /root/.ssh/yw_bench_known 2>/dev/null")


def ssh_cmd(ip: str) -> str:
    return f"ssh -i /root/.ssh/yw_bench -o UserKnownHostsFile=/root/.ssh/yw_bench_known -o BatchMode=yes ops@{ip}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lag-seconds", type=int, default=300)
    ap.add_argument("--scale", type=int, default=50)
    args = ap.parse_args()
    lab = Lab.from_env().up()
    ip = lab.hosts["backup01"]
    out: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                 "load_before": os.getloadavg()}
    for host in ("db01", "web01", "backup01"):
        sh(lab, host, "command -v rsync >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q rsync >/dev/null")
    sh(lab, "db01", "command -v pgbench >/dev/null || true")
    try:
        temp_key(lab, "db01", ip)
        temp_key(lab, "web01", ip)
        sh(lab, "backup01", "install -d -o ops /srv/backup/bench")
        # 1. pgbench -i, then full backup vs tar over SSH
        sh(lab, "db01", "runuser -u postgres -- dropdb --if-exists bench; runuser -u postgres -- createdb bench")
        t, _ = sh(lab, "db01", f"runuser -u postgres -- pgbench -i -q -s {args.scale} bench")
        out["pgbench_init_s"] = round(t, 1)
        # what both read: PGDATA without pg_wal (pgBackRest leaves WAL to the archive)
        out["pgdata_bytes"] = int(sh(lab, "db01", "du -sb --exclude=pg_wal /var/lib/postgresql/15/main | cut -f1")[1])
        sh(lab, "db01", "runuser -u postgres -- psql -XAtq -c 'CHECKPOINT'")
        t_tar, _ = sh(lab, "db01", f"tar -C /var/lib/postgresql/15 --exclude=main/pg_wal -cf - main | {ssh_cmd(ip)} 'cat > /srv/backup/bench/pgdata.tar'")
        t_full, _ = pgbr(lab, "--type=full backup")
        full = newest(lab)
        out["full"] = {"pgbackrest_s": round(t_full, 1), "tar_ssh_s": round(t_tar, 1),
                       "ratio_vs_tar": round(t_full / t_tar, 2),
                       "pgbackrest_MBps": round(full["info"]["size"] / t_full / 1e6, 1),
                       "tar_MBps": round(out["pgdata_bytes"] / t_tar / 1e6, 1),
                       "db_size": full["info"]["size"], "stored": full["info"]["repository"]["delta"],
                       "label": full["label"]}
        save(out)
        # 2. 10,000 transactions, incremental
        t, _ = sh(lab, "db01", "runuser -u postgres -- pgbench -n -c 2 -j 2 -t 5000 bench")
        out["pgbench_10k_tx_s"] = round(t, 1)
        t_incr, _ = pgbr(lab, "--type=incr backup")
        incr = newest(lab)
        out["incr"] = {"pgbackrest_s": round(t_incr, 1), "time_vs_full": round(t_incr / t_full, 3),
                       "stored": incr["info"]["repository"]["delta"],
                       "stored_vs_full": round(incr["info"]["repository"]["delta"] / full["info"]["repository"]["delta"], 3)}
        save(out)
        # 3. restic vs rsync, site grown to ~50 MB
        sh(lab, "web01", "mkdir -p /var/www/yunwei/bench && for i in $(seq 1 200); do head -c 250000 /dev/urandom > "
           "/var/www/yunwei/bench/f$i.bin; done")
        restic = ("cd / && RESTIC_PASSWORD_FILE=/etc/yunwei-backup/restic.pass RESTIC_CACHE_DIR=/var/cache/yunwei-backup/restic "
                  "restic -r sftp:restic@backup01:/srv/backup/restic/site -o sftp.command='ssh -i /etc/yunwei-backup/id_ed25519 "
                  "-o UserKnownHostsFile=/etc/yunwei-backup/known_hosts restic@backup01 -s sftp' backup -q --tag bench "
                  "/var/www/yunwei /etc/nginx")
        rsync = ("rsync -a -e 'ssh -i /root/.ssh/yw_bench -o UserKnownHostsFile=/root/.ssh/yw_bench_known -o BatchMode=yes' "
                 f"/var/www/yunwei /etc/nginx ops@{ip}:/srv/backup/bench/site/")
        sh(lab, "backup01", "install -d -o ops /srv/backup/bench/site")
        r1, _ = sh(lab, "web01", restic)
        s1, _ = sh(lab, "web01", rsync)
        r2, _ = sh(lab, "web01", restic)
        s2, _ = sh(lab, "web01", rsync)
        out["site"] = {"bytes": int(sh(lab, "web01", "du -sb /var/www/yunwei /etc/nginx | awk '{s+=$1} END {print s}'")[1]),
                       "restic_first_s": round(r1, 2), "rsync_first_s": round(s1, 2), "restic_second_s": round(r2, 2),
                       "rsync_second_s": round(s2, 2), "first_ratio": round(r1 / s1, 2), "second_ratio": round(r2 / s2, 2)}
        save(out)
        # 4. WAL archive lag under load
        load = subprocess.Popen(["podman", "exec", lab.container("db01"), "runuser", "-u", "postgres", "--", "pgbench", "-n",
                                 "-c", "2", "-j", "2", "-T", str(args.lag_seconds), "bench"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lags, end = [], time.time() + args.lag_seconds
        while time.time() < end:
            ready_age, since_archived, current, last = pg(lab, LAG_SQL, "postgres").split("|")
            # the module's measure: waiting .ready segments, else the current segment bounded by archive_timeout
            lags.append(float(ready_age) if float(ready_age) > 0 else min(float(since_archived or 0), 60.0))
            time.sleep(5)
        load.wait()
        out["wal_lag"] = {"samples": len(lags), "median_s": round(statistics.median(lags), 1), "max_s": round(max(lags), 1)}
    finally:
        if "full" in out:  # the bench's full backup and its incrementals leave repo1; a new full follows,
            pgbr(lab, f"--set={out['full']['label']} expire")  # as pgBackRest wants every new label later
            sh(lab, "db01", "runuser -u postgres -- dropdb --if-exists bench", check=False)
            pgbr(lab, "--type=full backup")
        sh(lab, "backup01", "cd /tmp && runuser -u restic -- env RESTIC_PASSWORD_FILE=/etc/yunwei-backup/restic.pass "
           "restic --no-cache -r /srv/backup/restic/site forget --keep-tag yunwei --prune", check=False)
        sh(lab, "db01", "runuser -u postgres -- dropdb --if-exists bench; rm -f /root/.ssh/yw_bench*", check=False)
        sh(lab, "web01", "rm -rf /var/www/yunwei/bench /root/.ssh/yw_bench*", check=False)
        sh(lab, "backup01", "rm -rf /srv/backup/bench; sed -i '/yw_bench\\|root@db01\\|root@web01/d' ~ops/.ssh/authorized_keys",
           check=False)
    out["load_after"] = os.getloadavg()
    save(out)
    print(json.dumps(out, indent=2))
    return 0


def save(out: dict) -> None:
    dest = ROOT / "bench" / "out" / "backup"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "results.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_status
short_description: Status of the backups seen from one host; BACKUP-* checks and one row per data set
version_added: "0.2.0"
description:
  - On a repository host (O(role=store) or O(role=offsite)) reads, in one module call, pgBackRest
    C(info --output=json) of every stanza, C(restic snapshots --json) of every files data set, the results
    of the last verify and partial check, and the free space of the repository filesystems (with a
    days-until-full forecast from the samples this module keeps in C(/var/lib/yunwei-backup/usage.json)).
  - On a database host (O(role=db)) reads C(pg_stat_archiver), the WAL insert position and the archive
    status folder, giving the WAL archive lag, which is the live recovery point.
  - Computes the values of C(BACKUP-AGE-001), C(BACKUP-FULL-001), C(BACKUP-OFFSITE-001),
    C(BACKUP-ENC-001), C(BACKUP-WAL-001/002), C(BACKUP-VERIFY-001), C(BACKUP-REPO-001/002/003) with the
    pure function C(backup_status.compute) of the collection's module_utils; its action plugin judges
    them on the controller against the check catalogue of the yunwei package (the tier's thresholds,
    O(thresholds) over the defaults), as the inspection does.
  - Read-only (apart from its own usage samples).
author:
  - yunwei maintainers (!UNKNOWN)
options:
  role:
    description: What this host is for the backups.
    type: str
    required: true
    choices: [store, offsite, db]
  datasets:
    description: "Data sets: list of C({name, kind, tier, hosts, port})."
    type: list
    elements: dict
    required: true
  thresholds:
    description:
      - "Overrides of the BACKUP-* thresholds C({key: {warn, crit}}), e.g. C(backup_core_age_s) (docs/backup.md)."
      - Used by the action plugin on the controller; never sent to the host.
    type: dict
    default: {}
  disabled_checks:
    description: BACKUP-* check ids left out (the inspection's per-check switches); used on the controller.
    type: list
    elements: str
    default: []
  repo_paths:
    description: Repository folders whose filesystems are judged (store, offsite).
    type: list
    elements: str
    default: [/srv/backup/pgbackrest, /srv/backup/restic]
  restic_repo_path:
    description: Folder of the local restic repositories.
    type: str
    default: /srv/backup/restic
  restic_password_file:
    description: Password file of the local restic repositories.
    type: path
    default: /etc/yunwei-backup/restic.pass
attributes:
  check_mode:
    support: full
    description: Read-only; runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
"""

EXAMPLES = r"""
- name: Backup status on the store
  yunwei.ops.backup_status:
    role: store
    datasets: [{name: appdb, kind: postgresql, tier: core, hosts: [db01]}]
  become: true
"""

RETURN = r"""
checks:
  description: Checks as in docs/data-model.md (category backup), judged on the controller.
  returned: always
  type: list
  elements: dict
metrics:
  description: Metrics as in docs/data-model.md.
  returned: always
  type: list
  elements: dict
rows:
  description:
    - One status row per data set (and source host) and repository, for C(yunwei backup status); C(status),
      C(limit_s) and C(verify) come from the judged checks the row names in C(checks).
  returned: always
  type: list
  elements: dict
"""

import glob
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import STATE_DIR, disk_usage, read_state, run, write_state
from ansible_collections.yunwei.ops.plugins.module_utils.backup_status import compute

ARCHIVER_SQL = r"""
SELECT json_build_object(
  'archived_count', archived_count, 'last_archived_wal', last_archived_wal,
  'last_archived_time', extract(epoch from last_archived_time),
  'failed_count', failed_count, 'last_failed_wal', last_failed_wal,
  'last_failed_time', extract(epoch from last_failed_time),
  'insert_lsn', pg_current_wal_insert_lsn()::text,
  'segsize', (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
  'ready', (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
  'oldest_ready_time', (SELECT extract(epoch from min(modification)) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
  'archive_mode', current_setting('archive_mode'), 'archive_command', current_setting('archive_command'),
  'archive_timeout', (SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout'),
  'in_recovery', pg_is_in_recovery())
FROM pg_stat_archiver
"""


def _lsn(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def pending_bytes(a):
    """WAL written after the end of the last archived segment (<= 0: everything is archived)."""
    wal = a.get("last_archived_wal") or ""
    if len(wal) < 24 or not a.get("insert_lsn"):
        return None
    try:
        log, seg = int(wal[8:16], 16), int(wal[16:24], 16)
    except ValueError:
        return None
    size = int(a.get("segsize") or 16777216)
    end = (log << 32) + seg * size + size
    return _lsn(a["insert_lsn"]) - end


def archiver(port):
    res = run(["psql", "-XAtq", "-p", str(port), "-d", "postgres", "-c", ARCHIVER_SQL], user="postgres", timeout=60)
    if not res.ok:
        return {"error": res.tail(3)}
    try:
        a = json.loads(res.out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "unexpected output: %s" % res.out[:200]}
    a["pending_bytes"] = pending_bytes(a)
    return a


def pg_info(repo):
    res = run(["pgbackrest", "--repo=%d" % repo, "--output=json", "info"], user="pgbackrest", timeout=300)
    try:
        data = json.loads(res.out) if res.out.strip() else []
    except ValueError:
        data = []
    if not res.ok and not data:
        return None, res.tail(3)
    return {s.get("name"): s for s in data}, None


def restic_snapshots(path, password_file):
    env = {"RESTIC_PASSWORD_FILE": password_file}
    res = run(["restic", "-r", path, "--no-lock", "snapshots", "--json"], user="restic", env=env, timeout=300)
    if not res.ok:
        return {"error": res.tail(2)}
    try:
        snaps = json.loads(res.out or "[]") or []
    except ValueError:
        return {"error": "unexpected output of restic snapshots"}
    for s in snaps:
        s["time_epoch"] = _epoch(s.get("time"))
    return {"snapshots": snaps}


def _epoch(text):
    """restic's RFC 3339 time with nanoseconds and an offset -> epoch seconds."""
    if not text:
        return None
    import datetime
    import re

    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        return None
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    base = datetime.datetime.strptime(m.group(1) + tz.replace(":", ""), "%Y-%m-%dT%H:%M:%S%z")
    return base.timestamp() + float("0" + (m.group(2) or ""))


def repo_space(paths, now):
    """Free space of each filesystem holding repositories, and the repositories' own size on it (the
    filesystem may be shared), with a days-until-full forecast from the samples kept here."""
    groups = {}
    for path in paths:
        if os.path.isdir(path):
            groups.setdefault(os.stat(path).st_dev, []).append(path)
    out = []
    samples = read_state("usage.json") or {}
    for members in groups.values():
        tops = [m for m in members if not any(m != o and m.startswith(o.rstrip("/") + "/") for o in members)]
        label = members[0]
        total, _used, free = disk_usage(label)
        used = sum(tree_bytes(m) for m in tops)
        series = [x for x in samples.get(label) or () if len(x) == 3 and now - x[0] < 45 * 86400]
        if not series or now - series[-1][0] >= 600:
            series.append([now, used, "tree"])
        samples[label] = series[-500:]
        out.append({"path": label, "total": total, "used": used, "free": free, **forecast(series, free)})
    try:
        write_state("usage.json", samples)
    except (IOError, OSError):
        pass
    return out


def tree_bytes(path):
    """Bytes allocated under ``path`` (like du), counting each inode once."""
    total, seen, stack = 0, set(), [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def forecast(series, free):
    """Days until full from a least-squares slope of the repositories' size over the last 30 days
    (>= 2 samples spanning >= 12 h: one big full backup in the last hour is not a trend)."""
    pts = [s for s in series if series[-1][0] - s[0] <= 30 * 86400]
    if len(pts) < 2 or pts[-1][0] - pts[0][0] < 12 * 3600:
        return {"days_full": None, "growth_per_day": None}
    n = float(len(pts))
    mt = sum(p[0] for p in pts) / n
    mu = sum(p[1] for p in pts) / n
    den = sum((p[0] - mt) ** 2 for p in pts)
    slope = sum((p[0] - mt) * (p[1] - mu) for p in pts) / den if den else 0.0
    per_day = slope * 86400
    if per_day <= 0:
        return {"days_full": None, "growth_per_day": per_day}
    return {"days_full": free / per_day, "growth_per_day": per_day}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            role=dict(type="str", required=True, choices=["store", "offsite", "db"]),
            datasets=dict(type="list", elements="dict", required=True),
            thresholds=dict(type="dict", default={}),
            disabled_checks=dict(type="list", elements="str", default=[]),
            repo_paths=dict(type="list", elements="str", default=["/srv/backup/pgbackrest", "/srv/backup/restic"]),
            restic_repo_path=dict(type="str", default="/srv/backup/restic"),
            restic_password_file=dict(type="path", default="/etc/yunwei-backup/restic.pass", no_log=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    now = time.time()
    facts = {"role": p["role"], "host": None}
    datasets = p["datasets"]
    if p["role"] == "db":
        facts["archiver"] = {ds["name"]: archiver(ds.get("port") or 5432) for ds in datasets if ds["kind"] == "postgresql"}
    else:
        if any(ds["kind"] == "postgresql" for ds in datasets):
            info, error = pg_info(2 if p["role"] == "offsite" else 1)
            facts["pg"] = {ds["name"]: (info or {}).get(ds["name"]) or ({"error": error} if error else None)
                           for ds in datasets if ds["kind"] == "postgresql"}
        facts["restic"] = {ds["name"]: restic_snapshots(os.path.join(p["restic_repo_path"], ds["name"]), p["restic_password_file"])
                           for ds in datasets if ds["kind"] == "files"}
        facts["verify"] = {os.path.basename(f): read_state(os.path.basename(f))
                           for f in glob.glob(os.path.join(STATE_DIR, "*.json")) if "verify" in f or "slice" in f}
        # a data set's repository may live on a filesystem of its own: judge that one too
        own = [os.path.join(p["restic_repo_path"], ds["name"]) for ds in datasets if ds["kind"] == "files"]
        facts["repo_fs"] = repo_space(list(p["repo_paths"]) + own, now)
    facts["host"] = os.uname()[1]
    findings, metrics, rows = compute(facts, datasets, now)
    module.exit_json(changed=False, findings=findings, metrics=metrics, rows=rows)


if __name__ == "__main__":
    main()

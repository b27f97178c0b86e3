#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restore
short_description: Restore a backup onto a drill host and prove it usable; phase times and DRILL-* checks
version_added: "0.3.0"
description:
  - Runs on a drill host (never a production host), in one round trip per data set.
  - O(action=postgresql) restores a pgBackRest backup of O(stanza) from repository O(repo) into O(pg_path)
    (the newest backup, or O(set)), up to the backup's consistency point (O(target_type=immediate)) or a
    point in time (O(target_type=time), O(target)); starts the restored cluster on O(port) with archiving
    off (it must never push WAL into the production stanza), waits until recovery ended, then runs
    amcheck C(bt_index_check) on every B-tree index, compares the row count of every table with the
    backup's annotations C(rows:DB.SCHEMA.TABLE=N), runs O(app_checks), and stops the cluster.
  - O(action=files) restores the newest restic snapshot of O(dataset) taken on O(host) into O(target_dir)
    and compares the sha256 manifest of the restored tree with the manifest inside the snapshot and its
    tag C(manifest=<sha256>).
  - O(action=inject_drop) (on the database host of a drill) makes a copy of O(table), counts it, and drops it
    (O(inject)), or only declares the fault time (a simulation changes nothing); then waits until the WAL
    holding the fault time is archived (after C(pg_switch_wal()) when injecting), so that a point-in-time
    restore can reach it.
  - O(action=store_loss) (on the backup store of a drill) makes its repositories unavailable by renaming
    O(paths) beside themselves (O(inject)), or only declares the fault time; O(state=back) renames them back.
  - O(action=probe) (read-only, on the drill host before anything is restored or injected) asks each
    repository whether it holds a backup of the data sets O(pg_sets) (pgBackRest repository O(repo)) and
    O(files_sets) (restic repositories); returns C(missing), those that positively hold none (no stanza,
    no backup, no repository or no snapshot of that host), and C(preflight=true). Any other error (wrong
    passphrase, unreachable store) is not reported here - the restore itself fails and records it.
  - O(action=host_loss) (on the database host of a drill) stops the cluster O(cluster) at once and moves its
    data directory beside itself (O(inject); nothing is deleted), or only declares the fault time;
    O(state=back) moves it back and starts the cluster.
  - O(action=inject_corruption) (on the source host of a files data set) damages the first three files under
    O(paths) (O(inject)), or only declares the fault time and names them.
  - O(action=put_back) (a change job on the production host O(host) itself, through two-person review)
    puts the files of the restic snapshot of O(dataset) (the newest of O(host), or O(set)) back in place.
    It reads the sha256 manifest inside the snapshot (C(restic dump), checked against the snapshot's tag
    C(manifest=)) and compares it with the live files; only files that differ or are missing are
    restored (staged under O(base_dir), then renamed into place), files that are not in the backup are
    kept. In check mode nothing is written (restic reads without its cache and without a repository lock) and the diff lists every file
    that would be overwritten or restored - the review's preview. The restored files are checked against
    the manifest afterwards.
  - Returns the phase times (fetch, restore, start, WAL replay, verify), the backup used, findings
    (C(DRILL-*)) judged on the controller by the action plugin, and metrics. A failed restore or
    verification fails the task with its findings, so the journal records why.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  action:
    description: What to restore.
    type: str
    required: true
    choices: [postgresql, files, inject_drop, store_loss, probe, put_back, host_loss, inject_corruption]
  dataset:
    description: Data set name (the pgBackRest stanza, the restic tag C(dataset=)); required but for O(action=probe).
    type: str
    default: ""
  stanza:
    description: pgBackRest stanza (default O(dataset)).
    type: str
  repo:
    description: pgBackRest repository index (1 the backup store, 2 the off-site copy).
    type: int
    default: 1
  set:
    description: Backup label to restore ('' the newest).
    type: str
    default: ""
  target_type:
    description: C(immediate) (the backup's consistency point), C(time) (point in time O(target)) or C(latest)
      (the end of the repository's WAL archive).
    type: str
    default: immediate
    choices: [immediate, time, latest]
  target:
    description: Recovery target time (O(target_type=time)), C(YYYY-MM-DD HH:MM:SS[.ffffff]+00) or epoch seconds.
    type: str
    default: ""
  pg_path:
    description: Data directory of the restored cluster; must be under O(base_dir).
    type: path
  base_dir:
    description: Folder all restores live under; nothing outside it is ever removed.
    type: path
    default: /var/lib/yunwei-drill
  port:
    description: Port of the restored cluster.
    type: int
    default: 5499
  pg_bin:
    description: Folder of the PostgreSQL server binaries.
    type: path
    default: /usr/lib/postgresql/15/bin
  exclude_schemas:
    description: Schemas whose tables are not compared (written continuously, e.g. the drill heartbeat).
    type: list
    elements: str
    default: [yunwei_drill]
  app_checks:
    description: Application queries, each C({database, sql, min_rows}).
    type: list
    elements: dict
    default: []
  heartbeat:
    description: Also return the newest heartbeat (C(yunwei_drill.heartbeat)) present after the restore.
    type: bool
    default: false
  heartbeat_db:
    description: Database holding the heartbeat table ('' the first database the backup counted).
    type: str
    default: ""
  compare_counts:
    description: Compare the row counts with the backup's annotations (off for a point-in-time restore, which is later).
    type: bool
    default: true
  fault_time:
    description: Epoch of the drill's fault; with it the module returns RTO (fault to the application query
      verified) and RPO (fault minus the newest heartbeat) as C(DRILL-RTO-*) and C(DRILL-RPO-*) findings.
    type: float
    default: 0
  limits:
    description: "RTO and RPO limits in seconds: {rto_contract_s, rto_target_s, rpo_contract_s, rpo_target_s}."
    type: dict
    default: {}
  table:
    description: Table the O(action=inject_drop) drill drops (a copy of it, made for the drill).
    type: str
    default: approvals
  inject:
    description: O(action=inject_drop) really drops the copy (a drill-capable host); false only declares the fault time.
    type: bool
    default: false
  note:
    description: Said first in the evidence of C(DRILL-RESTORE-001) (a drill - whether its fault was injected or simulated).
    type: str
    default: ""
  scenario:
    description: The drill's scenario, returned as C(scenario) (what C(yunwei drill status) groups by).
    type: str
    default: ""
  paths:
    description: Repository folders of the store host that O(action=store_loss) makes unavailable.
    type: list
    elements: path
    default: []
  state:
    description: O(action=store_loss) - C(lost) hides O(paths) (renamed beside themselves), C(back) puts them back.
    type: str
    default: lost
    choices: [lost, back]
  cluster:
    description: O(action=host_loss) - the PostgreSQL cluster (C(15/main)) whose data directory is lost.
    type: str
    default: ""
  include:
    description: O(action=put_back) - only these paths (and what is under them); empty, everything the snapshot holds.
    type: list
    elements: path
    default: []
  keep:
    description: Leave the restored cluster running (a drill promotes it) instead of stopping and removing it.
    type: bool
    default: false
  pg_sets:
    description: PostgreSQL data sets (pgBackRest stanzas) O(action=probe) asks about.
    type: list
    elements: str
    default: []
  files_sets:
    description: "File data sets O(action=probe) asks about, each C({name, host}) (C(repository) too, else
      O(repository) with C({dataset}) replaced by the name)."
    type: list
    elements: dict
    default: []
  repository:
    description: restic repository URL (O(action=files); O(action=probe) replaces C({dataset})).
    type: str
  sftp_command:
    description: restic's SFTP command, C({target}) replaced by user@host of the repository.
    type: str
    default: ""
  password_file:
    description: restic password file on the drill host.
    type: path
  host:
    description: Source host of the snapshot (O(action=files)).
    type: str
  target_dir:
    description: Folder the snapshot is restored into (under O(base_dir)).
    type: path
  timeout:
    description: Longest time in seconds one tool command may run.
    type: int
    default: 7200
attributes:
  check_mode:
    support: partial
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: O(action=put_back) and O(action=probe) support check mode (put_back's preview); the other
      actions restore onto a drill host or inject a drill's fault and do nothing in check mode.
  diff_mode:
    support: partial
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    details: O(action=put_back) returns the list of files overwritten or restored as its diff.
"""

EXAMPLES = r"""
- name: Restore appdb onto the drill host and verify it
  yunwei.ops.restore:
    action: postgresql
    dataset: appdb
    pg_path: /var/lib/yunwei-drill/pg/appdb
  become: true
"""

RETURN = r"""
checks:
  description: DRILL-* checks (docs/data-model.md), judged by the action plugin from the module's findings.
  returned: always
  type: list
  elements: dict
metrics:
  description: Phase times (drill.*) per data set.
  returned: always
  type: list
  elements: dict
backup:
  description: The backup restored (label or snapshot id, time, repository).
  returned: always
  type: dict
phases:
  description: Seconds per phase (fetch, restore, start, wal_replay, verify).
  returned: always
  type: dict
"""

import hashlib
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import COUNT_SQL, fmt_time, manifest, run
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Findings

MANIFEST_DIR = "/var/lib/yunwei-backup/manifests"

AMCHECK_SQL = r"""
CREATE EXTENSION IF NOT EXISTS amcheck;
CREATE FUNCTION pg_temp.yunwei_check(idx regclass) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM bt_index_check(idx, true); RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLERRM; END $$;
SELECT coalesce(json_agg(json_build_object('index', n.nspname || '.' || c.relname, 'result', pg_temp.yunwei_check(c.oid))),
                '[]'::json)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't';
"""
HEARTBEAT_SQL = "SELECT coalesce(extract(epoch from max(at)), 0) FROM yunwei_drill.heartbeat"


class Phases(object):
    def __init__(self):
        self.seconds = {}
        self._last = None
        self.started = time.time()

    def begin(self, name):
        now = time.time()
        if self._last:
            self.seconds[self._last[0]] = round(now - self._last[1], 3)
        self._last = (name, now) if name else None

    def end(self):
        self.begin(None)
        return self.seconds


def _under(path, base):
    real = os.path.realpath(path)
    return real != os.path.realpath(base) and real.startswith(os.path.realpath(base) + os.sep)


def _fail(module, f, inst, phases, msg, **extra):
    f.add("DRILL-RESTORE-001", (extra.get("backup") or {}).get("label") or "failed", msg, inst, outcome="failed")
    seconds = phases.end()
    _phase_metrics(f, inst, seconds, phases.started)
    module.fail_json(msg="restore of %s failed: %s" % (inst, msg), findings=f.findings, metrics=f.metrics,
                     phases=seconds, **extra)


def _phase_metrics(f, inst, seconds, started):
    for name, secs in sorted(seconds.items()):
        f.metric("drill.%s_s" % name, secs, inst)
    f.metric("drill.total_s", round(time.time() - started, 3), inst)


def psql(p, db, sql, timeout=None):
    return run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-p", str(p["port"]), "-d", db,
                "-c", sql], user="postgres", timeout=timeout or p["timeout"])


def pg_ctl(p, *args):
    return run([os.path.join(p["pg_bin"], "pg_ctl"), "-D", p["pg_path"]] + list(args), user="postgres", timeout=600)


def stop_cluster(p):
    if os.path.exists(os.path.join(p["pg_path"], "postmaster.pid")):
        pg_ctl(p, "-m", "immediate", "-w", "stop")


def choose_backup(module, p, f, inst, phases):
    cmd = ["pgbackrest", "--stanza=%s" % p["stanza"], "--repo=%d" % p["repo"], "--output=json", "info"]
    res = run(cmd, user="postgres", timeout=600)
    stanza = None
    try:
        stanza = next((s for s in json.loads(res.out) if s.get("name") == p["stanza"]), None) if res.ok else None
    except ValueError:
        stanza = None
    backups = (stanza or {}).get("backup") or []
    if p["set"]:
        backups = [b for b in backups if b.get("label") == p["set"]]
    if p["target_type"] == "time" and p["target"]:
        target = _epoch(p["target"])
        backups = [b for b in backups if (b.get("timestamp") or {}).get("stop", 0) < target]
    if not backups:
        status = ((stanza or {}).get("status") or {}).get("message") or res.tail(3) or "no backup"
        _fail(module, f, inst, phases, "存储库 repo%d 中没有可恢复的备份（%s）" % (p["repo"], status))
    return backups[-1]


def _epoch(text):
    import datetime

    text = text.replace("+00", "")
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    t = datetime.datetime.strptime(text, fmt)
    return (t - datetime.datetime(1970, 1, 1)).total_seconds()


def target_text(target):
    """pgBackRest's --target of a point in time: an epoch (what a drill measured) as UTC with microseconds."""
    try:
        epoch = float(target)
    except (TypeError, ValueError):
        return target
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + (".%06d+00" % int((epoch % 1) * 1e6))


def do_postgresql(module, p):
    inst = p["dataset"]
    f = Findings()
    phases = Phases()
    if not p["pg_path"] or not _under(p["pg_path"], p["base_dir"]):
        module.fail_json(msg="pg_path %s is not under %s: refused" % (p["pg_path"], p["base_dir"]))
    phases.begin("fetch")
    b = choose_backup(module, p, f, inst, phases)
    label = b.get("label")
    stop = (b.get("timestamp") or {}).get("stop") or 0
    backup = {"label": label, "type": b.get("type"), "stop": stop, "stop_text": fmt_time(stop), "repo": p["repo"],
              "annotation": b.get("annotation") or {}}
    f.metric("drill.backup_age_s", max(0.0, time.time() - stop), inst)
    phases.begin("restore")
    stop_cluster(p)
    if os.path.exists(p["pg_path"]):
        shutil.rmtree(p["pg_path"])
    parent = os.path.dirname(p["pg_path"])
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    shutil.chown(parent, "postgres", "postgres")  # the data directory and the server log
    os.makedirs(p["pg_path"], 0o700)
    shutil.chown(p["pg_path"], "postgres", "postgres")
    args = ["pgbackrest", "--stanza=%s" % p["stanza"], "--repo=%d" % p["repo"], "--set=%s" % label,
            "--pg1-path=%s" % p["pg_path"], "--archive-mode=off", "--log-level-console=warn"]
    if p["target_type"] == "time":
        args += ["--type=time", "--target=%s" % p["target"], "--target-action=promote"]
    elif p["target_type"] == "latest":
        args += ["--type=default"]  # replay all the archive holds, then promote
    else:
        args += ["--type=immediate", "--target-action=promote"]
    res = run(args + ["restore"], user="postgres", timeout=p["timeout"])
    if not res.ok:
        _fail(module, f, inst, phases, "pgbackrest restore（%s，repo%d）失败：%s" % (label, p["repo"], res.tail()),
              backup=backup)
    # Debian keeps postgresql.conf and pg_hba.conf in /etc: the restored directory gets its own, local only
    with open(os.path.join(p["pg_path"], "postgresql.conf"), "w") as fh:
        fh.write("# restore drill (yunwei.ops.restore): local connections only, never archives\n"
                 "listen_addresses = ''\nport = %d\nunix_socket_directories = '/var/run/postgresql'\n"
                 "archive_mode = off\nhot_standby = on\nshared_buffers = 64MB\n"
                 "hba_file = '%s/pg_hba.conf'\nident_file = '%s/pg_ident.conf'\n"
                 % (p["port"], p["pg_path"], p["pg_path"]))
    with open(os.path.join(p["pg_path"], "pg_hba.conf"), "w") as fh:
        fh.write("local all postgres peer\n")
    open(os.path.join(p["pg_path"], "pg_ident.conf"), "w").close()
    for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
        shutil.chown(os.path.join(p["pg_path"], name), "postgres", "postgres")
    phases.begin("start")
    log = os.path.join(os.path.dirname(p["pg_path"]), "%s.log" % os.path.basename(p["pg_path"]))
    res = pg_ctl(p, "-l", log, "-t", "600", "-w", "start")
    if not res.ok:
        _fail(module, f, inst, phases, "恢复的集群未能启动：%s %s" % (res.tail(3), _log_tail(log)), backup=backup)
    phases.begin("wal_replay")
    deadline = time.time() + p["timeout"]
    while True:
        res = psql(p, "postgres", "SELECT pg_is_in_recovery()", timeout=60)
        if res.ok and res.out.strip() == "f":
            break
        if time.time() > deadline or not os.path.exists(os.path.join(p["pg_path"], "postmaster.pid")):
            stop_cluster(p)
            _fail(module, f, inst, phases, "WAL 回放未完成（集群仍处于恢复状态或已退出）：%s %s" % (res.tail(2), _log_tail(log)),
                  backup=backup)
        time.sleep(0.5)
    phases.begin("verify")
    verify(p, f, inst, backup)
    verified_at = time.time()
    heartbeat = None
    if p["heartbeat"]:
        res = psql(p, p["heartbeat_db"] or (_databases(backup) or ["postgres"])[0], HEARTBEAT_SQL, timeout=60)
        heartbeat = float(res.out.strip() or 0) if res.ok else None
    seconds = phases.end()
    if not p["keep"]:
        stop_cluster(p)
        shutil.rmtree(p["pg_path"], ignore_errors=True)
    if p["fault_time"]:
        rto_rpo(p, f, inst, verified_at, heartbeat)
    target = {"time": "，恢复到时间点 %s" % _target_shown(p["target"]), "latest": "，回放至归档末尾"}.get(p["target_type"], "")
    f.add("DRILL-RESTORE-001", label, "%s%s 于 %s 恢复到演练主机并完成恢复（repo%d，备份 %s，结束于 %s%s）：%s" % (
        p["note"] + "；" if p["note"] else "", inst, fmt_time(time.time()), p["repo"], label, backup["stop_text"], target,
        _phase_text(seconds)), inst)
    _phase_metrics(f, inst, seconds, phases.started)
    failed = [x for x in f.findings if x.get("outcome") == "failed"]
    result = dict(changed=True, backup=backup, phases=seconds, heartbeat=heartbeat, verified_at=verified_at,
                  scenario=p["scenario"],
                  restore_started=phases.started, findings=f.findings,
                  metrics=f.metrics)
    if failed:
        module.fail_json(msg="restore test of %s failed: %s" % (inst, "; ".join(x["evidence"] for x in failed)), **result)
    module.exit_json(**result)


def _target_shown(target):
    """The recovery target as evidence shows times (ISO UTC with milliseconds: the reports localise it)."""
    try:
        epoch = _epoch(target)
    except ValueError:
        return target
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + (".%03dZ" % int((epoch % 1) * 1000))


def _databases(backup):
    return sorted({k.split(":", 1)[1].split(".", 1)[0] for k in backup["annotation"] if k.startswith("rows:")})


def _log_tail(path):
    try:
        with open(path) as fh:
            return " ".join(fh.read().splitlines()[-3:])
    except (IOError, OSError):
        return ""


def _phase_text(seconds):
    names = {"fetch": "选取备份", "restore": "恢复", "start": "启动", "wal_replay": "WAL 回放", "verify": "校验"}
    return "，".join("%s %.1f 秒" % (names.get(k, k), v) for k, v in seconds.items())


def verify(p, f, inst, backup):
    """amcheck on every index, counts against the annotations, the application queries."""
    expected = {}
    for key, value in backup["annotation"].items():
        if key.startswith("rows:"):
            db, table = key[len("rows:"):].split(".", 1)
            if table.split(".", 1)[0] not in p["exclude_schemas"]:
                expected.setdefault(db, {})[table] = int(value)
    dbs = sorted(expected) or ["postgres"]
    checked, bad = 0, []
    for db in dbs:
        res = psql(p, db, AMCHECK_SQL)
        line = [x for x in res.out.splitlines() if x.startswith("[")]
        if not res.ok or not line:
            bad.append("%s：amcheck 无法执行（%s）" % (db, res.tail(2)))
            continue
        for row in json.loads(line[0]):
            checked += 1
            if row["result"] != "ok":
                bad.append("%s.%s：%s" % (db, row["index"], row["result"]))
    if bad or not checked:
        f.add("DRILL-AMCHECK-001", checked, "amcheck 未通过：%s" % ("；".join(bad[:10]) or "没有可校验的索引"), inst,
              outcome="failed")
    else:
        f.add("DRILL-AMCHECK-001", checked, "%d 个 B-tree 索引均通过 amcheck（bt_index_check，heapallindexed）" % checked, inst)
    compared, diffs = 0, []
    if not p["compare_counts"]:
        expected = {}
    elif not expected:
        diffs.append("备份 %s 未记录行数（缺少 rows: 注记）" % backup["label"])
    for db in sorted(expected):
        res = psql(p, db, COUNT_SQL)
        line = [x for x in res.out.splitlines() if x.startswith("{")]
        if not res.ok or not line:
            diffs.append("%s：无法统计行数（%s）" % (db, res.tail(2)))
            continue
        actual = json.loads(line[0])["tables"]
        for table, rows in sorted(expected[db].items()):
            compared += 1
            got = actual.get(table)
            if got is None:
                diffs.append("%s.%s 不存在（备份时 %d 行）" % (db, table, rows))
            elif int(got) != rows:
                diffs.append("%s.%s 恢复后 %d 行，备份时 %d 行" % (db, table, int(got), rows))
    if not p["compare_counts"]:
        pass
    elif diffs:
        f.add("DRILL-ROWS-001", compared, "行数不一致：%s" % "；".join(diffs[:10]), inst, outcome="failed")
    else:
        f.add("DRILL-ROWS-001", compared, "%d 张表的行数均与备份时记录一致（%s）" % (
            compared, "，".join("%s %d" % (t, n) for db in sorted(expected) for t, n in sorted(expected[db].items()))[:600]), inst)
    for check in p["app_checks"]:
        db, sql = check.get("database") or dbs[0], check.get("sql") or ""
        exact = check.get("rows") is not None
        want = int(check["rows"]) if exact else int(check.get("min_rows", 1))
        res = psql(p, db, sql, timeout=300)
        rows = len([x for x in res.out.splitlines() if x.strip()]) if res.ok else 0
        expect = ("预期 %d 行" if exact else "预期至少 %d 行") % want
        if not res.ok or rows < want or (exact and rows != want):
            why = "失败：%s" % res.tail(2) if not res.ok else "返回 %d 行，%s" % (rows, expect)
            f.add("DRILL-APP-001", rows, "应用查询（%s）%s" % (sql[:120], why), inst, outcome="failed")
        else:
            f.add("DRILL-APP-001", rows, "应用查询（%s）返回 %d 行（%s）" % (sql[:120], rows, expect), inst)


def rto_rpo(p, f, inst, verified_at, heartbeat, newest="恢复后最新心跳"):
    """RTO = fault -> the application query verified on the restored copy; RPO = fault - the newest
    heartbeat present after the restore (files: the time of the snapshot restored, ``newest``). Each against the contract and our target (``limits``: the
    action plugin judges ``value`` > ``max`` as 不通过 on the controller)."""
    lim = p["limits"] or {}
    rto = max(0.0, verified_at - p["fault_time"])
    failed = [x["id"] for x in f.findings if x.get("outcome") == "failed"]
    for cid in ("DRILL-RTO-001", "DRILL-RTO-002") if failed else ():
        f.add(cid, "unknown", "恢复后的校验未通过（%s），服务未恢复，RTO 无法成立" % "、".join(failed), inst, outcome="failed")
    if not failed:
        f.metric("drill.rto_s", round(rto, 3), inst)
    for cid, key, what in (("DRILL-RTO-001", "rto_contract_s", "合同"), ("DRILL-RTO-002", "rto_target_s", "目标")) if not failed else ():
        f.add(cid, round(rto, 1), "故障 %s 至应用查询恢复 %s：RTO %.1f 秒（%s上限 %s 秒）" % (
            fmt_time(p["fault_time"]), fmt_time(verified_at), rto, what, lim.get(key, "?")), inst,
            limits={"max": lim.get(key)})
    if heartbeat is None or heartbeat <= 0:
        for cid in ("DRILL-RPO-001", "DRILL-RPO-002"):
            f.add(cid, "unknown", "恢复后没有%s，无法测量 RPO" % ("心跳记录（yunwei_drill.heartbeat）" if "心跳" in newest else newest),
                  inst, outcome="failed")
        return
    rpo = max(0.0, p["fault_time"] - heartbeat)
    f.metric("drill.rpo_s", round(rpo, 3), inst)
    for cid, key, what in (("DRILL-RPO-001", "rpo_contract_s", "合同"), ("DRILL-RPO-002", "rpo_target_s", "目标")):
        f.add(cid, round(rpo, 1), "故障 %s，%s %s：RPO %.1f 秒（%s上限 %s 秒）" % (
            fmt_time(p["fault_time"]), newest, fmt_time(heartbeat), rpo, what, lim.get(key, "?")), inst,
            limits={"max": lim.get(key)})


# each statement its own transaction (one psql -c each): the copy is committed before T, the drop at T
INJECT_SQL = (
    "DROP TABLE IF EXISTS public.yunwei_drill_{table}",
    "CREATE TABLE public.yunwei_drill_{table} AS SELECT * FROM public.{table}",
    "SELECT json_build_object('rows', (SELECT count(*) FROM public.yunwei_drill_{table}), "
    "'before', extract(epoch from clock_timestamp()))",
    "DROP TABLE public.yunwei_drill_{table}",
    "SELECT json_build_object('fault', extract(epoch from clock_timestamp()), 'wal', pg_walfile_name(pg_switch_wal()))",
)
SIMULATE_SQL = (
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
    "SELECT json_build_object('rows', (SELECT count(*) FROM public.{table}), "
    "'before', extract(epoch from clock_timestamp()), 'fault', extract(epoch from clock_timestamp()), "
    "'wal', pg_walfile_name(pg_current_wal_lsn())); COMMIT",
)
ARCHIVED_SQL = "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"


def do_inject_drop(module, p):
    """The accidental-drop fault on the database host: a copy of ``table`` made, counted and dropped at
    time T (injected), or only T and the count declared (simulated: read-only). Then wait until the WAL
    segment holding T is archived - the DBA's first step (pg_switch_wal) when the primary survives."""
    import re

    if not re.match(r"^[a-z_][a-z0-9_]{0,40}$", p["table"]):
        module.fail_json(msg="table %r: letters, digits and _ only" % p["table"])
    db = p["heartbeat_db"] or "postgres"
    cmd = ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-p", str(p["port"]), "-d", db]
    for statement in INJECT_SQL if p["inject"] else SIMULATE_SQL:
        cmd += ["-c", statement.format(table=p["table"])]
    res = run(cmd, user="postgres", timeout=600)
    docs = [json.loads(x) for x in res.out.splitlines() if x.startswith("{")]
    if not res.ok or not docs:
        module.fail_json(msg="the drill's fault could not be %s on %s: %s" % (
            "injected" if p["inject"] else "declared", db, res.tail()), findings=[], metrics=[])
    fault = {}
    for doc in docs:
        fault.update(doc)
    deadline = time.time() + p["timeout"]
    archived = ""
    while time.time() < deadline:
        res = run(["psql", "-XAtq", "-p", str(p["port"]), "-d", db, "-c", ARCHIVED_SQL], user="postgres", timeout=60)
        archived = res.out.strip()
        # the fault's segment is archived (or a later one); names compare in order within a timeline
        if res.ok and archived and archived[8:] >= fault["wal"][8:]:
            break
        time.sleep(1)
    else:
        module.fail_json(msg="the WAL segment %s holding the fault was not archived within %d s (last archived: %s)" % (
            fault["wal"], p["timeout"], archived or "none"), fault=fault, findings=[], metrics=[])
    fault.update(table=p["table"], injected=p["inject"], archived_at=time.time(), database=db,
                 fault_text=fmt_time(fault["fault"]),
                 copy="public.yunwei_drill_%s" % p["table"] if p["inject"] else "public.%s" % p["table"])
    module.exit_json(changed=p["inject"], fault=fault, findings=[], metrics=[])


HIDDEN = ".yunwei-drill-lost"


def do_store_loss(module, p):
    """The backup-host-loss fault on the store: its repositories renamed away (same filesystem, nothing
    is deleted) at time T, or put back. Simulated (``inject`` false): T declared, nothing touched."""
    if p["state"] == "back":
        back = []
        for path in p["paths"]:
            if os.path.exists(path + HIDDEN):
                if os.path.exists(path):
                    module.fail_json(msg="both %s and %s exist: put back by hand" % (path, path + HIDDEN))
                os.rename(path + HIDDEN, path)
                back.append(path)
        module.exit_json(changed=bool(back), back=back, findings=[], metrics=[])
    if not p["inject"]:
        module.exit_json(changed=False, fault={"fault": time.time(), "fault_text": fmt_time(time.time()), "injected": False},
                         findings=[], metrics=[])
    stale = [x for x in p["paths"] if os.path.exists(x + HIDDEN)]
    if stale:
        module.fail_json(msg="a previous drill left %s: put it back first (state=back)" % ", ".join(stale))
    hidden = []
    for path in p["paths"]:
        if os.path.isdir(path):
            os.rename(path, path + HIDDEN)
            hidden.append(path)
    now = time.time()
    module.exit_json(changed=True, fault={"fault": now, "fault_text": fmt_time(now), "injected": True, "hidden": hidden},
                     findings=[], metrics=[])


def _cluster_dir(module, cluster):
    """The data directory of a Debian cluster (``15/main``), from pg_lsclusters."""
    version, _, name = cluster.partition("/")
    res = run(["pg_lsclusters", "-h", version, name], timeout=60)
    cols = res.out.split()
    if not res.ok or len(cols) < 6:
        module.fail_json(msg="cluster %s not found (pg_lsclusters): %s" % (cluster, res.tail(2)))
    return version, name, cols[5]


def do_host_loss(module, p):
    """The host-loss fault on the database host: the cluster stopped at once (as a crash would) and its
    data directory moved beside itself at time T - renamed, never deleted, so the lab is put back
    (state=back). Simulated (``inject`` false): T declared, nothing touched."""
    version, name, data = _cluster_dir(module, p["cluster"])
    hidden = data.rstrip("/") + HIDDEN
    if p["state"] == "back":
        if not os.path.exists(hidden):
            module.exit_json(changed=False, back=[], findings=[], metrics=[])
        if os.path.exists(data):
            module.fail_json(msg="both %s and %s exist: put back by hand" % (data, hidden))
        os.rename(hidden, data)
        res = run(["pg_ctlcluster", version, name, "start"], timeout=300)
        if not res.ok:
            module.fail_json(msg="data directory put back, but the cluster did not start: %s" % res.tail())
        module.exit_json(changed=True, back=[data], findings=[], metrics=[])
    if not p["inject"]:
        now = time.time()
        module.exit_json(changed=False, fault={"fault": now, "fault_text": fmt_time(now), "injected": False, "data": data},
                         findings=[], metrics=[])
    if os.path.exists(hidden):
        module.fail_json(msg="a previous drill left %s: put it back first (state=back)" % hidden)
    res = run(["pg_ctlcluster", version, name, "stop", "-m", "immediate"], timeout=300)
    now = time.time()
    if not res.ok and "is not running" not in res.tail():
        module.fail_json(msg="the cluster %s could not be stopped: %s" % (p["cluster"], res.tail()))
    os.rename(data, hidden)
    module.exit_json(changed=True, fault={"fault": now, "fault_text": fmt_time(now), "injected": True, "data": data},
                     findings=[], metrics=[])


DAMAGE = b"\0yunwei drill: this file was damaged on purpose\0"


def do_inject_corruption(module, p):
    """The file-corruption fault: the first three files under ``paths`` damaged at time T (their middle
    overwritten; the restore puts them back), or only T declared and the files named (simulated)."""
    files = []
    for top in p["paths"]:
        for dirpath, dirs, names in os.walk(top):
            dirs.sort()
            files += [os.path.join(dirpath, n) for n in sorted(names)
                      if os.path.isfile(os.path.join(dirpath, n)) and not os.path.islink(os.path.join(dirpath, n))]
    files = files[:3]
    if not files:
        module.fail_json(msg="no file under %s to damage" % ", ".join(p["paths"]))
    now = time.time()
    if p["inject"]:
        for path in files:
            size = os.path.getsize(path)
            with open(path, "r+b") as fh:
                fh.seek(size // 2)
                fh.write(DAMAGE)
    module.exit_json(changed=p["inject"], fault={"fault": now, "fault_text": fmt_time(now), "injected": p["inject"],
                                                 "files": files}, findings=[], metrics=[])


def restic(p, args, timeout=None):
    env = {"RESTIC_PASSWORD_FILE": p["password_file"], "RESTIC_CACHE_DIR": os.path.join(p["base_dir"], "restic-cache")}
    cmd = ["restic", "-r", p["repository"]]
    if p["repository"].startswith("sftp:") and p["sftp_command"]:
        target = p["repository"][len("sftp:"):].split(":", 1)[0]
        cmd += ["-o", "sftp.command=%s" % p["sftp_command"].replace("{target}", target)]
    return run(cmd + list(args), env=env, timeout=timeout or p["timeout"])


def do_files(module, p):
    inst = "%s@%s" % (p["dataset"], p["host"])
    f = Findings()
    phases = Phases()
    if not p["target_dir"] or not _under(p["target_dir"], p["base_dir"]):
        module.fail_json(msg="target_dir %s is not under %s: refused" % (p["target_dir"], p["base_dir"]))
    phases.begin("fetch")
    res = restic(p, ["snapshots", "--json", "--host", p["host"], "--tag", "dataset=%s" % p["dataset"]], timeout=600)
    try:
        snaps = json.loads(res.out or "null") if res.ok else None
    except ValueError:
        snaps = None
    if not snaps:
        _fail(module, f, inst, phases, "无法读取快照列表或没有快照：%s" % (res.tail(3) or "无快照"))
    snap = sorted(snaps, key=lambda s: s.get("time", ""))[-1]
    tags = dict(t.split("=", 1) for t in snap.get("tags") or () if "=" in t)
    backup = {"label": snap.get("short_id") or snap.get("id", "")[:8], "id": snap.get("id"), "stop_text": snap.get("time"),
              "manifest": tags.get("manifest", ""), "type": tags.get("type", ""), "paths": snap.get("paths") or []}
    phases.begin("restore")
    if os.path.exists(p["target_dir"]):
        shutil.rmtree(p["target_dir"])
    os.makedirs(p["target_dir"], 0o700)
    res = restic(p, ["restore", snap["id"], "--target", p["target_dir"]])
    if not res.ok:
        _fail(module, f, inst, phases, "restic restore（快照 %s）失败：%s" % (backup["label"], res.tail()), backup=backup)
    phases.begin("verify")
    mname = "%s.sha256" % p["dataset"]
    recorded_path = p["target_dir"] + os.path.join(MANIFEST_DIR, mname)
    sources = [x for x in backup["paths"] if x != os.path.join(MANIFEST_DIR, mname)]
    problems = []
    try:
        with open(recorded_path) as fh:
            recorded = fh.read()
    except (IOError, OSError):
        recorded = None
        problems.append("快照中没有 sha256 清单（%s）" % mname)
    if recorded is not None and hashlib.sha256(recorded.encode("utf-8")).hexdigest() != backup["manifest"]:
        problems.append("快照中的清单与标签 manifest=%s 不符" % (backup["manifest"][:12] or "（无）"))
    actual = manifest(sources, p["target_dir"] + MANIFEST_DIR, root=p["target_dir"])
    compared = actual.count("\n")
    if recorded is not None:
        want = _entries(recorded)
        got = _entries(actual)
        for path in sorted(set(want) | set(got)):
            if path not in got:
                problems.append("缺少 %s" % path)
            elif path not in want:
                problems.append("多出 %s" % path)
            elif want[path] != got[path]:
                problems.append("内容不同 %s" % path)
    seconds = phases.end()
    verified_at = time.time()
    shutil.rmtree(p["target_dir"], ignore_errors=True)
    f.add("DRILL-RESTORE-001", backup["label"], "%s%s 快照 %s（%s）已恢复到演练主机：%s" % (
        p["note"] + "；" if p["note"] else "", inst, backup["label"], backup["stop_text"], _phase_text(seconds)), inst)
    if problems:
        f.add("DRILL-MANIFEST-001", compared, "清单不一致（%d 处）：%s" % (len(problems), "；".join(problems[:10])), inst,
              outcome="failed")
    else:
        f.add("DRILL-MANIFEST-001", compared, "%d 个文件的 sha256 与快照清单（%s）一致" % (compared, backup["manifest"][:12]), inst)
    if p["fault_time"]:  # a drill: RTO to the verified restore, RPO back to the time of the snapshot restored
        rto_rpo(p, f, inst, verified_at, _restic_epoch(backup["stop_text"]), "所恢复快照的时间")
    _phase_metrics(f, inst, seconds, phases.started)
    result = dict(changed=True, backup=backup, phases=seconds, findings=f.findings, metrics=f.metrics,
                  scenario=p["scenario"], restore_started=phases.started, verified_at=verified_at)
    if problems:
        module.fail_json(msg="restore test of %s failed: %s" % (inst, "; ".join(problems[:5])), **result)
    module.exit_json(**result)


# pgBackRest info status codes that mean "nothing was ever backed up here" (1 missing stanza path,
# 2 no valid backups, 3 missing stanza data); 4 (cipher mismatch) and 99 are errors, not absence
_PG_ABSENT = (1, 2, 3)
_RESTIC_ABSENT = ("Is there a repository at the following location", "unable to open config file",
                  "repository does not exist")


def do_probe(module, p):
    """Read-only pre-flight of a restore test or drill: which data sets have no backup at all yet.

    Only a positive "nothing here" counts (so that bad input exits 2 naming the data set before anything
    is restored or injected); a repository that cannot be read for another reason is left to the
    restore, which fails with that reason and is recorded as 不通过."""
    missing = []
    for name in p["pg_sets"]:
        res = run(["pgbackrest", "--stanza=%s" % name, "--repo=%d" % p["repo"], "--output=json", "info"],
                  user="postgres", timeout=600)
        try:
            stanza = next((s for s in json.loads(res.out) if s.get("name") == name), None)
        except ValueError:
            stanza = None
        if stanza is None:
            continue
        code = (stanza.get("status") or {}).get("code")
        if code in _PG_ABSENT or (code == 0 and not stanza.get("backup")):
            missing.append({"dataset": name, "repo": "repo%d" % p["repo"],
                            "why": (stanza.get("status") or {}).get("message") or "no backup"})
    for item in p["files_sets"]:
        q = dict(p, repository=(item.get("repository") or p["repository"] or "").replace("{dataset}", str(item.get("name"))))
        res = restic(q, ["--no-lock", "snapshots", "--json", "--host", item.get("host") or "", "--tag",
                         "dataset=%s" % item.get("name")], timeout=600)
        where = "%s@%s" % (item.get("name"), item.get("host"))
        if res.ok and (res.out or "").strip() in ("[]", "null"):
            missing.append({"dataset": where, "repo": q["repository"], "why": "no snapshot of this host"})
        elif not res.ok and any(x in (res.err or "") + (res.out or "") for x in _RESTIC_ABSENT):
            missing.append({"dataset": where, "repo": q["repository"], "why": "no restic repository"})
    module.exit_json(changed=False, preflight=True, missing=missing, findings=[], metrics=[])


def do_put_back(module, p):
    """Put the files of a snapshot back on this (production) host: only those that differ from the
    snapshot's manifest; check mode lists them and writes nothing (the review's preview)."""
    ds, host = p["dataset"], p["host"]
    check = module.check_mode
    if os.path.realpath(p["base_dir"] or "/") == "/":
        module.fail_json(msg="base_dir %s: refused (the staging folder is removed after the run)" % p["base_dir"])
    args = ["snapshots", "--json", "--host", host, "--tag", "dataset=%s" % ds]
    res = restic(p, (["--no-cache", "--no-lock"] if check else []) + args, timeout=600)
    try:
        snaps = json.loads(res.out or "null") if res.ok else None
    except ValueError:
        snaps = None
    if p["set"]:
        snaps = [s for s in snaps or () if p["set"] in (s.get("id"), s.get("short_id"))]
    if not snaps:
        module.fail_json(msg="no snapshot %sof %s on %s to put back: %s" % (
            (p["set"] + " ") if p["set"] else "", ds, host, res.tail(3) or "none"))
    snap = sorted(snaps, key=lambda s: s.get("time", ""))[-1]
    tags = dict(t.split("=", 1) for t in snap.get("tags") or () if "=" in t)
    label = snap.get("short_id") or snap.get("id", "")[:8]
    mpath = os.path.join(MANIFEST_DIR, "%s.sha256" % ds)
    res = restic(p, (["--no-cache", "--no-lock"] if check else []) + ["dump", snap["id"], mpath], timeout=600)
    if not res.ok or hashlib.sha256(res.out.encode("utf-8")).hexdigest() != tags.get("manifest"):
        module.fail_json(msg="snapshot %s: its manifest %s is missing or does not match its tag manifest=%s; "
                             "nothing was changed (%s)" % (label, mpath, tags.get("manifest", "none")[:12], res.tail(2)))
    want = _entries(res.out)
    scope = [x.rstrip("/") for x in p["include"]]
    if scope:
        want = {k: v for k, v in want.items() if any(k == s or k.startswith(s + "/") for s in scope)}
        if not want:
            module.fail_json(msg="include: snapshot %s holds nothing under %s; nothing was changed" % (label, ", ".join(scope)))
    sources = [x for x in snap.get("paths") or () if x != mpath]
    live = _entries(manifest(scope or sources, MANIFEST_DIR))
    differ = sorted(k for k in want if live.get(k) != want[k])
    extra = sorted(k for k in live if k not in want)
    what = {True: ("~", "differs from the backup: overwritten"), False: ("+", "missing: restored")}
    lines = ["%s %s  (%s)" % (what[k in live][0], k, what[k in live][1]) for k in differ]
    lines += ["? %s  (not in the backup: kept)" % k for k in extra]
    header = "put back %s on %s from snapshot %s (%s): %d file(s) overwritten, %d restored, %d not in the backup (kept)" % (
        ds, host, label, snap.get("time", "")[:19], sum(1 for k in differ if k in live),
        sum(1 for k in differ if k not in live), len(extra))
    result = dict(changed=bool(differ), snapshot={"id": snap.get("id"), "label": label, "time": snap.get("time")},
                  files=differ, kept=extra, findings=[], metrics=[],
                  diff={"prepared": "\n".join([header] + lines) + "\n"} if module._diff else {})
    if check or not differ:
        module.exit_json(**result)
    staging = os.path.join(p["base_dir"], "put-back-%s-%d" % (ds, os.getpid()))
    try:
        os.makedirs(staging, 0o700)
        # restic's --include takes patterns: many files, or names with pattern characters, restore whole
        whole = len(differ) > 500 or any(c in k for k in differ for c in "*?[\\")
        include = [] if whole else [a for k in differ for a in ("--include", k)]
        res = restic(p, ["restore", snap["id"], "--target", staging] + include)
        if not res.ok:
            module.fail_json(msg="restic restore of snapshot %s failed, nothing was changed: %s" % (label, res.tail()), **result)
        for path in differ:
            _put(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    wrong = [k for k in differ if _digest(k) != want[k]]
    if wrong:
        module.fail_json(msg="after the restore %d file(s) still differ from the snapshot's manifest: %s" % (
            len(wrong), ", ".join(wrong[:10])), **result)
    module.exit_json(**result)


def _digest(path):
    """One entry of a manifest (backup_common.manifest): sha256 of a file, symlink:<target> of a link."""
    if os.path.islink(path):
        return "symlink:%s" % os.readlink(path)
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except (IOError, OSError):
        return None


def _put(staging, dest):
    """Move one staged file (or symlink) into place: a temporary name beside it, then a rename. Missing
    folders are made as the snapshot had them (mode, owner)."""
    src = staging + dest
    missing = []
    parent = os.path.dirname(dest)
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for folder in reversed(missing):
        os.mkdir(folder)
        st = os.stat(staging + folder)
        os.chmod(folder, st.st_mode & 0o7777)
        os.chown(folder, st.st_uid, st.st_gid)
    tmp = "%s.yunwei-put-back" % dest
    if os.path.lexists(tmp):
        os.unlink(tmp)
    st = os.lstat(src)
    if os.path.islink(src):
        os.symlink(os.readlink(src), tmp)
    else:
        shutil.copy2(src, tmp)
        os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, dest)


def _restic_epoch(text):
    """restic's snapshot time (``2026-12-01T02:05:00.123456789+08:00`` or ``...Z``) as epoch seconds."""
    import datetime
    import re

    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|([+-])(\d\d):?(\d\d))?$", text or "")
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    offset = 0 if m.group(2) in (None, "Z") else (int(m.group(4)) * 60 + int(m.group(5))) * (1 if m.group(3) == "+" else -1)
    return (t - datetime.datetime(1970, 1, 1)).total_seconds() - offset * 60


def _entries(text):
    out = {}
    for line in text.splitlines():
        if "  " in line:
            digest, path = line.split("  ", 1)
            out[path] = digest
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True,
                        choices=["postgresql", "files", "inject_drop", "store_loss", "probe", "put_back", "host_loss",
                                 "inject_corruption"]),
            include=dict(type="list", elements="path", default=[]),
            cluster=dict(type="str", default=""),
            pg_sets=dict(type="list", elements="str", default=[]),
            files_sets=dict(type="list", elements="dict", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            state=dict(type="str", default="lost", choices=["lost", "back"]),
            dataset=dict(type="str", default=""),
            stanza=dict(type="str"),
            repo=dict(type="int", default=1),
            set=dict(type="str", default=""),
            target_type=dict(type="str", default="immediate", choices=["immediate", "time", "latest"]),
            target=dict(type="str", default=""),
            pg_path=dict(type="path"),
            base_dir=dict(type="path", default="/var/lib/yunwei-drill"),
            port=dict(type="int", default=5499),
            pg_bin=dict(type="path", default="/usr/lib/postgresql/15/bin"),
            exclude_schemas=dict(type="list", elements="str", default=["yunwei_drill"]),
            app_checks=dict(type="list", elements="dict", default=[]),
            heartbeat=dict(type="bool", default=False),
            heartbeat_db=dict(type="str", default=""),
            compare_counts=dict(type="bool", default=True),
            fault_time=dict(type="float", default=0),
            limits=dict(type="dict", default={}),
            table=dict(type="str", default="approvals"),
            inject=dict(type="bool", default=False),
            keep=dict(type="bool", default=False),
            note=dict(type="str", default=""),
            scenario=dict(type="str", default=""),
            repository=dict(type="str"),
            sftp_command=dict(type="str", default=""),
            password_file=dict(type="path", no_log=False),
            host=dict(type="str"),
            target_dir=dict(type="path"),
            timeout=dict(type="int", default=7200),
        ),
        required_if=[("action", "files", ["dataset", "repository", "password_file", "host", "target_dir"]),
                     ("action", "inject_drop", ["dataset"]),
                     ("action", "put_back", ["dataset", "repository", "password_file", "host"]),
                     ("action", "host_loss", ["cluster"]), ("action", "inject_corruption", ["paths"]), ("action", "store_loss", ["dataset"]),
                     ("action", "postgresql", ["dataset", "pg_path"]), ("target_type", "time", ["target"])],
        supports_check_mode=True,
    )
    p = module.params
    if module.check_mode and p["action"] not in ("put_back", "probe"):
        module.exit_json(changed=False, skipped=True, msg="check mode: %s restores or injects, nothing done" % p["action"],
                         findings=[], metrics=[])
    p["stanza"] = p["stanza"] or p["dataset"]
    p["target"] = target_text(p["target"])
    os.umask(0o077)
    if not os.path.isdir(p["base_dir"]) and not module.check_mode:
        os.makedirs(p["base_dir"], 0o711)
    {"postgresql": do_postgresql, "files": do_files, "inject_drop": do_inject_drop,
     "store_loss": do_store_loss, "probe": do_probe, "put_back": do_put_back, "host_loss": do_host_loss,
     "inject_corruption": do_inject_corruption}[p["action"]](module, p)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pgbackrest
short_description: Back up, check and verify PostgreSQL with pgBackRest; record row counts; structured checks
version_added: "0.2.0"
description:
  - O(action=counts) (on the PostgreSQL host) counts the rows of every table of O(databases) in one
    repeatable-read transaction per database and returns them with the WAL position, so that a restore
    test can compare them later. Read-only.
  - O(action=backup) (on the repository host) runs C(pgbackrest backup) of O(type) into repository O(repo),
    with the row counts as annotations (C(rows:DB.SCHEMA.TABLE=N)), then C(pgbackrest check), then reads
    C(info --output=json); returns the backup label, times, sizes and the checks C(BACKUP-RUN-001),
    C(BACKUP-CHECK-001) and metrics. A failed backup fails the task with the checks included, so the
    journal records why.
  - O(action=verify) (on the repository host) runs C(pgbackrest verify) and judges it from its output and
    from the repository's content (something must have been checked), not from the exit code alone;
    C(BACKUP-VERIFY-002) names every invalid or missing file. The result is kept in
    C(/var/lib/yunwei-backup/) for the status.
  - O(action=probe) (on the repository host) tells whether O(cipher_pass) opens the existing repository;
    it fails, changing nothing, when it does not. The passphrase reaches pgBackRest through its environment,
    never its command line.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [counts, backup, verify, probe]
  stanza:
    description: pgBackRest stanza (the data set name).
    type: str
  repo:
    description: Repository index (1 the backup store, 2 the off-site copy).
    type: int
    default: 1
  type:
    description: Backup type; pgBackRest makes the first backup of a stanza a full one.
    type: str
    default: incr
    choices: [full, diff, incr]
  os_user:
    description: OS user pgBackRest (backup, verify, probe) or psql (counts) runs as.
    type: str
    default: pgbackrest
  port:
    description: PostgreSQL port (counts).
    type: int
    default: 5432
  databases:
    description: Databases whose tables are counted; empty for every non-template database.
    type: list
    elements: str
    default: []
  annotations:
    description: Extra key/value annotations of the backup (row counts from O(action=counts)).
    type: dict
    default: {}
  only_missing:
    description: Back up only when the repository holds no backup of the stanza yet.
    type: bool
    default: false
  cipher_pass:
    description: Passphrase to probe (O(action=probe)).
    type: str
  repo_path:
    description: Repository path (O(action=probe); the configuration may not exist yet).
    type: str
  cipher_type:
    description: Cipher of the repository (O(action=probe)).
    type: str
    default: aes-256-cbc
  timeout:
    description: Longest time in seconds one pgBackRest command may run.
    type: int
    default: 7200
attributes:
  check_mode:
    support: partial
    description: counts and probe run in check mode; backup and verify report what they would do.
    details: >-
      O(action=counts) and O(action=probe) only read and run as usual; O(action=backup) and
      O(action=verify) change nothing and report what they would do.
  diff_mode:
    support: none
    description: Nothing to diff.
"""

EXAMPLES = r"""
- name: Incremental backup of appdb into the backup store
  yunwei.ops.pgbackrest:
    action: backup
    stanza: appdb
    repo: 1
    type: incr
  become: true
"""

RETURN = r"""
checks:
  description: Checks as in docs/data-model.md (category backup), judged by the action plugin from the module's findings.
  returned: always
  type: list
  elements: dict
metrics:
  description: Metrics as in docs/data-model.md.
  returned: always
  type: list
  elements: dict
backup:
  description: The newest backup after O(action=backup) (label, type, start, stop, size, repo_size, annotation).
  returned: when action is backup
  type: dict
counts:
  description: "Row counts {database: {schema.table: rows}} and the WAL position (O(action=counts))."
  returned: when action is counts
  type: dict
verify:
  description: Parsed verify result (status, checked, invalid, lines).
  returned: when action is verify
  type: dict
"""

import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import COUNT_SQL, probe_user, run, write_state
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Findings

DB_LIST_SQL = "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn AND datname <> 'postgres' ORDER BY 1"


NO_REPO_OPTION = ("check", "stanza-create")  # commands that work on every configured repository


def pgbr(p, *args, **kw):
    cmd = ["pgbackrest", "--stanza=%s" % p["stanza"]]
    if args[-1] not in NO_REPO_OPTION:
        cmd.append("--repo=%d" % p["repo"])
    cmd += list(args)
    return run(cmd, user=p["os_user"], timeout=p["timeout"], env=kw.get("env"))


def info(p):
    res = pgbr(p, "--output=json", "info")
    if not res.ok:
        return None, res
    try:
        data = json.loads(res.out)
    except ValueError:
        return None, res
    for stanza in data:
        if stanza.get("name") == p["stanza"]:
            return stanza, res
    return None, res


def newest(stanza, btype=None):
    backups = [b for b in (stanza or {}).get("backup") or () if btype is None or b.get("type") == btype]
    return backups[-1] if backups else None


def summary(b):
    if not b:
        return {}
    ts = b.get("timestamp") or {}
    inf = b.get("info") or {}
    return {"label": b.get("label"), "type": b.get("type"), "start": ts.get("start"), "stop": ts.get("stop"),
            "duration_s": (ts.get("stop") or 0) - (ts.get("start") or 0), "size": inf.get("size"),
            "delta": inf.get("delta"), "repo_size": (inf.get("repository") or {}).get("size"),
            "repo_delta": (inf.get("repository") or {}).get("delta"), "annotation": b.get("annotation") or {},
            "error": b.get("error", False), "wal_start": (b.get("archive") or {}).get("start"),
            "wal_stop": (b.get("archive") or {}).get("stop")}


def do_counts(module, p):
    out = {"databases": {}}
    dbs = p["databases"]
    if not dbs:
        res = run(["psql", "-XAtq", "-p", str(p["port"]), "-d", "postgres", "-c", DB_LIST_SQL], user=p["os_user"],
                  timeout=120)
        if not res.ok:
            module.fail_json(msg="cannot list the databases: %s" % res.tail())
        dbs = [d for d in res.out.split() if d]
    annotations = {}
    for db in dbs:
        res = run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-p", str(p["port"]), "-d", db, "-c", COUNT_SQL],
                  user=p["os_user"], timeout=p["timeout"])
        line = [x for x in res.out.splitlines() if x.startswith("{")]
        if not res.ok or not line:
            module.fail_json(msg="cannot count the rows of database %s: %s" % (db, res.tail()))
        doc = json.loads(line[0])
        out["databases"][db] = doc["tables"]
        out["lsn"], out["time"] = doc["lsn"], doc["time"]
        for table, rows in sorted(doc["tables"].items()):
            annotations["rows:%s.%s" % (db, table)] = str(rows)
    annotations["rows-lsn"] = out.get("lsn", "")
    out["annotations"] = annotations
    module.exit_json(changed=False, counts=out, findings=[], metrics=[])


def do_backup(module, p):
    inst = "%s/repo%d" % (p["stanza"], p["repo"])
    f = Findings()
    if p["only_missing"]:
        stanza, _ = info(p)
        if newest(stanza):
            module.exit_json(changed=False, skipped_reason="a backup exists", backup=summary(newest(stanza)),
                             findings=[], metrics=[])
    if module.check_mode:
        module.exit_json(changed=True, msg="would run a %s backup of %s" % (p["type"], inst), findings=[], metrics=[])
    args = ["--type=%s" % p["type"], "--log-level-console=warn"]
    for key, value in sorted((p["annotations"] or {}).items()):
        if "=" in key or "\n" in key + str(value):
            continue
        args.append("--annotation=%s=%s" % (key, value))
    started = time.time()
    res = pgbr(p, *(args + ["backup"]))
    stanza, _ = info(p)
    b = newest(stanza)
    made = b if b and (b.get("timestamp") or {}).get("start", 0) >= int(started) - 1 else None
    if not res.ok or made is None:
        f.add("BACKUP-RUN-001", "failed", "%s 备份（%s）失败，耗时 %.0f 秒：%s" % (inst, p["type"], res.seconds, res.tail()),
              inst, outcome="failed")
        module.fail_json(msg="pgBackRest %s backup of %s failed: %s" % (p["type"], inst, res.tail()),
                         findings=f.findings, metrics=f.metrics, rc=res.rc)
    s = summary(made)
    f.add("BACKUP-RUN-001", s["type"], "%s %s 备份 %s 完成：数据库 %s，存储 %s，耗时 %d 秒" % (
        inst, s["type"], s["label"], _mib(s["size"]), _mib(s["repo_delta"]), s["duration_s"]), inst)
    f.metric("backup.duration_s", s["duration_s"], inst)
    f.metric("backup.size_bytes", s["size"] or 0, inst)
    f.metric("backup.stored_bytes", s["repo_delta"] or 0, inst)
    chk = pgbr(p, "check")
    if chk.ok:
        f.add("BACKUP-CHECK-001", "ok", "pgbackrest check 通过（WAL 归档可用）", inst)
    else:
        f.add("BACKUP-CHECK-001", "failed", "pgbackrest check 失败：%s" % chk.tail(), inst, outcome="failed")
    result = dict(changed=True, backup=s, findings=f.findings, metrics=f.metrics)
    if not chk.ok:
        module.fail_json(msg="backup %s taken, but pgbackrest check failed: %s" % (s["label"], chk.tail()), **result)
    module.exit_json(**result)


# verify --output=text: "stanza: X\nstatus: ok|error\n  archiveId: 15-1, total WAL checked: N, total valid WAL: N\n"
# "    missing: N, checksum invalid: N, size invalid: N, other: N\n  backup: LABEL, status: valid|invalid, ..."
_NUM = re.compile(r"([A-Za-z][A-Za-z ]*?):\s*(\d+)")


def parse_verify(text):
    out = {"status": None, "wal_checked": 0, "wal_valid": 0, "files_checked": 0, "files_valid": 0,
           "invalid": [], "backups": [], "problems": 0}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("status:"):
            out["status"] = line.split(":", 1)[1].strip()
        elif line.startswith("archiveId:"):
            nums = _nums(line)
            out["wal_checked"] += int(nums.get("total wal checked", 0))
            out["wal_valid"] += int(nums.get("total valid wal", 0))
        elif line.startswith("backup:"):
            label = line.split(",", 1)[0].split(":", 1)[1].strip()
            nums = _nums(line)
            status = re.search(r"status:\s*([a-z]+)", line)
            out["backups"].append({"label": label, "status": status.group(1) if status else ""})
            out["files_checked"] += int(nums.get("total files checked", 0))
            out["files_valid"] += int(nums.get("total valid files", 0))
        elif line.startswith(("missing:", "checksum invalid:")) or "invalid:" in line:
            nums = _nums(line)
            out["problems"] += sum(int(v) for v in nums.values())
    return out


def _nums(line):
    return {k.strip().lower(): v for k, v in _NUM.findall(line)}


_FILE_PROBLEM = re.compile(r"(invalid checksum|invalid size|file missing|missing|unable to|does not exist|invalid)", re.I)


def do_verify(module, p):
    inst = "%s/repo%d" % (p["stanza"], p["repo"])
    if module.check_mode:
        module.exit_json(changed=False, msg="would verify %s" % inst, findings=[], metrics=[])
    stanza, info_res = info(p)
    res = pgbr(p, "--output=text", "--verbose", "--log-level-console=detail", "verify")
    parsed = parse_verify(res.out)
    # the files it names: detail/warn log lines about a file of the repository
    named = []
    for line in (res.out + "\n" + res.err).splitlines():
        if (" WARN:" in line or " ERROR:" in line or "INFO: " in line) and _FILE_PROBLEM.search(line) \
                and ("/" in line or "'" in line):
            named.append(line.split(": ", 1)[-1].strip())
    parsed["invalid"] = named[:20]
    backups_in_repo = len((stanza or {}).get("backup") or ())
    reasons = []
    if not res.ok:
        reasons.append("verify 退出码 %d：%s" % (res.rc, res.tail(3)))
    if parsed["status"] != "ok":
        reasons.append("verify 状态 %s" % (parsed["status"] or "无输出"))
    if parsed["problems"] or parsed["wal_checked"] != parsed["wal_valid"] or parsed["files_checked"] != parsed["files_valid"]:
        reasons.append("无效/缺失：WAL %d/%d 有效，备份文件 %d/%d 有效" % (
            parsed["wal_valid"], parsed["wal_checked"], parsed["files_valid"], parsed["files_checked"]))
    if backups_in_repo and parsed["files_checked"] == 0:
        reasons.append("存储库中有 %d 个备份，但 verify 未校验任何备份文件" % backups_in_repo)
    if stanza is None:
        reasons.append("无法读取存储库信息：%s" % info_res.tail(3))
    bad = [b["label"] for b in parsed["backups"] if b["status"] not in ("valid", "")]
    if bad:
        reasons.append("无效备份：%s" % "，".join(bad))
    failed = bool(reasons)
    evidence = ("校验通过：WAL %d 个、备份文件 %d 个，%d 个备份均有效" % (parsed["wal_checked"], parsed["files_checked"], len(parsed["backups"]))
                if not reasons else "；".join(reasons) + ("。问题文件：" + "；".join(named[:10]) if named else ""))
    f = Findings()
    f.add("BACKUP-VERIFY-002", "failed" if failed else "ok", evidence, inst, outcome="failed" if failed else None)
    # what BACKUP-VERIFY-001 of the status reads later (the status module): when, and whether it passed
    write_state("verify-pg-%s-repo%d.json" % (p["stanza"], p["repo"]),
                {"time": time.time(), "status": "failed" if failed else "ok", "evidence": evidence, "tool": "pgbackrest verify"})
    f.metric("backup.verify.files", parsed["files_checked"], inst)
    f.metric("backup.verify.wal", parsed["wal_checked"], inst)
    f.metric("backup.verify.duration_s", res.seconds, inst)
    result = dict(changed=False, verify=parsed, findings=f.findings, metrics=f.metrics)
    if failed:
        module.fail_json(msg="verify of %s failed: %s" % (inst, evidence), **result)
    module.exit_json(**result)


def do_probe(module, p):
    """Does cipher_pass open the existing repository? Through the environment, never argv."""
    user = probe_user(module, "pgbackrest", p["os_user"])
    if user is None:
        module.exit_json(changed=False, skipped=True, findings=[], metrics=[],
                         msg="pgbackrest is not installed yet: the passphrase is probed when the job runs, "
                             "before any repository is written")
    env = {"PGBACKREST_REPO%d_CIPHER_PASS" % p["repo"]: p["cipher_pass"] or "",
           "PGBACKREST_REPO%d_CIPHER_TYPE" % p["repo"]: p["cipher_type"],
           "PGBACKREST_LOG_LEVEL_FILE": "off"}  # no log file left behind owned by the probing account
    p = dict(p, os_user=user)
    if p["repo_path"]:
        env["PGBACKREST_REPO%d_PATH" % p["repo"]] = p["repo_path"]
    res = pgbr(p, "--output=json", "info", env=env)
    try:
        data = json.loads(res.out) if res.ok else []
    except ValueError:
        data = []
    stanza = next((s for s in data if s.get("name") == p["stanza"]), None)
    code = ((stanza or {}).get("status") or {}).get("code")
    message = ((stanza or {}).get("status") or {}).get("message", "")
    # code 1: missing stanza path (nothing there yet); 0/2 (no backup) fine; others: cannot read
    if res.ok and code in (0, 1, 2, 3, 4):
        module.exit_json(changed=False, exists=code != 1, message=message, findings=[], metrics=[])
    module.fail_json(msg="the passphrase does not open the existing pgBackRest repository %d of stanza %s "
                         "(nothing was changed): %s" % (p["repo"], p["stanza"], message or res.tail(3)))


def _mib(num):
    return "%.1f MiB" % ((num or 0) / 1048576.0)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["counts", "backup", "verify", "probe"]),
            stanza=dict(type="str"),
            repo=dict(type="int", default=1),
            type=dict(type="str", default="incr", choices=["full", "diff", "incr"]),
            os_user=dict(type="str", default="pgbackrest"),
            port=dict(type="int", default=5432),
            databases=dict(type="list", elements="str", default=[]),
            annotations=dict(type="dict", default={}),
            only_missing=dict(type="bool", default=False),
            cipher_pass=dict(type="str", no_log=True),
            repo_path=dict(type="str"),
            cipher_type=dict(type="str", default="aes-256-cbc"),
            timeout=dict(type="int", default=7200),
        ),
        required_if=[("action", "backup", ["stanza"]), ("action", "verify", ["stanza"]),
                     ("action", "probe", ["stanza", "cipher_pass"])],
        supports_check_mode=True,
    )
    p = module.params
    os.umask(0o027)
    {"counts": do_counts, "backup": do_backup, "verify": do_verify, "probe": do_probe}[p["action"]](module, p)


if __name__ == "__main__":
    main()

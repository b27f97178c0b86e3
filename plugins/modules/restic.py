#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: restic
short_description: Back up files with restic into an encrypted repository; copy, prune and check; structured checks
version_added: "0.2.0"
description:
  - O(action=backup) (on the host whose files are backed up) first checks that every path exists, writes a
    sha256 manifest of the tree (C(/var/lib/yunwei-backup/manifests/DATASET.sha256), included in the
    snapshot and its digest in the tag C(manifest=...)), then runs C(restic backup --json); returns the
    snapshot id, sizes and the check C(BACKUP-RUN-001).
  - O(action=init) (on the backup store) creates the primary repository of each data set and the off-site
    copy (with the primary's chunker parameters) when missing; an existing repository is opened with the
    given password first, and a wrong one fails without touching anything.
  - O(action=maintain) (on the backup store) forgets snapshots older than the retention, prunes, copies
    new snapshots to the off-site repository and reads one slice of the data packs (C(check
    --read-data-subset=K/N), K the day of the month), so every pack is read at least once a month.
  - O(action=verify) (on a repository host) runs C(check --read-data) on every data set's repository and
    names the damaged packs.
  - O(action=probe) tells whether O(password) opens the existing local repositories; it fails, changing
    nothing, when it does not (the setup runs it before writing any password file).
  - Passwords are read from files (E(RESTIC_PASSWORD_FILE)), never given on a command line.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  action:
    description: What to do.
    type: str
    required: true
    choices: [backup, init, maintain, verify, probe]
  password:
    description: Password to probe (O(action=probe)) against the local repositories of O(datasets); never logged.
    type: str
  dataset:
    description: Data set name (O(action=backup)).
    type: str
  datasets:
    description: "Data sets of the repository host: list of C({name, retention_days}) (init, maintain, verify)."
    type: list
    elements: dict
    default: []
  repository:
    description: Repository URL (backup), e.g. C(sftp:restic@backup01:/srv/backup/restic/site).
    type: str
  repo_path:
    description: Folder of the local repositories on this host (init, maintain, verify).
    type: str
    default: /srv/backup/restic
  offsite_url:
    description: URL prefix of the off-site repositories, e.g. C(sftp:restic@offsite01:/srv/backup/restic); empty for none.
    type: str
    default: ''
  password_file:
    description: File holding the repository password.
    type: path
    default: /etc/yunwei-backup/restic.pass
  offsite_password_file:
    description: File holding the off-site repositories' password.
    type: path
    default: /etc/yunwei-backup/restic-offsite.pass
  sftp_command:
    description: The C(ssh ... -s sftp) command restic's SFTP backend runs (key, known_hosts, user, host).
    type: str
    default: ''
  paths:
    description: Paths to back up.
    type: list
    elements: str
    default: []
  exclude:
    description: Exclude patterns.
    type: list
    elements: str
    default: []
  type:
    description: C(full) re-reads every file (C(--force)); C(incr)/C(diff) read changed files only.
    type: str
    default: incr
    choices: [full, diff, incr]
  host:
    description: Host name recorded in the snapshot (the inventory name).
    type: str
  os_user:
    description: OS user restic runs as (the repository owner on the store; root on the sources).
    type: str
    default: root
  cache_dir:
    description: restic's cache folder.
    type: path
    default: /var/cache/yunwei-backup/restic
  check_slices:
    description: Number of slices of the daily partial read (O(action=maintain)); 0 switches it off.
    type: int
    default: 28
  only_missing:
    description: Back up only when the repository holds no snapshot of this host yet.
    type: bool
    default: false
  timeout:
    description: Longest time in seconds one restic command may run.
    type: int
    default: 7200
attributes:
  check_mode:
    support: partial
    description: Reports what it would do; nothing is written in check mode.
    details: >-
      O(action=backup) and O(action=init) report the snapshot or repositories they would create; the
      other actions read repositories and run as usual.
  diff_mode:
    support: none
    description: Nothing to diff.
"""

EXAMPLES = r"""
- name: Back up the site
  yunwei.ops.restic:
    action: backup
    dataset: site
    repository: sftp:restic@backup01:/srv/backup/restic/site
    sftp_command: ssh -i /etc/yunwei-backup/id_ed25519 restic@backup01 -s sftp
    paths: [/var/www/yunwei, /etc/nginx]
    host: web01
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
snapshot:
  description: The snapshot taken (id, time, files, bytes, added, duration_s, manifest_sha256, manifest_path).
  returned: when action is backup
  type: dict
"""

import hashlib
import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.backup_checks import MIN_RETENTION_DAYS
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import STATE_DIR, manifest, probe_user, run, write_state
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Findings

MANIFEST_DIR = os.path.join(STATE_DIR, "manifests")


def restic(p, repo, args, password_file=None, env=None, timeout=None):
    full_env = {"RESTIC_PASSWORD_FILE": password_file or p["password_file"]}
    if p["os_user"] == "root":
        full_env["RESTIC_CACHE_DIR"] = p["cache_dir"]  # others: ~/.cache/restic of the service user
    full_env.update(env or {})
    cmd = ["restic", "-r", repo]
    if repo.startswith("sftp:") and p["sftp_command"]:
        cmd += ["-o", "sftp.command=%s" % _sftp_for(p["sftp_command"], repo)]
    return run(cmd + list(args), user=p["os_user"], env=full_env, timeout=timeout or p["timeout"])


def _sftp_for(command, repo):
    """The sftp command with the repository's user@host (``{target}`` in the template)."""
    target = repo[len("sftp:"):].split(":", 1)[0]
    return command.replace("{target}", target)


def do_backup(module, p):
    inst = "%s/%s" % (p["dataset"], p["host"])
    missing = [x for x in p["paths"] if not os.path.exists(x)]
    if missing:
        module.fail_json(msg="data set %s: path %s does not exist on %s (backup_datasets ... source.paths); "
                             "nothing was backed up" % (p["dataset"], ", ".join(missing), p["host"]),
                         findings=[{"id": "BACKUP-RUN-001", "instance": inst, "value": "failed", "outcome": "failed",
                                    "evidence": "路径不存在：%s" % ", ".join(missing)}], metrics=[])
    if p["only_missing"]:
        res = restic(p, p["repository"], ["snapshots", "--json", "--host", p["host"], "--tag", "dataset=%s" % p["dataset"]])
        if res.ok and json.loads(res.out or "[]"):
            module.exit_json(changed=False, skipped_reason="a snapshot exists", findings=[], metrics=[])
    if module.check_mode:
        module.exit_json(changed=True, msg="would back up %s" % ", ".join(p["paths"]), findings=[], metrics=[])
    if not os.path.isdir(MANIFEST_DIR):
        os.makedirs(MANIFEST_DIR, 0o700)
    text = manifest(p["paths"], MANIFEST_DIR)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    mpath = os.path.join(MANIFEST_DIR, "%s.sha256" % p["dataset"])
    with open(mpath + ".tmp", "w") as fh:
        fh.write(text)
    os.chmod(mpath + ".tmp", 0o600)
    os.rename(mpath + ".tmp", mpath)
    args = ["backup", "--json", "--host", p["host"], "--tag", "yunwei", "--tag", "dataset=%s" % p["dataset"],
            "--tag", "type=%s" % p["type"], "--tag", "manifest=%s" % digest]
    if p["type"] == "full":
        args.append("--force")
    for pat in p["exclude"]:
        args += ["--exclude", pat]
    res = restic(p, p["repository"], args + list(p["paths"]) + [mpath])
    summary, errors = None, []
    for line in res.out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("message_type") == "summary":
            summary = doc
        elif doc.get("message_type") == "error":
            errors.append("%s: %s" % (doc.get("item", ""), (doc.get("error") or {}).get("message", doc.get("error"))))
    if summary is None or res.rc not in (0, 3):
        hint = ""
        if "SSH_FX_FAILURE" in res.err:  # SFTP says only "Failure" for ENOSPC, EDQUOT, EIO on the store
            hint = "（存储端写入失败：多为存储库所在文件系统已满，见 backup01 的 BACKUP-REPO-001）"
        f = Findings()
        f.add("BACKUP-RUN-001", "failed", "%s 备份失败（退出码 %s，%.0f 秒）%s：%s" % (
            inst, res.rc, res.seconds, hint, res.tail(3)), inst, outcome="failed")
        module.fail_json(msg="restic backup of %s failed: %s" % (inst, res.tail()), findings=f.findings, metrics=[], rc=res.rc)
    snap = {"id": summary.get("snapshot_id"), "time": time.time(), "files": summary.get("total_files_processed"),
            "bytes": summary.get("total_bytes_processed"), "added": summary.get("data_added"),
            "duration_s": summary.get("total_duration"), "manifest_sha256": digest, "manifest_path": mpath,
            "type": p["type"]}
    partial = res.rc == 3 or bool(errors)
    evidence = "%s %s 快照 %s：%d 个文件，%s，新增 %s，耗时 %.1f 秒" % (
        inst, p["type"], (snap["id"] or "")[:8], snap["files"] or 0, _mib(snap["bytes"]), _mib(snap["added"]), snap["duration_s"] or 0)
    if partial:
        evidence += "；部分文件无法读取：%s" % "；".join(errors[:5])
    f = Findings()
    f.add("BACKUP-RUN-001", p["type"], evidence, inst, outcome="partial" if partial else None)
    f.metric("backup.duration_s", snap["duration_s"] or 0, inst)
    f.metric("backup.size_bytes", snap["bytes"] or 0, inst)
    f.metric("backup.stored_bytes", snap["added"] or 0, inst)
    f.metric("backup.files", snap["files"] or 0, inst)
    module.exit_json(changed=True, snapshot=snap, findings=f.findings, metrics=f.metrics)


_NOT_THERE = re.compile(r"(does not exist|no such file|unable to open config file|Is there a repository at)", re.I)


def _open(p, repo, password_file):
    """'ok' when the password opens the repository, 'missing' when there is none, else the error text."""
    res = restic(p, repo, ["cat", "config"], password_file=password_file, timeout=300)
    if res.ok:
        return "ok"
    if _NOT_THERE.search(res.err) and "wrong password" not in res.err:
        return "missing"
    return res.tail(3)


def _cannot_open(what, repo, error):
    if "wrong password" in error or "no key found" in error:
        return "%s does not open the existing restic repository %s (nothing was changed): %s" % (what, repo, error)
    return "cannot open the restic repository %s (nothing was changed): %s" % (repo, error)


def do_init(module, p):
    done = []
    for ds in p["datasets"]:
        local = os.path.join(p["repo_path"], ds["name"])
        state = _open(p, local, p["password_file"]) if os.path.exists(os.path.join(local, "config")) else "missing"
        if state not in ("ok", "missing"):
            module.fail_json(msg=_cannot_open("backup_restic_password", local, state))
        if state == "missing" and not module.check_mode:
            res = restic(p, local, ["init"])
            if not res.ok:
                module.fail_json(msg="restic init %s failed: %s" % (local, res.tail()))
            done.append(local)
        if not p["offsite_url"] or (module.check_mode and state == "missing"):
            continue  # a preview on a fresh store: nothing to open yet
        remote = "%s/%s" % (p["offsite_url"], ds["name"])
        state = _open(p, remote, p["offsite_password_file"])
        if state not in ("ok", "missing"):
            module.fail_json(msg=_cannot_open("backup_restic_offsite_password", remote, state))
        if state == "missing" and not module.check_mode:
            res = restic(p, remote, ["init", "--from-repo", local, "--copy-chunker-params"],
                         password_file=p["offsite_password_file"], env={"RESTIC_FROM_PASSWORD_FILE": p["password_file"]})
            if not res.ok:
                module.fail_json(msg="restic init %s failed: %s" % (remote, res.tail()))
            done.append(remote)
    module.exit_json(changed=bool(done), created=done, findings=[], metrics=[])


def _check_problems(text):
    """Damaged packs and errors named by ``restic check``."""
    found = []
    for line in text.splitlines():
        low = line.lower()
        if ("pack" in low and ("does not match" in low or "not found" in low or "damaged" in low or "error" in low)) \
                or low.strip().startswith(("error", "fatal")) or "ciphertext verification failed" in low:
            found.append(line.strip())
    return found


def _check(f, p, repo, password_file, subset, inst, state_name):
    """restic check of ``repo`` (every pack, or the slice ``subset``): a BACKUP-VERIFY-002 finding and
    the state the status reads; True when no problem was found."""
    args = ["check", "--read-data"] if subset is None else ["check", "--read-data-subset=%s" % subset]
    res = restic(p, repo, args, password_file=password_file)
    text = res.out + "\n" + res.err
    problems = _check_problems(text)
    ok = res.ok and "no errors were found" in text and not problems
    what = "全部数据包" if subset is None else "数据包切片 %s" % subset
    if ok:
        evidence = "restic check 读取%s，未发现错误（%.0f 秒）" % (what, res.seconds)
    else:
        evidence = "restic check 读取%s 发现问题（退出码 %s）：%s" % (what, res.rc, "；".join(problems[:10]) or res.tail(4))
    record = {"time": time.time(), "status": "ok" if ok else "failed", "evidence": evidence, "tool": "restic check",
              "full_read": subset is None}
    write_state(state_name, record)
    f.add("BACKUP-VERIFY-002", "ok" if ok else "failed", evidence, inst, outcome=None if ok else "failed")
    f.metric("backup.verify.duration_s", res.seconds, inst)
    return ok, evidence


def do_probe(module, p):
    import shutil
    import tempfile

    existing = [os.path.join(p["repo_path"], ds["name"]) for ds in p["datasets"]
                if os.path.exists(os.path.join(p["repo_path"], ds["name"], "config"))]
    if not existing:
        module.exit_json(changed=False, opened=[], findings=[], metrics=[])
    user = probe_user(module, "restic", p["os_user"])
    if user is None:
        module.exit_json(changed=False, skipped=True, opened=[], findings=[], metrics=[],
                         msg="restic is not installed yet: the password is probed when the job runs, "
                             "before any repository is written")
    p = dict(p, os_user=user)
    tmp = tempfile.mkdtemp(prefix="yunwei-probe-")
    try:
        os.chmod(tmp, 0o711)
        pw = os.path.join(tmp, "pass")
        with open(pw, "w") as fh:
            fh.write(p["password"] or "")
        if p["os_user"] != "root":
            import pwd

            os.chown(pw, pwd.getpwnam(p["os_user"]).pw_uid, -1)
        os.chmod(pw, 0o400)
        seen = []
        for local in existing:
            state = _open(p, local, pw)
            if state != "ok":
                module.fail_json(msg=_cannot_open("the vaulted password", local, state))
            seen.append(local)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    module.exit_json(changed=False, opened=seen, findings=[], metrics=[])


def do_maintain(module, p):
    f, failed = Findings(), []
    if module.check_mode:
        module.exit_json(changed=False, msg="would forget, prune, copy and check", findings=[], metrics=[])
    day = time.localtime().tm_mday
    for ds in p["datasets"]:
        name, keep = ds["name"], "%dd" % int(ds.get("retention_days") or MIN_RETENTION_DAYS)
        local = os.path.join(p["repo_path"], name)
        res = restic(p, local, ["forget", "--keep-within", keep, "--prune"])
        if not res.ok and "locked" in res.err:
            # a backup that died with its connection leaves a lock restic calls stale only after 30 min:
            # retention is applied on the next run; nothing is lost meanwhile
            f.add("BACKUP-RUN-001", "deferred", "%s 清理（forget/prune）推迟：存储库被锁定（%s）" % (name, res.tail(1)),
                  "%s/primary" % name, outcome="deferred")
        elif not res.ok:
            failed.append("%s: forget/prune: %s" % (name, res.tail(2)))
        if p["offsite_url"]:
            remote = "%s/%s" % (p["offsite_url"], name)
            inst = "%s/offsite" % name
            res = restic(p, remote, ["copy", "--from-repo", local], password_file=p["offsite_password_file"],
                         env={"RESTIC_FROM_PASSWORD_FILE": p["password_file"]})
            if res.ok:
                copied = len(re.findall(r"^snapshot [0-9a-f]+ saved", res.out, re.M))
                f.add("BACKUP-RUN-001", "copied", "异地复制完成：新复制 %d 个快照（%.0f 秒）" % (copied, res.seconds), inst)
                f.metric("backup.duration_s", res.seconds, inst)
                res = restic(p, remote, ["forget", "--keep-within", keep, "--prune"], password_file=p["offsite_password_file"])
                if not res.ok:
                    failed.append("%s: off-site forget/prune: %s" % (name, res.tail(2)))
            else:
                f.add("BACKUP-RUN-001", "failed", "异地复制失败：%s" % res.tail(), inst, outcome="failed")
                failed.append("%s: copy to %s: %s" % (name, remote, res.tail(2)))
        if p["check_slices"] > 0:
            subset = "%d/%d" % ((day - 1) % p["check_slices"] + 1, p["check_slices"])
            ok, evidence = _check(f, p, local, p["password_file"], subset, "%s/primary" % name, "slice-files-%s-primary.json" % name)
            if not ok:
                failed.append("%s: check %s: %s" % (name, subset, evidence))
    result = dict(changed=True, findings=f.findings, metrics=f.metrics)
    if failed:
        module.fail_json(msg="; ".join(failed), **result)
    module.exit_json(**result)


def do_verify(module, p):
    f, failed = Findings(), []
    if module.check_mode:
        module.exit_json(changed=False, msg="would read every pack", findings=[], metrics=[])
    role = "offsite" if p["password_file"] == p["offsite_password_file"] else "primary"
    for ds in p["datasets"]:
        local = os.path.join(p["repo_path"], ds["name"])
        ok, evidence = _check(f, p, local, p["password_file"], None, "%s/%s" % (ds["name"], role),
                              "verify-files-%s-%s.json" % (ds["name"], role))
        if not ok:
            failed.append(evidence)
    result = dict(changed=False, findings=f.findings, metrics=f.metrics)
    if failed:
        module.fail_json(msg="; ".join(failed), **result)
    module.exit_json(**result)


def _mib(num):
    return "%.1f MiB" % ((num or 0) / 1048576.0)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["backup", "init", "maintain", "verify", "probe"]),
            password=dict(type="str", no_log=True),
            dataset=dict(type="str"),
            datasets=dict(type="list", elements="dict", default=[]),
            repository=dict(type="str"),
            repo_path=dict(type="str", default="/srv/backup/restic"),
            offsite_url=dict(type="str", default=""),
            password_file=dict(type="path", default="/etc/yunwei-backup/restic.pass", no_log=False),
            offsite_password_file=dict(type="path", default="/etc/yunwei-backup/restic-offsite.pass", no_log=False),
            sftp_command=dict(type="str", default=""),
            paths=dict(type="list", elements="str", default=[]),
            exclude=dict(type="list", elements="str", default=[]),
            type=dict(type="str", default="incr", choices=["full", "diff", "incr"]),
            host=dict(type="str"),
            os_user=dict(type="str", default="root"),
            cache_dir=dict(type="path", default="/var/cache/yunwei-backup/restic"),
            check_slices=dict(type="int", default=28),
            only_missing=dict(type="bool", default=False),
            timeout=dict(type="int", default=7200),
        ),
        required_if=[("action", "backup", ["dataset", "repository", "paths", "host"])],
        supports_check_mode=True,
    )
    p = module.params
    os.umask(0o077)
    {"backup": do_backup, "init": do_init, "maintain": do_maintain, "verify": do_verify,
     "probe": do_probe}[p["action"]](module, p)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status of the backups, computed from facts read on one host: a pure function.

``compute(facts, datasets, now)`` turns what the module ``backup_status`` read on a repository host
(pgBackRest ``info --output=json``, restic snapshots, the last verify, free space) or a database host
(pg_stat_archiver) into BACKUP-* findings, metrics and one status row per data set and repository.
It computes values only: the action plugin judges the findings against the check catalogue (the
tier's thresholds) on the controller and gives each row the worst status of the checks it names
(``row["checks"]``, the first being its age check). No I/O here, so the CLI, the inspection and the
tests call it with any facts.
"""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.module_utils.backup_checks import measured
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import fmt_time
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Findings, human_seconds


def _age(now, when):
    return None if not when else max(0.0, now - float(when))


def _dur(sec):
    return "无" if sec is None else human_seconds(sec)


def pg_backups(stanza_info):
    """Backups of one stanza of ``info --output=json`` as [{label, type, time, start, size, duration_s, ...}]."""
    out = []
    for b in (stanza_info or {}).get("backup") or ():
        ts = b.get("timestamp") or {}
        inf = b.get("info") or {}
        out.append({"label": b.get("label"), "type": b.get("type"), "time": ts.get("stop"), "start": ts.get("start"),
                    "duration_s": (ts.get("stop") or 0) - (ts.get("start") or 0), "size": inf.get("size"),
                    "stored": (inf.get("repository") or {}).get("delta"), "error": b.get("error", False)})
    return out


def restic_backups(snapshots, host):
    out = []
    for s in sorted(snapshots or (), key=lambda x: x.get("time_epoch") or 0):
        if s.get("hostname") != host:
            continue
        tags = dict(t.split("=", 1) for t in s.get("tags") or () if "=" in t)
        out.append({"label": (s.get("short_id") or s.get("id") or "")[:8], "type": tags.get("type", "incr"),
                    "time": s.get("time_epoch"), "manifest": tags.get("manifest"), "size": None, "duration_s": None})
    return out


def _ages(f, now, ds, backups, inst, offsite):
    """BACKUP-AGE-001 and -FULL-001 (or -OFFSITE-001) of one data set in one repository; returns
    (age of the newest backup, the ids of the findings)."""
    tier = ds["tier"]
    newest = backups[-1] if backups else None
    newest_age = _age(now, newest and newest["time"])
    if offsite:
        if newest:
            f.add("BACKUP-OFFSITE-001", round(newest_age, 1), "异地副本最新备份 %s（%s，距今 %s）" % (
                newest["label"], fmt_time(newest["time"]), _dur(newest_age)), inst,
                measured=measured(tier, "offsite_age_s", newest_age))
        else:
            f.add("BACKUP-OFFSITE-001", "none", "异地存储库中没有任何备份", inst, outcome="none",
                  measured=measured(tier, "offsite_age_s", None))
        return newest_age, ["BACKUP-OFFSITE-001"]
    if newest:
        f.add("BACKUP-AGE-001", round(newest_age, 1), "最近一次备份 %s（%s，%s，距今 %s）" % (
            newest["label"], newest["type"], fmt_time(newest["time"]), _dur(newest_age)), inst,
            measured=measured(tier, "age_s", newest_age))
    else:
        f.add("BACKUP-AGE-001", "none", "存储库中没有任何备份", inst, outcome="none", measured=measured(tier, "age_s", None))
    full = [b for b in backups if b["type"] == "full"]
    if full:
        full_age = _age(now, full[-1]["time"])
        f.add("BACKUP-FULL-001", round(full_age, 1), "最近一次全量备份 %s（%s，距今 %s）" % (
            full[-1]["label"], fmt_time(full[-1]["time"]), _dur(full_age)), inst,
            measured=measured(tier, "full_age_s", full_age))
    else:
        f.add("BACKUP-FULL-001", "none", "没有全量备份", inst, outcome="none", measured=measured(tier, "full_age_s", None))
    return newest_age, ["BACKUP-AGE-001", "BACKUP-FULL-001"]


def _verify(f, now, tier, state, slice_state, inst, first=None):
    """BACKUP-VERIFY-001 from the last full verify (and a newer failed partial check). Never verified:
    the time since the repository's first backup is judged (a month without a verify, not a new store)."""
    key = "verify_age_s"
    if slice_state and slice_state.get("status") != "ok" and (not state or slice_state.get("time", 0) > state.get("time", 0)):
        f.add("BACKUP-VERIFY-001", "failed", "%s 于 %s 发现问题：%s" % (
            slice_state.get("tool"), fmt_time(slice_state.get("time")), slice_state.get("evidence")), inst,
            outcome="failed", measured=measured(tier, key, None))
        return
    if not state:
        since = _age(now, first)
        text = ("尚未做过完整性校验；首个备份于 %s（%s 前），每月校验一次" % (fmt_time(first), _dur(since)) if first
                else "尚未做过完整性校验（存储库中还没有备份）")
        f.add("BACKUP-VERIFY-001", "never", text, inst, outcome="never", measured=measured(tier, key, since))
        return
    age = _age(now, state.get("time"))
    if state.get("status") != "ok":
        f.add("BACKUP-VERIFY-001", "failed", "%s 于 %s 未通过：%s" % (
            state.get("tool"), fmt_time(state.get("time")), state.get("evidence")), inst, outcome="failed",
            measured=measured(tier, key, None))
        return
    f.add("BACKUP-VERIFY-001", round(age, 1), "%s 于 %s 通过（距今 %s）" % (
        state.get("tool"), fmt_time(state.get("time")), _dur(age)), inst, measured=measured(tier, key, age))


def compute(facts, datasets, now):
    """Findings, metrics and rows from one host's facts.

    ``facts``: {role: store|offsite|db, host, pg: {stanza: info-json-stanza | {"error": text}},
    restic: {dataset: {"snapshots": [...]} | {"error": text}}, verify: {state name: record},
    repo_fs: [{path, total, used, free, days_full, growth_per_day}], archiver: {dataset: {...}}}.
    ``datasets``: [{name, kind, tier, hosts: [..]}].
    Rows name their findings in ``checks`` ([id, instance], the age check first); the action plugin
    sets each row's ``status`` and ``limit_s`` from the judged checks.
    """
    f = Findings(now=now)
    rows = []
    role = facts.get("role")
    offsite = role == "offsite"
    repo = "offsite" if offsite else "primary"
    for ds in datasets:
        name = ds["name"]
        sources = ",".join(ds.get("hosts") or ())
        base = {"dataset": name, "kind": ds["kind"], "tier": ds["tier"], "repo": repo, "repo_host": facts.get("host")}
        if role == "db":
            if ds["kind"] == "postgresql" and name in (facts.get("archiver") or {}):
                rows.append(_wal(f, now, ds, facts["archiver"][name]))
            continue
        if ds["kind"] == "postgresql":
            inst = "%s/repo%d" % (name, 2 if offsite else 1)
            got = (facts.get("pg") or {}).get(name)
            if not got or got.get("error") or (got.get("status") or {}).get("code") not in (0, 2, None):
                reason = (got or {}).get("error") or ((got or {}).get("status") or {}).get("message") or "无此 stanza"
                f.add("BACKUP-REPO-003", "unreadable", "%s：%s" % (inst, reason), inst, outcome="unreadable")
                rows.append(dict(base, source_host=sources, error=reason, checks=[["BACKUP-REPO-003", inst]]))
                continue
            f.add("BACKUP-REPO-003", "ok", "%s 可读取（%s）" % (inst, (got.get("status") or {}).get("message", "ok")), inst)
            backups = pg_backups(got)
            cipher = got.get("cipher") or "none"
            encrypted = cipher != "none"
            f.add("BACKUP-ENC-001", cipher, "pgBackRest 存储库加密：%s" % cipher, inst,
                  outcome=None if encrypted else "unencrypted")
            newest_age, ids = _ages(f, now, ds, backups, inst, offsite)
            _verify(f, now, ds["tier"], (facts.get("verify") or {}).get("verify-pg-%s-repo%d.json" % (
                name, 2 if offsite else 1)), None, inst, backups[0]["time"] if backups else None)
            rows.append(_row(base, sources, backups, newest_age, encrypted,
                             [[i, inst] for i in ids] + [["BACKUP-ENC-001", inst], ["BACKUP-VERIFY-001", inst]]))
            if newest_age is not None:
                f.metric("backup.age_s", newest_age, inst)
            continue
        # files: one row per source host
        got = (facts.get("restic") or {}).get(name) or {}
        inst_repo = "%s/%s" % (name, repo)
        if got.get("error"):
            f.add("BACKUP-REPO-003", "unreadable", "restic 仓库 %s：%s" % (inst_repo, got["error"]), inst_repo,
                  outcome="unreadable")
            rows.append(dict(base, source_host=sources, error=got["error"], checks=[["BACKUP-REPO-003", inst_repo]]))
            continue
        snaps = got.get("snapshots") or ()
        f.add("BACKUP-REPO-003", "ok", "restic 仓库 %s 可读取，%d 个快照" % (inst_repo, len(snaps)), inst_repo)
        f.add("BACKUP-ENC-001", "restic", "restic 仓库始终加密（AES-256-CTR + Poly1305）", inst_repo)
        states = facts.get("verify") or {}
        times = [x.get("time_epoch") for x in snaps if x.get("time_epoch")]
        _verify(f, now, ds["tier"], states.get("verify-files-%s-%s.json" % (name, repo)),
                states.get("slice-files-%s-%s.json" % (name, repo)), inst_repo, min(times) if times else None)
        for host in ds.get("hosts") or ():
            inst = "%s@%s" % (name, host) + ("/offsite" if offsite else "")
            backups = restic_backups(snaps, host)
            newest_age, ids = _ages(f, now, ds, backups, inst, offsite)
            rows.append(_row(base, host, backups, newest_age, True,
                             [[i, inst] for i in ids] + [["BACKUP-VERIFY-001", inst_repo]]))
            if newest_age is not None:
                f.metric("backup.age_s", newest_age, inst)
    if role in ("store", "offsite"):
        _repo_space(f, rows, facts.get("repo_fs") or ())
    f.sort()
    return f.findings, f.metrics, rows


def _row(base, source_host, backups, newest_age, encrypted, checks):
    last = {}
    for b in backups:  # oldest first: the newest of each type wins
        last[b["type"]] = {"label": b["label"], "time": b["time"], "size": b.get("size"), "duration_s": b.get("duration_s")}
    return dict(base, source_host=source_host, last=last, newest_age_s=newest_age, backups=len(backups),
                encrypted=encrypted, checks=checks,
                manifest=(backups[-1].get("manifest") if backups else None))


def _repo_space(f, rows, filesystems):
    for fs in filesystems:
        total, free = float(fs.get("total") or 0), float(fs.get("free") or 0)
        pct = 100.0 * free / total if total else 0.0
        inst = fs["path"]
        f.add("BACKUP-REPO-001", round(pct, 1), "%s 剩余 %.1f%%（%.1f GiB / %.1f GiB），存储库占用 %.1f GiB" % (
            inst, pct, free / 2 ** 30, total / 2 ** 30, float(fs.get("used") or 0) / 2 ** 30), inst)
        days = fs.get("days_full")
        growth = fs.get("growth_per_day")
        if days is None:
            f.add("BACKUP-REPO-002", "n/a", "%s 增长数据不足（至少 12 小时的记录）或未增长，暂无预测" % inst, inst,
                  outcome="no_trend")
        else:
            f.add("BACKUP-REPO-002", round(days, 1), "%s 按近期增长（%.1f MiB/天）约 %.0f 天后写满" % (
                inst, (growth or 0) / 2 ** 20, days), inst)
        f.metric("backup.repo.free_pct", pct, inst)
        f.metric("backup.repo.used_bytes", fs.get("used") or 0, inst)
        if growth is not None:
            f.metric("backup.repo.growth_bytes_per_day", growth, inst)
        for row in rows:
            if row.get("repo_host") and "free_pct" not in row:
                row["free_pct"] = round(pct, 1)
                row["days_until_full"] = None if days is None else round(days, 1)
                row["checks"] = row["checks"] + [["BACKUP-REPO-001", inst]]


def _wal(f, now, ds, a):
    inst = ds["name"]
    tier = ds["tier"]
    row = {"dataset": ds["name"], "kind": ds["kind"], "tier": tier, "repo": "wal", "repo_host": None,
           "source_host": ",".join(ds.get("hosts") or ()), "checks": [["BACKUP-WAL-001", inst], ["BACKUP-WAL-002", inst]]}
    if a.get("error"):
        f.add("BACKUP-WAL-002", "unknown", "无法读取归档状态：%s" % a["error"], inst, outcome="unknown")
        row.update(error=a["error"], checks=[["BACKUP-WAL-002", inst]])
        return row
    if a.get("archive_mode") not in ("on", "always") or "pgbackrest" not in (a.get("archive_command") or ""):
        f.add("BACKUP-WAL-002", "off", "WAL 归档未启用或未指向 pgBackRest（archive_mode=%s, archive_command=%s）" % (
            a.get("archive_mode"), a.get("archive_command")), inst, outcome="disabled")
        row.update(wal_lag_s=None, checks=[["BACKUP-WAL-002", inst]])
        return row
    failing = a.get("last_failed_time") and (a.get("last_failed_time") or 0) >= (a.get("last_archived_time") or 0)
    ready = int(a.get("ready") or 0)
    timeout = float(a.get("archive_timeout") or 60)
    bounded = False
    if ready and a.get("oldest_ready_time"):
        lag = _age(now, a["oldest_ready_time"])
        how = "%d 个已写满的 WAL 段等待归档，最早的已等待 %s" % (ready, _dur(lag))
    elif (a.get("pending_bytes") or 0) > 0:
        lag = min(_age(now, a.get("last_archived_time")) or timeout, timeout)
        bounded = True  # an upper bound: the segment is switched and archived within archive_timeout
        how = "当前 WAL 段有未归档的写入，数据库最迟 %.0f 秒后切换并归档，延迟不超过 %.0f 秒" % (timeout, lag)
    else:
        lag = 0.0
        how = "全部 WAL 已归档"
    evidence = "%s；最近归档 %s（%s）" % (how, a.get("last_archived_wal") or "无", fmt_time(a.get("last_archived_time")))
    f.add("BACKUP-WAL-001", round(lag, 1), evidence, inst, measured=measured(tier, "wal_lag_s", lag))
    if failing:
        f.add("BACKUP-WAL-002", "failing", "最近一次归档失败：%s（%s），累计失败 %s 次" % (
            a.get("last_failed_wal"), fmt_time(a.get("last_failed_time")), a.get("failed_count")), inst, outcome="failing")
    else:
        f.add("BACKUP-WAL-002", "ok", "归档正常，累计归档 %s 个" % a.get("archived_count"), inst)
    f.metric("backup.wal.lag_s", lag, inst)
    f.metric("backup.wal.ready", ready, inst)
    row.update(wal_lag_s=round(lag, 1), wal_lag_bounded=bounded, last_archived_wal=a.get("last_archived_wal"),
               last_archived_time=a.get("last_archived_time"), failing=bool(failing))
    return row

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status of the backups, computed from facts read on one host: a pure function.

``compute(facts, datasets, limits_by_tier, now)`` turns what the module ``backup_status`` read on a
repository host (pgBackRest ``info --output=json``, restic snapshots, the last verify, free space)
or a database host (pg_stat_archiver) into BACKUP-* checks, metrics and one status row per data set
and repository. No I/O here, so the inspection, the CLI and the tests call it with any facts.
"""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.module_utils import backup_checks as vocab
from ansible_collections.yunwei.ops.plugins.module_utils.backup_common import fmt_time
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import human_seconds

WORST = {"ok": 0, "warn": 1, "crit": 2}


def _age(now, when):
    return None if not when else max(0.0, now - float(when))


def _dur(sec):
    return "无" if sec is None else human_seconds(sec)


def _last_by_type(items):
    """{type: newest item} of items with 'type' and 'time' (sorted oldest first)."""
    out = {}
    for item in items:
        out[item["type"]] = item
    return out


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


def _judge_ages(checks, rows, now, ds, lim, backups, inst, offsite):
    newest = backups[-1] if backups else None
    full = [b for b in backups if b["type"] == "full"]
    newest_age = _age(now, newest and newest["time"])
    row_status = "ok"
    if offsite:
        key = "BACKUP-OFFSITE-001"
        value = newest_age if newest else None
        c = vocab.judged(key, value, "异地副本最新备份 %s（%s，距今 %s）" % (
            newest["label"], fmt_time(newest["time"]), _dur(newest_age)) if newest else "异地存储库中没有任何备份", lim, inst)
        if not newest:
            c = vocab.check(key, "crit", "none", "异地存储库中没有任何备份", instance=inst, threshold=lim["offsite_age_s"])
        checks.append(c)
        row_status = c["status"]
    else:
        if newest:
            c = vocab.judged("BACKUP-AGE-001", newest_age, "最近一次备份 %s（%s，%s，距今 %s）" % (
                newest["label"], newest["type"], fmt_time(newest["time"]), _dur(newest_age)), lim, inst)
        else:
            c = vocab.check("BACKUP-AGE-001", "crit", "none", "存储库中没有任何备份", instance=inst, threshold=lim["newest_age_s"])
        checks.append(c)
        full_age = _age(now, full[-1]["time"]) if full else None
        if full:
            f = vocab.judged("BACKUP-FULL-001", full_age, "最近一次全量备份 %s（%s，距今 %s）" % (
                full[-1]["label"], fmt_time(full[-1]["time"]), _dur(full_age)), lim, inst)
        else:
            f = vocab.check("BACKUP-FULL-001", "crit", "none", "没有全量备份", instance=inst, threshold=lim["full_age_s"])
        checks.append(f)
        row_status = max(c["status"], f["status"], key=WORST.get)
    return newest_age, row_status


def _verify_check(now, state, slice_state, lim, inst, first=None):
    """BACKUP-VERIFY-001 from the last full verify (and a newer failed partial check). Never verified
    is ok while the oldest backup (``first``) is younger than the verify limit: the month is not over."""
    if slice_state and slice_state.get("status") != "ok" and (not state or slice_state.get("time", 0) > state.get("time", 0)):
        return vocab.check("BACKUP-VERIFY-001", "crit", "failed", "%s 于 %s 发现问题：%s" % (
            slice_state.get("tool"), fmt_time(slice_state.get("time")), slice_state.get("evidence")), instance=inst,
            threshold=lim["verify_age_s"])
    if not state and first and _age(now, first) < lim["verify_age_s"]["warn"]:
        return vocab.check("BACKUP-VERIFY-001", "ok", "never", "尚未校验；首个备份于 %s，每月校验一次（yunwei run backup_verify）"
                           % fmt_time(first), instance=inst, threshold=lim["verify_age_s"])
    if not state:
        return vocab.check("BACKUP-VERIFY-001", "warn", "never", "尚未做过完整性校验（每月一次，yunwei run backup_verify）",
                           instance=inst, threshold=lim["verify_age_s"])
    age = _age(now, state.get("time"))
    if state.get("status") != "ok":
        return vocab.check("BACKUP-VERIFY-001", "crit", "failed", "%s 于 %s 未通过：%s" % (
            state.get("tool"), fmt_time(state.get("time")), state.get("evidence")), instance=inst, threshold=lim["verify_age_s"])
    return vocab.judged("BACKUP-VERIFY-001", age, "%s 于 %s 通过（距今 %s）" % (
        state.get("tool"), fmt_time(state.get("time")), _dur(age)), lim, inst)


def compute(facts, datasets, limits_by_tier, now):
    """Checks, metrics and rows from one host's facts.

    ``facts``: {role: store|offsite|db, host, pg: {stanza: info-json-stanza | {"error": text}},
    restic: {dataset: {"snapshots": [...]} | {"error": text}}, verify: {state name: record},
    repo_fs: [{path, total, used, free, days_full}], archiver: {dataset: {...}}}.
    ``datasets``: [{name, kind, tier, hosts: [..]}]; ``limits_by_tier``: {tier: limits}.
    """
    checks, metrics, rows = [], [], []
    role = facts.get("role")
    offsite = role == "offsite"
    repo = "offsite" if offsite else "primary"
    for ds in datasets:
        lim = limits_by_tier[ds["tier"]]
        name = ds["name"]
        if role == "db":
            if ds["kind"] == "postgresql" and name in (facts.get("archiver") or {}):
                row = _wal(checks, metrics, now, ds, lim, facts["archiver"][name])
                rows.append(row)
            continue
        if ds["kind"] == "postgresql":
            idx = 2 if offsite else 1
            inst = "%s/repo%d" % (name, idx)
            got = (facts.get("pg") or {}).get(name)
            if not got or got.get("error") or (got.get("status") or {}).get("code") not in (0, 2, None):
                reason = (got or {}).get("error") or ((got or {}).get("status") or {}).get("message") or "无此 stanza"
                if got and (got.get("status") or {}).get("code") == 2 and not got.get("backup"):
                    reason = "存储库中没有任何备份"
                checks.append(vocab.check("BACKUP-REPO-003", "crit", "unreadable", "%s：%s" % (inst, reason), instance=inst))
                rows.append({"dataset": name, "kind": ds["kind"], "tier": ds["tier"], "repo": repo, "repo_host": facts.get("host"),
                             "source_host": ",".join(ds.get("hosts") or ()), "status": "crit", "error": reason})
                continue
            checks.append(vocab.check("BACKUP-REPO-003", "ok", "ok", "%s 可读取（%s）" % (inst, (got.get("status") or {}).get("message", "ok")),
                                      instance=inst))
            backups = pg_backups(got)
            cipher = got.get("cipher") or "none"
            encrypted = cipher != "none"
            checks.append(vocab.check("BACKUP-ENC-001", "ok" if encrypted else "crit", cipher,
                                      "pgBackRest 存储库加密：%s" % cipher, instance=inst))
            newest_age, status = _judge_ages(checks, rows, now, ds, lim, backups, inst, offsite)
            ver = _verify_check(now, (facts.get("verify") or {}).get("verify-pg-%s-repo%d.json" % (name, idx)), None, lim, inst,
                                backups[0]["time"] if backups else None)
            checks.append(ver)
            rows.append(_row(ds, repo, facts.get("host"), ",".join(ds.get("hosts") or ()), backups, newest_age, encrypted, ver,
                             max(status, ver["status"], "ok" if encrypted else "crit", key=WORST.get), lim, offsite))
            if newest_age is not None:
                metrics.append(_metric("backup.age_s", newest_age, "s", inst, now))
            continue
        # files: one row per source host
        got = (facts.get("restic") or {}).get(name) or {}
        inst_repo = "%s/%s" % (name, repo)
        if got.get("error"):
            checks.append(vocab.check("BACKUP-REPO-003", "crit", "unreadable", "restic 仓库 %s：%s" % (inst_repo, got["error"]),
                                      instance=inst_repo))
            rows.append({"dataset": name, "kind": ds["kind"], "tier": ds["tier"], "repo": repo, "repo_host": facts.get("host"),
                         "source_host": ",".join(ds.get("hosts") or ()), "status": "crit", "error": got["error"]})
            continue
        checks.append(vocab.check("BACKUP-REPO-003", "ok", "ok", "restic 仓库 %s 可读取，%d 个快照" % (inst_repo, len(got.get("snapshots") or ())),
                                  instance=inst_repo))
        checks.append(vocab.check("BACKUP-ENC-001", "ok", "restic", "restic 仓库始终加密（AES-256-CTR + Poly1305）", instance=inst_repo))
        states = facts.get("verify") or {}
        times = [x.get("time_epoch") for x in got.get("snapshots") or () if x.get("time_epoch")]
        ver = _verify_check(now, states.get("verify-files-%s-%s.json" % (name, repo)),
                            states.get("slice-files-%s-%s.json" % (name, repo)), lim, inst_repo, min(times) if times else None)
        checks.append(ver)
        for host in ds.get("hosts") or ():
            inst = "%s@%s" % (name, host) + ("/offsite" if offsite else "")
            backups = restic_backups(got.get("snapshots"), host)
            newest_age, status = _judge_ages(checks, rows, now, ds, lim, backups, inst, offsite)
            rows.append(_row(ds, repo, facts.get("host"), host, backups, newest_age, True, ver,
                             max(status, ver["status"], key=WORST.get), lim, offsite))
            if newest_age is not None:
                metrics.append(_metric("backup.age_s", newest_age, "s", inst, now))
    if role in ("store", "offsite"):
        _repo_space(checks, metrics, rows, facts.get("repo_fs") or (), limits_by_tier, now)
    return checks, metrics, rows


def _row(ds, repo, repo_host, source_host, backups, newest_age, encrypted, ver, status, lim, offsite):
    last = {}
    for t, b in _last_by_type(backups).items():
        last[t] = {"label": b["label"], "time": b["time"], "size": b.get("size"), "duration_s": b.get("duration_s")}
    return {"dataset": ds["name"], "kind": ds["kind"], "tier": ds["tier"], "repo": repo, "repo_host": repo_host,
            "source_host": source_host, "last": last, "newest_age_s": newest_age, "backups": len(backups),
            "limit_s": lim["offsite_age_s" if offsite else "newest_age_s"], "encrypted": encrypted,
            "verify": {"status": ver["status"], "evidence": ver["evidence"]}, "status": status,
            "manifest": (backups[-1].get("manifest") if backups else None)}


def _metric(name, value, unit, instance, now):
    return {"name": name, "instance": instance, "value": round(float(value), 3), "unit": unit, "time": round(now, 3)}


def _repo_space(checks, metrics, rows, filesystems, limits_by_tier, now):
    lim = limits_by_tier[sorted(limits_by_tier)[0]]
    for fs in filesystems:
        total, free = float(fs.get("total") or 0), float(fs.get("free") or 0)
        pct = 100.0 * free / total if total else 0.0
        inst = fs["path"]
        checks.append(vocab.judged("BACKUP-REPO-001", round(pct, 1), "%s 剩余 %.1f%%（%.1f GiB / %.1f GiB）" % (
            inst, pct, free / 2 ** 30, total / 2 ** 30), lim, inst))
        days = fs.get("days_full")
        if days is None:
            checks.append(vocab.check("BACKUP-REPO-002", "ok", "n/a", "%s 增长数据不足或未增长，暂无预测" % inst, instance=inst,
                                      threshold=lim["repo_days_full"]))
        else:
            checks.append(vocab.judged("BACKUP-REPO-002", round(days, 1), "%s 按近期增长（%.1f MiB/天）约 %.0f 天后写满" % (
                inst, (fs.get("growth_per_day") or 0) / 2 ** 20, days), lim, inst))
        metrics.append(_metric("backup.repo.free_pct", pct, "%", inst, now))
        metrics.append(_metric("backup.repo.used_bytes", fs.get("used") or 0, "B", inst, now))
        for row in rows:
            if row.get("repo_host") and "free_pct" not in row:
                row["free_pct"] = round(pct, 1)
                row["days_until_full"] = None if days is None else round(days, 1)


def _wal(checks, metrics, now, ds, lim, a):
    inst = ds["name"]
    row = {"dataset": ds["name"], "kind": ds["kind"], "tier": ds["tier"], "repo": "wal", "source_host": ",".join(ds.get("hosts") or ()),
           "status": "ok"}
    if a.get("error"):
        c = vocab.check("BACKUP-WAL-002", "crit", "unknown", "无法读取归档状态：%s" % a["error"], instance=inst)
        checks.append(c)
        row.update(status="crit", error=a["error"])
        return row
    if a.get("archive_mode") not in ("on", "always") or "pgbackrest" not in (a.get("archive_command") or ""):
        c = vocab.check("BACKUP-WAL-002", "crit", "off", "WAL 归档未启用或未指向 pgBackRest（archive_mode=%s, archive_command=%s）" % (
            a.get("archive_mode"), a.get("archive_command")), instance=inst)
        checks.append(c)
        row.update(status="crit", wal_lag_s=None)
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
        how = "当前 WAL 段有未归档的写入，将在 archive_timeout（%.0f 秒）内归档，延迟不超过 %.0f 秒" % (timeout, lag)
    else:
        lag = 0.0
        how = "全部 WAL 已归档"
    evidence = "%s；最近归档 %s（%s）" % (how, a.get("last_archived_wal") or "无", fmt_time(a.get("last_archived_time")))
    checks.append(vocab.judged("BACKUP-WAL-001", round(lag, 1), evidence, lim, inst))
    if failing:
        checks.append(vocab.check("BACKUP-WAL-002", "crit", "failing", "最近一次归档失败：%s（%s），累计失败 %s 次" % (
            a.get("last_failed_wal"), fmt_time(a.get("last_failed_time")), a.get("failed_count")), instance=inst))
    else:
        checks.append(vocab.check("BACKUP-WAL-002", "ok", "ok", "归档正常，累计归档 %s 个" % a.get("archived_count"), instance=inst))
    metrics.append(_metric("backup.wal.lag_s", lag, "s", inst, now))
    metrics.append(_metric("backup.wal.ready", ready, "", inst, now))
    status = max(checks[-2]["status"], checks[-1]["status"], key=WORST.get)
    row.update(status=status, wal_lag_s=round(lag, 1), wal_lag_bounded=bounded, last_archived_wal=a.get("last_archived_wal"),
               last_archived_time=a.get("last_archived_time"), failing=bool(failing), limit_s=lim["wal_lag_s"])
    return row

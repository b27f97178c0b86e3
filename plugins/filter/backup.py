# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the backup role: validate the data sets and settings on the controller (each problem
names the file and the key), and select the data sets a job or a host works on.

Pure functions of their arguments: no store, no lock, no connection (they run in forked workers).
The threshold overrides are checked against the check catalogue of the yunwei package.
"""

from __future__ import annotations

import datetime
import os
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.yunwei.ops.plugins.filter.inspection import origin as value_origin
from ansible_collections.yunwei.ops.plugins.module_utils.backup_checks import KINDS, MIN_RETENTION_DAYS, TIERS
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
TYPES = ("full", "diff", "incr")
SECRETS = ("backup_pg_repo1_cipher_pass", "backup_pg_repo2_cipher_pass", "backup_restic_password",
           "backup_restic_offsite_password")
DATASET_KEYS = frozenset(("name", "kind", "tier", "hosts", "source", "retention_days", "waiver"))


def _origin(var, inventory_dir, role_default):
    """The file that defines ``var``: the inventory's group_vars/host_vars (first one found), else the
    role defaults. Extra vars (-e) win over both; the message says so when nothing else defines it."""
    if inventory_dir:
        pattern = re.compile(r"^%s\s*:" % re.escape(var), re.M)
        for sub in ("group_vars", "host_vars"):
            base = os.path.join(inventory_dir, sub)
            for dirpath, _dirs, files in sorted(os.walk(base, followlinks=True)):
                for name in sorted(files):
                    if not name.endswith((".yml", ".yaml")) and "." in name:
                        continue
                    path = os.path.join(dirpath, name)
                    try:
                        with open(path, encoding="utf-8", errors="replace") as fh:
                            if pattern.search(fh.read()):
                                return path
                    except (IOError, OSError):
                        continue
    return role_default


def _hosts_of(pattern, groups):
    if pattern in groups:
        return list(groups[pattern])
    if pattern in groups.get("all", ()):
        return [pattern]
    return []


def backup_dataset_hosts(dataset, groups):
    """The inventory hosts of a data set (its ``hosts``: a group, a host, or a list of either)."""
    pats = dataset.get("hosts")
    pats = pats if isinstance(pats, list) else [pats]
    out = []
    for pat in pats:
        for host in _hosts_of(str(pat), groups):
            if host not in out:
                out.append(host)
    return out


def _today(value):
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10]) if value else datetime.date.today()


def backup_problems(s):
    """Problems (list of str, each naming file and key) of the role's settings; [] when valid.

    ``s``: datasets, dataset, type, tier, thresholds, store_group, offsite_group, offsite_enabled,
    groups, defined_secrets (names defined; None: secrets are not needed - the status), today,
    inventory_dir, vault_file, role_defaults.
    """
    if not isinstance(s, dict):
        raise AnsibleFilterError("backup_problems expects a mapping")
    problems = []
    groups = s.get("groups") or {}
    inv = s.get("inventory_dir") or ""
    defaults = s.get("role_defaults") or "roles/backup/defaults/main.yml"
    where = _origin("backup_datasets", inv, defaults)
    today = _today(s.get("today"))
    datasets = s.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        problems.append("%s: backup_datasets: must be a non-empty list of data sets" % where)
        datasets = []
    names = []
    for i, ds in enumerate(datasets):
        key = "backup_datasets[%d]" % i
        if not isinstance(ds, dict):
            problems.append("%s: %s: must be a mapping, got %r" % (where, key, ds))
            continue
        name = ds.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            problems.append("%s: %s.name: %r must start with a letter and hold only letters, digits, '_' and '-'"
                            % (where, key, name))
        elif name in names:
            problems.append("%s: %s.name: data set %r is defined twice" % (where, key, name))
        else:
            names.append(name)
            key = "backup_datasets[%d] (%s)" % (i, name)
        for extra in sorted(set(ds) - DATASET_KEYS):
            problems.append("%s: %s.%s: unknown key (known: %s)" % (where, key, extra, ", ".join(sorted(DATASET_KEYS))))
        kind = ds.get("kind")
        if kind not in KINDS:
            problems.append("%s: %s.kind: unknown kind %r (choose one of %s)" % (where, key, kind, ", ".join(KINDS)))
        if ds.get("tier") not in TIERS:
            problems.append("%s: %s.tier: unknown tier %r (choose one of %s)" % (where, key, ds.get("tier"), ", ".join(TIERS)))
        hosts = backup_dataset_hosts(ds, groups)
        if not hosts:
            problems.append("%s: %s.hosts: %r matches no host of the inventory" % (where, key, ds.get("hosts")))
        elif kind == "postgresql" and len(hosts) != 1:
            problems.append("%s: %s.hosts: a postgresql data set has exactly one host (the primary), %r matches %s"
                            % (where, key, ds.get("hosts"), ", ".join(hosts)))
        problems.extend(_source_problems(ds.get("source"), kind, where, key))
        problems.extend(_retention_problems(ds, where, key, today))
    dataset = s.get("dataset")
    if dataset not in (None, "", "all") and dataset not in names:
        problems.append("extra vars: backup_dataset: unknown data set %r (known: all, %s)" % (dataset, ", ".join(names)))
    btype = s.get("type")
    if btype not in (None, "") and btype not in TYPES:
        problems.append("extra vars: backup_type: %r (choose one of %s)" % (btype, ", ".join(TYPES)))
    tier = s.get("tier")
    if tier not in (None, "") and tier not in TIERS:
        problems.append("extra vars: backup_tier: unknown tier %r (choose one of %s)" % (tier, ", ".join(TIERS)))
    problems.extend(threshold_problems(s.get("thresholds"), _origin("backup_thresholds", inv, defaults)))
    for var, required in (("store_group", True), ("offsite_group", bool(s.get("offsite_enabled", True)))):
        group = s.get(var)
        if required and not groups.get(group):
            problems.append("%s: backup_%s: group %r has no host in the inventory" % (_origin("backup_" + var, inv, defaults), var, group))
    if s.get("defined_secrets") is None:
        return problems
    defined = set(s.get("defined_secrets") or ())
    vault = s.get("vault_file") or ""
    secret_file = vault or os.path.join(inv or ".", "group_vars/all (vaulted)")
    for secret in SECRETS:
        if secret not in defined:
            problems.append("%s: %s: missing vault variable (a passphrase from ansible-vault)" % (secret_file, secret))
    return problems


def threshold_problems(thresholds, where):
    """Problems of ``backup_thresholds`` (catalogue threshold keys of the backup checks, e.g.
    ``backup_core_age_s: {warn, crit}``), each naming the file that sets it."""
    catalogue = require("yunwei.catalogue")
    return ["%s: %s" % (where, p) for p in
            catalogue.validate_thresholds(thresholds, "backup_thresholds", value_origin, areas=["backup"])]


def _source_problems(source, kind, where, key):
    out = []
    if not isinstance(source, dict):
        return ["%s: %s.source: must be a mapping" % (where, key)]
    if kind == "postgresql":
        cluster = source.get("cluster")
        if not isinstance(cluster, str) or not re.match(r"^\d+/[A-Za-z0-9_.-]+$", cluster):
            out.append("%s: %s.source.cluster: %r must be VERSION/NAME, e.g. 15/main" % (where, key, cluster))
        port = source.get("port", 5432)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            out.append("%s: %s.source.port: %r is not a port" % (where, key, port))
        dbs = source.get("databases", [])
        if not isinstance(dbs, list) or not all(isinstance(d, str) and d for d in dbs):
            out.append("%s: %s.source.databases: must be a list of database names" % (where, key))
    elif kind == "files":
        paths = source.get("paths")
        if not isinstance(paths, list) or not paths:
            out.append("%s: %s.source.paths: must be a non-empty list of absolute paths" % (where, key))
        else:
            for j, path in enumerate(paths):
                if not isinstance(path, str) or not path.startswith("/"):
                    out.append("%s: %s.source.paths[%d]: %r is not an absolute path" % (where, key, j, path))
        exclude = source.get("exclude", [])
        if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
            out.append("%s: %s.source.exclude: must be a list of patterns" % (where, key))
    return out


def _retention_problems(ds, where, key, today):
    days = ds.get("retention_days", MIN_RETENTION_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        return ["%s: %s.retention_days: %r must be a whole number of days" % (where, key, days)]
    if days >= MIN_RETENTION_DAYS:
        return []
    waiver = ds.get("waiver")
    need = "%s: %s.retention_days: %d days is under the contract's %d days" % (where, key, days, MIN_RETENTION_DAYS)
    if not isinstance(waiver, dict):
        return [need + " and there is no waiver (waiver: {approver, expires, reason})"]
    out = []
    if not isinstance(waiver.get("approver"), str) or not waiver["approver"].strip():
        out.append("%s: %s.waiver.approver: the waiver must name who approved it" % (where, key))
    try:
        expires = _today(waiver.get("expires"))
    except (TypeError, ValueError):
        expires = None
        out.append("%s: %s.waiver.expires: %r is not a date YYYY-MM-DD" % (where, key, waiver.get("expires")))
    if waiver.get("expires") in (None, ""):
        out = [p for p in out if ".waiver.expires" not in p]
        out.append("%s: %s.waiver.expires: the waiver must have an expiry date" % (where, key))
    elif expires is not None and expires < today:
        out.append("%s: %s.waiver.expires: the waiver expired on %s; retention must be at least %d days again"
                   % (where, key, expires.isoformat(), MIN_RETENTION_DAYS))
    return out


def backup_selected(datasets, dataset="all", tier=""):
    """The data sets a job works on: one by name, or all (of one tier)."""
    out = []
    for ds in datasets or ():
        if dataset not in (None, "", "all") and ds.get("name") != dataset:
            continue
        if tier and ds.get("tier") != tier:
            continue
        out.append(ds)
    return out


def backup_for_host(datasets, groups, host, kind=None):
    """The data sets (optionally of one kind) whose hosts include ``host``."""
    return [ds for ds in datasets or () if (kind is None or ds.get("kind") == kind)
            and host in backup_dataset_hosts(ds, groups)]


def backup_pg_path(source):
    """Data directory of a Debian cluster VERSION/NAME."""
    version, name = str(source.get("cluster", "15/main")).split("/", 1)
    return source.get("pg_path") or "/var/lib/postgresql/%s/%s" % (version, name)


def backup_status_sets(datasets, groups):
    """Data sets as the module backup_status takes them: hosts resolved, the PostgreSQL port."""
    out = []
    for ds in datasets or ():
        src = ds.get("source") or {}
        out.append({"name": ds.get("name"), "kind": ds.get("kind"), "tier": ds.get("tier"),
                    "hosts": backup_dataset_hosts(ds, groups), "port": src.get("port", 5432)})
    return out


def backup_pubkey(slurped, path):
    """The public key read from ``path`` in a registered slurp loop (``"TYPE KEY [comment]"``)."""
    import base64

    for res in (slurped or {}).get("results") or ():
        if res.get("item") in (path, path + ".pub") and res.get("content"):
            return " ".join(base64.b64decode(res["content"]).decode("utf-8").split()[:2])
    raise AnsibleFilterError("backup_pubkey: no public key %s was read on that host (run the backup_setup job on it)" % path)


def backup_address(hostvars, host):
    """How the hosts reach ``host`` for backups: its ``backup_address``, else ``ansible_host``, else its name.
    The lab sets backup_address to the name (stable across container restarts, unlike the address)."""
    hv = hostvars[host]
    return hv.get("backup_address") or hv.get("ansible_host") or host


def backup_ssh_plan(p, hostvars):
    """Which keys this host authorises and which host keys it pins (see tasks/setup/ssh.yml)."""
    host, store, offsite = p["host"], p["store"], p["offsite"]
    repos = [h for h in (store, offsite) if h]
    authorized, known = [], []

    lenient = bool(p.get("check_mode"))  # a preview: keys not generated yet are simply not listed

    def key_of(h, path):
        try:
            return backup_pubkey(hostvars[h].get("backup_pubkeys"), path + ".pub")
        except AnsibleFilterError:
            if lenient:
                return None
            raise

    def pin(user, path, h):
        key = key_of(h, "/etc/ssh/ssh_host_ed25519_key")
        if key:
            known.append({"user": user, "path": path, "name": h, "address": backup_address(hostvars, h), "key": key})

    is_repo = host in repos
    if is_repo and p["pg_sets"]:
        for h in p["pg_hosts"]:
            authorized.append({"user": "pgbackrest", "from": "postgres@" + h, "options": p["pgbr_options"],
                               "key": key_of(h, p["keys"]["pg"])})
            pin("pgbackrest", "/var/lib/pgbackrest/.ssh/known_hosts", h)
    if p["my_pg"]:
        for h in repos:
            authorized.append({"user": "postgres", "from": "pgbackrest@" + h, "options": p["pgbr_options"],
                               "key": key_of(h, p["keys"]["pgbr"])})
            pin("postgres", "/var/lib/postgresql/.ssh/known_hosts", h)
    if host == store and p["files_sets"]:
        for h in p["files_hosts"]:
            authorized.append({"user": "restic", "from": "root@" + h, "options": p["sftp_options"],
                               "key": key_of(h, p["keys"]["client"])})
        if offsite:
            pin("restic", "/var/lib/yunwei-restic/.ssh/known_hosts", offsite)
    if host == offsite and p["files_sets"]:
        authorized.append({"user": "restic", "from": "restic@" + store, "options": p["sftp_options"],
                           "key": key_of(store, p["keys"]["restic"])})
    if p["my_files"]:
        pin("root", p["conf_dir"] + "/known_hosts", store)
    return {"authorized": [a for a in authorized if a["key"]], "known": known}


def backup_annotations(dataset, groups, hostvars):
    """The row counts taken on the data set's database host before the backup, as annotations."""
    hosts = backup_dataset_hosts(dataset, groups)
    if not hosts:
        return {}
    reg = hostvars[hosts[0]].get("backup_counts") or {}
    for res in reg.get("results") or ():
        if (res.get("item") or {}).get("name") == dataset.get("name") and not res.get("failed"):
            return (res.get("counts") or {}).get("annotations") or {}
    return {}


def backup_missing_paths(results):
    """``DATASET: PATH`` of every stat result (loop over subelements source.paths) that found nothing."""
    return ["%s: %s" % (r["item"][0]["name"], r["item"][1]) for r in results or ()
            if not (r.get("stat") or {}).get("exists") and not r.get("skipped")]


def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def backup_textfile(rows):
    """The newest backup of each data set in the backup store, for the node exporter's textfile
    collector (Prometheus's BACKUP-AGE-001 alert, docs/monitoring.md): its time (0: none yet) and the
    tier's crit limit of BACKUP-AGE-001 as judged for the inspection. From the judged status rows of
    the store host; off-site copies (BACKUP-OFFSITE-001) and unreadable repositories are left out."""
    stamps, limits = [], []
    for row in rows or ():
        crit = (row.get("limit_s") or {}).get("crit") if isinstance(row.get("limit_s"), dict) else None
        if row.get("repo") != "primary" or row.get("error") or crit is None:
            continue
        newest = max([float(b["time"]) for b in (row.get("last") or {}).values() if b.get("time")] or [0.0])
        labels = 'dataset="%s",tier="%s",source_host="%s"' % (
            _label(row["dataset"]), _label(row.get("tier", "")), _label(row.get("source_host", "")))
        stamps.append("yunwei_backup_newest_timestamp_seconds{%s} %.3f" % (labels, newest))
        limits.append("yunwei_backup_age_crit_seconds{%s} %g" % (labels, float(crit)))
    if not stamps:
        return ""
    return "\n".join([
        "# HELP yunwei_backup_newest_timestamp_seconds Time of the newest backup of the data set in the backup store (0: none).",
        "# TYPE yunwei_backup_newest_timestamp_seconds gauge", *stamps,
        "# HELP yunwei_backup_age_crit_seconds The tier's crit limit of BACKUP-AGE-001 (the inspection's).",
        "# TYPE yunwei_backup_age_crit_seconds gauge", *limits]) + "\n"


class FilterModule(object):
    def filters(self):
        return {
            "backup_problems": backup_problems,
            "backup_selected": backup_selected,
            "backup_for_host": backup_for_host,
            "backup_dataset_hosts": backup_dataset_hosts,
            "backup_pg_path": backup_pg_path,
            "backup_status_sets": backup_status_sets,
            "backup_pubkey": backup_pubkey,
            "backup_ssh_plan": backup_ssh_plan,
            "backup_address": backup_address,
            "backup_annotations": backup_annotations,
            "backup_missing_paths": backup_missing_paths,
            "backup_textfile": backup_textfile,
        }

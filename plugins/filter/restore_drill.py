# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the restore_drill role: validate a restore test or drill on the controller before any
host is contacted (each problem names the option or the host), and list what it restores.

Pure functions of their arguments: no store, no lock, no connection (they run in forked workers).
"""

from __future__ import annotations

from ansible_collections.yunwei.ops.plugins.filter.backup import backup_dataset_hosts

SCENARIOS = ("host-loss", "accidental-drop", "file-corruption", "backup-host-loss")


def restore_drill_problems(s):
    """Problems of a restore test / drill: ``s`` holds datasets, dataset, target, group, groups,
    store_group, offsite_group, scenario ('' for the restore test), scenarios_done (what this version runs)."""
    problems = []
    groups = s.get("groups") or {}
    datasets = s.get("datasets") or []
    names = [d.get("name") for d in datasets]
    wanted = s.get("dataset") or "all"
    if wanted != "all":
        for name in str(wanted).split(","):
            if name.strip() not in names:
                problems.append("restore_drill_dataset: unknown data set %r (known: %s)" % (name.strip(), ", ".join(names)))
    drill_hosts = list(groups.get(s.get("group") or "drill") or ())
    target = s.get("target") or ""
    if not drill_hosts:
        problems.append("restore_drill_group: the inventory has no host in group %r (the drill hosts)" % s.get("group"))
    if target and target not in drill_hosts:
        problems.append("restore_drill_target: host %s is not a drill host (group %s: %s)" % (
            target, s.get("group"), ", ".join(drill_hosts) or "none"))
    # a production host: one in any group but the drill group, or one a PostgreSQL data set or a
    # store names (a data set of every host, like /etc, does not make a drill host production)
    group = s.get("group") or "drill"
    production = set()
    for name, members in groups.items():
        if name not in (group, "all", "ungrouped"):
            production.update(members or ())
    for ds in datasets:
        if ds.get("kind") == "postgresql":
            production.update(backup_dataset_hosts(ds, groups))
    for host in ([target] if target else drill_hosts):
        if host in production:
            problems.append("restore_drill_target: host %s is a production host (a member of %s); restores go "
                            "only onto drill hosts" % (host, ", ".join(sorted(
                                n for n, m in groups.items() if host in (m or ()) and n not in (group, "all"))) or "a data set"))
    scenario = s.get("scenario")
    if scenario is not None:
        fault = s.get("fault") or "auto"
        if fault not in ("auto", "inject", "simulate"):
            problems.append("restore_drill_fault: %r is not auto, inject or simulate" % fault)
        elif fault == "inject" and not s.get("fault_host_marked"):
            problems.append("restore_drill_fault: a real fault was asked for on %s, which is not marked drill-capable "
                            "(restore_drill_fault_injection: true, lab inventories only); nothing was touched" % s.get("fault_host"))
        if not scenario:
            problems.append("scenario: required (-e scenario=S; known: %s)" % ", ".join(SCENARIOS))
        elif scenario not in SCENARIOS:
            problems.append("scenario: unknown scenario %r (known: %s)" % (scenario, ", ".join(SCENARIOS)))
        elif scenario == "file-corruption" and s.get("corrupt_dataset") not in [
                d.get("name") for d in datasets if d.get("kind") == "files"]:
            problems.append("restore_drill_corrupt_dataset: %r is not a files data set (known: %s)" % (
                s.get("corrupt_dataset"), ", ".join(d.get("name") for d in datasets if d.get("kind") == "files")))
        elif scenario not in (s.get("scenarios_done") or ()):
            problems.append("scenario: %s is not implemented in this version (implemented: %s)" % (
                scenario, ", ".join(s.get("scenarios_done") or ())))
    return problems


def restore_drill_put_back_problems(datasets, groups, dataset, host, drill_group="drill", snapshot="x"):
    """Problems of a production restore (restore_files): one files data set, one of its source hosts, and
    the snapshot named - the approval covers the extra vars, so the snapshot executed is the one previewed."""
    problems = []
    if not snapshot:
        problems.append("restore_drill_snapshot: required - the id of the snapshot to put back, so that the one "
                        "executed is the one the reviewer saw in the preview (the restore test's 所用备份, "
                        "`yunwei drill status`, or `restic snapshots` list them)")
    ds = next((d for d in datasets or () if d.get("name") == dataset), None)
    if not dataset or "," in str(dataset) or dataset == "all":
        problems.append("restore_drill_dataset: name one files data set (-e restore_drill_dataset=NAME)")
    elif ds is None:
        problems.append("restore_drill_dataset: unknown data set %r (known: %s)" % (
            dataset, ", ".join(str(d.get("name")) for d in datasets or ())))
    elif ds.get("kind") != "files":
        problems.append("restore_drill_dataset: %s is a %s data set; restore_files puts back files only" % (dataset, ds.get("kind")))
    if not host:
        problems.append("restore_drill_host: required (-e restore_drill_host=HOST, the host whose files are put back)")
    elif ds is not None and ds.get("kind") == "files" and host not in backup_dataset_hosts(ds, groups):
        problems.append("restore_drill_host: host %s is not a source of data set %s (%s)" % (
            host, dataset, ", ".join(backup_dataset_hosts(ds, groups)) or "no host"))
    elif host in (groups or {}).get(drill_group, ()):
        problems.append("restore_drill_host: %s is a drill host; restore tests go there through restore_test" % host)
    return problems


def restore_drill_items(datasets, groups, dataset="all", kind="files"):
    """What a restore test restores: [{name, kind, host, ...}] per data set of ``kind`` (files: one per
    source host, since each host's snapshot is its own)."""
    wanted = None if (dataset or "all") == "all" else {x.strip() for x in str(dataset).split(",")}
    out = []
    for ds in datasets or ():
        if ds.get("kind") != kind or (wanted is not None and ds.get("name") not in wanted):
            continue
        if kind == "files":
            for host in backup_dataset_hosts(ds, groups):
                out.append(dict(ds, host=host))
        else:
            out.append(dict(ds, host=(backup_dataset_hosts(ds, groups) or [""])[0]))
    return out


class FilterModule(object):
    def filters(self):
        return {"restore_drill_problems": restore_drill_problems, "restore_drill_items": restore_drill_items,
                "restore_drill_put_back_problems": restore_drill_put_back_problems}

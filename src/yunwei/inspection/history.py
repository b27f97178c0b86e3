"""The journal history the inspection's action plugins need, prepared on the controller.

Fork safety (docs/journal.md, "Fork safety"): Ansible runs action plugins in worker processes it
forks from the controller while the journal's writer thread may be inside SQLite; a worker that
opened the store could wait forever on a lock copied in its held state. So no worker opens or
touches a store. Instead:

1. the journal callback, in the controller's main thread, calls :func:`prepare_for_task` when a
   task whose action is one of :data:`CONSUMERS` starts — before the strategy forks any worker
   for it;
2. that evaluates, for each host of the play, the task's controller-side arguments (``store``,
   ``dynamic_thresholds.history_days``, ``forecast``), reads with one read-only connection per
   store what those hosts need — the time of the last inspection per area, the recorded package
   state, the series of the watched metrics — closes it, and keeps plain Python data in this
   module;
3. the forked worker inherits that data (copy-on-write) and reads it with :func:`prepared`;
   :class:`HostHistory` answers the few store reads :mod:`yunwei.inspection.dynamic` makes.

Without the journal callback (or when the store is missing or unreadable) nothing is prepared:
the inspection applies its static limits and says so.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

from yunwei.inspection.dynamic import DAY, LAST_RUN_METRIC, WATCHED, last_package_state

# Actions whose plugins read what this module prepares.
CONSUMERS = frozenset({"yunwei.ops.inspect", "yunwei.ops.host_inspect", "yunwei.ops.web_inspect",
                       "yunwei.ops.pg_inspect", "yunwei.ops.web_audit"})
# The web audit compares with the previous and the first (baseline) audit: its series, whole history.
WEB_AUDIT = "yunwei.ops.web_audit"
# Series the dynamic baselines (WATCHED) and the resources forecasts read.
FORECAST_SERIES = ("fs.used_bytes", "db.size_bytes")
DEFAULT_DAYS = 56.0
LAST_RUN_DAYS = 40.0  # how far back the last inspection is looked for (as the action plugin did)

NOT_ENABLED = ("no journal history was prepared on the controller (the yunwei.ops.journal callback is not "
               "enabled for this run): dynamic baselines, error-log windows since the last inspection and "
               "package-state reuse are off; static limits only")


@dataclass
class HostHistory:
    """What one host's inspection reads from the journal, as plain data."""

    host: str
    store: str  # store URL it was read from (password masked)
    since: float  # oldest sample time loaded (epoch seconds)
    prepared_at: float
    last_inspection: dict[str, float] = field(default_factory=dict)  # area -> epoch seconds
    package_state: tuple[str, list[Any], float] | None = None  # see dynamic.last_package_state
    series: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)

    def metric_series(self, name: str, host: str | None = None, instance: str | None = None,
                      since: Any = None, until: Any = None) -> list[tuple[float, float]]:
        """(epoch, value) pairs oldest first, like :meth:`yunwei.store.Store.metric_series`."""
        if instance is None:
            rows = sorted(p for (n, _i), pts in self.series.items() if n == name for p in pts)
        else:
            rows = self.series.get((name, instance), [])
        lo = 0 if since is None else bisect.bisect_left(rows, (_epoch(since), float("-inf")))
        hi = len(rows) if until is None else bisect.bisect_left(rows, (_epoch(until), float("-inf")))
        return rows[lo:hi]


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


# -- the registry (filled in the controller's main process, read in forked workers) -------------
_REGISTRY: dict[str, HostHistory] = {}
_NOTES: dict[str, str] = {}
_ACTIVE = False  # set once the controller has prepared (or tried to prepare) anything this run


def prepared(host: str) -> tuple[HostHistory | None, str]:
    """Worker side: the history prepared for ``host`` and '' , or None and why there is none."""
    if host in _REGISTRY:
        return _REGISTRY[host], ""
    if host in _NOTES:
        return None, _NOTES[host]
    if not _ACTIVE:
        return None, NOT_ENABLED
    return None, "no journal history was prepared for this host; static limits only"


def load(store: Any, host: str, days: float, now: float | None = None, whole: tuple[str, ...] = ()) -> HostHistory:
    """Read ``host``'s history (``days`` back) from an open ``store`` (controller side); the series of
    ``whole`` (metric names) since the first sample."""
    now = time.time() if now is None else now
    since = now - max(days, LAST_RUN_DAYS) * DAY
    names = sorted(set(WATCHED) | set(FORECAST_SERIES) | set(LAST_RUN_METRIC.values()))
    series = store.metric_history(host, names, since=since)
    if whole:
        series.update(store.metric_history(host, sorted(whole)))
    last = {}
    for area, name in LAST_RUN_METRIC.items():
        newest = max((pts[-1][0] for (n, _i), pts in series.items() if n == name and pts
                      and pts[-1][0] >= now - LAST_RUN_DAYS * DAY), default=None)
        if newest is not None:
            last[area] = newest
    return HostHistory(host=host, store=getattr(store, "url", ""), since=since, prepared_at=now,
                       last_inspection=last, package_state=last_package_state(store, host, now=now), series=series)


def prepare(hosts: dict[str, tuple[str, float]], default_store: str | None = None,
            whole: tuple[str, ...] = ()) -> list[str]:
    """Controller side: load the history of every ``host -> (store URL or '', days)`` into the
    registry, one read-only connection per store. Returns problems (the hosts go without history)."""
    from yunwei.store import open_reader, redact_text, redact_url

    global _ACTIVE
    _ACTIVE = True
    _REGISTRY.clear()
    _NOTES.clear()
    by_store: dict[str, dict[str, float]] = {}
    for host, (url, days) in hosts.items():
        by_store.setdefault(url or default_store or "", {})[host] = days
    problems = []
    for url, wanted in by_store.items():
        shown = redact_url(url) if url else "(default)"
        try:
            store = open_reader(url or None)
        except Exception as exc:  # pylint: disable=broad-except
            note = f"journal store {shown} unreadable ({type(exc).__name__}: {redact_text(str(exc), url)}); static limits only"
            problems.append(note)
            _NOTES.update(dict.fromkeys(wanted, note))
            continue
        if store is None:
            _NOTES.update(dict.fromkeys(wanted, f"no journal history yet in {shown}; static limits only"))
            continue
        try:
            for host, days in wanted.items():
                try:
                    _REGISTRY[host] = load(store, host, days, whole=whole)
                except Exception as exc:  # pylint: disable=broad-except
                    _NOTES[host] = f"journal history of {host} unreadable ({type(exc).__name__}: {exc}); static limits only"
                    problems.append(_NOTES[host])
        finally:
            store.close()
    return problems


def prepare_for_task(task: Any, play: Any, default_store: str | None = None) -> list[str]:
    """Controller side, at the start of a task whose action is in :data:`CONSUMERS`: evaluate the
    task's controller arguments for every host of the play (its current batch and ``--limit``) and
    prepare their history. Returns problems worth a warning."""
    from ansible.template import Templar

    manager = task._variable_manager or play._variable_manager
    hosts = manager._inventory.get_hosts(play.hosts)
    wanted: dict[str, tuple[str, float]] = {}
    problems = []
    for host in hosts:
        name = host.get_name()
        try:
            templar = Templar(loader=task._loader, variables=manager.get_vars(play=play, host=host, task=task,
                                                                              include_hostvars=False))
            url = _arg(templar, task, "store", "")
            dyn = _arg(templar, task, "dynamic_thresholds", {})
            days = float((dyn or {}).get("history_days") or DEFAULT_DAYS) if isinstance(dyn, dict) else DEFAULT_DAYS
            if _true(_arg(templar, task, "forecast", False)):
                days = max(days, 30.0)
            wanted[name] = (url if isinstance(url, str) else "", days)
        except Exception as exc:  # pylint: disable=broad-except
            wanted[name] = ("", DEFAULT_DAYS)
            problems.append(f"{name}: the task's history arguments could not be evaluated "
                            f"({type(exc).__name__}: {exc}); default store and window used")
    whole: tuple[str, ...] = ()
    if str(getattr(task, "resolved_action", None) or task.action or "") == WEB_AUDIT:
        from yunwei.webaudit.compare import WATCHED as WEB_WATCHED

        whole = tuple(WEB_WATCHED)
    return problems + prepare(wanted, default_store, whole)


def _arg(templar: Any, task: Any, key: str, default: Any) -> Any:
    """The task argument ``key`` templated for one host; ``default`` when absent or omitted."""
    args = task.args or {}
    if key not in args:
        return default
    try:
        value = templar.template(args[key])
    except Exception as exc:  # pylint: disable=broad-except
        if type(exc).__name__ == "AnsibleValueOmittedError":  # "{{ x or omit }}"
            return default
        raise
    return default if value is None or type(value).__name__ == "Omit" else value


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1", "on")

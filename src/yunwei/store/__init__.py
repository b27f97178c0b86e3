"""The journal store: runs, task results, checks and metrics recorded by the callback
``yunwei.ops.journal`` and read by reports, thresholds and the CLI (docs/data-model.md).

    from yunwei.store import open_store
    with open_store() as store:          # $YUNWEI_STORE, else <state dir>/journal.sqlite
        for run in store.list_runs(job="inspect", limit=10): ...
"""

from __future__ import annotations

import os
from pathlib import Path

from yunwei.store.base import ForkedProcessError, Store, check_not_forked, redact_text, redact_url
from yunwei.store.model import (
    COMPLETED_RUN_STATUSES,
    RUN_STATUSES,
    Check,
    CheckSummary,
    HostStats,
    Metric,
    Run,
    RunError,
    TaskResult,
)
from yunwei.store.schema import SCHEMA_VERSION

__all__ = [
    "COMPLETED_RUN_STATUSES",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "Check",
    "CheckSummary",
    "ForkedProcessError",
    "HostStats",
    "Metric",
    "Run",
    "RunError",
    "Store",
    "TaskResult",
    "check_not_forked",
    "default_store_url",
    "open_reader",
    "open_store",
    "redact_text",
    "redact_url",
]


def default_store_url() -> str:
    """$YUNWEI_STORE, else journal.sqlite in the state directory (yunwei.paths.var_dir: never the cwd)."""
    env = os.environ.get("YUNWEI_STORE")
    if env:
        return env
    from yunwei.paths import var_dir

    return str(var_dir() / "journal.sqlite")


def open_store(url: str | os.PathLike[str] | None = None, *, reap: bool = True) -> Store:
    """Open (creating and migrating as needed) the store at ``url``.

    ``url``: a SQLite path, ``sqlite:///abs/path``, or ``postgresql://...``; default
    :func:`default_store_url`. With ``reap`` (default), runs left 'running' by a dead process on
    this machine are marked 'interrupted' first.
    """
    check_not_forked()
    target = str(url) if url is not None else default_store_url()
    store: Store
    if target.startswith(("postgresql://", "postgres://")):
        from yunwei.store.postgres import PostgresStore

        store = PostgresStore(target)
    else:
        if target.startswith("sqlite:///"):
            target = target[len("sqlite://"):]
        elif target.startswith("sqlite://"):
            target = target[len("sqlite://"):]
        from yunwei.store.sqlite import SQLiteStore

        store = SQLiteStore(Path(target).expanduser())
    try:
        store.migrate()
        if reap:
            store.reap_interrupted()
    except BaseException:
        store.close()
        raise
    return store


def open_reader(url: str | os.PathLike[str] | None = None, *, busy_timeout_ms: int = 2000) -> Store | None:
    """An existing store opened for reading only, or None when there is none yet.

    No migration and no reaping (both write): reading the history never waits for another
    writer's lock. A SQLite store is opened read-only; reads in WAL mode do not wait for writers.
    Controller side only (never in a forked worker, see :func:`check_not_forked`).
    """
    check_not_forked()
    target = str(url) if url else default_store_url()
    if target.startswith(("postgresql://", "postgres://")):
        return open_store(target, reap=False)
    if target.startswith("sqlite://"):
        target = target[len("sqlite://"):]
    path = Path(target).expanduser()
    if not path.is_file():
        return None
    from yunwei.store.sqlite import SQLiteStore

    return SQLiteStore(path, busy_timeout_ms=busy_timeout_ms, read_only=True)

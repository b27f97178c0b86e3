"""The journal store: runs, task results, checks and metrics recorded by the callback
``yunwei.ops.journal`` and read by reports, thresholds and the CLI (docs/data-model.md).

    from yunwei.store import open_store
    with open_store() as store:          # $YUNWEI_STORE, else <state dir>/journal.sqlite
        for run in store.list_runs(job="inspect", limit=10): ...
"""

from __future__ import annotations

import os
from pathlib import Path

from yunwei.store.base import Store, redact_text, redact_url
from yunwei.store.model import (
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
    "SCHEMA_VERSION",
    "Check",
    "CheckSummary",
    "HostStats",
    "Metric",
    "Run",
    "RunError",
    "Store",
    "TaskResult",
    "default_store_url",
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

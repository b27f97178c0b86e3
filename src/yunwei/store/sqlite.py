"""SQLite backend: WAL journal, busy timeout, write transactions taken with BEGIN IMMEDIATE
so concurrent writers queue instead of failing with "database is locked"."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from yunwei.store.base import Store, check_not_forked

BUSY_TIMEOUT_MS = 60_000


class SQLiteStore(Store):
    dialect = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, read_only: bool = False) -> None:
        check_not_forked()
        self.path = Path(path)
        self.url = str(self.path)
        if read_only:  # an existing store, read without ever taking a write lock (no WAL switch, no chmod)
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            super().__init__(conn)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._set_wal(conn, busy_timeout_ms / 1000)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        super().__init__(conn)
        if self.path.stat().st_mode & 0o077:
            # the journal may hold task output: keep it private to its owner
            try:
                self.path.chmod(0o600)
            except OSError:
                pass

    @staticmethod
    def _set_wal(conn: sqlite3.Connection, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() == "wal":
                    return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        self._check_process()
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

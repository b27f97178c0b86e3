"""PostgreSQL backend through psycopg 3 (``postgresql://`` URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from yunwei.store.base import Store, check_not_forked, redact_text, redact_url

# pg_advisory_xact_lock key serialising schema migrations ("yunwei" in ASCII)
_MIGRATION_LOCK = 0x79756E776569


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        check_not_forked()
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            from yunwei.errors import YunweiError

            raise YunweiError("the PostgreSQL journal store needs psycopg 3 (pip install 'psycopg[binary]')") from exc
        self.url = redact_url(url)
        try:
            # bounded: an unreachable server must not hold up a playbook (or the history preparation)
            extra = {} if "connect_timeout" in url else {"connect_timeout": 10}
            conn = psycopg.connect(url, autocommit=True, application_name="yunwei-journal", **extra)
        except psycopg.Error as exc:  # libpq may quote the conninfo: never let the password out
            raise type(exc)(redact_text(str(exc), url)) from None
        super().__init__(conn)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        self._check_process()
        with self._lock:
            with self._conn.transaction():
                with self._conn.cursor() as cur:
                    yield cur

    def _schema_lock(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        return bool(cur.fetchone()[0])


"""Review state and the audit log in PostgreSQL, append-only and checked by the server.

For a team the administrator keeps requests, decisions, executions and the audit chain in the
schema ``yunwei_review`` (``yunwei admin init-db URL``, run as the database owner). Operators log
in as themselves (peer authentication over the local socket: the database role is the OS login)
and are members of ``yunwei_operators``, which may SELECT and INSERT, never UPDATE, DELETE or
TRUNCATE. Triggers refuse those statements even for the owner, and check on every insert what a
modified client could otherwise skip:

- an entry is recorded by the connected role, as itself (``operator = session_user``);
- an approval is never by the requester, never after a denial, and expires within the ceiling the
  administrator stored (``settings.max_ttl_hours``);
- an execution needs an unexpired approval and no denial, and happens once (primary key);
- an audit record continues the chain: its ``seq`` is the next one and its ``prev`` the last hash.

So deleting an execution, undoing a denial, editing a preview or rewriting history is refused by
the server, whatever the client. The schema is kept here rather than in store/schema.py: it is not
the journal's (the journal's tables are written by the callback and pruned; these never change).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from yunwei.errors import InputError, YunweiError
from yunwei.review.store import KINDS, AlreadyRecorded, Entry, check_id

SCHEMA = "yunwei_review"
OPERATORS_ROLE = "yunwei_operators"
_AUDIT_LOCK = 2037801333  # pg_advisory_xact_lock key serialising audit appends (also in audit_check)

SCHEMA_SQL = r"""
CREATE SCHEMA IF NOT EXISTS yunwei_review;

CREATE TABLE IF NOT EXISTS yunwei_review.settings (
    id integer PRIMARY KEY CHECK (id = 1),
    max_ttl_hours double precision NOT NULL CHECK (max_ttl_hours > 0)
);

CREATE TABLE IF NOT EXISTS yunwei_review.entries (
    request_id text NOT NULL CHECK (request_id ~ '^req-[0-9a-f]{12}$'),
    kind text NOT NULL CHECK (kind IN ('request', 'preview', 'approval', 'denial', 'execution', 'result')),
    operator text NOT NULL,
    body text NOT NULL,
    expires timestamptz,
    created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, kind)
);

CREATE TABLE IF NOT EXISTS yunwei_review.audit (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    prev text NOT NULL UNIQUE,
    hash text NOT NULL UNIQUE,
    operator text NOT NULL,
    line text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION yunwei_review.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    RAISE EXCEPTION 'yunwei: % on %.% refused: review state and the audit log are append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE FUNCTION yunwei_review.entry_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    req jsonb;
    appr record;
    ceiling double precision;
BEGIN
    IF NEW.operator IS DISTINCT FROM session_user THEN
        RAISE EXCEPTION 'yunwei: % recorded as % by %: an operator acts only as themselves',
            NEW.kind, NEW.operator, session_user USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.created := now();
    IF NEW.kind = 'request' THEN
        IF (NEW.body::jsonb ->> 'requester') IS DISTINCT FROM NEW.operator
           OR (NEW.body::jsonb ->> 'id') IS DISTINCT FROM NEW.request_id THEN
            RAISE EXCEPTION 'yunwei: request % must name its own id and its requester %', NEW.request_id, NEW.operator;
        END IF;
        RETURN NEW;
    END IF;
    SELECT body::jsonb INTO req FROM yunwei_review.entries WHERE request_id = NEW.request_id AND kind = 'request';
    IF req IS NULL THEN
        RAISE EXCEPTION 'yunwei: no request %', NEW.request_id;
    END IF;
    IF NEW.kind = 'preview' AND NEW.operator <> req ->> 'requester' THEN
        RAISE EXCEPTION 'yunwei: only the requester records the preview of %', NEW.request_id;
    ELSIF NEW.kind = 'approval' THEN
        IF NEW.operator = req ->> 'requester' THEN
            RAISE EXCEPTION 'yunwei: requester and approver are the same person (%)', NEW.operator;
        END IF;
        IF EXISTS (SELECT 1 FROM yunwei_review.entries WHERE request_id = NEW.request_id AND kind = 'denial') THEN
            RAISE EXCEPTION 'yunwei: request % was denied', NEW.request_id;
        END IF;
        SELECT max_ttl_hours INTO ceiling FROM yunwei_review.settings WHERE id = 1;
        IF NEW.expires IS NULL OR NEW.expires > now() + make_interval(secs => COALESCE(ceiling, 24) * 3600) THEN
            RAISE EXCEPTION 'yunwei: approval of % expires % (ceiling % h)', NEW.request_id, NEW.expires, ceiling;
        END IF;
    ELSIF NEW.kind = 'execution' THEN
        SELECT * INTO appr FROM yunwei_review.entries WHERE request_id = NEW.request_id AND kind = 'approval';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'yunwei: request % has no approval', NEW.request_id;
        END IF;
        IF appr.expires <= now() THEN
            RAISE EXCEPTION 'yunwei: the approval of % expired at %', NEW.request_id, appr.expires;
        END IF;
        IF EXISTS (SELECT 1 FROM yunwei_review.entries WHERE request_id = NEW.request_id AND kind = 'denial') THEN
            RAISE EXCEPTION 'yunwei: request % was denied', NEW.request_id;
        END IF;
    ELSIF NEW.kind = 'result'
          AND NOT EXISTS (SELECT 1 FROM yunwei_review.entries WHERE request_id = NEW.request_id AND kind = 'execution') THEN
        RAISE EXCEPTION 'yunwei: request % has no execution', NEW.request_id;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION yunwei_review.audit_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    last record;
    rec jsonb := NEW.line::jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(2037801333);
    SELECT seq, hash INTO last FROM yunwei_review.audit ORDER BY seq DESC LIMIT 1;
    IF NEW.seq IS DISTINCT FROM COALESCE(last.seq, 0) + 1
       OR NEW.prev IS DISTINCT FROM COALESCE(last.hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'yunwei: audit record % does not continue the chain (last %)', NEW.seq, COALESCE(last.seq, 0);
    END IF;
    IF (rec ->> 'seq')::bigint IS DISTINCT FROM NEW.seq OR rec ->> 'prev' IS DISTINCT FROM NEW.prev
       OR rec ->> 'hash' IS DISTINCT FROM NEW.hash THEN
        RAISE EXCEPTION 'yunwei: audit record % does not match its columns', NEW.seq;
    END IF;
    IF rec ->> 'operator' IS DISTINCT FROM session_user THEN
        RAISE EXCEPTION 'yunwei: audit record by % claims operator %', session_user, rec ->> 'operator'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.operator := session_user;
    NEW.created := now();
    RETURN NEW;
END $$;

""" + "".join(
    f"""
DROP TRIGGER IF EXISTS {table}_append_only ON yunwei_review.{table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON yunwei_review.{table}
    FOR EACH ROW EXECUTE FUNCTION yunwei_review.refuse_change();
DROP TRIGGER IF EXISTS {table}_no_truncate ON yunwei_review.{table};
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON yunwei_review.{table}
    FOR EACH STATEMENT EXECUTE FUNCTION yunwei_review.refuse_change();
DROP TRIGGER IF EXISTS {table}_check ON yunwei_review.{table};
CREATE TRIGGER {table}_check BEFORE INSERT ON yunwei_review.{table}
    FOR EACH ROW EXECUTE FUNCTION yunwei_review.{check}();
"""
    for table, check in (("entries", "entry_check"), ("audit", "audit_check"))
) + """
REVOKE ALL ON SCHEMA yunwei_review FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA yunwei_review FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA yunwei_review FROM PUBLIC;
"""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        raise YunweiError("the PostgreSQL review store needs psycopg 3") from exc
    return psycopg


@contextmanager
def _no_pg_environment() -> Iterator[None]:
    """libpq reads PGHOST, PGUSER, PGSERVICE ... for whatever the URL leaves out: the operator's
    environment must not choose the server or the role."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PG")}
    try:
        yield
    finally:
        os.environ.update(saved)


_connections: dict[str, Any] = {}


def connect(url: str) -> Any:
    """One autocommit connection per URL and process (the CLI is short-lived)."""
    conn = _connections.get(url)
    if conn is not None and not conn.closed:
        return conn
    psycopg = _psycopg()
    from yunwei.store.base import redact_text

    try:
        with _no_pg_environment():
            conn = psycopg.connect(url, autocommit=True, application_name="yunwei-review")
    except psycopg.Error as exc:
        raise YunweiError(f"cannot reach the review store: {redact_text(str(exc), url)}") from None
    _connections[url] = conn
    return conn


def init_db(url: str, *, operators_role: str = OPERATORS_ROLE, max_ttl_hours: float = 72.0) -> None:
    """Create or update the schema, its triggers and privileges (idempotent). Run as the owner."""
    psycopg = _psycopg()
    from psycopg import sql

    with _no_pg_environment(), psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
            conn.execute(SCHEMA_SQL)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (operators_role,)).fetchone()
            role = sql.Identifier(operators_role)
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(role))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA yunwei_review TO {}").format(role))
            conn.execute(sql.SQL("GRANT SELECT, INSERT ON yunwei_review.entries, yunwei_review.audit TO {}").format(role))
            conn.execute(sql.SQL("GRANT SELECT ON yunwei_review.settings TO {}").format(role))
            conn.execute("INSERT INTO yunwei_review.settings (id, max_ttl_hours) VALUES (1, %s) "
                         "ON CONFLICT (id) DO UPDATE SET max_ttl_hours = EXCLUDED.max_ttl_hours", (max_ttl_hours,))


def refused(exc: Exception) -> str:
    """The server's reason, without the SQL context."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return str(primary or exc).strip()


class PgReviewStore:
    def __init__(self, url: str) -> None:
        from yunwei.store.base import redact_url

        self.url = url
        self.location = redact_url(url)

    @property
    def conn(self) -> Any:
        return connect(self.url)

    def _insert(self, request_id: str, kind: str, data: dict[str, Any], operator: str, expires: str | None) -> None:
        psycopg = _psycopg()
        try:
            self.conn.execute(
                "INSERT INTO yunwei_review.entries (request_id, kind, operator, body, expires) VALUES (%s, %s, %s, %s, %s)",
                (request_id, kind, operator, json.dumps(data, ensure_ascii=False, sort_keys=True), expires))
        except psycopg.errors.UniqueViolation:
            raise AlreadyRecorded(kind) from None
        except psycopg.Error as exc:
            raise YunweiError(f"refused by the review store: {refused(exc)}") from None

    def create(self, req: dict[str, Any]) -> None:
        self._insert(check_id(req["id"]), "request", req, req["requester"], None)

    def load(self, request_id: str) -> Entry:
        rows = self.conn.execute("SELECT kind, body FROM yunwei_review.entries WHERE request_id = %s",
                                 (check_id(request_id),)).fetchall()
        found = {kind: json.loads(body) for kind, body in rows}
        if "request" not in found:
            raise InputError(self.location, request_id, "no such request")
        return Entry(found["request"], **{k: found.get(k) for k in KINDS[1:]})

    def add(self, request_id: str, kind: str, data: dict[str, Any], *, operator: str,
            expires: str | None = None) -> None:
        assert kind in KINDS[1:]
        self._insert(check_id(request_id), kind, data, operator, expires)

    def ids(self) -> list[str]:
        rows = self.conn.execute("SELECT request_id FROM yunwei_review.entries WHERE kind = 'request' "
                                 "ORDER BY created, request_id").fetchall()
        return [r[0] for r in rows]


class PgAuditLog:
    """The audit chain in ``yunwei_review.audit``: same records and verification as the file log;
    the server keeps it linear and append-only, so it is its own anchor."""

    def __init__(self, url: str) -> None:
        from yunwei.store.base import redact_url

        self.url = url
        self.location = redact_url(url)

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        from yunwei.audit.log import GENESIS, canonical, now_text, record_hash

        psycopg = _psycopg()
        conn = connect(self.url)
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_AUDIT_LOCK,))
                last = conn.execute("SELECT seq, hash FROM yunwei_review.audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS)
                rec: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
                rec.update({"seq": seq + 1, "time": now_text(), "event": event, "prev": prev})
                rec["hash"] = record_hash(rec)
                conn.execute("INSERT INTO yunwei_review.audit (seq, prev, hash, operator, line) VALUES (%s, %s, %s, %s, %s)",
                             (rec["seq"], prev, rec["hash"], str(rec.get("operator", "")), canonical(rec)))
        except psycopg.Error as exc:
            raise YunweiError(f"the audit store refused the record: {refused(exc)}") from None
        return rec

    def lines(self) -> list[bytes]:
        rows = connect(self.url).execute("SELECT line FROM yunwei_review.audit ORDER BY seq").fetchall()
        return [(r[0] + "\n").encode("utf-8") for r in rows]

    def records(self) -> Iterator[dict[str, Any]]:
        for raw in self.lines():
            yield json.loads(raw)

    def read_head(self) -> tuple[int, str] | None:
        row = connect(self.url).execute("SELECT seq, hash FROM yunwei_review.audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def verify(self, expect_head: str | None = None) -> Any:
        from yunwei.audit.log import verify_lines

        lines = self.lines()
        head = self.read_head()
        return verify_lines(lines, head if lines else None, expect_head)

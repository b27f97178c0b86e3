"""The PostgreSQL review store and audit log on a real server, in process: entries written once,
the chain linear under concurrent appends, and the schema set up idempotently."""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_server import pg_server_url, pg_url  # noqa: E402,F401  (fixtures)

from yunwei.errors import YunweiError  # noqa: E402
from yunwei.review.pg import PgAuditLog, PgReviewStore, init_db  # noqa: E402
from yunwei.review.store import AlreadyRecorded  # noqa: E402


@pytest.fixture()
def urls(pg_url):  # noqa: F811
    """The database set up by its owner; a URL per operator role (the test server trusts local users)."""
    import psycopg

    init_db(pg_url, max_ttl_hours=12)
    init_db(pg_url, max_ttl_hours=12)  # idempotent
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for role in ("alice", "bob"):  # roles belong to the (session's) server, not to the database
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f"CREATE ROLE {role} LOGIN")
            conn.execute(f"GRANT yunwei_operators TO {role}")
    user_url = pg_url.replace("postgresql://postgres@", "postgresql://{}@", 1)
    return {role: user_url.format(role) for role in ("alice", "bob")}


def _append(url: str, n: int, who: str) -> None:
    log = PgAuditLog(url)
    for i in range(n):
        log.append("request", operator=who, n=i)


def test_entries_are_written_once_and_the_chain_stays_linear(urls):
    alice, bob = PgReviewStore(urls["alice"]), PgReviewStore(urls["bob"])
    req = {"id": "req-00000000beef", "requester": "alice", "job": "x"}
    alice.create(req)
    alice.add(req["id"], "preview", {"changes": []}, operator="alice")
    with pytest.raises(AlreadyRecorded):
        alice.add(req["id"], "preview", {"changes": ["edited"]}, operator="alice")
    with pytest.raises(YunweiError, match="same person"):
        alice.add(req["id"], "approval", {}, operator="alice", expires="2999-01-01T00:00:00Z")
    with pytest.raises(YunweiError, match="ceiling 12 h"):
        bob.add(req["id"], "approval", {}, operator="bob", expires="2999-01-01T00:00:00Z")
    import datetime as dt

    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    bob.add(req["id"], "approval", {"approver": "bob"}, operator="bob", expires=soon)
    alice.add(req["id"], "execution", {"operator": "alice"}, operator="alice")
    with pytest.raises(AlreadyRecorded):
        bob.add(req["id"], "execution", {"operator": "bob"}, operator="bob")
    entry = bob.load(req["id"])
    assert entry.preview == {"changes": []} and entry.approval == {"approver": "bob"}
    assert entry.execution == {"operator": "alice"} and entry.result is None
    assert bob.ids() == [req["id"]]

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append, args=(urls[who], 15, who)) for who in ("alice", "bob", "alice")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    log = PgAuditLog(urls["bob"])
    v = log.verify()
    assert v.ok and v.count == 45 and log.read_head() == (45, v.head)
    with pytest.raises(YunweiError, match="claims operator alice"):
        PgAuditLog(urls["bob"]).append("approval", operator="alice")

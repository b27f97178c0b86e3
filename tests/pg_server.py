"""A throw-away PostgreSQL server for tests: initdb into a temp dir, listen on a unix socket
only (no TCP), run as the ``postgres`` OS user when the tests run as root, stop at the end.

    with pg_server() as url: ...          # url = postgresql://postgres@/postgres?host=...&port=...
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def pg_bindir() -> Path | None:
    env = os.environ.get("YUNWEI_PG_BINDIR")
    if env and (Path(env) / "initdb").exists():
        return Path(env)
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(cand) / "initdb").exists():
            return Path(cand)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def pg_server(hba: str | None = None, ident: str | None = None) -> Iterator[str]:
    """``hba``/``ident``: pg_hba.conf and pg_ident.conf instead of trusting every local user
    (e.g. peer authentication, so an OS login can connect only as its own role)."""
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found")
    base = Path(tempfile.mkdtemp(prefix="yunwei-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    prefix: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (base, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(base, 0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
    port = _free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8",
                             "--no-sync"], check=True, capture_output=True, env=env)
    for name, text in (("pg_hba.conf", hba), ("pg_ident.conf", ident)):
        if text is not None:
            (data / name).write_text(text)
    opts = f"-c listen_addresses='' -k {sock} -p {port} -c fsync=off -c full_page_writes=off"
    subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                             "-o", opts, "start"], check=True, capture_output=True, env=env)
    try:
        yield f"postgresql://{user}@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, env=env)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- pytest fixtures
try:
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def pg_server_url() -> Iterator[str]:
        """URL of a real PostgreSQL server started for this test session (skipped only without binaries)."""
        if pg_bindir() is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
        with pg_server() as url:
            yield url

    @pytest.fixture()
    def pg_url(pg_server_url: str) -> str:
        """A fresh, empty database on the session server for one test."""
        import uuid

        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return pg_server_url.replace("/postgres?", f"/{name}?", 1)

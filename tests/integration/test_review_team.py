"""Team mode against an operator who tries to get around the review: two real OS logins
(yw-alice, yw-bob) run yunwei against a root-owned admin configuration and a real PostgreSQL
server where each connects as themselves (peer authentication) with insert-only rights.

Proves, for a non-root operator: no self-approval (not through the environment, a second key or
the database), no bypass of the audit log, execution once, no edit or deletion of review state
or audit history — refused by yunwei, and by the server for whatever a modified client sends.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pg_server import pg_bindir, pg_server  # noqa: E402
from runner_helpers import PLAYBOOK  # noqa: E402

from yunwei.paths import project_root  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="creates OS users and root-owned admin files: needs root"),
]

USERS = ("yw-alice", "yw-bob")
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
HBA = "local all postgres peer map=admins\nlocal all all peer\n"
IDENT = "admins root postgres\nadmins postgres postgres\n"
SQL_RUNNER = """
import json, sys, psycopg
out = []
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    for statement in json.loads(sys.argv[2]):
        try:
            conn.execute(statement)
            out.append("ok")
        except psycopg.Error as exc:
            out.append(exc.diag.message_primary or str(exc))
print(json.dumps(out))
"""


def _others_can_run(path: Path) -> bool:
    real = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & 0o001 for p in [*real.parents]) and bool(os.stat(real).st_mode & 0o001)


def _others_can_read(path: Path) -> bool:
    real = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & 0o001 for p in real.parents) and bool(os.stat(real).st_mode & 0o004)


def _shared_install(base: Path) -> Path:
    """The bin folder of a yunwei every login can run. In team mode yunwei is installed for all
    operators; this checkout's virtual environment may use an interpreter under /root (0700), so
    the test builds a venv on Debian's python3 that reads this checkout's site-packages."""
    bin_dir = Path(sys.executable).parent
    site = next((bin_dir.parent / "lib").glob("python3*/site-packages"))
    for needed in (project_root(), site):
        if not _others_can_read(needed):
            pytest.skip(f"{needed} is not readable by other users: the operators' logins cannot run this checkout")
    if _others_can_run(Path(sys.executable)):
        return bin_dir
    system = Path("/usr/bin/python3")
    probe = subprocess.run([str(system), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                           text=True, check=False) if system.exists() else None
    if probe is None or probe.stdout.strip() != str(sys.version_info[:2]):
        pytest.skip(f"{sys.executable} is not runnable by other users and {system} is not Python "
                    f"{sys.version_info[0]}.{sys.version_info[1]}")
    venv = base / "venv"
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(venv)], check=True)
    site_dir = next((venv / "lib").glob("python3*/site-packages"))
    (site_dir / "yunwei-shared.pth").write_text(f"import site; site.addsitedir({str(site)!r})\n")
    for script in bin_dir.iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        head, _, body = script.read_bytes().partition(b"\n")
        if head.startswith(b"#!") and b"python" in head:
            (venv / "bin" / script.name).write_bytes(f"#!{venv}/bin/python3\n".encode() + body)
            os.chmod(venv / "bin" / script.name, 0o755)
    return venv / "bin"


@dataclass
class Team:
    bin: Path
    admin: Path
    config: Path
    url: str          # the operators' URL: no user, so libpq connects as the OS login
    owner_url: str    # the database owner (root maps to postgres)
    target: Path
    keys: dict[str, Path]

    def run(self, user: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``yunwei ARGS`` as OS user ``user`` (runuser), with the team's configuration."""
        base = {"PATH": "/usr/bin:/bin", "HOME": f"/home/{user}", "LANG": "C.UTF-8",
                "YUNWEI_CONFIG": str(self.config), "YUNWEI_SIGNING_KEY": str(self.keys[user])}
        return subprocess.run([RUNUSER, "-u", user, "--", str(self.bin / "yunwei"), *args], env={**base, **(env or {})},
                              capture_output=True, text=True, timeout=300, check=False)

    def sql(self, user: str, *statements: str) -> list[str]:
        """Each statement as ``user`` over the operators' URL: "ok" or the server's message."""
        proc = subprocess.run([RUNUSER, "-u", user, "--", str(self.bin / "python3"), "-c", SQL_RUNNER, self.url,
                               json.dumps(list(statements))],
                              env={"PATH": "/usr/bin:/bin", "HOME": f"/home/{user}"},
                              capture_output=True, text=True, timeout=60, check=True)
        return json.loads(proc.stdout)

    def owner(self, statement: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.owner_url, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def audit(self) -> list[dict]:
        return [json.loads(line) for (line,) in self.owner("SELECT line FROM yunwei_review.audit ORDER BY seq")]


def _user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run([shutil.which("useradd") or "useradd", "--create-home", "--shell", "/bin/sh", name],
                       check=False, capture_output=True)
        pwd.getpwnam(name)  # created (here or by a concurrent session)


def _key(user: str, name: str) -> Path:
    home = Path(pwd.getpwnam(user).pw_dir)
    key = home / ".ssh" / name
    subprocess.run([RUNUSER, "-u", user, "--", "sh", "-c",
                    f"mkdir -p -m 700 {home}/.ssh && rm -f {key} {key}.pub && "
                    f"ssh-keygen -q -t ed25519 -N '' -C {user} -f {key}"], check=True)
    return key


def _signer_line(user: str, key: Path) -> str:
    kind, blob = Path(f"{key}.pub").read_text().split()[:2]
    return f'{user} namespaces="yunwei-approval" {kind} {blob}\n'


@pytest.fixture(scope="module")
def team():
    if not shutil.which("runuser") or not shutil.which("useradd") or pg_bindir() is None:
        pytest.skip("runuser, useradd and the PostgreSQL server binaries are needed")
    for user in USERS:
        _user(user)
    keys = {user: _key(user, "yw_review") for user in USERS}
    keys["yw-alice-second"] = _key("yw-alice", "yw_second")
    admin = Path(tempfile.mkdtemp(prefix="yunwei-admin-", dir="/tmp"))
    work = Path(tempfile.mkdtemp(prefix="yunwei-team-", dir="/tmp"))
    try:
        os.chmod(admin, 0o755)
        os.chmod(work, 0o755)
        bin_dir = _shared_install(work)
        os.chown(work, pwd.getpwnam("yw-alice").pw_uid, -1)  # where the change writes, as alice
        target = work / "target.txt"
        (admin / "pb.yml").write_text(PLAYBOOK)
        (admin / "inv.yml").write_text("all:\n  hosts:\n    local1:\n      ansible_connection: local\n"
                                       f"      ansible_python_interpreter: {bin_dir / 'python3'}\n")
        (admin / "jobs.yml").write_text(
            "jobs:\n  local_change:\n    class: change\n"
            f"    playbook: {admin}/pb.yml\n    inventory: {admin}/inv.yml\n    vars: {{target: {target}}}\n")
        (admin / "allowed_signers").write_text("".join(_signer_line(u, keys[u]) for u in USERS))
        with pg_server(hba=HBA, ident=IDENT) as server:
            import psycopg
            from psycopg import sql

            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute("CREATE DATABASE yunwei")
            owner_url = server.replace("/postgres?", "/yunwei?", 1)
            from yunwei.review.pg import init_db

            init_db(owner_url, max_ttl_hours=72)
            with psycopg.connect(owner_url, autocommit=True) as conn:
                for user in USERS:
                    conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE yunwei_operators").format(sql.Identifier(user)))
            url = "postgresql:///yunwei?" + owner_url.split("?", 1)[1]
            config = admin / "yunwei.yml"
            config.write_text(f"root: {project_root()}\njobs: {admin}/jobs.yml\nallowed_signers: {admin}/allowed_signers\n"
                              f"review: {{store: '{url}'}}\napproval: {{ttl_hours: 24, max_ttl_hours: 72}}\n")
            for path in admin.iterdir():
                os.chmod(path, 0o644)
            yield Team(bin_dir, admin, config, url, owner_url, target, keys)
    finally:
        shutil.rmtree(admin, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def test_two_person_review_holds_against_a_second_login(team):
    # alice requests: the preview runs as alice, the request goes to the append-only store
    proc = team.run("yw-alice", "request", "local_change", "-q", "--json")
    assert proc.returncode == 0, proc.stderr
    req_id = json.loads(proc.stdout)["id"]

    # 1. self-approval: as herself, with her second key, or naming her second key "yw-bob"
    proc = team.run("yw-alice", "approve", req_id)
    assert proc.returncode == 1 and "same person" in proc.stderr
    fake = Path("/home/yw-alice/my_signers")
    fake.write_text(_signer_line("yw-bob", team.keys["yw-alice-second"]))
    proc = team.run("yw-alice", "approve", req_id, env={
        "YUNWEI_ALLOWED_SIGNERS": str(fake), "YUNWEI_OPERATOR": "yw-bob",
        "YUNWEI_SIGNING_KEY": str(team.keys["yw-alice-second"])})
    assert proc.returncode == 2 and "$YUNWEI_ALLOWED_SIGNERS" in proc.stderr and "not honoured" in proc.stderr
    proc = team.run("yw-alice", "approve", req_id, "--key", str(team.keys["yw-alice-second"]))
    assert proc.returncode == 1 and "same person" in proc.stderr
    assert team.sql("yw-alice", "INSERT INTO yunwei_review.entries (request_id, kind, operator, body, expires) "
                                f"VALUES ('{req_id}', 'approval', 'yw-bob', '{{}}', now() + interval '1 hour')",
                    "INSERT INTO yunwei_review.entries (request_id, kind, operator, body, expires) "
                    f"VALUES ('{req_id}', 'approval', 'yw-alice', '{{}}', now() + interval '1 hour')") == [
        "yunwei: approval recorded as yw-bob by yw-alice: an operator acts only as themselves",
        "yunwei: requester and approver are the same person (yw-alice)"]

    # bob reviews and approves with his own key
    proc = team.run("yw-bob", "review", req_id)
    assert proc.returncode == 0 and "[pending]" in proc.stdout and "would change" in proc.stdout
    assert team.run("yw-bob", "approve", req_id).returncode == 0

    # 5. the audit log cannot be moved aside
    elsewhere = Path("/tmp") / f"elsewhere-{req_id}.jsonl"
    proc = team.run("yw-alice", "execute", req_id, "-q", env={"YUNWEI_AUDIT_LOG": str(elsewhere)})
    assert proc.returncode == 2 and "$YUNWEI_AUDIT_LOG" in proc.stderr
    assert not elsewhere.exists() and not team.target.exists()

    # the run: exactly once
    proc = team.run("yw-alice", "execute", req_id, "-q", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "successful"
    assert team.target.read_text() == "greeting=hello\n"
    team.target.unlink()
    proc = team.run("yw-alice", "execute", req_id)
    assert proc.returncode == 1 and "already ran" in proc.stderr

    # 4. deleting the execution, or copying the request under a new id, does not run it again
    assert team.sql("yw-alice", f"DELETE FROM yunwei_review.entries WHERE request_id = '{req_id}'") == [
        "permission denied for table entries"]
    body = json.loads(team.owner("SELECT body FROM yunwei_review.entries WHERE request_id = %s AND kind = 'request'",
                                 (req_id,))[0][0])
    copy_id = "req-" + "c0ffee" + req_id[-6:]
    body["id"] = copy_id
    copied = json.dumps(body).replace("'", "''")
    assert team.sql("yw-alice", "INSERT INTO yunwei_review.entries (request_id, kind, operator, body) "
                                f"VALUES ('{copy_id}', 'request', 'yw-alice', '{copied}')") == ["ok"]
    proc = team.run("yw-alice", "execute", copy_id)
    assert proc.returncode == 1 and "signature does not verify" in proc.stderr
    assert not team.target.exists()

    # the audit log: in the server, verified, every step by the login that took it
    proc = team.run("yw-bob", "audit", "verify")
    assert proc.returncode == 0 and "append-only" in proc.stdout, proc.stdout
    events = [(r["event"], r["operator"], r.get("action")) for r in team.audit() if r.get("request") in (req_id, None)
              or r.get("request") == copy_id]
    assert events == [
        ("request", "yw-alice", None), ("preview", "yw-alice", None),
        ("refusal", "yw-alice", "approve"), ("refusal", "yw-alice", "approve"), ("refusal", "yw-alice", "approve"),
        ("approval", "yw-bob", None),
        ("refusal", "yw-alice", "execute"),
        ("execution", "yw-alice", None), ("result", "yw-alice", None),
        ("refusal", "yw-alice", "execute"), ("refusal", "yw-alice", "execute"),
    ]


def test_the_server_refuses_what_a_modified_client_would_send(team):
    """Direct SQL as the operators: review state and history cannot be edited, deleted or forged."""
    rid = "req-0000000000a1"
    request = json.dumps({"id": rid, "requester": "yw-alice"})
    E = "INSERT INTO yunwei_review.entries (request_id, kind, operator, body, expires) VALUES "
    assert team.sql("yw-alice",
                    f"{E} ('{rid}', 'request', 'yw-alice', '{request}', NULL)",
                    f"{E} ('{rid}', 'execution', 'yw-alice', '{{}}', NULL)",
                    ) == ["ok", f"yunwei: request {rid} has no approval"]
    assert team.sql("yw-bob",
                    f"{E} ('{rid}', 'approval', 'yw-bob', '{{}}', now() + interval '1000 hours')",
                    f"{E} ('{rid}', 'denial', 'yw-bob', '{{}}', NULL)",
                    f"{E} ('{rid}', 'approval', 'yw-bob', '{{}}', now() + interval '1 hour')",
                    )[1:] == ["ok", f"yunwei: request {rid} was denied"]
    refused = team.sql("yw-bob", f"{E} ('req-0000000000a2', 'request', 'yw-bob', "
                                 "'{\"id\": \"req-0000000000a2\", \"requester\": \"yw-bob\"}', NULL)",
                       f"{E} ('req-0000000000a2', 'approval', 'yw-alice', '{{}}', now() + interval '1 hour')")
    assert refused[1].startswith("yunwei: approval recorded as yw-alice by yw-bob")
    ceiling = team.sql("yw-alice", f"{E} ('req-0000000000a2', 'approval', 'yw-alice', '{{}}', "
                                   "now() + interval '1000 hours')")
    assert "ceiling 72 h" in ceiling[0] or "(ceiling 72)" in ceiling[0], ceiling
    # undoing the denial, editing a preview, rewriting or truncating history: refused
    for user in ("yw-alice", "yw-bob"):
        assert team.sql(user,
                        f"DELETE FROM yunwei_review.entries WHERE request_id = '{rid}' AND kind = 'denial'",
                        "UPDATE yunwei_review.entries SET body = '{}'",
                        "TRUNCATE yunwei_review.entries",
                        "DELETE FROM yunwei_review.audit",
                        "UPDATE yunwei_review.audit SET operator = 'nobody'",
                        "TRUNCATE yunwei_review.audit",
                        "UPDATE yunwei_review.settings SET max_ttl_hours = 876000",
                        ) == ["permission denied for table entries"] * 3 + ["permission denied for table audit"] * 3 \
            + ["permission denied for table settings"]
    # even the owner's statements hit the triggers (only disabling them, as the owner, would pass)
    import psycopg

    for statement in ("DELETE FROM yunwei_review.entries", "UPDATE yunwei_review.audit SET line = line",
                      "TRUNCATE yunwei_review.audit"):
        with pytest.raises(psycopg.Error, match="append-only"):
            team.owner(statement)
    # an audit record that does not continue the chain, or claims another operator
    last = team.owner("SELECT seq, hash FROM yunwei_review.audit ORDER BY seq DESC LIMIT 1")
    seq, prev = (last[0][0], last[0][1]) if last else (0, "0" * 64)
    from yunwei.audit.log import canonical, record_hash

    def line(operator: str, link: str) -> str:
        rec = {"seq": seq + 1, "time": "2026-01-01T00:00:00Z", "event": "approval", "operator": operator,
               "prev": link}
        rec["hash"] = record_hash(rec)
        return (f"INSERT INTO yunwei_review.audit (seq, prev, hash, operator, line) VALUES "
                f"({seq + 1}, '{link}', '{rec['hash']}', '{operator}', '{canonical(rec)}')")

    assert team.sql("yw-alice", line("yw-alice", "f" * 64), line("yw-bob", prev)) == [
        f"yunwei: audit record {seq + 1} does not continue the chain (last {seq})",
        "yunwei: audit record by yw-alice claims operator yw-bob"]

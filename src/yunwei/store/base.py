"""The store API, implemented once over DB-API connections; backends supply the connection,
transactions and the schema lock (see sqlite.py and postgres.py)."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from yunwei.procfs import pid_stat
from yunwei.store import model
from yunwei.store.model import Check, CheckSummary, HostStats, Metric, Run, RunError, TaskResult, epoch, utc
from yunwei.store.schema import SCHEMA_VERSION, statements

TimeArg = datetime | float | int | str | None

# A run recorded on another machine counts as dead after this long without a heartbeat.
STALE_AFTER = 15 * 60.0
# The journal writes a heartbeat at least this often while a run is alive.
HEARTBEAT_EVERY = 60.0

_RUN_COLS = (
    "id, playbook, job, profile, operator, started_at, ended_at, status, ansible_version, "
    "content_digest, node, pid, check_mode, error_count, reason"
)
_RESULT_COLS = (
    "run_id, seq, host, play, task, task_uuid, action, status, started_at, ended_at, duration, ignore_errors, result"
)
_CHECK_COLS = (
    "run_id, host, time, check_id, category, title, instance, status, value, value_num, unit, threshold, "
    "evidence, suggestion, task"
)
_METRIC_COLS = "run_id, host, time, name, instance, value, unit"


# -- fork safety ------------------------------------------------------------------------------
# Ansible forks its workers while the journal's writer thread may be inside SQLite (or holding a
# Python lock): a forked child inherits those locks in the state they had at fork time, so a
# store opened or used there can wait forever. The rule (docs/journal.md, "Fork safety"):
# nothing opens or touches a store in a forked process; what a worker needs is prepared on the
# controller first. A process forked without exec from one that imported this module is refused.
_IMPORT_PID = os.getpid()


class ForkedProcessError(RuntimeError):
    """A store was opened or used in a forked child process (an Ansible worker)."""


def check_not_forked(what: str = "open a journal store") -> None:
    """Raise :class:`ForkedProcessError` in a process forked (not exec'd) after yunwei.store was imported."""
    if os.getpid() != _IMPORT_PID:
        raise ForkedProcessError(
            f"yunwei.store: refusing to {what} in a forked process (pid {os.getpid()}, forked from "
            f"{_IMPORT_PID}): locks inherited through fork() can hang it. Action plugins, filters and "
            "lookups run in Ansible's forked workers and must use data prepared on the controller "
            "(docs/journal.md, 'Fork safety').")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


_URL = re.compile(r"^([A-Za-z][\w+.-]*://)([^/?#]*)(.*)$", re.S)
_PASSWORD_PARAM = re.compile(r"((?:^|[?&\s])password=)([^&\s]*)")


def _url_secrets(url: str) -> list[str]:
    """The password of ``url`` (userinfo and ``password=`` query parameter), raw and decoded."""
    from urllib.parse import unquote

    found: list[str] = []
    m = _URL.match(url)
    if m and "@" in m.group(2):
        cred = m.group(2).rsplit("@", 1)[0]
        if ":" in cred:
            found.append(cred.split(":", 1)[1])
    found += [p.group(2) for p in _PASSWORD_PARAM.finditer(url)]
    out: list[str] = []
    for secret in found:
        for form in (secret, unquote(secret)):
            if form and form not in out:
                out.append(form)
    return out


def redact_url(url: str | os.PathLike[str] | None) -> str:
    """``url`` without its password (``user:***@``, ``password=***``): safe to show or record."""
    if url is None:
        return ""
    text = str(url)
    m = _URL.match(text)
    if m and "@" in m.group(2):
        scheme, netloc, tail = m.groups()
        cred, host = netloc.rsplit("@", 1)
        if ":" in cred:
            text = f"{scheme}{cred.split(':', 1)[0]}:***@{host}{tail}"
    return _PASSWORD_PARAM.sub(r"\1***", text)


def redact_text(text: str, url: str | os.PathLike[str] | None) -> str:
    """``text`` (an error message that may quote ``url``) with the URL's password masked."""
    if url is None:
        return text
    for secret in sorted(_url_secrets(str(url)), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def process_start(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot ('' if unknown); guards against pid reuse."""
    stat = pid_stat(pid)
    return stat[1][19] if stat and len(stat[1]) > 19 else ""


def process_alive(pid: int, start: str = "") -> bool:
    """True when ``pid`` runs (not a zombie) and, if ``start`` is known, is the same process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = pid_stat(pid)
    if stat is None or len(stat[1]) <= 19:
        return True
    if stat[1][0] in ("Z", "X"):
        return False
    return not start or stat[1][19] == start


class Store:
    """The journal store. Use :func:`yunwei.store.open_store` to get one.

    Read API (docs/data-model.md): list_runs, get_run, task_results, checks, metrics.
    Extensions: find_run, check_summary, metric_series, metric_names, result_counts, run_errors.
    Write API (the journal callback): begin_run, write_batch, finish_run, record_error,
    reap_interrupted.
    """

    dialect = "sqlite"
    url = ""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._pid = os.getpid()

    def _check_process(self) -> None:
        """Refuse use of this store in a child forked after it was opened (before touching any lock)."""
        if os.getpid() != self._pid:
            check_not_forked("use a journal store opened by the parent process")
            raise ForkedProcessError(f"yunwei.store: this store was opened by process {self._pid}, "
                                     f"not by {os.getpid()}")

    # ---------------------------------------------------------------- backend hooks
    def _sql(self, sql: str) -> str:
        """Convert '?' placeholders to the backend's style."""
        return sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def _schema_lock(self, cur: Any) -> None:
        """Serialise migrations between processes (inside the migration transaction)."""

    def _has_table(self, cur: Any, name: str) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    # ---------------------------------------------------------------- plumbing
    def close(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked child must not touch the parent's connection (or its lock)
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._check_process()
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute(self._sql(sql), tuple(params))
                return list(cur.fetchall())
            finally:
                cur.close()

    # ---------------------------------------------------------------- for modules with their own tables
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction (a DB-API cursor; write SQL with '?' through :meth:`sql`): what the
        service desk uses for its tables in this store."""
        with self._tx() as cur:
            yield cur

    def sql(self, text: str) -> str:
        """``text`` with '?' placeholders in this backend's style."""
        return self._sql(text)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query ('?' placeholders)."""
        return self._query(sql, params)

    def migrate(self) -> int:
        """Bring the schema to ``SCHEMA_VERSION``; returns the version found before."""
        with self._tx() as cur:
            self._schema_lock(cur)
            if self._has_table(cur, "schema_version"):
                cur.execute("SELECT MAX(version) FROM schema_version")
                row = cur.fetchone()
                current = int(row[0] or 0)
            else:
                cur.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at " +
                            ("DOUBLE PRECISION" if self.dialect == "postgresql" else "REAL") + " NOT NULL)")
                current = 0
            if current > SCHEMA_VERSION:
                from yunwei.errors import YunweiError

                raise YunweiError(
                    f"journal store {self.url or ''} has schema version {current}, newer than this "
                    f"yunwei ({SCHEMA_VERSION}); upgrade yunwei"
                )
            for version, stmts in statements(self.dialect, current):
                for stmt in stmts:
                    cur.execute(stmt)
                cur.execute(self._sql("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)"),
                            (version, model.now().timestamp()))
            return current

    def schema_version(self) -> int:
        rows = self._query("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # ---------------------------------------------------------------- write API
    def begin_run(self, run: Run) -> None:
        """Insert the run (status 'running'), its hosts, and remember the recording process."""
        pid = run.pid if run.pid is not None else os.getpid()
        node = run.node or socket.gethostname()
        started = epoch(run.started_at) or model.now().timestamp()
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO runs (id, playbook, job, profile, operator, started_at, ended_at, status, "
                    "ansible_version, content_digest, node, pid, pid_start, check_mode, error_count, heartbeat_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (run.id, run.playbook, run.job, run.profile, run.operator, started, epoch(run.ended_at),
                 run.status or "running", run.ansible_version, run.content_digest, node, pid,
                 process_start(pid) if node == socket.gethostname() else "", int(run.check_mode), 0, started),
            )
            self._add_hosts(cur, run.id, run.hosts)
        run.pid, run.node = pid, node

    def _add_hosts(self, cur: Any, run_id: str, hosts: Iterable[str]) -> None:
        rows = [(run_id, h) for h in dict.fromkeys(hosts)]
        if not rows:
            return
        if self.dialect == "postgresql":
            sql = "INSERT INTO run_hosts (run_id, host) VALUES (?, ?) ON CONFLICT DO NOTHING"
        else:
            sql = "INSERT OR IGNORE INTO run_hosts (run_id, host) VALUES (?, ?)"
        cur.executemany(self._sql(sql), rows)

    def write_batch(
        self,
        run_id: str,
        results: Sequence[TaskResult] = (),
        checks: Sequence[Check] = (),
        metrics: Sequence[Metric] = (),
        hosts: Iterable[str] = (),
        errors: Sequence[RunError] = (),
    ) -> list[str]:
        """Write buffered rows of one run in ONE transaction (all or nothing).

        Every row is validated before the insert: a row the schema would refuse (a metric value
        that is not a finite real number, NaN, inf or a bool; a time that is not a time; a
        missing name, id, host or status) is left out and a run error naming it is written in
        the same transaction instead, so one bad row never loses the rest of the batch and both
        backends keep the same rows. Returns the messages of the rows left out.
        """
        now = model.now().timestamp()
        problems: list[str] = []
        result_rows = _valid(problems, "task result", results, lambda r: f"{r.host}/{r.task!r} #{r.seq}", lambda r: (
            run_id, int(r.seq), _text(r.host, "host"), r.play or "", r.task or "", r.task_uuid or "",
            r.action or "", _text(r.status, "status"), _time(r.started_at), _time(r.ended_at),
            None if r.duration is None else _finite(r.duration, "duration"), int(bool(r.ignore_errors)),
            r.result if isinstance(r.result, str) else dumps(r.result)))
        check_rows = _valid(problems, "check", checks, lambda c: f"{c.id!r} on {c.host}", lambda c: (
            run_id, _text(c.host, "host"), _time(c.time) or now, _text(c.id, "id"), c.category or "", c.title or "",
            c.instance or "", _text(c.status, "status"), None if c.value is None else dumps(c.value), _num(c.value),
            c.unit or "", None if c.threshold is None else dumps(c.threshold), c.evidence or "",
            c.suggestion or "", c.task or ""))
        metric_rows = _valid(problems, "metric", metrics, lambda m: f"{m.name!r} on {m.host}", lambda m: (
            run_id, _text(m.host, "host"), _time(m.time) or now, _text(m.name, "name"), m.instance or "",
            _finite(m.value, "value"), m.unit or ""))
        error_rows = [(run_id, _time_or(e.time, now), str(e.message)) for e in errors]
        error_rows += [(run_id, now, msg) for msg in problems]
        with self._tx() as cur:
            self._add_hosts(cur, run_id, hosts)
            if result_rows:
                cur.executemany(
                    self._sql(f"INSERT INTO task_results ({_RESULT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    result_rows,
                )
            if check_rows:
                cur.executemany(
                    self._sql(f"INSERT INTO checks ({_CHECK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    check_rows,
                )
            if metric_rows:
                cur.executemany(self._sql(f"INSERT INTO metrics ({_METRIC_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                                metric_rows)
            if error_rows:
                cur.executemany(self._sql("INSERT INTO run_errors (run_id, time, message) VALUES (?, ?, ?)"),
                                error_rows)
                cur.execute(self._sql("UPDATE runs SET error_count = error_count + ? WHERE id = ?"),
                            (len(error_rows), run_id))
            cur.execute(self._sql("UPDATE runs SET heartbeat_at = ? WHERE id = ?"), (now, run_id))
        return problems

    def record_error(self, run_id: str, message: str) -> None:
        self.write_batch(run_id, errors=[RunError(run_id, message)])

    def finish_run(
        self,
        run_id: str,
        status: str,
        ended_at: TimeArg = None,
        host_stats: Sequence[HostStats] = (),
        reason: str = "",
    ) -> None:
        """Close the run: final status (ok | failed | interrupted | timeout), end time, per-host
        recap, and why it is not ok (``reason``)."""
        if status not in model.RUN_STATUSES:
            raise ValueError(f"bad run status {status!r}")
        with self._tx() as cur:
            self._add_hosts(cur, run_id, [s.host for s in host_stats])
            if host_stats:
                cur.executemany(
                    self._sql(
                        "UPDATE run_hosts SET ok = ?, changed = ?, failures = ?, unreachable = ?, skipped = ?, "
                        "rescued = ?, ignored = ? WHERE run_id = ? AND host = ?"
                    ),
                    [(s.ok, s.changed, s.failures, s.unreachable, s.skipped, s.rescued, s.ignored, run_id, s.host)
                     for s in host_stats],
                )
            cur.execute(
                self._sql("UPDATE runs SET status = ?, ended_at = ?, reason = ? WHERE id = ?"),
                (status, epoch(ended_at) or model.now().timestamp(), str(reason or "")[:2000], run_id),
            )

    def settle_run(self, run: Run, status: str, reason: str) -> bool:
        """Give ``run`` the final ``status`` and ``reason`` when its recorder could not: the run is
        missing (ansible-playbook failed before the journal started), still ``running`` (the process
        died) or ``interrupted`` (the runner's own TERM, e.g. on a timeout). A run the journal closed
        itself (ok / failed / timeout) is left as it is. Returns True when it changed something."""
        if status not in model.RUN_STATUSES or status == "running":
            raise ValueError(f"bad final run status {status!r}")
        now = model.now().timestamp()
        with self._tx() as cur:
            cur.execute(self._sql("SELECT status FROM runs WHERE id = ?"), (run.id,))
            row = cur.fetchone()
            if row is None:
                cur.execute(
                    self._sql("INSERT INTO runs (id, playbook, job, profile, operator, started_at, ended_at, status, "
                              "ansible_version, content_digest, node, pid, pid_start, check_mode, error_count, "
                              "heartbeat_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    (run.id, run.playbook, run.job, run.profile, run.operator, epoch(run.started_at) or now, now,
                     status, run.ansible_version, run.content_digest, run.node or socket.gethostname(), None, "",
                     int(run.check_mode), 0, now, str(reason)[:2000]))
                return True
            if row[0] not in ("running", "interrupted"):
                return False
            cur.execute(self._sql("UPDATE runs SET status = ?, ended_at = COALESCE(ended_at, ?), reason = ? "
                                  "WHERE id = ?"), (status, now, str(reason)[:2000], run.id))
            return True

    def set_reason(self, run_id: str, reason: str) -> None:
        """Replace the reason of a closed run (the runner names what the callback could not)."""
        with self._tx() as cur:
            cur.execute(self._sql("UPDATE runs SET reason = ? WHERE id = ? AND status <> 'running'"),
                        (str(reason)[:2000], run_id))

    def heartbeat(self, run_id: str) -> None:
        """Note that the recording process of ``run_id`` is still alive (for other machines' reaping)."""
        with self._tx() as cur:
            cur.execute(self._sql("UPDATE runs SET heartbeat_at = ? WHERE id = ?"), (model.now().timestamp(), run_id))

    def reap_interrupted(self, stale_after: float = STALE_AFTER) -> list[str]:
        """Mark runs whose recording process is gone as 'interrupted'; returns the ids marked.

        On this machine the recorded pid is checked (dead, zombie, or reused -> gone). Runs
        recorded on other machines (a shared PostgreSQL store) cannot be checked that way: they
        are gone when their heartbeat (written by the journal at least every minute) is older
        than ``stale_after`` seconds. The end time of a reaped run is its last heartbeat.
        """
        node = socket.gethostname()
        rows = self._query("SELECT id, node, pid, pid_start, heartbeat_at FROM runs WHERE status = 'running'")
        cutoff = model.now().timestamp() - stale_after
        dead = []
        for rid, rnode, pid, start, hb in rows:
            if rnode == node:
                if pid is not None and not process_alive(int(pid), start or ""):
                    dead.append((rid, hb))
            elif hb is not None and hb < cutoff:
                dead.append((rid, hb))
        if not dead:
            return []
        with self._tx() as cur:
            cur.executemany(
                self._sql("UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?), "
                          "reason = 'the recording process ended without closing the run' "
                          "WHERE id = ? AND status = 'running'"),
                [(hb, rid) for rid, hb in dead],
            )
        return [rid for rid, _ in dead]

    def delete_run(self, run_id: str) -> None:
        with self._tx() as cur:
            for table in ("task_results", "checks", "metrics", "run_hosts", "run_errors"):
                cur.execute(self._sql(f"DELETE FROM {table} WHERE run_id = ?"), (run_id,))
            cur.execute(self._sql("DELETE FROM runs WHERE id = ?"), (run_id,))

    # ---------------------------------------------------------------- read API (contract)
    def list_runs(
        self,
        job: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
        limit: int | None = None,
        status: str | None = None,
    ) -> list[Run]:
        """Runs, newest first. ``since``/``until`` bound the start time (until exclusive)."""
        where, params = _where(job=("job = ?", job), status=("status = ?", status),
                               since=("started_at >= ?", epoch(since)), until=("started_at < ?", epoch(until)))
        sql = f"SELECT {_RUN_COLS} FROM runs{where} ORDER BY started_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self._runs(self._query(sql, params))

    def get_run(self, run_id: str) -> Run | None:
        runs = self._runs(self._query(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (run_id,)))
        return runs[0] if runs else None

    def task_results(self, run_id: str) -> list[TaskResult]:
        rows = self._query(f"SELECT {_RESULT_COLS} FROM task_results WHERE run_id = ? ORDER BY seq, id", (run_id,))
        return [
            TaskResult(run_id=r[0], seq=r[1], host=r[2], play=r[3], task=r[4], task_uuid=r[5], action=r[6],
                       status=r[7], started_at=utc(r[8]), ended_at=utc(r[9]), duration=r[10],
                       ignore_errors=bool(r[11]), result=_loads(r[12]) or {})
            for r in rows
        ]

    def checks(
        self,
        run_id: str | None = None,
        host: str | None = None,
        job: str | None = None,
        status: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
        category: str | None = None,
        check_id: str | None = None,
    ) -> list[Check]:
        """Checks ordered by time, host, id. ``job`` filters through the run."""
        cols = ", ".join("c." + c.strip() for c in _CHECK_COLS.split(","))
        where, params = _where(run_id=("c.run_id = ?", run_id), host=("c.host = ?", host),
                               job=("r.job = ?", job), status=("c.status = ?", status),
                               since=("c.time >= ?", epoch(since)), until=("c.time < ?", epoch(until)),
                               category=("c.category = ?", category), check_id=("c.check_id = ?", check_id))
        join = " JOIN runs r ON r.id = c.run_id" if job is not None else ""
        rows = self._query(f"SELECT {cols} FROM checks c{join}{where} ORDER BY c.time, c.host, c.check_id, c.id", params)
        return [
            Check(run_id=r[0], host=r[1], time=utc(r[2]), id=r[3], category=r[4], title=r[5], instance=r[6],
                  status=r[7], value=_loads(r[8]), unit=r[10], threshold=_loads(r[11]), evidence=r[12],
                  suggestion=r[13], task=r[14])
            for r in rows
        ]

    def metrics(
        self,
        name: str | None = None,
        host: str | None = None,
        instance: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
        run_id: str | None = None,
    ) -> list[Metric]:
        """Metric samples ordered by time (sample time on the host)."""
        where, params = _where(name=("name = ?", name), host=("host = ?", host), instance=("instance = ?", instance),
                               since=("time >= ?", epoch(since)), until=("time < ?", epoch(until)),
                               run_id=("run_id = ?", run_id))
        rows = self._query(f"SELECT {_METRIC_COLS} FROM metrics{where} ORDER BY time, host, name, instance, id", params)
        return [Metric(run_id=r[0], host=r[1], time=utc(r[2]), name=r[3], instance=r[4], value=r[5], unit=r[6])
                for r in rows]

    # ---------------------------------------------------------------- read API (extensions)
    def find_run(self, ref: str) -> Run | None:
        """A run by full id, unique id prefix, or 'last' (newest)."""
        if ref == "last":
            runs = self.list_runs(limit=1)
            return runs[0] if runs else None
        run = self.get_run(ref)
        if run is not None:
            return run
        rows = self._query(f"SELECT {_RUN_COLS} FROM runs WHERE id LIKE ? ORDER BY started_at DESC LIMIT 2",
                           (ref.replace("_", "").replace("%", "") + "%",))
        if len(rows) == 1:
            return self._runs(rows)[0]
        if len(rows) > 1:
            raise LookupError(f"run id prefix {ref!r} is ambiguous")
        return None

    def result_counts(self, run_id: str) -> dict[str, int]:
        """Number of task results per status for a run."""
        rows = self._query("SELECT status, COUNT(*) FROM task_results WHERE run_id = ? GROUP BY status", (run_id,))
        return {s: int(n) for s, n in rows}

    def run_errors(self, run_id: str) -> list[RunError]:
        rows = self._query("SELECT run_id, message, time FROM run_errors WHERE run_id = ? ORDER BY time, id", (run_id,))
        return [RunError(run_id=r[0], message=r[1], time=utc(r[2])) for r in rows]

    def check_summary(
        self,
        since: TimeArg = None,
        until: TimeArg = None,
        job: str | None = None,
        host: str | None = None,
        category: str | None = None,
    ) -> list[CheckSummary]:
        """Per (host, category, check id): counts of ok/warn/crit and the latest status, in one query."""
        where, params = _where(since=("c.time >= ?", epoch(since)), until=("c.time < ?", epoch(until)),
                               job=("r.job = ?", job), host=("c.host = ?", host), category=("c.category = ?", category))
        join = " JOIN runs r ON r.id = c.run_id" if job is not None else ""
        sql = (
            "SELECT c.host, c.category, c.check_id, "
            "SUM(CASE WHEN c.status = 'ok' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN c.status = 'warn' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN c.status = 'crit' THEN 1 ELSE 0 END), MAX(c.time) "
            f"FROM checks c{join}{where} GROUP BY c.host, c.category, c.check_id ORDER BY c.host, c.category, c.check_id"
        )
        out = [CheckSummary(host=r[0], category=r[1], id=r[2], ok=int(r[3]), warn=int(r[4]), crit=int(r[5]),
                            last_time=utc(r[6])) for r in self._query(sql, params)]
        if out:
            last = self._query(
                "SELECT c.host, c.check_id, c.status, c.time FROM checks c "
                "JOIN (SELECT c.host AS h, c.check_id AS k, MAX(c.time) AS t FROM checks c" + join + where +
                " GROUP BY c.host, c.check_id) m ON m.h = c.host AND m.k = c.check_id AND m.t = c.time",
                params,
            )
            latest = {(h, k): s for h, k, s, _ in last}
            for s in out:
                s.last_status = latest.get((s.host, s.id), "")
        return out

    def check_hosts(self, since: TimeArg = None, until: TimeArg = None, job: str | None = None) -> list[tuple[str, str]]:
        """Distinct (run id, host) pairs having any check in the window: which hosts each run reported on
        (the reports count a run as an inspection only when it reached a host)."""
        where, params = _where(since=("c.time >= ?", epoch(since)), until=("c.time < ?", epoch(until)),
                               job=("r.job = ?", job))
        join = " JOIN runs r ON r.id = c.run_id" if job is not None else ""
        return [(r[0], r[1]) for r in self._query(f"SELECT DISTINCT c.run_id, c.host FROM checks c{join}{where}", params)]

    def metric_series(
        self,
        name: str,
        host: str | None = None,
        instance: str | None = None,
        since: TimeArg = None,
        until: TimeArg = None,
    ) -> list[tuple[datetime, float]]:
        """(time, value) pairs of one metric, oldest first: the history dynamic thresholds learn from."""
        where, params = _where(name=("name = ?", name), host=("host = ?", host), instance=("instance = ?", instance),
                               since=("time >= ?", epoch(since)), until=("time < ?", epoch(until)))
        rows = self._query(f"SELECT time, value FROM metrics{where} ORDER BY time", params)
        return [(utc(t), float(v)) for t, v in rows]  # type: ignore[misc]

    def metric_history(self, host: str, names: Sequence[str], since: TimeArg = None
                       ) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """Every series of ``names`` for ``host`` since ``since`` in one query:
        {(name, instance): [(epoch seconds, value), ...] oldest first}."""
        if not names:
            return {}
        marks = ", ".join("?" for _ in names)
        where, params = _where(host=("host = ?", host), since=("time >= ?", epoch(since)))
        rows = self._query(f"SELECT name, instance, time, value FROM metrics{where} AND name IN ({marks}) "
                           "ORDER BY time", [*params, *names])
        out: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for name, instance, t, v in rows:
            out.setdefault((name, instance), []).append((float(t), float(v)))
        return out

    def metric_names(self, host: str | None = None) -> list[tuple[str, str, str]]:
        """Distinct (name, host, instance) series in the store."""
        where, params = _where(host=("host = ?", host))
        rows = self._query(f"SELECT DISTINCT name, host, instance FROM metrics{where} ORDER BY name, host, instance",
                           params)
        return [(r[0], r[1], r[2]) for r in rows]

    # ---------------------------------------------------------------- helpers
    def _runs(self, rows: list[tuple[Any, ...]]) -> list[Run]:
        runs = [
            Run(id=r[0], playbook=r[1], job=r[2], profile=r[3], operator=r[4], started_at=utc(r[5]),
                ended_at=utc(r[6]), status=r[7], ansible_version=r[8], content_digest=r[9], node=r[10],
                pid=r[11], check_mode=bool(r[12]), error_count=int(r[13] or 0), reason=r[14] or "")
            for r in rows
        ]
        if not runs:
            return runs
        by_id = {run.id: run for run in runs}
        ids = list(by_id)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._query(
                "SELECT run_id, host, ok, changed, failures, unreachable, skipped, rescued, ignored "
                f"FROM run_hosts WHERE run_id IN ({marks}) ORDER BY run_id, host", chunk
            ):
                run = by_id[row[0]]
                run.hosts.append(row[1])
                run.host_stats.append(HostStats(*row[1:]))
        return runs


def _num(value: Any) -> float | None:
    """The numeric form of a check value (None when it is not a finite number)."""
    if isinstance(value, (bool, int, float)):
        try:
            num = float(value)
        except OverflowError:
            return None
        return num if math.isfinite(num) else None
    return None


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a real finite number (not a bool, NaN or inf), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        num = float(value)
    except OverflowError:
        return None
    return num if math.isfinite(num) else None


def _finite(value: Any, what: str) -> float:
    num = finite_number(value)
    if num is None:
        raise ValueError(f"{what} {value!r} is not a finite number")
    return num


def _text(value: Any, what: str) -> str:
    if value is None or value == "":
        raise ValueError(f"no {what}")
    return str(value)


def _time(value: Any) -> float | None:
    t = epoch(value)
    if t is not None and not math.isfinite(t):
        raise ValueError(f"time {value!r} is not a finite time")
    return t


def _time_or(value: Any, default: float) -> float:
    try:
        return _time(value) or default
    except (TypeError, ValueError, OverflowError, AttributeError):
        return default


def _valid(problems: list[str], kind: str, items: Iterable[Any], label: Any, build: Any) -> list[tuple[Any, ...]]:
    """Rows built from ``items``; an item that cannot be a valid row is left out and named in ``problems``."""
    rows = []
    for item in items:
        try:
            rows.append(build(item))
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            try:
                name = label(item)
            except Exception:
                name = repr(item)[:200]
            problems.append(f"{kind} {name} not recorded: {exc}")
    return rows


def _where(**conds: tuple[str, Any]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for clause, value in conds.values():
        if value is not None:
            parts.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(parts) if parts else ""), params

# Copyright: (c) 2026, yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: journal
type: notification
short_description: Record every run, task result, check and metric in the yunwei journal store
description:
  - Records the run (id, playbook, job, profile, operator, start and end, status, ansible version,
    content digest), every host, every task result (status, duration, module, the result without
    internal keys) and, for C(yunwei.ops) modules, their C(checks) and C(metrics) lists as rows of
    their own, into the journal store (SQLite by default, PostgreSQL through a URL).
  - Rows are buffered and written by a background thread in batches (at task and play boundaries,
    on a timer and when the buffer is full), one transaction per batch.
  - Results of C(no_log) tasks are stored in their censored form. C(ansible_facts) (which holds
    C(ansible_env) and the values set by C(set_fact) and C(include_vars)) and extra vars are not
    stored unless O(store_facts) is set.
  - An error inside this callback never aborts the playbook; it is shown as a warning and recorded
    with the run.
  - A run whose recording process died (SIGKILL, SIGTERM, power loss) is marked C(interrupted)
    the next time the store is opened on this machine.
version_added: 0.1.0
requirements:
  - the C(yunwei) Python package on the controller (see the collection's docs/packaging.md)
  - psycopg 3 for a PostgreSQL store (C(yunwei[postgresql]))
options:
  store:
    description:
      - Store path (SQLite) or URL (C(postgresql://...), C(sqlite:///abs/path)).
      - Default C(journal.sqlite) in yunwei's state directory, never the working directory -
        E(YUNWEI_VAR) if set; else in admin mode (C(/etc/yunwei/yunwei.yml)) the operator's
        C($XDG_STATE_HOME/yunwei); else C(var/) of the checkout when the C(yunwei) package runs from one;
        else C(/var/lib/yunwei) as root, C($XDG_DATA_HOME/yunwei) (C(~/.local/share/yunwei)) otherwise.
        Without a configured store the callback says where it records.
    type: str
    env:
      - name: YUNWEI_STORE
    ini:
      - section: yunwei_journal
        key: store
  run_id:
    description: Run id (a UUID). Generated when absent.
    type: str
    env:
      - name: YUNWEI_RUN_ID
    ini:
      - section: yunwei_journal
        key: run_id
  job:
    description: Job name (for example C(inspect)). Defaults to the playbook file name without extension.
    type: str
    env:
      - name: YUNWEI_JOB
    ini:
      - section: yunwei_journal
        key: job
  profile:
    description: Profile of the job (for example C(daily), C(heightened), C(resources)).
    type: str
    default: ''
    env:
      - name: YUNWEI_PROFILE
    ini:
      - section: yunwei_journal
        key: profile
  operator:
    description: Operator login. Defaults to the OS user running the playbook.
    type: str
    env:
      - name: YUNWEI_OPERATOR
    ini:
      - section: yunwei_journal
        key: operator
  content_digest:
    description: Content digest of the job, set by the runner layer.
    type: str
    default: ''
    env:
      - name: YUNWEI_CONTENT_DIGEST
    ini:
      - section: yunwei_journal
        key: content_digest
  flush_interval:
    description: Seconds between timed flushes of buffered rows.
    type: float
    default: 2.0
    env:
      - name: YUNWEI_JOURNAL_FLUSH_INTERVAL
    ini:
      - section: yunwei_journal
        key: flush_interval
  batch_size:
    description: Buffered rows that trigger a flush before the next task boundary.
    type: int
    default: 500
    env:
      - name: YUNWEI_JOURNAL_BATCH_SIZE
    ini:
      - section: yunwei_journal
        key: batch_size
  max_result_size:
    description: Results whose JSON is larger than this many characters are stored truncated.
    type: int
    default: 65536
    env:
      - name: YUNWEI_JOURNAL_MAX_RESULT_SIZE
    ini:
      - section: yunwei_journal
        key: max_result_size
  store_facts:
    description: Also store C(ansible_facts) returned by tasks (off by default, they may hold secrets and C(ansible_env)).
    type: bool
    default: false
    env:
      - name: YUNWEI_JOURNAL_STORE_FACTS
    ini:
      - section: yunwei_journal
        key: store_facts
"""

import atexit
import getpass
import json
import os
import signal
import threading
import time
import traceback
import uuid
from pathlib import Path

from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible.release import __version__ as ANSIBLE_VERSION

from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import missing_message, preload, require

try:
    _ystore = require("yunwei.store")
except Exception:  # the collection's declared package is missing: warn at the start of the run, record nothing
    _ystore = None

# Test hook: name of a callback method that raises (to prove errors never abort the playbook).
_FAULT_ENV = "YUNWEI_JOURNAL_FAULT"
# Heartbeat period while no rows are written (see yunwei.store.base.STALE_AFTER).
_HEARTBEAT_EVERY = 60.0
# Benchmark hook: write the journal's own cost (main-thread seconds, writer CPU seconds) to this file.
_TIMING_ENV = "YUNWEI_JOURNAL_TIMING"

_SIGNAL_REASONS = {
    signal.SIGTERM: "terminated (SIGTERM): stopped by an operator, the runner's timeout or the system",
    signal.SIGINT: "interrupted (Ctrl-C, SIGINT)",
    signal.SIGHUP: "hung up (SIGHUP): the terminal or the process that started the run went away",
}

_STATUS_BY_EVENT = {
    "v2_runner_on_ok": "ok",
    "v2_runner_on_failed": "failed",
    "v2_runner_on_skipped": "skipped",
    "v2_runner_on_unreachable": "unreachable",
}


class CallbackModule(CallbackBase):
    """Record runs in the yunwei journal store (see docs/journal.md)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "yunwei.ops.journal"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None, options=None):
        super().__init__(display=display, options=options)
        self._pid = os.getpid()
        self._ppid = os.getppid()  # the process that started the run (yunwei, a shell, AWX)
        self._run = None
        self._started = False
        self._finished = False
        self._interrupted = False
        self._signal_reason = ""
        self._seq = 0
        self._play = ""
        self._task_start = {}
        self._host_start = {}
        self._hosts_seen = set()
        self._unreachable = set()  # hosts with an unreachable result (ignored or not)
        self._first_failure = ""  # "task on host: message" of the first failure not ignored
        self._play_obj = None
        self._broken = False
        # writer thread state. A plain (non-reentrant) lock: the SIGTERM handler runs in the main
        # thread and must see that the interrupted main thread holds it instead of re-entering it.
        self._cond = threading.Condition(threading.Lock())
        self._pending = []
        self._urgent = False
        self._closing = False
        self._drained = threading.Event()
        self._drained.set()
        self._writer = None
        self._store = None
        self._warnings = []
        self._fault = os.environ.get(_FAULT_ENV, "")
        self._main_time = 0.0
        self._writer_cpu = 0.0
        self._prev_handlers = {}

    # ------------------------------------------------------------------ safety net
    def _guard(self, name, func, *args):
        """Run one event handler; any error becomes a warning and a recorded run error."""
        if os.getpid() != self._pid or self._broken:
            return
        t0 = time.perf_counter()
        try:
            if self._fault == name:
                raise RuntimeError(f"fault injected into {name} ({_FAULT_ENV})")
            func(*args)
        except Exception as exc:  # never let the journal abort a playbook
            msg = self._scrub(f"yunwei.ops.journal: {name}: {type(exc).__name__}: {exc}")
            self._display.warning(msg)
            self._display.vvv(self._scrub(traceback.format_exc()))
            if self._started:
                self._enqueue(("error", msg), urgent=True)
        self._show_warnings()
        self._main_time += time.perf_counter() - t0

    def _show_warnings(self):
        while self._warnings:
            self._display.warning(self._scrub(self._warnings.pop(0)))

    def _scrub(self, text):
        """``text`` with the store URL's password masked (warnings, recorded errors)."""
        url = getattr(self, "_store_url", None)
        if not url or _ystore is None:
            return text
        try:
            return _ystore.redact_text(text, url)
        except Exception:
            return text

    # ------------------------------------------------------------------ writer thread
    def _enqueue(self, op, urgent=False):
        with self._cond:
            self._pending.append(op)
            self._drained.clear()
            if urgent or len(self._pending) >= self._batch_size:
                self._urgent = True
                self._cond.notify()

    def _kick(self):
        with self._cond:
            if self._pending:
                self._urgent = True
                self._cond.notify()

    def _writer_loop(self):
        last_write = time.monotonic()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._urgent or self._closing, timeout=self._flush_interval)
                ops, self._pending = self._pending, []
                self._urgent = False
                closing = self._closing
            if ops:
                self._apply(ops)
                last_write = time.monotonic()
            elif self._store is not None and not closing and time.monotonic() - last_write > _HEARTBEAT_EVERY:
                # a long task writes nothing: tell other machines this run is alive
                try:
                    self._store.heartbeat(self._run.id)
                except Exception:
                    pass
                last_write = time.monotonic()
            self._writer_cpu = time.thread_time()
            with self._cond:
                if not self._pending:
                    self._drained.set()
            if closing and not ops:
                return

    def _apply(self, ops):
        y = _ystore
        results, checks, metrics, errors, hosts = [], [], [], [], []
        for op in ops:
            kind = op[0]
            try:
                if kind == "begin":
                    self._open(op[1])
                elif self._store is None:
                    continue
                elif kind == "result":
                    row, found_checks, found_metrics, problems = self._build(op[1])
                    results.append(row)
                    checks.extend(found_checks)
                    metrics.extend(found_metrics)
                    hosts.append(row.host)
                    for problem in problems:
                        self._warnings.append(f"yunwei.ops.journal: {problem}")
                        errors.append(y.RunError(self._run.id, problem))
                elif kind == "error":
                    errors.append(y.RunError(self._run.id, op[1]))
                elif kind == "finish":
                    self._write(results, checks, metrics, errors, hosts)
                    results, checks, metrics, errors, hosts = [], [], [], [], []
                    self._store.finish_run(self._run.id, op[1], host_stats=op[2], reason=op[3])
            except Exception as exc:
                self._warnings.append(f"yunwei.ops.journal: writing the journal: {type(exc).__name__}: {exc}")
                if self._store is not None and self._run is not None and kind != "begin":
                    try:
                        self._store.record_error(self._run.id, self._scrub(f"{type(exc).__name__}: {exc}"))
                    except Exception:
                        pass
        if self._store is not None:
            try:
                self._write(results, checks, metrics, errors, hosts)
            except Exception as exc:
                self._warnings.append(f"yunwei.ops.journal: writing the journal: {type(exc).__name__}: {exc}")
                try:
                    self._store.record_error(self._run.id, self._scrub(
                        f"dropped {len(results)} results: {type(exc).__name__}: {exc}"))
                except Exception:
                    pass

    def _write(self, results, checks, metrics, errors, hosts):
        if results or checks or metrics or errors or hosts:
            left_out = self._store.write_batch(self._run.id, results=results, checks=checks, metrics=metrics,
                                               errors=errors, hosts=hosts)
            for problem in left_out or ():  # rows the store refused (recorded as run errors by the store)
                self._warnings.append(f"yunwei.ops.journal: {problem}")

    def _open(self, run):
        try:
            self._store = _ystore.open_store(self._store_url)
            self._store.begin_run(run)
        except Exception as exc:
            self._store = None
            shown = _ystore.redact_url(self._store_url) if self._store_url else "(default)"
            self._warnings.append(self._scrub(f"yunwei.ops.journal: journal store {shown} unusable, "
                                              f"this run is not recorded: {type(exc).__name__}: {exc}"))

    # ------------------------------------------------------------------ row building (writer thread)
    def _build(self, raw):
        y = _ystore
        seq, host, play, task_name, uuid_, action, status, started, ended, ignore, result = raw
        result = self._clean(result)
        found_checks, found_metrics, problems = [], [], []
        if action.startswith("yunwei.ops.") and "censored" not in result:
            items = result.get("results") if isinstance(result.get("results"), list) else [result]
            for item in items:
                if not isinstance(item, dict):
                    continue
                for c in item.get("checks") or ():
                    if isinstance(c, dict) and c.get("id") and c.get("status"):
                        found_checks.append(y.Check(
                            id=str(c["id"]), category=str(c.get("category") or ""), status=str(c["status"]),
                            run_id=self._run.id, host=host, time=c.get("time") or ended,
                            title=str(c.get("title") or ""), instance=str(c.get("instance") or ""),
                            value=c.get("value"), unit=str(c.get("unit") or ""), threshold=c.get("threshold"),
                            evidence=str(c.get("evidence") or ""), suggestion=str(c.get("suggestion") or ""),
                            task=task_name))
                for m in item.get("metrics") or ():
                    if not isinstance(m, dict) or not m.get("name"):
                        continue
                    # only real finite numbers: NaN would break the batch on SQLite (NOT NULL) and be
                    # stored on PostgreSQL; a bool is not a measurement
                    value = y.base.finite_number(m.get("value"))
                    if value is None:
                        problems.append(f"metric {str(m['name'])!r} (instance {str(m.get('instance') or '')!r}) "
                                        f"of task {task_name!r} on {host}: value {m.get('value')!r} is not a "
                                        "finite number, not recorded")
                        continue
                    found_metrics.append(y.Metric(
                        name=str(m["name"]), value=value, run_id=self._run.id, host=host,
                        instance=str(m.get("instance") or ""), unit=str(m.get("unit") or ""),
                        time=m.get("time") or ended))
        text = _ystore.base.dumps(result)
        if len(text) > self._max_result_size:
            keep = {k: result[k] for k in ("msg", "rc", "changed", "censored") if k in result}
            keep.update(_truncated=True, _size=len(text), _head=text[: self._max_result_size // 2])
            text = _ystore.base.dumps(keep)
        row = y.TaskResult(run_id=self._run.id, host=host, task=task_name, status=status, seq=seq, play=play,
                           task_uuid=uuid_, action=action, started_at=started, ended_at=ended,
                           duration=None if started is None else round(ended - started, 6),
                           ignore_errors=ignore, result=text)
        return row, found_checks, found_metrics, problems

    def _clean(self, result):
        if not isinstance(result, dict):
            return {"value": result}
        out = {}
        for k, v in result.items():
            if isinstance(k, str) and k.startswith("_ansible"):
                continue
            if k == "ansible_facts" and not self._store_facts:
                continue
            if k == "results" and isinstance(v, list):
                v = [self._clean(i) if isinstance(i, dict) else i for i in v]
            out[k] = v
        return out

    # ------------------------------------------------------------------ run lifecycle (main thread)
    def _begin(self, playbook):
        self._store_url = self.get_option("store") or None
        self._flush_interval = max(0.05, float(self.get_option("flush_interval") or 2.0))
        self._batch_size = max(1, int(self.get_option("batch_size") or 500))
        self._max_result_size = max(1024, int(self.get_option("max_result_size") or 65536))
        self._store_facts = bool(self.get_option("store_facts"))
        if _ystore is None:
            self._broken = True
            self._display.warning(f"yunwei.ops.journal: {missing_message()}; this run is not recorded")
            return
        try:
            preload()  # the catalogue, read once here rather than in every forked worker
        except Exception as exc:  # the action plugins report it where it matters
            self._display.vvv(f"yunwei.ops.journal: catalogue not preloaded: {exc}")
        if not self._store_url:
            # no store configured: say where the run goes (not the working directory: docs/journal.md)
            self._display.display(f"yunwei.ops.journal: recording to {_ystore.default_store_url()} "
                                  "(no store configured: set YUNWEI_STORE or [yunwei_journal] store)", stderr=True)
        name = getattr(playbook, "_file_name", "") or ""
        try:
            check = bool(context.CLIARGS.get("check"))
        except Exception:
            check = False
        self._run = _ystore.Run(
            id=self.get_option("run_id") or str(uuid.uuid4()),
            playbook=name,
            job=self.get_option("job") or Path(name).stem,
            profile=self.get_option("profile") or "",
            operator=self.get_option("operator") or _os_user(),
            started_at=time.time(),
            status="running",
            ansible_version=ANSIBLE_VERSION,
            content_digest=self.get_option("content_digest") or "",
            check_mode=check,
            pid=self._pid,
        )
        self._started = True
        self._writer = threading.Thread(target=self._writer_loop, name="yunwei-journal", daemon=True)
        self._writer.start()
        self._enqueue(("begin", self._run), urgent=True)
        self._install_handlers()
        atexit.register(self._at_exit)

    def _finish(self, status, host_stats, timeout, reason=""):
        if self._finished or not self._started:
            return
        self._finished = True
        self._enqueue(("finish", status, host_stats, reason), urgent=True)
        with self._cond:
            self._closing = True
            self._cond.notify()
        if not self._drained.wait(timeout):
            self._display.warning(f"yunwei.ops.journal: the journal did not finish writing within {timeout}s")
        if self._writer is not None:
            self._writer.join(timeout=1)
        if getattr(self, "_stats_t0", None) is not None:
            self._main_time += time.perf_counter() - self._stats_t0
        if self._store is not None:
            try:
                self._store.close()
            except Exception:
                pass
        self._show_warnings()
        timing = os.environ.get(_TIMING_ENV)
        if timing:
            try:
                with open(timing, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"run_id": self._run.id, "results": self._seq,
                                         "main_s": round(self._main_time, 4),
                                         "writer_cpu_s": round(self._writer_cpu, 4)}) + "\n")
            except OSError:
                pass

    def _install_handlers(self):
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            try:
                prev = signal.getsignal(signum)
                if signum == signal.SIGHUP and prev in (signal.SIG_IGN, None):
                    continue  # started with SIGHUP ignored (nohup, ansible-runner): it ends nothing
                self._prev_handlers[signum] = prev
                signal.signal(signum, self._on_signal)
            except (ValueError, OSError):  # not the main thread
                pass

    def _on_signal(self, signum, frame):
        # Runs in the main thread between two bytecodes of whatever it was doing: maybe in the
        # middle of a write to stdout (Display), or holding self._cond in _enqueue. So: no display
        # I/O here, no blocking acquire of a lock the main thread may hold, every wait bounded.
        prev = self._prev_handlers.get(signum)
        if os.getpid() == self._pid:
            self._interrupted = True
            self._signal_reason = _SIGNAL_REASONS.get(signum, f"ansible-playbook received signal {signum}")
            if signum in (signal.SIGTERM, signal.SIGHUP) and self._started and not self._finished:
                # the default handler kills the process right away: record what we can first
                try:
                    self._finish_on_signal(timeout=3.0)
                except Exception:
                    pass
        self._chain_signal(prev, signum, frame)

    def _finish_on_signal(self, timeout):
        """Mark the run interrupted from the SIGTERM handler (flushing what the writer has)."""
        self._finished = True  # v2_playbook_on_stats and atexit do nothing more
        deadline = time.monotonic() + timeout
        handed = False
        if self._cond.acquire(timeout=0.5):  # fails when the interrupted main thread holds it
            try:
                self._pending.append(("finish", "interrupted", [], self._signal_reason))
                self._urgent = True
                self._closing = True
                self._cond.notify()
                handed = True
            finally:
                self._cond.release()
        writer = self._writer
        if handed and writer is not None:
            writer.join(max(0.0, deadline - time.monotonic()))
        store = self._store
        if writer is not None and writer.is_alive():
            # the writer never got the finish (the main thread holds _cond) or is still busy:
            # write the status ourselves once the store is free (the main thread never holds its lock)
            if store is not None and store._lock.acquire(timeout=max(0.5, deadline - time.monotonic())):
                try:
                    store.finish_run(self._run.id, "interrupted", reason=self._signal_reason)
                except Exception:
                    pass
                finally:
                    store._lock.release()
        elif store is not None:
            try:
                store.close()
            except Exception:
                pass
        if self._warnings:  # os.write: no Python stream (and no lock) is involved
            text = "".join(f"[WARNING]: {self._scrub(w)}\n" for w in self._warnings)
            self._warnings = []
            try:
                os.write(2, text.encode("utf-8", "replace"))
            except OSError:
                pass

    def _chain_signal(self, prev, signum, frame):
        """Pass the signal on to the handler we replaced (ansible-core's TaskQueueManager)."""
        if callable(prev):
            try:
                prev(signum, frame)
                return
            except Exception:
                # ansible-core 2.19 TaskQueueManager._signal_handler calls is_alive() on every
                # worker slot; a slot the strategy has just close()d (between close() and putting a
                # new WorkerProcess in) raises ValueError("process object is closed"). Raised from a
                # signal handler, it surfaces in the main thread and ansible-playbook exits 250
                # instead of dying of the signal. Do the handler's work without the fragile part.
                self._signal_workers(prev, signum)
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt() from None
        elif prev not in (signal.SIG_DFL, None):
            return  # SIG_IGN
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    @staticmethod
    def _signal_workers(prev, signum):
        owner = getattr(prev, "__self__", None)
        for worker in list(getattr(owner, "_workers", None) or ()):
            try:
                if worker is not None and worker.is_alive() and worker.pid:
                    os.kill(worker.pid, signum)
            except (ValueError, OSError, AssertionError, AttributeError):
                continue

    def _at_exit(self):
        if os.getpid() == self._pid and self._started and not self._finished:
            if self._interrupted:
                self._finish("interrupted", [], timeout=10, reason=self._signal_reason)
            elif os.getppid() != self._ppid:
                # the starter died under us (yunwei killed with SIGKILL): its terminal is gone and
                # with it our output; the run was cut short, not failed by the hosts
                self._finish("interrupted", [], timeout=10, reason=(
                    f"the process that started the run (pid {self._ppid}) ended during it; ansible-playbook "
                    "lost its terminal and stopped"))
            else:
                self._finish("failed", [], timeout=10, reason=self._first_failure or
                             "ansible-playbook ended before the play recap (an error in Ansible itself)")

    def _queue_result(self, event, result, ignore_errors=False):
        now = time.time()
        host = result.host.get_name() if hasattr(result, "host") else result._host.get_name()
        task = result.task if hasattr(result, "task") else result._task
        status = _STATUS_BY_EVENT[event]
        if status == "ok" and result.is_changed():
            status = "changed"
        uuid_ = task._uuid
        started = self._host_start.pop((host, uuid_), None) or self._task_start.get(uuid_)
        data = result.result if hasattr(result, "result") else result._result
        action = getattr(task, "_resolved_action", None) or task.action or ""
        self._seq += 1
        self._hosts_seen.add(host)
        if status == "unreachable":
            self._unreachable.add(host)
        elif status == "failed" and not ignore_errors and not self._first_failure:
            msg = data.get("msg") if isinstance(data, dict) else ""
            name = result.task_name or task.get_name()
            self._first_failure = self._scrub(f"task {name!r} failed on {host}: {' '.join(str(msg or '').split())}")
        # built into rows by the writer thread; a shallow copy so later callbacks cannot change it
        raw = (self._seq, host, self._play, result.task_name or task.get_name(), uuid_, str(action), status,
               started, now, bool(ignore_errors), dict(data) if isinstance(data, dict) else data)
        self._enqueue(("result", raw))

    # ------------------------------------------------------------------ ansible events
    def v2_playbook_on_start(self, playbook):
        if self._started:
            return
        if os.getpid() != self._pid:
            return
        t0 = time.perf_counter()
        try:
            self._begin(playbook)
        except Exception as exc:
            self._broken = True
            self._display.warning(self._scrub(f"yunwei.ops.journal: cannot start recording: {type(exc).__name__}: {exc}"))
            return
        self._main_time += time.perf_counter() - t0
        self._guard("v2_playbook_on_start", lambda: None)

    def v2_playbook_on_play_start(self, play):
        def handler():
            self._play = play.get_name()
            self._play_obj = play
            self._kick()

        self._guard("v2_playbook_on_play_start", handler)

    def v2_playbook_on_task_start(self, task, is_conditional):
        def handler():
            self._task_start[task._uuid] = time.time()
            self._kick()  # the previous task is over: flush its rows
            self._prepare_history(task)

        self._guard("v2_playbook_on_task_start", handler)

    def _prepare_history(self, task):
        """Fork safety: a task whose action plugin reads the journal's history gets it prepared
        here, in the main thread, before the strategy forks its workers (docs/journal.md)."""
        action = str(getattr(task, "resolved_action", None) or task.action or "")
        if not action.startswith("yunwei.ops.") or self._play_obj is None:
            return
        history = require("yunwei.inspection.history")
        if action not in history.CONSUMERS:
            return
        t0 = time.perf_counter()
        for problem in history.prepare_for_task(task, self._play_obj, self._store_url):
            self._warnings.append(f"yunwei.ops.journal: history for {action}: {self._scrub(problem)}")
        self._display.vvv(f"yunwei.ops.journal: history for {action} prepared in {time.perf_counter() - t0:.3f}s")

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_start(self, host, task):
        def handler():
            self._host_start[(host.get_name(), task._uuid)] = time.time()

        self._guard("v2_runner_on_start", handler)

    def v2_runner_on_ok(self, result):
        self._guard("v2_runner_on_ok", self._queue_result, "v2_runner_on_ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._guard("v2_runner_on_failed", self._queue_result, "v2_runner_on_failed", result, ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._guard("v2_runner_on_skipped", self._queue_result, "v2_runner_on_skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._guard("v2_runner_on_unreachable", self._queue_result, "v2_runner_on_unreachable", result)

    def _reason(self, hosts, failed):
        """Why a run is not ok ('' when it is): no host matched, none reached, or the first failure.
        A run that reached no host did nothing: it fails even when Ansible itself exits 0."""
        if not hosts:
            try:
                inventory = ", ".join(context.CLIARGS.get("inventory") or ()) or "(default)"
                limit = context.CLIARGS.get("subset") or ""
            except Exception:
                inventory, limit = "(unknown)", ""
            return (f"no host matched: the inventory {inventory}" + (f" with --limit {limit!r}" if limit else "")
                    + " selects no host of the playbook")
        if all(h in self._unreachable for h in hosts):
            shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
            return f"no host reached: all {len(hosts)} hosts were unreachable ({shown})"
        if failed:
            unreachable = sorted(h for h in hosts if h in self._unreachable)
            return self._first_failure or (f"unreachable: {', '.join(unreachable)}" if unreachable else "a host failed")
        return ""

    def v2_playbook_on_stats(self, stats):
        if os.getpid() != self._pid or not self._started:
            return
        self._stats_t0 = time.perf_counter()
        host_stats = []
        failed = False
        reason = ""
        try:
            for host in sorted(stats.processed):
                s = stats.summarize(host)
                host_stats.append(_ystore.HostStats(host=host, ok=s.get("ok", 0), changed=s.get("changed", 0),
                                                    failures=s.get("failures", 0),
                                                    unreachable=s.get("unreachable", 0),
                                                    skipped=s.get("skipped", 0), rescued=s.get("rescued", 0),
                                                    ignored=s.get("ignored", 0)))
                failed = failed or bool(s.get("failures") or s.get("unreachable"))
            reason = self._reason(sorted(stats.processed), failed)
            if self._fault == "v2_playbook_on_stats":
                raise RuntimeError(f"fault injected into v2_playbook_on_stats ({_FAULT_ENV})")
        except Exception as exc:
            msg = self._scrub(f"yunwei.ops.journal: v2_playbook_on_stats: {type(exc).__name__}: {exc}")
            self._display.warning(msg)
            self._enqueue(("error", msg))
        if reason and not failed:  # no host matched or reached: Ansible calls that a success
            self._display.warning(f"yunwei.ops.journal: {reason}; the run is recorded as failed")
        self._finish("failed" if failed or reason else "ok", host_stats, timeout=120, reason=reason)


def _os_user():
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())

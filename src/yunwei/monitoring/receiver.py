"""``yunwei alerts serve``: Alertmanager's webhook receiver.

POST <path> (Alertmanager webhook payload, version 4): the payload is validated, every alert recorded
(:func:`yunwei.monitoring.record.receive`: the alert, the delivery, its ticket, its notifications), and
answered 200 — then the notifications go out on a sender thread, so Alertmanager is never held up by
a slow channel. A store error answers 500 and Alertmanager retries the delivery; a malformed payload
answers 400 (retrying cannot fix it). A failed send is retried every ``retry.interval`` × attempt up
to ``retry.attempts`` times, each failure recorded (``yunwei alerts list`` shows it); notifications
left pending by a stop are sent after the restart. GET /healthz answers ``ok``.

With ``token`` configured (required unless it listens on loopback only) a POST must carry
``Authorization: Bearer <token>`` — Alertmanager's ``http_config.authorization`` — else it is
answered 401 and nothing is recorded: nobody else on the network can post alerts or open tickets.

Nothing secret is logged: channels are named, their URLs and keys never printed.
"""

from __future__ import annotations

import hmac
import json
import queue
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from yunwei.errors import InputError, YunweiError
from yunwei.monitoring import channels, record
from yunwei.monitoring.config import AlertingConfig

MAX_BODY = 4 * 1024 * 1024


def _log(text: str) -> None:
    sys.stderr.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + text + "\n")
    sys.stderr.flush()


class Receiver:
    """The recording and sending machinery, apart from HTTP (tests drive it directly)."""

    def __init__(self, config: AlertingConfig, store: Any) -> None:
        self.config = config
        self.store = store
        self.lock = threading.Lock()  # one writer at a time on the store
        self.queue: queue.Queue[int | None] = queue.Queue()
        self.channels = {c.name: c for c in config.channels}
        self._stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self._rota: tuple[float, Any] | None = None   # (read at, schedule): the rota, re-read every minute
        self._schedule()

    ROTA_TTL = 60.0

    def _schedule(self) -> Any:
        import time as _time

        if self._rota is not None and _time.monotonic() - self._rota[0] < self.ROTA_TTL:
            return self._rota[1]
        try:
            from yunwei.reports.windows import load_schedule_plan

            sched = load_schedule_plan()
        except Exception as exc:  # noqa: BLE001 - a broken schedule must not stop the alert
            _log(f"on-duty rota unavailable: {exc}")
            sched = None
        self._rota = (_time.monotonic(), sched)
        return sched

    def on_duty(self, ts: float | None) -> tuple[Any, ...]:
        """The people on duty on the local day the alert started (the approved schedule's rota, re-read
        at most a minute after an approved change; none outside 重保 windows or without a schedule)."""
        sched = self._schedule() if ts is not None else None
        if sched is None:
            return ()
        import datetime as dt

        return sched.on_duty(dt.datetime.fromtimestamp(float(ts), dt.timezone.utc).astimezone(sched.tz).date())

    # -- receiving ---------------------------------------------------------------------------
    def receive(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            with self.lock:
                ids = record.receive(self.store, body, self.config)
        except InputError as exc:
            _log(f"refused a payload: {exc}")
            return 400, {"error": str(exc)}
        except Exception as exc:  # the store: Alertmanager retries
            _log(f"could not record a payload (Alertmanager will retry): {self.config.redact(str(exc))}")
            return 500, {"error": "could not record the alerts; retry"}
        for nid in ids:
            self.queue.put(nid)
        return 200, {"ok": True, "notifications": len(ids)}

    # -- sending -----------------------------------------------------------------------------
    def send_one(self, nid: int) -> bool:
        with self.lock:
            found = record.notification(self.store, nid)
        if found is None:
            return True
        alert, channel_name, kind, attempts = found
        ch = self.channels.get(channel_name)
        if ch is None:
            with self.lock:
                record.mark(self.store, nid, ok=False, error=f"channel {channel_name} is no longer configured",
                            retry_after=86400 * 365)
            return False
        msg = channels.message(alert, kind, self.on_duty(alert.get("starts_at")))
        try:
            channels.send(ch, msg, timeout=self.config.timeout)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
            error = self.config.redact(str(exc))
            with self.lock:
                record.mark(self.store, nid, ok=False, error=error,
                            retry_after=self.config.retry_interval * (attempts + 1))
            _log(f"notification {nid} ({alert['host']} {alert['rule_id']} {kind}) to {channel_name} failed "
                 f"(attempt {attempts + 1} of {self.config.retry_attempts}): {error}")
            return False
        with self.lock:
            record.mark(self.store, nid, ok=True)
        _log(f"notified {channel_name}: {alert['host']} {alert['rule_id']} {kind}")
        return True

    def _sender(self) -> None:
        while not self._stop.is_set():
            nid = self.queue.get()
            if nid is None:
                return
            self.send_one(nid)

    def _retrier(self) -> None:
        while not self._stop.wait(1.0):
            try:
                with self.lock:
                    due = record.due_notifications(self.store, self.config.retry_attempts)
            except Exception as exc:  # noqa: BLE001
                _log(f"retry scan failed: {self.config.redact(str(exc))}")
                continue
            for nid in due:
                if nid not in self._queued():
                    self.queue.put(nid)

    def _queued(self) -> set[int]:
        with self.queue.mutex:
            return {x for x in self.queue.queue if x is not None}

    def start(self, senders: int = 2) -> None:
        for nid in record.due_notifications(self.store, self.config.retry_attempts):
            self.queue.put(nid)  # what a stop left unsent
        for i in range(senders):
            t = threading.Thread(target=self._sender, name=f"alert-sender-{i}", daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self._retrier, name="alert-retrier", daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join(timeout=5)


def make_server(receiver: Receiver, listen: str) -> ThreadingHTTPServer:
    host, _, port = listen.rpartition(":")
    path = receiver.config.path
    token = f"Bearer {receiver.config.token}".encode() if receiver.config.token else b""

    class Handler(BaseHTTPRequestHandler):
        server_version = "yunwei-alerts"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return  # one line per delivery is logged by the receiver itself

        def _answer(self, code: int, data: dict[str, Any]) -> None:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/healthz":
                self._answer(200, {"ok": True})
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.split("?", 1)[0] != path:
                self._answer(404, {"error": "not found"})
                return
            if token and not hmac.compare_digest(self.headers.get("Authorization", "").encode(), token):
                _log(f"refused a delivery from {self.client_address[0]}: missing or wrong bearer token")
                self._answer(401, {"error": "a valid bearer token is required"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._answer(400, {"error": "a JSON body of at most 4 MiB is required"})
                return
            code, data = receiver.receive(self.rfile.read(length))
            self._answer(code, data)

    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    server.daemon_threads = True
    return server


def serve(config: AlertingConfig, *, listen: str | None = None, store_url: str | None = None) -> int:
    from yunwei.store import open_store

    listen = listen or config.listen
    store = open_store(store_url, reap=False)
    receiver = Receiver(config, store)
    try:
        server = make_server(receiver, listen)
    except OSError as exc:
        raise YunweiError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    receiver.start()

    def stop(signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _log(f"yunwei alerts serve: listening on http://{listen}{config.path}; channels: "
         f"{', '.join(f'{c.name} ({c.type})' for c in config.channels) or 'none'}; config {config.source}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        receiver.stop()
        store.close()
        _log("yunwei alerts serve: stopped")
    return 0

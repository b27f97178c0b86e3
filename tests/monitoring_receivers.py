"""Local receivers for the alert channels, each checking the documented message format: a 企业微信
group robot, a signed 钉钉 robot (HMAC-SHA256 of "timestamp\\nsecret"), an SMTP server (aiosmtpd).
Every message received is kept with its arrival time (the end of the latency measurement)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    messages: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail: bool = False  # answer 500 (a failing channel)

    def add(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append({**item, "at": time.time()})

    def wait(self, pred: Any, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for m in self.messages:
                    if pred(m):
                        return m
            time.sleep(0.05)
        return None


def _robot(kind: str, secret: str, key: str, rec: Received, address: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            return

        def do_POST(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            problem = None
            try:
                data = json.loads(body.decode("utf-8"))
            except ValueError:
                data, problem = {}, "not JSON"
            if kind == "wecom":
                if url.path != "/cgi-bin/webhook/send" or query.get("key") != [key]:
                    problem = "wrong path or key"
                elif data.get("msgtype") != "markdown" or not isinstance(data.get("markdown", {}).get("content"), str):
                    problem = "not a markdown message"
            else:
                ts = (query.get("timestamp") or [""])[0]
                want = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest())
                if url.path != "/robot/send" or query.get("access_token") != [key]:
                    problem = "wrong path or access_token"
                elif not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600_000:
                    problem = "timestamp missing or more than an hour off"
                elif (query.get("sign") or [""])[0].encode() != want:
                    problem = "bad signature"
                elif data.get("msgtype") != "markdown" or not {"title", "text"} <= set(data.get("markdown", {})):
                    problem = "not a markdown message with title and text"
            if problem:
                rec.errors.append(problem)
                answer = {"errcode": 310000, "errmsg": problem}
            elif rec.fail:
                self.send_response(500)
                self.end_headers()
                return
            else:
                text = data["markdown"].get("content") or data["markdown"].get("text")
                rec.add({"kind": kind, "text": text, "body": data})
                answer = {"errcode": 0, "errmsg": "ok"}
            out = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = ThreadingHTTPServer((address, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


class Channels:
    """The three receivers on ``address``, and the alerting configuration that points at them."""

    WECOM_KEY = "wecom-key-8f3a1c"
    DING_TOKEN = "ding-token-77e2"
    DING_SECRET = "SECding-secret-5b9d0e"
    SMTP_PASSWORD = "smtp-pass-1e0c"

    def __init__(self, address: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.address = address
        self.wecom = Received()
        self.ding = Received()
        self.mail = Received()
        self._wecom = _robot("wecom", "", self.WECOM_KEY, self.wecom, address)
        self._ding = _robot("dingtalk", self.DING_SECRET, self.DING_TOKEN, self.ding, address)
        mail = self.mail
        password = self.SMTP_PASSWORD

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                msg = message_from_bytes(envelope.content, policy=policy.default)
                mail.add({"kind": "email", "subject": str(msg["Subject"]), "text": msg.get_content(),
                          "to": envelope.rcpt_tos, "from": envelope.mail_from})
                return "250 OK"

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login == b"yunwei" and data.password == password.encode()
            return AuthResult(success=ok)

        with socket.socket() as probe:  # aiosmtpd's controller checks its port by connecting: give it a free one
            probe.bind((address, 0))
            self.smtp_port = probe.getsockname()[1]
        self._smtp = Controller(Handler(), hostname=address, port=self.smtp_port, authenticator=auth,
                                auth_require_tls=False)
        self._smtp.start()

    def config(self, listen: str, **extra: Any) -> dict[str, Any]:
        return {
            "listen": listen,
            "channels": [
                {"name": "ops-wecom", "type": "wecom",
                 "url": f"http://{self.address}:{self._wecom.server_port}/cgi-bin/webhook/send?key={self.WECOM_KEY}"},
                {"name": "ops-dingtalk", "type": "dingtalk",
                 "url": f"http://{self.address}:{self._ding.server_port}/robot/send?access_token={self.DING_TOKEN}",
                 "secret": self.DING_SECRET},
                {"name": "ops-mail", "type": "email", "host": self.address, "port": self.smtp_port, "security": "none",
                 "username": "yunwei", "password": self.SMTP_PASSWORD, "from": "yunwei@example.gov.cn",
                 "to": ["oncall@example.gov.cn"]},
            ],
            **extra,
        }

    def secrets(self) -> list[str]:
        return [self.WECOM_KEY, self.DING_TOKEN, self.DING_SECRET, self.SMTP_PASSWORD]

    def all_received(self) -> list[dict[str, Any]]:
        return self.wecom.messages + self.ding.messages + self.mail.messages

    def close(self) -> None:
        self._wecom.shutdown()
        self._ding.shutdown()
        self._smtp.stop()

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The website collector: WEB-* checks and metrics (used by yunwei.ops.web_inspect and yunwei.ops.inspect)."""

from __future__ import annotations

import os
import re
import socket
import ssl
import tempfile
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlparse
from ansible.module_utils.six.moves.urllib.request import HTTPSHandler, Request, build_opener
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Collector

STUB = re.compile(
    r"Active connections:\s*(\d+).*?\n\s*(\d+)\s+(\d+)\s+(\d+).*?Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)",
    re.S)


def parse_stub_status(text):
    m = STUB.search(text)
    if not m:
        return None
    keys = ("active", "accepts", "handled", "requests", "reading", "writing", "waiting")
    return dict(zip(keys, (int(x) for x in m.groups())))


def fetch(url, timeout, validate_certs=True, limit=1048576):
    """(status, body, seconds, error)."""
    ctx = ssl.create_default_context()
    if not validate_certs:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    opener = build_opener(HTTPSHandler(context=ctx))
    req = Request(url, headers={"User-Agent": "yunwei-inspect/0.1"})
    start = time.monotonic()
    try:
        resp = opener.open(req, timeout=timeout)
        body = resp.read(limit)
        return resp.getcode(), body.decode("utf-8", "replace"), time.monotonic() - start, None
    except HTTPError as exc:
        body = exc.read(limit) if hasattr(exc, "read") else b""
        return exc.code, body.decode("utf-8", "replace"), time.monotonic() - start, None
    except (URLError, socket.error, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, "", time.monotonic() - start, str(reason)


def cert_days(url, timeout, validate_certs):
    """(days until notAfter, subject/issuer text, error)."""
    parts = urlparse(url)
    host, port = parts.hostname, parts.port or 443
    ctx = ssl.create_default_context()
    if not validate_certs:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                cert = tls.getpeercert()
                der = tls.getpeercert(binary_form=True)
    except (socket.error, ssl.SSLError, ssl.CertificateError) as exc:
        return None, "", str(exc)
    if not cert and der:
        # unverified connection: decode the certificate through a temporary PEM file
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as fh:
            fh.write(ssl.DER_cert_to_PEM_cert(der))
            fh.flush()
            try:
                cert = ssl._ssl._test_decode_cert(fh.name)  # pylint: disable=protected-access
            except Exception as exc:  # pylint: disable=broad-except
                return None, "", "无法解析证书：%s" % exc
    not_after = ssl.cert_time_to_seconds(cert["notAfter"])
    subject = dict(x[0] for x in cert.get("subject", ()))
    return (not_after - time.time()) / 86400.0, "CN=%s，到期 %s" % (subject.get("commonName", "?"), cert["notAfter"]), None


def nginx_master():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (IOError, OSError):
            continue
        if cmd.startswith("nginx: master process"):
            return int(pid), cmd
    return None, ""


# Options of the web area (argument spec of yunwei.ops.web_inspect and of the web option of yunwei.ops.inspect).
OPTIONS = dict(
    urls=dict(type="list", elements="dict", default=[], options=dict(
        url=dict(type="str", required=True),
        status=dict(type="list", elements="int", default=[200]),
        keyword=dict(type="str", no_log=False),  # page text, not a secret
        timeout=dict(type="float", default=5),
        validate_certs=dict(type="bool", default=True),
    )),
    nginx=dict(type="bool", default=True),
    stub_status_url=dict(type="str", default=""),
    error_log=dict(type="path", default="/var/log/nginx/error.log"),
    since=dict(type="float"),
    log_window=dict(type="int", default=86400),
)


class WebInspector(Collector):
    def inspect(self):
        for item in self.p["urls"]:
            self.probe(item)
        running = True
        if self.p["nginx"]:
            running = self.nginx()
        if self.p["stub_status_url"] and running:
            self.stub_status()
        if self.p["error_log"]:
            self.error_log()
        self.f.sort()
        return self.f.result()

    def probe(self, item):
        f = self.f
        url = item["url"]
        status, body, seconds, error = fetch(url, item["timeout"], item["validate_certs"])
        expected = item["status"] or [200]
        latency_ms = seconds * 1000.0
        if status is None:
            f.add("WEB-HTTP-001", "unreachable", "%s 请求失败：%s（%.0f ms）" % (url, error, latency_ms),
                  instance=url, outcome="unreachable", limits={"expected": expected})
            f.metric("web.up", 0, url)
            return
        f.metric("web.up", 1 if status in expected else 0, url)
        f.metric("web.latency_ms", latency_ms, url)
        f.metric("web.status", status, url)
        f.add("WEB-HTTP-001", status, "%s 返回 %d（预期 %s），%.0f ms，%d 字节" % (
            url, status, "/".join(str(s) for s in expected), latency_ms, len(body)),
            instance=url, outcome=None if status in expected else "unexpected_status", limits={"expected": expected})
        f.add("WEB-HTTP-002", latency_ms, "%s 响应 %.0f ms" % (url, latency_ms), instance=url)
        if item.get("keyword"):
            found = item["keyword"] in body
            f.add("WEB-HTTP-003", found, "%s 页面%s关键字“%s”" % (url, "包含" if found else "不包含", item["keyword"]),
                  instance=url, outcome=None if found else "missing", limits={"keyword": item["keyword"]})
        if url.lower().startswith("https://"):
            days, info, error = cert_days(url, item["timeout"], item["validate_certs"])
            if days is None:
                f.add("WEB-TLS-001", "invalid", "%s 证书检查失败：%s" % (url, error), instance=url, outcome="invalid")
            else:
                f.metric("web.cert_days", days, url)
                f.add("WEB-TLS-001", days, "%s 证书剩余 %.0f 天（%s）" % (url, days, info), instance=url)

    def nginx(self):
        f = self.f
        pid, cmd = nginx_master()
        f.add("WEB-NGINX-001", "running" if pid else "stopped",
              ("nginx 主进程 %d：%s" % (pid, cmd)) if pid else "未找到 nginx 主进程（nginx: master process）",
              outcome=None if pid else "stopped")
        binary = self.module.get_bin_path("nginx", opt_dirs=["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"])
        if not binary:
            f.add("WEB-NGINX-002", "missing", "未找到 nginx 可执行文件", outcome="missing")
            return bool(pid)
        rc, out, err = self.module.run_command([binary, "-t"])
        text = (err or out).strip()
        f.add("WEB-NGINX-002", rc == 0, "nginx -t（返回 %d）：%s" % (rc, " ".join(text.split("\n"))[:400]),
              outcome=None if rc == 0 else "invalid")
        rc, out, err = self.module.run_command([binary, "-v"])
        version = (err or out).strip().replace("nginx version: ", "")
        f.add("WEB-NGINX-003", version, "nginx 版本 %s" % version)
        return bool(pid)

    def stub_status(self):
        f = self.f
        url = self.p["stub_status_url"]
        status, body, seconds, error = fetch(url, 5, False)
        data = parse_stub_status(body) if status == 200 else None
        if not data:
            f.add("WEB-NGINX-004", "unavailable", "无法读取 stub_status（%s）：%s" % (url, error or "HTTP %s" % status),
                  instance=url, outcome="unavailable")
            return
        for key in ("active", "reading", "writing", "waiting"):
            f.metric("web.nginx.%s" % key, data[key])
        f.metric("web.nginx.requests_total", data["requests"])
        f.metric("web.nginx.accepts_total", data["accepts"])
        dropped = data["accepts"] - data["handled"]
        evidence = "活动连接 %d（读 %d，写 %d，等待 %d），累计接受 %d、处理 %d、请求 %d" % (
            data["active"], data["reading"], data["writing"], data["waiting"], data["accepts"], data["handled"],
            data["requests"])
        if dropped > 0:
            evidence += "；丢弃连接 %d" % dropped
        f.add("WEB-NGINX-004", data["active"], evidence, outcome="dropped" if dropped > 0 else None)

    def error_log(self):
        path = self.p["error_log"]
        if not os.path.exists(path):
            self.f.add("WEB-LOG-001", 0, "未找到错误日志 %s" % path, instance=path, outcome="no_log")
            return
        self.scan_log(path, "nginx", "WEB-LOG-001", "web.errlog.lines", "错误日志", "无 error 及以上级别的日志")

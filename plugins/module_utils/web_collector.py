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
        keyword=dict(type="str"),
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
    CATEGORY = "web"

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
        self.f.checks.sort(key=lambda c: (c["id"], c["instance"]))
        return self.f.result()

    def probe(self, item):
        f = self.f
        url = item["url"]
        status, body, seconds, error = fetch(url, item["timeout"], item["validate_certs"])
        expected = item["status"] or [200]
        latency_ms = seconds * 1000.0
        if status is None:
            f.check("WEB-HTTP-001", "网站可用性（HTTP 状态）", "crit", "unreachable",
                    "%s 请求失败：%s（%.0f ms）" % (url, error, latency_ms),
                    "检查 nginx 是否运行（service nginx status）、监听端口与防火墙，查看 nginx 错误日志；恢复后复测该地址。",
                    instance=url, threshold={"expected": expected})
            f.metric("web.up", 0, "", url)
            return
        f.metric("web.up", 1 if status in expected else 0, "", url)
        f.metric("web.latency_ms", latency_ms, "ms", url)
        f.metric("web.status", status, "", url)
        f.check("WEB-HTTP-001", "网站可用性（HTTP 状态）", "ok" if status in expected else "crit", status,
                "%s 返回 %d（预期 %s），%.0f ms，%d 字节" % (url, status, "/".join(str(s) for s in expected), latency_ms, len(body)),
                "状态码异常：查看 nginx 错误日志与上游应用日志，确认站点配置、上游服务与文件权限。",
                instance=url, threshold={"expected": expected})
        f.judged("WEB-HTTP-002", "网站响应时间", "http_latency_ms", latency_ms,
                 "%s 响应 %.0f ms" % (url, latency_ms),
                 "响应变慢：检查上游应用与数据库慢查询、服务器负载和网络，必要时开启缓存或扩容。", instance=url, unit="ms")
        if item.get("keyword"):
            found = item["keyword"] in body
            f.check("WEB-HTTP-003", "页面关键字", "ok" if found else "crit", found,
                    "%s 页面%s关键字“%s”" % (url, "包含" if found else "不包含", item["keyword"]),
                    "页面内容异常（可能被篡改、报错页或部署错误）：立即核对页面内容与发布记录，必要时从备份恢复站点文件。",
                    instance=url, threshold={"keyword": item["keyword"]})
        if url.lower().startswith("https://"):
            days, info, error = cert_days(url, item["timeout"], item["validate_certs"])
            if days is None:
                f.check("WEB-TLS-001", "证书有效期", "crit", "invalid", "%s 证书检查失败：%s" % (url, error),
                        "证书无效或无法校验：检查证书链、域名与有效期，更换为有效证书后 reload nginx。", instance=url)
            else:
                f.metric("web.cert_days", days, "d", url)
                f.judged("WEB-TLS-001", "证书有效期", "cert_days", days, "%s 证书剩余 %.0f 天（%s）" % (url, days, info),
                         "证书即将到期：立即申请/续签证书并部署，reload nginx 后复测。", instance=url)

    def nginx(self):
        f = self.f
        pid, cmd = nginx_master()
        f.check("WEB-NGINX-001", "nginx 运行状态", "ok" if pid else "crit", "running" if pid else "stopped",
                ("nginx 主进程 %d：%s" % (pid, cmd)) if pid else "未找到 nginx 主进程（nginx: master process）",
                "启动 nginx（service nginx start 或 systemctl start nginx），查看 /var/log/nginx/error.log 找出停止原因；启动前先 nginx -t。")
        binary = self.module.get_bin_path("nginx", opt_dirs=["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"])
        if not binary:
            f.check("WEB-NGINX-002", "nginx 配置检查", "crit", "missing", "未找到 nginx 可执行文件",
                    "确认 nginx 已安装（dpkg -l nginx / rpm -q nginx）及其路径。")
            return bool(pid)
        rc, out, err = self.module.run_command([binary, "-t"])
        text = (err or out).strip()
        f.check("WEB-NGINX-002", "nginx 配置检查", "ok" if rc == 0 else "crit", rc == 0,
                "nginx -t（返回 %d）：%s" % (rc, " ".join(text.split("\n"))[:400]),
                "配置有误：按 nginx -t 的报错修正配置文件，修正前不要 reload/restart nginx。")
        rc, out, err = self.module.run_command([binary, "-v"])
        version = (err or out).strip().replace("nginx version: ", "")
        f.check("WEB-NGINX-003", "nginx 版本", "ok", version, "nginx 版本 %s" % version)
        return bool(pid)

    def stub_status(self):
        f = self.f
        url = self.p["stub_status_url"]
        status, body, seconds, error = fetch(url, 5, False)
        data = parse_stub_status(body) if status == 200 else None
        if not data:
            f.check("WEB-NGINX-004", "nginx 连接状态", "warn", "unavailable",
                    "无法读取 stub_status（%s）：%s" % (url, error or "HTTP %s" % status),
                    "确认 nginx 配置了 stub_status 且仅允许本机访问（location /nginx_status { stub_status; allow 127.0.0.1; deny all; }）。",
                    instance=url)
            return
        for key in ("active", "reading", "writing", "waiting"):
            f.metric("web.nginx.%s" % key, data[key])
        f.metric("web.nginx.requests_total", data["requests"])
        f.metric("web.nginx.accepts_total", data["accepts"])
        dropped = data["accepts"] - data["handled"]
        evidence = "活动连接 %d（读 %d，写 %d，等待 %d），累计接受 %d、处理 %d、请求 %d" % (
            data["active"], data["reading"], data["writing"], data["waiting"], data["accepts"], data["handled"],
            data["requests"])
        status_ = self.f.judged("WEB-NGINX-004", "nginx 连接状态", "nginx_active_conns", data["active"], evidence,
                                "连接数过高：检查是否遭受攻击或爬虫，调整 worker_connections 与限流策略。")
        if dropped > 0 and status_ == "ok":
            last = f.checks[-1]
            last.update(status="warn", evidence=evidence + "；丢弃连接 %d" % dropped,
                        suggestion="存在被丢弃的连接（accepts > handled）：检查 worker_connections 与文件句柄上限（ulimit -n）。")

    def error_log(self):
        path = self.p["error_log"]
        if not os.path.exists(path):
            self.f.check("WEB-LOG-001", "nginx 错误日志", "ok", 0, "未找到错误日志 %s" % path, instance=path)
            return
        self.judge_log(path, "nginx", ("WEB-LOG-001", "nginx 错误日志"), "web.errlog.lines", "web_errlog_lines",
                       "错误日志", "无 error 及以上级别的日志", "以 root（become）运行巡检或授予读取 nginx 日志的权限。",
                       "按最常见的错误逐条排查（文件缺失、权限、上游超时/拒绝连接等），修复后观察是否仍有新增。")

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collector of yunwei.ops.web_settings (runs on a web host): what nginx is configured to do for the
site's performance and transport security, from its effective configuration (``nginx -T``), and the
cache headers it really sends for one sample file per static type (requested on the host itself)."""

from __future__ import annotations

import re
import time

from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Collector

try:
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover
    pass

TEXT_TYPES = ("text/css", "application/javascript", "application/json", "image/svg+xml")
WEAK_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")

OPTIONS = dict(
    nginx=dict(type="str", default="nginx"),
    static_samples=dict(type="list", elements="str", default=[]),
    timeout=dict(type="float", default=5.0),
)


def directives(config):
    """[(name, args)] of every simple directive in an ``nginx -T`` dump (comments removed)."""
    out = []
    for line in config.splitlines():
        line = line.split("#", 1)[0].strip()
        for stmt in re.findall(r"([a-z_0-9]+)\s+([^;{}]*);", line):
            out.append((stmt[0], stmt[1].strip()))
    return out


def settings_findings(config, f, cert_days=None):
    """WEBQ-CONF-001/002/004/005 from the configuration text. ``cert_days(path)`` -> (days or None, error)."""
    d = directives(config)
    gzip = any(n == "gzip" and a == "on" for n, a in d)
    brotli = any(n == "brotli" and a == "on" for n, a in d)
    types = set()
    for n, a in d:
        if n in ("gzip_types", "brotli_types"):
            types.update(a.split())
    types.add("text/html")  # always compressed when gzip is on
    if not gzip and not brotli:
        f.add("WEBQ-CONF-001", "off", "nginx 未开启 gzip 或 brotli", outcome="disabled")
    else:
        missing = [t for t in TEXT_TYPES if t not in types and "*" not in types]
        f.add("WEBQ-CONF-001", "on", "已开启 %s；压缩类型：%s%s" % (
            "、".join(x for x, on in (("gzip", gzip), ("brotli", brotli)) if on), " ".join(sorted(types)),
            ("；未包含 %s" % " ".join(missing)) if missing else ""), outcome="types_missing" if missing else None)
    listens = [a for n, a in d if n == "listen"]
    tls = [a for a in listens if re.search(r"\bssl\b", a)]
    http2 = any(n == "http2" and a == "on" for n, a in d) or any(re.search(r"\bhttp2\b", a) for a in tls)
    if not tls:
        f.add("WEBQ-CONF-002", "not-applicable", "未配置 HTTPS 监听（%s）：HTTP/2 仅在 HTTPS 上适用" % "；".join(listens))
    else:
        f.add("WEBQ-CONF-002", "on" if http2 else "off", "HTTPS 监听：%s；HTTP/2 %s" % (
            "；".join(tls), "已开启" if http2 else "未开启"), outcome=None if http2 else "disabled")
        protocols = set()
        for n, a in d:
            if n == "ssl_protocols":
                protocols.update(a.split())
        protocols = protocols or {"TLSv1.2", "TLSv1.3"}  # nginx >= 1.23.4 default
        weak = sorted(p for p in protocols if p in WEAK_PROTOCOLS)
        f.add("WEBQ-CONF-004", " ".join(sorted(protocols)), "ssl_protocols：%s" % " ".join(sorted(protocols)),
              outcome="weak" if weak else None)
        for path in sorted(set(a for n, a in d if n == "ssl_certificate")):
            days, error = cert_days(path) if cert_days else (None, "not read")
            if days is None:
                f.add("WEBQ-CONF-005", "unreadable", "%s：%s" % (path, error), instance=path, outcome="unreadable")
            else:
                f.add("WEBQ-CONF-005", days, "%s 剩余 %.0f 天" % (path, days), instance=path)


def cache_finding(url, headers, error, f):
    """WEBQ-CONF-003 of one sample file from its response headers (a dict, lower-case names)."""
    if error:
        f.add("WEBQ-CONF-003", "error", "%s 请求失败：%s" % (url, error), instance=url, outcome="failed")
        return
    cc = headers.get("cache-control", "")
    m = re.search(r"max-age=(\d+)", cc)
    if m or headers.get("expires"):
        f.add("WEBQ-CONF-003", int(m.group(1)) if m else "expires", "%s Cache-Control：%s；Expires：%s" % (
            url, cc or "无", headers.get("expires") or "无"), instance=url)
    else:
        f.add("WEBQ-CONF-003", "none", "%s 无 Cache-Control max-age 与 Expires（Content-Type：%s）" % (
            url, headers.get("content-type", "")), instance=url, outcome="missing")


class WebSettings(Collector):
    """The host side of WEBQ-CONF-*: ``inspect()`` returns findings and metrics (run_single)."""

    def cert_days(self, path):
        openssl = self.module.get_bin_path("openssl")
        if not openssl:
            return None, "未安装 openssl"
        rc, out, err = self.module.run_command([openssl, "x509", "-noout", "-enddate", "-in", path])
        if rc != 0:
            return None, (err or out).strip()[:300]
        try:
            end = time.mktime(time.strptime(out.strip().split("=", 1)[1].replace(" GMT", ""), "%b %d %H:%M:%S %Y"))
        except (IndexError, ValueError) as exc:
            return None, str(exc)
        return round((end - time.time() + time.timezone) / 86400.0, 1), ""

    def inspect(self):
        f = self.f
        binary = self.module.get_bin_path(self.p["nginx"], opt_dirs=["/usr/sbin", "/usr/local/sbin"])
        if not binary:
            f.add("WEBQ-PROBE-001", "error", "未找到 nginx 可执行文件", instance="nginx -T", outcome="failed")
        else:
            rc, out, err = self.module.run_command([binary, "-T"])
            if rc != 0:
                f.add("WEBQ-PROBE-001", "error", "nginx -T 失败：%s" % (err or out).strip()[-500:],
                      instance="nginx -T", outcome="failed")
            else:
                settings_findings(out, f, self.cert_days)
        for url in self.p["static_samples"]:
            headers, error = {}, ""
            try:
                req = Request(url, headers={"Accept-Encoding": "gzip", "User-Agent": "yunwei-web-audit"}, method="HEAD")
                with urlopen(req, timeout=self.p["timeout"]) as resp:  # nosec - a URL of the host itself
                    headers = dict((k.lower(), v) for k, v in resp.headers.items())
            except Exception as exc:  # pylint: disable=broad-except
                error = str(exc)
            cache_finding(url, headers, error, f)
        f.sort()
        return f.result()

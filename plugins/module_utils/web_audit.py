# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collector of yunwei.ops.web_audit (runs on the controller, the bastion): Lighthouse per page and
form factor, the link checker over the sitemap, section freshness from the sitemap's lastmod, and the
site search probes. Returns findings and metrics (docs/data-model.md), judged by the action plugin.

Polite by construction: one thing at a time (pages, then links, then searches), each bounded by its
own time limit; this module's own requests are spaced to ``rate`` per second; the link checker runs
with one thread and the same rate; only URLs of the configured site are ever requested (the settings
were validated on the controller before this module runs, and again here).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import posixpath
import time
import xml.etree.ElementTree as ET

try:
    from urllib.parse import quote, unquote, urlsplit
    from urllib.request import Request, urlopen
except ImportError:  # pragma: no cover - Python 2 is not a target
    pass

# Lighthouse audit id -> (check id, what the value is). Savings in KiB (bytes) or ms.
AUDIT_CHECKS = {
    "uses-optimized-images": "WEBQ-IMG-001",
    "modern-image-formats": "WEBQ-IMG-001",
    "uses-responsive-images": "WEBQ-IMG-001",
    "offscreen-images": "WEBQ-IMG-001",
    "unsized-images": "WEBQ-IMG-002",
    "uses-text-compression": "WEBQ-ZIP-001",
    "uses-long-cache-ttl": "WEBQ-CACHE-001",
    "unused-javascript": "WEBQ-JS-001",
    "unused-css-rules": "WEBQ-JS-001",
    "render-blocking-resources": "WEBQ-RB-001",
}
# what the client reads for each audit (Lighthouse's own titles are English)
AUDIT_TITLES = {
    "uses-optimized-images": "图片编码未优化",
    "modern-image-formats": "未使用 WebP/AVIF 等新一代图片格式",
    "uses-responsive-images": "图片尺寸大于显示尺寸",
    "offscreen-images": "屏幕外图片未延迟加载",
    "unsized-images": "图片未设置宽高",
    "uses-text-compression": "文本资源未压缩",
    "uses-long-cache-ttl": "静态资源缓存时间过短",
    "unused-javascript": "存在未使用的 JavaScript",
    "unused-css-rules": "存在未使用的 CSS",
    "render-blocking-resources": "存在阻塞首次渲染的资源",
}
CHECK_ORDER = ("WEBQ-IMG-001", "WEBQ-IMG-002", "WEBQ-ZIP-001", "WEBQ-CACHE-001", "WEBQ-JS-001", "WEBQ-RB-001")
SAVINGS_UNIT = {"WEBQ-IMG-001": "KiB", "WEBQ-ZIP-001": "KiB", "WEBQ-JS-001": "KiB", "WEBQ-RB-001": "ms"}
# Lighthouse numeric audit -> metric name
METRIC_AUDITS = {
    "largest-contentful-paint": "webq.lcp_ms",
    "first-contentful-paint": "webq.fcp_ms",
    "cumulative-layout-shift": "webq.cls",
    "total-blocking-time": "webq.tbt_ms",
    "speed-index": "webq.si_ms",
    "total-byte-weight": "webq.total_bytes",
}
CATEGORY_METRICS = {
    "performance": "webq.score.performance",
    "accessibility": "webq.score.accessibility",
    "best-practices": "webq.score.best_practices",
    "seo": "webq.score.seo",
}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
USER_AGENT = "yunwei-web-audit"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"

OPTIONS = dict(
    site=dict(type="str", required=True),
    pages=dict(type="list", elements="dict", default=[], options=dict(
        url=dict(type="str", required=True),
        name=dict(type="str", default=""),
    )),
    form_factors=dict(type="list", elements="str", default=["desktop", "mobile"], choices=["desktop", "mobile"]),
    sitemap=dict(type="str", default=""),
    sections=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        prefix=dict(type="str", required=True),
        max_age_days=dict(type="float", required=True),
    )),
    search_url=dict(type="str", default=""),
    search=dict(type="list", elements="dict", default=[], options=dict(
        query=dict(type="str", required=True),
        expect=dict(type="str", required=True),
    )),
    rate=dict(type="float", default=2.0),
    page_timeout=dict(type="float", default=90.0),
    link_timeout=dict(type="float", default=120.0),
    link_depth=dict(type="int", default=2),
    lighthouse=dict(type="str", default="lighthouse"),
    chromium=dict(type="str", default="/usr/bin/chromium"),
    linkchecker=dict(type="str", default="linkchecker"),
    steps=dict(type="list", elements="str", default=["lighthouse", "links", "freshness", "search"],
               choices=["lighthouse", "links", "freshness", "search"]),
    regression=dict(type="dict", default={}),  # read by the action plugin on the controller
)


def _under(path, base):
    """Whether URL path ``path`` is ``base`` or below it, after decoding and resolving dot segments:
    /portal-admin/ and /portal/../admin are not under /portal."""
    path = posixpath.normpath("/" + unquote(path or "").lstrip("/"))
    base = posixpath.normpath("/" + unquote(base or "").lstrip("/"))
    return base == "/" or path == base or path.startswith(base + "/")


def same_site(url, site):
    """Whether ``url`` belongs to the site ``site`` (same scheme, host and port, path under the site's)."""
    try:
        u, s = urlsplit(url), urlsplit(site)
        return (u.scheme.lower(), (u.hostname or "").lower(), u.port) == \
            (s.scheme.lower(), (s.hostname or "").lower(), s.port) and _under(u.path, s.path)
    except ValueError:
        return False


def _kib(n):
    return round(float(n or 0) / 1024.0, 1)


def _short(url, site):
    return url[len(site.rstrip("/")):] or "/" if url.startswith(site.rstrip("/")) else url


def _urls(audit):
    """The resource URLs (or, for element audits, the HTML snippets) an audit's details name."""
    out = []
    for item in ((audit.get("details") or {}).get("items") or []):
        url = item.get("url") if isinstance(item, dict) else None
        if not url and isinstance(item, dict) and isinstance(item.get("node"), dict):
            url = item["node"].get("snippet")
        if url and url not in out:
            out.append(url)
    return out


def _amount(audit_id, details):
    """How much an audit found, in Chinese: the estimated savings, else the number of items."""
    if details.get("overallSavingsBytes"):
        return "可节省约 %.0f KiB" % _kib(details["overallSavingsBytes"])
    if details.get("overallSavingsMs"):
        return "可节省约 %.0f ms" % float(details["overallSavingsMs"])
    return "%d 项" % len(details.get("items") or [])


def _listing(urls, site, limit=3):
    return "、".join(_short(u, site) for u in urls[:limit]) + ("等 %d 项" % len(urls) if len(urls) > limit else "")


def _judged(audit):
    """Whether Lighthouse judged the audit (not an error, not applicable, not informative)."""
    return audit.get("score") is not None and \
        audit.get("scoreDisplayMode") not in ("notApplicable", "manual", "informative", "error")


def _failed(audit):
    """A judged audit below a full score (metricSavings audits: 0.5 is "could improve", 0 "fails")."""
    return _judged(audit) and float(audit["score"]) < 0.9


def lighthouse_findings(report, form, site, f):
    """Metrics and findings of one Lighthouse JSON report (``f``: a Findings)."""
    url = report.get("finalDisplayedUrl") or report.get("finalUrl") or report.get("requestedUrl") or ""
    instance = "%s %s" % (form, report.get("requestedUrl") or url)
    cats = report.get("categories") or {}
    audits = report.get("audits") or {}
    for cat, metric in CATEGORY_METRICS.items():
        score = (cats.get(cat) or {}).get("score")
        if score is not None:
            f.metric(metric, round(float(score) * 100), instance)
    for audit_id, metric in METRIC_AUDITS.items():
        value = (audits.get(audit_id) or {}).get("numericValue")
        if value is not None:
            f.metric(metric, value, instance)
    requests = ((audits.get("network-requests") or {}).get("details") or {}).get("items")
    if requests is not None:
        f.metric("webq.requests", len(requests), instance)
    perf = (cats.get("performance") or {}).get("score")
    if perf is not None:
        def ms(a):
            return (audits.get(a) or {}).get("numericValue") or 0
        f.add("WEBQ-LH-001", round(float(perf) * 100), "%s 性能得分 %d（LCP %.0f ms，TBT %.0f ms，CLS %.3f，%.0f KiB）" % (
            instance, round(float(perf) * 100), ms("largest-contentful-paint"), ms("total-blocking-time"),
            ms("cumulative-layout-shift"), _kib(ms("total-byte-weight"))), instance=instance)
    by_check = {}
    for audit_id, check_id in AUDIT_CHECKS.items():
        audit = audits.get(audit_id)
        if audit is None or not _judged(audit):
            continue
        entry = by_check.setdefault(check_id, {"failed": [], "savings": 0.0, "urls": []})
        if _failed(audit):
            details = audit.get("details") or {}
            entry["failed"].append("%s（%s）" % (AUDIT_TITLES[audit_id], _amount(audit_id, details)))
            if SAVINGS_UNIT.get(check_id) == "ms":
                entry["savings"] += float(details.get("overallSavingsMs") or 0)
            else:
                entry["savings"] += _kib(details.get("overallSavingsBytes"))
            entry["urls"].extend(u for u in _urls(audit) if u not in entry["urls"])
    for check_id in CHECK_ORDER:
        entry = by_check.get(check_id)
        if entry is None:  # none of its audits applied (or Lighthouse could not compute them)
            continue
        items = _listing(entry["urls"], site) or "见证据"
        if entry["failed"]:
            value = round(entry["savings"], 1) if check_id in SAVINGS_UNIT else len(entry["failed"])
            f.add(check_id, value, "%s：%s。涉及：%s" % (instance, "；".join(entry["failed"]), items),
                  instance=instance, outcome="failed", variables={"items": items})
        else:
            f.add(check_id, 0, "%s：通过" % instance, instance=instance, variables={"items": ""})


def chrome_flags(site):
    """Chromium's flags: headless, and every host name but the site's resolving to nothing, so that a
    page's third-party resources are not fetched (the audit reaches only the configured site)."""
    host = urlsplit(site).hostname or ""
    return '%s --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE %s"' % (CHROME_FLAGS, host)


def run_lighthouse(module, url, form, p):
    """(report dict or None, error text, seconds) of one Lighthouse run, bounded by ``page_timeout``:
    Lighthouse and the Chromium it starts run in their own process group, killed whole on expiry."""
    cmd = [p["lighthouse"], url, "--output=json", "--output-path=stdout", "--quiet",
           "--only-categories=performance,accessibility,best-practices,seo",
           "--chrome-flags=%s" % chrome_flags(p.get("site") or url),
           "--max-wait-for-load=%d" % int(p["page_timeout"] * 1000 * 0.6)]
    if form == "desktop":
        cmd.append("--preset=desktop")
    env = dict(os.environ, CHROME_PATH=p["chromium"])
    started = time.time()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    except OSError as exc:
        return None, "无法运行 Lighthouse（%s）：%s" % (p["lighthouse"], exc), time.time() - started
    try:
        out, err = proc.communicate(timeout=p["page_timeout"])
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return None, "超过单页时限 %.0f 秒" % p["page_timeout"], time.time() - started
    finally:
        _kill_group(proc)  # a Chromium left behind by Lighthouse
    seconds = time.time() - started
    if proc.returncode != 0:
        return None, "Lighthouse 退出码 %d：%s" % (proc.returncode, err.decode("utf-8", "replace")[-500:]), seconds
    try:
        report = json.loads(out.decode("utf-8"))
    except ValueError as exc:
        return None, "Lighthouse 输出无法解析：%s" % exc, seconds
    error = (report.get("runtimeError") or {}).get("message")
    return (None, "Lighthouse 运行错误：%s" % error, seconds) if error else (report, "", seconds)


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # already gone
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def parse_sitemap(text):
    """[(loc, lastmod epoch or None)] of a sitemap's <url> entries."""
    root = ET.fromstring(text)
    out = []
    for node in root.iter(SITEMAP_NS + "url"):
        loc = (node.findtext(SITEMAP_NS + "loc") or "").strip()
        lastmod = (node.findtext(SITEMAP_NS + "lastmod") or "").strip()
        out.append((loc, _epoch(lastmod) if lastmod else None))
    return out


def _epoch(text):
    """Epoch seconds of a W3C datetime (sitemap lastmod): YYYY-MM-DD or with a time and zone."""
    import calendar
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$", text)
    if not m:
        return None
    y, mo, d, hh, mm, ss, tz = m.groups()
    t = calendar.timegm((int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0)))
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        t -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return t


def freshness_findings(entries, sections, site, now, f):
    """WEBQ-FRESH-001 per section: days since the newest lastmod under the section's path prefix."""
    base = site.rstrip("/")
    for sec in sections:
        prefix = base + "/" + sec["prefix"].lstrip("/")
        dates = [t for loc, t in entries if loc.startswith(prefix) and t is not None]
        limit = sec["max_age_days"]
        if not dates:
            f.add("WEBQ-FRESH-001", "empty", "站点地图中没有栏目“%s”（%s）带 lastmod 的页面" % (sec["name"], prefix),
                  instance=sec["name"], outcome="empty", limits={"max_age_days": limit},
                  variables={"limit_days": limit})
            continue
        newest = max(dates)
        age = round((now - newest) / 86400.0, 1)
        f.metric("webq.section.age_days", age, sec["name"])
        f.add("WEBQ-FRESH-001", age, "栏目“%s”最近更新 %s（%.0f 天前，%d 个页面，要求不超过 %g 天）" % (
            sec["name"], time.strftime("%Y-%m-%d", time.gmtime(newest)), age, len(dates), limit),
            instance=sec["name"], outcome="stale" if age > limit else None, limits={"max_age_days": limit},
            variables={"limit_days": "%g" % limit})


def parse_linkchecker_csv(text):
    """Rows of LinkChecker's CSV output (``-o csv``) as dicts; comment lines skipped."""
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    if not lines:
        return []
    return list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"))


def link_findings(rows, sitemap, site, f):
    """WEBQ-LINK-001 (broken) and -002 (redirected) from the link checker's rows."""
    broken, redirected = [], []
    for row in rows:
        url = row.get("url") or row.get("urlname") or ""
        parent = row.get("parentname") or ""
        if str(row.get("valid")).lower() not in ("true", "1"):
            broken.append("%s（%s，来自 %s）" % (_short(url, site), (row.get("result") or "").strip(), _short(parent, site)))
        elif "redirect" in (row.get("warningstring") or "").lower() or "redirect" in (row.get("infostring") or "").lower():
            redirected.append("%s（来自 %s）" % (_short(row.get("urlname") or url, site), _short(parent, site)))
    f.metric("webq.links.checked", len(rows), sitemap)
    f.metric("webq.links.broken", len(broken), sitemap)
    f.metric("webq.links.redirected", len(redirected), sitemap)
    f.add("WEBQ-LINK-001", len(broken), "检查 %d 个链接，失效 %d 个%s" % (
        len(rows), len(broken), ("：" + "；".join(broken[:10])) if broken else ""),
        instance=sitemap, variables={"items": "；".join(broken[:5])})
    f.add("WEBQ-LINK-002", len(redirected), "重定向 %d 个%s" % (
        len(redirected), ("：" + "；".join(redirected[:10])) if redirected else ""),
        instance=sitemap, variables={"items": "；".join(redirected[:5])})


LINKCHECKER_CONFIG = """[checking]
threads=1
maxrequestspersecond=%(rate)s
timeout=%(timeout)d
recursionlevel=%(depth)d
[filtering]
checkextern=0
[output]
status=0
"""


def run_linkchecker(module, p, workdir):
    """(rows, error) of the link checker over the sitemap, one thread at ``rate``, bounded by link_timeout."""
    conf = os.path.join(workdir, "linkcheckerrc")
    with open(conf, "w") as fh:
        fh.write(LINKCHECKER_CONFIG % {"rate": max(p["rate"], 0.1), "timeout": 10, "depth": p["link_depth"]})
    cmd = [p["linkchecker"], "-f", conf, "-o", "csv", "--verbose", "--no-status", "--user-agent", USER_AGENT, p["sitemap"]]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=p["link_timeout"],
                              check=False, cwd=workdir)
    except subprocess.TimeoutExpired:
        return None, "链接检查超过时限 %.0f 秒" % p["link_timeout"]
    except OSError as exc:
        return None, "无法运行链接检查工具（%s）：%s" % (p["linkchecker"], exc)
    if proc.returncode not in (0, 1):  # 1: some links are broken
        return None, "linkchecker 退出码 %d：%s" % (proc.returncode, proc.stderr.decode("utf-8", "replace")[-500:])
    return parse_linkchecker_csv(proc.stdout.decode("utf-8", "replace")), ""


class Pacer(object):
    """Spaces this module's own requests to at most ``rate`` per second."""

    def __init__(self, rate):
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.last = 0.0

    def wait(self):
        delay = self.last + self.gap - time.time()
        if delay > 0:
            time.sleep(delay)
        self.last = time.time()


def fetch(url, timeout, pacer):
    pacer.wait()
    with urlopen(Request(url, headers={"User-Agent": USER_AGENT}), timeout=timeout) as resp:  # nosec - validated URL
        return resp.read(2 * 1024 * 1024).decode("utf-8", "replace")


def search_findings(p, pacer, f):
    """WEBQ-SEARCH-001 per configured query: the expected text among the results (JSON or HTML)."""
    for probe in p["search"]:
        url = p["search_url"].replace("{query}", quote(probe["query"]))
        try:
            body = fetch(url, 10, pacer)
        except Exception as exc:  # pylint: disable=broad-except
            f.add("WEBQ-SEARCH-001", "error", "搜索“%s”请求失败：%s" % (probe["query"], exc),
                  instance=probe["query"], outcome="failed")
            continue
        count = None
        try:
            data = json.loads(body)
            if isinstance(data, dict) and isinstance(data.get("results"), list):
                count = len(data["results"])
        except ValueError:
            pass
        found = probe["expect"] in body
        if count is not None:
            f.metric("webq.search.results", count, probe["query"])
        returned = "返回 %d 条结果" % count if count is not None else "已返回"
        f.add("WEBQ-SEARCH-001", count if count is not None else found,
              "搜索“%s”%s，%s预期结果“%s”" % (probe["query"], returned, "包含" if found else "不包含", probe["expect"]),
              instance=probe["query"], outcome=None if found else "missing", limits={"expect": probe["expect"]})


class WebAudit(object):
    """The whole audit of one site, step after step."""

    def __init__(self, module, findings):
        self.module = module
        self.p = module.params
        self.f = findings

    def outside(self):
        urls = [pg["url"] for pg in self.p["pages"]] + [u for u in (self.p["sitemap"], self.p["search_url"]) if u]
        return [u for u in urls if not same_site(u.replace("{query}", "q"), self.p["site"])]

    def run(self, workdir):
        p, f = self.p, self.f
        pacer = Pacer(p["rate"])
        timings = []
        if "lighthouse" in p["steps"]:
            for page in p["pages"]:
                for form in p["form_factors"]:
                    pacer.wait()
                    report, error, seconds = run_lighthouse(self.module, page["url"], form, p)
                    f.metric("webq.audit_s", seconds, "%s %s" % (form, page["url"]))
                    timings.append({"url": page["url"], "form": form, "seconds": round(seconds, 2)})
                    if report is None:
                        f.add("WEBQ-PROBE-001", "error", "%s %s：%s" % (form, page["url"], error),
                              instance="lighthouse %s %s" % (form, page["url"]), outcome="failed")
                        continue
                    lighthouse_findings(report, form, p["site"], f)
        entries = None
        if p["sitemap"] and ("freshness" in p["steps"] or "links" in p["steps"]):
            try:
                entries = parse_sitemap(fetch(p["sitemap"], 10, pacer))
                f.add("WEBQ-SITEMAP-001", len(entries), "站点地图 %d 个地址" % len(entries), instance=p["sitemap"])
            except Exception as exc:  # pylint: disable=broad-except
                f.add("WEBQ-SITEMAP-001", "error", "无法读取站点地图 %s：%s" % (p["sitemap"], exc),
                      instance=p["sitemap"], outcome="failed")
        if entries is not None and "freshness" in p["steps"]:
            freshness_findings(entries, p["sections"], p["site"], time.time(), f)
        if entries is not None and "links" in p["steps"]:
            foreign = [loc for loc, _ in entries if not same_site(loc, p["site"])]
            if foreign:
                f.add("WEBQ-PROBE-001", "error", "站点地图含站外地址，未做链接检查：%s" % "、".join(foreign[:3]),
                      instance="linkchecker", outcome="failed")
            else:
                rows, error = run_linkchecker(self.module, p, workdir)
                if rows is None:
                    f.add("WEBQ-PROBE-001", "error", error, instance="linkchecker", outcome="failed")
                else:
                    link_findings(rows, p["sitemap"], p["site"], f)
        if p["search"] and "search" in p["steps"]:
            search_findings(p, pacer, f)
        return timings

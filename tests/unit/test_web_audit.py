"""The web-audit job's pure parts: Lighthouse reports (recorded from a real run on the lab site,
trimmed: tests/unit/fixtures/lighthouse-*.json) into metrics and judged WEBQ-* checks; the sitemap,
freshness, link checker output and nginx settings parsers; validation of the site settings (each
problem names its variable); the before/after comparison; and both quarterly reports from a journal."""

from __future__ import annotations

import copy
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.module_utils import web_audit as wa  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils import web_settings as ws  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Findings  # noqa: E402

from yunwei.catalogue import catalogue  # noqa: E402
from yunwei.inspection.judge import judge_result  # noqa: E402
from yunwei.webaudit import compare, config  # noqa: E402

FIXTURES = ROOT / "tests" / "unit" / "fixtures"
SITE = "http://10.89.1.2/"


def _report(form: str) -> dict:
    return json.loads((FIXTURES / f"lighthouse-{form}.json").read_text())


def _judged(f: Findings) -> dict:
    res = judge_result({"findings": f.findings, "metrics": f.metrics})
    return {(c["id"], c["instance"]): c for c in res["checks"]}


def test_lighthouse_report_becomes_metrics_and_judged_checks():
    f = Findings()
    wa.lighthouse_findings(_report("desktop"), "desktop", SITE, f)
    page = f"desktop {SITE}"
    metrics = {(m["name"], m["instance"]): m["value"] for m in f.metrics}
    for name in ("webq.score.performance", "webq.score.seo", "webq.lcp_ms", "webq.cls", "webq.tbt_ms", "webq.fcp_ms",
                 "webq.si_ms", "webq.total_bytes", "webq.requests"):
        assert (name, page) in metrics, name
    assert metrics[("webq.score.performance", page)] == 89 and metrics[("webq.requests", page)] == 7
    cat = catalogue()
    assert {n for n, _ in metrics} <= set(cat.metrics)
    checks = _judged(f)
    assert {cid for cid, _ in checks} <= set(cat.checks)
    assert checks[("WEBQ-LH-001", page)]["status"] == "warn"  # 89 < 90
    img = checks[("WEBQ-IMG-001", page)]
    assert img["status"] == "warn" and img["value"] > 1000 and "/img/banner.png" in img["suggestion"]
    assert "图片尺寸大于显示尺寸" in img["evidence"] and "Potential savings" not in img["evidence"]
    assert checks[("WEBQ-IMG-002", page)]["status"] == "warn" and "logo.png" in checks[("WEBQ-IMG-002", page)]["evidence"]
    zip_ = checks[("WEBQ-ZIP-001", page)]
    assert zip_["status"] == "warn" and "/assets/vendor/legacy.js" in zip_["suggestion"]
    assert checks[("WEBQ-CACHE-001", page)]["status"] == "warn"
    assert checks[("WEBQ-JS-001", page)]["status"] == "warn"
    # render-blocking-resources is an error in this report: no check rather than a false "passed"
    assert ("WEBQ-RB-001", page) not in checks


def test_a_good_page_passes_and_a_page_without_categories_records_nothing_false():
    report = _report("mobile")
    f = Findings()
    wa.lighthouse_findings(report, "mobile", SITE, f)
    checks = _judged(f)
    page = f"mobile {report['requestedUrl']}"
    assert checks[("WEBQ-LH-001", page)]["status"] == "ok" and checks[("WEBQ-LH-001", page)]["suggestion"] == ""
    fixed = copy.deepcopy(report)
    for audit in fixed["audits"].values():
        if audit.get("scoreDisplayMode") == "metricSavings":
            audit["score"] = 1
    f = Findings()
    wa.lighthouse_findings(fixed, "mobile", SITE, f)
    assert all(c["status"] == "ok" for c in _judged(f).values())
    f = Findings()
    wa.lighthouse_findings({"requestedUrl": SITE, "categories": {}, "audits": {}}, "mobile", SITE, f)
    assert f.findings == [] and f.metrics == []


def test_sitemap_and_freshness_per_section():
    day = 86400
    now = 1_780_000_000 // day * day  # midnight UTC: the day-only lastmods are whole days old

    def iso(days):
        return datetime.fromtimestamp(now - days * day, timezone.utc).strftime("%Y-%m-%d")
    xml = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           f"<url><loc>{SITE}news/a.html</loc><lastmod>{iso(120)}</lastmod></url>"
           f"<url><loc>{SITE}news/b.html</loc><lastmod>{iso(150)}T08:00:00+08:00</lastmod></url>"
           f"<url><loc>{SITE}policy/p.html</loc><lastmod>{iso(10)}</lastmod></url>"
           f"<url><loc>{SITE}about.html</loc></url></urlset>")
    entries = wa.parse_sitemap(xml)
    assert len(entries) == 4 and entries[3][1] is None
    f = Findings()
    wa.freshness_findings(entries, [{"name": "新闻动态", "prefix": "/news/", "max_age_days": 30},
                                    {"name": "政策文件", "prefix": "/policy/", "max_age_days": 90},
                                    {"name": "专题", "prefix": "/topic/", "max_age_days": 30}], SITE, now, f)
    checks = _judged(f)
    news = checks[("WEBQ-FRESH-001", "新闻动态")]
    assert news["status"] == "warn" and news["value"] == 120 and "要求不超过 30 天" in news["suggestion"]
    assert checks[("WEBQ-FRESH-001", "政策文件")]["status"] == "ok"
    assert checks[("WEBQ-FRESH-001", "专题")]["status"] == "warn"  # nothing dated under the prefix
    assert wa._epoch("yesterday") is None and wa._epoch("2026-11-20T10:00:00Z") == wa._epoch("2026-11-20T18:00:00+08:00")


LINKCHECKER_CSV = """# created by LinkChecker at 2026-12-01 21:20:40+000
urlname;parentname;base;result;warningstring;infostring;valid;url;line;column;name;dltime;size;checktime;cached;level;modified
http://10.89.1.2/sitemap.xml;;;200 OK;;;True;http://10.89.1.2/sitemap.xml;;-1;-1;0.01;0;0;
/news/n099.html;http://10.89.1.2/news/n003.html;;404 Not Found;;;False;http://10.89.1.2/news/n099.html;21;9;培训资料下载;-1;153;0.63;0;2;
/policy;http://10.89.1.2/;;200 OK;;Redirected to `http://10.89.1.2/policy/'.;True;http://10.89.1.2/policy/;20;1;全部政策文件;-1;-1;0.01;0;2;
# Stopped checking at 2026-12-01 21:21:00+000 (6 seconds)
"""


def test_link_checker_output_becomes_broken_and_redirected_links():
    rows = wa.parse_linkchecker_csv(LINKCHECKER_CSV)
    assert len(rows) == 3
    f = Findings()
    wa.link_findings(rows, SITE + "sitemap.xml", SITE, f)
    checks = _judged(f)
    broken = checks[("WEBQ-LINK-001", SITE + "sitemap.xml")]
    assert broken["status"] == "warn" and broken["value"] == 1
    assert "/news/n099.html（404 Not Found，来自 /news/n003.html）" in broken["suggestion"]
    redirected = checks[("WEBQ-LINK-002", SITE + "sitemap.xml")]
    assert redirected["value"] == 1 and "/policy（来自 /）" in redirected["evidence"]
    assert {m["name"]: m["value"] for m in f.metrics}["webq.links.checked"] == 3


NGINX_T = """
# configuration file /etc/nginx/nginx.conf:
http {
    gzip on;   # compress
    gzip_types text/css application/javascript;
    server {
        listen 443 ssl;
        ssl_protocols TLSv1 TLSv1.2;
        ssl_certificate /etc/ssl/site.pem;
    }
}
"""


def test_nginx_settings_compression_http2_tls_and_cache_headers():
    f = Findings()
    ws.settings_findings(NGINX_T, f, cert_days=lambda path: (12.0, ""))
    checks = _judged(f)
    assert checks[("WEBQ-CONF-001", "")]["status"] == "warn"  # json and svg are not compressed
    assert "application/json" in checks[("WEBQ-CONF-001", "")]["evidence"]
    assert checks[("WEBQ-CONF-002", "")]["status"] == "warn"  # TLS without HTTP/2
    assert checks[("WEBQ-CONF-004", "")]["status"] == "crit"  # TLSv1 on
    assert checks[("WEBQ-CONF-005", "/etc/ssl/site.pem")]["status"] == "warn"  # 12 days < 30
    f = Findings()
    ws.settings_findings("http { server { listen 80; } }", f)
    checks = _judged(f)
    assert checks[("WEBQ-CONF-001", "")]["status"] == "warn" and checks[("WEBQ-CONF-002", "")]["status"] == "ok"
    f = Findings()
    ws.cache_finding("http://127.0.0.1/a.png", {"content-type": "image/png"}, "", f)
    ws.cache_finding("http://127.0.0.1/a.css", {"cache-control": "max-age=2592000"}, "", f)
    ws.cache_finding("http://127.0.0.1/b.css", {}, "HTTP Error 404", f)
    checks = _judged(f)
    assert checks[("WEBQ-CONF-003", "http://127.0.0.1/a.png")]["status"] == "warn"
    assert checks[("WEBQ-CONF-003", "http://127.0.0.1/a.css")]["status"] == "ok"
    assert checks[("WEBQ-CONF-003", "http://127.0.0.1/b.css")]["status"] == "warn"


def _settings(**over):
    base = {"site": SITE, "pages": [SITE, {"url": SITE + "news/", "name": "新闻"}], "form_factors": ["desktop", "mobile"],
            "sitemap": SITE + "sitemap.xml", "sections": [{"name": "新闻", "prefix": "/news/", "max_age": "30d"}],
            "search_url": SITE + "api/search?q={query}", "search": [{"query": "政务云", "expect": "扩容"}],
            "rate": 2, "page_timeout": 90, "link_timeout": 120}
    return {**base, **over}


def test_valid_settings_have_no_problem():
    assert config.problems(_settings()) == []
    assert config.module_sections(_settings()["sections"]) == [{"name": "新闻", "prefix": "/news/", "max_age_days": 30.0}]
    assert config.module_pages([SITE])[0] == {"url": SITE, "name": ""}


@pytest.mark.parametrize("over,words", [
    ({"pages": [SITE, "http://192.0.2.1/"]}, ["web_audit_pages[1]", "outside the configured site"]),
    ({"pages": ["https://10.89.1.2/"]}, ["web_audit_pages[0]", "outside"]),          # another scheme
    ({"pages": ["http://10.89.1.2:8080/"]}, ["web_audit_pages[0]", "outside"]),       # another port
    ({"pages": "http://10.89.1.2/"}, ["web_audit_pages: must be a non-empty list"]),  # malformed list
    ({"pages": [{"href": SITE}]}, ["web_audit_pages[0]: unknown keys href"]),
    ({"pages": ["10.89.1.2/news"]}, ["web_audit_pages[0]", "not an absolute http(s) URL"]),
    ({"pages": ["http://10.89.1.2:99999/"]}, ["web_audit_pages[0]", "malformed URL"]),
    ({"sitemap": "http://example.org/sitemap.xml"}, ["web_audit_sitemap", "outside"]),
    ({"sections": [{"name": "新闻", "prefix": "/news/", "max_age": "soon"}]}, ["web_audit_sections[0].max_age", "not a duration"]),
    ({"sections": [{"name": "新闻", "prefix": "/news/", "max_age": 30}]}, ["web_audit_sections[0].max_age"]),
    ({"sections": [{"name": "新闻", "prefix": "/news/", "max_age": "-3d"}]}, ["web_audit_sections[0].max_age"]),
    ({"sections": [{"name": "新闻", "prefix": "news", "max_age": "3d"}]}, ["web_audit_sections[0]: needs"]),
    ({"search": [{"query": "政务云"}]}, ["web_audit_search[0].expect", "expected result"]),
    ({"search": [{"query": "", "expect": "x"}]}, ["web_audit_search[0].query"]),
    ({"search_url": SITE + "api/search"}, ["web_audit_search_url: must contain {query}"]),
    ({"rate": 0}, ["web_audit_rate"]), ({"rate": 50}, ["web_audit_rate"]), ({"page_timeout": "90"}, ["web_audit_page_timeout"]),
    ({"form_factors": ["tablet"]}, ["web_audit_form_factors"]),
    ({"site": "not a url"}, ["web_audit_site"]),
    ({"disabled_checks": ["WEBQ-NOPE-001"]}, ["web_audit_disabled_checks: no web-audit check WEBQ-NOPE-001"]),
    ({"disabled_checks": ["HOST-CPU-001"]}, ["web_audit_disabled_checks"]),
    ({"thresholds": {"lh_performance": {"warn": "high"}}}, ["web_audit_thresholds"]),
    ({"regression": {"score": -1}}, ["web_audit_regression.score"]),
])
def test_bad_settings_are_refused_naming_the_variable(over, words):
    problems = "; ".join(config.problems(_settings(**over), lambda *v: " (group_vars/web/web_audit.yml:3:1)"))
    for w in words:
        assert w in problems, (w, problems)


def test_durations():
    assert config.duration_days("30d") == 30 and config.duration_days("2w") == 14 and config.duration_days("12h") == 0.5
    for bad in ("30", "d", "0d", "1y", 30, None, "3 days"):
        assert config.duration_days(bad) is None, bad


def test_regressions_beyond_the_threshold_only():
    page = f"desktop {SITE}"
    before = {("webq.score.performance", page): 90, ("webq.lcp_ms", page): 2000, ("webq.tbt_ms", page): 30,
              ("webq.total_bytes", page): 1_000_000, ("webq.cls", page): 0.01}
    same = compare.regressions(before, {**before, ("webq.score.performance", page): 85, ("webq.lcp_ms", page): 2300,
                                        ("webq.tbt_ms", page): 60}, "上次审计")
    assert same == []  # 5 points, +15 %, and a TBT under the 100 ms floor are noise
    worse = compare.regressions(before, {("webq.score.performance", page): 78, ("webq.lcp_ms", page): 2600,
                                         ("webq.total_bytes", page): 1_200_000, ("webq.cls", page): 0.2}, "基线审计")
    assert {r["metric"] for r in worse} == {"webq.score.performance", "webq.lcp_ms", "webq.total_bytes", "webq.cls"}
    better = compare.regressions(before, {("webq.score.performance", page): 99, ("webq.lcp_ms", page): 900}, "x")
    assert better == []
    judged = judge_result({"findings": [{k: v for k, v in r.items() if k in ("id", "instance", "value", "evidence",
                                                                           "outcome", "vars")} for r in worse]})
    assert {c["status"] for c in judged["checks"]} == {"warn"}
    assert all("与基线审计相比" in c["suggestion"] for c in judged["checks"])
    assert compare.regressions(before, {("webq.score.performance", page): 85}, "x", {"score": 5})


# ----------------------------------------------------------------------------- the quarterly reports
def _record_audit(store, when: datetime, report: dict, operator: str = "ops") -> str:
    from yunwei.store.model import Check, Metric, Run

    f = Findings(now=when.timestamp())
    wa.lighthouse_findings(report, "desktop", SITE, f)
    wa.freshness_findings([(SITE + "news/a.html", when.timestamp() - 120 * 86400)],
                          [{"name": "新闻动态", "prefix": "/news/", "max_age_days": 30}], SITE, when.timestamp(), f)
    res = judge_result({"findings": f.findings, "metrics": f.metrics})
    run_id = str(uuid.uuid4())
    store.begin_run(Run(id=run_id, playbook="playbooks/web_audit.yml", job="web-audit", operator=operator,
                        started_at=when, hosts=["web01"]))
    store.write_batch(run_id, checks=[Check(**{k: c[k] for k in ("id", "category", "status", "title", "instance", "value",
                                                                 "unit", "threshold", "evidence", "suggestion")},
                                            run_id=run_id, host="web01", time=when) for c in res["checks"]],
                      metrics=[Metric(name=m["name"], value=m["value"], instance=m["instance"], unit=m["unit"],
                                      run_id=run_id, host="web01", time=when) for m in res["metrics"]])
    store.finish_run(run_id, "ok", ended_at=when + timedelta(minutes=2))
    return run_id


def test_quarterly_reports_compare_audits_and_combine_the_service_desk(tmp_path):
    from yunwei.reports import generate
    from yunwei.reports.periods import client_tz, quarter_period
    from yunwei.servicedesk import feedback
    from yunwei.store import open_store

    tz = client_tz()
    store = open_store(tmp_path / "j.sqlite")
    base = _report("desktop")
    _record_audit(store, datetime(2026, 7, 15, 2, tzinfo=timezone.utc), base)             # the baseline (Q3)
    _record_audit(store, datetime(2026, 10, 10, 2, tzinfo=timezone.utc), base)            # Q4, as before
    after = copy.deepcopy(base)
    after["categories"]["performance"]["score"] = 0.70                                     # slower ...
    after["audits"]["largest-contentful-paint"]["numericValue"] *= 1.6
    after["audits"]["uses-text-compression"]["score"] = 1                                  # ... but compression fixed
    _record_audit(store, datetime(2026, 11, 20, 2, tzinfo=timezone.utc), after)
    item = feedback.add_feedback(store, title="首页加载慢", requester="省发改委", operator="ops")
    feedback.set_feedback(store, item.id, state="done", note="已开启静态资源压缩", operator="ops")
    feedback.record_followup(store, requester="省发改委", score=2, remarks="首页图片加载慢", month="2026-11", operator="ops")
    feedback.record_followup(store, requester="省财政厅", score=5, month="2026-11", operator="ops")
    q4 = quarter_period(2026, 4, tz)
    now = datetime(2026, 12, 31, 12, tzinfo=timezone.utc)
    from yunwei.webaudit.report_data import ux, web_performance

    data = web_performance(store, q4, generate.Options(now=now).plan, now=now)
    assert data["audits"] == 2 and data["baseline"].startswith("2026-07-15")
    page = data["pages"][0]
    assert page["webq.score.performance"] == 70 and page["start"] == 89 and page["base"] == 89
    against = {(r["metric"], r["vars"]["against"]) for r in data["regressions"]}
    assert {("webq.score.performance", "上次审计"), ("webq.lcp_ms", "基线审计")} <= against
    assert [x["title"] for x in data["fixed"]] == ["文本资源压缩"]
    assert "通过" in data["fixed"][0]["evidence"] and "文本资源未压缩" in data["fixed"][0]["before"]
    assert any(o["title"] == "栏目更新时效" for o in data["open"]) and data["recommendations"]
    opts = generate.Options(formats=["html", "xlsx"], out_dir=tmp_path / "out", now=now)
    files = generate.generate("web-performance", store, q4, opts) + generate.generate("ux", store, q4, opts)
    html = (tmp_path / "out" / "web-performance-2026-Q4.html").read_text()
    assert "《网站性能优化报告》" in html and "性能回退" in html and "文本资源压缩" in html and "甲方确认" in html
    ux_html = (tmp_path / "out" / "ux-2026-Q4.html").read_text()
    assert "《用户体验评估报告》" in ux_html and "首页加载慢" in ux_html and "首页图片加载慢" in ux_html
    assert "已开启静态资源压缩" in ux_html and "栏目更新时效" in ux_html
    assert len(files) == 4
    u = ux(store, q4, opts.plan, now=now)
    assert u["satisfaction"]["answers"] == 2 and u["feedback"]["done"] == 1
    empty = web_performance(store, quarter_period(2026, 2, tz), opts.plan, now=now)
    assert empty["empty"] and empty["pages"] == [] and empty["regressions"] == []


def test_the_job_compares_with_the_previous_and_the_baseline_audit_from_prepared_history():
    page = f"desktop {SITE}"
    series = {("webq.score.performance", page): [(1.0, 95.0), (2.0, 82.0)],  # baseline 95, previous 82
              ("webq.lcp_ms", page): [(2.0, 2000.0)],                          # one audit: previous only
              ("cpu.used_pct", ""): [(2.0, 5.0)]}
    metrics = [{"name": "webq.score.performance", "instance": page, "value": 80.0},
               {"name": "webq.lcp_ms", "instance": page, "value": 2600.0}]
    found = compare.job_regressions(series, metrics, {"score": 10})
    got = {f["instance"] for f in found}
    assert got == {f"{page} webq.score.performance（基线审计）", f"{page} webq.lcp_ms（上次审计）"}
    checks = judge_result({"findings": found})["checks"]
    assert {c["status"] for c in checks} == {"warn"} and all(c["suggestion"] for c in checks)
    assert compare.job_regressions({}, metrics) == []  # the first audit: nothing to compare with
    from yunwei.inspection import history

    assert "yunwei.ops.web_audit" in history.CONSUMERS  # prepared by the journal callback on the controller


def test_the_health_daily_shows_the_days_web_regressions(tmp_path):
    from yunwei.reports import generate
    from yunwei.reports.periods import client_tz, day_period
    from yunwei.store import open_store
    from yunwei.store.model import Check, Run

    store = open_store(tmp_path / "j.sqlite")
    when = datetime(2026, 11, 20, 2, tzinfo=timezone.utc)
    store.begin_run(Run(id="r1", job="web-audit", started_at=when, hosts=["web01"]))
    store.write_batch("r1", checks=[Check(id="WEBQ-REG-001", category="webq", status="warn", title="性能回退",
                                          instance=f"desktop {SITE} webq.lcp_ms（上次审计）", run_id="r1", host="web01",
                                          time=when, evidence="LCP 2,000 → 2,600（+30%）", suggestion="与上次审计相比该指标变差")])
    store.finish_run("r1", "ok", ended_at=when + timedelta(minutes=1))
    day = day_period(when.astimezone(client_tz()).date(), client_tz())
    opts = generate.Options(formats=["html"], out_dir=tmp_path / "out", charts=False, now=when + timedelta(days=1))
    html = generate.generate("health-daily", store, day, opts)[0].read_text()
    assert "网站性能回退" in html and "LCP 2,000 → 2,600" in html
    other = day_period(day.first - timedelta(days=1), client_tz())
    assert "网站性能回退" not in generate.generate("health-daily", store, other, opts)[0].read_text()


def test_a_lighthouse_run_over_its_time_limit_is_killed_with_its_browser(tmp_path):
    """The per-page limit holds: Lighthouse and what it started (Chromium) are killed as a group."""
    import time as _time

    fake = tmp_path / "lighthouse"
    pidfile = tmp_path / "child.pid"
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pidfile}\nsleep 60\n")
    fake.chmod(0o755)
    t0 = _time.monotonic()
    report, error, seconds = wa.run_lighthouse(None, SITE, "desktop", {"lighthouse": str(fake), "chromium": "/bin/true",
                                                                       "page_timeout": 1.0, "site": SITE})
    assert report is None and "超过单页时限 1 秒" in error and _time.monotonic() - t0 < 10
    child = int(pidfile.read_text())
    _time.sleep(0.2)
    try:  # gone, or a zombie waiting for an init that reaps late: not running either way
        state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    assert state in ("gone", "Z"), state
    assert 'EXCLUDE 10.89.1.2"' in wa.chrome_flags(SITE)  # other hosts resolve to nothing
    report, error, _ = wa.run_lighthouse(None, SITE, "mobile", {"lighthouse": str(tmp_path / "missing"),
                                                                "chromium": "/bin/true", "page_timeout": 5.0})
    assert report is None and "无法运行 Lighthouse" in error


@pytest.mark.parametrize("same_site", [config.same_site, wa.same_site])
def test_a_site_on_a_sub_path_covers_only_that_path(same_site):
    """Text prefixes are not paths: /portal-admin and /portal/../admin are outside a site at /portal
    (both checks: the controller's validation and the module's own)."""
    assert same_site("http://h/portal/news/1.html", "http://h/portal") and same_site("http://h/portal", "http://h/portal/")
    for url in ("http://h/portal-admin/", "http://h/portal/../admin", "http://h/portal/%2e%2e/admin", "http://x/portal/"):
        assert not same_site(url, "http://h/portal"), url
    assert same_site("http://h/any/page", "http://h/") and same_site("http://h/", "http://h")

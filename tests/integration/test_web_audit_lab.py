"""The web-audit job on the lab site (one real run, desktop, the home page): the known defects of the
generated site are found and recorded as WEBQ-* checks with 处理建议, the Lighthouse metrics are
recorded; bad input exits 2 naming the key and file, and nothing is fetched from the site."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from yunwei.catalogue import catalogue
from yunwei.store import open_store

pytestmark = [pytest.mark.lab]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONTROLLER_ONLY = {"ansible.builtin.assert", "ansible.builtin.validate_argument_spec", "assert", "validate_argument_spec"}


@pytest.fixture()
def yw(lab, tmp_path):
    """yunwei(*args) in an isolated var/ and store, on this lab's generated inventory."""
    var = tmp_path / "var"
    (var / "labs").mkdir(parents=True)
    (var / "labs" / lab.name).symlink_to(lab.inventory.parents[1])
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(tmp_path / "j.sqlite"),
           "YUNWEI_VAR": str(var), "YUNWEI_OPERATOR": "tester", "YUNWEI_LAB_NAME": lab.name, "ANSIBLE_FORCE_COLOR": "0"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "yunwei"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)

    run.store = tmp_path / "j.sqlite"
    return run


def _access_lines(lab) -> int:
    """Requests in web01's site log, leaving out the monitoring host's: once the lab's monitoring is up
    (test_monitoring_lab), its blackbox prober probes the site every few seconds."""
    mon = lab.hosts.get("mon01", "")
    log = lab.exec("web01", "cat", "/var/log/nginx/yunwei.access.log").stdout
    return sum(1 for line in log.splitlines() if not (mon and line.startswith(mon + " ")))


def _extra(tmp_path: Path, name: str, data: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return f"@{path}"


def test_bad_input_exits_2_and_fetches_nothing(yw, lab, tmp_path):
    site = f"http://{lab.hosts['web01']}/"
    before = _access_lines(lab)
    for data, words in (
        ({"web_audit_pages": [site, "http://127.0.0.1:9/"]}, ["web_audit_pages[1]", "outside the configured site"]),
        ({"web_audit_pages": [{"link": site}]}, ["web_audit_pages[0]: unknown keys link"]),
    ):
        proc = yw("run", "web-audit", "-e", _extra(tmp_path, "e.yml", data))
        assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
        for w in words + ["e.yml"]:
            assert w in proc.stderr, (w, proc.stderr[-1500:])
        with open_store(yw.store) as s:
            run = s.list_runs(limit=1)[0]
            actions = {r.action for r in s.task_results(run.id)}
            assert run.reason.startswith("bad input") and not s.checks(run_id=run.id)
        assert actions <= CONTROLLER_ONLY, actions
    assert _access_lines(lab) == before  # not one request reached the site


def _seed_previous_audit(store_path: Path, page: str) -> None:
    """An earlier audit of the page that was much better: the run must flag the regression."""
    from datetime import datetime, timedelta, timezone

    from yunwei.store.model import Metric, Run

    when = datetime.now(timezone.utc) - timedelta(days=1)
    with open_store(store_path) as s:
        s.begin_run(Run(id="seeded-audit", job="web-audit", started_at=when, hosts=["web01"]))
        s.write_batch("seeded-audit", metrics=[
            Metric(name="webq.score.performance", value=100, host="web01", instance=page, unit="分", time=when),
            Metric(name="webq.total_bytes", value=200_000, host="web01", instance=page, unit="B", time=when)])
        s.finish_run("seeded-audit", "ok", ended_at=when + timedelta(minutes=1))


def test_audit_finds_the_known_defects_of_the_lab_site(yw, lab, tmp_path):
    site = f"http://{lab.hosts['web01']}/"
    _seed_previous_audit(yw.store, f"desktop {site}")
    proc = yw("run", "web-audit", "-e", _extra(tmp_path, "e.yml", {
        "web_audit_form_factors": ["desktop"], "web_audit_pages": [{"url": site, "name": "首页"}]}))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open_store(yw.store) as s:
        run = s.list_runs(job="web-audit")[0]
        checks = s.checks(run_id=run.id)
        metrics = {(m.name, m.instance): m.value for m in s.metrics(run_id=run.id)}
    cat = catalogue()
    assert {c.id for c in checks} <= set(cat.checks) and {n for n, _ in metrics} <= set(cat.metrics)
    by = {(c.id, c.instance): c for c in checks}
    page = f"desktop {site}"

    def bad(cid, instance, *words):
        c = by[(cid, instance)]
        assert c.status == "warn" and c.suggestion, (cid, c)
        for w in words:
            assert w in c.evidence + c.suggestion, (cid, w, c.evidence, c.suggestion)

    bad("WEBQ-LINK-001", f"{site}sitemap.xml", "/news/n099.html", "/news/n003.html")       # the broken link
    redirected = by[("WEBQ-LINK-002", f"{site}sitemap.xml")]
    assert redirected.value == 1 and "/policy（来自 /）" in redirected.evidence                # the redirect
    bad("WEBQ-FRESH-001", "新闻动态", "30 天")                                              # news 120 days old
    assert by[("WEBQ-FRESH-001", "政策文件")].status == "ok"
    assert 119 <= metrics[("webq.section.age_days", "新闻动态")] <= 122
    bad("WEBQ-ZIP-001", page, "/assets/vendor/legacy.js")                                   # uncompressed asset
    bad("WEBQ-CONF-003", "http://127.0.0.1/img/logo.png", "无 Cache-Control")               # no cache headers
    assert by[("WEBQ-CONF-003", "http://127.0.0.1/css/site.css")].status == "ok"
    bad("WEBQ-CACHE-001", page, "/img/logo.png")
    bad("WEBQ-IMG-001", page, "/img/banner.png")                                            # oversized image
    bad("WEBQ-IMG-002", page, "logo.png")                                                   # no width/height
    assert {c.status for (cid, _), c in by.items() if cid == "WEBQ-SEARCH-001"} == {"ok"}
    assert by[("WEBQ-CONF-001", "")].status == "ok"
    for name in ("webq.score.performance", "webq.lcp_ms", "webq.cls", "webq.tbt_ms", "webq.fcp_ms", "webq.si_ms",
                 "webq.total_bytes", "webq.requests"):
        assert (name, page) in metrics, name
    assert 0 < metrics[("webq.score.performance", page)] <= 100
    assert metrics[("webq.total_bytes", page)] > 1_000_000  # the 1200x675 noise PNG
    # before and after: the seeded earlier audit was better; the journal's series reached the worker
    reg = by[("WEBQ-REG-001", f"{page} webq.total_bytes（上次审计）")]
    assert reg.status == "warn" and "与上次审计相比" in reg.suggestion, reg
    out = tmp_path / "out"
    proc = yw("report", "health-daily", "--date", "today", "--format", "html", "--out", str(out), "--no-charts")
    assert proc.returncode == 0, proc.stderr[-1500:]
    html = next(out.glob("health-daily-*.html")).read_text()
    assert "网站性能回退" in html and "页面总字节数" in html

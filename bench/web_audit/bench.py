"""Benchmark of the web-audit job (docs/web_quality.md): Lighthouse time per page (desktop, mobile)
and for the whole lab site, and the run-to-run variance of the performance score, so that a reported
improvement can be told from noise.

Baseline measured in the same run: a plain headless Chromium load of the same page
(``chromium --headless --dump-dom``), interleaved with the Lighthouse runs so load changes on the
machine hit both alike. Figures: median seconds, and the ratio Lighthouse / plain load.

Usage (from the repository root, the lab up: YUNWEI_LAB_NAME=... yunwei lab up):
    .venv/bin/python bench/web_audit/bench.py [--runs 5]      # results in bench/out/web_audit/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.module_utils import web_audit as wa  # noqa: E402

from yunwei_dev.lab import Lab  # noqa: E402


def plain_load(url: str) -> float:
    t0 = time.monotonic()
    subprocess.run(["/usr/bin/chromium", *wa.CHROME_FLAGS.split(), "--dump-dom", url], capture_output=True,
                   timeout=120, check=True)
    return time.monotonic() - t0


def lighthouse(url: str, form: str) -> tuple[float, dict]:
    params = {"lighthouse": str(ROOT / ".venv" / "bin" / "lighthouse"), "chromium": "/usr/bin/chromium",
              "page_timeout": 120.0}
    report, error, seconds = wa.run_lighthouse(None, url, form, params)
    if report is None:
        raise SystemExit(f"lighthouse {form} {url}: {error}")
    return seconds, report


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "mean": round(statistics.mean(values), 2),
            "stdev": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
            "min": round(min(values), 2), "max": round(max(values), 2), "n": len(values)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    lab = Lab.from_env()
    site = f"http://{lab.up().hosts['web01']}/"
    pages = [site, site + "news/", site + "policy/p001.html"]
    home = pages[0]
    out: dict = {"site": site, "runs": args.runs, "load_avg": os.getloadavg()[0], "per_form": {}}
    times: dict[str, list[float]] = {"plain": [], "desktop": [], "mobile": []}
    scores: dict[str, list[float]] = {"desktop": [], "mobile": []}
    lcp: dict[str, list[float]] = {"desktop": [], "mobile": []}
    for i in range(args.runs):  # interleaved: plain, desktop, mobile, plain, ...
        times["plain"].append(plain_load(home))
        for form in ("desktop", "mobile"):
            seconds, report = lighthouse(home, form)
            times[form].append(seconds)
            scores[form].append(report["categories"]["performance"]["score"] * 100)
            lcp[form].append(report["audits"]["largest-contentful-paint"]["numericValue"])
            print(f"run {i + 1}/{args.runs} {form}: {seconds:.1f} s, score {scores[form][-1]:.0f}", flush=True)
    plain = statistics.median(times["plain"])
    out["plain_load_s"] = summary(times["plain"])
    for form in ("desktop", "mobile"):
        out["per_form"][form] = {"audit_s": summary(times[form]),
                                 "ratio_to_plain_load": round(statistics.median(times[form]) / plain, 1),
                                 "score": summary(scores[form]), "lcp_ms": summary(lcp[form]),
                                 "lcp_spread_pct": round((max(lcp[form]) - min(lcp[form])) / statistics.median(lcp[form])
                                                         * 100, 1)}
    t0 = time.monotonic()
    for page in pages:
        for form in ("desktop", "mobile"):
            lighthouse(page, form)
    out["whole_site_lighthouse_s"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    subprocess.run(["linkchecker", "-o", "csv", "--verbose", "--no-status", "-r", "2", "--threads", "1", site + "sitemap.xml"],
                   capture_output=True, timeout=300)
    out["linkchecker_s"] = round(time.monotonic() - t0, 1)
    dest = ROOT / "bench" / "out" / "web_audit"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "results.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

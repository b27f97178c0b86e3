"""Validation of the web-audit settings (inventory variables ``web_audit_*``), before anything is fetched.

Every problem names its variable (and, through ``origin``, the file it was written in). Rules: every
URL is an absolute http(s) URL inside the configured site (``web_audit_site``); the page list is a
list of URLs or ``{url, name}``; a freshness limit is a duration (``30d``, ``12h``, ``2w``); a search
probe has a non-empty query and an expected result; rate and time limits are positive and bounded.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhw])\s*$")
UNIT_DAYS = {"h": 1 / 24, "d": 1.0, "w": 7.0}
MAX_RATE = 10.0          # requests per second: a polite ceiling for a production site
MAX_PAGE_TIMEOUT = 600.0
FORM_FACTORS = ("desktop", "mobile")
REGRESSION_KEYS = {"score": "points", "time_pct": "%", "bytes_pct": "%", "cls": ""}


def duration_days(value: Any) -> float | None:
    """Days of a duration ``30d`` / ``12h`` / ``2w`` (a bare number is not a duration); None if invalid."""
    if not isinstance(value, str):
        return None
    m = DURATION.match(value)
    if not m or float(m.group(1)) <= 0:
        return None
    return round(float(m.group(1)) * UNIT_DAYS[m.group(2)], 4)


def _no_origin(*_values: Any) -> str:
    return ""


def _under(path, base):
    """Whether URL path ``path`` is ``base`` or below it, after decoding and resolving dot segments:
    /portal-admin/ and /portal/../admin are not under /portal."""
    path = posixpath.normpath("/" + unquote(path or "").lstrip("/"))
    base = posixpath.normpath("/" + unquote(base or "").lstrip("/"))
    return base == "/" or path == base or path.startswith(base + "/")


def same_site(url: str, site: str) -> bool:
    u, s = urlsplit(url), urlsplit(site)
    try:
        return (u.scheme.lower(), (u.hostname or "").lower(), u.port) == \
            (s.scheme.lower(), (s.hostname or "").lower(), s.port) and _under(u.path, s.path)
    except ValueError:  # a bad port
        return False


def _url_problem(value: Any, key: str, site: str | None, origin: Callable[..., str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{key}: must be a URL, got {value!r}{origin(value)}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"{key}: malformed URL {value!r} ({exc}){origin(value)}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{key}: not an absolute http(s) URL: {value!r}{origin(value)}"
    if site is not None and not same_site(value, site):
        return f"{key}: {value!r} is outside the configured site {site!r} (web_audit_site){origin(value)}"
    return None


def problems(settings: dict[str, Any], origin: Callable[..., str] = _no_origin) -> list[str]:
    """Problems of the settings ``{site, pages, form_factors, sitemap, sections, search_url, search, rate,
    page_timeout, link_timeout, regression}`` (names without ``web_audit_``); [] when valid."""
    out: list[str] = []
    site = settings.get("site")
    bad_site = _url_problem(site, "web_audit_site", None, origin)
    if bad_site:
        out.append(bad_site)
        site = None
    pages = settings.get("pages")
    if not isinstance(pages, list) or not pages:
        out.append(f"web_audit_pages: must be a non-empty list of URLs or {{url, name}}, got {pages!r}{origin(pages)}")
    else:
        for i, page in enumerate(pages):
            url = page.get("url") if isinstance(page, dict) else page
            if isinstance(page, dict) and set(page) - {"url", "name"}:
                out.append(f"web_audit_pages[{i}]: unknown keys {', '.join(sorted(set(page) - {'url', 'name'}))}"
                           f"{origin(page)}")
            problem = _url_problem(url, f"web_audit_pages[{i}]" + (".url" if isinstance(page, dict) else ""),
                                   site, origin)
            if problem:
                out.append(problem)
    forms = settings.get("form_factors")
    if not isinstance(forms, list) or not forms or any(f not in FORM_FACTORS for f in forms):
        out.append(f"web_audit_form_factors: a non-empty list of {', '.join(FORM_FACTORS)}, got {forms!r}{origin(forms)}")
    for key in ("sitemap", "search_url"):
        value = settings.get(key)
        if value:
            problem = _url_problem(str(value).replace("{query}", "q"), "web_audit_" + key, site, origin)
            if problem:
                out.append(problem)
    sections = settings.get("sections") or []
    if not isinstance(sections, list):
        out.append(f"web_audit_sections: must be a list of {{name, prefix, max_age}}{origin(sections)}")
        sections = []
    for i, sec in enumerate(sections):
        key = f"web_audit_sections[{i}]"
        if not isinstance(sec, dict) or not isinstance(sec.get("name"), str) or not isinstance(sec.get("prefix"), str) \
                or not sec.get("prefix", "").startswith("/"):
            out.append(f"{key}: needs a name and a path prefix starting with / {origin(sec)}".rstrip())
            continue
        if duration_days(sec.get("max_age")) is None:
            out.append(f"{key}.max_age: {sec.get('max_age')!r} is not a duration (like 30d, 12h, 2w){origin(sec)}")
    if sections and not settings.get("sitemap"):
        out.append("web_audit_sitemap: the sections' freshness is read from the sitemap: set web_audit_sitemap")
    search = settings.get("search") or []
    if not isinstance(search, list):
        out.append(f"web_audit_search: must be a list of {{query, expect}}{origin(search)}")
        search = []
    for i, probe in enumerate(search):
        key = f"web_audit_search[{i}]"
        if not isinstance(probe, dict) or not str(probe.get("query") or "").strip():
            out.append(f"{key}.query: a search probe needs a query{origin(probe)}")
        elif not str(probe.get("expect") or "").strip():
            out.append(f"{key}.expect: a search probe needs an expected result (text the results must contain)"
                       f"{origin(probe)}")
    if search and "{query}" not in str(settings.get("search_url") or ""):
        out.append("web_audit_search_url: must contain {query} when web_audit_search is set")
    for key, top in (("rate", MAX_RATE), ("page_timeout", MAX_PAGE_TIMEOUT), ("link_timeout", 3600.0)):
        value = settings.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= top:
            out.append(f"web_audit_{key}: a number in (0, {top:g}], got {value!r}{origin(value)}")
    if "thresholds" in settings or "disabled_checks" in settings:
        from yunwei.catalogue import catalogue, validate_thresholds

        cat = catalogue()
        out.extend(validate_thresholds(settings.get("thresholds") or {}, "web_audit_thresholds", origin, cat=cat,
                                       areas=["webq"]))
        disabled = settings.get("disabled_checks") or []
        if not isinstance(disabled, list):
            out.append(f"web_audit_disabled_checks: must be a list of WEBQ-* check ids{origin(disabled)}")
        else:
            unknown = [c for c in disabled if not (isinstance(c, str) and c in cat.checks and c.startswith("WEBQ-"))]
            if unknown:
                out.append(f"web_audit_disabled_checks: no web-audit check {', '.join(map(str, unknown))}{origin(disabled)}")
    regression = settings.get("regression")
    if regression is not None:
        if not isinstance(regression, dict) or set(regression) - set(REGRESSION_KEYS):
            out.append(f"web_audit_regression: a mapping of {', '.join(REGRESSION_KEYS)}{origin(regression)}")
        else:
            for k, v in regression.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                    out.append(f"web_audit_regression.{k}: a positive number, got {v!r}{origin(regression)}")
    return out


def module_sections(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sections as the module takes them (max_age as days)."""
    return [{"name": s["name"], "prefix": s["prefix"], "max_age_days": duration_days(s["max_age"])} for s in sections]


def module_pages(pages: list[Any]) -> list[dict[str, str]]:
    return [p if isinstance(p, dict) else {"url": p, "name": ""} for p in pages]

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the monitoring role: validate its settings (naming the variable) and plan the scrape
targets from the inventory (which host runs which exporter, which URLs the prober checks)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.yunwei.ops.plugins.filter.inspection import origin

DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")  # Prometheus' duration syntax
URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


def _probe_problems(urls, where):
    problems = []
    if not isinstance(urls, list):
        return ["%s: must be a list of {url, keyword} mappings, got %r%s" % (where, urls, origin(urls))]
    for i, item in enumerate(urls):
        at = "%s[%d]" % (where, i)
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            problems.append("%s: must be a mapping with a url%s" % (at, origin(item, urls)))
            continue
        extra = sorted(set(item) - {"url", "keyword"})
        if extra:
            problems.append("%s: unknown keys %s (only url, keyword)%s" % (at, ", ".join(extra), origin(item, urls)))
        if not URL.match(item["url"]):
            problems.append("%s.url: %r is not an http(s) URL%s" % (at, item["url"], origin(item["url"], item)))
        if "keyword" in item and (not isinstance(item["keyword"], str) or not item["keyword"]):
            problems.append("%s.keyword: must be a non-empty text%s" % (at, origin(item, urls)))
    return problems


def monitoring_problems(settings):
    """Problems (list of str, each naming its variable) of the role's settings; [] when valid."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("monitoring_problems expects a mapping")
    problems = []
    address = settings.get("listen_address")
    if not isinstance(address, str) or not address.strip() or address.strip() in ("0.0.0.0", "::", "[::]"):
        problems.append("monitoring_listen_address: must be this host's address on the monitoring network "
                        "(exporters listen there only), got %r%s" % (address, origin(address)))
    for name, port in sorted((settings.get("ports") or {}).items()):
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            problems.append("%s: must be a TCP port (1-65535), got %r%s" % (name, port, origin(port)))
    for name, value in sorted((settings.get("durations") or {}).items()):
        if not isinstance(value, str) or not DURATION.match(value):
            problems.append("%s: must be a Prometheus duration such as 1s, 500ms, 5m or 30d, got %r%s"
                            % (name, value, origin(value)))
    problems.extend(_probe_problems(settings.get("probe_urls"), "monitoring_probe_urls"))
    if settings.get("server"):
        url = settings.get("webhook_url")
        if not isinstance(url, str) or not URL.match(url):
            problems.append("monitoring_webhook_url: the address of `yunwei alerts serve` (http://HOST:PORT/...) "
                            "is required on the monitoring host, got %r%s" % (url, origin(url)))
        if not settings.get("webhook_token_set"):
            problems.append("monitoring_webhook_token: missing or shorter than 16 characters on the monitoring host "
                            "(the bearer token Alertmanager sends to `yunwei alerts serve`, from ansible-vault)")
    if settings.get("db"):
        if not settings.get("pg_password_set"):
            problems.append("monitoring_pg_password: missing on a db host (the exporter's password, from ansible-vault)")
        user = settings.get("pg_user")
        if not isinstance(user, str) or not re.match(r"^[a-z_][a-z0-9_]*$", user):
            problems.append("monitoring_pg_user: must be a lower-case PostgreSQL role name, got %r%s" % (user, origin(user)))
    return problems


def monitoring_plan(hostvars, groups, web_groups, db_groups):
    """What Prometheus scrapes, from the inventory: hosts with a node exporter, nginx and PostgreSQL
    exporters, and the probes ({host, url, module}) with the keywords that need a blackbox module each."""
    def enabled(h, key):
        value = hostvars[h].get(key, True)
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")

    def members(names):
        out = set()
        for g in names:
            out.update(groups.get(g, []))
        return sorted(out)

    everyone = sorted(groups.get("all", []))
    web = [h for h in members(web_groups) if enabled(h, "monitoring_nginx_enabled")]
    db = [h for h in members(db_groups) if enabled(h, "monitoring_postgres_enabled")]
    keywords, probes = [], []
    for h in members(web_groups):
        urls = hostvars[h].get("monitoring_probe_urls") or []
        if not urls:
            address = hostvars[h].get("ansible_host") or h
            urls = [{"url": "http://%s/" % address}]
        for item in urls:
            module = "http_2xx"
            if item.get("keyword"):
                if item["keyword"] not in keywords:
                    keywords.append(item["keyword"])
                module = "http_keyword_%d" % (keywords.index(item["keyword"]) + 1)
            probes.append({"host": h, "url": item["url"], "module": module})
    return {
        "node": [h for h in everyone if enabled(h, "monitoring_node_enabled")],
        "nginx": web,
        "postgres": db,
        "probes": probes,
        "keywords": keywords,
    }


class FilterModule:
    def filters(self):
        return {"monitoring_problems": monitoring_problems, "monitoring_plan": monitoring_plan}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: web_audit
short_description: Audit a website's performance and content quality with Lighthouse and a link checker
version_added: "0.2.0"
description:
  - "Runs on the controller (the bastion, C(delegate_to: localhost)) against the configured site only."
  - For each page and form factor, Lighthouse in headless Chromium (fixed profile; C(desktop) is
    Lighthouse's desktop preset, C(mobile) its default mobile emulation with simulated throttling) -
    category scores, the core metrics (LCP, FCP, CLS, TBT, speed index, total bytes, requests) as
    metrics, and its image, compression, caching, unused JS/CSS and render-blocking audits as findings.
  - The link checker (LinkChecker) over the sitemap, one thread at O(rate); section freshness from the
    sitemap's lastmod against each section's limit; the configured search queries.
  - Steps run one after the other, each bounded (O(page_timeout) per Lighthouse run, O(link_timeout)
    for the link checker). The module's own requests are spaced to O(rate) per second.
  - Returns C(findings) and C(metrics); the action plugin of the same name judges them against the
    check catalogue of the C(yunwei) package (docs/data-model.md).
  - Read-only; safe in check mode.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  site:
    description: The site's base URL; every URL audited must be under it.
    type: str
    required: true
  pages:
    description: Pages to audit with Lighthouse.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The page's URL.
        type: str
        required: true
      name:
        description: A name for reports.
        type: str
        default: ""
  form_factors:
    description: Lighthouse form factors to run per page.
    type: list
    elements: str
    default: [desktop, mobile]
    choices: [desktop, mobile]
  sitemap:
    description: The sitemap URL (freshness and link check); empty to skip both.
    type: str
    default: ""
  sections:
    description: Content sections and their freshness limits.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The section's name (what reports show).
        type: str
        required: true
      prefix:
        description: Path prefix of the section's pages under the site.
        type: str
        required: true
      max_age_days:
        description: Days the newest page may be old.
        type: float
        required: true
  search_url:
    description: Search URL with C({query}) where the query goes.
    type: str
    default: ""
  search:
    description: Search probes.
    type: list
    elements: dict
    default: []
    suboptions:
      query:
        description: The query.
        type: str
        required: true
      expect:
        description: Text the results must contain.
        type: str
        required: true
  rate:
    description: Requests per second at most (this module's own requests and the link checker's).
    type: float
    default: 2.0
  page_timeout:
    description: Seconds one Lighthouse run may take.
    type: float
    default: 90.0
  link_timeout:
    description: Seconds the link checker may take.
    type: float
    default: 120.0
  link_depth:
    description: Recursion level of the link checker from the sitemap (2 - the sitemap's pages and their links).
    type: int
    default: 2
  lighthouse:
    description: The lighthouse executable (C(make bootstrap) installs it under var/tools/lighthouse).
    type: str
    default: lighthouse
  chromium:
    description: The Chromium binary Lighthouse drives.
    type: str
    default: /usr/bin/chromium
  linkchecker:
    description: The linkchecker executable.
    type: str
    default: linkchecker
  steps:
    description: Steps to run.
    type: list
    elements: str
    default: [lighthouse, links, freshness, search]
    choices: [lighthouse, links, freshness, search]
  regression:
    description:
      - Regression limits (C(score) points, C(time_pct), C(bytes_pct), C(cls)) of the comparison with the
        previous and the baseline audit, made by the action plugin on the controller (WEBQ-REG-001).
    type: dict
    default: {}
extends_documentation_fragment:
  - yunwei.ops.inspection
"""

EXAMPLES = r"""
- name: Audit the site from the bastion
  yunwei.ops.web_audit:
    site: http://10.89.1.2/
    pages:
      - {url: "http://10.89.1.2/", name: 首页}
    form_factors: [desktop]
    sitemap: http://10.89.1.2/sitemap.xml
    sections:
      - {name: 新闻动态, prefix: /news/, max_age_days: 30}
  delegate_to: localhost
"""

RETURN = r"""
checks:
  description: Checks as in docs/data-model.md.
  returned: always
  type: list
  elements: dict
metrics:
  description: Metrics as in docs/data-model.md.
  returned: always
  type: list
  elements: dict
timings:
  description: Seconds of each Lighthouse run (url, form, seconds).
  returned: always
  type: list
  elements: dict
"""

import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import CONTROLLER_OPTIONS, Findings
from ansible_collections.yunwei.ops.plugins.module_utils.web_audit import OPTIONS, WebAudit


def main():
    spec = dict(CONTROLLER_OPTIONS)
    spec.update(OPTIONS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    findings = Findings()
    audit = WebAudit(module, findings)
    outside = audit.outside()
    if outside:
        module.fail_json(msg="URLs outside the site %s (nothing fetched): %s" % (module.params["site"], ", ".join(outside)))
    workdir = tempfile.mkdtemp(prefix="yunwei-web-audit-")
    try:
        timings = audit.run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    findings.sort()
    module.exit_json(**findings.result(timings=timings))


if __name__ == "__main__":
    main()

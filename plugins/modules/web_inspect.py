#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: web_inspect
short_description: Inspect a website and its nginx; return structured checks and metrics
version_added: "0.1.0"
description:
  - Probes the configured URLs from the web host (status, latency, expected keyword,
    days until the TLS certificate expires), checks that nginx runs, that C(nginx -t) passes,
    reads the stub_status figures and counts error-log lines since the last inspection,
    with the most frequent messages.
  - Returns C(checks) and C(metrics) as described in the collection's docs/data-model.md. The module
    only collects values (findings); the action plugin of the same name judges them on the controller
    from the check catalogue of the C(yunwei) package (status, title, threshold, 处理建议).
  - Read-only; safe in check mode.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  urls:
    description: URLs to probe.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The URL.
        type: str
        required: true
      status:
        description: Expected HTTP status codes.
        type: list
        elements: int
        default: [200]
      keyword:
        description: Text the response body must contain.
        type: str
      timeout:
        description: Timeout in seconds.
        type: float
        default: 5
      validate_certs:
        description: Verify the TLS certificate chain and host name.
        type: bool
        default: true
  nginx:
    description: Check the nginx process, C(nginx -t) and the nginx version.
    type: bool
    default: true
  stub_status_url:
    description: URL of nginx's stub_status page; empty to skip.
    type: str
    default: ""
  error_log:
    description: nginx error log; empty to skip.
    type: path
    default: /var/log/nginx/error.log
  since:
    description:
      - Epoch seconds; error-log lines from this time on are counted (the last inspection).
      - When not given, the last O(log_window) seconds.
    type: float
  log_window:
    description: Seconds of error log to scan when O(since) is not given.
    type: int
    default: 86400
extends_documentation_fragment:
  - yunwei.ops.inspection
"""

EXAMPLES = r"""
- name: Inspect the website
  yunwei.ops.web_inspect:
    urls:
      - url: http://127.0.0.1/
        keyword: Welcome
    stub_status_url: http://127.0.0.1/nginx_status
  become: true
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
summary:
  description: Number of checks per status.
  returned: always
  type: dict
"""

from ansible_collections.yunwei.ops.plugins.module_utils.web_collector import OPTIONS, WebInspector
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import run_single


def main():
    run_single(WebInspector, OPTIONS)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: web_settings
short_description: Read a web host's nginx performance and TLS settings; return structured findings
version_added: "0.2.0"
description:
  - Reads the effective nginx configuration (C(nginx -T)) - gzip/brotli and the compressed types,
    HTTP/2 on the TLS listeners, C(ssl_protocols) and the days until each C(ssl_certificate)
    expires (when TLS is on) - and requests one sample file per static type on the host itself to
    read the cache headers nginx sends (Cache-Control max-age, Expires).
  - Returns C(findings) and C(metrics); the action plugin of the same name judges them on the controller
    (docs/data-model.md). Read-only; safe in check mode.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  nginx:
    description: The nginx binary.
    type: str
    default: nginx
  static_samples:
    description: URLs (on the host itself, for example C(http://127.0.0.1/css/site.css)) of one file per static type.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds per sample request.
    type: float
    default: 5.0
extends_documentation_fragment:
  - yunwei.ops.inspection
"""

EXAMPLES = r"""
- name: Read the web server's settings
  yunwei.ops.web_settings:
    static_samples: [http://127.0.0.1/css/site.css, http://127.0.0.1/img/logo.png]
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
"""

from ansible_collections.yunwei.ops.plugins.module_utils.inspection import run_single
from ansible_collections.yunwei.ops.plugins.module_utils.web_settings import OPTIONS, WebSettings


def main():
    run_single(WebSettings, OPTIONS)


if __name__ == "__main__":
    main()

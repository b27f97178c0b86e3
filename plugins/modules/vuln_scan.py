#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vuln_scan
short_description: Read what the vulnerability scan and the network exposure check need from a host, in one call
version_added: "0.3.0"
description:
  - Returns the host's installed packages (its dpkg status, reduced to the fields the package cache needs),
    /etc/os-release, /etc/debian_version, the dpkg architecture, the pending updates from the local package
    cache (never refreshed; C(apt-get -s dist-upgrade)) and the listening sockets with the process that holds each.
  - The action plugin of the same name evaluates the packages on the controller with OpenSCAP against the imported
    OVAL feed (oscap is never installed on the hosts), runs nmap from the bastion against this host's inventory
    address only, and judges both into checks (SEC-VULN-001, SEC-FEED-001, SEC-PORT-001).
  - Read-only; safe in check mode.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  allowed_ports:
    description: Controller side. The TCP ports this host may expose (the inventory's C(security_allowed_ports) of its groups).
    type: list
    elements: int
    default: []
  exposure:
    description: Controller side. Run the network exposure check (nmap from the bastion).
    type: bool
    default: true
  vulns:
    description: Controller side. Evaluate the packages against the imported feed.
    type: bool
    default: true
  logins:
    description: Read the login and privilege events (sshd, sudo, su) of the last C(logins_hours) from /var/log/auth.log (and auth.log.1).
    type: bool
    default: false
  logins_hours:
    description: How far back the login events are read.
    type: int
    default: 48
  inventory_addresses:
    description: Controller side. Every address of the inventory (the only addresses nmap may ever be pointed at).
    type: list
    elements: str
    default: []
notes:
  - Debian family only for the package evaluation (dpkg); the exposure check works on any Linux host.
"""

EXAMPLES = r"""
- name: Vulnerability scan and exposure check
  yunwei.ops.vuln_scan:
    allowed_ports: [22, 80, 443]
  become: true
"""

RETURN = r"""
checks:
  description: SEC-VULN-001 per vulnerable package and CVE, SEC-FEED-001 (the feed used and its age), SEC-PORT-001 per unexpected open port.
  returned: always
  type: list
  elements: dict
vuln:
  description: The feed used, the findings (cve, package, installed, fixed, severity, fix_available) and the open ports.
  returned: always
  type: dict
facts:
  description: What was read on the host (only the module; the action plugin returns the judged C(vuln) instead).
  returned: always
  type: dict
"""

import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.baseline_collector import listening_ports
from ansible_collections.yunwei.ops.plugins.module_utils.host_probe import parse_apt_simulate
from ansible_collections.yunwei.ops.plugins.module_utils.vuln_collector import parse_auth_log, reduce_status

ARGUMENT_SPEC = dict(
    allowed_ports=dict(type="list", elements="int", default=[]),
    exposure=dict(type="bool", default=True),
    vulns=dict(type="bool", default=True),
    logins=dict(type="bool", default=False),
    logins_hours=dict(type="int", default=48),
    inventory_addresses=dict(type="list", elements="str", default=[]),
)


def read(path):
    try:
        with open(path, "r") as fh:
            return fh.read()
    except (IOError, OSError):
        return ""


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    facts = {"os_release": read("/etc/os-release"), "debian_version": read("/etc/debian_version"),
             "dpkg_status": "", "arch": "", "updates": [], "updates_error": "", "ports": []}
    if module.params["vulns"] and os.path.exists("/var/lib/dpkg/status"):
        facts["dpkg_status"] = reduce_status(read("/var/lib/dpkg/status"))
        dpkg = module.get_bin_path("dpkg")
        if dpkg:
            rc, out, _err = module.run_command([dpkg, "--print-architecture"])
            facts["arch"] = out.strip() if rc == 0 else ""
        apt = module.get_bin_path("apt-get")
        if apt:
            rc, out, err = module.run_command([apt, "-s", "-q", "-o", "Debug::NoLocking=true",
                                               "-o", "APT::Get::Show-User-Simulation-Note=false", "dist-upgrade"],
                                              environ_update={"LANG": "C"})
            if rc == 0:
                facts["updates"] = parse_apt_simulate(out)
            else:
                facts["updates_error"] = re.sub(r"\s+", " ", (err or out).strip())[:300]
    if module.params["exposure"]:
        facts["ports"] = listening_ports()
    if module.params["logins"]:
        admins = set()
        for line in read("/etc/group").splitlines():
            parts = line.split(":")
            if len(parts) == 4 and parts[0] in ("sudo", "wheel"):
                admins.update(u for u in parts[3].split(",") if u)
        since = time.time() - 3600 * module.params["logins_hours"]
        now = time.localtime()
        text = "\n".join(read(p) for p in ("/var/log/auth.log.1", "/var/log/auth.log", "/var/log/secure"))
        facts["logins"] = parse_auth_log(text, since, now.tm_year, now.tm_gmtoff, sorted(admins))
        facts["auth_log"] = [p for p in ("/var/log/auth.log", "/var/log/secure") if os.path.exists(p)]
    module.exit_json(changed=False, facts=facts)


if __name__ == "__main__":
    main()

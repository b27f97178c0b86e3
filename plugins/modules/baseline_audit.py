#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline_audit
short_description: Audit a Linux host against the 等保 2.0 level 3 security baseline in one call
version_added: "0.2.0"
description:
  - Collects, in one call, what the security baseline rules of GB/T 22239-2019 level 3 (8.1.4 安全计算环境)
    need from the host, as it is in force - C(sshd -T), the PAM stacks of passwd, sshd, login, su and sudo with
    their includes, C(visudo -c) and C(sudo -l -U) per account, the loaded audit rules, the umask and TMOUT of an
    interactive login shell, logrotate's effective settings, kernel parameters, listening ports, packages,
    pending security updates, and one walk over the system paths (world-writable, unowned, setuid files).
  - Never returns a secret - /etc/shadow is reduced to whether each password is empty, locked or set.
  - The action plugin of the same name judges every rule of the check catalogue on the controller
    (status pass, fail, manual, waived or not-applicable, evidence, 处理建议) with the approved waivers, and
    returns C(checks), the pass rates per host and clause as C(metrics), and what enforce must remediate.
  - Read-only; never changes the host. Safe in check mode (everything is collected under C(--check)).
author:
  - yunwei maintainers (!UNKNOWN)
options:
  os_families:
    description:
      - The variables of each supported OS family (Debian, RedHat, Kylin, openEuler) - package names, file
        locations. The host's family is detected from /etc/os-release. The role passes its C(vars/main.yml).
    type: dict
    required: true
  os_overrides:
    description: Variables that replace those of the detected family on this host.
    type: dict
    default: {}
  scan_paths:
    description: Folders walked for world-writable, unowned and setuid files (local filesystems only).
    type: list
    elements: str
    default: [/bin, /boot, /etc, /lib, /lib64, /opt, /root, /sbin, /usr, /var, /home]
  scan_exclude:
    description: Folders not walked.
    type: list
    elements: str
    default: []
  scan_max_files:
    description: Stop the walk after this many entries (0 - no limit); the evidence says so.
    type: int
    default: 2000000
  probe_user:
    description:
      - An ordinary account whose interactive login shell is started (besides root's) to read the umask and
        TMOUT in force; distributions set them by UID and group. Empty to probe root only.
    type: str
    default: ''
  updates:
    description: Check pending security updates (from the local package cache; never refreshed).
    type: bool
    default: true
  params:
    description:
      - Controller side. Rule parameters that tighten the catalogue's defaults (C(minlen), C(pass_max_days), ...);
        never weaker than the 等保 floor. See docs/baseline.md.
    type: dict
    default: {}
  disabled_rules:
    description: Controller side. Rule ids switched off (not judged, not recorded).
    type: list
    elements: str
    default: []
  settings:
    description:
      - Controller side. C(admin_accounts) (may keep NOPASSWD ALL in sudo), C(risky_ports) (port to service),
        C(allowed_ports), C(required_packages) (kept although on the unneeded list).
    type: dict
    default: {}
  verify:
    description:
      - Controller side. Return the checks as C(verify_checks) instead of C(checks), so the journal records them
        once per run (enforce audits again after remediating).
    type: bool
    default: false
notes:
  - Works with and without systemd as PID 1. In a container, rules about the shared kernel (kernel parameters,
    kernel audit, mandatory access control) and the shared clock report not-applicable with the reason.
"""

EXAMPLES = r"""
- name: Audit the security baseline
  yunwei.ops.baseline_audit:
    os_families: "{{ baseline_os_families }}"
    params: {minlen: 12}
  become: true
  register: baseline_result
"""

RETURN = r"""
checks:
  description: One check per rule (id, category baseline, title, status, value, threshold, evidence, suggestion).
  returned: always
  type: list
  elements: dict
  sample:
    - id: BASE-SSH-001
      category: baseline
      title: 禁止 root 远程登录
      status: fail
      value: "yes"
      threshold: PermitRootLogin 为 no
      evidence: "sshd -T：permitrootlogin yes，root 可远程登录"
      suggestion: 禁止 root 账户直接远程登录……
metrics:
  description: baseline.pass_pct for the host (instance '') and per GB/T 22239 clause (instance 8.1.4.1 ...).
  returned: always
  type: list
  elements: dict
summary:
  description: Checks per status.
  returned: always
  type: dict
baseline:
  description: OS family, container, kernel audit, score per clause, waivers applied, rules enforce remediates.
  returned: always
  type: dict
facts:
  description: The raw facts (only the module; the action plugin keeps a summary).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.yunwei.ops.plugins.module_utils.baseline_collector import BaselineCollector

ARGUMENT_SPEC = dict(
    os_families=dict(type="dict", required=True),
    os_overrides=dict(type="dict", default={}),
    scan_paths=dict(type="list", elements="str",
                    default=["/bin", "/boot", "/etc", "/lib", "/lib64", "/opt", "/root", "/sbin", "/usr", "/var", "/home"]),
    scan_exclude=dict(type="list", elements="str", default=[]),
    scan_max_files=dict(type="int", default=2000000),
    probe_user=dict(type="str", default=""),
    updates=dict(type="bool", default=True),
    params=dict(type="dict", default={}),
    disabled_rules=dict(type="list", elements="str", default=[]),
    settings=dict(type="dict", default={}),
    verify=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = dict(module.params)
    overrides = params.get("os_overrides") or {}
    params["os_families"] = dict((k, dict(v, **overrides)) for k, v in (params["os_families"] or {}).items())
    facts = BaselineCollector(module, params).collect()
    module.exit_json(changed=False, facts=facts)


if __name__ == "__main__":
    main()

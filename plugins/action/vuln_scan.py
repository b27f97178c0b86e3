# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.vuln_scan: one module call per host, then, on the bastion:

- evaluates the host's installed packages with OpenSCAP (``oscap oval eval`` on an offline root holding the
  host's dpkg status and os-release, yunwei.vuln.oval) against the feed imported for the host's release
  (yunwei.vuln.feed; a feed changed after its import is refused), and marks which findings already have an
  update in the host's configured repositories;
- runs nmap against this host's inventory address only (yunwei.vuln.exposure: an address that is not one of
  the inventory's is refused before any packet), compared with the allow-list of the host's groups
  (``security_allowed_ports``), naming the process that holds each unexpected port (read on the host);
- returns ``checks`` (recorded by the journal) and ``vuln`` (the feed used, the findings, the open ports),
  which ``yunwei vuln`` turns into the findings lifecycle on the controller after the run.

Fork safety: this runs in a worker; it reads plain files (the imported feed and its index) and runs
subprocesses, never the journal store (docs/journal.md, "Fork safety").
"""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase
from ansible_collections.yunwei.ops.plugins.plugin_utils.module_call import call_module
from ansible_collections.yunwei.ops.plugins.plugin_utils.yunwei_package import require

CONTROLLER_ARGS = ("allowed_ports", "exposure", "vulns", "inventory_addresses")


def os_release(text):
    out = {}
    for line in (text or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip().strip('"')
    return out


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        host = task_vars.get("inventory_hostname", "")
        opts = dict((k, args.get(k)) for k in CONTROLLER_ARGS)
        feed_mod = require("yunwei.vuln.feed")
        oval = require("yunwei.vuln.oval")
        exposure = require("yunwei.vuln.exposure")
        judge = require("yunwei.vuln.judge")
        address = self._templar.template(task_vars.get("ansible_host") or host)
        target = None
        if opts["exposure"] is not False:
            try:  # the scan-target rule, before the host is contacted
                target = exposure.resolve_target(address, opts["inventory_addresses"] or [], host)
            except exposure.TargetRefused as exc:
                result.update(failed=True, changed=False, msg=str(exc))
                return result
        started = time.time()
        res = call_module(self, "yunwei.ops.vuln_scan", args, task_vars)
        if res.get("unreachable") or res.get("failed"):
            result.update(res)
            return result
        facts = res.get("facts") or {}
        osr = os_release(facts.get("os_release"))
        release = "%s-%s" % (osr.get("ID", ""), osr.get("VERSION_ID", "").split(".")[0])
        checks = []
        vuln = {"host": host, "address": address, "release": release, "feed": None, "findings": [],
                "open_ports": [], "unexpected_ports": [], "allowed_ports": [], "errors": {},
                "scanned": []}  # what this run evaluated: only that may move findings to fixed
        if opts["vulns"] is not False:
            feed = None
            problem = ""
            try:
                feed = feed_mod.active(release)
                if feed is None:
                    problem = "未导入 %s 的漏洞库（yunwei vuln import FILE --release %s）" % (release, release)
            except Exception as exc:  # pylint: disable=broad-except
                problem = str(exc)
            findings = []
            if feed is not None:
                vuln["feed"] = dict(feed.summary(), age_days=round(feed.age_days(), 1))
                try:
                    t0 = time.time()
                    findings = oval.evaluate(feed.path, feed_mod.index(feed), facts)
                    vuln["oscap_seconds"] = round(time.time() - t0, 3)
                except Exception as exc:  # pylint: disable=broad-except
                    problem = "OpenSCAP 评估失败：%s" % exc
            if problem:
                vuln["errors"]["vulns"] = problem
            else:
                vuln["scanned"].append("vuln")
            findings = judge.with_fix_available(findings, facts.get("updates") or [])
            if facts.get("updates_error"):
                vuln["errors"]["updates"] = "无法读取待安装更新：%s" % facts["updates_error"]
            vuln["security_updates"] = sorted(u["name"] for u in facts.get("updates") or [] if u.get("security"))
            # compact: the result must stay under the journal's result size; the checks carry the text
            vuln["findings"] = [dict((k, f[k]) for k in ("cve", "package", "installed", "fixed", "severity", "fix_available"))
                                for f in findings]
            vuln["packages"] = facts.get("dpkg_status", "").count("\nPackage: ") + (1 if facts.get("dpkg_status", "").startswith("Package: ") else 0)
            checks.append(judge.feed_check(vuln["feed"], problem))
            if not problem:
                checks.extend(judge.vuln_checks(findings))
        if opts["exposure"] is not False:
            allowed = set(int(p) for p in opts["allowed_ports"] or [])
            vuln["allowed_ports"] = sorted(allowed)
            problem = ""
            open_ports = []
            try:
                open_ports = exposure.scan(target)
            except Exception as exc:  # pylint: disable=broad-except
                problem = "nmap 扫描失败：%s" % exc
                vuln["errors"]["exposure"] = problem
            if not problem:
                vuln["scanned"].append("port")
            port_checks, unexpected = judge.port_checks(open_ports, allowed, facts.get("ports") or [], problem)
            checks.extend(port_checks)
            vuln["open_ports"], vuln["unexpected_ports"] = open_ports, unexpected
        if args.get("logins"):
            vuln["logins"] = facts.get("logins") or []
            vuln["auth_log"] = facts.get("auth_log") or []
        vuln["seconds"] = round(time.time() - started, 3)
        result["changed"] = False
        result["checks"] = checks
        result["vuln"] = vuln
        return result

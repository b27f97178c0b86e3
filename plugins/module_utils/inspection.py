# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the yunwei.ops inspection collectors (run on the target hosts).

Collectors compute values: each module returns ``findings`` (check id, instance, value,
evidence, and where a check has them a named ``outcome``, ``measured`` values per threshold key,
``limits`` it was compared with, template ``vars``) and ``metrics`` (name, instance, value, time).
Judging - status, title, unit, threshold, 处理建议 - happens on the controller in the action
plugin, from the check catalogue of the ``yunwei`` package (docs/data-model.md), which a module
cannot import on the host.
"""

from __future__ import annotations

import time

from ansible_collections.yunwei.ops.plugins.module_utils.logscan import scan_errors


def probe_finding(area, evidence):
    """``<AREA>-PROBE-001`` of an area whose collector could not run: its checks are unknown."""
    return {"id": "%s-PROBE-001" % area.upper(), "instance": "", "value": "error", "evidence": evidence,
            "outcome": "failed"}


# Options every collector module takes. All of them are consumed on the controller by the action
# plugin (judging and journal history) and never sent to the host.
CONTROLLER_OPTIONS = dict(
    thresholds=dict(type="dict", default={}),
    disabled_checks=dict(type="list", elements="str", default=[]),
    dynamic_thresholds=dict(type="dict", default={}, options=dict(
        enabled=dict(type="bool", default=True),
        history_days=dict(type="float", default=56.0),
        min_samples=dict(type="int", default=20),
        min_bucket=dict(type="int", default=8),
        warn_z=dict(type="float", default=4.0),
        crit_z=dict(type="float", default=8.0),
        tz=dict(type="str", default="Asia/Shanghai"),
    )),
    forecast=dict(type="bool", default=False),
    store=dict(type="str"),
)


class Collector(object):
    """Base of the area collectors: ``module`` gives run_command and get_bin_path, ``params``
    the area's options (default: the module's own)."""

    def __init__(self, module, params=None):
        self.module = module
        self.p = module.params if params is None else params
        self.f = Findings()

    def log_since(self):
        """Start of the error-log window: the last inspection (``since``) or ``log_window`` seconds ago."""
        return self.p["since"] if self.p["since"] is not None else time.time() - self.p["log_window"]

    def scan_log(self, path, flavour, check_id, metric, what, none_text):
        """Error-log lines since log_since() in ``path`` (logscan flavour ``flavour``): the metric, then
        the finding ``check_id``; ``what`` names the lines in the evidence."""
        since = self.log_since()
        try:
            res = scan_errors(path, since, flavour)
        except (IOError, OSError) as exc:
            self.f.add(check_id, "unreadable", "无法读取 %s：%s" % (path, exc), instance=path, outcome="unreadable")
            return
        self.f.metric(metric, res["lines"], path)
        since_txt = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        if res["lines"]:
            evidence = "自 %s 起%s %d 行（%s）。最常见：%s" % (
                since_txt, what, res["lines"], "，".join("%s %d" % kv for kv in sorted(res["levels"].items())),
                "；".join("%d× %s" % (n, msg) for n, msg in res["top"]))
        else:
            evidence = "自 %s 起%s" % (since_txt, none_text)
        self.f.add(check_id, res["lines"], evidence, instance=path)


def run_single(collector, options, **extra_options):
    """main() of a single-area module: its options and the controller ones, then exit_json."""
    from ansible.module_utils.basic import AnsibleModule

    spec = dict(CONTROLLER_OPTIONS)
    spec.update(options)
    spec.update(extra_options)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    module.exit_json(**collector(module).inspect())


class Findings(object):
    """Findings and metrics of one module run (judged on the controller)."""

    def __init__(self, now=None):
        self.findings = []
        self.metrics = []
        self.now = now if now is not None else time.time()

    def metric(self, name, value, instance="", when=None):
        """A sample; its unit comes from the catalogue on the controller."""
        if value is None:
            return
        self.metrics.append({
            "name": name,
            "instance": instance or "",
            "value": round(float(value), 4),
            "time": round(when if when is not None else self.now, 3),
        })

    def add(self, check_id, value, evidence, instance="", outcome=None, measured=None, limits=None, variables=None):
        """A finding of check ``check_id``. ``outcome``: a named result of the check's catalogue entry;
        ``measured``: {threshold key: value} when the check has several thresholds; ``limits``: what the
        value was compared with when that is not a threshold (an expected status, a keyword);
        ``variables``: extra values its 处理建议 template names."""
        item = {"id": check_id, "instance": instance or "", "value": _round(value), "evidence": evidence}
        if outcome:
            item["outcome"] = outcome
        if measured:
            item["measured"] = dict((k, _round(v)) for k, v in measured.items())
        if limits is not None:
            item["limits"] = limits
        if variables:
            item["vars"] = variables
        self.findings.append(item)
        return item

    def sort(self):
        self.findings.sort(key=lambda c: (c["id"], c["instance"]))

    def result(self, **extra):
        out = dict(changed=False, findings=self.findings, metrics=self.metrics)
        out.update(extra)
        return out


def _round(value):
    if isinstance(value, float):
        return round(value, 2)
    return value


def human_bytes(num):
    num = float(num)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(num) < 1024 or unit == "TiB":
            return ("%.0f %s" % (num, unit)) if unit == "B" else ("%.1f %s" % (num, unit))
        num /= 1024.0
    return "%.1f TiB" % num


def human_seconds(sec):
    sec = float(sec)
    if sec < 120:
        return "%.0f 秒" % sec
    if sec < 7200:
        return "%.0f 分钟" % (sec / 60)
    if sec < 172800:
        return "%.1f 小时" % (sec / 3600)
    return "%.1f 天" % (sec / 86400)

# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the yunwei.ops inspection collectors.

The threshold registry (key -> default warn/crit, direction, unit) is the single source of
truth for the modules, the ``inspection_thresholds`` filter (validation of overrides) and
the docs. Checks and metrics follow docs/data-model.md.
"""

from __future__ import annotations

import math
import time

from ansible_collections.yunwei.ops.plugins.module_utils.logscan import scan_errors

# key: (warn, crit, direction, unit, description)
# direction "high": bigger is worse (warn <= crit); "low": smaller is worse (warn >= crit).
THRESHOLDS = {
    # host
    "cpu_pct": (85.0, 95.0, "high", "%", "CPU usage over the sampling interval"),
    "iowait_pct": (20.0, 40.0, "high", "%", "CPU time waiting for I/O"),
    "mem_pct": (85.0, 95.0, "high", "%", "memory used (MemTotal - MemAvailable)"),
    "swap_pct": (50.0, 80.0, "high", "%", "swap used"),
    "load_per_core": (1.5, 3.0, "high", "", "5-minute load average per CPU core"),
    "fs_pct": (80.0, 90.0, "high", "%", "filesystem space used"),
    "inode_pct": (80.0, 90.0, "high", "%", "filesystem inodes used"),
    "disk_util_pct": (80.0, 95.0, "high", "%", "disk busy time (utilisation)"),
    "net_err_rate": (1.0, 10.0, "high", "/s", "network errors + drops per second"),
    "zombies": (5.0, 50.0, "high", "", "zombie processes"),
    "pending_updates": (1.0, 100.0, "high", "", "pending package updates"),
    "pending_security": (1.0, 50.0, "high", "", "pending security updates"),
    "time_offset_s": (0.5, 5.0, "high", "s", "clock offset from the time source"),
    "fs_days_full": (30.0, 7.0, "low", "d", "days until a filesystem is full (resources profile)"),
    # web
    "http_latency_ms": (1000.0, 3000.0, "high", "ms", "HTTP response time"),
    "cert_days": (30.0, 7.0, "low", "d", "days until the TLS certificate expires"),
    "nginx_active_conns": (1000.0, 5000.0, "high", "", "nginx active connections (stub_status)"),
    "web_errlog_lines": (1.0, 100.0, "high", "", "nginx error-log lines since the last inspection"),
    # db
    "db_conn_pct": (70.0, 90.0, "high", "%", "connections used of max_connections"),
    "db_long_query_s": (300.0, 1800.0, "high", "s", "longest running query"),
    "db_idle_in_tx_s": (60.0, 300.0, "high", "s", "longest idle-in-transaction session"),
    "db_tx_age_s": (600.0, 3600.0, "high", "s", "oldest open transaction"),
    "db_repl_lag_bytes": (16777216.0, 268435456.0, "high", "B", "replication lag in WAL bytes"),
    "db_repl_lag_s": (30.0, 300.0, "high", "s", "replication replay lag"),
    "db_archive_ready": (5.0, 50.0, "high", "", "WAL segments waiting to be archived"),
    "db_archive_age_s": (3600.0, 21600.0, "high", "s", "age of the last archived WAL segment while segments wait"),
    "db_cache_hit_pct": (95.0, 90.0, "low", "%", "buffer cache hit ratio"),
    "db_errlog_lines": (1.0, 50.0, "high", "", "PostgreSQL ERROR/FATAL/PANIC lines since the last inspection"),
    "db_growth_pct_week": (20.0, 50.0, "high", "%", "database size growth per week (resources profile)"),
}


AREA_TITLES = {"host": "主机", "web": "网站", "db": "数据库"}


def probe_check(area, evidence):
    """The crit check ``<AREA>-PROBE-001`` of an area whose collector could not run: its checks are unknown."""
    return {
        "id": "%s-PROBE-001" % area.upper(), "category": area, "title": "%s巡检采集" % AREA_TITLES[area],
        "instance": "", "status": "crit", "value": "error", "unit": "", "threshold": "", "evidence": evidence,
        "suggestion": "按报错检查目标主机上的 Python、权限（become）与被检软件状态，修复后重新巡检；本项未完成的检查视为未知。",
    }


# Options every collector module takes; the controller-side ones are consumed by the action plugins
# (journal history) and never sent to the host.
COMMON_OPTIONS = dict(thresholds=dict(type="dict", default={}))
CONTROLLER_OPTIONS = dict(
    dynamic_thresholds=dict(type="dict", default={}),
    forecast=dict(type="bool", default=False),
    store=dict(type="str"),
)


def threshold(thresholds, key):
    """The effective {warn, crit} for ``key``: module option over the registry default."""
    warn, crit = THRESHOLDS[key][0], THRESHOLDS[key][1]
    given = (thresholds or {}).get(key) or {}
    if isinstance(given, dict):
        if given.get("warn") is not None:
            warn = float(given["warn"])
        if given.get("crit") is not None:
            crit = float(given["crit"])
    return {"warn": _num(warn), "crit": _num(crit)}


def _num(value):
    value = float(value)
    return int(value) if value.is_integer() else value


def judge(value, key, thresholds):
    """(status, threshold) of ``value`` against the effective threshold of ``key``."""
    limits = threshold(thresholds, key)
    direction = THRESHOLDS[key][2]
    if value is None:
        return "ok", limits
    if direction == "high":
        if value >= limits["crit"]:
            return "crit", limits
        if value >= limits["warn"]:
            return "warn", limits
    else:
        if value <= limits["crit"]:
            return "crit", limits
        if value <= limits["warn"]:
            return "warn", limits
    return "ok", limits


def threshold_range(key):
    """(low, high) a value of threshold ``key`` may take (high None: no upper bound). Percentages of a
    whole stop at 101, so that 101 can switch a level off (a value never exceeds 100)."""
    if THRESHOLDS[key][3] == "%" and key != "db_growth_pct_week":
        return 0.0, 101.0
    return 0.0, None


def _type_name(value):
    """The plain Python type name of ``value`` (not Ansible's tagged/lazy wrapper types)."""
    try:
        from ansible.module_utils.datatag import native_type_name
        return native_type_name(value)
    except Exception:  # pylint: disable=broad-except
        return type(value).__name__


def validate_thresholds(data, name="thresholds", origin=None):
    """Problems (list of str, naming ``name``) of a threshold mapping; [] when well formed.

    ``origin(*values)``, when given, returns where the first of ``values`` that knows it was
    written (" (file:line)"), appended to the problem (the controller's filter passes Ansible's
    origin tags; modules do not).
    """
    def at(*values):
        return origin(*values) if origin else ""

    problems = []
    if data is None:
        return problems
    if not isinstance(data, dict):
        return ["%s: must be a mapping of threshold names to {warn, crit}, got %s%s" % (name, _type_name(data), at(data))]
    for key, limits in data.items():
        where = "%s.%s" % (name, key)
        if key not in THRESHOLDS:
            problems.append("%s: unknown threshold (known: %s)%s" % (where, ", ".join(sorted(THRESHOLDS)), at(limits, data)))
            continue
        if not isinstance(limits, dict):
            problems.append("%s: must be a mapping with warn and/or crit, got %r%s" % (where, limits, at(limits, data)))
            continue
        extra = sorted(set(limits) - {"warn", "crit"}, key=str)
        if extra:
            problems.append("%s: unknown keys %s (only warn, crit)%s" % (where, ", ".join(map(str, extra)), at(limits)))
        bad = False
        low, high = threshold_range(key)
        for part in ("warn", "crit"):
            val = limits.get(part)
            if val is None:
                continue
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                problems.append("%s.%s: must be a number, got %r%s" % (where, part, val, at(val, limits)))
                bad = True
            elif not math.isfinite(val):
                problems.append("%s.%s: must be a finite number, got %r%s" % (where, part, val, at(val, limits)))
                bad = True
            elif val < low or (high is not None and val > high):
                problems.append("%s.%s: %r is out of range (%s)%s" % (
                    where, part, val, "%g to %g" % (low, high) if high is not None else ">= %g" % low, at(val, limits)))
                bad = True
        if bad:
            continue
        warn = limits.get("warn", THRESHOLDS[key][0])
        crit = limits.get("crit", THRESHOLDS[key][1])
        if THRESHOLDS[key][2] == "high" and warn > crit:
            problems.append("%s: warn (%s) is above crit (%s)%s" % (where, warn, crit, at(limits)))
        if THRESHOLDS[key][2] == "low" and warn < crit:
            problems.append("%s: warn (%s) is below crit (%s); smaller is worse here%s" % (where, warn, crit, at(limits)))
    return problems


class Collector(object):
    """Base of the area collectors: ``module`` gives run_command and get_bin_path, ``params``
    the area's options (default: the module's own)."""

    CATEGORY = ""

    def __init__(self, module, params=None):
        self.module = module
        self.p = module.params if params is None else params
        self.f = Findings(self.CATEGORY, self.p["thresholds"])

    def log_since(self):
        """Start of the error-log window: the last inspection (``since``) or ``log_window`` seconds ago."""
        return self.p["since"] if self.p["since"] is not None else time.time() - self.p["log_window"]

    def judge_log(self, path, flavour, check, metric, key, what, none_text, unreadable_hint, suggestion):
        """Error-log lines since log_since() in ``path`` (logscan flavour ``flavour``): metric, then the
        check ``check`` = (id, title) judged by threshold ``key``; ``what`` names the lines in the evidence."""
        check_id, title = check
        since = self.log_since()
        try:
            res = scan_errors(path, since, flavour)
        except (IOError, OSError) as exc:
            self.f.check(check_id, title, "warn", "unreadable", "无法读取 %s：%s" % (path, exc), unreadable_hint,
                         instance=path)
            return
        self.f.metric(metric, res["lines"], "", path)
        since_txt = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
        if res["lines"]:
            evidence = "自 %s 起%s %d 行（%s）。最常见：%s" % (
                since_txt, what, res["lines"], "，".join("%s %d" % kv for kv in sorted(res["levels"].items())),
                "；".join("%d× %s" % (n, msg) for n, msg in res["top"]))
        else:
            evidence = "自 %s 起%s" % (since_txt, none_text)
        self.f.judged(check_id, title, key, res["lines"], evidence, suggestion, instance=path)


def run_single(collector, options, **extra_options):
    """main() of a single-area module: its options, the common and controller ones, then exit_json."""
    from ansible.module_utils.basic import AnsibleModule

    spec = dict(COMMON_OPTIONS)
    spec.update(CONTROLLER_OPTIONS)
    spec.update(options)
    spec.update(extra_options)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    module.exit_json(**collector(module).inspect())


class Findings(object):
    """Collects checks and metrics of one module run."""

    def __init__(self, category, thresholds=None, now=None):
        self.category = category
        self.thresholds = thresholds or {}
        self.checks = []
        self.metrics = []
        self.now = now if now is not None else time.time()

    def metric(self, name, value, unit="", instance="", when=None):
        if value is None:
            return
        self.metrics.append({
            "name": name,
            "instance": instance or "",
            "value": round(float(value), 4),
            "unit": unit,
            "time": round(when if when is not None else self.now, 3),
        })

    def check(self, check_id, title, status, value, evidence, suggestion="", instance="",
              unit="", threshold=None):
        self.checks.append({
            "id": check_id,
            "category": self.category,
            "title": title,
            "instance": instance or "",
            "status": status,
            "value": _round(value),
            "unit": unit,
            "threshold": threshold if threshold is not None else "",
            "evidence": evidence,
            "suggestion": "" if status == "ok" else suggestion,
        })

    def judged(self, check_id, title, key, value, evidence, suggestion, instance="", unit=None):
        """A check whose status comes from the threshold ``key``."""
        status, limits = judge(value, key, self.thresholds)
        self.check(check_id, title, status, value, evidence, suggestion, instance=instance,
                   unit=THRESHOLDS[key][3] if unit is None else unit, threshold=limits)
        return status

    def summary(self):
        counts = {"ok": 0, "warn": 0, "crit": 0}
        for item in self.checks:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        return counts

    def result(self, **extra):
        out = dict(changed=False, checks=self.checks, metrics=self.metrics, summary=self.summary())
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

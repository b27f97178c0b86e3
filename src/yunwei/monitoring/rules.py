"""Prometheus alert rules from the check catalogue, the reviewed static limits and the journal's baselines.

Rendered on the controller (``yunwei alerts rules``, the action ``yunwei.ops.alert_rules`` through a
subprocess): never in an Ansible worker, which must not open the store (docs/journal.md).

- **Static rules** (``yunwei-static.rules.yml``): ``data/rules.yml`` gives the PromQL; the catalogue
  gives each rule's title, 处理建议 and severity under the same id as the inspection check that judges
  the same thing; each host's limits are the inspection's threshold keys (role defaults <
  ``inspection_thresholds`` < ``inspection_threshold_overrides`` < ``monitoring_threshold_overrides``).
  A limit shared by all hosts gives one rule; different limits give one rule per distinct limit,
  selecting its hosts.
- **Dynamic rules** (``yunwei-dynamic.rules.yml``): for every host × metric × instance the journal has
  a baseline for (:mod:`yunwei.inspection.baselines`: median/MAD of the same hour of the week, else of
  the whole history), the upper edge of the normal band (median + warn_z × spread) for the next
  ``HOURS_AHEAD`` hours, each guarded by its UTC hour — **never looser than the static crit limit**
  (the smaller of the two is rendered). Below the minimum history there is no dynamic rule and the
  static rules stand alone. The scheduled job re-renders them every hour.

Every file is checked with ``promtool check rules`` before anything replaces the old files; a
failure raises :class:`RulesError` with promtool's output (the CLI exits 2 and writes nothing).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from yunwei.catalogue import Catalogue, catalogue, validate_thresholds
from yunwei.errors import InputError, YunweiError
from yunwei.inspection import baselines as bl

DATA = Path(__file__).resolve().parent / "data" / "rules.yml"
STATIC_FILE = "yunwei-static.rules.yml"
DYNAMIC_FILE = "yunwei-dynamic.rules.yml"
HOURS_AHEAD = 3  # the job runs hourly: thresholds for this hour and the next two
SEVERITY = {"warn": "warning", "crit": "critical"}
LEVEL_TEXT = {"warn": "警告", "crit": "严重"}
LAYERS = ("inspection_thresholds", "inspection_threshold_overrides", "monitoring_threshold_overrides")


class RulesError(YunweiError):
    """promtool refused the rendered rules: nothing was replaced."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message + "\n" + output.rstrip(), exit_code=2)
        self.output = output


@dataclass(frozen=True)
class DynamicSettings:
    history_days: float = 56.0
    min_samples: int = 20
    min_bucket: int = 8
    warn_z: float = 4.0
    tz: str = "Asia/Shanghai"
    for_: str = "5s"


@dataclass
class HostLimits:
    """A host's groups and its effective static limits ({threshold key: {warn, crit}})."""

    host: str
    limits: dict[str, dict[str, float]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    with DATA.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def series_name(name: str) -> str:
    return f"yunwei:{name}"


def alert_name(check_id: str) -> str:
    """Prometheus alert names must be metric names: HOST-FS-001 -> HOST_FS_001."""
    return check_id.replace("-", "_")


# -- inputs ---------------------------------------------------------------------------------------

def host_limits(hosts: Mapping[str, Mapping[str, Any]], cat: Catalogue | None = None) -> list[HostLimits]:
    """Validate every host's threshold layers (each problem names the host, the variable and the key:
    :class:`InputError`, exit 2) and merge them over the catalogue's defaults."""
    cat = cat or catalogue()
    problems: list[str] = []
    out = []
    for host in sorted(hosts):
        layers = hosts[host] or {}
        merged: dict[str, dict[str, float]] = {k: {"warn": t.warn, "crit": t.crit} for k, t in cat.thresholds.items()}
        for name in LAYERS:
            layer = layers.get(name)
            found = validate_thresholds(layer, f"{host}: {name}", cat=cat)
            if found:
                problems += found
                continue
            for key, lim in (layer or {}).items():
                merged[key].update({k: float(v) for k, v in lim.items() if v is not None})
        for key, lim in merged.items():
            if cat.thresholds[key].inverted(lim["warn"], lim["crit"]):
                problems.append(f"{host}: thresholds.{key}: merged warn {lim['warn']:g} and crit {lim['crit']:g} "
                                "are inverted")
        out.append(HostLimits(host, merged))
    if problems:
        raise InputError("threshold overrides", None, "; ".join(problems))
    return out


# -- static rules ---------------------------------------------------------------------------------

def _prom_template(text: str) -> str:
    """A catalogue 处理建议 template ({instance}, {value:.0f}, {unit}) as a Prometheus template."""
    out = []
    for literal, name, fmt, _conv in string.Formatter().parse(text):
        out.append(literal.replace("{{", "{").replace("}}", "}"))
        if name is None:
            continue
        if name == "instance":
            out.append("{{ $labels.instance }}")
        elif name == "value":
            out.append('{{ $value | printf "%' + (fmt or ".2f") + '" }}' if fmt else "{{ $value }}")
        else:
            out.append("")
    return "".join(out)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _selector(hosts: list[str] | None, lead: bool) -> str:
    if not hosts:
        return ""
    sel = 'host=~"' + "|".join(re.escape(h) for h in sorted(hosts)) + '"'
    return ("," + sel) if lead else sel


def _annotations(cat: Catalogue, check_id: str, summary: str, outcome: str = "") -> dict[str, str]:
    """Title and 处理建议 of the catalogue entry (of its named outcome when the rule judges that one)."""
    check = cat.checks[check_id]
    text = (check.outcomes[outcome].suggestion if outcome and check.outcomes[outcome].suggestion else "") \
        or check.suggestion or next((o.suggestion for o in check.outcomes.values() if o.suggestion), "")
    note = {"summary": summary, "title": check.title, "suggestion": _prom_template(text)}
    if check.rule:
        note["description"] = check.rule
    return note


def static_rules(hosts: list[HostLimits], cat: Catalogue | None = None) -> dict[str, Any]:
    """The static rule groups (recording rules of the series first, then the alerts)."""
    cat = cat or catalogue()
    sp = spec()
    recorded = [{"record": series_name(name), "expr": " ".join(s["expr"].split())} for name, s in sp["series"].items()]
    alerts: list[dict[str, Any]] = []
    for rule in sp["rules"]:
        cid = rule["id"]
        if cid not in cat.checks:
            raise YunweiError(f"monitoring rules: {cid} is not in the check catalogue")
        expr = " ".join(rule["expr"].split())
        base_labels = {"id": cid, "area": cat.checks[cid].area}
        if "threshold" not in rule:
            labels = {**base_labels, "severity": rule["severity"]}
            alerts.append({"alert": alert_name(cid), "expr": expr.replace("%SEL%", "").replace("%SEL0%", ""),
                           "for": rule["for"], "labels": labels,
                           "annotations": _annotations(cat, cid, rule["summary"], rule.get("outcome", ""))})
            continue
        key = rule["threshold"]
        for level in ("warn", "crit"):
            by_limit: dict[float, list[str]] = {}
            for h in hosts:
                by_limit.setdefault(h.limits[key][level], []).append(h.host)
            if not by_limit:
                by_limit = {getattr(cat.thresholds[key], level): []}
            for limit, members in sorted(by_limit.items()):
                only = members if len(by_limit) > 1 else None
                text = (rule["summary"].replace("%VALUE%", rule.get("value", "{{ $value }}"))
                        .replace("%UNIT%", rule.get("unit", "")).replace("%LEVEL%", LEVEL_TEXT[level])
                        .replace("%LIMIT%", _fmt(limit)))
                alerts.append({
                    "alert": alert_name(cid),
                    "expr": expr.replace("%LIMIT%", _fmt(limit)).replace("%SEL%", _selector(only, True))
                    .replace("%SEL0%", _selector(only, False)),
                    "for": rule["for"],
                    "labels": {**base_labels, "severity": SEVERITY[level], "level": level, "threshold": key,
                               "limit": _fmt(limit)},
                    "annotations": {**_annotations(cat, cid, text), "limit": _fmt(limit)},
                })
    return {"groups": [{"name": "yunwei-static", "rules": recorded + alerts}]}


# -- dynamic rules --------------------------------------------------------------------------------

def _dynamic_series() -> dict[str, tuple[str, str]]:
    """catalogue metric -> (series name, key label) for the metrics with a baseline and a series."""
    cat = catalogue()
    out = {}
    for name, s in spec()["series"].items():
        m = cat.metrics.get(s["metric"])
        if m is not None and m.baseline_direction:
            out[s["metric"]] = (name, s.get("key", ""))
    return out


STATIC_CRIT = {"cpu.used_pct": "cpu_pct", "mem.used_pct": "mem_pct", "load.per_core": "load_per_core",
               "fs.used_pct": "fs_pct", "disk.util_pct": "disk_util_pct", "web.latency_ms": "http_latency_ms"}


def dynamic_rules(store: Any, hosts: list[HostLimits], settings: DynamicSettings | None = None,
                  now: float | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The dynamic rule group and the thresholds it holds (for the CLI's summary)."""
    settings = settings or DynamicSettings()
    now = time.time() if now is None else now
    cat = catalogue()
    watched = _dynamic_series()
    since = now - settings.history_days * 86400
    start = datetime.fromtimestamp(now, tz=timezone.utc).replace(minute=0, second=0, microsecond=0)
    slots = [start + timedelta(hours=i) for i in range(HOURS_AHEAD)]
    records: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    for h in hosts:
        for metric, (sname, key) in sorted(watched.items()):
            spec_m = cat.metrics[metric]
            instances = sorted({inst for (name, _host, inst) in store.metric_names(h.host) if name == metric})
            for inst in instances:
                history = store.metric_series(metric, host=h.host, instance=inst, since=since)
                if len(history) < settings.min_samples:
                    continue
                for slot in slots:
                    base = bl.learn(history, slot.timestamp(), min_samples=settings.min_samples,
                                    min_bucket=settings.min_bucket, tz=settings.tz)
                    if base is None:
                        continue
                    band = bl.evaluate(base.median, base, warn_z=settings.warn_z, crit_z=max(settings.warn_z, 8.0),
                                       floor=spec_m.baseline_floor, direction=spec_m.baseline_direction)
                    bounds = []
                    if spec_m.baseline_direction in ("high", "both"):
                        high = band.high
                        crit_key = STATIC_CRIT.get(metric)
                        if crit_key:
                            high = min(high, h.limits[crit_key]["crit"])  # never looser than the reviewed crit
                        bounds.append(("high", high))
                    if spec_m.baseline_direction in ("low", "both") and band.low > 0:
                        bounds.append(("low", band.low))
                    for bound, value in bounds:
                        labels = {"host": h.host, "metric": metric, "bound": bound}
                        if key:
                            labels[key] = inst
                        guard = f"day_of_week() == {(slot.weekday() + 1) % 7} and hour() == {slot.hour}"
                        records.append({"record": "yunwei:dynamic_threshold",
                                        "expr": f"vector({_num(value)}) and on () ({guard})", "labels": labels})
                        table.append({"host": h.host, "metric": metric, "instance": inst, "bound": bound,
                                      "threshold": round(value, 3), "median": round(base.median, 3),
                                      "mad": round(base.mad, 3), "samples": base.n, "scope": base.scope,
                                      "hour_utc": slot.strftime("%Y-%m-%d %H:00")})
    alerts = []
    for metric, (sname, key) in sorted(watched.items()):
        m = cat.metrics[metric]
        area = m.area
        cid = f"{cat.areas[area]['prefix']}-ANOM-001"
        on = "host" + (f", {key}" if key and key != "instance" else "") + (", instance" if key == "instance" else "")
        what = f"{{{{ $labels.{key} }}}} " if key else ""
        for bound, op, word in (("high", ">", "高于"), ("low", "<", "低于")):
            if bound == "high" and m.baseline_direction == "low" or bound == "low" and m.baseline_direction == "high":
                continue
            sel = f'yunwei:dynamic_threshold{{metric="{metric}",bound="{bound}"}}'
            alerts.append({
                "alert": alert_name(cid),
                "expr": f"{series_name(sname)} {op} on ({on}) group_left () {sel}",
                "for": settings.for_,
                "labels": {"id": cid, "area": area, "severity": "warning", "metric": metric, "bound": bound},
                "annotations": {
                    "summary": (f"主机 {{{{ $labels.host }}}} {m.title} {what}{{{{ $value | printf \"%.2f\" }}}}{m.unit}"
                                f"，{word}该时段的动态基线阈值"),
                    "title": f"{cat.checks[cid].title}（{m.title}）",
                    "suggestion": m.baseline_suggestion,
                },
            })
    group = {"name": "yunwei-dynamic", "interval": "1s", "rules": records + (alerts if records else [])}
    return {"groups": [group]}, table


def _num(value: float) -> str:
    if not math.isfinite(value):
        raise YunweiError(f"dynamic threshold is not a finite number: {value!r}")
    return f"{value:.6g}"


# -- promtool and writing -------------------------------------------------------------------------

def promtool() -> str:
    """$YUNWEI_PROMTOOL, else promtool on PATH, else next to this Python (make bootstrap puts it in .venv/bin)."""
    env = os.environ.get("YUNWEI_PROMTOOL")
    if env:
        return env
    found = shutil.which("promtool") or (str(Path(sys.executable).parent / "promtool")
                                         if (Path(sys.executable).parent / "promtool").exists() else None)
    if not found:
        raise YunweiError("promtool not found: `make bootstrap` installs it into .venv/bin (from Debian's prometheus "
                          "package); or set $YUNWEI_PROMTOOL")
    return found


def check(paths: Iterable[Path]) -> str:
    """``promtool check rules`` on every file; raises :class:`RulesError` with its output."""
    files = [str(p) for p in paths]
    proc = subprocess.run([promtool(), "check", "rules", *files], capture_output=True, text=True, timeout=60)
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise RulesError("promtool check rules refused the rendered rules (the old rules stay in force):", out)
    return out


def dump(doc: Mapping[str, Any]) -> str:
    return ("# Generated by `yunwei alerts rules` (docs/monitoring.md); do not edit: the next render replaces it.\n"
            + yaml.safe_dump(dict(doc), allow_unicode=True, sort_keys=False, width=200))


def write_checked(out_dir: Path, files: Mapping[str, str]) -> str:
    """Write ``files`` into a fresh folder beside ``out_dir``, check them with promtool, then replace
    ``out_dir``'s files: a refused set never replaces the old one. Returns promtool's output."""
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".rules-", dir=out_dir.parent))
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        output = check(sorted(staging.iterdir()))
        for name in files:
            os.replace(staging / name, out_dir / name)
        return output
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def render(out_dir: Path, hosts: Mapping[str, Mapping[str, Any]], store: Any = None,
           settings: DynamicSettings | None = None, now: float | None = None) -> dict[str, Any]:
    """Validate the inputs, render static and dynamic rules, check them with promtool and replace the
    files in ``out_dir``. Returns a summary (counts, the dynamic thresholds, promtool's output)."""
    limits = host_limits(hosts)
    static = static_rules(limits)
    files = {STATIC_FILE: dump(static)}
    table: list[dict[str, Any]] = []
    if store is not None:
        dynamic, table = dynamic_rules(store, limits, settings, now)
        files[DYNAMIC_FILE] = dump(dynamic)
    else:
        files[DYNAMIC_FILE] = dump({"groups": [{"name": "yunwei-dynamic", "rules": []}]})
    output = write_checked(out_dir, files)
    return {"dir": str(out_dir), "files": sorted(files), "hosts": [h.host for h in limits],
            "static_alerts": sum(1 for r in static["groups"][0]["rules"] if "alert" in r),
            "dynamic_thresholds": table, "promtool": output}

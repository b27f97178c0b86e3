"""Validation of the catalogue's data files (the format is described in docs/data-model.md).

Strict on purpose: an unknown key is a typo until the schema says otherwise, so every field a
later kind needs (baseline rules, backup and drill checks, alert rules) is declared here, not
invented in a data file. Each problem names the file and the key.
"""

from __future__ import annotations

import math
import re
import string
from typing import Any

CHECK_KEYS = {
    "id", "title", "measures", "unit", "metric", "metrics", "thresholds", "outcomes", "suggestion", "rule",
    "instance", "profiles", "controls", "tags", "service", "severity", "vars", "anomaly",
    "params", "evidence", "manual", "enforce",  # baseline rules (kind baseline)
}
REQUIRED_CHECK_KEYS = {"id", "title", "measures"}
THRESHOLD_KEYS = {"warn", "crit", "direction", "description", "max", "unit"}  # unit: when not the check's
OUTCOME_KEYS = {"status", "when", "suggestion"}
PARAM_KEYS = {"default", "limit", "stricter", "description"}
# a baseline rule names the clause it checks and the GB/T 28448 test item that tests it
BASELINE_POLICIES = ("gb22239", "gb28448")
METRIC_KEYS = {"area", "title", "unit", "description", "baseline"}
BASELINE_KEYS = {"direction", "floor", "suggestion"}
# placeholders every 处理建议 template may use; a check's own go in its `vars`
TEMPLATE_FIELDS = {"instance", "value", "unit"}

METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
THRESHOLD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
OUTCOME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def template_fields(text: str) -> set[str]:
    """Names a str.format template refers to ({instance}, {value:.0f} -> instance, value)."""
    names = set()
    for _literal, name, _spec, _conv in string.Formatter().parse(text):
        if name is not None:
            names.add(re.split(r"[.\[]", name, maxsplit=1)[0])
    return names


def _vocabulary(v: Any, problems: list[str]) -> None:
    where = "vocabulary.yml"
    if not isinstance(v, dict):
        problems.append(f"{where}: must be a mapping")
        return
    for section in ("statuses", "kinds", "areas", "profiles", "services", "severities", "tags"):
        if not isinstance(v.get(section), dict) or not v[section]:
            problems.append(f"{where}: {section}: missing or empty")
    if problems:
        return
    for name, s in v["statuses"].items():
        if not isinstance(s, dict) or not _str(s.get("label")) or not isinstance(s.get("rank"), int) or "light" not in s:
            problems.append(f"{where}: statuses.{name}: needs label, an integer rank and light")
    for name, k in v["kinds"].items():
        sts = k.get("statuses") if isinstance(k, dict) else None
        if not isinstance(sts, list) or not sts or any(s not in v["statuses"] for s in sts) or not _str(k.get("title")):
            problems.append(f"{where}: kinds.{name}: needs a title and statuses from `statuses`")
    prefixes = set()
    for name, a in v["areas"].items():
        if not isinstance(a, dict) or not _str(a.get("title")) or a.get("kind") not in v["kinds"] \
                or not re.fullmatch(r"[A-Z]+", str(a.get("prefix", ""))):
            problems.append(f"{where}: areas.{name}: needs a title, an upper-case prefix and a known kind")
        elif a["prefix"] in prefixes:
            problems.append(f"{where}: areas.{name}: prefix {a['prefix']} used twice")
        else:
            prefixes.add(a["prefix"])
    for section in ("profiles", "services"):
        for name, p in v[section].items():
            if not isinstance(p, dict) or not _str(p.get("title")):
                problems.append(f"{where}: {section}.{name}: needs a title")
    for name, p in v["severities"].items():
        if not isinstance(p, dict) or not _str(p.get("label")):
            problems.append(f"{where}: severities.{name}: needs a label")


def _controls(docs: Any, problems: list[str]) -> set[str]:
    ids: set[str] = set()
    for doc in docs:
        pid = doc.get("id") if isinstance(doc, dict) else None
        where = f"controls/{pid}.yml"
        if not _str(pid) or not _str(doc.get("policy")) or not isinstance(doc.get("controls"), list):
            problems.append(f"{where}: needs id, policy and a list of controls")
            continue
        for i, c in enumerate(doc["controls"]):
            if not isinstance(c, dict) or not _str(c.get("id")) or not _str(c.get("title")):
                problems.append(f"{where}: controls[{i}]: needs id and title")
                continue
            full = f"{pid}:{c['id']}"
            if full in ids:
                problems.append(f"{where}: controls[{i}]: {full} defined twice")
            ids.add(full)
    for doc in docs:  # a test item names the clause it tests (gb28448 -> gb22239)
        for i, c in enumerate(doc.get("controls") or [] if isinstance(doc, dict) else []):
            if isinstance(c, dict) and "clause" in c and c["clause"] not in ids:
                problems.append(f"controls/{doc.get('id')}.yml: controls[{i}].clause: unknown control {c['clause']!r}")
    return ids


def _metrics(doc: Any, vocab: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    where = "metrics.yml"
    metrics = doc.get("metrics") if isinstance(doc, dict) else None
    if not isinstance(metrics, dict) or not metrics:
        problems.append(f"{where}: metrics: missing or empty")
        return {}
    for name, m in metrics.items():
        at = f"{where}: metrics.{name}"
        if not METRIC_NAME.match(str(name)):
            problems.append(f"{at}: not a dotted lower-case name")
        if not isinstance(m, dict):
            problems.append(f"{at}: must be a mapping")
            continue
        extra = sorted(set(m) - METRIC_KEYS)
        if extra:
            problems.append(f"{at}: unknown keys {', '.join(extra)}")
        if m.get("area") not in vocab["areas"]:
            problems.append(f"{at}.area: unknown area {m.get('area')!r}")
        if not _str(m.get("title")) or not isinstance(m.get("unit", ""), str) or not _str(m.get("description")):
            problems.append(f"{at}: needs title, description and a unit string ('' for none)")
        b = m.get("baseline")
        if b is not None:
            if not isinstance(b, dict) or set(b) - BASELINE_KEYS or b.get("direction") not in ("high", "low", "both") \
                    or not _number(b.get("floor")) or b["floor"] < 0 or not _str(b.get("suggestion")):
                problems.append(f"{at}.baseline: needs direction (high|low|both), a floor >= 0 and a suggestion")
    return metrics


def _check(e: dict[str, Any], at: str, area: str, vocab: dict[str, Any], metrics: dict[str, Any],
           controls: set[str], problems: list[str], all_params: frozenset[str] = frozenset()) -> list[str]:
    """Problems of one entry go to ``problems``; returns its threshold keys."""
    kind = vocab["areas"][area]["kind"]
    statuses = vocab["kinds"][kind]["statuses"]
    extra = sorted(set(e) - CHECK_KEYS)
    if extra:
        problems.append(f"{at}: unknown keys {', '.join(extra)}")
    missing = sorted(k for k in REQUIRED_CHECK_KEYS if not _str(e.get(k)))
    if missing:
        problems.append(f"{at}: missing {', '.join(missing)}")
    prefix = vocab["areas"][area]["prefix"]
    if not re.fullmatch(rf"{prefix}-[A-Z0-9]+-\d{{3}}", str(e.get("id", ""))):
        problems.append(f"{at}.id: must look like {prefix}-TOPIC-001 (area {area})")
    if "metric" in e and "metrics" in e:
        problems.append(f"{at}: metric and metrics both given")
    names = e["metrics"] if isinstance(e.get("metrics"), list) else ([e["metric"]] if "metric" in e else [])
    for name in names:
        if name not in metrics:
            problems.append(f"{at}: metric {name!r} is not in metrics.yml")
        elif metrics[name].get("area") != area:
            problems.append(f"{at}: metric {name!r} belongs to area {metrics[name].get('area')}, not {area}")
    if not isinstance(e.get("unit", ""), str):
        problems.append(f"{at}.unit: must be a string")
    keys: list[str] = []
    ths = e.get("thresholds") or {}
    if not isinstance(ths, dict):
        problems.append(f"{at}.thresholds: must be a mapping")
        ths = {}
    if ths and not {"warn", "crit"} <= set(statuses):
        problems.append(f"{at}.thresholds: kind {kind} has no warn/crit statuses to judge thresholds with")
    for key, t in ths.items():
        tat = f"{at}.thresholds.{key}"
        keys.append(key)
        if not THRESHOLD_NAME.match(str(key)):
            problems.append(f"{tat}: not a lower-case name")
        if not isinstance(t, dict) or set(t) - THRESHOLD_KEYS or not _number(t.get("warn")) \
                or not _number(t.get("crit")) or t.get("direction") not in ("high", "low") or not _str(t.get("description")):
            problems.append(f"{tat}: needs numeric warn and crit, direction (high|low) and a description")
            continue
        if (t["direction"] == "high" and t["warn"] > t["crit"]) or (t["direction"] == "low" and t["warn"] < t["crit"]):
            problems.append(f"{tat}: warn and crit are inverted for direction {t['direction']}")
        if "max" in t and (not _number(t["max"]) or not 0 <= max(t["warn"], t["crit"]) <= t["max"]):
            problems.append(f"{tat}.max: must be a number at least as large as warn and crit")
    outcomes = e.get("outcomes") or {}
    if not isinstance(outcomes, dict):
        problems.append(f"{at}.outcomes: must be a mapping")
        outcomes = {}
    for name, o in outcomes.items():
        oat = f"{at}.outcomes.{name}"
        if not OUTCOME_NAME.match(str(name)) or not isinstance(o, dict) or set(o) - OUTCOME_KEYS or not _str(o.get("when")):
            problems.append(f"{oat}: needs a lower-case name and `when`; keys {', '.join(sorted(OUTCOME_KEYS))}")
            continue
        if "status" in o and o["status"] not in statuses:
            problems.append(f"{oat}.status: {o['status']!r} is not a status of kind {kind} ({', '.join(statuses)})")
        if "status" not in o and not ths:
            problems.append(f"{oat}: without a status the thresholds decide, but the check has none")
        if o.get("status") not in (None, statuses[0]):
            if not _str(o.get("suggestion")) and not _str(e.get("suggestion")):
                problems.append(f"{oat}: can turn {o['status']} but neither it nor the check has a suggestion")
    if e.get("anomaly") is not None and not isinstance(e["anomaly"], bool):
        problems.append(f"{at}.anomaly: must be true or false")
    if ths and not _str(e.get("suggestion")):
        problems.append(f"{at}: a check judged by thresholds needs a suggestion (处理建议)")
    params = _params(e, at, kind, problems)
    allowed = TEMPLATE_FIELDS | set(e.get("vars") or ()) | set(params) | (all_params if kind == "baseline" else set())
    for text_at, text in [(f"{at}.suggestion", e.get("suggestion")), (f"{at}.rule", e.get("rule"))] + [
            (f"{at}.outcomes.{n}.suggestion", o.get("suggestion")) for n, o in outcomes.items() if isinstance(o, dict)]:
        if text is None:
            continue
        if not isinstance(text, str):
            problems.append(f"{text_at}: must be a string")
            continue
        try:
            unknown = template_fields(text) - allowed
        except ValueError as exc:
            problems.append(f"{text_at}: not a valid template ({exc})")
            continue
        if unknown:
            problems.append(f"{text_at}: unknown placeholders {', '.join(sorted(unknown))} (declare them in vars)")
    for field, known, label in (("profiles", vocab["profiles"], "profile"), ("controls", controls, "control"),
                                ("tags", vocab["tags"], "tag")):
        values = e.get(field) or []
        if not isinstance(values, list):
            problems.append(f"{at}.{field}: must be a list")
            continue
        for value in values:
            if value not in known:
                problems.append(f"{at}.{field}: unknown {label} {value!r}")
    if "service" in e and e["service"] not in vocab["services"]:
        problems.append(f"{at}.service: unknown service {e['service']!r}")
    if "severity" in e and e["severity"] not in vocab["severities"]:
        problems.append(f"{at}.severity: unknown severity {e['severity']!r}")
    if kind == "baseline":
        _baseline_rule(e, at, problems)
    elif any(k in e for k in ("params", "evidence", "manual", "enforce")):
        problems.append(f"{at}: params, evidence, manual and enforce belong to baseline rules (kind {kind})")
    return keys


def _params(e: dict[str, Any], at: str, kind: str, problems: list[str]) -> dict[str, Any]:
    """A rule's parameters {name: {default, limit, stricter, description}}: what a site may tighten
    (never loosen below ``limit``, the 等保 floor) with baseline_params."""
    params = e.get("params") or {}
    if not isinstance(params, dict):
        problems.append(f"{at}.params: must be a mapping")
        return {}
    for name, p in params.items():
        pat = f"{at}.params.{name}"
        if not THRESHOLD_NAME.match(str(name)):
            problems.append(f"{pat}: not a lower-case name")
        if not isinstance(p, dict) or set(p) - PARAM_KEYS or not _number(p.get("default")) \
                or not _number(p.get("limit")) or p.get("stricter") not in ("higher", "lower", "bits") \
                or not _str(p.get("description")):
            problems.append(f"{pat}: needs numeric default and limit, stricter (higher|lower|bits) and a description")
            continue
        if not param_ok(p, p["default"]):
            problems.append(f"{pat}: the default {p['default']} is weaker than the limit {p['limit']}")
    return params


def param_ok(spec: dict[str, Any], value: Any) -> bool:
    """``value`` is at least as strict as the parameter's ``limit``. ``bits``: octal digits written as a
    number (027), the value must mask every bit the limit masks."""
    if not _number(value):
        return False
    limit = spec["limit"]
    if spec["stricter"] == "higher":
        return value >= limit
    if spec["stricter"] == "lower":
        return value <= limit
    try:
        v, lim = int(str(int(value)), 8), int(str(int(limit)), 8)
    except ValueError:  # digits 8 or 9: not an octal mask
        return False
    return 0 <= v <= 0o777 and v & lim == lim


def _baseline_rule(e: dict[str, Any], at: str, problems: list[str]) -> None:
    for key in ("severity", "evidence", "suggestion", "rule"):
        if not _str(e.get(key)):
            problems.append(f"{at}: a baseline rule needs {key}")
    controls = e.get("controls") or []
    for policy in BASELINE_POLICIES:
        if not any(str(c).startswith(policy + ":") for c in controls if isinstance(c, str)):
            problems.append(f"{at}.controls: a baseline rule names its {policy} control")
    manual = e.get("manual", False)
    if not isinstance(manual, bool):
        problems.append(f"{at}.manual: must be true or false")
    if manual:
        if "enforce" in e or e.get("params"):
            problems.append(f"{at}: a manual item has neither enforce nor params")
    elif not isinstance(e.get("enforce"), bool):
        problems.append(f"{at}.enforce: an automated rule says whether enforce remediates it (true or false)")
    if e.get("thresholds") or e.get("outcomes"):
        problems.append(f"{at}: a baseline rule is judged by yunwei.baseline.rules, not by thresholds or outcomes")


def validate(raw: dict[str, Any]) -> list[str]:
    """Every problem of the catalogue's parsed files (``yunwei.catalogue.read_raw``); [] when valid."""
    problems: list[str] = []
    vocab = raw.get("vocabulary")
    _vocabulary(vocab, problems)
    if problems:
        return problems
    controls = _controls(raw.get("controls") or [], problems)
    metrics = _metrics(raw.get("metrics"), vocab, problems)
    ids: dict[str, str] = {}
    threshold_owner: dict[str, str] = {}
    param_owner: dict[str, str] = {}
    for source, doc in raw.get("checks") or []:  # parameter names are global: a rule may use another's
        for e in (doc.get("checks") or []) if isinstance(doc, dict) and isinstance(doc.get("checks"), list) else []:
            if isinstance(e, dict) and isinstance(e.get("params"), dict):
                for name in e["params"]:
                    if name in param_owner:
                        problems.append(f"{source}: {e.get('id')}: parameter {name} also belongs to {param_owner[name]}")
                    param_owner.setdefault(str(name), str(e.get("id")))
    all_params = frozenset(param_owner)
    for source, doc in raw.get("checks") or []:
        if not isinstance(doc, dict) or doc.get("area") not in vocab["areas"] or not isinstance(doc.get("checks"), list):
            problems.append(f"{source}: needs `area` (one of {', '.join(vocab['areas'])}) and a list `checks`")
            continue
        for i, e in enumerate(doc["checks"]):
            at = f"{source}: checks[{i}]"
            if not isinstance(e, dict):
                problems.append(f"{at}: must be a mapping")
                continue
            at = f"{source}: {e.get('id', f'checks[{i}]')}"
            cid = str(e.get("id", ""))
            if cid in ids:
                problems.append(f"{at}: id also defined in {ids[cid]}")
            ids[cid] = source
            for key in _check(e, at, doc["area"], vocab, metrics, controls, problems, all_params):
                if key in threshold_owner:
                    problems.append(f"{at}: threshold {key} also belongs to {threshold_owner[key]}")
                threshold_owner[key] = cid
    if not ids:
        problems.append("checks/: no checks")
    return problems

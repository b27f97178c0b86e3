"""The check catalogue: every check id yunwei can record, as data (``data/``).

One entry per check (id, area, Chinese title, what it measures and its unit, the thresholds it
is judged against with their defaults and direction, the metrics it records, the named outcomes a
collector may report, the 处理建议 template, the controls it evidences), plus the vocabulary
every part of yunwei shares: statuses and their order per kind, areas, profiles, services,
metrics. Collectors compute values; the judge (:mod:`yunwei.inspection.judge`), the reports,
the docs (``make docs``) and the synthetic test journal read this. docs/data-model.md describes
the format; :mod:`yunwei.catalogue.schema` validates it.

    from yunwei.catalogue import catalogue
    cat = catalogue()
    cat.checks["HOST-FS-001"].title          # 文件系统使用率
    cat.thresholds["fs_pct"].warn            # 80.0
    cat.worst("ok", "crit", "warn")          # crit
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from yunwei.errors import YunweiError

DATA = Path(__file__).resolve().parent / "data"

__all__ = [
    "DATA", "Catalogue", "CatalogueError", "CheckDef", "MetricDef", "Outcome", "Threshold", "catalogue",
    "load", "validate_thresholds",
]


class CatalogueError(YunweiError):
    """The catalogue's data is malformed: a defect of the installed package, not of the site's input."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("check catalogue: " + "; ".join(problems), exit_code=2)
        self.problems = problems


@dataclass(frozen=True)
class Threshold:
    """A threshold key (what ``inspection_thresholds`` overrides) and its default limits."""

    key: str
    check: str
    warn: float
    crit: float
    direction: str  # high: bigger is worse (warn <= crit); low: smaller is worse (warn >= crit)
    unit: str
    description: str
    maximum: float | None = None  # largest valid limit (shares of a whole: 101, which switches a level off)

    def inverted(self, warn: float, crit: float) -> bool:
        return warn > crit if self.direction == "high" else warn < crit


@dataclass(frozen=True)
class Outcome:
    """A named result a collector may report instead of (or besides) a judged value."""

    name: str
    status: str | None  # None: the thresholds decide; the outcome only brings its suggestion
    when: str
    suggestion: str | None


@dataclass(frozen=True)
class CheckDef:
    id: str
    kind: str
    area: str
    title: str
    measures: str = ""
    unit: str = ""
    metrics: tuple[str, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    suggestion: str = ""
    rule: str = ""
    instance: str = ""
    profiles: tuple[str, ...] = ()  # empty: every profile
    controls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    service: str = ""
    severity: str = ""
    vars: tuple[str, ...] = ()
    anomaly: bool = False
    source: str = ""  # the data file, for messages
    # baseline rules (kind baseline): parameters {name: {default, limit, stricter, description}}, the
    # evidence recorded (or, for a manual item, to collect), whether enforce remediates it, manual items
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: str = ""
    enforce: bool = False
    manual: bool = False

    @property
    def is_info(self) -> bool:
        """Recorded, never judged: no thresholds and no outcome that changes the status."""
        return not self.thresholds and not any(o.status for o in self.outcomes.values())


@dataclass(frozen=True)
class MetricDef:
    name: str
    area: str
    title: str
    unit: str
    description: str
    baseline_direction: str = ""  # high | low | both when judged against its history
    baseline_floor: float = 0.0
    baseline_suggestion: str = ""


@dataclass(frozen=True)
class Catalogue:
    statuses: dict[str, dict[str, Any]]
    kinds: dict[str, dict[str, Any]]
    areas: dict[str, dict[str, Any]]
    profiles: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]
    severities: dict[str, dict[str, Any]]
    tags: dict[str, str]
    controls: dict[str, dict[str, Any]]
    checks: dict[str, CheckDef]
    metrics: dict[str, MetricDef]
    thresholds: dict[str, Threshold]

    # -- statuses -------------------------------------------------------------------------
    def rank(self, status: str | None) -> int:
        """Severity of a status across kinds (0 best); unknown statuses rank worst."""
        if status is None:
            return -1
        info = self.statuses.get(status)
        return int(info["rank"]) if info else max(int(s["rank"]) for s in self.statuses.values()) + 1

    def worst(self, *statuses: str) -> str:
        """The most severe of ``statuses`` (the first of equals); 'ok' of none."""
        return max(statuses, key=self.rank) if statuses else "ok"

    def label(self, status: str | None) -> str:
        return self.statuses[status]["label"] if status in self.statuses else (status or "无数据")

    def kind_statuses(self, kind: str) -> tuple[str, ...]:
        return tuple(self.kinds[kind]["statuses"])

    # -- areas, metrics ---------------------------------------------------------------------
    def area_title(self, area: str | None) -> str:
        return self.areas[area]["title"] if area in self.areas else (area or "其他")

    def metric_area(self, name: str) -> str:
        """Area of a metric: from the catalogue, else by its name's first part (web.*, db.*, else host)."""
        m = self.metrics.get(name)
        if m is not None:
            return m.area
        head = str(name).split(".", 1)[0]
        return head if head in self.areas else "host"

    def checks_of(self, area: str | None = None, kind: str | None = None) -> list[CheckDef]:
        return [c for c in self.checks.values() if (area is None or c.area == area) and (kind is None or c.kind == kind)]

    def params(self) -> dict[str, dict[str, Any]]:
        """Every baseline rule parameter {name: {default, limit, stricter, description, rule}} (names are global)."""
        return {name: {**spec, "rule": c.id} for c in self.checks.values() for name, spec in c.params.items()}

    def tagged(self, tag: str) -> frozenset[str]:
        return frozenset(c.id for c in self.checks.values() if tag in c.tags)


def _num(value: Any) -> float:
    return float(value)


def _build(raw: dict[str, Any]) -> Catalogue:
    vocab = raw["vocabulary"]
    areas = vocab["areas"]
    controls: dict[str, dict[str, Any]] = {}
    for policy in raw["controls"]:
        for c in policy["controls"]:
            controls[f"{policy['id']}:{c['id']}"] = {**c, "policy": policy["policy"]}
    checks: dict[str, CheckDef] = {}
    thresholds: dict[str, Threshold] = {}
    order = list(areas)
    for source, doc in sorted(raw["checks"], key=lambda item: order.index(item[1]["area"])):
        area = doc["area"]
        for e in doc["checks"]:
            ths = tuple(
                Threshold(key=k, check=e["id"], warn=_num(v["warn"]), crit=_num(v["crit"]), direction=v["direction"],
                          unit=str(v.get("unit", e.get("unit", ""))), description=str(v.get("description", "")),
                          maximum=None if v.get("max") is None else float(v["max"]))
                for k, v in (e.get("thresholds") or {}).items())
            for t in ths:
                thresholds[t.key] = t
            outcomes = {name: Outcome(name=name, status=o.get("status"), when=str(o.get("when", "")),
                                      suggestion=o.get("suggestion"))
                        for name, o in (e.get("outcomes") or {}).items()}
            metrics = tuple(e["metrics"]) if "metrics" in e else ((e["metric"],) if e.get("metric") else ())
            checks[e["id"]] = CheckDef(
                id=e["id"], kind=areas[area]["kind"], area=area, title=e["title"], measures=str(e.get("measures", "")),
                unit=str(e.get("unit", "")), metrics=metrics, thresholds=ths, outcomes=outcomes,
                suggestion=str(e.get("suggestion", "")), rule=str(e.get("rule", "")), instance=str(e.get("instance", "")),
                profiles=tuple(e.get("profiles") or ()), controls=tuple(e.get("controls") or ()),
                tags=tuple(e.get("tags") or ()), service=str(e.get("service", "")), severity=str(e.get("severity", "")),
                vars=tuple(e.get("vars") or ()), anomaly=bool(e.get("anomaly", False)), source=source,
                params={k: dict(v) for k, v in (e.get("params") or {}).items()}, evidence=str(e.get("evidence", "")),
                enforce=bool(e.get("enforce", False)), manual=bool(e.get("manual", False)))
    metrics: dict[str, MetricDef] = {}
    for name, m in raw["metrics"]["metrics"].items():
        b = m.get("baseline") or {}
        metrics[name] = MetricDef(name=name, area=m["area"], title=m["title"], unit=str(m.get("unit", "")),
                                  description=str(m.get("description", "")), baseline_direction=b.get("direction", ""),
                                  baseline_floor=float(b.get("floor", 0.0)), baseline_suggestion=b.get("suggestion", ""))
    return Catalogue(statuses=vocab["statuses"], kinds=vocab["kinds"], areas=areas, profiles=vocab["profiles"],
                     services=vocab["services"], severities=vocab["severities"], tags=vocab["tags"],
                     controls=controls, checks=checks, metrics=metrics, thresholds=thresholds)


def _read(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader


def read_raw(data: Path = DATA) -> dict[str, Any]:
    """The catalogue's files as parsed YAML: vocabulary, metrics, controls, checks [(file, doc)]."""
    return {
        "vocabulary": _read(data / "vocabulary.yml"),
        "metrics": _read(data / "metrics.yml"),
        "controls": [_read(p) for p in sorted((data / "controls").glob("*.yml"))],
        "checks": [(str(p.relative_to(data)), _read(p)) for p in sorted((data / "checks").glob("*.yml"))],
    }


def load(data: Path | str = DATA) -> Catalogue:
    """Read and validate the catalogue in ``data``; CatalogueError names every problem."""
    from yunwei.catalogue.schema import validate

    raw = read_raw(Path(data))
    problems = validate(raw)
    if problems:
        raise CatalogueError(problems)
    return _build(raw)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The installed catalogue, read and validated once per process: it ships with the package
    and is not configurable by a site, so a broken data file fails loudly instead of mis-judging."""
    return load(DATA)


# -- threshold overrides (inspection_thresholds and its layers) ------------------------------

def _type_name(value: Any) -> str:
    """The plain type name of ``value`` (not the tagged wrapper types of Ansible's templating)."""
    try:
        from ansible.module_utils.datatag import native_type_name

        return str(native_type_name(value))
    except Exception:  # noqa: BLE001 - ansible absent or older: the plain name
        return type(value).__name__


def validate_thresholds(data: Any, name: str = "thresholds", origin: Any = None,
                        cat: Catalogue | None = None, areas: Any = None) -> list[str]:
    """Problems (each naming ``name`` and the key) of a threshold override mapping; [] when well formed.

    ``data``: {threshold key: {warn: N, crit: N}}, either limit optional; a missing one keeps the
    default when checking the order. A limit is a finite number from 0 up to the threshold's
    ``max`` (101 for shares of a whole: 101 switches a level off). ``origin(*values)``, when given,
    says where the first of ``values`` was written (" (file:line)"); the role's filter passes
    Ansible's origin tags. ``areas``: only the thresholds of checks of these areas are known (the
    inspection's variables cannot set a backup limit, nor the backup role's an inspection one).
    """
    cat = cat or catalogue()
    known = {k: t for k, t in cat.thresholds.items() if areas is None or cat.checks[t.check].area in set(areas)}

    def at(*values: Any) -> str:
        return origin(*values) if origin else ""

    problems: list[str] = []
    if data is None:
        return problems
    if not isinstance(data, dict):
        return [f"{name}: must be a mapping of threshold names to {{warn, crit}}, got {_type_name(data)}{at(data)}"]
    for key, limits in data.items():
        where = f"{name}.{key}"
        t = known.get(key) if isinstance(key, str) else None
        if t is None:
            problems.append(f"{where}: unknown threshold (known: {', '.join(sorted(known))}){at(limits, data)}")
            continue
        if not isinstance(limits, dict):
            problems.append(f"{where}: must be a mapping with warn and/or crit, got {limits!r}{at(limits, data)}")
            continue
        extra = sorted((str(k) for k in set(limits) - {"warn", "crit"}))
        if extra:
            problems.append(f"{where}: unknown keys {', '.join(extra)} (only warn, crit){at(limits)}")
        bad = False
        for part in ("warn", "crit"):
            val = limits.get(part)
            if val is None:
                continue
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                problems.append(f"{where}.{part}: must be a number, got {val!r}{at(val, limits)}")
            elif not math.isfinite(val):
                problems.append(f"{where}.{part}: must be a finite number, got {val!r}{at(val, limits)}")
            elif val < 0 or (t.maximum is not None and val > t.maximum):
                span = f"0 to {t.maximum:g}" if t.maximum is not None else ">= 0"
                problems.append(f"{where}.{part}: {val!r} is out of range ({span}){at(val, limits)}")
            else:
                continue
            bad = True
        if bad:
            continue
        warn = limits["warn"] if limits.get("warn") is not None else t.warn
        crit = limits["crit"] if limits.get("crit") is not None else t.crit
        if t.inverted(warn, crit):
            side = "above" if t.direction == "high" else "below"
            hint = "" if t.direction == "high" else "; smaller is worse here"
            problems.append(f"{where}: warn ({warn}) is {side} crit ({crit}){hint}{at(limits)}")
    return problems

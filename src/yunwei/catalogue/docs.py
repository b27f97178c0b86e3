"""The catalogue as Markdown: the checks, thresholds and metrics tables of docs/inspection.md and
docs/backup.md.

``make docs`` rewrites the parts of a page between ``<!-- catalogue:NAME -->`` and
``<!-- /catalogue:NAME -->`` markers; tests/unit/test_catalogue.py fails when a page is
stale. NAME is ``checks-AREA``, ``thresholds-AREA``, ``metrics-AREA``, ``controls``, or
``thresholds`` / ``metrics`` for the areas of the inspection kind.
``python -m yunwei.catalogue.docs [--check] PAGE...``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from yunwei.catalogue import Catalogue, CheckDef, catalogue

MARKER = re.compile(r"(<!-- catalogue:(?P<name>[a-z-]+) -->\n).*?(<!-- /catalogue:(?P=name) -->)", re.S)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def judged_by(c: CheckDef, cat: Catalogue) -> str:
    """How a check is judged, in a few words: its thresholds, then the outcomes that change the status."""
    if c.kind == "alert":
        return "Prometheus alert rule (docs/monitoring.md)"
    parts = [f"`{t.key}` ({'low: ' if t.direction == 'low' else ''}{_num(t.warn)} / {_num(t.crit)})" for t in c.thresholds]
    first = cat.kind_statuses(c.kind)[0]
    parts += [f"{o.when} = {o.status}" for o in c.outcomes.values() if o.status and o.status != first]
    if c.anomaly:
        parts = ["dynamic baseline"] + parts
    return "; ".join(parts) or "info (recorded, not judged)"


def checks_table(cat: Catalogue, area: str) -> str:
    rows = ["| id | title | what is measured | unit | judged by (warn / crit) | 等保 |", "|---|---|---|---|---|---|"]
    for c in cat.checks_of(area=area):
        measures = c.measures + (f" (per {c.instance})" if c.instance else "")
        if c.profiles:
            measures += f" [{', '.join(c.profiles)} only]"
        controls = ", ".join(x.split(":", 1)[1] for x in c.controls)
        rows.append(f"| {c.id} | {_cell(c.title)} | {_cell(measures)} | {_cell(c.unit)} | {_cell(judged_by(c, cat))} "
                    f"| {controls} |")
    return "\n".join(rows)


def thresholds_table(cat: Catalogue, areas: set[str]) -> str:
    rows = ["| key | check | warn | crit | direction | unit | what |", "|---|---|---|---|---|---|---|"]
    mine = [t for t in cat.thresholds.values() if cat.checks[t.check].area in areas]
    for t in sorted(mine, key=lambda t: (cat.checks[t.check].area != "host", cat.checks[t.check].area, t.check, t.key)):
        rows.append(f"| {t.key} | {t.check} | {_num(t.warn)} | {_num(t.crit)} | {t.direction} | {_cell(t.unit)} "
                    f"| {_cell(t.description)} |")
    return "\n".join(rows)


def metrics_table(cat: Catalogue, areas: set[str]) -> str:
    rows = ["| metric | area | unit | title | what | dynamic baseline |", "|---|---|---|---|---|---|"]
    for m in (m for m in cat.metrics.values() if m.area in areas):
        baseline = f"{m.baseline_direction}, floor {_num(m.baseline_floor)}" if m.baseline_direction else ""
        rows.append(f"| {m.name} | {m.area} | {_cell(m.unit)} | {_cell(m.title)} | {_cell(m.description)} | {baseline} |")
    return "\n".join(rows)


def controls_table(cat: Catalogue) -> str:
    """The 等保 clauses the inspection's checks evidence (the baseline's are in baseline_controls_table)."""
    rows = ["| control | clause | evidenced by |", "|---|---|---|"]
    for cid, c in cat.controls.items():
        ids = ", ".join(x.id for x in cat.checks.values() if cid in x.controls and x.kind != "baseline")
        if ids:
            rows.append(f"| {cid.split(':', 1)[1]} | {_cell(c['section'] + '：' + c['title'])} | {ids} |")
    return "\n".join(rows)


def _item(c: CheckDef) -> str:
    return ", ".join(x.split(":", 1)[1] for x in c.controls if x.startswith("gb28448:"))


def baseline_table(cat: Catalogue) -> str:
    """The baseline rules: id, test item, title, severity, how it is checked, the judgement, enforce."""
    rows = ["| id | 测评项 | title | severity | how it is checked | passes when | enforce |", "|---|---|---|---|---|---|---|"]
    for c in cat.checks_of(kind="baseline"):
        defaults = {k: _num(v["default"]) for k, v in cat.params().items()}
        rule = c.rule.format(**defaults) if c.rule else ""
        how = "manual (人工核查): " + c.evidence if c.manual else c.measures
        act = "—" if c.manual else ("yes" if c.enforce else "no (person)")
        rows.append(f"| {c.id} | {_item(c)} | {_cell(c.title)} | {c.severity} | {_cell(how)} | {_cell(rule)} | {act} |")
    return "\n".join(rows)


def baseline_controls_table(cat: Catalogue) -> str:
    """GB/T 28448-2019 test items of 8.1.4 with their clause and the rules that check them."""
    rows = ["| test item | clause | 测评指标 | rules |", "|---|---|---|---|"]
    for cid, c in cat.controls.items():
        if c.get("policy", "").startswith("GB/T 28448"):
            ids = ", ".join(x.id for x in cat.checks_of(kind="baseline") if cid in x.controls) or "— (not a server setting)"
            rows.append(f"| {c['id']} | {str(c.get('clause', '')).split(':', 1)[-1]} | {_cell(c['title'])} | {ids} |")
    return "\n".join(rows)


def params_table(cat: Catalogue) -> str:
    rows = ["| parameter | rule | default | at least as strict as | what |", "|---|---|---|---|---|"]
    for name, p in cat.params().items():
        rows.append(f"| {name} | {p['rule']} | {_num(p['default'])} | {_num(p['limit'])} ({p['stricter']}) "
                    f"| {_cell(p['description'])} |")
    return "\n".join(rows)


def sections(cat: Catalogue | None = None) -> dict[str, str]:
    cat = cat or catalogue()
    out = {f"checks-{area}": checks_table(cat, area) for area in cat.areas
           if cat.checks_of(area=area) and area != "baseline"}
    for area in cat.areas:
        out[f"thresholds-{area}"] = thresholds_table(cat, {area})
        out[f"metrics-{area}"] = metrics_table(cat, {area})
    inspection = {area for area, info in cat.areas.items() if info["kind"] == "inspection"}
    out.update({"thresholds": thresholds_table(cat, inspection), "metrics": metrics_table(cat, inspection),
                "controls": controls_table(cat), "baseline-rules": baseline_table(cat),
                "baseline-controls": baseline_controls_table(cat), "baseline-params": params_table(cat)})
    return out


def render(text: str, cat: Catalogue | None = None) -> str:
    """``text`` with every catalogue section between its markers regenerated; KeyError for an unknown one."""
    generated = sections(cat)

    def fill(m: re.Match[str]) -> str:
        return f"{m.group(1)}{generated[m.group('name')]}\n{m.group(3)}"

    return MARKER.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m yunwei.catalogue.docs", description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true", help="exit 1 when a page is stale, change nothing")
    args = ap.parse_args(argv)
    stale = []
    for page in args.pages:
        old = page.read_text(encoding="utf-8")
        new = render(old)
        if new != old:
            stale.append(str(page))
            if not args.check:
                page.write_text(new, encoding="utf-8")
    if stale:
        print(("stale (run `make docs`): " if args.check else "updated: ") + ", ".join(stale), file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

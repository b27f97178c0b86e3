"""The baseline audit through the yunwei command on one lab host: what it records, the report rendered
from it, and bad input refused before any host is contacted. (Enforce, idempotence, check mode and
Lynis before/after run in the Molecule scenario `baseline`.)"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from yunwei.store import open_store

pytestmark = [pytest.mark.lab]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONTROLLER_ONLY = {"ansible.builtin.assert", "ansible.builtin.validate_argument_spec", "ansible.builtin.debug",
                   "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.set_fact",
                   "validate_argument_spec", "assert"}


def _site_jobs(tmp_path: Path, lab, group_vars: dict) -> Path:
    """A site job catalogue whose baseline-audit reads an inventory with these group_vars."""
    inv = tmp_path / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    shutil.copy(lab.inventory, inv / "hosts.yml")
    (inv / "group_vars" / "all" / "baseline.yml").write_text(yaml.safe_dump(group_vars))
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(yaml.safe_dump({"jobs": {"baseline-audit": {
        "class": "read-only", "playbook": "playbooks/baseline_audit.yml", "inventory": str(inv)}}}))
    return jobs


def test_audit_records_every_rule_and_the_report_reads_it(yw, tmp_path):
    proc = yw("run", "baseline-audit", "-l", "web01")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open_store(yw.store) as s:
        run = s.list_runs(job="baseline-audit")[0]
        checks = s.checks(run_id=run.id)
        pct = [m for m in s.metrics(run_id=run.id) if m.name == "baseline.pass_pct" and m.instance == ""]
    from yunwei.catalogue import catalogue

    rules = {c.id for c in catalogue().checks_of(kind="baseline")}
    assert {c.id for c in checks} == rules and {c.host for c in checks} == {"web01"}
    by = {c.id: c for c in checks}
    assert {c.status for c in checks} <= {"pass", "fail", "manual", "not-applicable"}
    assert by["BASE-AUD-002"].status == "not-applicable" and "容器" in by["BASE-AUD-002"].evidence
    assert by["BASE-MAN-001"].status == "manual" and "需收集" in by["BASE-MAN-001"].evidence
    fails = [c for c in checks if c.status == "fail"]
    assert fails and all(c.suggestion for c in fails)
    assert len(pct) == 1 and 0 < pct[0].value < 100
    out = tmp_path / "out"
    proc = yw("report", "baseline", "--date", "today", "--format", "html,xlsx", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = next(out.glob("baseline-*.html")).read_text()
    assert "《安全基线核查报告》" in html and "web01" in html and fails[0].title in html


@pytest.mark.parametrize("group_vars,words", [
    ({"baseline_rule_base_ssh_999_enabled": False}, ["baseline_rule_base_ssh_999_enabled", "BASE-SSH-999"]),
    ({"baseline_params": {"minlen": 6}}, ["baseline_params.minlen", "group_vars/all/baseline.yml:2"]),
    ({"baseline_scan_paths": ["etc"]}, ["baseline_scan_paths: paths must be absolute"]),
])
def test_bad_input_exits_2_before_any_host_is_contacted(yw, lab, tmp_path, group_vars, words):
    jobs = _site_jobs(tmp_path, lab, group_vars)
    proc = yw("run", "baseline-audit", "--jobs", str(jobs), "-l", "web01")
    assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
    for w in words:
        assert w in proc.stderr, (w, proc.stderr[-2000:])
    with open_store(yw.store) as s:
        run = s.list_runs(limit=1)[0]
        actions = {r.action for r in s.task_results(run.id)}
        assert run.reason.startswith("bad input") and not s.checks(run_id=run.id)
    assert actions <= CONTROLLER_ONLY, actions


def test_waivers_edited_outside_review_are_refused_before_any_host(yw):
    active = yw.var / "baseline" / "waivers-active.yml"
    active.parent.mkdir(parents=True)
    active.write_text(yaml.safe_dump({"waivers": [{"rule": "BASE-SSH-011", "hosts": ["all"], "justification": "x",
                                                   "approver": "张伟", "expires": "2099-01-01"}]}))
    proc = yw("run", "baseline-audit", "-l", "web01")
    assert proc.returncode == 2 and "no approval record" in proc.stderr, proc.stderr[-2000:]
    (active.parent / "waivers-active.json").write_text(json.dumps({"digest": "sha256:0"}))
    proc = yw("run", "baseline-audit", "-l", "web01")
    assert proc.returncode == 2 and "edited outside review" in proc.stderr, proc.stderr[-2000:]

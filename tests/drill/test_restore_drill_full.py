"""The long set of the restore drills (`make drill`, not part of `make test`): the monthly restore test
of every data set as the schedule runs it - appdb, the site, and /etc of every lab host."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from yunwei.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_restore_drill_lab import env, last_run  # noqa: E402,F401 - the lab tests' fixture and reader

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_restore_test_of_every_data_set(env):  # noqa: F811
    assert main(["run", "restore_test", "-q"]) == 0
    run, checks, metrics = last_run("restore_test")
    assert run.status == "ok", run.reason
    hosts = ("backup01", "db01", "drill01", "offsite01", "web01")
    expected = {("DRILL-RESTORE-001", "appdb"), ("DRILL-ROWS-001", "appdb"), ("DRILL-MANIFEST-001", "site@web01")}
    expected |= {("DRILL-MANIFEST-001", f"etc@{h}") for h in hosts}
    assert expected <= set(checks)
    assert all(c.status == "pass" for c in checks.values()), [c.evidence for c in checks.values() if c.status != "pass"]
    assert all(metrics[("drill.total_s", f"etc@{h}")] > 0 for h in hosts)

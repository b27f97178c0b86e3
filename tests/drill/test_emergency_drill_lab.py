"""The emergency drill on the lab (issue 20; `make drill`, not `make test`): nginx stopped on web01,
detected by the inspection, recovered; the timeline and 《应急演练报告》 read from the journal. A host
outside group web is refused before anything is touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from yunwei.store import open_store

pytestmark = [pytest.mark.lab]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_web_tier_drill_detects_and_recovers(lab, tmp_path):
    var = tmp_path / "var"
    (var / "labs").mkdir(parents=True)
    (var / "labs" / lab.name).symlink_to(lab.inventory.parents[1])
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(tmp_path / "j.sqlite"),
           "YUNWEI_VAR": str(var), "YUNWEI_OPERATOR": "tester", "YUNWEI_LAB_NAME": lab.name}
    env.pop("YUNWEI_JOBS", None)

    def yw(*args):
        return subprocess.run([str(BIN / "yunwei"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)

    r = yw("run", "emergency-drill", "-q", "-e", "emergency_drill_web_host=db01")
    assert r.returncode == 2 and "db01 is not in group web" in r.stderr
    r = yw("run", "emergency-drill", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert lab.exec("web01", "sh", "-c", "service nginx status").returncode == 0     # left running
    with open_store(tmp_path / "j.sqlite") as store:
        from yunwei.reports.periods import client_tz, day_period
        from yunwei.special.drill import web_drill

        run = store.list_runs(job="emergency-drill")[0]
        w = web_drill(store, run, day_period(run.started_at.astimezone(client_tz()).date(), client_tz()))
    assert w["result"] == "通过" and w["host"] == "web01"
    assert any(d.startswith("WEB-NGINX-001") for d in w["detected"]) and w["remaining"] == []
    assert 0 < w["detect_s"] < w["recover_s"] < 300
    r = yw("report", "emergency-drill", "--month", run.started_at.astimezone(client_tz()).strftime("%Y-%m"),
           "--format", "html", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "发现故障" in next((tmp_path / "out").glob("*.html")).read_text(encoding="utf-8")

"""The stress test on the lab (issue 20), one short bounded run: two steps of 2 s up to 60 requests/s
from wrk on the bastion to web01 at its inventory address, recorded in the journal and reported; and
the refusals (target not marked for load tests, a bound missing, the mark passed with -e) exit 2 with
not one request sent (no request with the stress test's User-Agent in web01's access log)."""

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
LOG = "/var/log/nginx/yunwei.access.log"


@pytest.fixture()
def yw(lab, tmp_path):
    var = tmp_path / "var"
    (var / "labs").mkdir(parents=True)
    (var / "labs" / lab.name).symlink_to(lab.inventory.parents[1])
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(tmp_path / "j.sqlite"),
           "YUNWEI_VAR": str(var), "YUNWEI_OPERATOR": "tester", "YUNWEI_LAB_NAME": lab.name,
           "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("YUNWEI_JOBS", None)

    def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "yunwei"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)

    run.store = tmp_path / "j.sqlite"
    return run


def _requests_logged(lab) -> int:
    """Requests of the stress test in web01's access log (its User-Agent; the monitoring probes the site too)."""
    out = subprocess.run(["podman", "exec", lab.container("web01"), "grep", "-c", "yunwei-stress-test", LOG],
                         capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def test_stress_test_bounded_recorded_reported_and_refusals(yw, lab, tmp_path):
    bounds = ["-e", "stress_test_duration=2", "-e", "stress_test_max_rate=60", "-e", "stress_test_steps=2"]
    before = _requests_logged(lab)
    for args, words in (
        (["-e", "stress_test_target=db01", *bounds], "host db01 is not marked for load tests"),
        (["-e", "stress_test_target=web01", "-e", "stress_test_max_rate=60"], "stress_test_duration: missing"),
        (["-e", "stress_test_target=db01", "-e", "stress_test_allowed=true", *bounds], "stress_test_allowed"),
    ):
        r = yw("run", "stress-test", "-q", *args)
        assert r.returncode == 2 and words in r.stderr, r.stderr
    assert _requests_logged(lab) == before          # nothing started: not one request reached web01

    r = yw("run", "stress-test", "-q", "-e", "stress_test_target=web01", *bounds)
    assert r.returncode == 0, r.stdout + r.stderr
    sent = _requests_logged(lab) - before
    with open_store(yw.store) as store:
        run = store.list_runs(job="stress-test")[0]
        stress = next(t.result["stress"] for t in store.task_results(run.id)
                      if t.action == "yunwei.ops.load_test" and "stress" in t.result)
    steps = stress["steps"]
    assert stress["url"] == f"http://{lab.hosts['web01']}:80/"       # the inventory address, nothing else
    assert [s["rate"] for s in steps] == [30, 60] and all(s["p95_ms"] is not None for s in steps)
    total = sum(s["requests"] for s in steps)
    assert 0 < total <= 30 * 2 + 60 * 2 + 20        # paced: never above the step rates (+ first requests)
    assert total <= sent <= total + 20              # web01 saw them (wrk counts the completed ones)
    assert all(s["host"]["cpu_pct"] is not None and s["host"]["mem_pct"] > 0 for s in steps)

    out = tmp_path / "out"
    r = yw("report", "stress-test", "--format", "html,xlsx", "--out", str(out))
    assert r.returncode == 0, r.stderr
    html = next(out.glob("stress-test-*.html")).read_text(encoding="utf-8")
    assert "压力测试报告" in html and "各级结果" in html and "data:image/png" in html

"""The sampling interval of the host area and the one-call collector yunwei.ops.inspect.

The collectors run here against this machine's real /proc; only AnsibleModule is replaced by a
shim with the two methods the collectors use (run_command, get_bin_path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.yunwei.ops.plugins.module_utils import host_collector as hc  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils import host_probe as hp  # noqa: E402
from ansible_collections.yunwei.ops.plugins.module_utils import web_collector  # noqa: E402
from ansible_collections.yunwei.ops.plugins.modules import inspect as inspect_module  # noqa: E402
from yunwei.inspection.judge import judge_result  # noqa: E402


class Shim:
    """AnsibleModule's run_command and get_bin_path, backed by the real system."""

    def __init__(self, params: dict) -> None:
        self.params = params

    def run_command(self, args, data=None, cwd=None, environ_update=None, **_kw):
        proc = subprocess.run(args, input=data, cwd=cwd, env={**os.environ, **(environ_update or {})},
                              capture_output=True, text=True)
        return proc.returncode, proc.stdout, proc.stderr

    def get_bin_path(self, name, required=False, opt_dirs=None):
        found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *(opt_dirs or [])]))
        if required and not found:
            raise RuntimeError(f"{name} not found")
        return found


def host_params(**extra) -> dict:
    return {"expected_ports": [], "expected_processes": [], "updates": False, "fs_exclude": [],
            "updates_fingerprint": None, **extra}


def test_cpu_usage_counts_the_inspections_own_time_as_idle():
    first = {"cpu": [100, 0, 50, 1000, 0, 0, 0, 0]}
    second = {"cpu": [200, 0, 100, 1100, 0, 0, 0, 0]}  # user +100, system +50, idle +100
    assert hp.cpu_usage(first, second)["used_pct"] == pytest.approx(60.0)
    own = hp.cpu_usage(first, second, (80, 40))  # the inspection used 80 user + 40 system ticks
    assert own["used_pct"] == pytest.approx(12.0) and own["user_pct"] == pytest.approx(8.0)
    # more own time than the counters moved (tick rounding) never goes below zero
    assert hp.cpu_usage(first, second, (500, 500))["used_pct"] == pytest.approx(0.0)
    # a niced inspection: its user time is in the nice column; more own user time than the user column
    # moved still comes off (user +40, nice +80, system +50, idle +100; own user 100)
    niced = {"cpu": [140, 80, 100, 1100, 0, 0, 0, 0]}
    res = hp.cpu_usage(first, niced, (100, 0))
    assert res["user_pct"] == pytest.approx(100 * 20 / 270) and res["used_pct"] == pytest.approx(100 * 70 / 270)


def test_process_start_is_read_from_the_right_field():
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); "
            "from ansible_collections.yunwei.ops.plugins.module_utils import host_collector as hc; "
            "print(hc.boottime() - hc.process_start_boot())")
    age = float(subprocess.run([sys.executable, "-c", code, str(ROOT / ".collections")], capture_output=True,
                               text=True, check=True).stdout)
    assert 0 <= age < 10, age  # a fresh process started moments ago on the same clock


def test_counter_command_output_is_a_sample():
    out = subprocess.run(["/bin/sh", "-c", hp.COUNTER_COMMAND], capture_output=True, text=True, check=True).stdout
    sample = hp.parse_counters(out)
    assert abs(sample["boot"] - hc.boottime()) < 1.0  # /proc/uptime and CLOCK_BOOTTIME are the same clock
    assert len(sample["stat"]["cpu"]) == 8 and sum(sample["stat"]["cpu"]) > 0
    assert isinstance(sample["disk"], dict) and isinstance(sample["net"], dict)


@pytest.mark.parametrize("text", ["", "ssh: banner\n", "12.5 3.0\n--yunwei-counters--\nintr 1\n--yunwei-counters--\n"
                                  "--yunwei-counters--\n"])
def test_other_output_is_not_a_sample(text):
    with pytest.raises(ValueError):
        hp.parse_counters(text)


BOOT_ID = Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def reading(boot: float, **extra) -> dict:
    return {"boot": boot, "boot_id": BOOT_ID, "stat": {"cpu": [1] * 8},
            "disk": {"sda": [1, 2, 3, 4, 5], "loop0": [0] * 5}, "net": {"eth0": [1, 2, 3, 4, 5, 6]}, **extra}


def test_start_sample_is_used_only_when_it_brackets_this_process(monkeypatch):
    monkeypatch.setattr(hc, "uptime_offset", lambda: 0.0)
    now = hc.boottime()
    used = hc.start_sample(reading(now - 1.0), {"sda"}, started_boot=now - 0.5)
    assert used["boot"] == now - 1.0 and used["disk"] == {"sda": [1, 2, 3, 4, 5]} and used["own"] == (0, 0)
    assert hc.start_sample(reading(now - 1.0), {"sda"}, started_boot=now - 2.0) is None  # taken after we started
    assert hc.start_sample(reading(now - 400), None, started_boot=now - 0.5) is None  # stale
    assert hc.start_sample(reading(now - 1.0, boot_id="another-boot"), None, started_boot=now - 0.5) is None
    assert hc.start_sample(None, None, started_boot=now) is None
    for broken in ({"stat": {}}, {"stat": {"cpu": [1, 2]}}, {"disk": {"sda": [1, "x", 3, 4, 5]}},
                   {"net": {"eth0": [1, 2]}}, {"boot": "soon"}):
        assert hc.start_sample({**reading(now - 1.0), **broken}, None, started_boot=now - 0.5) is None, broken


def test_start_sample_time_is_moved_onto_the_module_clock(monkeypatch):
    """Under lxcfs /proc/uptime counts from the container's start, CLOCK_BOOTTIME from the host's boot."""
    container_started = 120.0
    real_read = hc.read
    monkeypatch.setattr(hc, "read", lambda path, default="": (
        "%.2f 0.00\n" % (hc.boottime() - container_started)) if path == "/proc/uptime" else real_read(path, default))
    now = hc.boottime()
    first = hc.start_sample(reading(now - container_started - 1.0), None, started_boot=now - 0.5)
    assert first is not None and first["boot"] == pytest.approx(now - 1.0, abs=0.02)


def test_host_area_with_a_start_sample_does_not_wait_the_interval_again(monkeypatch):
    first = hp.parse_counters(subprocess.run(["/bin/sh", "-c", hp.COUNTER_COMMAND], capture_output=True,
                                             text=True, check=True).stdout)
    # this test process started long before `first`: as if the module process started right after it
    monkeypatch.setattr(hc, "process_start_boot", lambda: first["boot"] + 0.01)
    time.sleep(2.1)  # the whole interval has passed, as it does while the other hosts are inspected
    began = time.monotonic()
    res = hc.HostInspector(Shim({}), host_params(sample_seconds=2.0)).inspect(start=first)
    took = time.monotonic() - began
    timings = res["facts"]["timings"]
    assert timings["first_sample"] == "host_sample" and timings["interval"] >= 2.0
    assert took < 1.5, took  # sampling inside the call would have taken at least 2 s
    assert any(c["id"] == "HOST-CPU-001" for c in res["findings"])


def test_other_areas_fill_the_interval_only_while_it_lasts():
    ran = []

    def other():
        ran.append(hc.boottime())

    params = host_params(sample_seconds=1.0)
    res = hc.HostInspector(Shim({}), params).inspect(during=[("web", other)])  # in-call: the interval is ahead
    assert res["facts"]["timings"]["areas_inside_interval"] is True and res["facts"]["timings"]["interval"] >= 1.0
    params = host_params(sample_seconds=0.0)
    res = hc.HostInspector(Shim({}), params).inspect(during=[("web", other)])  # the interval is already over
    assert res["facts"]["timings"]["areas_inside_interval"] is False and len(ran) == 2


def test_an_area_that_fails_is_a_probe_check_and_the_others_still_report(monkeypatch):
    def broken(self):
        raise RuntimeError("nginx probe exploded")

    monkeypatch.setattr(web_collector.WebInspector, "nginx", broken)
    params = {"sample_seconds": 0.05, "start_sample": None, "host": host_params(),
              "web": {"urls": [], "nginx": True, "stub_status_url": "", "error_log": "", "since": None,
                      "log_window": 86400},
              "db": None}
    res = judge_result(inspect_module.Inspection(Shim(params)).inspect())  # what the action plugin does with it
    probe = [c for c in res["checks"] if c["id"] == "WEB-PROBE-001"]
    assert len(probe) == 1 and probe[0]["status"] == "crit" and "nginx probe exploded" in probe[0]["evidence"]
    assert probe[0]["title"] == "网站巡检采集" and probe[0]["suggestion"]
    assert any(c["id"] == "HOST-FS-001" for c in res["checks"])  # the host area reported all the same
    assert set(res["areas"]) == {"host", "web"} and res["areas"]["web"]["crit"] == 1
    assert res["facts"]["timings"]["first_sample"] == "in-call"
    assert res["summary"]["crit"] == sum(1 for c in res["checks"] if c["status"] == "crit")


def test_a_collector_calling_fail_json_fails_its_area_only(monkeypatch, capsys):
    """get_bin_path(required=True) and run_command on OSError end in AnsibleModule.fail_json, which
    would print a result and exit: the real AnsibleModule, with a web area that cannot find a tool."""
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    def needs_missing_tool(self):
        self.module.get_bin_path("yunwei-no-such-tool", required=True)

    monkeypatch.setattr(web_collector.WebInspector, "nginx", needs_missing_tool)
    args = {"sample_seconds": 0.05, "host": host_params(), "web": {"error_log": ""}}
    with patch_module_args(args):
        spec = dict((area, dict(type="dict")) for area, mod in inspect_module.AREAS)
        module = AnsibleModule(argument_spec=dict(sample_seconds=dict(type="float"), start_sample=dict(type="dict"), **spec))
    res = inspect_module.Inspection(module).inspect()
    assert capsys.readouterr().out == ""  # nothing printed, no exit: the module can still report
    probe = [c for c in res["findings"] if c["id"] == "WEB-PROBE-001"]
    assert len(probe) == 1 and "yunwei-no-such-tool" in probe[0]["evidence"] and probe[0]["outcome"] == "failed"
    assert any(c["id"] == "HOST-FS-001" for c in res["findings"])


def test_invalid_area_options_fail_that_area_only():
    """yunwei.ops.inspect checks each area's options against its collector's spec inside the module."""
    params = {"sample_seconds": 0.05, "start_sample": None, "host": host_params(),
              "web": {"urls": [{"status": [200]}]}, "db": None}  # a URL entry without url
    res = judge_result(inspect_module.Inspection(Shim(params)).inspect())
    probe = [c for c in res["checks"] if c["id"] == "WEB-PROBE-001"]
    assert len(probe) == 1 and "options of the web area" in probe[0]["evidence"] and "url" in probe[0]["evidence"]
    assert any(c["id"] == "HOST-FS-001" for c in res["checks"])

"""The daily inspection on the lab (issue 4): real faults injected into the podman lab over real
SSH, each found with the right check id and status; every test restores what it broke.

The lab containers share the bastion's kernel, so CPU, load and disk figures are the whole
machine's (which this test suite itself keeps busy): those thresholds are lifted for the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from yunwei.catalogue import catalogue
from yunwei.store import Metric, Run, open_store

pytestmark = [pytest.mark.lab]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHARED_KERNEL = {
    "cpu_pct": {"warn": 101, "crit": 101},
    "iowait_pct": {"warn": 101, "crit": 101},
    "load_per_core": {"warn": 1000, "crit": 1000},
    "disk_util_pct": {"warn": 101, "crit": 101},
}


class Inspection:
    def __init__(self, run_id: str, rc: int, output: str, checks: list, store: Path) -> None:
        self.run_id, self.rc, self.output, self.checks, self.store = run_id, rc, output, checks, store

    def find(self, host: str, check_id: str, instance: str | None = None) -> list:
        return [c for c in self.checks if c.host == host and c.id == check_id
                and (instance is None or c.instance == instance)]

    def one(self, host: str, check_id: str, instance: str | None = None):
        found = self.find(host, check_id, instance)
        assert len(found) == 1, f"{host} {check_id} {instance}: {found}\n{self.output[-3000:]}"
        return found[0]

    def crits(self) -> list:
        return [c for c in self.checks if c.status == "crit"]

    def assert_in_catalogue(self) -> None:
        """Every id, category, metric and unit this run recorded is the catalogue's (issue 12)."""
        cat = catalogue()
        with open_store(self.store) as store:
            metrics = store.metrics(run_id=self.run_id)
        assert self.checks and metrics
        unknown = sorted({(c.id, c.category) for c in self.checks
                          if c.id not in cat.checks or cat.checks[c.id].area != c.category})
        assert unknown == [], unknown
        for c in self.checks:
            assert c.title.startswith(cat.checks[c.id].title), c
            assert c.status in cat.kind_statuses(cat.checks[c.id].kind), c
        assert sorted({m.name for m in metrics} - set(cat.metrics)) == []
        assert sorted({(m.name, m.unit) for m in metrics if m.unit != cat.metrics[m.name].unit}) == []


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return tmp_path_factory.mktemp("inspection") / "journal.sqlite"


@pytest.fixture(scope="module")
def inspect(lab, store_path, tmp_path_factory):
    """inspect(limit=..., overrides=..., extra=..., inventories=[...]) -> Inspection."""
    work = tmp_path_factory.mktemp("inspect-vars")

    def run(limit: str | None = None, overrides: dict | None = None, extra: dict | None = None,
            inventories: list[Path] | None = None, playbook: str = "playbooks/inspect.yml",
            updates: bool = False) -> Inspection:
        run_id = str(uuid.uuid4())
        evars = {"inspection_threshold_overrides": {**SHARED_KERNEL, **(overrides or {})},
                 "inspection_sample_seconds": 0.3, "inspection_updates_enabled": updates, **(extra or {})}
        vars_file = work / f"{run_id}.json"
        vars_file.write_text(json.dumps(evars))
        cmd = [str(BIN / "ansible-playbook"), playbook, "-e", f"@{vars_file}"]
        for inv in inventories or [lab.inventory]:
            cmd += ["-i", str(inv)]
        if limit:
            cmd += ["--limit", limit]
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(store_path),
               "YUNWEI_RUN_ID": run_id, "YUNWEI_JOB": "inspect", "YUNWEI_PROFILE": "daily",
               "ANSIBLE_FORCE_COLOR": "0", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        with open_store(store_path) as store:
            checks = store.checks(run_id=run_id)
        return Inspection(run_id, proc.returncode, proc.stdout + proc.stderr, checks, store_path)

    return run


def test_healthy_lab_has_no_crit(inspect):
    res = inspect(updates=True)
    assert res.rc == 0, res.output[-3000:]
    hosts = {c.host for c in res.checks}
    assert hosts == {"web01", "db01", "backup01", "offsite01", "drill01", "mon01"}
    assert res.crits() == [], [(c.host, c.id, c.instance, c.evidence) for c in res.crits()]
    assert res.one("web01", "WEB-NGINX-001").status == "ok"
    assert res.one("web01", "WEB-HTTP-003", "http://127.0.0.1/").status == "ok"
    assert res.one("db01", "DB-CONN-001").status == "ok"
    assert res.one("db01", "HOST-FS-001", "/srv/data").status == "ok"
    for c in res.checks:  # the data-model contract
        assert c.id and c.category in ("host", "web", "db", "backup") and c.title and c.status in ("ok", "warn", "crit")
        assert c.evidence, c
        assert (c.status == "ok") or c.suggestion, c
    res.assert_in_catalogue()
    # one collector call per host; its sampling interval started at the host_sample task
    with open_store(res.store) as store:
        task_results = store.task_results(res.run_id)
    results = [r for r in task_results if r.action == "yunwei.ops.inspect"]
    first = {r.host: r for r in task_results if r.action == "yunwei.ops.host_sample"}
    assert sorted(r.host for r in results) == ["backup01", "db01", "drill01", "mon01", "offsite01", "web01"]
    for r in results:
        data = r.result
        timings = data["facts"]["timings"]
        assert timings["first_sample"] == "host_sample", (r.host, timings)
        # the interval began with this run's host_sample task, not with some other reading
        assert timings["interval"] <= (r.ended_at - first[r.host].started_at).total_seconds() + 0.05, (r.host, timings)
        assert set(data["areas"]) == {"web01": {"host", "web"}, "db01": {"host", "db"}}.get(r.host, {"host"})
    # the backup area: one status call per repository host and database host, judged on the controller
    status = {r.host: r.result for r in task_results if r.action == "yunwei.ops.backup_status" and r.status != "skipped"}
    assert sorted(status) == ["backup01", "db01", "offsite01"], sorted(status)
    backup = {(c.host, c.id, c.instance) for c in res.checks if c.category == "backup"}
    assert {("backup01", "BACKUP-AGE-001", "appdb/repo1"), ("offsite01", "BACKUP-OFFSITE-001", "appdb/repo2"),
            ("db01", "BACKUP-WAL-001", "appdb"), ("backup01", "BACKUP-REPO-001", "/srv/backup/pgbackrest"),
            ("backup01", "BACKUP-VERIFY-001", "site/primary")} <= backup, sorted(backup)
    assert all("findings" not in data and data["rows"] for data in status.values())


def test_nginx_stopped(lab, inspect):
    lab.exec("web01", "service", "nginx", "stop")
    try:
        res = inspect(limit="web01")
        assert res.one("web01", "WEB-NGINX-001").status == "crit"
        assert res.one("web01", "WEB-HTTP-001", "http://127.0.0.1/").status == "crit"
        assert res.one("web01", "HOST-PORT-001").status == "crit"  # port 80 expected
        assert res.one("web01", "HOST-SVC-002").status == "crit"  # nginx process expected
        assert "service nginx start" in res.one("web01", "WEB-NGINX-001").suggestion
    finally:
        lab.exec("web01", "service", "nginx", "start")
    assert lab.exec("web01", "service", "nginx", "status", check=False).returncode == 0


def test_filesystem_filled_above_threshold(lab, inspect):
    lab.exec("db01", "dd", "if=/dev/zero", "of=/srv/data/yunwei-fill", "bs=1M", "count=60", "status=none")
    try:
        res = inspect(limit="db01", extra={"inspection_db_enabled": False})
        fs = res.one("db01", "HOST-FS-001", "/srv/data")
        assert fs.status == "crit" and fs.value > 90, fs
        assert "/srv/data" in fs.suggestion
    finally:
        lab.exec("db01", "rm", "-f", "/srv/data/yunwei-fill")


def test_without_presample_both_readings_are_inside_the_call(lab, inspect):
    res = inspect(limit="web01", extra={"inspection_presample": False, "inspection_sample_seconds": 1.0})
    assert res.rc == 0, res.output[-3000:]
    with open_store(res.store) as store:
        results = store.task_results(res.run_id)
    data = next(r.result for r in results if r.action == "yunwei.ops.inspect")
    assert [r.status for r in results if r.action == "yunwei.ops.host_sample"] == ["skipped"]
    assert data["facts"]["timings"]["first_sample"] == "in-call"
    assert data["facts"]["timings"]["areas_inside_interval"] is True  # web01's web area filled the wait
    assert res.one("web01", "HOST-CPU-001").status == "ok" and res.one("web01", "WEB-NGINX-001").status == "ok"


def test_heightened_profile_is_stricter(lab, inspect):
    """/srv/data at ~78 %: ok under daily (warn 80), warn under heightened (warn 75)."""
    lab.exec("drill01", "dd", "if=/dev/zero", "of=/srv/data/yunwei-fill", "bs=1M", "count=50", "status=none")
    try:
        daily = inspect(limit="drill01", extra={"inspection_sample_seconds": 0.1})
        heightened = inspect(limit="drill01", extra={"inspection_sample_seconds": 0.1, "inspection_profile": "heightened"})
        d, h = daily.one("drill01", "HOST-FS-001", "/srv/data"), heightened.one("drill01", "HOST-FS-001", "/srv/data")
        assert d.status == "ok" and h.status == "warn", (d, h)
        assert h.threshold == {"warn": 75, "crit": 85}
    finally:
        lab.exec("drill01", "rm", "-f", "/srv/data/yunwei-fill")


def test_postgresql_stopped(lab, inspect):
    lab.exec("db01", "pg_ctlcluster", "15", "main", "stop")
    try:
        res = inspect(limit="db01")
        conn = res.one("db01", "DB-CONN-001")
        assert conn.status == "crit" and "pg_isready" in conn.evidence
        assert res.one("db01", "HOST-PORT-001").status == "crit"  # 5432 expected
    finally:
        lab.exec("db01", "pg_ctlcluster", "15", "main", "start")
    assert lab.exec("db01", "pg_isready", "-q", check=False).returncode == 0


def _wait_idle_in_transaction(lab, application_name: str, at_least_s: float, timeout: float = 60) -> None:
    """Poll until the session sits idle in its transaction for ``at_least_s`` (no fixed sleep:
    on a loaded machine the session may take a while to start)."""
    query = (
        "SELECT COALESCE(max(extract(epoch FROM now() - state_change)), -1) FROM pg_stat_activity "
        f"WHERE application_name = '{application_name}' AND state = 'idle in transaction'"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = lab.exec("db01", "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-c", query, check=False)
        if out.returncode == 0 and float(out.stdout.strip() or -1) >= at_least_s:
            return
        time.sleep(0.5)
    raise AssertionError(f"no session {application_name!r} idle in transaction for {at_least_s}s within {timeout}s")


def test_transaction_left_open(lab, inspect):
    # a real session: BEGIN, take a transaction id, then sit idle in the transaction
    psql = subprocess.Popen(
        ["podman", "exec", "-i", lab.container("db01"), "runuser", "-u", "postgres", "--",
         "psql", "-XAtq", "-d", "appdb"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        psql.stdin.write("BEGIN; SELECT txid_current(); SET application_name = 'yunwei-open-tx';\n")
        psql.stdin.flush()
        _wait_idle_in_transaction(lab, "yunwei-open-tx", at_least_s=6)
        res = inspect(limit="db01", overrides={"db_idle_in_tx_s": {"warn": 2, "crit": 5},
                                               "db_tx_age_s": {"warn": 2, "crit": 5}},
                      extra={"inspection_host_enabled": False})
        idle = res.one("db01", "DB-SESS-002")
        assert idle.status == "crit" and idle.value >= 5, idle
        assert "pg_terminate_backend" in idle.suggestion
        assert res.one("db01", "DB-TX-001").status == "crit"
    finally:
        psql.stdin.close()
        psql.terminate()
        psql.wait(timeout=10)
        lab.exec("db01", "runuser", "-u", "postgres", "--", "psql", "-XAtq", "-c",
                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'yunwei-open-tx'")


PROBE_REPO = "/var/tmp/yunwei-probe-repo"
MAKE_PROBE = f"""set -e
d=$(mktemp -d)
for v in 1.0 1.1; do
  mkdir -p $d/p$v/DEBIAN
  printf 'Package: yunwei-probe\\nVersion: %s\\nArchitecture: all\\nMaintainer: yunwei <ops@example.invalid>\\nDescription: inspection test package\\n' $v > $d/p$v/DEBIAN/control
  dpkg-deb -b $d/p$v $d/yunwei-probe_$v.deb >/dev/null
done
dpkg -i $d/yunwei-probe_1.0.deb >/dev/null
mkdir -p {PROBE_REPO} && cp $d/yunwei-probe_1.1.deb {PROBE_REPO}/ && cd {PROBE_REPO}
{{ dpkg-deb -f yunwei-probe_1.1.deb; echo "Filename: ./yunwei-probe_1.1.deb";
   echo "Size: $(stat -c %s yunwei-probe_1.1.deb)"; echo "SHA256: $(sha256sum yunwei-probe_1.1.deb | cut -d' ' -f1)"; echo; }} > Packages
echo 'deb [trusted=yes] file:{PROBE_REPO} ./' > /etc/apt/sources.list.d/yunwei-probe.list
apt-get update -qq -o Dir::Etc::sourcelist=sources.list.d/yunwei-probe.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
rm -rf $d
"""
CLEAN_PROBE = f"""dpkg --purge yunwei-probe >/dev/null 2>&1 || true
rm -rf {PROBE_REPO} /etc/apt/sources.list.d/yunwei-probe.list /var/lib/apt/lists/*yunwei-probe-repo*
"""


def test_pending_update(lab, inspect):
    before = inspect(limit="drill01", updates=True).one("drill01", "HOST-PKG-001")
    lab.exec("drill01", "sh", "-c", MAKE_PROBE)
    try:
        res = inspect(limit="drill01", updates=True)
        pkg = res.one("drill01", "HOST-PKG-001")
        assert pkg.status in ("warn", "crit") and pkg.value == before.value + 1, (before, pkg)
        assert "yunwei-probe 1.0→1.1" in pkg.evidence
    finally:
        lab.exec("drill01", "sh", "-c", CLEAN_PROBE)


def test_fresh_nginx_error_lines(lab, inspect):
    inspect(limit="web01")  # the last inspection: only errors after it count
    time.sleep(1.1)  # nginx logs whole seconds
    # real errors: stub_status from a non-local client is denied and logged at [error]
    url = f"http://{lab.hosts['web01']}/nginx_status"
    for _ in range(3):
        lab.exec("db01", "python3", "-c",
                 f"import urllib.request as u\ntry: u.urlopen({url!r}, timeout=5)\nexcept Exception: pass")
    time.sleep(1)
    res = inspect(limit="web01")
    log = res.one("web01", "WEB-LOG-001")
    assert log.status == "warn" and log.value == 3, log
    assert "access forbidden by rule" in log.evidence


def test_dynamic_baseline_flags_value_below_static_limit(lab, inspect, store_path):
    """30 recorded samples of /srv/data near 0 % make 50 % (below the 80 % static warn) an anomaly."""
    now = datetime.now(timezone.utc)
    with open_store(store_path) as store:
        for i in range(30):
            rid = str(uuid.uuid4())
            t = now - timedelta(hours=8 * (i + 1))
            store.begin_run(Run(id=rid, job="inspect", profile="daily", started_at=t, hosts=["backup01"]))
            store.write_batch(rid, metrics=[Metric(name="fs.used_pct", value=0.5 + (i % 3) * 0.1, host="backup01",
                                                   instance="/srv/data", unit="%", time=t)])
            store.finish_run(rid, "ok", ended_at=t)
    lab.exec("backup01", "dd", "if=/dev/zero", "of=/srv/data/yunwei-fill", "bs=1M", "count=32", "status=none")
    try:
        res = inspect(limit="backup01", extra={"inspection_sample_seconds": 0.1})
        assert res.one("backup01", "HOST-FS-001", "/srv/data").status == "ok"
        anom = res.one("backup01", "HOST-ANOM-001", "fs.used_pct[/srv/data]")
        assert anom.status in ("warn", "crit")
        assert anom.threshold["baseline"] == pytest.approx(0.6, abs=0.11) and anom.threshold["deviation"] > 4
        assert anom.suggestion
    finally:
        lab.exec("backup01", "rm", "-f", "/srv/data/yunwei-fill")


def _seed(store_path, host, name, instance, points, unit="B"):
    with open_store(store_path) as store:
        for t, value in points:
            rid = str(uuid.uuid4())
            store.begin_run(Run(id=rid, job="inspect", profile="resources", started_at=t, hosts=[host]))
            store.write_batch(rid, metrics=[Metric(name=name, value=value, host=host, instance=instance, unit=unit,
                                                   time=t)])
            store.finish_run(rid, "ok", ended_at=t)


def test_resources_profile_forecasts_from_history(lab, inspect, store_path):
    """Weekly profile: /srv/data growing 4 MiB a day is full in about 6 days (crit); appdb growth per week."""
    mib = 1048576.0
    now = datetime.now(timezone.utc)
    size = inspect(limit="db01", extra={"inspection_host_enabled": False}).one("db01", "DB-SIZE-001", "appdb").value
    _seed(store_path, "offsite01", "fs.used_bytes", "/srv/data",
          [(now - timedelta(days=10 - i), 4 * mib * i) for i in range(10)])
    _seed(store_path, "db01", "db.size_bytes", "appdb",
          [(now - timedelta(days=14 - i), size * (0.5 + i / 28.0)) for i in range(14)])
    lab.exec("offsite01", "dd", "if=/dev/zero", "of=/srv/data/yunwei-fill", "bs=1M", "count=40", "status=none")
    try:
        res = inspect(limit="offsite01,db01", playbook="playbooks/resources.yml",
                      extra={"inspection_sample_seconds": 0.1})
        cap = res.one("offsite01", "HOST-CAP-001", "/srv/data")
        assert cap.status == "crit" and 4 < cap.value < 8, cap
        assert "写满" in cap.evidence and cap.suggestion
        growth = res.one("db01", "DB-CAP-001", "appdb")
        assert growth.status in ("warn", "crit") and growth.value > 20, growth
        assert not res.find("db01", "WEB-HTTP-001")  # no web probes in the resources profile
        res.assert_in_catalogue()
    finally:
        lab.exec("offsite01", "rm", "-f", "/srv/data/yunwei-fill")


def test_unreachable_host_is_a_crit_check_and_others_continue(lab, inspect, tmp_path):
    ghost = tmp_path / "ghost.yml"
    ghost.write_text("all:\n  children:\n    drill:\n      hosts:\n        ghost01:\n"
                     "          ansible_host: 127.0.0.1\n          ansible_port: 1\n")
    res = inspect(limit="ghost01,offsite01", inventories=[lab.inventory, ghost],
                  extra={"inspection_sample_seconds": 0.1, "inspection_check_host_mem_002_enabled": False})
    reach = res.one("ghost01", "HOST-REACH-001")
    assert reach.status == "crit" and "SSH" in reach.suggestion and reach.evidence
    assert res.one("offsite01", "HOST-FS-001", "/srv/data").status == "ok"
    # a check switched off (CIS-role style) is not recorded; the others are
    assert not res.find("offsite01", "HOST-MEM-002") and res.one("offsite01", "HOST-MEM-001")


def test_failing_probe_is_a_crit_check(lab, store_path):
    """A module that fails on the host (here: a URL entry without url) becomes WEB-PROBE-001, not a failed task."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "YUNWEI_STORE": str(store_path), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    proc = subprocess.run([str(BIN / "ansible"), "web01", "-i", str(lab.inventory), "-b", "-m", "yunwei.ops.web_inspect",
                           "-a", json.dumps({"urls": [{"status": [200]}], "dynamic_thresholds": {"enabled": False}})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["web01"]
    assert res["probe_failed"] is True and not res.get("failed")
    assert [(c["id"], c["status"]) for c in res["checks"]] == [("WEB-PROBE-001", "crit")]
    assert "url" in res["checks"][0]["evidence"]


@pytest.mark.parametrize("extra, variable", [
    ({"inspection_profile": "weekly"}, "inspection_profile"),
    ({"inspection_threshold_overrides": {"fs_pct": {"warn": 95, "crit": 90}}}, "inspection_threshold_overrides.fs_pct"),
    ({"inspection_threshold_overrides": {"fs_pct": "high"}}, "inspection_threshold_overrides.fs_pct"),
    ({"inspection_web_urls": {"url": "http://127.0.0.1/"}}, "inspection_web_urls"),
    ({"inspection_check_host_cpu_009_enabled": False}, "inspection_check_host_cpu_009_enabled: no check HOST-CPU-009"),
])
def test_bad_input_fails_before_any_host_is_contacted(lab, store_path, tmp_path, extra, variable):
    vars_file = tmp_path / "bad.json"
    vars_file.write_text(json.dumps(extra))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "YUNWEI_STORE": str(store_path),
           "ANSIBLE_FORCE_COLOR": "0"}
    proc = subprocess.run([str(BIN / "ansible-playbook"), "playbooks/inspect.yml", "-i", str(lab.inventory),
                           "-e", f"@{vars_file}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert variable in out, out[-2000:]
    assert "Sample |" not in out and "Inspect |" not in out  # no task that contacts a host started


def test_ad_hoc_bad_controller_options_fail_before_the_host(lab, store_path):
    """Options only the action plugin reads (thresholds, disabled_checks) are checked against the catalogue."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "YUNWEI_STORE": str(store_path), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    args = {"thresholds": {"fs_pct": {"warn": "high"}}, "disabled_checks": ["HOST-XYZ-001"]}
    proc = subprocess.run([str(BIN / "ansible"), "backup01", "-i", str(lab.inventory), "-m", "yunwei.ops.host_inspect",
                           "-a", json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["backup01"]
    assert proc.returncode != 0 and res["failed"] and "checks" not in res
    assert "thresholds.fs_pct.warn: must be a number, got 'high'" in res["msg"]
    assert "disabled_checks: no check HOST-XYZ-001" in res["msg"]

"""The collection as AWX / AAP runs it (docs/packaging.md): the built collection tarball and the
built yunwei wheel, installed into a fresh virtual environment that holds only what
execution-environment.yml lists, run with plain ansible-playbook from another working directory.

The environment is new on every run; the wheels of its third-party requirements are downloaded
once into var/ee-wheelhouse/<digest of the requirements> and installed offline from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from yunwei.catalogue import catalogue
from yunwei.store import Metric, Run, open_store

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEV_BIN = Path(sys.executable).parent
SHARED_KERNEL = {"cpu_pct": {"warn": 101, "crit": 101}, "iowait_pct": {"warn": 101, "crit": 101},
                 "load_per_core": {"warn": 1000, "crit": 1000}, "disk_util_pct": {"warn": 101, "crit": 101}}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def ee_requirements() -> list[str]:
    """The pip requirements of execution-environment.yml: ansible-core, ansible-runner, its python file."""
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())["dependencies"]
    lines = [ee["ansible_core"]["package_pip"], ee["ansible_runner"]["package_pip"]]
    for line in (ROOT / ee["python"]).read_text().splitlines():
        if line.split("#", 1)[0].strip():
            lines.append(line.split("#", 1)[0].strip())
    return lines


def build(dist: Path) -> None:
    """The collection tarball and the wheel, from a copy of the sources (no build/ left in the tree)."""
    _run([str(DEV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist)], cwd=ROOT)
    pkg = dist.parent / "pkg"
    shutil.copytree(ROOT / "src", pkg / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, pkg / name)
    _run([str(DEV_BIN / "pip"), "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(pkg)])


def wheelhouse(requirements: list[str], dist: Path) -> Path:
    """Wheels of everything the environment needs but our own package, downloaded once per requirements set."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    digest = hashlib.sha256("\n".join(requirements + [pyproject]).encode()).hexdigest()[:12]
    house = ROOT / "var" / "ee-wheelhouse" / digest
    if not (house / ".complete").exists():
        shutil.rmtree(house, ignore_errors=True)
        _run([str(DEV_BIN / "pip"), "download", "--quiet", "--dest", str(house), "--find-links", str(dist),
              *requirements])
        for ours in house.glob("yunwei-*"):
            ours.unlink()
        (house / ".complete").touch()
    return house


def builder_context(dist: Path, tmp_path: Path) -> Path:
    """`ansible-builder create` on execution-environment.yml with the files just built (the image itself
    needs quay.io, which this machine cannot reach)."""
    ee = tmp_path / "ee-file"
    (ee / "meta").mkdir(parents=True)
    for name in ("execution-environment.yml", "requirements.yml", "meta/ee-requirements.txt"):
        shutil.copy(ROOT / name, ee / name)
    (ee / "var").mkdir()
    (ee / "var" / "dist").symlink_to(dist)
    context = tmp_path / "context"
    _run([str(DEV_BIN / "ansible-builder"), "create", "-f", str(ee / "execution-environment.yml"), "-c", str(context)],
         cwd=ee)
    return context


def test_collection_and_wheel_alone_run_the_daily_inspection(lab, tmp_path):
    dist = tmp_path / "dist"
    build(dist)
    context = builder_context(dist, tmp_path)
    containerfile = (context / "Containerfile").read_text()
    assert containerfile.count("ARG PIP_FIND_LINKS=/tmp/yunwei-wheels") == 2
    assert "ansible-galaxy collection install --no-deps /tmp/yunwei-ops.tar.gz" in containerfile
    assert [p.name for p in (context / "_build" / "wheels").iterdir()] == ["yunwei-0.1.0-py3-none-any.whl"]
    assert "yunwei[postgresql]" in (context / "_build" / "requirements.txt").read_text()
    tarball = next(dist.glob("yunwei-ops-*.tar.gz"))
    listing = _run(["tar", "tzf", str(tarball)]).stdout.split()
    assert not [n for n in listing if n.startswith(("src/", "tests/"))]  # the package is a dependency, not a copy
    requirements = ee_requirements()
    house = wheelhouse(requirements, dist)

    venv = tmp_path / "ee"
    # nothing of this checkout's environment (ANSIBLE_CONFIG, the .venv on PATH) reaches the environment
    clean = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    _run([sys.executable, "-m", "venv", str(venv)], env=clean)
    _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-index", "--find-links", str(house),
          "--find-links", str(dist), *requirements], env=clean)
    collections = tmp_path / "collections"
    _run([str(venv / "bin" / "ansible-galaxy"), "collection", "install", "--no-deps", str(tarball),
          "-p", str(collections)], env=clean, cwd=tmp_path)
    assert (collections / "ansible_collections" / "yunwei" / "ops" / "playbooks" / "inspect.yml").is_file()
    # only the product: no development tools, no checkout on the path
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import yunwei, yunwei.catalogue, importlib.util as u; print(yunwei.__file__); "
                            "print(u.find_spec('yunwei_dev'), u.find_spec('yunwei.lab'), u.find_spec('matplotlib'))"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean)
    assert probe.returncode == 0, probe.stderr
    where, missing = probe.stdout.splitlines()
    assert where.startswith(str(venv)) and missing == "None None None"

    # history in the configured store: 25 recorded samples of backup01's /srv/data
    store_path = tmp_path / "journal" / "journal.sqlite"
    store_path.parent.mkdir()
    now = datetime.now(timezone.utc)
    with open_store(store_path) as store:
        for i in range(25):
            rid, t = str(uuid.uuid4()), now - timedelta(hours=8 * (i + 1))
            store.begin_run(Run(id=rid, job="inspect", profile="daily", started_at=t, hosts=["backup01"]))
            store.write_batch(rid, metrics=[Metric(name="fs.used_pct", value=0.5, host="backup01",
                                                   instance="/srv/data", unit="%", time=t)])
            store.finish_run(rid, "ok", ended_at=t)

    work = tmp_path / "work"  # an AWX job's throwaway project directory: nothing of the checkout
    work.mkdir()
    (work / "vars.json").write_text(json.dumps({"inspection_threshold_overrides": SHARED_KERNEL,
                                                "inspection_updates_enabled": False,
                                                "inspection_sample_seconds": 0.2}))
    env = {**clean, "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_CALLBACKS_ENABLED": "yunwei.ops.journal",
           "YUNWEI_STORE": str(store_path), "YUNWEI_JOB": "inspect", "YUNWEI_PROFILE": "daily"}
    proc = subprocess.run([str(venv / "bin" / "ansible-playbook"), "-i", str(lab.inventory), "-e", "@vars.json",
                           "yunwei.ops.inspect"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in work.iterdir()) == ["vars.json"]  # nothing written to the working directory

    cat = catalogue()
    with open_store(store_path) as store:
        run = store.list_runs(job="inspect", limit=1)[0]
        checks = store.checks(run_id=run.id)
        results = [r for r in store.task_results(run.id) if r.action == "yunwei.ops.inspect"]
    assert run.status == "ok" and {c.host for c in checks} == {"web01", "db01", "backup01", "offsite01", "drill01", "mon01"}
    assert all(c.id in cat.checks and c.title.startswith(cat.checks[c.id].title) for c in checks)
    backup = next(r.result for r in results if r.host == "backup01")
    assert backup["dynamic"]["judged"] >= 1, backup["dynamic"]  # the baseline came from the configured store
    assert not any("unavailable" in n for r in results for n in r.result["dynamic"]["notes"])


def test_without_a_configured_store_the_journal_says_where_it_writes(tmp_path):
    state = tmp_path / "state"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("YUNWEI_", "ANSIBLE_"))},
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "YUNWEI_VAR": str(state), "ANSIBLE_HOME": str(tmp_path / "ansible-home")}
    proc = subprocess.run([str(DEV_BIN / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.ping"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"yunwei.ops.journal: recording to {state / 'journal.sqlite'}" in proc.stderr
    with open_store(state / "journal.sqlite") as store:
        assert store.list_runs(limit=1)
    assert not (tmp_path / "var").exists()

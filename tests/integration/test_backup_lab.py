"""Backups on the lab, over real SSH: the role set up by `lab up` (pgBackRest repo1 on backup01,
repo2 on offsite01, restic repositories and their off-site copies), then the jobs through the runner,
and the failure paths: bad input, a wrong passphrase, a corrupted repository, archiving broken on
db01, a full repository filesystem, backup01 stopped during a backup. Every test puts back what it
broke. The passphrases are the lab's own (generated per lab, unique): the secrets test greps for them
everywhere, including /proc/*/cmdline sampled during a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from yunwei.cli import main
from yunwei.paths import project_root, var_dir

pytestmark = [pytest.mark.lab, pytest.mark.slow]
ROOT = project_root()
JOBS = ("backup_setup", "backup", "backup_verify", "backup_status")


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    """Jobs pointed at this lab (site catalogue), a private journal, audit log and runner folder."""
    lab = lab.lab.up(backups=True)  # the backups set up (a no-op when they are and nothing changed)
    tmp = tmp_path_factory.mktemp("backup")
    vault_pass = Path(os.environ.get("YUNWEI_VAULT_PASSWORD_FILE") or var_dir() / "vault-pass")
    repo = yaml.safe_load((ROOT / "jobs.yml").read_text())["jobs"]  # the entries as shipped (extra_vars too)
    jobs = {"jobs": {name: {**repo[name], "playbook": str(ROOT / repo[name]["playbook"]), "inventory": str(lab.inventory)}
                     for name in JOBS}}
    # tight WAL limits for the archiving test, set by the (reviewed) catalogue, not by -e
    jobs["jobs"]["backup_status_strict"] = {**jobs["jobs"]["backup_status"],
                                            "vars": {"backup_thresholds": {"backup_core_wal_lag_s": {"warn": 2, "crit": 5}}}}
    (tmp / "jobs.yml").write_text(yaml.safe_dump(jobs))
    mp = pytest.MonkeyPatch()
    mp.setenv("YUNWEI_VAR", str(tmp / "var"))
    mp.setenv("YUNWEI_STORE", str(tmp / "journal.sqlite"))
    mp.setenv("YUNWEI_JOBS", str(tmp / "jobs.yml"))
    mp.setenv("YUNWEI_VAULT_PASSWORD_FILE", str(vault_pass))
    yield {"tmp": tmp, "lab": lab, "vault_pass": vault_pass}
    mp.undo()


def secrets_of(lab, vault_pass: Path) -> dict[str, str]:
    from ansible.parsing.vault import VaultLib, VaultSecret

    # the lab's own folder, fixed when the lab was opened: var_dir() now answers the test's YUNWEI_VAR
    path = lab.lab.backup_vault_path
    plain = VaultLib([("default", VaultSecret(vault_pass.read_bytes().strip()))]).decrypt(path.read_bytes())
    return yaml.safe_load(plain)


def playbook(lab, name: str, *extra: str) -> subprocess.CompletedProcess:
    """ansible-playbook directly (its exit code: 2 when a host failed, e.g. a validation assert)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lab.inventory), "--vault-password-file",
                           os.environ["YUNWEI_VAULT_PASSWORD_FILE"], *extra, str(ROOT / "playbooks" / name)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)


def status_json(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(["backup", "status", "--json", *args])
    return rc, json.loads(capsys.readouterr().out)


def checks_of(doc: dict, check_id: str) -> list[dict]:
    return [c for c in doc["checks"] if c["id"] == check_id]


def sha(lab, host: str, path: str) -> str:
    return lab.exec(host, "sha256sum", path).stdout.split()[0]


# ---------------------------------------------------------------------------------------------
def test_incremental_backup_shows_in_status_and_no_secret_leaks(env, capsys):
    lab = env["lab"]
    secrets = secrets_of(lab, env["vault_pass"])
    assert len(secrets) == 4 and all(len(v) >= 24 for v in secrets.values())
    seen: set[str] = set()
    stop = threading.Event()

    def sample() -> None:  # every process's command line, on the bastion and in every lab host
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                try:
                    seen.add(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))
                except OSError:
                    pass
            for host in ("db01", "backup01", "offsite01", "web01"):
                out = subprocess.run(["podman", "exec", lab.container(host), "sh", "-c",
                                      "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '; echo"],
                                     capture_output=True, text=True).stdout
                seen.add(out)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        started = time.time()
        assert main(["run", "backup", "-e", "backup_dataset=appdb", "-e", "backup_type=incr", "-q"]) == 0
        assert main(["run", "backup", "-e", "backup_dataset=site", "-e", "backup_type=incr", "-q"]) == 0
    finally:
        stop.set()
        sampler.join()
    assert any("pgbackrest" in s and "backup" in s for s in seen), "the sampler saw no pgBackRest backup running"
    assert any("restic" in s for s in seen), "the sampler saw no restic running"

    rc, doc = status_json(capsys)
    rows = {(r["dataset"], r["repo"], r.get("source_host")): r for r in doc["rows"]}
    appdb = rows[("appdb", "primary", "db01")]
    assert appdb["last"]["incr"]["time"] >= started - 5 and appdb["encrypted"] is True
    assert rows[("appdb", "offsite", "db01")]["last"]["incr"]["time"] >= started - 5
    assert rows[("site", "primary", "web01")]["last"]["incr"]["time"] >= started - 5
    wal = rows[("appdb", "wal", "db01")]
    assert wal["wal_lag_s"] is not None and wal["wal_lag_s"] <= 120
    assert rc == 0, doc["out_of_limits"]
    capsys.readouterr()
    assert main(["backup", "status"]) == 0
    table = capsys.readouterr().out
    assert "appdb" in table and "全部数据集在时限内" in table

    # the passphrases appear nowhere: command lines, journal, runner artifacts, audit, logs, repository, hosts' logs
    texts = list(seen)
    logs = [*lab.lab.dir.glob("*.log"), *lab.lab.dir.glob("*.sqlite*")]  # the lab's own folder, not the test's var
    assert logs, f"no lab log in {lab.lab.dir} to search"
    for path in [*env["tmp"].rglob("*"), *logs]:
        if path.is_file():
            texts.append(path.read_bytes().decode(errors="replace"))
    tracked = subprocess.run(["git", "grep", "-I", "-l", "-F", "-e", secrets["backup_restic_password"], "--", "."],
                             cwd=ROOT, capture_output=True, text=True)
    assert tracked.stdout == ""
    for host in ("db01", "backup01", "offsite01", "web01"):
        texts.append(lab.exec(host, "sh", "-c", "cat /var/log/pgbackrest/* /var/log/postgresql/* 2>/dev/null; true").stdout)
    for name, value in secrets.items():
        assert not [t[:200] for t in texts if value in t], f"{name} leaked"
    # on the hosts only in files of the service user
    mode = lab.exec("backup01", "stat", "-c", "%a %U", "/etc/pgbackrest/pgbackrest.conf", "/etc/yunwei-backup/restic.pass").stdout
    assert mode.split("\n")[:2] == ["640 pgbackrest", "600 restic"]
    assert lab.exec("db01", "grep", "-c", "cipher-pass", "/etc/pgbackrest/pgbackrest.conf", check=False).stdout.strip() == "0"


def test_bad_input_exits_2_naming_file_and_key_before_any_host_is_changed(env, tmp_path):
    lab = env["lab"]
    before = sha(lab, "backup01", "/etc/pgbackrest/pgbackrest.conf")
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"backup_datasets": [
        {"name": "appdb", "kind": "mysql", "tier": "core", "hosts": "db", "source": {"cluster": "15/main"}},
        {"name": "site", "kind": "files", "tier": "gold", "hosts": "web", "source": {"paths": ["/var/www/yunwei"]}},
        {"name": "etc", "kind": "files", "tier": "general", "hosts": "all", "source": {"paths": ["/etc"]}, "retention_days": 30},
    ]}))
    res = playbook(lab, "backup_setup.yml", "-e", f"@{bad}")
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-2000:]
    assert "backup_datasets[0] (appdb).kind: unknown kind 'mysql'" in out
    assert "backup_datasets[1] (site).tier: unknown tier 'gold'" in out
    assert "backup_datasets[2] (etc).retention_days: 30 days is under the contract's 183 days and there is no waiver" in out
    assert "Gathering Facts" not in out and "changed=0" in out

    missing = tmp_path / "missing.yml"
    missing.write_text(yaml.safe_dump({"backup_datasets": [
        {"name": "site", "kind": "files", "tier": "general", "hosts": "web", "source": {"paths": ["/var/www/nope"]}}]}))
    res = playbook(lab, "backup_setup.yml", "-e", f"@{missing}")
    out = res.stdout + res.stderr
    assert res.returncode == 2 and "on web01 site: /var/www/nope missing (source.paths); nothing was changed" in out, out[-2000:]

    res = playbook(lab, "backup.yml", "-e", "backup_vault_vars_file=")
    out = res.stdout + res.stderr
    assert res.returncode == 2 and "backup_restic_password: missing vault variable" in out, out[-2000:]
    assert sha(lab, "backup01", "/etc/pgbackrest/pgbackrest.conf") == before


def test_wrong_passphrase_is_a_clear_error_and_nothing_is_overwritten(env, tmp_path):
    lab = env["lab"]
    files = {"backup01": ["/etc/pgbackrest/pgbackrest.conf", "/etc/yunwei-backup/restic.pass"],
             "web01": ["/etc/yunwei-backup/restic.pass"]}
    before = {(h, f): sha(lab, h, f) for h, fs in files.items() for f in fs}
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(yaml.safe_dump({"backup_pg_repo1_cipher_pass": "not-the-passphrase-0123456789",
                                     "backup_restic_password": "not-the-password-0123456789"}))
    res = playbook(lab, "backup_setup.yml", "-e", f"@{wrong}")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "does not open the existing pgBackRest repository 1 of stanza appdb (nothing was changed)" in out, out[-3000:]
    assert "not-the-passphrase" not in out
    assert {(h, f): sha(lab, h, f) for h, fs in files.items() for f in fs} == before
    # the repositories still open with the real passphrases
    assert main(["run", "backup", "-e", "backup_dataset=site", "-q"]) == 0


def test_corrupted_repository_files_are_named_by_verify_and_status(env, capsys, tmp_path):
    lab = env["lab"]
    # the largest file of the newest pgBackRest backup in repo1, and one restic data pack of the site
    pg_file = lab.exec("backup01", "sh", "-c", "ls -S $(find /srv/backup/pgbackrest/backup/appdb -type f -path '*pg_data*' "
                       "-newer /srv/backup/pgbackrest/backup/appdb/backup.info.copy -o -type f -path '*pg_data*' | head -50) "
                       "| head -1").stdout.strip()
    pack = lab.exec("backup01", "sh", "-c", "find /srv/backup/restic/site/data -type f | head -1").stdout.strip()
    assert pg_file and pack
    saved = {p: lab.exec("backup01", "base64", "-w0", p).stdout for p in (pg_file, pack)}
    try:
        for path in (pg_file, pack):  # flip bytes in the middle of the file, keep its size
            lab.exec("backup01", "sh", "-c", f"printf 'CORRUPTED' | dd of={path} bs=1 seek=$(( $(stat -c %s {path}) / 2 )) conv=notrunc status=none")
        assert main(["run", "backup_verify", "-q"]) == 1
        from yunwei.store import open_store

        with open_store() as store:
            run = store.list_runs(job="backup_verify", limit=1)[0]
            verify = {(c.host, c.instance): c for c in store.checks(run_id=run.id) if c.id == "BACKUP-VERIFY-002"}
        pg = verify[("backup01", "appdb/repo1")]
        assert pg.status == "crit" and Path(pg_file).name.split(".")[0] in pg.evidence, pg.evidence
        site = verify[("backup01", "site/primary")]
        assert site.status == "crit" and Path(pack).name[:8] in site.evidence, site.evidence
        assert verify[("offsite01", "appdb/repo2")].status == "ok" and verify[("offsite01", "site/offsite")].status == "ok"
        rc, doc = status_json(capsys)
        bad = {(c["host"], c["instance"]) for c in checks_of(doc, "BACKUP-VERIFY-001") if c["status"] == "crit"}
        assert rc == 1 and {("backup01", "appdb/repo1"), ("backup01", "site/primary")} <= bad
    finally:
        for path, data in saved.items():
            lab.exec("backup01", "sh", "-c", f"base64 -d > {path}", input=data)
    assert main(["run", "backup_verify", "-q"]) == 0
    rc, doc = status_json(capsys)
    assert rc == 0, doc["out_of_limits"]


def test_archiving_broken_on_db01_makes_the_wal_lag_crit(env, capsys, tmp_path):
    lab = env["lab"]
    key = "/var/lib/postgresql/.ssh/id_ed25519"
    psql = ["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-d", "appdb", "-c"]
    lab.exec("db01", "mv", key, key + ".off")
    try:
        for _ in range(2):  # written WAL that cannot be archived
            lab.exec("db01", *psql, "CREATE TABLE IF NOT EXISTS yw_backup_test (x int); INSERT INTO yw_backup_test "
                     "SELECT generate_series(1, 1000); SELECT pg_switch_wal()")
        time.sleep(8)
        assert main(["run", "backup_status_strict", "-q"]) == 0
        from yunwei.store import open_store

        with open_store() as store:
            run = store.list_runs(job="backup_status_strict", limit=1)[0]
            wal = [c for c in store.checks(run_id=run.id) if c.id == "BACKUP-WAL-001"][0]
        assert wal.status == "crit" and float(wal.value) >= 5 and "等待归档" in wal.evidence, wal.evidence
    finally:
        lab.exec("db01", "mv", key + ".off", key)
        lab.exec("db01", *psql, "DROP TABLE IF EXISTS yw_backup_test; SELECT pg_switch_wal()")
    deadline = time.time() + 150
    while time.time() < deadline:  # archiving recovers by itself: the backlog drains
        ready = lab.exec("db01", *psql, "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'").stdout.strip()
        if ready == "0":
            break
        time.sleep(3)
    assert ready == "0"


def test_full_repository_filesystem_fails_clearly_and_loses_nothing(env, capsys):
    lab = env["lab"]
    # the site's repository set aside; a new one on backup01's 64 MiB tmpfs, which is then filled
    restic = ["runuser", "-u", "restic", "--", "env", "RESTIC_PASSWORD_FILE=/etc/yunwei-backup/restic.pass", "restic", "--no-cache"]
    lab.exec("backup01", "sh", "-c", "mv /srv/backup/restic/site /srv/backup/restic/site.moved && install -d -o restic -m 700 /srv/data/site "
             "&& ln -s /srv/data/site /srv/backup/restic/site")
    lab.exec("backup01", *restic, "-r", "/srv/data/site/repo", "init")
    lab.exec("backup01", "sh", "-c", "rm /srv/backup/restic/site && ln -s /srv/data/site/repo /srv/backup/restic/site")
    try:
        lab.exec("backup01", "sh", "-c", "dd if=/dev/zero of=/srv/data/fill bs=1M count=80 status=none; true")
        lab.exec("web01", "sh", "-c", "head -c 3000000 /dev/urandom > /var/www/yunwei/yw-big.bin")
        assert main(["run", "backup", "-e", "backup_dataset=site", "-e", "backup_type=full", "-q"]) == 1
        from yunwei.store import open_store

        with open_store() as store:
            run = store.list_runs(job="backup", limit=1)[0]
            checks = store.checks(run_id=run.id)
        failed = [c for c in checks if c.id == "BACKUP-RUN-001" and c.host == "web01" and c.instance == "site/web01"]
        # SFTP reports a full filesystem only as "Failure": the evidence says what that usually means,
        # and the store's own check names the full filesystem
        assert failed and failed[0].status == "crit" and "SSH_FX_FAILURE" in failed[0].evidence \
            and "文件系统已满" in failed[0].evidence, [c.evidence for c in failed]
        space = [c for c in checks if c.id == "BACKUP-REPO-001" and c.instance == "/srv/backup/restic/site" and c.host == "backup01"]
        assert space and space[0].status == "crit", [(c.instance, c.status) for c in checks if c.id == "BACKUP-REPO-001"]
        lab.exec("backup01", "rm", "-f", "/srv/data/fill")
        assert main(["run", "backup", "-e", "backup_dataset=site", "-q"]) == 0  # space back: it recovers
        check = lab.exec("backup01", *restic, "-r", "/srv/backup/restic/site", "check", check=False)
        assert check.returncode == 0 and "no errors were found" in check.stdout, check.stdout + check.stderr
    finally:
        lab.exec("web01", "rm", "-f", "/var/www/yunwei/yw-big.bin")
        lab.exec("backup01", "sh", "-c", "rm -f /srv/data/fill /srv/backup/restic/site && rm -rf /srv/data/site "
                 "&& mv /srv/backup/restic/site.moved /srv/backup/restic/site")


def test_backup01_stopped_during_a_backup(env, capsys):
    lab = env["lab"]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "yunwei"), "run", "backup", "-e", "backup_dataset=appdb",
                             "-e", "backup_type=full", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stopped = False
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            ps = subprocess.run(["podman", "exec", lab.container("backup01"), "pgrep", "-f", "pgbackrest.*backup"],
                                capture_output=True, text=True)
            if ps.returncode == 0:
                subprocess.run(["podman", "stop", "-t", "1", lab.container("backup01")], check=True, capture_output=True)
                stopped = True
                break
            time.sleep(0.2)
        out, _ = proc.communicate(timeout=600)
        assert stopped, f"no pgBackRest backup seen on backup01: {out[-1500:]}"
        assert proc.returncode == 1, out[-1500:]
        from yunwei.store import open_store

        with open_store() as store:
            run = store.list_runs(job="backup", limit=1)[0]
            results = store.task_results(run.id)
        assert run.status == "failed"
        assert any(r.host == "backup01" and r.status in ("unreachable", "failed") and "PostgreSQL into the backup store" in r.task
                   for r in results), [(r.host, r.task, r.status) for r in results]
        assert any(r.host == "offsite01" and r.status == "changed" and "off-site store" in r.task for r in results)
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["podman", "start", lab.container("backup01")], capture_output=True)
        lab.lab.up(backups=True)  # sshd back (a new address, the same host key)
    assert main(["run", "backup", "-e", "backup_dataset=appdb", "-q"]) == 0  # the next run recovers
    rc, doc = status_json(capsys)
    assert rc == 0, doc["out_of_limits"]

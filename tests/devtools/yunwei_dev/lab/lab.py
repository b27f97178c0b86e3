"""Bring the lab up, down, and report its state. Each host is a podman container running sshd.

State lives under ``var/labs/NAME/`` (bastion key, known_hosts, ssh_config, generated
secrets, state.json). The default lab (``NAME=yunwei``) writes its inventory to
``inventories/lab/hosts.yml`` next to the committed group_vars; other labs, used to keep
parallel work apart, write theirs under their own folder with a link to the same group_vars.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from yunwei.errors import YunweiError
from yunwei.files import write_atomic
from yunwei.procfs import pid_stat
from yunwei_dev.lab import backups as lab_backups
from yunwei_dev.lab import image as lab_image
from yunwei_dev.lab.inventory import LabHost, build_inventory, dump_yaml, known_hosts_lines, ssh_config
from yunwei_dev.lab.podman import ensure_installed, ensure_runs, inspect, podman
from yunwei.paths import project_root, var_dir
from yunwei.ui import progress

DEFAULT_NAME = "yunwei"


@dataclass(frozen=True)
class HostSpec:
    name: str
    groups: tuple[str, ...]
    data_volume: bool = False  # a persistent volume at /srv/backup (backup repositories)


HOSTS: tuple[HostSpec, ...] = (
    HostSpec("web01", ("web",)),
    HostSpec("db01", ("db",)),
    HostSpec("backup01", ("backup",), data_volume=True),
    HostSpec("offsite01", ("offsite",), data_volume=True),
    HostSpec("drill01", ("drill",)),
)
# Every host gets a small tmpfs at /srv/data, so tests can fill a filesystem for real.
DATA_TMPFS = "/srv/data:rw,size=64m,mode=0755"
OWNER_LABEL = "yunwei.owner"  # on backup volumes: which checkout's lab created them (see Lab._owner)


@dataclass
class LabState:
    """A running lab, as tests and commands see it."""

    lab: Lab
    hosts: dict[str, str] = field(default_factory=dict)  # name -> address

    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def inventory(self) -> Path:
        return self.lab.inventory_path

    @property
    def ssh_key(self) -> Path:
        return self.lab.key_path

    @property
    def known_hosts(self) -> Path:
        return self.lab.known_hosts_path

    @property
    def ssh_config(self) -> Path:
        return self.lab.ssh_config_path

    def container(self, host: str) -> str:
        return self.lab.container(host)

    def exec(self, host: str, *cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        return self.lab.exec(host, *cmd, check=check, input=input)


class Lab:
    def __init__(self, name: str = DEFAULT_NAME, *, root: Path | None = None, var: Path | None = None) -> None:
        if not name.replace("-", "").isalnum() or not name[0].isalpha():
            raise YunweiError(f"YUNWEI_LAB_NAME: {name!r} must start with a letter and hold only letters, digits and '-'", exit_code=2)
        self.name = name
        self.root = root or project_root()
        self.dir = (var or var_dir()) / "labs" / name
        self.build_dir = (var or var_dir()) / "lab-build"

    @classmethod
    def from_env(cls) -> Lab:
        return cls(os.environ.get("YUNWEI_LAB_NAME") or DEFAULT_NAME)

    # names and paths -----------------------------------------------------------------
    @property
    def network(self) -> str:
        return f"{self.name}-lab"

    def container(self, host: str) -> str:
        return f"{self.name}-{host}"

    def volume(self, host: str) -> str:
        return f"{self.name}-{host}-data"

    @property
    def inventory_path(self) -> Path:
        if self.name == DEFAULT_NAME:
            return self.root / "inventories" / "lab" / "hosts.yml"
        return self.dir / "inventory" / "hosts.yml"

    key_path = property(lambda self: self.dir / "id_ed25519")
    known_hosts_path = property(lambda self: self.dir / "known_hosts")
    ssh_config_path = property(lambda self: self.dir / "ssh_config")
    state_path = property(lambda self: self.dir / "state.json")
    secrets_path = property(lambda self: self.dir / "secrets.yml")
    backup_vault_path = property(lambda self: self.dir / "backup-vault.yml")

    # operations ----------------------------------------------------------------------
    def up(self, *, backups: bool = False) -> LabState:
        """Start whatever is missing; provision new hosts. Fast no-op when all runs.

        ``backups``: also set the backups up (role ``backup`` and a first full backup of every data
        set) when they are not, or when the role changed or hosts were provisioned since. ``yunwei lab
        up`` (make demo) and the backup tests ask for it; other callers leave them as they are (a
        re-provisioned host only marks them out of date), which keeps the other tests fast."""
        started = time.monotonic()
        state = self._read_state()
        running = self._running()
        if (
            state
            and state.get("provision") == self._provision_digest()
            and not state.get("unprovisioned")
            and all(
                h.name in running and running[h.name]["running"] and running[h.name]["id"] == state["containers"].get(h.name)
                for h in HOSTS
            )
            and self.inventory_path.exists()
            and (not backups or state.get("backups") == lab_backups.digest(self.root))
            and self._owned_hosts([h.name for h in HOSTS]) == {h.name for h in HOSTS}
        ):
            return LabState(self, {h: running[h]["address"] for h in running})

        ensure_installed()
        image = lab_image.ensure_image(self.build_dir)
        ensure_runs(image)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._ensure_key()
        if podman("network", "exists", self.network, check=False).returncode != 0:
            podman("network", "create", "--label", f"yunwei.lab={self.name}", self.network)

        image_id = inspect("image", [image])[0]["Id"]
        foreign = self._foreign_volumes()
        fresh: list[str] = []
        created: list[str] = []
        for spec in HOSTS:
            info = running.get(spec.name)
            if spec.name in foreign:
                # Left by another checkout or an earlier lab of this name (a machine image, a
                # removed var/): its repositories are encrypted with a vault this checkout does not
                # have, and pgBackRest and restic rightly refuse them. A lab's data is the lab's own.
                progress(f"the backup volume of {spec.name} belongs to another lab: recreating it empty")
                if info:
                    _remove(self.container(spec.name))
                    info = None
                podman("volume", "rm", "-f", self.volume(spec.name))
            if info and info["image"] == image_id and info["running"]:
                continue
            fresh.append(spec.name)
            if info and info["image"] == image_id and not info["podman_running"]:
                progress(f"starting {spec.name}")
                if podman("start", self.container(spec.name), check=False).returncode == 0:
                    continue
            # Absent, built from an older image, not startable, or "running" to podman
            # while its processes are gone (killed together with conmon): recreate it.
            if info:
                _remove(self.container(spec.name))
            progress(f"creating {spec.name}")
            self._create(spec, image)
            created.append(spec.name)
        # A recreated db01 holds a new PostgreSQL cluster: the pgBackRest repositories kept on the
        # backup volumes belong to the old one, and pgBackRest rightly refuses to mix them ("backup
        # and archive info files exist but do not match the database"). Empty them, as a fresh lab
        # would have them; the backup setup below (the hosts are new) takes a first full again.
        if "db01" in created:
            for spec in HOSTS:
                if spec.data_volume and spec.name not in created:
                    progress(f"emptying the pgBackRest repository on {spec.name} (db01 is new)")
                    self.exec(spec.name, "rm", "-rf", "/srv/backup/pgbackrest/archive", "/srv/backup/pgbackrest/backup")

        running = self._running()  # container ids and addresses after the starts and creates above
        hosts = self._collect_hosts(running)
        self._write_access_files(hosts)
        for host in hosts:
            _wait_port(host.address, 22, timeout=30, what=f"sshd on {host.name}")

        digest = self._provision_digest()
        if not state or state.get("provision") != digest:
            targets = [h.name for h in HOSTS]
        else:
            # new hosts, hosts a failed run left behind, and hosts another checkout
            # provisioned since (its key and app password are not ours)
            owned = self._owned_hosts([h.name for h in HOSTS])
            leftover = set(state.get("unprovisioned") or [])
            targets = [h.name for h in HOSTS if h.name in fresh or h.name in leftover or h.name not in owned]
        if targets:
            self._save_state(hosts, digest, running, unprovisioned=targets)
            self._provision(targets)
        configured = None if targets else (state or {}).get("backups")
        if backups and configured != lab_backups.digest(self.root):
            self._save_state(hosts, digest, running, unprovisioned=[])
            lab_backups.apply(self.root, self.inventory_path, self.dir)
            configured = lab_backups.digest(self.root)
        self._save_state(hosts, digest, running, unprovisioned=[], backups=configured)
        progress(f"lab {self.name} is up ({len(HOSTS)} hosts, {time.monotonic() - started:.1f}s); inventory {self.inventory_path}")
        return LabState(self, {h: running[h]["address"] for h in running})

    def down(self) -> None:
        """Remove every container, volume, the network, keys and the generated inventory."""
        names = [self.container(h.name) for h in HOSTS]
        podman("rm", "-f", "--time", "2", *names, check=False)
        podman("volume", "rm", "-f", *[self.volume(h.name) for h in HOSTS if h.data_volume], check=False)
        podman("network", "rm", "-f", self.network, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.inventory_path.unlink(missing_ok=True)
        progress(f"lab {self.name} is down")

    def status(self) -> list[dict]:
        running = self._running()
        rows = []
        for spec in HOSTS:
            info = running.get(spec.name)
            rows.append(
                {
                    "host": spec.name,
                    "container": self.container(spec.name),
                    "groups": ",".join(spec.groups),
                    "state": "running" if info and info["running"] else ("stopped" if info else "absent"),
                    "address": info["address"] if info else None,
                    "ssh": bool(info and info["running"] and _port_open(info["address"], 22)),
                }
            )
        return rows

    def exec(self, host: str, *cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``cmd`` as root inside ``host``'s container (tests use this to inject faults)."""
        proc = subprocess.run(
            ["podman", "exec", "-i", self.container(host), *cmd], input=input, capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            raise YunweiError(f"{host}: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    # internals -----------------------------------------------------------------------
    def _running(self) -> dict[str, dict]:
        """name -> {id, image, running, address} for this lab's existing containers (one podman call)."""
        out = {}
        for c in inspect("container", [self.container(h.name) for h in HOSTS]):
            host = (c.get("Config", {}).get("Labels") or {}).get("yunwei.host")
            if not host:
                continue
            nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
            podman_running = bool(c.get("State", {}).get("Running"))
            out[host] = {
                "id": c["Id"],
                "image": c.get("Image"),
                "podman_running": podman_running,
                "running": podman_running and _alive(c.get("State", {}).get("Pid") or 0),
                "address": (nets.get(self.network) or {}).get("IPAddress") or None,
            }
        return out

    def _owned_hosts(self, hosts: list[str]) -> set[str]:
        """The hosts our key logs in to and that carry our provisioning token, in one SSH round
        trip each (in parallel). Another checkout bringing up the same lab installs its own key,
        app password and token; the hosts it took over are missing from the result."""
        token = self._token()
        procs = {
            host: subprocess.Popen(
                ["ssh", "-F", str(self.ssh_config_path), "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
                 host, "cat /etc/yunwei-lab/token 2>/dev/null || true"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            for host in hosts
        }
        owned = set()
        for host, proc in procs.items():
            try:
                out, _ = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                continue
            if proc.returncode == 0 and out.strip() == token:
                owned.add(host)
        return owned

    def _token(self) -> str:
        """This checkout's provisioning token for the lab (written to each host by provisioning)."""
        path = self.dir / "token"
        if not path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            write_atomic(path, secrets.token_hex(16) + "\n")
        return path.read_text().strip()

    def _create(self, spec: HostSpec, image: str) -> None:
        args = [
            "run", "--detach",
            "--name", self.container(spec.name),
            "--hostname", spec.name,
            "--network", self.network,
            "--network-alias", spec.name,
            "--label", f"yunwei.lab={self.name}",
            "--label", f"yunwei.host={spec.name}",
            "--tmpfs", DATA_TMPFS,
        ]  # fmt: skip
        if spec.data_volume:
            volume = self.volume(spec.name)
            if podman("volume", "exists", volume, check=False).returncode != 0:
                podman("volume", "create", "--label", f"{OWNER_LABEL}={self._owner()}", volume)
            args += ["--volume", f"{volume}:/srv/backup"]
        podman(*args, image)

    def _owner(self) -> str:
        """Who owns this lab's backup volumes: a digest of this checkout's provisioning token
        (the token itself stays private)."""
        return hashlib.sha256(self._token().encode()).hexdigest()[:16]

    def _foreign_volumes(self) -> set[str]:
        """Hosts whose backup volume exists but was not created by this checkout's lab."""
        foreign = set()
        for spec in HOSTS:
            if not spec.data_volume:
                continue
            found = inspect("volume", [self.volume(spec.name)])
            if found and (found[0].get("Labels") or {}).get(OWNER_LABEL) != self._owner():
                foreign.add(spec.name)
        return foreign

    def _collect_hosts(self, running: dict[str, dict]) -> list[LabHost]:
        hosts = []
        for spec in HOSTS:
            key = _wait_host_key(self.container(spec.name))
            self.exec(
                spec.name, "sh", "-c",
                f"install -d -m 700 -o {lab_image.LAB_USER} -g {lab_image.LAB_USER} ~{lab_image.LAB_USER}/.ssh && "
                f"cat > ~{lab_image.LAB_USER}/.ssh/authorized_keys && chown {lab_image.LAB_USER}: ~{lab_image.LAB_USER}/.ssh/authorized_keys",
                input=self.key_path.with_suffix(".pub").read_text(),
            )  # fmt: skip
            address = running[spec.name]["address"]
            if not address:
                raise YunweiError(f"{spec.name}: container has no address on network {self.network}")
            hosts.append(LabHost(spec.name, address, spec.groups, key))
        return hosts

    def _write_access_files(self, hosts: list[LabHost]) -> None:
        write_atomic(self.known_hosts_path, "\n".join(known_hosts_lines(hosts)) + "\n")
        write_atomic(self.ssh_config_path, ssh_config(hosts, user=lab_image.LAB_USER, key=self.key_path, known_hosts=self.known_hosts_path))
        inventory = build_inventory(hosts, user=lab_image.LAB_USER, key=self.key_path, known_hosts=self.known_hosts_path)
        # the lab's backup passphrases: ansible-vault encrypted, loaded by the backup role
        inventory["all"]["vars"]["backup_vault_vars_file"] = str(lab_backups.ensure_secrets(self.backup_vault_path))
        self.inventory_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.inventory_path, dump_yaml(inventory))
        if self.name != DEFAULT_NAME:
            link = self.inventory_path.parent / "group_vars"
            if not link.exists():
                link.symlink_to(self.root / "inventories" / "lab" / "group_vars")

    def _ensure_key(self) -> None:
        if not self.key_path.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"yunwei-lab-{self.name}", "-f", str(self.key_path)],
                check=True,
            )
        if not self.secrets_path.exists():
            write_atomic(self.secrets_path, f"lab_app_password: {secrets.token_urlsafe(18)}\n", mode=0o600)

    def _provision_digest(self) -> str:
        h = hashlib.sha256()
        lab_dir = self.root / "lab"
        for path in sorted(p for p in lab_dir.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(lab_dir)).encode() + b"\0" + path.read_bytes())
        return h.hexdigest()[:16]

    def _provision(self, targets: list[str]) -> None:
        progress(f"provisioning {', '.join(targets)} (lab/provision.yml)")
        playbook_bin = Path(sys.executable).parent / "ansible-playbook"
        cmd = [
            str(playbook_bin) if playbook_bin.exists() else "ansible-playbook",
            "-i", str(self.inventory_path),
            "-e", f"@{self.secrets_path}",
            "-e", f"lab_token={self._token()}",
            "--limit", ",".join(targets),
            str(self.root / "lab" / "provision.yml"),
        ]  # fmt: skip
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(self.root / "ansible.cfg"),
            # Lab setup is not operations work: record it apart from the operations journal.
            "YUNWEI_STORE": str(self.dir / "provision-journal.sqlite"),
            "YUNWEI_JOB": "lab-provision",
            "ANSIBLE_FORCE_COLOR": "0",
        }
        log = self.dir / "provision.log"
        with log.open("w") as fh:
            proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=self.root)
        if proc.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-25:])
            raise YunweiError(f"lab provisioning failed (full log: {log}):\n{tail}")

    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def _save_state(self, hosts: list[LabHost], digest: str, running: dict[str, dict], *, unprovisioned: list[str],
                    backups: str | None = None) -> None:
        state = {
            "backups": backups,
            "name": self.name,
            "provision": digest,
            "containers": {h: info["id"] for h, info in running.items()},
            "addresses": {h.name: h.address for h in hosts},
            "unprovisioned": unprovisioned,
        }
        write_atomic(self.state_path, json.dumps(state, indent=2) + "\n")


def _wait_host_key(container: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        proc = podman("exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub", check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            algo, key = proc.stdout.decode().split()[:2]
            return f"{algo} {key}"
        if time.monotonic() > deadline:
            raise YunweiError(f"{container}: no SSH host key after {timeout:.0f}s: {proc.stderr.decode(errors='replace').strip()}")
        time.sleep(0.3)


def _remove(container: str, attempts: int = 3) -> None:
    """``podman rm -f``, retried: after its conmon was killed, podman needs a second try
    ("could not be stopped: timed out waiting for file .../exits/...")."""
    for attempt in range(attempts):
        proc = podman("rm", "-f", "--time", "1", container, check=False)
        if proc.returncode == 0:
            return
        time.sleep(0.5 * (attempt + 1))
    raise YunweiError(f"cannot remove container {container}: {proc.stderr.decode(errors='replace').strip()}")


def _alive(pid: int) -> bool:
    """Whether the container's init (sshd, via lab-init) really runs. Podman keeps reporting
    "running" for a container whose conmon and processes were killed from outside."""
    stat = pid_stat(pid) if pid > 0 else None
    return stat is not None and stat[0] in {"sshd", "lab-init"} and stat[1][:1] != ["Z"]


def _port_open(address: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_port(address: str, port: int, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not _port_open(address, port):
        if time.monotonic() > deadline:
            raise YunweiError(f"{what} ({address}:{port}) not reachable after {timeout:.0f}s")
        time.sleep(0.3)

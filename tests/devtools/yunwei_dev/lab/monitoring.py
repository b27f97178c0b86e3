"""The lab's monitoring: the exporters' PostgreSQL password generated per lab and kept only
ansible-vault encrypted, and the role applied directly (as the lab provisions nginx and PostgreSQL;
in production it is the reviewed change job `monitoring_setup`).

- The vault password is ``<var>/vault-pass`` (0600, never committed; the runner's default, see
  ``yunwei.paths.vault_password_file``); the vaulted vars file is ``var/labs/NAME/monitoring-vault.yml``,
  named in the generated inventory as ``monitoring_vault_vars_file``.
- Alertmanager delivers to ``yunwei alerts serve`` on the bastion, at the lab network's gateway
  address (the bastion's address on the lab network): ``monitoring_webhook_url`` in the inventory,
  port ``$YUNWEI_LAB_ALERT_PORT`` (default 9095).
- The lab hosts have no systemd: the services are added to the boot list lab-init starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from yunwei.errors import YunweiError
from yunwei_dev.lab import backups as lab_backups
from yunwei_dev.lab.backups import vault_password_path
from yunwei.ui import progress

DEFAULT_ALERT_PORT = 9095
# services lab-init starts at boot, per group (the role starts them now; a restarted container needs them again)
BOOT_SERVICES = {"": ["prometheus-node-exporter"], "web": ["prometheus-nginx-exporter"],
                 "db": ["prometheus-postgres-exporter"],
                 "monitor": ["prometheus-blackbox-exporter", "prometheus-alertmanager", "prometheus"]}
# What the monitoring setup depends on: a change re-applies it on the next `yunwei lab monitoring`.
DIGEST_PATHS = ("roles/monitoring", "playbooks/monitoring_setup.yml", "plugins/filter/monitoring.py",
                "plugins/action/alert_rules.py", "src/yunwei/monitoring/data", "src/yunwei/monitoring/rules.py",
                "src/yunwei/catalogue/data", "inventories/lab/group_vars")


# the lab's vaulted secrets, each generated once per lab: the exporter's PostgreSQL password and the
# bearer token Alertmanager sends to `yunwei alerts serve` (kept by the backups' vault helpers)
SECRETS = ("monitoring_pg_password", "monitoring_webhook_token")


def ensure_secrets(vault_file: Path) -> Path:
    return lab_backups.ensure_secrets(vault_file, names=SECRETS)


def gateway(network: str) -> str:
    """The bastion's address on the lab network (its podman bridge's gateway)."""
    out = subprocess.run(["podman", "network", "inspect", network], capture_output=True, text=True, check=True)
    for subnet in json.loads(out.stdout)[0].get("subnets") or []:
        if subnet.get("gateway") and ":" not in subnet["gateway"]:
            return subnet["gateway"]
    raise YunweiError(f"podman network {network} has no IPv4 gateway")


def alert_port() -> int:
    return int(os.environ.get("YUNWEI_LAB_ALERT_PORT") or DEFAULT_ALERT_PORT)


def inventory_vars(lab_dir: Path, network: str) -> dict[str, Any]:
    """Variables of the generated lab inventory for the monitoring role."""
    return {
        "monitoring_vault_vars_file": str(ensure_secrets(lab_dir / "monitoring-vault.yml")),
        "monitoring_webhook_url": f"http://{gateway(network)}:{alert_port()}/alertmanager",
    }


def digest(root: Path, inventory: Path) -> str:
    return lab_backups.digest(root, DIGEST_PATHS, inventory.read_bytes())


def prometheus_url(hosts: dict[str, str]) -> str:
    return f"http://{hosts['mon01']}:9090"


def ready(hosts: dict[str, str]) -> bool:
    """Prometheus answers and every scrape target is up."""
    try:
        with urllib.request.urlopen(prometheus_url(hosts) + "/api/v1/query?query=min(up)", timeout=3) as resp:
            result = json.load(resp)["data"]["result"]
    except (OSError, ValueError, KeyError):
        return False
    return bool(result) and float(result[0]["value"][1]) == 1.0


def apply(root: Path, inventory: Path, lab_dir: Path, hosts: dict[str, str], groups: dict[str, tuple[str, ...]],
          container: Any, *, force: bool = False) -> bool:
    """The monitoring role on every lab host, unless the same setup is applied and every target is up.
    Returns whether it ran."""
    state = lab_dir / "monitoring.digest"
    want = digest(root, inventory)
    if not force and state.exists() and state.read_text().strip() == want and ready(hosts):
        return False
    progress("lab: setting up monitoring (exporters, Prometheus, Alertmanager on mon01)")
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    env = {**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "YUNWEI_STORE": str(lab_dir / "provision-journal.sqlite"), "YUNWEI_JOB": "lab-monitoring"}
    log = lab_dir / "monitoring.log"
    cmd = [str(playbook_bin) if playbook_bin.exists() else "ansible-playbook", "-i", str(inventory),
           "--vault-password-file", str(vault_password_path()), str(root / "playbooks" / "monitoring_setup.yml")]
    with log.open("w") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=root)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise YunweiError(f"lab monitoring setup failed (full log: {log}):\n{tail}")
    for host, member_of in groups.items():
        names = [s for g in ("", *member_of) for s in BOOT_SERVICES.get(g, [])]
        script = "; ".join(f"grep -qx {n} /etc/yunwei-lab/services || echo {n} >> /etc/yunwei-lab/services" for n in names)
        subprocess.run(["podman", "exec", container(host), "sh", "-c", script], check=True, capture_output=True)
    state.write_text(want + "\n")
    return True

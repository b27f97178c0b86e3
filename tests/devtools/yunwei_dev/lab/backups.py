"""The lab's backups: passphrases generated per lab and kept only ansible-vault encrypted, and the
role applied directly (as the lab provisions nginx and PostgreSQL) with a first full backup.

The vault password is ``<var>/vault-pass`` (0600, never committed), the runner's default (see
``yunwei.paths.vault_password_file``); the vaulted vars file is ``var/labs/NAME/backup-vault.yml``,
named in the generated inventory as ``backup_vault_vars_file``. Nothing secret is ever passed on a
command line: ansible-vault is used through its Python API.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

from yunwei.errors import YunweiError
from yunwei.paths import var_dir
from yunwei.ui import progress

SECRET_NAMES = ("backup_pg_repo1_cipher_pass", "backup_pg_repo2_cipher_pass", "backup_restic_password",
                "backup_restic_offsite_password")
# What the backup setup depends on: a change re-applies it on the next `lab up`.
DIGEST_PATHS = ("roles/backup", "playbooks/backup_setup.yml", "inventories/lab/group_vars/all/backup.yml",
                "plugins/modules/pgbackrest.py", "plugins/modules/restic.py", "plugins/modules/backup_status.py",
                "plugins/module_utils/backup_common.py", "plugins/filter/backup.py",
                "roles/restore_drill", "playbooks/restore_drill_setup.yml", "plugins/filter/restore_drill.py")


def vault_password_path() -> Path:
    return Path(os.environ.get("YUNWEI_VAULT_PASSWORD_FILE") or var_dir() / "vault-pass")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def ensure_secrets(vault_file: Path, values: dict[str, str] | None = None,
                   names: tuple[str, ...] = SECRET_NAMES) -> Path:
    """Create the vault password (once per var/) and the lab's vaulted secrets ``names``, each generated
    once per lab (a name added later is added to the existing file); ``values`` replaces the file."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    pw_path = vault_password_path()
    if not pw_path.exists():
        _write_private(pw_path, (secrets.token_urlsafe(32) + "\n").encode())
    if values is None:
        values = vault_secrets(vault_file) if vault_file.exists() else {}
        missing = [name for name in names if not values.get(name)]
        if not missing:
            return vault_file
        values.update({name: secrets.token_urlsafe(24) for name in missing})
    text = "".join(f"{k}: {v!s}\n" for k, v in values.items())
    vault = VaultLib([("default", VaultSecret(pw_path.read_bytes().strip()))])
    _write_private(vault_file, vault.encrypt(text.encode()))
    return vault_file


def vault_secrets(vault_file: Path) -> dict[str, str]:
    """A lab vault file's variables, decrypted (tests and the benchmark need some of them)."""
    import yaml
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(vault_password_path().read_bytes().strip()))])
    return yaml.safe_load(vault.decrypt(vault_file.read_bytes())) or {}


def digest(root: Path, paths: tuple[str, ...] = DIGEST_PATHS, seed: bytes = b"") -> str:
    """What a lab setup depends on (the files under ``paths``, after ``seed``): a change re-applies it."""
    h = hashlib.sha256(seed)
    for rel in paths:
        base = root / rel
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in files:
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def apply(root: Path, inventory: Path, lab_dir: Path) -> None:
    """backup_setup on every lab host, then a full backup of each data set that has none yet."""
    playbook_bin = Path(sys.executable).parent / "ansible-playbook"
    env = {**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0",
           "YUNWEI_STORE": str(lab_dir / "provision-journal.sqlite"), "YUNWEI_JOB": "lab-backups"}
    log = lab_dir / "backups.log"
    steps = [("setting up backups (pgBackRest, restic)", "backup_setup.yml", []),
             ("first full backup of every data set", "backup.yml", ["-e", "backup_type=full", "-e", "backup_only_missing=true"]),
             ("preparing drill01 for restores (restore_drill_setup)", "restore_drill_setup.yml", [])]
    with log.open("w") as fh:
        for what, playbook, extra in steps:
            progress(f"lab: {what}")
            cmd = [str(playbook_bin) if playbook_bin.exists() else "ansible-playbook", "-i", str(inventory),
                   "--vault-password-file", str(vault_password_path()), *extra, str(root / "playbooks" / playbook)]
            proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=root)
            if proc.returncode != 0:
                fh.flush()
                tail = "\n".join(log.read_text().splitlines()[-25:])
                raise YunweiError(f"lab backups: {playbook} failed (full log: {log}):\n{tail}")

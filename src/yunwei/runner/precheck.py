"""Checks of a job's inventory before ansible-playbook starts: bad input exits 2 naming the file
and the line or key, before any host is contacted.

Only what can be checked without Ansible (importing its inventory machinery costs about a second
per run): the YAML of the inventory and of its group_vars/host_vars — syntax, UTF-8, duplicate keys
(Ansible would take the last one), and that an inventory file is a mapping of groups. Everything
else (INI and plugin inventories, host patterns, a limit that matches nothing) is Ansible's to
judge: the job environment makes an unparsable inventory fatal
(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED), and the journal records a run that matched or reached
no host as failed.
"""

from __future__ import annotations

from pathlib import Path

from yunwei.errors import InputError
from yunwei.yamlfile import load_yaml_text, read_text

YAML_SUFFIXES = (".yml", ".yaml")
# files Ansible skips in an inventory directory (INVENTORY_IGNORE_EXTS and friends)
_IGNORED = (".orig", ".ini", ".cfg", ".retry", ".pyc", ".pyo", "~", ".md", ".txt", ".rst")


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(directory).parts))


def _load(path: Path) -> object:
    text = read_text(path, "inventory file")
    if text.lstrip().startswith("$ANSIBLE_VAULT"):
        return None  # vaulted: only Ansible (with the vault secret) can read it
    return load_yaml_text(text, str(path))


def _check_inventory_file(path: Path) -> None:
    data = _load(path)
    if data is None:
        return
    if not isinstance(data, dict):
        raise InputError(str(path), None, f"not a YAML inventory: expected a mapping of groups, got {type(data).__name__}")
    if "plugin" in data:
        return  # an inventory plugin's configuration
    for group, body in data.items():
        if body is not None and not isinstance(body, dict):
            raise InputError(str(path), str(group), "a group must be a mapping (hosts, children, vars), "
                                                    f"got {type(body).__name__}")
        for part in ("hosts", "children", "vars"):
            value = (body or {}).get(part)
            if value is not None and not isinstance(value, dict):
                raise InputError(str(path), f"{group}.{part}", f"must be a mapping, got {type(value).__name__}")


def check_inventory(inventory: Path) -> None:
    """Raise :class:`InputError` (exit 2) for an inventory whose YAML is malformed."""
    if inventory.is_dir():
        sources = [p for p in sorted(inventory.iterdir()) if p.is_file() and not p.name.startswith(".")
                   and not p.name.endswith(_IGNORED)]
        base = inventory
    else:
        sources = [inventory]
        base = inventory.parent
    for source in sources:
        if source.suffix in YAML_SUFFIXES:
            _check_inventory_file(source)
    for sub in ("group_vars", "host_vars"):
        for path in _yaml_files(base / sub):
            data = _load(path)
            if data is not None and not isinstance(data, dict):
                raise InputError(str(path), None, f"variables file must be a mapping, got {type(data).__name__}")

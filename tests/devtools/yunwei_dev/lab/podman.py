"""Thin wrapper over the podman CLI, plus installing podman and fixing its quirks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from yunwei.errors import YunweiError
from yunwei.files import write_atomic
from yunwei_dev.lab import quirks
from yunwei.ui import progress

CONTAINERS_CONF = Path("/etc/containers/containers.conf")
# netavark + aardvark-dns: the network stack with name resolution between lab hosts
# (Debian would otherwise settle for CNI plugins without DNS when recommends are off).
APT_PACKAGES = ["podman", "runc", "netavark", "aardvark-dns", "iptables", "uidmap", "slirp4netns", "debootstrap"]


class PodmanError(YunweiError):
    pass


def podman(*args: str, check: bool = True, input: bytes | None = None, timeout: float | None = 300) -> subprocess.CompletedProcess:
    """Run ``podman ARGS`` and capture its output; raise PodmanError on failure when ``check``."""
    proc = subprocess.run(["podman", *args], input=input, capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise PodmanError(f"podman {' '.join(args[:3])} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc


def inspect(kind: str, names: Sequence[str]) -> list[dict]:
    """``podman KIND inspect`` as parsed JSON; missing objects are simply absent."""
    if not names:
        return []
    proc = podman(kind, "inspect", *names, check=False)
    try:
        return json.loads(proc.stdout or b"[]") or []
    except json.JSONDecodeError:
        return []


def ensure_installed(*, which=shutil.which, is_root: bool | None = None, runner=subprocess.run) -> None:
    """Install podman with apt when it is missing and we are root; otherwise explain and exit 2."""
    if which("podman") and which("debootstrap"):
        return
    is_root = os.geteuid() == 0 if is_root is None else is_root
    if not is_root:
        raise YunweiError(
            "podman and debootstrap are required for the lab and are not installed.\n"
            f"  Install them as root:  apt-get install -y {' '.join(APT_PACKAGES)}\n"
            "  or run `make demo` as root, which installs everything.",
            exit_code=2,
        )
    progress(f"installing {' '.join(APT_PACKAGES)} with apt")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *APT_PACKAGES]):
        proc = runner(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise YunweiError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")


def ensure_runs(image: str, *, conf: Path = CONTAINERS_CONF) -> None:
    """Probe ``podman run`` with ``image``; fix known quirks in containers.conf if it fails."""
    probe = podman("run", "--rm", "--network", "none", image, "true", check=False)
    if probe.returncode == 0:
        return
    stderr = probe.stderr.decode(errors="replace")
    found = quirks.classify(stderr)
    if not found:
        raise PodmanError(f"podman cannot run containers here: {stderr.strip()}")
    if os.geteuid() != 0:
        raise YunweiError(
            f"podman needs configuration in {conf} ({', '.join(q.value for q in found)}); run `yunwei lab up` as root",
            exit_code=2,
        )
    if quirks.Quirk.CRUN_HYBRID_CGROUPS in found and not shutil.which("runc"):
        ensure_installed(which=lambda name: None if name == "podman" else shutil.which(name))
    current = conf.read_text() if conf.exists() else ""
    try:
        updated = quirks.apply(current, found)
    except ValueError as exc:
        raise YunweiError(f"{conf}: not valid TOML, refusing to edit it: {exc}", exit_code=2) from exc
    conf.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(conf, updated)
    progress(f"fixed podman quirks in {conf}: {'; '.join(q.value for q in found)}")
    retry = podman("run", "--rm", "--network", "none", image, "true", check=False)
    if retry.returncode != 0:
        raise PodmanError(f"podman still cannot run containers after fixing {conf}: {retry.stderr.decode(errors='replace').strip()}")

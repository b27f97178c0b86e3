"""Build the lab's Debian 12 base image once: debootstrap, configure, ``podman import``.

The image is tagged only after a complete build, so a build that fails halfway (mirror
unreachable, disk full, interrupted) leaves no tagged image and the next ``lab up`` starts
clean. The recipe's digest is stored as a label, so a changed recipe triggers a rebuild.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from yunwei.errors import YunweiError
from yunwei_dev.lab.podman import inspect, podman
from yunwei.ui import progress

IMAGE = "localhost/yunwei-lab:bookworm"  # $YUNWEI_LAB_IMAGE overrides (tests build throwaway tags)
SUITE = "bookworm"
PACKAGES = ["python3", "openssh-server", "sudo", "procps", "iproute2", "ca-certificates", "less"]
LAB_USER = "ops"
DEFAULT_MIRROR = "http://deb.debian.org/debian"

# PID 1 of every lab container: there is no systemd, so start this host's services through
# their init scripts (the provisioning playbook lists them), then run sshd in the foreground.
LAB_INIT = """#!/bin/sh
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
if [ -f /etc/yunwei-lab/services ]; then
  for svc in $(cat /etc/yunwei-lab/services); do service "$svc" start >/dev/null 2>&1 || echo "lab-init: $svc failed to start" >&2; done
fi
exec /usr/sbin/sshd -D -e
"""
SSHD_CONF = "PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n"
SUDOERS = f"{LAB_USER} ALL=(ALL) NOPASSWD:ALL\n"


def recipe_digest(mirror: str) -> str:
    h = hashlib.sha256()
    for part in (SUITE, mirror, " ".join(PACKAGES), LAB_USER, LAB_INIT, SSHD_CONF, SUDOERS, _sources(mirror)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def host_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (so the lab builds from the same place)."""
    override = os.environ.get("YUNWEI_LAB_MIRROR")
    if override:
        return override.rstrip("/")
    files = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for m in re.finditer(r"(https?://\S+/debian)/?\s", text + "\n"):
            if "security" not in m.group(1):
                return m.group(1)
    return DEFAULT_MIRROR


def _sources(mirror: str) -> str:
    security = mirror.replace("/debian", "/debian-security") if mirror.endswith("/debian") else "http://deb.debian.org/debian-security"
    return (
        f"deb {mirror} {SUITE} main\n"
        f"deb {mirror} {SUITE}-updates main\n"
        f"deb {security} {SUITE}-security main\n"
    )


def image_name() -> str:
    return os.environ.get("YUNWEI_LAB_IMAGE") or IMAGE


def current_digest(image: str) -> str | None:
    """The recipe digest of the tagged image, or None when there is no image."""
    found = inspect("image", [image])
    if not found:
        return None
    labels = (found[0].get("Config") or {}).get("Labels") or found[0].get("Labels") or {}
    return labels.get("yunwei.recipe", "")


def ensure_image(build_root: Path) -> str:
    """Build the image unless an image of the current recipe is tagged. Returns its name."""
    image = image_name()
    mirror = host_mirror()
    digest = recipe_digest(mirror)
    if current_digest(image) != digest:
        build(build_root, mirror, digest, image)
    return image


def build(build_root: Path, mirror: str, digest: str, image: str) -> None:
    build_root.mkdir(parents=True, exist_ok=True)
    with (build_root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; a second waiter then finds the image
        if current_digest(image) == digest:
            return
        for stale in build_root.glob("image-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        _build(build_root, mirror, digest, image)


def _build(build_root: Path, mirror: str, digest: str, image: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="image-", dir=build_root))
    rootfs = workdir / "rootfs"
    try:
        progress(f"building lab image {image} from {mirror} (debootstrap, about a minute)")
        _run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror],
            "debootstrap",
            log=workdir / "debootstrap.log",
        )
        _configure(rootfs, mirror)
        progress(f"importing {image}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", "-", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        changes = [
            'CMD ["/usr/local/sbin/lab-init"]',
            f"LABEL yunwei.recipe={digest}",
            "STOPSIGNAL SIGTERM",
        ]
        args = ["podman", "import"]
        for change in changes:
            args += ["--change", change]
        imp = subprocess.run([*args, "-", image], stdin=tar.stdout, capture_output=True)
        tar.stdout.close()
        if tar.wait() != 0 or imp.returncode != 0:
            podman("rmi", "-f", image, check=False)
            raise YunweiError(f"podman import failed: {imp.stderr.decode(errors='replace').strip()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _configure(rootfs: Path, mirror: str) -> None:
    """Files and the lab user inside the debootstrapped tree, before it becomes an image."""
    (rootfs / "etc/apt/sources.list").write_text(_sources(mirror))
    init = rootfs / "usr/local/sbin/lab-init"
    init.write_text(LAB_INIT)
    init.chmod(0o755)
    (rootfs / "etc/ssh/sshd_config.d/yunwei-lab.conf").write_text(SSHD_CONF)
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # each container generates its own host keys at first start
    sudoers = rootfs / "etc/sudoers.d/yunwei-lab"
    sudoers.write_text(SUDOERS)
    sudoers.chmod(0o440)
    (rootfs / "etc/yunwei-lab").mkdir(exist_ok=True)
    _run(["chroot", str(rootfs), "useradd", "--create-home", "--shell", "/bin/bash", LAB_USER], "useradd")
    _run(["chroot", str(rootfs), "apt-get", "clean"], "apt-get clean")
    shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)


def _run(cmd: list[str], what: str, log: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise YunweiError(f"lab image build failed at {what} (exit {proc.returncode}); no image was tagged:\n" + "\n".join(tail))

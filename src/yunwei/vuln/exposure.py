"""The network exposure check: nmap from the bastion against one inventory host, compared with the
allow-list of its groups.

The scan-target rule: nmap is only ever pointed at one literal address that belongs to a host of the
inventory the job runs on. Anything else - a name or address outside the inventory, a network (``/24``), a
range (``10.0.0.1-9``), a list, an option-looking value - is refused before any packet is sent
(:class:`TargetRefused`). The scan is bounded: one address, TCP connect, ``--host-timeout``, and a process
timeout on top.

Fork safety: runs in an Ansible worker (the action plugin): a subprocess, no store.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

HOST_TIMEOUT = 120  # seconds nmap may spend on the host
NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})$")


class TargetRefused(ValueError):
    """A scan target outside the inventory (or not a single address)."""


class ScanError(RuntimeError):
    """nmap could not scan the host."""


def check_port(value: Any, where: str) -> int:
    """A TCP port of an allow-list: 1..65535 (ValueError names ``where``)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ValueError(f"{where}: {value!r} is not a port number")
    port = int(str(value).strip())
    if not 1 <= port <= 65535:
        raise ValueError(f"{where}: {port} is not a port (1-65535)")
    return port


def allowed_ports(by_group: Any, groups: Iterable[str], where: str = "security_allowed_ports") -> set[int]:
    """The ports a host may expose: the union of the allow-lists of its groups ({group: [port, ...]})."""
    if not isinstance(by_group, dict):
        raise ValueError(f"{where}: must be a mapping of group name to a list of ports")
    ports: set[int] = set()
    for group, items in by_group.items():
        if not isinstance(items, list):
            raise ValueError(f"{where}.{group}: must be a list of ports")
        checked = {check_port(p, f"{where}.{group}[{i}]") for i, p in enumerate(items)}
        if group in groups:
            ports |= checked
    return ports


def resolve_target(address: str, inventory_addresses: Iterable[str], host: str) -> str:
    """The one IP address to scan for ``host``, or TargetRefused. ``address`` must be one of the
    inventory's addresses, and a single host: an IP literal or a name that resolves to addresses."""
    addr = str(address or "").strip()
    allowed = {str(a).strip() for a in inventory_addresses}
    if not addr or addr not in allowed:
        raise TargetRefused(f"{host}: scan target {addr!r} is not an address of the inventory: refused")
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        pass
    if not NAME_RE.match(addr) or ".." in addr:
        raise TargetRefused(f"{host}: scan target {addr!r} is not a single host (network, range or list?): refused")
    try:
        infos = socket.getaddrinfo(addr, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TargetRefused(f"{host}: scan target {addr!r} does not resolve ({exc})") from None
    return str(infos[0][4][0])


def parse_nmap_xml(text: str) -> list[int]:
    """Open TCP ports from nmap's XML output (-oX -)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ScanError(f"nmap output is not XML: {exc}") from None
    ports = []
    for p in root.iter("port"):
        state = p.find("state")
        if p.get("protocol") == "tcp" and state is not None and state.get("state") == "open":
            ports.append(int(p.get("portid", "0")))
    if root.find("host") is None:
        raise ScanError("nmap reports no host up")
    return sorted(ports)


def scan(ip: str, *, ports: str = "1-65535", nmap: str = "nmap", host_timeout: int = HOST_TIMEOUT) -> list[int]:
    """Open TCP ports of one address (nmap TCP connect scan, no DNS, no ping)."""
    ipaddress.ip_address(ip)  # only a literal single address reaches nmap
    exe = shutil.which(nmap)
    if not exe:
        raise ScanError("nmap not found on the bastion (Debian package nmap: make bootstrap)")
    cmd = [exe, "-n", "-Pn", "-sT", "-T4", "--max-retries", "1", "--host-timeout", f"{host_timeout}s",
           "-p", ports, "-oX", "-", "--", ip]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=host_timeout + 30, check=False)
    except subprocess.TimeoutExpired:
        raise ScanError(f"nmap did not finish within {host_timeout + 30} s") from None
    if proc.returncode != 0:
        raise ScanError(f"nmap failed (rc {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return parse_nmap_xml(proc.stdout)

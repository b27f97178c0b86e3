#!/usr/bin/env python3
"""The vulnerability scan's cost (docs/security.md), each figure against a baseline measured in the same run.

A. Per host, on the bastion: ``yunwei.vuln.oval.evaluate`` (oscap on an offline root built from a host's
   dpkg status) for feeds of realistic size (thousands of Debian-style definitions) x installed-package counts,
   against the baseline ``oscap oval eval`` of the same feed on the bastion's own root (no probe root: what
   installing oscap on each host would cost per host).
B. The whole lab's quarterly scan end to end (``yunwei vuln scan``: every host, packages and ports, findings,
   tickets) with the largest feed, against ``yunwei run ping`` on the same lab as the floor.

    YUNWEI_LAB_NAME=r19 .venv/bin/python bench/vuln/bench.py --defs 1000,4000,8000 --rounds 3 [--no-lab]

Variants are interleaved round by round. Prints a Markdown table (medians) and writes bench/out/vuln.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / ".collections"))


def host_status(packages: int) -> str:
    """A dpkg status with ``packages`` installed packages: the bastion's own, cut or padded with copies."""
    from ansible_collections.yunwei.ops.plugins.module_utils.vuln_collector import reduce_status

    stanzas = [s for s in reduce_status(Path("/var/lib/dpkg/status").read_text()).split("\n\n") if s.strip()]
    out = stanzas[:packages]
    i = 0
    while len(out) < packages:
        s = stanzas[i % len(stanzas)]
        out.append(s.replace("Package: ", f"Package: pad{i}-", 1))
        i += 1
    return "\n\n".join(out) + "\n"


def feed_file(tmp: Path, defs: int, status: str) -> Path:
    from yunwei_dev import ovalfeed

    from yunwei.vuln.oval import installed_versions

    versions = installed_versions(status)
    real = [ovalfeed.Vuln(f"CVE-2099-{i:04d}", name, ovalfeed.above(v), "high")
            for i, (name, v) in enumerate(sorted(versions.items())[:20])]  # some matches, like a real scan
    p = tmp / f"feed-{defs}.xml"
    p.write_text(ovalfeed.build(real + ovalfeed.filler(defs - len(real))))
    return p


def timed(fn) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def part_a(defs_list: list[int], pkgs_list: list[int], rounds: int) -> list[list[str]]:
    from yunwei.vuln import feed, oval

    rows = []
    with tempfile.TemporaryDirectory(prefix="yunwei-bench-vuln-") as t:
        tmp = Path(t)
        for defs in defs_list:
            for pkgs in pkgs_list:
                status = host_status(pkgs)
                path = feed_file(tmp, defs, status)
                index = feed.parse(path.read_bytes(), str(path))["definitions"]
                facts = {"dpkg_status": status, "os_release": Path("/etc/os-release").read_text(),
                         "debian_version": Path("/etc/debian_version").read_text(), "arch": "amd64"}
                ours, base = [], []
                for _ in range(rounds):
                    ours.append(timed(lambda: oval.evaluate(path, index, facts)))
                    base.append(timed(lambda: subprocess.run(["oscap", "oval", "eval", "--results", str(tmp / "r.xml"),
                                                              str(path)], capture_output=True, check=True)))
                o, b = statistics.median(ours), statistics.median(base)
                rows.append([f"{defs:,}", f"{pkgs:,}", f"{o:.2f}", f"{b:.2f}", f"{o / b:.2f}"])
                print("A", rows[-1], flush=True)
    return rows


def part_b(defs: int, rounds: int) -> list[list[str]]:
    from yunwei_dev.lab import Lab

    lab = Lab.from_env().up()
    with tempfile.TemporaryDirectory(prefix="yunwei-bench-vuln-lab-") as t:
        tmp = Path(t)
        var = tmp / "var"
        (var / "labs").mkdir(parents=True)
        (var / "labs" / lab.name).symlink_to(lab.inventory.parents[1])
        env = {**os.environ, "YUNWEI_VAR": str(var), "YUNWEI_STORE": str(tmp / "journal.sqlite"),
               "YUNWEI_OPERATOR": "bench", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        status = host_status(800)
        path = feed_file(tmp, defs, status)
        subprocess.run([str(BIN / "yunwei"), "vuln", "import", str(path)], env=env, check=True, cwd=ROOT,
                       capture_output=True)
        scan, ping = [], []
        for _ in range(rounds):
            scan.append(timed(lambda: subprocess.run([str(BIN / "yunwei"), "vuln", "scan", "-q"], env=env, cwd=ROOT,
                                                     capture_output=True, check=True)))
            ping.append(timed(lambda: subprocess.run([str(BIN / "yunwei"), "run", "ping", "-q"], env=env, cwd=ROOT,
                                                     capture_output=True, check=True)))
        hosts = len(lab.hosts) if hasattr(lab, "hosts") else 6
        s, p = statistics.median(scan), statistics.median(ping)
        row = [f"{defs:,}", str(hosts), f"{s:.1f}", f"{p:.1f}", f"{s / p:.1f}"]
        print("B", row, flush=True)
        return [row]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--defs", default="1000,4000,8000")
    ap.add_argument("--pkgs", default="300,850,2000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-lab", action="store_true")
    args = ap.parse_args()
    if not shutil.which("oscap"):
        raise SystemExit("oscap missing: make bootstrap")
    defs = [int(x) for x in args.defs.split(",")]
    a = part_a(defs, [int(x) for x in args.pkgs.split(",")], args.rounds)
    lines = [f"Run {dt.datetime.now().isoformat(timespec='minutes')}, {args.rounds} rounds, medians.", "",
             "| definitions | installed packages | yunwei (offline root), s | baseline oscap on its own root, s | ratio |",
             "|---|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in a]
    if not args.no_lab:
        b = part_b(max(defs), args.rounds)
        lines += ["", "| definitions | lab hosts | `yunwei vuln scan` end to end, s | `yunwei run ping`, s | ratio |",
                  "|---|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in b]
    text = "\n".join(lines) + "\n"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "vuln.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

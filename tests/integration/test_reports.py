"""Reports end to end: journal -> `yunwei report` -> HTML rendered in headless Chromium.

The screenshots stay under var/test-artifacts/reports/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import pytest

from yunwei import cli
from yunwei.paths import project_root
from yunwei_dev.synthetic import make_journal
from yunwei.store import open_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = project_root() / "var" / "test-artifacts" / "reports"


def screenshot(html: Path, png: Path, height: int = 2000) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size=1280,{height}",
             html.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), proc.stderr[-2000:]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def distinct_colours(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as img:
        return len(img.convert("RGB").resize((320, 500)).getcolors(1 << 20) or [])


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite"
    with open_store(path, reap=False) as store:
        make_journal(store, start=date(2026, 10, 1), days=10, runs_per_day=1, hosts=6, checks_per_host=40,
                     heightened_days=[date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)], seed=3)
    return path


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
@pytest.mark.parametrize(("kind", "option", "value"), [
    ("health-daily", "--date", "2026-10-05"),
    ("monthly", "--month", "2026-10"),
    ("inspection-record", "--date", "2026-10-05"),
])
def test_html_renders_in_chromium(store_path, tmp_path, kind, option, value):
    windows = tmp_path / "windows.yml"
    windows.write_text("- {name: 国庆重保, start: 2026-10-01, end: 2026-10-07}\n", encoding="utf-8")
    rc = cli.main(["report", kind, option, value, "--format", "html,docx,xlsx", "--store", str(store_path),
                   "--out", str(tmp_path / "out"), "--windows", str(windows)])
    assert rc == 0
    html = tmp_path / "out" / f"{kind}-{value}.html"
    text = html.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text
    png = ARTIFACTS / f"{kind}-{value}.png"
    screenshot(html, png)
    assert png_size(png) == (1280, 2000)
    assert distinct_colours(png) > 20          # text, tables and (for reports) charts, not a blank page
    shutil.copy(html, ARTIFACTS / html.name)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_empty_month_renders(store_path, tmp_path):
    rc = cli.main(["report", "monthly", "--month", "2026-08", "--format", "html", "--store", str(store_path),
                   "--out", str(tmp_path)])
    assert rc == 0
    html = tmp_path / "monthly-2026-08.html"
    assert "本期无巡检数据" in html.read_text(encoding="utf-8")
    png = ARTIFACTS / "monthly-empty-2026-08.png"
    screenshot(html, png, height=1200)
    assert png_size(png) == (1280, 1200)

"""PDF, the signed archive copy: the DOCX converted by LibreOffice headless (Debian's
libreoffice-writer-nogui, installed by scripts/bootstrap.sh), so the PDF is the same document,
page for page, with the same A4 layout, header and 第 X 页 共 Y 页 footer.

Each conversion uses its own throw-away LibreOffice profile, so conversions never share state with
a user's LibreOffice or with each other. Several files convert in one LibreOffice start
(:func:`convert_files`), which is what the monthly bundle and the tests use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from yunwei.errors import YunweiError

TIMEOUT = 300


def soffice() -> str:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    raise YunweiError("PDF needs LibreOffice: install Debian's libreoffice-writer-nogui and libreoffice-calc-nogui "
                      "(scripts/bootstrap.sh does), or leave pdf out of --format")


def convert_files(paths: list[Path], out_dir: Path, *, fmt: str = "pdf", timeout: int = TIMEOUT) -> list[Path]:
    """Convert ``paths`` (DOCX or XLSX) to PDF in ``out_dir`` with one LibreOffice process."""
    if not paths:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="yunwei-lo-") as profile:
        env = {**os.environ, "HOME": profile, "SAL_USE_VCLPLUGIN": "svp"}
        cmd = [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", fmt, "--outdir", str(out_dir), *map(str, paths)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise YunweiError(f"LibreOffice did not convert {len(paths)} file(s) within {timeout} s") from None
    out = [out_dir / (p.stem + "." + fmt) for p in paths]
    missing = [p for p in out if not p.is_file()]
    if missing:
        raise YunweiError(f"LibreOffice failed to convert {', '.join(p.name for p in missing)} "
                          f"(exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-500:]}")
    return out


def docx_to_pdf(docx: bytes, name: str = "report") -> bytes:
    """PDF bytes of a DOCX document (rendered in memory, converted in a private temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="yunwei-pdf-") as tmp:
        src = Path(tmp) / f"{name}.docx"
        src.write_bytes(docx)
        (pdf,) = convert_files([src], Path(tmp) / "out")
        return pdf.read_bytes()

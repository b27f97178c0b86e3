"""The journal callback finds the yunwei package next to the collection when it is not installed."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_callback_adds_collection_src_when_package_missing():
    # -S: no site processing, so the editable install's .pth is not applied and `yunwei` is not
    # importable; ansible itself is made importable by adding site-packages by hand.
    code = f"""
import importlib.util, sys
sys.path.append({sysconfig.get_paths()["purelib"]!r})
try:
    import yunwei
    raise SystemExit("yunwei importable before the callback ran")
except ImportError:
    pass
spec = importlib.util.spec_from_file_location("journal_cb", {str(ROOT / "plugins/callback/journal.py")!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
assert mod._ystore is not None, "yunwei.store not imported"
assert {str(ROOT / "src")!r} in sys.path
assert mod.CallbackModule.CALLBACK_NEEDS_ENABLED is True
assert mod.CallbackModule.CALLBACK_TYPE == "notification"
print("ok")
"""
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.strip() == "ok"

"""One boundary between the collection and the yunwei package (docs/packaging.md): the plugins
import the declared package and never edit sys.path; without it they say how to install it; the
package keeps its state in one documented place that is never the working directory."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

from yunwei import paths

ROOT = Path(__file__).resolve().parents[2]


def test_no_plugin_edits_sys_path_and_src_is_not_shipped():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/**/*.py")
                 if re.search(r"sys\.path\.(insert|append)|sys\.path\s*=|\bsite\.addsitedir", p.read_text())]
    assert offenders == []
    ignored = yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
    assert "src" in ignored and "tests" in ignored
    requirements = (ROOT / "meta" / "ee-requirements.txt").read_text()
    assert re.search(r"^yunwei\b", requirements, re.M)


def test_callback_without_the_package_warns_how_to_install_it():
    # -S: no site processing, so the editable install's .pth is not applied and `yunwei` is not
    # importable; ansible itself is made importable by adding site-packages by hand, the collection
    # through its path as ansible would.
    code = f"""
import importlib.util, sys
sys.path.append({sysconfig.get_paths()["purelib"]!r})
sys.path.append({str(ROOT / ".collections")!r})
before = list(sys.path)
try:
    import yunwei
    raise SystemExit("yunwei importable before the callback ran")
except ImportError:
    pass
spec = importlib.util.spec_from_file_location("journal_cb", {str(ROOT / "plugins/callback/journal.py")!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
assert mod._ystore is None, "yunwei.store imported from somewhere"
assert sys.path == before, sys.path
from ansible_collections.yunwei.ops.plugins.plugin_utils import yunwei_package
print(yunwei_package.missing_message())
"""
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr + out.stdout
    assert "pip install yunwei" in out.stdout and "docs/packaging.md" in out.stdout


def test_state_directory_is_never_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YUNWEI_VAR", raising=False)
    assert paths.var_dir() == ROOT / "var"  # this checkout (editable install)
    monkeypatch.setattr(paths, "checkout_root", lambda: None)  # an installed package
    monkeypatch.setattr(paths.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.var_dir() == tmp_path / "xdg" / "yunwei"
    monkeypatch.setattr(paths.os, "geteuid", lambda: 0)
    assert paths.default_state_dir() == Path("/var/lib/yunwei")
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path / "v"))
    assert paths.var_dir() == tmp_path / "v"
    assert not (tmp_path / "var").exists()

"""Where the report templates come from.

Lookup order, per file: the client's directory (``--templates DIR`` or $YUNWEI_REPORT_TEMPLATES),
then ours in ``<root>/reports/templates``. A client can thus replace one template (say
``monthly.html.j2`` or ``report.docx``) and keep ours for the rest - no code change.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import jinja2

from yunwei.errors import InputError, YunweiError
from yunwei.paths import project_root

ENV_VAR = "YUNWEI_REPORT_TEMPLATES"


def builtin_dir() -> Path:
    return project_root() / "reports" / "templates"


def template_dirs(override: str | os.PathLike[str] | None = None) -> list[Path]:
    dirs = []
    chosen = override or os.environ.get(ENV_VAR)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_dir():
            source = "--templates" if override else ENV_VAR
            raise InputError(source, None, f"{path} is not a directory")
        dirs.append(path)
    if builtin_dir().is_dir():
        dirs.append(builtin_dir())
    if not dirs:
        raise YunweiError(f"report templates not found: {builtin_dir()} is missing (set {ENV_VAR})")
    return dirs


def find(name: str, dirs: list[Path]) -> Path | None:
    """The first ``name`` in ``dirs`` (used for the optional .docx / .xlsx templates)."""
    for d in dirs:
        if (d / name).is_file():
            return d / name
    return None


def jinja_env(dirs: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    from yunwei.reports.document import fmt_cell

    env.filters["cell"] = fmt_cell
    return env

"""HTML: one self-contained file from the Jinja2 templates (inline CSS, charts as data: URIs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from yunwei.errors import YunweiError
from yunwei.reports.templates import jinja_env


def render(doc: dict[str, Any], data: dict[str, Any], dirs: list[Path]) -> bytes:
    env = jinja_env(dirs)
    name = f"{doc['kind']}.html.j2"
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        template = env.get_template("base.html.j2")
    try:
        return template.render(doc=doc, data=data, kind=doc["kind"]).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise YunweiError(f"report template {template.filename}: {exc}") from exc

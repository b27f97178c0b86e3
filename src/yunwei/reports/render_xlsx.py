"""XLSX with openpyxl: a 概要 sheet (title, summary, text, sign-off), one sheet per table, and a
图表 sheet with the charts. Every table sheet has its header in row 1 (filterable, frozen).

Layout template: ``report.xlsx`` or ``<kind>.xlsx`` in the template directories; its sheets
(e.g. a cover) are kept and ours are added after them.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from yunwei.ui import display_width
from yunwei.reports.templates import find

FONT = "Noto Sans CJK SC"
FILL = {"正常": "E8F5E9", "绿": "E8F5E9", "警告": "FFF8E1", "黄": "FFF8E1", "严重": "FDECEA", "红": "FDECEA"}
HEAD = PatternFill("solid", fgColor="DDE6F0")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INVALID = set('[]:*?/\\')
FILLS = {k: PatternFill("solid", fgColor=v) for k, v in FILL.items()}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_CELL = 32767  # Excel's limit on the characters of one cell


def _value(value: Any) -> Any:
    """Numbers stay numbers; text loses the control characters XLSX cannot hold."""
    if isinstance(value, (int, float)) or value is None:
        return value
    text = _CONTROL.sub("", value if isinstance(value, str) else str(value))
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _sheet_name(wb: Workbook, name: str) -> str:
    base = "".join("_" if ch in INVALID else ch for ch in name)[:28] or "表"
    out, i = base, 2
    while out in wb.sheetnames:
        out = f"{base[:26]}{i}"
        i += 1
    return out


def _widths(ws: Any, columns: list[str], rows: list[list[Any]]) -> None:
    for i, c in enumerate(columns, start=1):
        w = max([display_width(str(c))] + [display_width(str(r[i - 1])) for r in rows[:500] if i - 1 < len(r)])
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, w + 2))


def render(doc: dict[str, Any], dirs: list[Path]) -> bytes:
    template = find(f"{doc['kind']}.xlsx", dirs) or find("report.xlsx", dirs)
    if template:
        wb = load_workbook(str(template))
        ws = wb.create_sheet(_sheet_name(wb, "概要"))
    else:
        wb = Workbook()
        ws = wb.active
        ws.title = "概要"
    bold = Font(name=FONT, bold=True)
    normal = Font(name=FONT)
    ws.append([doc["title"]])
    ws["A1"].font = Font(name=FONT, bold=True, size=16)
    ws.append([doc["subtitle"]])
    ws.append([])
    for k, v in doc["meta"]:
        ws.append([k, v])
        ws.cell(ws.max_row, 1).font = bold
    ws.append([])
    charts = []
    for b in doc["blocks"]:
        t = b["type"]
        if t == "heading":
            ws.append([b["text"]])
            ws.cell(ws.max_row, 1).font = bold
        elif t in ("paragraph", "notice"):
            ws.append([_value(b["text"])])
            ws.cell(ws.max_row, 1).font = Font(name=FONT, bold=t == "notice", color="C62828" if t == "notice" else None)
        elif t == "kv":
            ws.append([b["title"]])
            for k, v in b["rows"]:
                ws.append([k, v])
        elif t == "signoff":
            ws.append([])
            ws.append(["签字确认"])
            ws.cell(ws.max_row, 1).font = bold
            for k, v in b["rows"]:
                ws.append([k, v])
                ws.cell(ws.max_row, 1).font = bold
                ws.cell(ws.max_row, 2).border = BORDER
        elif t == "chart":
            charts.append(b)
        elif t == "table":
            ws.append([f"{b['title']}：见工作表「{b['sheet']}」" if b["rows"] else f"{b['title']}：{b['empty']}"])
            if not b["rows"]:
                continue
            ts = wb.create_sheet(_sheet_name(wb, b["sheet"]))
            for c, name in enumerate(b["columns"], start=1):
                cell = ts.cell(1, c, name)
                cell.font, cell.fill, cell.border = bold, HEAD, BORDER
            sc = b.get("status_col")
            for r, row in enumerate(b["rows"], start=2):
                for i, value in enumerate(row):
                    cell = ts.cell(r, i + 1, _value(value))
                    cell.border = BORDER
                    cell.font = normal
                    fill = FILLS.get(str(value)) if (i == sc or value in ("绿", "黄", "红")) else None
                    if fill is not None:
                        cell.fill = fill
            ts.freeze_panes = "A2"
            ts.auto_filter.ref = ts.dimensions
            _widths(ts, b["columns"], b["rows"])
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 30
    for row in ws.iter_rows():
        for cell in row:
            if cell.font is None or cell.font.name != FONT:
                cell.font = Font(name=FONT, bold=cell.font.bold if cell.font else False,
                                 size=cell.font.size if cell.font else None,
                                 color=cell.font.color if cell.font else None)
            cell.alignment = Alignment(wrap_text=False, vertical="top")
    if charts:
        cs = wb.create_sheet(_sheet_name(wb, "图表"))
        row = 1
        for b in charts:
            cs.cell(row, 1, b["title"]).font = bold
            img = Image(io.BytesIO(b["png"]))
            cs.add_image(img, f"A{row + 1}")
            row += int(img.height / 20) + 3
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

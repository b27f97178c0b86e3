"""XLSX with openpyxl: a 概要 sheet (cover, key figures, text, sign-off), one sheet per table (the
full annexes included), and a 图表 sheet with the charts.

Numbers are stored as numbers with number formats (a percentage as 0.8832 shown ``88.32%``), never
as text. Every sheet prints on A4, fitted to the page width, with the header row repeated on every
page (print titles), the project name in the page header and 第 &P 页 共 &N 页 in the footer.
Fonts carry the standard Windows names (宋体, 黑体) so Office and WPS render them.

Layout template: ``report.xlsx`` or ``<kind>.xlsx`` in the template directories; its sheets
(e.g. a cover) are kept and ours are added after them.
"""

from __future__ import annotations

import io
import math
import re
from copy import copy
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from yunwei.reports.templates import find
from yunwei.ui import display_width

FONT, HEAD_FONT = "宋体", "黑体"
FILL = {"正常": "E8F5E9", "绿": "E8F5E9", "警告": "FFF8E1", "黄": "FFF8E1", "严重": "FDECEA", "红": "FDECEA", "通过": "E8F5E9", "不通过": "FDECEA",
        "不可达": "FDECEA"}
HEAD = PatternFill("solid", fgColor="DDE6F0")
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INVALID = set('[]:*?/\\')
FILLS = {k: PatternFill("solid", fgColor=v) for k, v in FILL.items()}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_CELL = 32767  # Excel's limit on the characters of one cell
NUMBER_FORMATS = {"pct": "0.00%", "int": "0", "num": "0.00"}
WRAP_AT = 36     # characters: longer text columns wrap at this width
LINE_PT = 14     # points per printed line (宋体 11)


def _value(value: Any, fmt: str | None = None) -> Any:
    """Numbers stay numbers (a percentage becomes its fraction); text loses control characters."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return value / 100.0 if fmt == "pct" else value
    text = _CONTROL.sub("", value if isinstance(value, str) else str(value))
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _lines(text: str, width: float) -> int:
    """Printed lines of a wrapped cell ``width`` characters wide."""
    per = max(1.0, width - 1)
    return sum(max(1, math.ceil(display_width(line) / per)) for line in text.split("\n"))


def _sheet_name(wb: Workbook, name: str) -> str:
    base = "".join("_" if ch in INVALID else ch for ch in name)[:28] or "表"
    out, i = base, 2
    while out in wb.sheetnames:
        out = f"{base[:26]}{i}"
        i += 1
    return out


def _widths(ws: Any, columns: list[str], rows: list[list[Any]]) -> list[float]:
    out = []
    for i, c in enumerate(columns, start=1):
        w = max([display_width(str(c))] + [display_width(line) for r in rows[:500] if i - 1 < len(r)
                                            for line in str(r[i - 1]).split("\n")])
        width = min(WRAP_AT, max(8, w + 2))
        ws.column_dimensions[get_column_letter(i)].width = width
        out.append(width)
    return out


def _print_setup(ws: Any, doc: dict[str, Any], *, title_rows: str | None, landscape: bool) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddHeader.center.text = f"{doc['header']}　{doc['plain_title']}"
    ws.oddHeader.center.size = 9
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.size = 9
    anchor = doc.get("audit_anchor") or ""
    ws.oddFooter.right.text = f"审计日志锚点 {anchor}" if anchor else ""
    ws.oddFooter.right.size = 7


def _table_sheet(wb: Workbook, doc: dict[str, Any], b: dict[str, Any]) -> None:
    ts = wb.create_sheet(_sheet_name(wb, b["sheet"]))
    bold, normal = Font(name=HEAD_FONT, bold=True), Font(name=FONT)
    formats = b.get("formats") or [None] * len(b["columns"])
    for c, name in enumerate(b["columns"], start=1):
        cell = ts.cell(1, c, name)
        cell.font, cell.fill, cell.border = bold, HEAD, BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    sc = b.get("status_col")
    widths = _widths(ts, b["columns"], b["rows"])
    heads = max(_lines(str(c), w) for c, w in zip(b["columns"], widths))
    if heads > 1:
        ts.row_dimensions[1].height = LINE_PT * heads + 2
    # long text wraps at the column width; a cell of several lines (a register's timeline) always
    multiline = [any("\n" in str(r[i]) for r in b["rows"][:500] if i < len(r)) for i in range(len(widths))]
    wrap = [w >= WRAP_AT or m for w, m in zip(widths, multiline)]
    # Setting border, font, alignment on every cell makes openpyxl hash each style object per cell
    # (seconds for a register of a few thousand rows); each distinct combination is built once and
    # its style ids copied to the other cells.
    styles: dict[tuple[Any, ...], Any] = {}
    for r, row in enumerate(b["rows"], start=2):
        lines = max((_lines(str(v), widths[i]) for i, v in enumerate(row) if i < len(wrap) and wrap[i]), default=1)
        if lines > 1:  # LibreOffice does not fit row heights when it opens the file: say how many lines
            ts.row_dimensions[r].height = LINE_PT * lines + 2
        for i, value in enumerate(row):
            fmt = formats[i] if i < len(formats) else None
            cell = ts.cell(r, i + 1, _value(value, fmt))
            numfmt = (NUMBER_FORMATS[fmt] if isinstance(value, (int, float)) and not isinstance(value, bool)
                      and fmt in NUMBER_FORMATS else None)
            fill = FILLS.get(str(value)) if (i == sc or value in ("绿", "黄", "红")) else None
            key = (numfmt, bool(i < len(wrap) and wrap[i]), str(value) if fill is not None else None)
            if key in styles:
                cell._style = copy(styles[key])
                continue
            cell.border = BORDER
            cell.font = normal
            if numfmt:
                cell.number_format = numfmt
            cell.alignment = Alignment(vertical="top", wrap_text=key[1])
            if fill is not None:
                cell.fill = fill
            styles[key] = copy(cell._style)
    ts.freeze_panes = "A2"
    ts.auto_filter.ref = ts.dimensions
    _print_setup(ts, doc, title_rows="1:1", landscape=sum(widths) > 100)


def render(doc: dict[str, Any], dirs: list[Path]) -> bytes:
    template = find(f"{doc['kind']}.xlsx", dirs) or find("report.xlsx", dirs)
    if template:
        wb = load_workbook(str(template))
        ws = wb.create_sheet(_sheet_name(wb, "概要"))
    else:
        wb = Workbook()
        ws = wb.active
        ws.title = "概要"
    bold = Font(name=HEAD_FONT, bold=True)
    normal = Font(name=FONT)
    wrap = Alignment(wrap_text=True, vertical="top")

    def line(*values: Any, font: Font = normal, merge: bool = False) -> None:
        ws.append([_value(v) if v != "" else None for v in values])
        row = ws.max_row
        for c in range(1, len(values) + 1):
            ws.cell(row, c).font = font
            ws.cell(row, c).alignment = wrap
        if merge:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=4)
            text = str(values[0])
            ws.row_dimensions[row].height = 15 * max(1, -(-display_width(text) // 100))

    line(doc["title"], font=Font(name=HEAD_FONT, bold=True, size=16))
    line(doc["subtitle"])
    line("")
    for k, v in doc["cover"]:
        line(k, v)
        ws.cell(ws.max_row, 1).font = bold
    line("")
    for k, v in doc["meta"]:
        line(k, v)
        ws.cell(ws.max_row, 1).font = bold
    line("")
    charts = []
    for b in doc["blocks"]:
        t = b["type"]
        if t == "heading":
            line(b["text"], font=bold, merge=True)
        elif t in ("paragraph", "notice"):
            line(b["text"], font=Font(name=FONT, bold=t == "notice", color="C62828" if t == "notice" else None),
                 merge=True)
        elif t == "chart":
            charts.append(b)
        elif t == "table":
            line(f"{b['title']}：见工作表「{b['sheet']}」" if b["rows"] else f"{b['title']}：{b['empty']}")
            if b["rows"]:
                _table_sheet(wb, doc, b)
    line("")
    line("签字确认", font=bold)
    so = doc.get("signoff") or {}
    if so.get("date"):
        line("记录日期", so["date"])
    line("角色", "姓名", "签字", "日期", font=bold)
    for r in so.get("rows") or []:
        line(r["role"], r["name"] or "", "", "    年  月  日")
        for c in range(1, 5):
            ws.cell(ws.max_row, c).border = BORDER
        ws.row_dimensions[ws.max_row].height = 28
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 18
    _print_setup(ws, doc, title_rows=None, landscape=False)
    if charts:
        cs = wb.create_sheet(_sheet_name(wb, "图表"))
        row = 1
        for b in charts:
            cs.cell(row, 1, b["title"]).font = bold
            img = Image(io.BytesIO(b["png"]))
            scale = 640 / img.width if img.width > 640 else 1.0
            img.width, img.height = int(img.width * scale), int(img.height * scale)
            cs.add_image(img, f"A{row + 1}")
            row += int(img.height / 20) + 3
        _print_setup(cs, doc, title_rows=None, landscape=False)
    wb.properties.creator = (doc.get("properties") or {}).get("author") or "yunwei"
    wb.properties.title = f"{doc['plain_title']}（{doc['subtitle']}）"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

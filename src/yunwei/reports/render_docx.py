"""DOCX with python-docx.

Layout template: ``report.docx`` or ``<kind>.docx`` in the template directories (see
templates.py). Its styles, page setup, header and footer are used, and its body (e.g. a
letterhead) is kept; the report is appended after it. Without one, python-docx's default document.
"""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from yunwei.reports.templates import find

FONT = "Noto Sans CJK SC"
STATUS_FILL = {"正常": "E8F5E9", "绿": "E8F5E9", "警告": "FFF8E1", "黄": "FFF8E1", "严重": "FDECEA", "红": "FDECEA"}
STATUS_RGB = {"ok": RGBColor(0x2E, 0x7D, 0x32), "warn": RGBColor(0xB2, 0x6A, 0x00), "crit": RGBColor(0xC6, 0x28, 0x28)}


def _cjk(run: Any, size: float | None = None, bold: bool | None = None) -> None:
    run.font.name = FONT
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), FONT)
    if size:
        run.font.size = Pt(size)
    if bold is not None:
        run.bold = bold


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(value: Any) -> str:
    """Cell text without the control characters XML cannot hold."""
    return _CONTROL.sub("", "" if value is None else str(value))


CELL_STYLE, HEAD_STYLE = "YunweiTableText", "YunweiTableHead"
_PLACEHOLDER = "@@YUNWEI-TABLE-{}@@"


def _cell_xml(value: Any, fill: str | None, style: str) -> str:
    shd = f'<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{fill}"/></w:tcPr>' if fill else ""
    text = escape(clean(value))
    run = f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>' if text else ""
    return f'<w:tc>{shd}<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{run}</w:p></w:tc>'


def table_xml(columns: list[str], rows: list[list[Any]], status_col: int | None) -> str:
    """A bordered table as WordprocessingML text. Formatting lives in two paragraph styles, so a
    cell is a handful of elements: 36,000 rows stay in tens of MB instead of a gigabyte of DOM."""
    border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="999999"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    width = max(400, 14000 // max(1, len(columns)))
    parts = ['<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>', border,
             '</w:tblBorders><w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
             'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>',
             f'<w:gridCol w:w="{width}"/>' * len(columns), "</w:tblGrid>",
             '<w:tr><w:trPr><w:tblHeader/></w:trPr>', *(_cell_xml(c, "DDE6F0", HEAD_STYLE) for c in columns),
             "</w:tr>"]
    for row in rows:
        parts.append("<w:tr>")
        for i, value in enumerate(row):
            fill = STATUS_FILL.get(str(value)) if (i == status_col or value in ("绿", "黄", "红")) else None
            parts.append(_cell_xml(value, fill, CELL_STYLE))
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


class _Tables:
    """Tables are added as placeholder paragraphs and spliced in as text after saving."""

    def __init__(self) -> None:
        self.xml: list[str] = []

    def add(self, doc: Any, columns: list[str], rows: list[list[Any]], status_col: int | None) -> None:
        doc.add_paragraph(_PLACEHOLDER.format(len(self.xml)))
        self.xml.append(table_xml(columns, rows, status_col))

    def splice(self, docx_bytes: bytes) -> bytes:
        if not self.xml:
            return docx_bytes
        src = zipfile.ZipFile(io.BytesIO(docx_bytes))
        body = src.read("word/document.xml").decode("utf-8")
        pieces, pos = [], 0
        for i, xml in enumerate(self.xml):
            marker = body.index(_PLACEHOLDER.format(i), pos)
            start = max(body.rfind("<w:p>", pos, marker), body.rfind("<w:p ", pos, marker))
            end = body.index("</w:p>", marker) + len("</w:p>")
            pieces += [body[pos:start], xml]
            pos = end
        pieces.append(body[pos:])
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = "".join(pieces).encode("utf-8") if item.filename == "word/document.xml" else src.read(item)
                dst.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
        return out.getvalue()


def _table_styles(doc: Any) -> None:
    """Paragraph styles for table cells (kept when a client template already defines them)."""
    names = {s.name for s in doc.styles}
    for name, bold in ((CELL_STYLE, False), (HEAD_STYLE, True)):
        if name in names:
            continue
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.font.size = Pt(8)
        style.font.bold = bold
        style.font.name = FONT
        style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.space_before = Pt(0)
        _cjk_style(style)


def render(doc_model: dict[str, Any], dirs: list[Path]) -> bytes:
    template = find(f"{doc_model['kind']}.docx", dirs) or find("report.docx", dirs)
    doc = Document(str(template)) if template else Document()
    if template is None:
        section = doc.sections[0]
        wide = any(b["type"] == "table" and len(b["columns"]) > 7 for b in doc_model["blocks"])
        if wide:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = section.page_height, section.page_width
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(1.8))
        normal = doc.styles["Normal"]
        normal.font.name = FONT
        normal.element.get_or_add_rPr()
        _cjk_style(normal)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _cjk(title.add_run(doc_model["title"]), 20, True)
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _cjk(sub.add_run(doc_model["subtitle"]), 12)
    _table_styles(doc)
    tables = _Tables()
    _table = tables.add
    _table(doc, ["项目", "内容"], [[k, v] for k, v in doc_model["meta"]], None)
    for b in doc_model["blocks"]:
        t = b["type"]
        if t == "heading":
            p = doc.add_paragraph()
            _cjk(p.add_run(b["text"]), 14, True)
        elif t in ("paragraph", "notice"):
            p = doc.add_paragraph()
            run = p.add_run(clean(b["text"]))
            _cjk(run, 11, t == "notice")
            if t == "notice":
                run.font.color.rgb = STATUS_RGB["crit"]
            elif b.get("status") in STATUS_RGB:
                run.font.color.rgb = STATUS_RGB[b["status"]]
        elif t == "kv":
            p = doc.add_paragraph()
            _cjk(p.add_run(b["title"]), 12, True)
            _table(doc, ["项目", "内容"], b["rows"], None)
        elif t == "table":
            p = doc.add_paragraph()
            _cjk(p.add_run(b["title"]), 12, True)
            if b["rows"]:
                _table(doc, b["columns"], b["rows"], b.get("status_col"))
            else:
                _cjk(doc.add_paragraph().add_run(b["empty"]), 10)
        elif t == "chart":
            doc.add_picture(io.BytesIO(b["png"]), width=Cm(16))
        elif t == "signoff":
            p = doc.add_paragraph()
            _cjk(p.add_run("签字确认"), 12, True)
            _table(doc, [k for k, _ in b["rows"]], [[v for _, v in b["rows"]]], None)
    buf = io.BytesIO()
    doc.save(buf)
    return tables.splice(buf.getvalue())


def _cjk_style(style: Any) -> None:
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), FONT)

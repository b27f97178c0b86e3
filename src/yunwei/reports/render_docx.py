"""DOCX with python-docx, laid out to be printed and signed: A4 portrait (landscape sections for wide
tables), a cover block, real heading styles (Heading 1/2, navigation pane), the project name in
the header, 第 X 页 共 Y 页 in the footer, column widths from the content, header rows repeated on
every page, rows never split, and the standard Windows font names (宋体 body, 黑体 headings, set as
East Asian fonts) so Office and WPS render them. On Linux, fontconfig aliases (installed by
scripts/bootstrap.sh) map those names to Noto Sans CJK for LibreOffice.

Layout template: ``report.docx`` or ``<kind>.docx`` in the template directories (templates.py).
Its styles, page setup, header and footer are used, and its body (e.g. a letterhead) is kept.

Tables are written as WordprocessingML text and spliced in after saving: 36,000 rows stay in tens
of MB instead of a gigabyte of DOM. Table text uses two paragraph styles (``YunweiTableText``,
``YunweiTableHead``) that a client template may define to restyle every table.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from yunwei.reports.document import fmt_cell
from yunwei.reports.templates import find
from yunwei.ui import display_width

BODY_FONT, HEAD_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
STATUS_FILL = {"正常": "E8F5E9", "绿": "E8F5E9", "警告": "FFF8E1", "黄": "FFF8E1", "严重": "FDECEA", "红": "FDECEA", "通过": "E8F5E9", "不通过": "FDECEA",
               "不可达": "FDECEA"}
STATUS_RGB = {"ok": RGBColor(0x2E, 0x7D, 0x32), "warn": RGBColor(0xB2, 0x6A, 0x00), "crit": RGBColor(0xC6, 0x28, 0x28)}
PAGE_W, PAGE_H = Cm(21.0), Cm(29.7)
MARGINS = {"top_margin": Cm(2.54), "bottom_margin": Cm(2.3), "left_margin": Cm(2.6), "right_margin": Cm(2.4)}
DXA_PER_CM = 567
TEXT_W_PORTRAIT = int((21.0 - 2.6 - 2.4) * DXA_PER_CM)
TEXT_W_LANDSCAPE = int((29.7 - 2.6 - 2.4) * DXA_PER_CM)
HALF_CHAR_DXA = 105     # one half-width character at 9 pt
CELL_PAD_DXA = 230
WIDE_TABLE_COLUMNS = 11  # tables with this many columns get a landscape section

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(value: Any) -> str:
    """Cell text without the control characters XML cannot hold."""
    return _CONTROL.sub("", "" if value is None else str(value))


CELL_STYLE, HEAD_STYLE = "YunweiTableText", "YunweiTableHead"
_PLACEHOLDER = "@@YUNWEI-PART-{}@@"


# ----------------------------------------------------------------------------- fonts and styles
def _fonts(rpr: Any, east: str, latin: str = LATIN_FONT) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)
    fonts.set(qn("w:eastAsia"), east)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)


def _style(doc: Any, name: str, east: str, size: float, *, bold: bool = False, kind: Any = WD_STYLE_TYPE.PARAGRAPH,
           before: float = 0, after: float = 0, keep: bool = False, center: bool = False) -> Any:
    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, kind)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.color.rgb = RGBColor(0, 0, 0)
    _fonts(style.element.get_or_add_rPr(), east)
    pf = style.paragraph_format
    pf.space_before, pf.space_after = Pt(before), Pt(after)
    pf.keep_with_next = keep
    if center:
        pf.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return style


def _styles(doc: Any) -> None:
    normal = _style(doc, "Normal", BODY_FONT, 10.5, after=3)
    normal.paragraph_format.line_spacing = 1.25
    _style(doc, "Title", HEAD_FONT, 20, bold=True, after=4, center=True)
    _style(doc, "Subtitle", BODY_FONT, 12, after=8, center=True).font.italic = False
    _style(doc, "Heading 1", HEAD_FONT, 14, bold=True, before=10, after=4, keep=True)
    _style(doc, "Heading 2", HEAD_FONT, 11, bold=True, before=6, after=2, keep=True)
    _style(doc, "Caption", HEAD_FONT, 9.5, bold=True, before=4, after=2, keep=True)
    for name in (CELL_STYLE, HEAD_STYLE):
        if name not in {s.name for s in doc.styles}:
            _style(doc, name, HEAD_FONT if name == HEAD_STYLE else BODY_FONT, 9, bold=name == HEAD_STYLE)
            doc.styles[name].paragraph_format.line_spacing = 1.0
    for s in ("Title", "Heading 1", "Heading 2"):  # the default template colours them blue and draws rules
        ppr = doc.styles[s].element.find(qn("w:pPr"))
        if ppr is not None:
            for el in ppr.findall(qn("w:pBdr")):
                ppr.remove(el)


# ----------------------------------------------------------------------------- tables
def column_widths(columns: list[str], rows: list[list[str]], total: int,
                  fractions: list[float] | None = None) -> list[int]:
    """Widths (dxa) from the content: columns of short values (times, numbers, statuses) get what
    they need; long-text columns share the rest, in proportion to their length."""
    if fractions:
        return [int(total * f / sum(fractions)) for f in fractions]
    need = []
    for i, c in enumerate(columns):
        cells = sorted(max((display_width(x) for x in str(r[i]).split("\n")), default=0) if i < len(r) else 0
                       for r in rows[:400])
        p90 = cells[int(0.9 * (len(cells) - 1))] if cells else 0
        hw = display_width(c)
        head = hw if hw <= 8 else max(8, (hw + 1) // 2)   # a long header may wrap onto two lines
        need.append(max(4, head, min(p90, 80)) + 1)
    width = [n * HALF_CHAR_DXA + CELL_PAD_DXA for n in need]
    if sum(width) <= total:
        extra = total - sum(width)
        weight = sum(need)
        return [w + int(extra * n / weight) for w, n in zip(width, need)]
    rigid = [i for i, n in enumerate(need) if n <= 20]
    flex = [i for i in range(len(need)) if i not in rigid]
    room = total - sum(width[i] for i in rigid)
    floor = 10 * HALF_CHAR_DXA + CELL_PAD_DXA
    if not flex or room < floor * len(flex):
        scale = total / sum(width)
        return [int(w * scale) for w in width]
    spare = room - floor * len(flex)
    weight = sum(need[i] for i in flex)
    for i in flex:
        width[i] = floor + int(spare * need[i] / weight)
    return width


def _runs_xml(text: str) -> str:
    lines = escape(clean(text)).split("\n")
    return "<w:br/>".join(f'<w:t xml:space="preserve">{ln}</w:t>' for ln in lines)


def _cell_xml(value: str, width: int, fill: str | None, style: str, align: str | None = None,
              keep: bool = False) -> str:
    shd = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
    jc = ("<w:keepNext/>" if keep else "") + (f'<w:jc w:val="{align}"/>' if align else "")
    run = f"<w:r>{_runs_xml(value)}</w:r>" if value else ""
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shd}<w:vAlign w:val="center"/></w:tcPr>'
            f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{jc}</w:pPr>{run}</w:p></w:tc>')


def table_xml(columns: list[str], rows: list[list[Any]], status_col: int | None, formats: list[str | None] | None = None,
              *, total: int = TEXT_W_PORTRAIT, header: bool = True, fractions: list[float] | None = None,
              label_cols: tuple[int, ...] = (), row_height: int | None = None, keep_together: bool = False) -> str:
    """A bordered table as WordprocessingML text: fixed layout with widths from the content, the
    header row repeated on every page, no row split across pages."""
    formats = formats or [None] * len(columns)
    text_rows = [[fmt_cell(v, formats[i] if i < len(formats) else None) for i, v in enumerate(r)] for r in rows]
    widths = column_widths(columns, text_rows, total, fractions)
    numeric = [f in ("pct", "int", "num") for f in formats]
    border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="808080"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    parts = [f'<w:tbl><w:tblPr><w:tblW w:w="{sum(widths)}" w:type="dxa"/><w:jc w:val="center"/><w:tblBorders>',
             border, '</w:tblBorders><w:tblLayout w:type="fixed"/>'
             '<w:tblCellMar><w:left w:w="70" w:type="dxa"/><w:right w:w="70" w:type="dxa"/></w:tblCellMar>'
             '<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
             'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>',
             "".join(f'<w:gridCol w:w="{w}"/>' for w in widths), "</w:tblGrid>"]
    if header:
        parts += ['<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>',
                  *(_cell_xml(c, widths[i], "DDE6F0", HEAD_STYLE, "center", keep_together or len(rows) <= 3)
                    for i, c in enumerate(columns)), "</w:tr>"]
    height = f'<w:trHeight w:val="{row_height}"/>' if row_height else ""
    for n, (raw, row) in enumerate(zip(rows, text_rows), 1):
        keep = keep_together and n < len(rows)
        parts.append(f"<w:tr><w:trPr><w:cantSplit/>{height}</w:trPr>")
        for i, value in enumerate(row):
            fill = STATUS_FILL.get(value) if (i == status_col or value in ("绿", "黄", "红")) else None
            if i in label_cols:
                fill = "F2F2F2"
            align = "right" if i < len(numeric) and numeric[i] and isinstance(raw[i], (int, float)) else None
            parts.append(_cell_xml(value, widths[i] if i < len(widths) else widths[-1], fill, CELL_STYLE, align, keep))
        parts.append("</w:tr>")
    parts.append("</w:tbl>")
    return "".join(parts)


class _Parts:
    """Raw XML parts (tables, section breaks) added as placeholder paragraphs and spliced in after saving."""

    def __init__(self) -> None:
        self.xml: list[str] = []

    def add(self, doc: Any, xml: str) -> None:
        doc.add_paragraph(_PLACEHOLDER.format(len(self.xml)))
        self.xml.append(xml)

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


# ----------------------------------------------------------------------------- page furniture
def _field(paragraph: Any, instr: str, size: float) -> None:
    for kind, text in (("begin", None), (None, instr), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        run.font.size = Pt(size)
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._element.append(el)
        elif text == instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
            run._element.append(el)
        else:
            run.add_text(text or "")


def _text(paragraph: Any, text: str, size: float, *, bold: bool = False, color: RGBColor | None = None) -> Any:
    run = paragraph.add_run(clean(text))
    run.font.size = Pt(size)
    run.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


def _rule(paragraph: Any, side: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    el = OxmlElement(f"w:{side}")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "808080")):
        el.set(qn(k), v)
    bdr.append(el)
    ppr.append(bdr)


def _header_footer(section: Any, doc_model: dict[str, Any]) -> None:
    section.header.is_linked_to_previous = False
    hp = section.header.paragraphs[0]
    hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _text(hp, f"{doc_model['header']}　{doc_model['plain_title']}", 9)
    _rule(hp, "bottom")
    fp = section.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _text(fp, "第 ", 9)
    _field(fp, "PAGE", 9)
    _text(fp, " 页 共 ", 9)
    _field(fp, "NUMPAGES", 9)
    _text(fp, " 页", 9)
    info = section.footer.add_paragraph()
    info.alignment = WD_ALIGN_PARAGRAPH.CENTER
    anchor = doc_model.get("audit_anchor") or ""
    _text(info, f"生成时间 {doc_model['generated_at']}" + (f"　审计日志锚点 {anchor}" if anchor else ""), 7,
          color=RGBColor(0x60, 0x60, 0x60))


def _page(section: Any, landscape: bool = False) -> None:
    from docx.enum.section import WD_ORIENT

    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (PAGE_H, PAGE_W) if landscape else (PAGE_W, PAGE_H)
    for side, value in MARGINS.items():
        setattr(section, side, value)
    section.header_distance, section.footer_distance = Cm(1.3), Cm(1.2)


def _section_break(body_sectpr: str, landscape: bool) -> str:
    """A paragraph ending a section laid out like the document's own, in the given orientation."""
    xml = re.sub(r"<w:pgSz[^>]*/>", (f'<w:pgSz w:w="{int(29.7 * DXA_PER_CM)}" w:h="{int(21.0 * DXA_PER_CM)}" '
                                     'w:orient="landscape"/>') if landscape else
                 f'<w:pgSz w:w="{int(21.0 * DXA_PER_CM)}" w:h="{int(29.7 * DXA_PER_CM)}"/>', body_sectpr)
    return f"<w:p><w:pPr>{xml}</w:pPr></w:p>"


def _properties(doc: Any, doc_model: dict[str, Any]) -> None:
    cp = doc.core_properties
    props = doc_model.get("properties") or {}
    now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    cp.title = f"{doc_model['plain_title']}（{doc_model['subtitle']}）"
    cp.subject = props.get("subject") or ""
    cp.author = props.get("author") or ""
    cp.last_modified_by = props.get("author") or ""
    cp.created = cp.modified = now
    cp.revision = 1
    cp.comments = "由 yunwei 根据巡检日志生成"
    cp.keywords = doc_model["kind"]


# ----------------------------------------------------------------------------- render
def render(doc_model: dict[str, Any], dirs: list[Path]) -> bytes:
    template = find(f"{doc_model['kind']}.docx", dirs) or find("report.docx", dirs)
    doc = Document(str(template)) if template else Document()
    section = doc.sections[0]
    if template is None:
        _page(section)
        _header_footer(section, doc_model)
    _styles(doc)
    _properties(doc, doc_model)
    parts = _Parts()

    doc.add_paragraph(doc_model["title"], style="Title")
    doc.add_paragraph(doc_model["subtitle"], style="Subtitle")
    cover = doc_model["cover"]
    rows = [[cover[i][0], cover[i][1], cover[i + 1][0] if i + 1 < len(cover) else "",
             cover[i + 1][1] if i + 1 < len(cover) else ""] for i in range(0, len(cover), 2)]
    parts.add(doc, table_xml(["", "", "", ""], rows, None, header=False, fractions=[2.2, 4.6, 2.2, 4.6],
                             label_cols=(0, 2)))
    meta = doc_model["meta"]
    doc.add_paragraph("主要指标", style="Caption")
    parts.add(doc, table_xml([k for k, _ in meta], [[v for _, v in meta]], None,
                             ["num" if isinstance(v, (int, float)) else None for _, v in meta]))
    landscape_open = False
    for b in doc_model["blocks"]:
        t = b["type"]
        if t == "table" and b.get("only") == "xlsx":
            continue
        wide = t == "table" and len(b["columns"]) >= WIDE_TABLE_COLUMNS and bool(b["rows"])
        if wide != landscape_open:
            parts.add(doc, f"@@SECTION-{'P' if wide else 'L'}@@")
            landscape_open = wide
        if t == "heading":
            doc.add_paragraph(clean(b["text"]), style="Heading 1" if b.get("level", 1) == 1 else "Heading 2")
        elif t in ("paragraph", "notice"):
            p = doc.add_paragraph()
            run = _text(p, b["text"], 10.5, bold=t == "notice")
            if t == "notice":
                run.font.color.rgb = STATUS_RGB["crit"]
            elif b.get("status") in STATUS_RGB:
                run.font.color.rgb = STATUS_RGB[b["status"]]
        elif t == "table":
            if b.get("show_title", True):
                doc.add_paragraph(clean(b["title"]), style="Caption")
            if b["rows"]:
                parts.add(doc, table_xml(b["columns"], b["rows"], b.get("status_col"), b.get("formats"),
                                         total=TEXT_W_LANDSCAPE if wide else TEXT_W_PORTRAIT,
                                         fractions=b.get("fractions")))
            else:
                doc.add_paragraph(clean(b["empty"]))
        elif t == "chart":
            doc.add_paragraph(clean(b["title"]), style="Caption")
            doc.add_picture(io.BytesIO(b["png"]), width=Cm(15.5))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    if landscape_open:
        parts.add(doc, "@@SECTION-L@@")
    _signoff(doc, parts, doc_model["signoff"])
    buf = io.BytesIO()
    doc.save(buf)
    body_sectpr = _body_sectpr(buf.getvalue())
    parts.xml = [(_section_break(body_sectpr, x == "@@SECTION-L@@") if x.startswith("@@SECTION-") else x)
                 for x in parts.xml]
    return parts.splice(buf.getvalue())


def _body_sectpr(docx_bytes: bytes) -> str:
    body = zipfile.ZipFile(io.BytesIO(docx_bytes)).read("word/document.xml").decode("utf-8")
    m = re.search(r"<w:sectPr\b.*?</w:sectPr>", body[body.rfind("<w:sectPr"):], re.S)
    return m.group(0) if m else "<w:sectPr/>"


def _signoff(doc: Any, parts: _Parts, signoff: dict[str, Any]) -> None:
    doc.add_paragraph("签字确认", style="Heading 1")
    rows = signoff.get("rows") or []
    if signoff.get("date"):
        doc.add_paragraph(f"记录日期：{signoff['date']}").paragraph_format.keep_with_next = True
    parts.add(doc, table_xml(["角色", "姓名", "签字", "日期"],
                             [[r["role"], r["name"] or "", "", "　　年　　月　　日"] for r in rows], None,
                             fractions=[2, 3, 4, 3], row_height=680, keep_together=True))

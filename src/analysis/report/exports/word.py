"""Word documents: captioned tables with a header row and footnote; whole reports."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from pathlib import Path

from analysis.report.exports.page import report_blocks
from analysis.report.exports.tables import INDENT, ExportTable, fix_zip_times


def _new_document():
    import datetime

    from docx import Document
    from docx.shared import Pt

    doc = Document()
    # no creation time or author: the same report gives the same file contents
    props = doc.core_properties
    props.author, props.last_modified_by, props.revision = "backpain", "backpain", 1
    props.created = props.modified = datetime.datetime(2000, 1, 1)
    doc.styles["Normal"].font.size = Pt(10)
    return doc


def _caption(doc, number_text: str, title: str) -> None:
    """A Word caption 'Table N. title' whose N is a SEQ field (Word renumbers it)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    par = doc.add_paragraph(style="Caption")
    par.add_run("Table ")

    def field_char(kind: str) -> None:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        par.add_run()._r.append(char)

    field_char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " SEQ Table \\* ARABIC "
    par.add_run()._r.append(instr)
    field_char("separate")
    par.add_run(number_text)  # the field's last result, shown until Word updates it
    field_char("end")
    par.add_run(f". {title}")


def add_docx_table(doc, table: ExportTable, number: int) -> None:
    """Add ``table`` to a python-docx document: caption, header row, rows, footnote."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    _caption(doc, str(number), table.title)
    grid = doc.add_table(rows=1 + len(table.rows), cols=len(table.columns))
    grid.style = "Table Grid"
    header = grid.rows[0]
    flag = OxmlElement("w:tblHeader")  # a real header row: repeated on every page
    flag.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(flag)
    for cell, name in zip(header.cells, table.columns, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(name).bold = True
    for r, row in enumerate(table.rows, start=1):
        for cell, value in zip(grid.rows[r].cells, row, strict=True):
            indented = value.startswith(INDENT)
            cell.text = value.strip() if indented else value
            if indented:
                cell.paragraphs[0].paragraph_format.left_indent = Pt(12)
    if table.note:
        note = doc.add_paragraph()
        note.add_run(table.note).font.size = Pt(8)


def tables_to_docx(tables: Sequence[ExportTable], path: str | Path, *,
                   title: str | None = None) -> Path:
    """Write ``tables`` to a Word document, one captioned table after another."""
    doc = _new_document()
    if title:
        doc.add_heading(title, level=1)
    for i, table in enumerate(tables, start=1):
        add_docx_table(doc, table, i)
    return _save(doc, path)


def _save(doc, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return fix_zip_times(path)


def report_to_docx(page: str, path: str | Path) -> Path:
    """A reader page as a Word document: headings, paragraphs, lists, tables and figures.

    Tables are those of the page (the released text); figures embedded as
    PNG or JPEG are placed at 16 cm wide with their caption; a figure in
    another format is named by its caption.
    """
    from docx.shared import Cm

    doc = _new_document()
    number = 0
    for kind, content in report_blocks(page):
        if kind[0] == "h" and kind[1:].isdigit():
            doc.add_heading(content, level=min(int(kind[1:]) - 1, 4) if kind != "h1" else 0)
        elif kind in ("p", "pre"):
            doc.add_paragraph(content)
        elif kind == "li":
            doc.add_paragraph(content, style="List Bullet")
        elif kind == "table":
            number += 1
            add_docx_table(doc, content, number)
        elif kind == "figure":
            image = _image_bytes(content["src"])
            if image is not None:
                doc.add_picture(io.BytesIO(image), width=Cm(16))
            doc.add_paragraph(("Figure: " if image is None else "") + content["caption"],
                              style="Caption")
    return _save(doc, path)


def _image_bytes(src: str) -> bytes | None:
    match = re.match(r"data:image/(png|jpeg);base64,(.*)", src, re.S)
    return base64.b64decode(match.group(2)) if match else None

"""Reader tables and whole reports as Word (DOCX), Excel (XLSX) and LaTeX (booktabs).

Exports start from what the reader sees: the released text of each table
(small counts already suppressed, :mod:`analysis.report.tables`), as
:meth:`ReportSession.table` records it in ``results/<notebook>.json``, and
the reader's HTML page for a whole report. So disclosure control holds in
every export, and a number reads as in the HTML: the text comes from the
number style in force (:mod:`analysis.style`) when the report was made.

- DOCX: a real Word table per table (header row repeated on each page,
  a numbered caption above, the footnote below); a whole report with its
  headings, paragraphs (the methods), tables and figures.
- XLSX: one sheet per table (title, header, rows, footnote below); a cell
  that is one number in the style is stored as a number with a display
  format of the same decimals and digit groups (Excel draws the decimal
  mark and group separator of the reader's locale: Lancet's mid-line
  point and SI thin spaces are not number formats), anything else as text.
- LaTeX: a ``table`` with a booktabs ``tabular`` per table (needs
  ``\\usepackage{booktabs}``), or a standalone document.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from analysis.errors import ReportError
from analysis.style import NumberStyle, current_style

FORMATS = ("html", "docx", "xlsx", "tex")
INDENT = "    "  # how a level row is indented in the reader tables
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass
class ExportTable:
    """One reader table: ``columns`` and ``rows`` of text as shown, title, note, key."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    key: str = "table"


def table_from_frame(frame: pd.DataFrame, *, title: str, note: str | None = None,
                     key: str = "table") -> ExportTable:
    """A reader table (a DataFrame of text, as the report shows it) as an :class:`ExportTable`."""
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    return ExportTable(title=title, columns=[str(c) for c in frame.columns],
                       rows=frame.to_numpy().tolist(), note=note or "", key=key)


def tables_from_results(results: Mapping) -> list[ExportTable]:
    """The tables of one notebook's record (``results/<name>.json``), in the order shown."""
    out = []
    for key, record in results.items():
        if isinstance(record, Mapping) and {"title", "columns", "rows"} <= set(record):
            out.append(ExportTable(title=str(record["title"]),
                                   columns=[str(c) for c in record["columns"]],
                                   rows=[[str(v) for v in row] for row in record["rows"]],
                                   note=str(record.get("note") or ""), key=str(key)))
    return out


def _as_tables(obj) -> list[ExportTable]:
    if isinstance(obj, ExportTable):
        return [obj]
    if isinstance(obj, pd.DataFrame):
        return [table_from_frame(obj, title=str(obj.attrs.get("title", "Table")))]
    if isinstance(obj, Mapping):
        return tables_from_results(obj)
    tables = list(obj)
    if not all(isinstance(t, ExportTable) for t in tables):
        raise ReportError("export: give a DataFrame, an ExportTable, a list of them or a "
                          "results record.")
    return tables


def export(obj, path: str | Path, *, title: str | None = None, note: str | None = None) -> Path:
    """Write one table or several to ``path``; the format comes from the suffix.

    ``obj`` is a reader DataFrame (with ``title`` and ``note``), an
    :class:`ExportTable`, a list of them, or a results record. Suffixes:
    ``.docx``, ``.xlsx``, ``.tex``.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Factor": ["Age"], "OR (95% CI)": ["1.93 (1.09-3.44)"]})
    >>> export(frame, "/tmp/table.xlsx", title="Odds ratios").name
    'table.xlsx'
    """
    path = Path(path)
    if isinstance(obj, pd.DataFrame):
        obj = table_from_frame(obj, title=title or "Table", note=note)
    tables = _as_tables(obj)
    writers = {".docx": tables_to_docx, ".xlsx": tables_to_xlsx, ".tex": tables_to_latex}
    if path.suffix.lower() not in writers:
        raise ReportError(f"export {path.name}: unknown format {path.suffix!r}; use .docx, "
                          ".xlsx or .tex.")
    return writers[path.suffix.lower()](tables, path)


def check_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """``"html,docx"`` or a list → the formats, checked; HTML is always written."""
    given = formats.split(",") if isinstance(formats, str) else list(formats)
    given = [f.strip().lower() for f in given if f.strip()]
    unknown = sorted(set(given) - set(FORMATS))
    if unknown:
        raise ReportError(f"Unknown export format(s) {', '.join(unknown)}: choose from "
                          f"{', '.join(FORMATS)} (e.g. --formats html,docx,xlsx,tex).")
    return tuple(f for f in FORMATS if f in given or f == "html")


# ---- Word ---------------------------------------------------------------------------
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
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), " SEQ Table \\* ARABIC ")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = number_text
    run.append(text)
    field.append(run)
    par._p.append(field)
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
    return path


# ---- Excel --------------------------------------------------------------------------
def excel_format(decimals: int, grouped: bool, leading_zero: bool = True) -> str:
    """The Excel number format of a number shown with ``decimals`` decimals."""
    whole = "#,##0" if grouped else ("0" if leading_zero else "#")
    return whole + ("." + "0" * decimals if decimals else "")


def excel_cells(table: ExportTable, style: NumberStyle | None = None) -> list[list[tuple]]:
    """Per row and column, ``(value, number_format or None)`` as written to the sheet.

    A column is numeric when each of its cells is blank, a number in
    ``style``, or a text that stands for a hidden or bounded value (``"<5"``,
    ``"suppressed"``, ``"<0.001"``); its number cells are stored as numbers,
    the others as text. Other columns stay text.
    """
    style = style or current_style()
    parsed = [[style.parse(v) for v in row] for row in table.rows]
    numeric = []
    for j in range(len(table.columns)):
        column = [(row[j], parsed[i][j]) for i, row in enumerate(table.rows)]
        numbers = [p for _, p in column if p is not None]
        others = [v for v, p in column if p is None and v.strip() != ""]
        numeric.append(bool(numbers) and all(v.startswith(("<", ">")) or v == "suppressed"
                                             for v in others))
    out = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, value in enumerate(row):
            p = parsed[i][j]
            if numeric[j] and p is not None:
                number, decimals, grouped = p
                leading = not value.strip().lstrip("-" + style.minus).startswith(
                    style.decimal_mark)
                stored = int(number) if decimals == 0 else number
                cells.append((stored, excel_format(decimals, grouped, leading)))
            else:
                cells.append((value, None))
        out.append(cells)
    return out


def _sheet_name(title: str, key: str, used: set[str]) -> str:
    base = SHEET_FORBIDDEN.sub(" ", key or title).strip()[:31] or "Table"
    name, i = base, 2
    while name.lower() in used:
        suffix = f" ({i})"
        name, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(name.lower())
    return name


def tables_to_xlsx(tables: Sequence[ExportTable], path: str | Path, *,
                   style: NumberStyle | None = None) -> Path:
    """Write ``tables`` to an Excel workbook, one sheet per table.

    Row 1: the title; row 3: the header (bold, frozen); then the rows; a
    blank row and the footnote below. Level rows are indented.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    if not tables:
        raise ReportError(f"{Path(path).name}: no tables to export.")
    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, table.key, used))
        sheet["A1"] = table.title
        sheet["A1"].font = Font(bold=True, size=12)
        for j, name in enumerate(table.columns, start=1):
            cell = sheet.cell(row=3, column=j, value=name)
            cell.font = Font(bold=True)
        for i, row in enumerate(excel_cells(table, style), start=4):
            for j, (value, number_format) in enumerate(row, start=1):
                text = value if isinstance(value, str) else None
                cell = sheet.cell(row=i, column=j,
                                  value=text.strip() if text and text.startswith(INDENT)
                                  else value)
                if number_format:
                    cell.number_format = number_format
                    cell.alignment = Alignment(horizontal="right")
                elif text and text.startswith(INDENT):
                    cell.alignment = Alignment(indent=2)
        if table.note:
            sheet.cell(row=5 + len(table.rows), column=1, value=table.note).font = \
                Font(italic=True, size=9)
        sheet.freeze_panes = "A4"
        for j, name in enumerate(table.columns, start=1):
            width = max([len(name), *(len(r[j - 1]) for r in table.rows)])
            sheet.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


# ---- LaTeX --------------------------------------------------------------------------
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                 "\u00b7": r"\textperiodcentered{}", "\u2009": r"\,", "\u2013": "--",
                 "\u2014": "---", "\u2212": r"\textminus{}", "\u00d7": r"$\times$",
                 "\u00b1": r"$\pm$", "\u2264": r"$\leq$", "\u2265": r"$\geq$",
                 "\u03b1": r"$\alpha$", "\u03c7": r"$\chi$", "\u00b2": r"\textsuperscript{2}"}
LATEX_PATTERN = re.compile("|".join(re.escape(k) for k in LATEX_SPECIAL))


def latex_escape(text: str) -> str:
    """Text safe in LaTeX: special characters escaped, typographic marks as commands."""
    return LATEX_PATTERN.sub(lambda m: LATEX_SPECIAL[m.group(0)], text)


def latex_table(table: ExportTable) -> str:
    """One table as a LaTeX ``table`` float with a booktabs ``tabular``."""
    spec = "l" + "r" * (len(table.columns) - 1)
    label = re.sub(r"[^a-z0-9]+", "-", table.key.lower()).strip("-") or "table"

    def cell(value: str) -> str:
        if value.startswith(INDENT):
            return r"\quad " + latex_escape(value.strip())
        return latex_escape(value)

    lines = [r"\begin{table}[htbp]", r"\centering", r"\small",
             rf"\caption{{{latex_escape(table.title)}}}", rf"\label{{tab:{label}}}",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(rf"\textbf{{{latex_escape(c)}}}" for c in table.columns) + r" \\",
             r"\midrule"]
    lines += [" & ".join(cell(v) for v in row) + r" \\" for row in table.rows]
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabular}")
    if table.note:
        lines += [r"\par\smallskip", rf"\parbox{{\linewidth}}{{\footnotesize "
                                     rf"{latex_escape(table.note)}}}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def tables_to_latex(tables: Sequence[ExportTable], path: str | Path, *,
                    standalone: bool = True) -> Path:
    """Write ``tables`` as LaTeX: a document (``standalone``) or the table floats only."""
    body = "\n".join(latex_table(t) for t in tables)
    if standalone:
        body = ("% Made by backpain: tables as shown in the report (small counts suppressed).\n"
                "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
                "\\usepackage[utf8]{inputenc}\n\\usepackage{textcomp}\n"
                "\\usepackage{booktabs}\n\\usepackage[margin=2cm,landscape]{geometry}\n"
                "\\begin{document}\n" + body + "\\end{document}\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8", newline="\n")
    return path


# ---- a whole report -----------------------------------------------------------------
class _ReportParser(HTMLParser):
    """Blocks of a reader page, in order: headings, paragraphs, tables, figures."""

    BLOCKS = frozenset({"p", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple] = []
        self._main = False
        self._text: list[str] | None = None
        self._tag = ""
        self._skip = 0  # inside an anchor link or a nav
        self._table: dict | None = None
        self._cell: list[str] | None = None
        self._cell_level = False
        self._figure: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self._main = True
        if not self._main:
            return
        classes = (a.get("class") or "").split()
        if tag == "a" and "anchor-link" in classes:
            self._skip += 1
        elif tag == "table" and "backpain-table" in classes:
            self._table = {"caption": "", "head": [], "rows": [], "note": "", "part": ""}
        elif self._table is not None:
            if tag in ("thead", "tbody", "tfoot", "caption"):
                self._table["part"] = tag
                if tag == "caption":
                    self._cell = []
            elif tag == "tr" and self._table["part"] == "tbody":
                self._table["rows"].append([])
            elif tag in ("td", "th"):
                self._cell, self._cell_level = [], "level" in classes
        elif tag == "figure":
            self._figure = {"src": "", "caption": ""}
        elif tag == "img" and self._figure is not None:
            self._figure["src"] = a.get("src") or ""
            self._figure["alt"] = a.get("alt") or ""
        elif tag == "figcaption" and self._figure is not None:
            self._text, self._tag = [], "figcaption"
        elif tag in self.BLOCKS and self._text is None:
            self._text, self._tag = [], tag

    def handle_endtag(self, tag):
        if tag == "main":
            self._main = False
        if not self._main:
            return
        if tag == "a" and self._skip:
            self._skip -= 1
        elif self._table is not None:
            t = self._table
            if tag == "caption":
                t["caption"], self._cell = "".join(self._cell or []).strip(), None
            elif tag in ("td", "th") and self._cell is not None:
                text = "".join(self._cell).strip()
                text = INDENT + text if self._cell_level else text
                if t["part"] == "thead":
                    t["head"].append(text)
                elif t["part"] == "tfoot":
                    t["note"] = text
                else:
                    t["rows"][-1].append(text)
                self._cell = None
            elif tag == "table":
                self.blocks.append(("table", ExportTable(t["caption"], t["head"], t["rows"],
                                                         t["note"])))
                self._table = None
        elif tag == "figcaption" and self._figure is not None and self._text is not None:
            self._figure["caption"] = "".join(self._text).strip()
            self._text = None
        elif tag == "figure" and self._figure is not None:
            self.blocks.append(("figure", self._figure))
            self._figure = None
        elif tag == self._tag and self._text is not None:
            text = re.sub(r"\s+", " ", "".join(self._text)).replace("¶", "").strip()
            if text:
                self.blocks.append((tag, text))
            self._text, self._tag = None, ""

    def handle_data(self, data):
        if self._skip or not self._main:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._text is not None:
            self._text.append(data)


def report_blocks(page: str) -> list[tuple]:
    """The blocks of a reader page (``<name>.html``): ``("h1", text)``, ``("p", text)``,
    ``("li", text)``, ``("table", ExportTable)``, ``("figure", {"src", "caption"})``."""
    parser = _ReportParser()
    parser.feed(page)
    return parser.blocks


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


def export_report(out: str | Path, name: str, formats: Sequence[str]) -> list[Path]:
    """Write ``exports/<name>.docx|.xlsx|.tex`` of a rendered report in ``out``.

    The DOCX is the whole reader page ``<name>.html``; XLSX and LaTeX hold
    every table of ``results/<name>.json``.
    """
    import json

    out = Path(out)
    written = []
    results_file = out / "results" / f"{name}.json"
    results = json.loads(results_file.read_text(encoding="utf-8")) \
        if results_file.exists() else {}
    tables = tables_from_results(results)
    if "docx" in formats:
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        written.append(report_to_docx(page, out / "exports" / f"{name}.docx"))
    if "xlsx" in formats and tables:
        written.append(tables_to_xlsx(tables, out / "exports" / f"{name}.xlsx"))
    if "tex" in formats and tables:
        written.append(tables_to_latex(tables, out / "exports" / f"{name}.tex"))
    return written


__all__ = ["FORMATS", "ExportTable", "check_formats", "excel_cells", "excel_format", "export",
           "export_report", "latex_escape", "latex_table", "report_blocks",
           "report_to_docx", "table_from_frame", "tables_from_results", "tables_to_docx",
           "tables_to_latex", "tables_to_xlsx"]

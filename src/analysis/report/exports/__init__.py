"""Reader tables and whole reports as Word (DOCX), Excel (XLSX) and LaTeX (booktabs).

Exports start from what the reader sees: the released text of each table
(small counts already suppressed, :mod:`analysis.report.tables`), as
:meth:`ReportSession.table` shows it on the reader's HTML page (and writes
it to ``tables/*.csv`` and ``results.json``). So disclosure control holds in
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

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from analysis.errors import ReportError
from analysis.report.exports.excel import excel_cells, excel_format, tables_to_xlsx
from analysis.report.exports.latex import latex_escape, latex_table, tables_to_latex
from analysis.report.exports.page import report_blocks, report_tables
from analysis.report.exports.tables import ExportTable, table_from_frame, tables_from_results
from analysis.report.exports.word import add_docx_table, report_to_docx, tables_to_docx
from analysis.style import NumberStyle

FORMATS = ("html", "docx", "xlsx", "tex")


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


def export_report(out: str | Path, name: str, formats: Sequence[str], *,
                  style: NumberStyle | None = None) -> list[Path]:
    """Write ``exports/<name>.docx|.xlsx|.tex`` of the reader page ``<name>.html`` in ``out``.

    The DOCX is the whole page; XLSX and LaTeX hold every table of it. The
    page is what the reader sees, so the exports hold the released tables
    (those of ``tables/*.csv`` and ``results.json``) and nothing else.
    ``style`` is the number style the page was written in (default: the
    current one): XLSX reads its numbers back with it.
    """
    out = Path(out)
    page = (out / f"{name}.html").read_text(encoding="utf-8")
    tables = report_tables(page)
    written = []
    if "docx" in formats:
        written.append(report_to_docx(page, out / "exports" / f"{name}.docx"))
    if "xlsx" in formats and tables:
        written.append(tables_to_xlsx(tables, out / "exports" / f"{name}.xlsx",
                                      style=style))
    if "tex" in formats and tables:
        written.append(tables_to_latex(tables, out / "exports" / f"{name}.tex"))
    return written


__all__ = [
    "FORMATS",
    "ExportTable",
    "add_docx_table",
    "check_formats",
    "excel_cells",
    "excel_format",
    "export",
    "export_report",
    "latex_escape",
    "latex_table",
    "report_blocks",
    "report_tables",
    "report_to_docx",
    "table_from_frame",
    "tables_from_results",
    "tables_to_docx",
    "tables_to_latex",
    "tables_to_xlsx",
]

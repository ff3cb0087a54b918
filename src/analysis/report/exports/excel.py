"""Excel workbooks: one sheet per table, numbers stored as numbers with display formats."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from analysis.errors import ReportError
from analysis.report.exports.tables import INDENT, ExportTable, fix_zip_times
from analysis.style import NumberStyle, current_style

SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


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
    """``"3 Performance of the adjuste"``: number and title, at most 31 characters."""
    number = key.rsplit("_", 1)[-1] if key.startswith("table_") else ""
    base = SHEET_FORBIDDEN.sub(" ", f"{number} {title}" if number else key or title)
    base = base.strip()[:31].strip() or "Table"
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
    return fix_zip_times(path)

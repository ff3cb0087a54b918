"""A reader table as the exports see it: text as shown, title, footnote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

INDENT = "    "  # how a level row is indented in the reader tables


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

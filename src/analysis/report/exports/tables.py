"""A reader table as the exports see it: text as shown, title, footnote."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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


FIXED_TIME = (2000, 1, 1, 0, 0, 0)
STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def fix_zip_times(path: str | Path) -> Path:
    """Rewrite an Office file (a zip) with fixed times, so the same tables give the same bytes.

    Word and Excel files carry the time they were saved, in each zip entry
    and in ``docProps/core.xml``; both are set to 2000-01-01.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = STAMP.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)
    return path

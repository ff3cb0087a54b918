"""Readers for survey exports: each returns a raw DataFrame indexed by file line.

``read_table(path)`` picks the reader from the extension and, for CSV files,
sniffs the encoding (UTF-8 with or without BOM; else Windows-1252, which reads
Latin-1 text; else the best guess of ``charset-normalizer``), the delimiter,
and whether the file is a Qualtrics or a REDCap export. CSV cells are read as
text, exactly as written (see :mod:`analysis.io._text`): the validator
converts them by codebook type and accounts for every change.

The index of the returned frame is the line (or row) number a person would
see when opening the file: for a CSV, the header is line 1 and the first
respondent line 2 (line 4 in a Qualtrics export, whose two extra header rows
hold the question text and import ids), and a record with a quoted newline
keeps the line on which it starts; for Excel the spreadsheet row; for
Parquet, SPSS and Stata the 1-based record number.

``frame.attrs`` carries what the validator needs to know about the export:
``source`` (the path), ``format``, ``metadata`` (export bookkeeping columns
such as Qualtrics ``StartDate`` or REDCap ``form_complete``),
``identifiers`` (metadata columns that identify a person, such as
Qualtrics ``IPAddress`` or ``RecipientEmail``) and ``notes``, what the
reader did or noticed (encoding detected, sheet read, control characters
removed, possible mojibake, empty unnamed columns dropped), which the
validator records in the ledger at step ``read``.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from analysis.errors import BackpainWarning, ReadError
from analysis.io._binary import (
    ParquetColumns,
    check_unique,
    read_excel,
    read_parquet,
    read_spss,
    read_stata,
)
from analysis.io._scan import Note
from analysis.io._text import read_csv

__all__ = ["FORMATS", "Note", "ParquetColumns", "read_columns", "read_table"]

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".sav": "spss",
    ".zsav": "spss",
    ".dta": "stata",
}

QUALTRICS_IDENTIFIERS = (
    "IPAddress",
    "LocationLatitude",
    "LocationLongitude",
    "RecipientEmail",
    "RecipientFirstName",
    "RecipientLastName",
    "ExternalReference",
    "ExternalDataReference",
)
QUALTRICS_METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "ResponseID",
    "DistributionChannel",
    "UserLanguage",
    *QUALTRICS_IDENTIFIERS,
)
_REDCAP_METADATA = re.compile(
    r"^(redcap_event_name|redcap_repeat_instrument|redcap_repeat_instance|"
    r"redcap_data_access_group|redcap_survey_identifier|.+_timestamp|.+_complete)$"
)
_UNNAMED = re.compile(r"^Unnamed: \d+$")


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read a survey export into a raw DataFrame indexed by file line.

    Parameters
    ----------
    path : file to read (or a folder of Parquet files).
    format : force a reader (``csv``, ``qualtrics``, ``redcap``, ``excel``,
        ``parquet``, ``spss``, ``stata``); sniffed from the extension and
        content when omitted.
    sheet : Excel sheet: a name, a position counted from 0, or text of digits
        counted from 1 (``"2"``: the second sheet). By default the first
        sheet that holds data; the sheet read is named in ``attrs["notes"]``.
    encoding, delimiter : force what is otherwise sniffed (CSV only).

    Raises
    ------
    ReadError
        Unknown extension, missing, empty or unreadable file, repeated column
        names, unknown sheet.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: no such file.")
    if path.is_dir():
        if any(path.rglob("*.parquet")):
            return _finish(read_parquet(path), path, "parquet", first_line=1)
        raise ReadError(f"{path}: is a folder, not a survey file (a folder must hold "
                        "Parquet files).")
    kind = format or FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise ReadError(
            f"{path}: unknown file type {path.suffix!r}. Known extensions: {known}; "
            "or pass format= (csv, qualtrics, redcap, excel, parquet, spss, stata)."
        )
    if sheet is not None and kind != "excel":
        raise ReadError(f"{path}: sheet= (--sheet) applies to Excel workbooks; this is a "
                        f"{kind} file.")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ReadError(f"{path}: cannot open it ({exc.strerror}).") from None
    if size == 0:
        raise ReadError(f"{path}: the file is empty.")
    if kind in ("csv", "qualtrics", "redcap"):
        frame, kind, notes, lines = read_csv(path, kind, encoding=encoding, delimiter=delimiter)
        used = frame.attrs["delimiter"]
        out = _finish(frame, path, kind, first_line=4 if kind == "qualtrics" else 2,
                      lines=lines, notes=notes)
        out.attrs["encoding"] = notes[0].rule.removeprefix("encoding: ")
        out.attrs["delimiter"] = used
        return out
    notes: list[Note] = []
    readers = {"parquet": read_parquet, "spss": read_spss, "stata": read_stata}
    if kind != "excel" and kind not in readers:
        raise ReadError(f"{path}: unknown format {kind!r}.")
    try:
        if kind == "excel":
            frame, notes = read_excel(path, sheet)
        else:
            frame = readers[kind](path)
    except ReadError:
        raise
    except Exception as exc:  # each library raises its own types for corrupt files
        raise ReadError(f"{path}: cannot read it as {kind}: {exc}") from None
    return _finish(frame, path, kind, first_line=2 if kind == "excel" else 1, notes=notes)


def read_columns(path: str | Path, **options) -> ParquetColumns | pd.DataFrame:
    """A Parquet file as lazily read columns; any other file as :func:`read_table` reads it."""
    path = Path(path)
    if not options and path.is_file() and FORMATS.get(path.suffix.lower()) == "parquet":
        return ParquetColumns(path)
    return read_table(path, **options)


def _finish(frame: pd.DataFrame, path: Path, kind: str, *, first_line: int,
            lines: list[int] | None = None, notes: list[Note] | None = None) -> pd.DataFrame:
    notes = list(notes or [])
    frame = frame.reset_index(drop=True)
    if lines is not None:
        frame.index = pd.Index(lines, dtype="int64", name="line")
    else:
        frame.index = pd.RangeIndex(first_line, first_line + len(frame), name="line")
    check_unique(path, list(frame.columns))
    frame.columns = [str(c).strip() for c in frame.columns]
    # A trailing delimiter or an empty spreadsheet column gives a column with
    # neither a name nor a value: set aside with a note, not an error.
    empty = [c for c in frame.columns if _UNNAMED.match(c) and _blank(frame[c])]
    if empty:
        frame = frame.drop(columns=empty)
        notes += [Note("empty column without a name", "dropped column", column=c)
                  for c in empty]
    metadata: list[str] = []
    identifiers: list[str] = []
    if kind == "qualtrics":
        metadata = [c for c in frame.columns if c in QUALTRICS_METADATA]
        identifiers = [c for c in frame.columns if c in QUALTRICS_IDENTIFIERS]
    elif kind == "redcap":
        metadata = [c for c in frame.columns if _REDCAP_METADATA.match(c)]
    for note in notes:
        if note.action == "warned" and note.lines:
            shown = "; ".join(f"line {ln}: {v!r}" for ln, v in
                              zip(note.lines[:3], note.values or [""] * 3, strict=False))
            warnings.warn(f"{path}: {note.rule}, {len(note.lines)} line(s) ({shown}). "
                          "If the text is garbled, pass encoding= (e.g. 'utf-8' or 'cp1252').",
                          BackpainWarning, stacklevel=3)
    frame.attrs.update(
        {"source": str(path), "format": kind, "metadata": metadata, "identifiers": identifiers,
         "notes": notes}
    )
    return frame


def _blank(column: pd.Series) -> bool:
    if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
        return bool((column.isna() | (column.astype(str).str.strip() == "")).all())
    return bool(column.isna().all())

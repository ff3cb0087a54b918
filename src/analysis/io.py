"""Readers for survey exports: each returns a raw DataFrame indexed by file line.

``read_table(path)`` picks the reader from the extension and, for CSV files,
sniffs the encoding (UTF-8 with or without BOM; else Windows-1252, which reads
Latin-1 text; else the best guess of ``charset-normalizer``), the delimiter,
and whether the file is a Qualtrics or a REDCap export.

The index of the returned frame is the line (or row) number a person would
see when opening the file: for a CSV, the header is line 1 and the first
respondent line 2 (line 4 in a Qualtrics export, whose two extra header rows
hold the question text and import ids); for Excel the spreadsheet row; for
Parquet, SPSS and Stata the 1-based record number.

``frame.attrs`` carries what the validator needs to know about the export:
``source`` (the path), ``format``, ``metadata`` (export bookkeeping columns
such as Qualtrics ``StartDate`` or REDCap ``form_complete``) and
``identifiers`` (metadata columns that identify a person, such as
Qualtrics ``IPAddress`` or ``RecipientEmail``).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pandas as pd

from analysis.errors import ReadError

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
_SNIFF_BYTES = 1 << 16


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    sheet: str | int = 0,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read a survey export into a raw DataFrame indexed by file line.

    Parameters
    ----------
    path : file to read.
    format : force a reader (``csv``, ``qualtrics``, ``redcap``, ``excel``,
        ``parquet``, ``spss``, ``stata``); sniffed from the extension and
        content when omitted.
    sheet : Excel sheet name or position.
    encoding, delimiter : force what is otherwise sniffed (CSV only).

    Raises
    ------
    ReadError
        Unknown extension, missing, empty or unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: no such file.")
    if path.is_dir():
        if any(path.glob("*.parquet")) or any(path.rglob("*.parquet")):
            return _finish(_read_parquet(path), path, "parquet", first_line=1)
        raise ReadError(f"{path}: is a folder, not a survey file.")
    kind = format or FORMATS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise ReadError(
            f"{path}: unknown file type {path.suffix!r}. Known extensions: {known}; "
            "or pass format= (csv, qualtrics, redcap, excel, parquet, spss, stata)."
        )
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: the file is empty.")
    if kind in ("csv", "qualtrics", "redcap"):
        return _read_csv(path, kind, encoding=encoding, delimiter=delimiter)
    readers = {
        "excel": _read_excel,
        "parquet": _read_parquet,
        "spss": _read_spss,
        "stata": _read_stata,
    }
    if kind not in readers:
        raise ReadError(f"{path}: unknown format {kind!r}.")
    try:
        frame = readers[kind](path, sheet) if kind == "excel" else readers[kind](path)
    except ReadError:
        raise
    except Exception as exc:  # each library raises its own types for corrupt files
        raise ReadError(f"{path}: cannot read it as {kind}: {exc}") from None
    first = 2 if kind == "excel" else 1
    return _finish(frame, path, kind, first_line=first)


# ---- CSV family -----------------------------------------------------------
def _read_csv(
    path: Path, kind: str, *, encoding: str | None, delimiter: str | None
) -> pd.DataFrame:
    head = path.open("rb").read(_SNIFF_BYTES)
    encoding = encoding or _sniff_encoding(path, head)
    text_head = head.decode(encoding, errors="replace")
    delimiter = delimiter or _sniff_delimiter(text_head, path)
    first_lines = text_head.splitlines()[:3]
    if kind == "csv":
        kind = _sniff_export(first_lines, delimiter)
    skip = [1, 2] if kind == "qualtrics" else None
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            encoding=encoding,
            skiprows=skip,
            skipinitialspace=False,
            low_memory=False,
        )
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{path}: not readable as {encoding} ({exc.reason} at byte {exc.start}); "
            "pass encoding= to say how the file is encoded."
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ReadError(f"{path}: cannot read it as a {kind} file: {exc}") from None
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise ReadError(f"{path}: column names appear more than once: {dup}.")
    first = 4 if kind == "qualtrics" else 2
    out = _finish(frame, path, kind, first_line=first)
    out.attrs["encoding"] = encoding
    out.attrs["delimiter"] = delimiter
    return out


def _sniff_encoding(path: Path, head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    # Decoding the whole file once is cheaper than a wrong guess surfacing as a
    # decode error half-way through a million rows.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 24), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8: survey tools on Western-European systems write Windows-1252
    # (Latin-1's printable characters and more). Statistical guessers cannot
    # tell it from Central-European code pages on short texts, so it is tried
    # first; charset-normalizer decides only when cp1252 cannot decode the file.
    try:
        path.read_bytes().decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise ReadError(f"{path}: cannot tell how the file is encoded; pass encoding=.")
    return best.encoding


def _sniff_delimiter(text: str, path: Path) -> str:
    sample = "\n".join(text.splitlines()[:20])
    if not sample.strip():
        raise ReadError(f"{path}: the file holds no data.")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.splitlines()[0].count(d) for d in ",;\t|"}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def _sniff_export(first_lines: list[str], delimiter: str) -> str:
    if len(first_lines) >= 3 and '{"ImportId"' in first_lines[2].replace('""', '"'):
        return "qualtrics"
    header = next(csv.reader(io.StringIO(first_lines[0]), delimiter=delimiter), [])
    if header and (header[0] == "record_id" or any(c.startswith("redcap_") for c in header)):
        return "redcap"
    return "csv"


# ---- Parquet, one column at a time --------------------------------------------
class ParquetColumns:
    """A Parquet file seen as columns that are read only when asked for.

    It offers what validation needs of a raw DataFrame (``columns``,
    ``index``, ``attrs``, ``len`` and ``frame[name]``), so each column is read,
    checked and converted, and its raw copy freed, before the next: at 10^7
    rows the raw int64 columns of a wide survey would otherwise need several
    GiB on top of the converted data.
    """

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.path = path
        try:
            schema = pq.read_schema(path)
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise ReadError(f"{path}: cannot read it as parquet: {exc}") from None
        pandas_index = {"__index_level_0__"}
        self.columns = [str(c).strip() for c in schema.names if c not in pandas_index]
        self._names = {str(c).strip(): c for c in schema.names}
        self.index = pd.RangeIndex(1, rows + 1, name="line")
        self.attrs = {"source": str(path), "format": "parquet", "metadata": [],
                      "identifiers": []}

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> pd.Series:
        import pyarrow.parquet as pq

        table = pq.read_table(self.path, columns=[self._names[name]])
        column = table.to_pandas(ignore_metadata=True).iloc[:, 0]
        column.index = self.index
        return column


def read_columns(path: str | Path) -> ParquetColumns | pd.DataFrame:
    """A Parquet file as lazily read columns; any other file as :func:`read_table` reads it."""
    path = Path(path)
    if path.is_file() and FORMATS.get(path.suffix.lower()) == "parquet":
        return ParquetColumns(path)
    return read_table(path)


# ---- binary formats ------------------------------------------------------
def _read_excel(path: Path, sheet: str | int) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=sheet)


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    # The codebook, not the writer's pandas metadata, says what each column is:
    # without that metadata integer columns arrive as plain int64/float64
    # instead of masked Int64 copies, which halves the reading time.
    return pq.read_table(path).to_pandas(ignore_metadata=True)


def _read_spss(path: Path) -> pd.DataFrame:
    import pyreadstat

    # user_missing=True keeps user-defined missing codes as values, so the
    # codebook can map each to NA with its meaning recorded in the ledger.
    frame, _ = pyreadstat.read_sav(str(path), user_missing=True)
    return frame


def _read_stata(path: Path) -> pd.DataFrame:
    import pyreadstat

    frame, _ = pyreadstat.read_dta(str(path), user_missing=True)
    return frame


def _finish(frame: pd.DataFrame, path: Path, kind: str, *, first_line: int) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(first_line, first_line + len(frame), name="line")
    frame.columns = [str(c).strip() for c in frame.columns]
    metadata: list[str] = []
    identifiers: list[str] = []
    if kind == "qualtrics":
        metadata = [c for c in frame.columns if c in QUALTRICS_METADATA]
        identifiers = [c for c in frame.columns if c in QUALTRICS_IDENTIFIERS]
    elif kind == "redcap":
        metadata = [c for c in frame.columns if _REDCAP_METADATA.match(c)]
    frame.attrs.update(
        {"source": str(path), "format": kind, "metadata": metadata, "identifiers": identifiers}
    )
    return frame

"""CSV, Qualtrics and REDCap exports, read as text so that nothing is lost on the way.

Every cell is read as the text in the file (``00042`` stays ``00042``,
``1,5`` stays ``1,5``, ``NA`` stays ``NA``); the validator converts each
column by its codebook type and records each missing-value token, decimal
comma and the like in the ledger. Blank cells arrive as empty strings.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pandas as pd

from analysis.errors import ReadError
from analysis.io._scan import (
    Note,
    clean_text,
    control_note,
    mojibake_note,
    record_lines,
    scan_text,
)

SNIFF_BYTES = 1 << 16


def read_csv(path: Path, kind: str, *, encoding: str | None, delimiter: str | None
             ) -> tuple[pd.DataFrame, str, list[Note], list[int] | None]:
    """(frame of text, kind, read notes, line of each record or None when lines = records)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    detected = encoding is None
    encoding = encoding or sniff_encoding(path, head)
    notes = [Note(f"encoding: {encoding}", "detected" if detected else "given")]
    try:
        scan = scan_text(path, encoding)
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{path}: not readable as {encoding} ({exc.reason}); pass encoding= to say how "
            "the file is encoded (e.g. encoding='cp1252' for Windows/Latin-1 exports)."
        ) from None
    except LookupError:
        raise ReadError(f"{path}: unknown encoding {encoding!r}.") from None
    text_head = head.decode(encoding, errors="replace")
    delimiter = delimiter or sniff_delimiter(text_head, path)
    first_lines = text_head.splitlines()[:3]
    if kind == "csv":
        kind = sniff_export(first_lines, delimiter)
    header_rows = 3 if kind == "qualtrics" else 1
    if scan.control:
        notes.append(control_note(scan))
        source: Path | io.StringIO = io.StringIO(clean_text(path, encoding))
    else:
        source = path
    if scan.mojibake:
        notes.append(mojibake_note(scan, encoding))
    header = _header(source, encoding, delimiter, path)
    if header is None:
        raise ReadError(f"{path}: the file holds no data.")
    frame = _parse(source, path, kind, encoding, delimiter, header, header_rows, scan.quotes)
    lines = None
    expected = header_rows + len(frame)
    if scan.n_lines - (1 if _ends_with_newline(path) else 0) != expected:
        # Records and lines differ (a quoted newline, a blank line): find each record's line.
        try:
            if isinstance(source, io.StringIO):
                source.seek(0)
                starts = record_lines(source, delimiter)
            else:
                with path.open(encoding=encoding, newline="") as handle:
                    starts = record_lines(handle, delimiter)
        except csv.Error:  # a field beyond the csv module's size limit
            starts = []
        if len(starts) == expected:
            lines = starts[header_rows:]
        else:
            notes.append(Note("line numbers may be approximate (the quoting of the file "
                              "is irregular)", "warned"))
    frame.attrs["delimiter"] = delimiter
    return frame, kind, notes, lines


def _parse(source, path: Path, kind: str, encoding: str, delimiter: str, header: list[str],
           header_rows: int, quotes: bool) -> pd.DataFrame:
    """Every cell as Arrow text (no value is turned into NA or a number here)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{k}" for k in range(len(header))]
    if isinstance(source, io.StringIO):
        data, arrow_encoding = io.BytesIO(source.getvalue().encode("utf-8")), "utf8"
    else:
        data, arrow_encoding = str(path), encoding
    try:
        table = pacsv.read_csv(
            data,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=header_rows,
                                           encoding=arrow_encoding),
            # Values may hold newlines only where there are quotes; without them the
            # file is split into blocks and parsed in parallel.
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=quotes,
                                             ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path}: not readable as {encoding} ({exc.reason}); pass encoding=."
                        ) from None
    except (pa.ArrowInvalid, ValueError) as exc:
        if isinstance(source, io.StringIO):
            source.seek(0)
            why = _diagnose(source, delimiter, len(header))
        else:
            with path.open(encoding=encoding, newline="") as handle:
                why = _diagnose(handle, delimiter, len(header))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReadError(f"{path}: cannot read it as a {kind} file: {why or first}") from None
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.columns = header
    return frame


def _diagnose(handle, delimiter: str, n_fields: int) -> str | None:
    """The first ragged record or quoting error, named by its file line."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if row and len(row) != n_fields:
                return (f"line {start} has {len(row)} fields where the header has {n_fields} "
                        "(rule: ragged line). To fix: quote values that contain the "
                        "delimiter, or pass delimiter=.")
    except csv.Error as exc:
        return (f"line {last + 1}: {exc} (rule: unclosed or stray quote). To fix: close the "
                "quote, or remove the stray quote character.")
    return None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


def _header(source, encoding: str, delimiter: str, path: Path) -> list[str] | None:
    """The header row as written (readers rename a repeated name to ``name.1``)."""
    try:
        return _header_row(source, encoding, delimiter, path)
    except csv.Error as exc:
        raise ReadError(f"{path}: cannot read the header (line 1): {exc}.") from None


def _header_row(source, encoding: str, delimiter: str, path: Path) -> list[str] | None:
    if isinstance(source, io.StringIO):
        handle = source
        row = next(csv.reader(handle, delimiter=delimiter), None)
        handle.seek(0)
    else:
        with path.open(encoding=encoding, newline="") as handle:
            row = next(csv.reader(handle, delimiter=delimiter), None)
    if row is None:
        return None
    if not row:
        raise ReadError(f"{path}: line 1 is empty; the column names must be on line 1. To fix: "
                        "remove the blank lines above the header.")
    names = [c.strip() for c in row]
    check_unique_names(path, names, "line 1")
    return [n if n else f"Unnamed: {k}" for k, n in enumerate(names)]


def sniff_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252, else a guess."""
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


def sniff_delimiter(text: str, path: Path) -> str:
    sample = "\n".join(text.splitlines()[:20])
    if not sample.strip():
        raise ReadError(f"{path}: the file holds no data.")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.splitlines()[0].count(d) for d in ",;\t|"}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def sniff_export(first_lines: list[str], delimiter: str) -> str:
    if len(first_lines) >= 3 and '{"ImportId"' in first_lines[2].replace('""', '"'):
        return "qualtrics"
    header = next(csv.reader(io.StringIO(first_lines[0]), delimiter=delimiter), [])
    if header and (header[0] == "record_id" or any(c.startswith("redcap_") for c in header)):
        return "redcap"
    return "csv"


def check_unique_names(path: Path, names: list[str], where: str) -> None:
    """A :class:`ReadError` naming each column name given twice (after stripping spaces)."""
    seen: dict[str, list[int]] = {}
    for k, name in enumerate(names, start=1):
        if name:
            seen.setdefault(name, []).append(k)
    repeated = {n: ks for n, ks in seen.items() if len(ks) > 1}
    if repeated:
        shown = "; ".join(f"{n!r} (columns {', '.join(map(str, ks))})"
                          for n, ks in repeated.items())
        raise ReadError(
            f"{path}: duplicate column names (rule: duplicate column): {shown}. Names are "
            f"compared after removing surrounding spaces. To fix: give each column its own "
            f"name in the header ({where})."
        )

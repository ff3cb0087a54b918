"""Excel, Parquet, SPSS and Stata readers, and Parquet read one column at a time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import ReadError
from analysis.io._scan import Note
from analysis.io._text import check_unique_names


def read_excel(path: Path, sheet: str | int | None) -> tuple[pd.DataFrame, list[Note]]:
    """One sheet: the one named or at a position, else the first that holds data.

    ``sheet`` is a name, an int position counted from 0 (as pandas does), or
    text of digits counted from 1 (as a person counts sheets, ``--sheet 2``).
    """
    try:
        book = pd.ExcelFile(path)
    except Exception as exc:  # openpyxl/xlrd raise their own types for a corrupt file
        raise ReadError(f"{path}: cannot read it as excel: {exc}") from None
    names = [str(n) for n in book.sheet_names]
    listed = ", ".join(repr(n) for n in names)
    if sheet is None:
        for name in names:
            frame = pd.read_excel(book, sheet_name=name, dtype=object)
            if len(frame.columns):
                break
        else:
            raise ReadError(f"{path}: every sheet is empty (sheets: {listed}).")
        chosen = name
        how = "first sheet with data" if name != names[0] else "first sheet"
    else:
        if isinstance(sheet, str) and sheet in names:
            chosen = sheet
        elif isinstance(sheet, str) and sheet.strip().isdigit() and \
                1 <= int(sheet) <= len(names):
            chosen = names[int(sheet) - 1]
        elif isinstance(sheet, int) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
            chosen = names[sheet]
        else:
            raise ReadError(f"{path}: no sheet {sheet!r}; the workbook has {len(names)} "
                            f"sheet(s): {listed} (give a name, or a position from 1).")
        how = "given"
        frame = pd.read_excel(book, sheet_name=chosen, dtype=object)
    header = pd.read_excel(book, sheet_name=chosen, header=None, nrows=1)
    written = ["" if pd.isna(v) else str(v).strip() for v in header.iloc[0]] if len(header) \
        else []
    check_unique_names(path, written, "row 1 of sheet " + repr(chosen))
    if len(written) == frame.shape[1]:
        frame.columns = [n if n else f"Unnamed: {k}" for k, n in enumerate(written)]
    return frame, [Note(f"sheet: {chosen} ({how}; sheets: {listed})", "read")]


def check_unique(path: Path | str, names: list[str]) -> None:
    """A ReadError naming columns whose names repeat once surrounding spaces are removed."""
    check_unique_names(Path(path), [str(n).strip() for n in names], "the header")


def read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        for file in files:
            try:
                pq.ParquetFile(file)
            except Exception as exc:  # pyarrow raises several types for a corrupt file
                raise ReadError(f"{file}: cannot read it as parquet ({exc}); it is part of "
                                f"{path}. To fix: replace or remove that file.") from None
    # The codebook, not the writer's pandas metadata, says what each column is:
    # without that metadata integer columns arrive as plain int64/float64
    # instead of masked Int64 copies, which halves the reading time.
    try:
        return pq.read_table(path).to_pandas(ignore_metadata=True)
    except Exception as exc:
        raise ReadError(f"{path}: cannot read it as parquet: {exc}") from None


def read_spss(path: Path) -> pd.DataFrame:
    import pyreadstat

    # user_missing=True keeps user-defined missing codes as values, so the
    # codebook can map each to NA with its meaning recorded in the ledger.
    frame, _ = pyreadstat.read_sav(str(path), user_missing=True)
    return frame


def read_stata(path: Path) -> pd.DataFrame:
    import pyreadstat

    frame, _ = pyreadstat.read_dta(str(path), user_missing=True)
    return frame


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
        names = [c for c in schema.names if c not in pandas_index]
        check_unique(path, names)
        self.columns = [str(c).strip() for c in names]
        self._names = {str(c).strip(): c for c in names}
        self.index = pd.RangeIndex(1, rows + 1, name="line")
        self.attrs = {"source": str(path), "format": "parquet", "metadata": [],
                      "identifiers": [], "notes": []}

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> pd.Series:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path, columns=[self._names[name]])
        except Exception as exc:
            raise ReadError(f"{self.path}: cannot read column {name!r}: {exc}") from None
        column = table.to_pandas(ignore_metadata=True).iloc[:, 0]
        column.index = self.index
        return column

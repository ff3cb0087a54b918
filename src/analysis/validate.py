"""Apply a codebook to raw survey data and return a :class:`~analysis.survey.Survey`.

Rules checked, each vectorised over the whole column:

========================  =========================================================
rule                      broken when
========================  =========================================================
``missing column``        a required codebook variable is not in the file
``unknown column``        the file has a column the codebook does not know
``not a number``          text in a numeric or count column
``not a whole number``    a fraction in a count column
``out of range``          a value outside the codebook's ``range`` (counts: below 0)
``unknown code``          a coded value that is neither a level nor a missing code
``impossible date``       a date that cannot exist or does not match ``format``
``missing id``            a blank respondent identifier
``duplicate id``          an identifier seen on an earlier line (the first is kept)
========================  =========================================================

Values listed as ``missing`` codes become NA and each one is counted in the
ledger with its meaning ("missing code: refused"), in every mode.

``on_invalid="raise"`` raises one :class:`~analysis.errors.ValidationError`
listing every broken rule; ``on_invalid="exclude"`` takes the offending rows
out of the analysis and records each in the ledger, and drops unknown columns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.codebook import Codebook, Variable, load_codebook
from analysis.errors import ValidationError
from analysis.io import read_columns, read_table
from analysis.ledger import Ledger
from analysis.survey import Survey

STEP = "validate"
FIRST_LINES = 5
_NA, _UNKNOWN = -1, -2  # positions in the code look-up; missing code k is -3 - k
_MAX_LOOKUP = 100_000
_THREADS = min(4, os.cpu_count() or 1)

ADVICE = {
    "missing column": "add the column to the file, or mark the variable `required: false`",
    "unknown column": "add the variable to the codebook, or use on_invalid='exclude' to drop it",
    "not a number": "correct the values, or declare them as missing codes in the codebook",
    "not a whole number": "counts are whole numbers; correct the values or use type numeric",
    "out of range": "correct the values, widen `range`, or declare them as missing codes",
    "unknown code": "correct the values, or add them to `levels` or `missing` in the codebook",
    "impossible date": "correct the dates, or set `format` to the one the file uses",
    "missing id": "give every row an identifier, or remove the empty rows",
    "duplicate id": "remove the repeated rows, or use on_invalid='exclude' to keep the first",
    "decimal comma": "these may be decimal commas (1,250 = 1.25) or thousands separators "
                     "(1,250 = 1250); set `decimal: ','` in the codebook to read them as decimal "
                     "commas, or write the numbers without separators",
}


@dataclass
class Problem:
    """One broken rule in one column: the positions of the rows that break it."""

    column: str
    rule: str
    positions: np.ndarray
    values: np.ndarray

    def describe(self, lines: np.ndarray) -> str:
        shown = [
            f"line {lines[p]}: {_show(v)}"
            for p, v in zip(self.positions[:FIRST_LINES], self.values[:FIRST_LINES], strict=True)
        ]
        rows = f"{self.positions.size} row{'s' if self.positions.size != 1 else ''}"
        first = f" (first: {'; '.join(shown)})" if shown else ""
        return f"column {self.column!r}: {self.rule}, {rows}{first}. To fix: {ADVICE[self.rule]}."


def validate_survey(
    source: str | Path | pd.DataFrame,
    codebook: Codebook | str | Path | Mapping,
    *,
    on_invalid: Literal["raise", "exclude"] = "raise",
    keep_identifiers: bool = False,
    **read_options,
) -> Survey:
    """Read one survey file (or take a raw DataFrame), check it against its codebook.

    The in-memory path of :func:`analysis.load_survey`, which also takes
    folders and globs of Parquet files.

    Parameters
    ----------
    source : a file path (CSV, Qualtrics or REDCap CSV, Excel, Parquet, SPSS,
        Stata; see :func:`analysis.io.read_table`) or a raw DataFrame (then the
        line of a row is its position + 1).
    codebook : a :class:`Codebook`, a path to its YAML (or to a REDCap data
        dictionary / SPSS file), or a mapping.
    on_invalid : ``"raise"`` (default) raises one :class:`ValidationError`
        listing every broken rule; ``"exclude"`` drops offending rows and
        unknown columns and records each in the ledger.
    keep_identifiers : keep id and PII columns in ``survey.data``.

    Examples
    --------
    >>> survey = validate_survey("data/example/survey.csv",
    ...                          "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    >>> survey.flow  # doctest: +SKIP
    """
    if on_invalid not in ("raise", "exclude"):
        raise ValidationError(f"on_invalid must be 'raise' or 'exclude', not {on_invalid!r}.")
    codebook = load_codebook(codebook)
    if isinstance(source, pd.DataFrame):
        raw = source.reset_index(drop=True)
        raw.index = pd.RangeIndex(1, len(raw) + 1, name="line")
        raw.attrs = {"source": "DataFrame", "format": "frame", "metadata": [], "identifiers": []}
        raw.columns = [str(c) for c in raw.columns]
    elif read_options:
        raw = read_table(source, **read_options)
    else:
        raw = read_columns(source)
    return Validator(raw, codebook, on_invalid, keep_identifiers).run()


class Validator:
    """The rules of this module applied to one raw DataFrame; ``run()`` gives the Survey."""


    def __init__(
        self, raw: pd.DataFrame, codebook: Codebook, on_invalid: str, keep_identifiers: bool
    ):
        self.raw = raw
        self.codebook = codebook
        self.on_invalid = on_invalid
        self.keep_identifiers = keep_identifiers
        self.source = raw.attrs.get("source", "data")
        self.lines = np.asarray(raw.index, dtype=np.int64)
        self.ledger = Ledger(n_read=len(raw), source=self.source)
        self.problems: list[Problem] = []
        for note in raw.attrs.get("notes", []):
            self.ledger.record(step="read", rule=note.rule, action=note.action,
                               column=note.column, lines=note.lines, values=note.values)

    def run(self) -> Survey:
        columns = self._check_columns()
        checks = [_ColumnCheck(self.lines, self.codebook) for _ in columns]
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            results = pool.map(
                lambda check, name: check.convert(self.codebook[name], self.raw[name]),
                checks,
                columns,
            )
            converted = dict(zip(columns, results, strict=True))
        for check in checks:
            self.ledger.extend(check.ledger)
            self.problems.extend(check.problems)
        if self.problems and self.on_invalid == "raise":
            raise self._error()
        bad = [p for p in self.problems if p.positions.size]
        for p in bad:
            self.ledger.record(
                step=STEP,
                rule=p.rule,
                action="excluded",
                column=p.column,
                lines=self.lines[p.positions],
                values=p.values,
            )
        identifiers = set(self.codebook.identifiers) | set(self.raw.attrs.get("identifiers", []))
        if not self.keep_identifiers:
            for name in [c for c in converted if c in identifiers]:
                del converted[name]
                self.ledger.record(
                    step=STEP,
                    rule="identifier (privacy)",
                    action="dropped column",
                    column=name,
                    lines=None,
                )
        index = self.raw.index
        if bad:
            # Filtering each column's array before building the frame copies
            # category codes (1 byte) instead of going through DataFrame.take.
            keep = np.ones(len(index), dtype=bool)
            for p in bad:
                keep[p.positions] = False
            with ThreadPoolExecutor(max_workers=_THREADS) as pool:
                kept = pool.map(lambda values: values[keep], converted.values())
                converted = dict(zip(converted, kept, strict=True))
            index = index[keep]
        data = pd.DataFrame(converted, index=index, copy=False)
        return Survey(data=data, codebook=self.codebook, accounts=self.ledger, source=self.source)

    # ---- columns ---------------------------------------------------------
    def _check_columns(self) -> list[str]:
        present = set(self.raw.columns)
        missing = [v.name for v in self.codebook if v.required and v.name not in present]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ValidationError(
                f"{self.source}: {len(missing)} column{'s' if len(missing) > 1 else ''} the "
                f"codebook requires {'are' if len(missing) > 1 else 'is'} not in the file "
                f"(rule: missing column): {shown}{more}. To fix: {ADVICE['missing column']}.",
                problems=pd.DataFrame({"column": missing, "rule": "missing column"}),
            )
        metadata = set(self.raw.attrs.get("metadata", []))
        for name in self.raw.columns:
            if name in self.codebook:
                continue
            if name in metadata:
                self.ledger.record(
                    step=STEP,
                    rule="export metadata",
                    action="dropped column",
                    column=name,
                    lines=None,
                )
            elif self.on_invalid == "exclude":
                self.ledger.record(
                    step=STEP,
                    rule="unknown column",
                    action="dropped column",
                    column=name,
                    lines=None,
                )
            else:
                self.problems.append(
                    Problem(
                        name,
                        "unknown column",
                        np.array([], dtype=np.int64),
                        np.array([], dtype=object),
                    )
                )
        return [v.name for v in self.codebook if v.name in present]

    # ---- the error ---------------------------------------------------------
    def _error(self) -> ValidationError:
        table = pd.DataFrame(
            {
                "column": [p.column for p in self.problems],
                "rule": [p.rule for p in self.problems],
                "n_rows": [p.positions.size for p in self.problems],
                "first_lines": [
                    self.lines[p.positions[:FIRST_LINES]].tolist() for p in self.problems
                ],
                "first_values": [[_show(v) for v in p.values[:FIRST_LINES]] for p in self.problems],
                "advice": [ADVICE[p.rule] for p in self.problems],
            }
        )
        rows = len(np.unique(np.concatenate([p.positions for p in self.problems])))
        head = (
            f"{self.source}: {len(self.problems)} rule{'s' if len(self.problems) > 1 else ''} "
            f"broken, affecting {rows} row{'s' if rows != 1 else ''}:"
        )
        body = [
            f"  - {p.describe(self.lines)}"
            if p.positions.size
            else f"  - column {p.column!r}: unknown column (not in the codebook). "
            f"To fix: {ADVICE['unknown column']}."
            for p in self.problems
        ]
        tail = "Or load with on_invalid='exclude' to set these rows aside in the ledger."
        return ValidationError("\n".join([head, *body, tail]), problems=table)


class _ColumnCheck:
    """Checks and converts one column; collects its own problems and ledger entries.

    Columns are independent, so they are checked on a small thread pool (numpy
    and Arrow release the GIL); results are merged in codebook order so the
    ledger and the error message do not depend on thread timing.
    """

    def __init__(self, lines: np.ndarray, codebook: Codebook):
        self.lines = lines
        self.codebook = codebook
        self.problems: list[Problem] = []
        self.ledger = Ledger(n_read=0)

    def convert(self, var: Variable, column: pd.Series) -> pd.Series | np.ndarray:
        if not (pd.api.types.is_numeric_dtype(column.dtype)
                or pd.api.types.is_bool_dtype(column.dtype)
                or pd.api.types.is_datetime64_any_dtype(column.dtype)):
            column = self._na_tokens(var, column)
        if var.type in ("binary", "categorical", "ordinal"):
            return self._coded(var, column)
        if var.type in ("numeric", "count"):
            return self._numeric(var, column)
        if var.type == "date":
            return self._date(var, column)
        return self._text(var, column)

    def _na_tokens(self, var: Variable, column: pd.Series) -> pd.Series:
        """Missing-value tokens (``NA``, ``N/A``, ``.``...) set missing, each counted by token."""
        text = _arrow_text(column)
        tokens = self.codebook.na_tokens(var.name)
        if not tokens:
            return pd.Series(pd.arrays.ArrowExtensionArray(text), index=column.index)
        mask = _arrow_mask(pc.is_in(text, value_set=pa.array(tokens, pa.string())))
        if mask.any():
            found = text.filter(pa.array(mask))
            for token in pc.unique(found).to_pylist():
                if token == "":
                    continue  # a blank cell is missing as it is, not turned into missing
                hit = _arrow_mask(pc.equal(text, token))
                self.ledger.record(step=STEP, rule=f"missing token: {token}",
                                   action="set missing", column=var.name,
                                   lines=self.lines[hit], values=token)
            text = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)
        return pd.Series(pd.arrays.ArrowExtensionArray(text), index=column.index)

    def _decimal_comma(self, var: Variable, text: pa.ChunkedArray, values: np.ndarray,
                       not_number: np.ndarray) -> None:
        """Read ``1,5`` as 1.5 where the codebook says so or the column shows it (in place)."""
        decimal = self.codebook.decimal
        if decimal == "." or not not_number.any():
            return
        positions = np.flatnonzero(not_number)
        written = pd.Series(text.take(pa.array(positions)).to_pylist(), dtype=object)
        comma = written.str.fullmatch(r"[+-]?\d*,\d+").fillna(False).to_numpy(dtype=bool)
        if not comma.any():
            return
        positions, written = positions[comma], written[comma]
        if decimal is None and written.str.fullmatch(r"[+-]?\d{1,3},\d{3}").all():
            # 1,250 is 1.25 with a decimal comma but 1250 with a thousands separator.
            self.problems.append(Problem(var.name, "decimal comma", positions,
                                         written.to_numpy(dtype=object)))
            not_number[positions] = False
            return
        values[positions] = written.str.replace(",", ".", regex=False).astype(float).to_numpy()
        not_number[positions] = False
        self.ledger.record(step=STEP, rule="decimal comma", action="read as decimal point",
                           column=var.name, lines=self.lines[positions],
                           values=written.to_numpy(dtype=object))

    def _flag(self, var: Variable, rule: str, mask: np.ndarray, raw: pd.Series) -> None:
        if mask.any():
            positions = np.flatnonzero(mask)
            values = raw.iloc[positions].to_numpy(dtype=object)
            self.problems.append(Problem(var.name, rule, positions, values))

    def _set_missing(self, var: Variable, code, mask: np.ndarray) -> None:
        if mask.any():
            self.ledger.record(
                step=STEP,
                rule=f"missing code: {var.missing[code]}",
                action="set missing",
                column=var.name,
                lines=self.lines[mask],
                values=code,
            )

    def _as_float(self, var: Variable, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Float values and a mask of text that is not a number (string codes excluded)."""
        # Always a fresh, writable array: missing codes are blanked in place.
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            values = column.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            return values, np.zeros(len(column), bool)
        text = _arrow_text(column)
        values = _per_distinct(text, _numbers, np.float64(np.nan))
        blank = _arrow_mask(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
        not_number = ~blank & np.isnan(values)
        string_codes = [str(c) for c in var.missing if isinstance(c, str)]
        if string_codes and not_number.any():
            not_number &= ~_arrow_mask(pc.is_in(text, pa.array(string_codes)))
        self._decimal_comma(var, text, values, not_number)
        return values, not_number

    def _numeric(self, var: Variable, column: pd.Series) -> np.ndarray:
        values, not_number = self._as_float(var, column)
        self._flag(var, "not a number", not_number, column)
        values = self._map_missing(var, column, values)
        low, high = var.range or (None, None)
        if var.type == "count":
            low = 0 if low is None else low
            fraction = np.isfinite(values) & (values != np.floor(values))
            self._flag(var, "not a whole number", fraction, column)
        out = np.zeros(len(values), bool)
        if low is not None:
            out |= values < float(low)
        if high is not None:
            out |= values > float(high)
        self._flag(var, "out of range", out, column)
        values[not_number] = np.nan
        return values

    def _map_missing(self, var: Variable, column: pd.Series, values: np.ndarray) -> np.ndarray:
        """Blank the missing codes of ``values`` in place, counting each in the ledger."""
        for code in var.missing:
            if isinstance(code, str) and not _is_number(code):
                mask = (column.astype("string") == code).fillna(False).to_numpy(dtype=bool)
            else:
                mask = values == float(code)
            self._set_missing(var, code, mask)
            values[mask] = np.nan
        return values

    def _coded(self, var: Variable, column: pd.Series) -> pd.Categorical:
        labels = var.level_labels
        codes = list(labels)
        numeric_codes = all(isinstance(c, int) or _is_number(c) for c in [*codes, *var.missing])
        if numeric_codes and (
            pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)
        ):
            if pd.api.types.is_integer_dtype(column.dtype) and not column.hasnans:
                values = column.to_numpy(dtype=np.int64)
            else:
                values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            positions = _lookup_numeric(
                values, [float(c) for c in codes], [float(c) for c in var.missing]
            )
        else:
            positions = _lookup_text(column, codes, list(labels.values()), list(var.missing))
        for k, code in enumerate(var.missing):
            self._set_missing(var, code, positions == -3 - k)
        self._flag(var, "unknown code", positions == _UNKNOWN, column)
        positions[positions < 0] = _NA
        return pd.Categorical.from_codes(
            positions,
            categories=pd.Index(list(labels.values()), dtype=object),
            ordered=var.type == "ordinal",
        )

    def _date(self, var: Variable, column: pd.Series) -> np.ndarray:
        text = _arrow_text(column)
        for code in var.missing:
            mask = _arrow_mask(pc.equal(text, str(code)))
            self._set_missing(var, code, mask)
            if mask.any():
                text = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)
        blank = _arrow_mask(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
        dates = _per_distinct(text, lambda distinct: _parse_dates(distinct, var.format),
                              np.datetime64("NaT", "us"))
        self._flag(var, "impossible date", ~blank & np.isnat(dates), column)
        if var.range:
            low, high = (np.datetime64(x, "us") if x is not None else None for x in var.range)
            out = np.zeros(len(dates), bool)
            if low is not None:
                out |= dates < low
            if high is not None:
                out |= dates > high
            self._flag(var, "out of range", out, column)
        return dates

    def _text(self, var: Variable, column: pd.Series) -> pd.api.extensions.ExtensionArray:
        text = _arrow_text(column)
        for code in var.missing:
            mask = _arrow_mask(pc.equal(text, str(code)))
            self._set_missing(var, code, mask)
            if mask.any():
                text = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)
        blank = _arrow_mask(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
        if blank.any():  # a blank cell is missing, whatever the codebook's na_values
            text = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)
        if var.type == "id":
            self._flag(var, "missing id", blank, column)
            self._flag(var, "duplicate id", _repeated(text) & ~blank, column)
        return pd.array(text, dtype=pd.ArrowDtype(pa.string())).astype("string")


def _lookup_numeric(values: np.ndarray, codes: list[float], missing: list[float]) -> np.ndarray:
    """Position of each value among ``codes``; -1 NA, -2 unknown, -3-k missing code k.

    Small integer codes go through an array look-up on the raw integers, which
    is several times faster than hashing, and returns 1-byte positions when the
    codes allow, so the categorical needs no further conversion.
    """
    allcodes = codes + missing
    low, high = min(allcodes), max(allcodes)
    if not all(float(c).is_integer() for c in allcodes) or high - low >= _MAX_LOOKUP:
        index = pd.Index(allcodes).get_indexer(values)
        out = np.where(index < len(codes), index, -3 - (index - len(codes)))
        out = np.where(index < 0, _UNKNOWN, out)
        out[np.isnan(values.astype(np.float64, copy=False))] = _NA
        return out
    low, high = int(low), int(high)
    dtype = np.int8 if len(allcodes) < 120 else np.int64
    table = np.full(high - low + 1, _UNKNOWN, dtype=dtype)
    for k, code in enumerate(missing):
        table[int(code) - low] = -3 - k
    for k, code in enumerate(codes):
        table[int(code) - low] = k
    inside = (values >= low) & (values <= high)
    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):  # NaN and fractions are caught just below
            whole = values.astype(np.int64)
        inside &= whole == values
        blank = np.isnan(values)
    else:
        whole = values.astype(np.int64, copy=False)
        blank = None
    index = np.subtract(whole, low, out=whole if whole is not values else None)
    np.clip(index, 0, high - low, out=index)
    out = table[index]
    out[~inside] = _UNKNOWN
    if blank is not None:
        out[blank] = _NA
    return out


def _lookup_text(column: pd.Series, codes: list, labels: list[str], missing: list) -> np.ndarray:
    """As :func:`_lookup_numeric` for text: a value may be a code or a level's label."""
    mapping: dict[str, int] = {}
    for k, label in enumerate(labels):
        mapping.setdefault(str(label), k)
    for k, code in enumerate(codes):
        mapping[_canonical(code)] = k
    for k, code in enumerate(missing):
        mapping[_canonical(code)] = -3 - k
    text = _arrow_text(column)

    def positions(distinct: pa.Array) -> np.ndarray:
        return np.array([_NA if v is None or v == "" else
                         mapping.get(_canonical_text(v), _UNKNOWN)
                         for v in distinct.to_pylist()], dtype=np.int64)

    # Answers repeat: each distinct text is looked up once, not once per respondent.
    return _per_distinct(text, positions, np.int64(_NA))


def _arrow_text(column: pd.Series) -> pa.ChunkedArray:
    """The column as trimmed Arrow strings (numbers written as they would print)."""
    if isinstance(column.dtype, pd.ArrowDtype | pd.StringDtype) and hasattr(
        column.array, "_pa_array"
    ):
        array = column.array._pa_array
    else:
        array = pa.chunked_array(
            [pa.array(column.astype("string").to_numpy(na_value=None), type=pa.string())]
        )
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = pc.cast(array, pa.string())
    return pc.utf8_trim_whitespace(array)


def _arrow_mask(array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _per_distinct(text: pa.ChunkedArray, parse, missing) -> np.ndarray:
    """``parse`` applied to the distinct values of ``text`` only, then spread to every row.

    A survey column holds few distinct answers (ages, dates of interview),
    so parsing them once each instead of once per respondent saves most of
    the time on a million rows. Blank rows get ``missing``.
    """
    encoded = text.dictionary_encode().combine_chunks()
    parsed = parse(encoded.dictionary)
    positions = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return np.append(parsed, missing)[positions]


def _numbers(text: pa.Array) -> np.ndarray:
    """Text as float64, NaN where it is not a number."""
    return pd.to_numeric(pd.Series(text.to_pandas(), dtype=object), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )


def _parse_dates(text: pa.ChunkedArray | pa.Array, format: str | None) -> np.ndarray:
    """Parse dates (ISO 8601 unless ``format``); an impossible one becomes NaT.

    Arrow parses fast but rolls 30 February over to 1 March, so every parsed
    date is checked against its text (the day of the month for ISO dates, the
    date printed back for a custom format); the few that differ (rollovers, or
    unpadded days in a custom format) are parsed again by pandas, which
    rejects impossible dates.
    """
    if format:
        stamps = pc.strptime(text, format=format, unit="us", error_is_null=True)
        same = pc.equal(pc.strftime(stamps, format=format), text)
    else:
        stamps = pc.strptime(text, format="%Y-%m-%d", unit="us", error_is_null=True)
        if stamps.null_count > text.null_count:
            stamps = pc.coalesce(
                stamps,
                *(
                    pc.strptime(text, format=f, unit="us", error_is_null=True)
                    for f in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
                ),
            )
        # A rolled-over date has a different day of the month than its text.
        written = pc.if_else(pc.is_valid(stamps), pc.utf8_slice_codeunits(text, 8, 10), None)
        same = pc.equal(pc.day(stamps), pc.cast(written, pa.int64()))
    dates = stamps.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    recheck = np.flatnonzero(~np.isnat(dates) & ~_arrow_mask(same))
    if recheck.size:
        subset = pd.Series(text.take(pa.array(recheck)).to_pylist(), dtype=object)
        again = pd.to_datetime(subset, format=format or "ISO8601", errors="coerce")
        dates[recheck] = again.to_numpy(dtype="datetime64[us]")
    return dates


def _repeated(values: pa.ChunkedArray) -> np.ndarray:
    """True where a value was already seen on an earlier row.

    Dictionary encoding numbers values in order of first appearance, so a row
    holds a first occurrence exactly when its code exceeds every code before it;
    this hashes the strings once.
    """
    encoded = values.dictionary_encode().combine_chunks()
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]]))
    return (codes <= before) & (codes >= 0)


def _canonical(code) -> str:
    return _canonical_text(str(code))


def _canonical_text(text: str) -> str:
    # "1", "1.0" and " 1" are the same code.
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else str(number)


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _show(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or \
            (isinstance(value, str) and not value.strip()):
        return "(blank)"
    if isinstance(value, str) and _is_number(value):
        return value.strip()  # a number read as text is shown as in the file
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)

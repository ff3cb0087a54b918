"""Checking and converting one column by its codebook type, vectorised with Arrow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.codebook import Codebook, Variable
from analysis.ledger import Ledger
from analysis.validate._rules import STEP, Problem, is_number

_NA, _UNKNOWN = -1, -2  # positions in the code look-up; missing code k is -3 - k
_MAX_LOOKUP = 100_000


class ColumnCheck:
    """Checks and converts one column; collects its own problems and ledger entries.

    Columns are independent, so they are checked on a small thread pool (numpy
    and Arrow release the GIL); results are merged in codebook order so the
    ledger and the error message do not depend on thread timing.
    """

    def __init__(self, lines: np.ndarray, codebook: Codebook, *, detect_decimal: bool = False):
        self.detect_decimal = detect_decimal
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
        if decimal == "." or not not_number.any() or (decimal is None
                                                        and not self.detect_decimal):
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
            if isinstance(code, str) and not is_number(code):
                mask = (column.astype("string") == code).fillna(False).to_numpy(dtype=bool)
            else:
                mask = values == float(code)
            self._set_missing(var, code, mask)
            values[mask] = np.nan
        return values

    def _coded(self, var: Variable, column: pd.Series) -> pd.Categorical:
        labels = var.level_labels
        codes = list(labels)
        numeric_codes = all(isinstance(c, int) or is_number(c) for c in [*codes, *var.missing])
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

    def _text_without_missing_codes(self, var: Variable, column: pd.Series) -> pa.Array:
        """The column as Arrow text with its missing codes nulled, each counted in the ledger."""
        text = _arrow_text(column)
        for code in var.missing:
            mask = _arrow_mask(pc.equal(text, str(code)))
            self._set_missing(var, code, mask)
            if mask.any():
                text = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)
        return text

    def _date(self, var: Variable, column: pd.Series) -> np.ndarray:
        text = self._text_without_missing_codes(var, column)
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
        text = self._text_without_missing_codes(var, column)
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

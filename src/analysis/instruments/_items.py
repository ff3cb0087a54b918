"""Shared checks for questionnaire items: shape, numeric codes, values on the scale.

Every scorer receives a DataFrame of item *codes* (not labels), one row per
respondent, indexed by the respondent's line in the source file. These helpers
turn it into float64 with NaN for a missing answer, or raise a
:class:`~analysis.errors.ScoringError` that names the line and the item column.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.errors import ScoringError

_SHOW = 5  # lines quoted in an error message


def category_lookup(column: pd.Series, lookup: dict) -> pd.Series | None:
    """A categorical column mapped through ``lookup`` (category -> float), NaN elsewhere.

    One dictionary look-up per category, then indexing by the category
    positions: a Python call per respondent costs seconds on a million rows.
    ``None`` when the column is not categorical.
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return None
    per_category = np.array([lookup.get(c, np.nan) for c in column.cat.categories] + [np.nan],
                            dtype="float64")
    positions = column.cat.codes.to_numpy()
    return pd.Series(per_category[np.where(positions < 0, len(per_category) - 1, positions)],
                     index=column.index)


def item_frame(items: pd.DataFrame, n_items: int | Iterable[int], instrument: str,
               order: str) -> pd.DataFrame:
    """``items`` as float64 codes, after checking the number of columns.

    ``order`` describes the expected columns for the error message
    (e.g. "sections 1-10 in order").
    """
    if isinstance(items, pd.Series):
        items = items.to_frame()
    if not isinstance(items, pd.DataFrame):
        raise ScoringError(
            f"{instrument}: items must be a DataFrame of item columns ({order}), "
            f"got {type(items).__name__}."
        )
    allowed = (n_items,) if isinstance(n_items, int) else tuple(n_items)
    if items.shape[1] not in allowed:
        want = " or ".join(str(n) for n in allowed)
        raise ScoringError(
            f"{instrument}: expected {want} item columns ({order}), got {items.shape[1]}: "
            f"{list(items.columns)[:30]}."
        )
    if all(dtype == np.float64 for dtype in items.dtypes):
        # already codes: no n x k copy (pandas copies on write, so the caller's frame is safe)
        return items.copy(deep=False)
    return pd.DataFrame(
        {col: _as_codes(items[col], instrument, col) for col in items.columns}, index=items.index
    )


def _as_codes(column: pd.Series, instrument: str, name) -> pd.Series:
    """One item column as float64 codes; booleans become 0/1."""
    values = column
    if pd.api.types.is_float_dtype(values.dtype):
        return values.astype("float64")
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64")
    numbers = pd.to_numeric(values.astype(object).where(values.notna(), np.nan), errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        lines = list(values.index[bad][:_SHOW])
        shown = ", ".join(f"line {ln} = {values[ln]!r}" for ln in lines)
        raise ScoringError(
            f"{instrument}: item column {name!r} holds {int(bad.sum())} value(s) that are not "
            f"numeric codes ({shown}). Pass the codes of the answers, not their labels "
            f"(score_instruments maps labels back to codes through the codebook)."
        )
    return numbers.astype("float64")


def check_scale(frame: pd.DataFrame, instrument: str, *, low: float, high: float,
                whole: bool = True, columns: Iterable | None = None, advice: str = "") -> None:
    """Raise ScoringError if any answered item lies outside ``[low, high]`` (or is fractional).

    The message names the first offending item column, its first lines and
    values, and the number of offending values over all columns.
    """
    cols = list(frame.columns if columns is None else columns)
    block = frame[cols]
    # column by column: a whole-block comparison makes several n x k temporaries
    # (about 2 GB each for the 24 RMDQ items of 10^7 respondents)
    off_by_column = {c: _off_scale(block[c].to_numpy(dtype="float64", na_value=np.nan),
                                   low, high, whole) for c in cols}
    n_off = sum(int(mask.sum()) for mask in off_by_column.values())
    if n_off == 0:
        return
    off = pd.DataFrame(off_by_column, index=block.index)
    first_col = next(c for c in cols if off[c].any())
    lines = list(block.index[off[first_col]][:_SHOW])
    shown = ", ".join(f"line {ln} = {_fmt(block.at[ln, first_col])}" for ln in lines)
    scale = f"{_fmt(low)}-{_fmt(high)}" + (" (whole numbers)" if whole else "")
    where = f" in item column {first_col!r} ({shown})"
    more = "" if n_off == int(off[first_col].sum()) else f"; {n_off} such values in all"
    raise ScoringError(
        f"{instrument}: {n_off} item value(s) outside the scale {scale}{where}{more}. "
        f"{advice or 'Check the coding of the items before scoring.'}".rstrip()
    )


def _off_scale(values: np.ndarray, low: float, high: float, whole: bool) -> np.ndarray:
    """Answered values outside ``[low, high]``, or fractional when ``whole``."""
    with np.errstate(invalid="ignore"):
        off = (values < low) | (values > high)
        if whole:
            off |= values != np.floor(values)
    return off & ~np.isnan(values)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"

"""Derived variables: computed from validated columns as the codebook's ``derive:`` says.

Age bands cut from age, a body-mass index from height and weight, the sum of
a scale's items: each derived variable is declared in the codebook like any
other (type, label, levels, range) plus a :class:`~analysis.codebook.Derivation`,
computed after the file's columns are validated, checked against its own
range, and accounted for in the ledger: how many respondents got a value,
and how many did not because an input was missing (or, for a value outside
the range, why it was set missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, Variable
from analysis.codebook.formula import evaluate_formula
from analysis.ledger import Ledger

STEP = "derive"


def derived_names(codebook: Codebook) -> list[str]:
    """Variables of the codebook computed from others, in codebook order."""
    return [v.name for v in codebook if v.derive is not None]


def derive_columns(data: pd.DataFrame, codebook: Codebook, ledger: Ledger) -> pd.DataFrame:
    """``data`` with every derived variable of ``codebook`` added (or recomputed).

    Method: ``cut`` assigns level *i* to values in ``[breaks[i], breaks[i+1])``
    (``(a, b]`` with ``right: true``) and leaves values outside every interval
    missing (counted); ``formula`` is evaluated row by row (NaN where an input
    is missing or the result is not finite); ``sum`` adds the items (coded
    items by their codebook codes), prorated as ``mean x k`` when ``min_items``
    allows unanswered items. Values outside the variable's ``range`` are set
    missing. Every missing result is counted in ``ledger`` with its reason.

    Tested against hand-computed bands, BMI and prorated sums.

    Examples
    --------
    >>> derive_columns(survey.data, survey.codebook, survey.accounts)  # doctest: +SKIP
    """
    out = data.copy() if derived_names(codebook) else data
    for name in derived_names(codebook):
        var = codebook[name]
        inputs = var.derive.inputs
        absent = [c for c in inputs if c not in out.columns]
        if absent:
            ledger.record(step=STEP, rule=f"input not in data: {', '.join(absent)}",
                          action="not derived", column=name, lines=None)
            continue
        input_missing = np.logical_or.reduce([out[c].isna().to_numpy() for c in inputs])
        if var.derive.cut is not None:
            column, outside = _cut(out[var.derive.cut], var)
        elif var.derive.formula is not None:
            values = evaluate_formula(var.derive.formula, {c: _numbers(out[c], codebook[c])
                                                           for c in inputs})
            outside = np.isnan(values) & ~input_missing
            column = values
        else:
            column, input_missing = _sum(out, var, codebook)
            outside = np.zeros(len(out), dtype=bool)
        if var.range is not None and var.derive.cut is None:
            column = _within_range(np.asarray(column, dtype=float), var, out.index, ledger)
        _count(ledger, name, out.index, input_missing, "an input is missing")
        _count(ledger, name, out.index, outside & ~input_missing,
               "outside the breaks" if var.derive.cut is not None else "not a finite number")
        out[name] = column
    return out


def _count(ledger: Ledger, name: str, index: pd.Index, mask: np.ndarray, why: str) -> None:
    if mask.any():
        ledger.record(step=STEP, rule=f"derived: {why}", action="set missing", column=name,
                      lines=index[mask].to_numpy())


def _within_range(values: np.ndarray, var: Variable, index: pd.Index, ledger: Ledger
                  ) -> np.ndarray:
    low, high = var.range
    beyond = np.zeros(values.size, dtype=bool)  # NaN compares False: missing stays missing
    if low is not None:
        beyond |= values < low
    if high is not None:
        beyond |= values > high
    if beyond.any():
        ledger.record(step=STEP, rule="derived value out of range", action="set missing",
                      column=var.name, lines=index[beyond].to_numpy(), values=values[beyond])
        values = np.where(beyond, np.nan, values)
    return values


def _numbers(column: pd.Series, var: Variable) -> np.ndarray:
    """Numbers of a numeric column, or the codebook codes of a coded one."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = {label: code for code, label in var.level_labels.items()}
        return column.map(lambda v: codes.get(v, np.nan)).to_numpy(dtype=float, na_value=np.nan)
    return column.to_numpy(dtype=float, na_value=np.nan)


def _cut(column: pd.Series, var: Variable) -> tuple[pd.Categorical, np.ndarray]:
    values = column.to_numpy(dtype=float, na_value=np.nan)
    labels = list(var.level_labels.values())
    bins = pd.cut(values, bins=var.derive.breaks, right=var.derive.right, labels=False,
                  include_lowest=True)
    codes = np.where(np.isnan(bins), -1, bins).astype(int)
    outside = (codes < 0) & ~np.isnan(values)
    cat = pd.Categorical.from_codes(codes, categories=labels, ordered=var.type == "ordinal")
    return cat, outside


def _sum(data: pd.DataFrame, var: Variable, codebook: Codebook) -> tuple[np.ndarray, np.ndarray]:
    items = np.column_stack([_numbers(data[c], codebook[c]) for c in var.derive.sum])
    answered = (~np.isnan(items)).sum(axis=1)
    k = items.shape[1]
    need = var.derive.min_items or k
    # Prorated mean of the answered items; rows with none answered are set missing below.
    counts = np.maximum(answered, 1)
    total = np.nansum(items, axis=1) / counts * k if need < k else items.sum(axis=1)
    short = answered < need
    total = np.where(short, np.nan, total)
    return total, short


__all__ = ["derive_columns", "derived_names"]

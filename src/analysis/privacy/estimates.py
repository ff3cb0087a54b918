"""Effect estimates withheld when they rest on small exposure x outcome cells.

Why: with a single binary exposure, the crude odds ratio is ``ad / bc`` and
its Wald interval has ``se^2 = 1/a + 1/b + 1/c + 1/d`` (Woolf 1955). A
reader who knows the group sizes ``a + b`` and ``c + d`` (the ``n`` column)
and the number of events ``a + c`` (the model's note) can try every ``a``
and keep the one whose odds ratio and interval print as released: a level
with 2 cases gives them back (tests/test_privacy_release.py shows the
attack). The same holds, approximately, for adjusted ratios, rate ratios
(``se^2 = 1/e_1 + 1/e_0``) and relative risk ratios, so the whole row goes.

Rule (:func:`withheld_estimates`): in the side-by-side table of a model
(columns ``variable, level, label, <ratio>_crude, ci_low_crude, ...,
p_adjusted, n, events``; ``<ratio>`` is ``or``, ``irr``, ``rrr``, ...), the
estimates, intervals and p-values of a level are withheld when any cell they
rest on counts 1 to ``threshold - 1``: the events and non-events (``n -
events``) at that level and at the factor's reference level; for rate
ratios (``irr``) the events and respondents (``n``). Rows that are not a
level against a reference (a numeric variable per unit, an interaction
cell) rest on their own ``n`` and ``events``. The counts must be
*unweighted* (respondents); for a weighted or survey-design fit, pass the
unweighted counts behind each row. For relative risk ratios the baseline
outcome's count at a level is not in the table: ``n - events`` stands in for
it, which protects only when the outcome has two categories besides the
baseline at most; pass ``baseline`` counts to be exact.

Tested by tests/test_privacy_release.py: Woolf back-solving recovers a
level's 3 cases from an unprotected logistic fit and fails on the output of
:func:`withhold_estimates`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.privacy.tables import DEFAULT_THRESHOLD

RATIO = re.compile(r"^(or|irr|rrr|rr|hr|pr)_(crude|adjusted)$")
CELL_COLUMNS = ["events", "non_events", "n", "ref_events", "ref_non_events", "ref_n"]


def ratio_columns(table: pd.DataFrame) -> list[str]:
    """The estimate, interval and p-value columns of a side-by-side model table."""
    out = []
    for c in table.columns:
        m = RATIO.match(c)
        if m:
            out += [c, f"ci_low_{m.group(2)}", f"ci_high_{m.group(2)}", f"p_{m.group(2)}"]
    return [c for c in dict.fromkeys(out) if c in table.columns]


def _is_reference(table: pd.DataFrame) -> pd.Series:
    estimates = [c for c in table.columns if RATIO.match(c)]
    lows = [c for c in table.columns if c.startswith("ci_low_")]
    ref = pd.Series(True, index=table.index)
    for c in estimates:
        ref &= table[c].isna() | np.isclose(table[c].astype(float), 1.0)
    for c in lows:
        ref &= table[c].isna()
    return ref & table["n"].notna()


def estimate_cells(table: pd.DataFrame, baseline: pd.Series | None = None) -> pd.DataFrame:
    """The unweighted cells each row's estimate rests on (see the module docstring).

    Returns columns ``events, non_events, n, ref_events, ref_non_events,
    ref_n`` on the index of ``table`` (NaN where a cell does not apply).
    ``baseline``: for relative risk ratios, the count of the baseline
    outcome at each row's level (on the index of ``table``).
    """
    rate = any(c.startswith("irr_") for c in table.columns)
    n = table["n"].astype(float)
    events = table["events"].astype(float)
    non_events = pd.Series(np.nan, index=table.index) if rate else (
        baseline.astype(float) if baseline is not None else n - events)
    out = pd.DataFrame({"events": events, "non_events": non_events, "n": n},
                       index=table.index)
    for c in ("ref_events", "ref_non_events", "ref_n"):
        out[c] = np.nan
    ref = _is_reference(table)
    keys = ["variable"] + (["outcome_level"] if "outcome_level" in table.columns else [])
    for _, rows in table.groupby(keys, sort=False):
        refs = rows.index[ref.loc[rows.index]]
        if len(refs) != 1 or len(rows) == 1:
            continue  # not a factor against one reference level
        r = refs[0]
        others = rows.index.drop(r)
        out.loc[others, "ref_events"] = out.loc[r, "events"]
        out.loc[others, "ref_non_events"] = out.loc[r, "non_events"]
        out.loc[others, "ref_n"] = out.loc[r, "n"]
    return out


def withheld_estimates(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD, *,
                       baseline: pd.Series | None = None) -> pd.Series:
    """Which rows' estimates, intervals and p-values must not be shown.

    A row is withheld when any cell of :func:`estimate_cells` counts 1 to
    ``threshold - 1``; a reference row (estimate 1, no interval) is never
    withheld. Returns a boolean Series on the index of ``table``.

    Examples
    --------
    >>> t = pd.DataFrame({"variable": ["rta", "rta"], "level": ["No", "Yes"],
    ...                   "label": ["RTA: No (reference)", "RTA: Yes vs No"],
    ...                   "or_crude": [1.0, 2.5], "ci_low_crude": [np.nan, 1.1],
    ...                   "ci_high_crude": [np.nan, 5.6], "p_crude": [np.nan, 0.02],
    ...                   "n": [500.0, 12.0], "events": [100.0, 3.0]})
    >>> withheld_estimates(t).tolist()
    [False, True]
    """
    cells = estimate_cells(table, baseline)
    with np.errstate(invalid="ignore"):
        small = ((cells > 0) & (cells < threshold)).any(axis=1)
    return small & ~_is_reference(table)


def withhold_estimates(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD, *,
                       baseline: pd.Series | None = None,
                       withheld: pd.Series | None = None) -> pd.DataFrame:
    """``table`` with the estimates, intervals and p-values of withheld rows set to NaN.

    Adds a boolean column ``withheld`` so that a display can say so
    instead of printing an empty cell. ``withheld`` overrides the rule
    (e.g. :meth:`analysis.privacy.Release.estimate_withheld` per row, which
    also withholds rows whose counts are hidden as complements).
    """
    hide = withheld_estimates(table, threshold, baseline=baseline) if withheld is None \
        else withheld.reindex(table.index, fill_value=False).astype(bool)
    out = table.copy()
    out.loc[hide, ratio_columns(table)] = np.nan
    out["withheld"] = hide
    return out


__all__ = ["CELL_COLUMNS", "RATIO", "estimate_cells", "ratio_columns",
           "withheld_estimates", "withhold_estimates"]

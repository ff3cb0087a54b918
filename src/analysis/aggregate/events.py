"""Covariate-pattern primitives: pattern numbers, events and trials, the 0/1 event indicator.

The binomial likelihood of a logistic model depends on the data only through
the number of events and trials at each distinct row of the design matrix, so
a model fitted to the patterns (``events, trials - events``) has exactly the
estimates and standard errors of the row-level fit (McCullagh & Nelder 1989,
sec. 4.2). It pays when patterns are far fewer than rows: a handful of
factors over a million respondents gives a few thousand patterns.
"""


from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import ModelError


def pattern_index(codes: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pattern number of each row and the first row of each pattern.

    ``codes`` holds, per column, integer codes 0..k-1 and k. The codes are
    combined into one mixed-radix integer key; when the product of the k
    would overflow 62 bits, the key so far is first renumbered by first
    appearance (at most n distinct values), which keeps it one-to-one with
    the combination of codes. The key is then numbered by first appearance,
    as ``groupby(sort=False).ngroup()`` numbers the rows, with a few n-sized
    integer arrays instead of a frame of every column (at 10^7 rows and 20
    columns that frame's grouping held several GiB). Returns
    ``(inverse, first_rows)``.
    """
    n = codes[0][0].shape[0]
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for values, k in codes:
        if size * k >= 2**62:
            key, uniques = pd.factorize(key)
            key, size = key.astype(np.int64, copy=False), max(len(uniques), 1)
        key = key * k + values if size > 1 else values.astype(np.int64, copy=True)
        size *= k
    inverse = np.asarray(pd.factorize(key)[0], dtype=np.int64)
    # Patterns are numbered by first appearance, so the first row of pattern g
    # is where the running maximum of the pattern number first reaches g.
    first = np.flatnonzero(np.r_[True, inverse[1:] > np.maximum.accumulate(inverse)[:-1]])
    return inverse, first


def events_trials(inverse: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                  n_patterns: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sum of (weighted) events and trials per pattern."""
    n_patterns = int(inverse.max()) + 1 if n_patterns is None else n_patterns
    w = np.ones_like(y, dtype=float) if weights is None else np.asarray(weights, dtype=float)
    trials = np.bincount(inverse, weights=w, minlength=n_patterns)
    events = np.bincount(inverse, weights=w * y, minlength=n_patterns)
    return events, trials


def event_indicator(series: pd.Series, name: str) -> np.ndarray:
    """1.0 for the event, 0.0 otherwise, NaN when missing.

    The event of a binary categorical is its second level; a numeric outcome
    must be coded 0/1.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        if len(series.cat.categories) != 2:
            raise ModelError(
                f"The outcome {name!r} has {len(series.cat.categories)} levels "
                f"{list(series.cat.categories)}; a logistic model needs exactly 2."
            )
        codes = series.cat.codes.to_numpy()
        return np.where(codes < 0, np.nan, codes.astype(float))
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        raise ModelError(
            f"The outcome {name!r} must be 0/1 or a two-level categorical; "
            f"{int(bad.sum())} rows hold other values, e.g. {values[bad][:3].tolist()}."
        )
    return values


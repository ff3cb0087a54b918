"""Many exposures tested in one table: Benjamini-Hochberg q-values beside the p-values."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

# A table tests "many" exposures from this many p-values on: fewer, and a q column adds noise.
MANY = 3


def q_values(p: pd.Series | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); missing p-values stay missing.

    Method: the false-discovery-rate step-up of Benjamini & Hochberg (1995,
    *JRSS B* 57:289): with the ``m`` p-values sorted, ``q_(i) = min over j >=
    i of m p_(j) / j``, capped at 1 (``statsmodels.stats.multitest.
    multipletests(method="fdr_bh")``). Tested against that formula written
    out by hand (tests/test_models_causal.py).

    Examples
    --------
    >>> q_values(np.array([0.01, 0.04, 0.03, 0.20])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.2]
    """
    values = np.asarray(p, dtype=float)
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    if present.any():
        out[present] = multipletests(values[present], method="fdr_bh")[1]
    return out


def with_q_values(table: pd.DataFrame, p_column: str = "p_adjusted",
                  minimum: int = MANY) -> pd.DataFrame:
    """``table`` with a ``q_<p_column>`` column when it tests at least ``minimum`` hypotheses.

    Each row with a p-value (each non-reference level, each interaction
    cell) is one hypothesis; reference rows have none. With fewer than
    ``minimum`` p-values the table is returned unchanged.

    Examples
    --------
    >>> with_q_values(result.table)["q_adjusted"]  # doctest: +SKIP
    """
    column = "q_" + p_column.removeprefix("p_")
    if table[p_column].notna().sum() < minimum:
        return table
    out = table.copy()
    out[column] = q_values(table[p_column])
    return out


__all__ = ["MANY", "q_values", "with_q_values"]

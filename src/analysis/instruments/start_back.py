"""Keele STarT Back Screening Tool, 9 items (Hill et al. 2008)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.instruments._items import check_scale, item_frame

SBST_RISK: tuple[str, ...] = ("low", "medium", "high")
ITEM9_LABELS: tuple[str, ...] = ("Not at all", "Slightly", "Moderately", "Very much", "Extremely")
# Psychosocial (distress) items, 1-based.
SUBSCALE_ITEMS: dict[str, tuple[int, ...]] = {
    "keele": (5, 6, 7, 8, 9),
    "jospt": (1, 4, 7, 8, 9),
}


def start_back(items: pd.DataFrame, subscale: Literal["keele", "jospt"] = "keele",
               missing: Literal["complete", "bounds"] = "complete") -> pd.DataFrame:
    """Score the Keele STarT Back Screening Tool (SBST, 9 items).

    Method
    ------
    Items 1-8 are 0 = disagree, 1 = agree. Item 9 (bothersomeness) is the
    five-point answer coded 0 Not at all, 1 Slightly, 2 Moderately,
    3 Very much, 4 Extremely; it scores 1 only for Very much or Extremely.

    - ``sbst_total`` = sum of the 9 scored items (0-9);
    - ``sbst_psychosocial`` = sum of items 5-9 (0-5; fear, anxiety,
      catastrophising, low mood, bothersomeness);
    - ``sbst_risk``: total <= 3 low; total >= 4 and psychosocial <= 3 medium;
      psychosocial >= 4 high.

    Sources disagree on the psychosocial items: the Keele scoring page
    (authoritative, default ``subscale="keele"``) uses items 5-9; the JOSPT
    2012 guideline table and RehabMeasures list items 1, 4, 7, 8, 9
    (``subscale="jospt"``, kept only to reproduce analyses that used it).

    No rule is published for missing items. ``missing="complete"`` (default)
    scores only respondents with all 9 items. ``missing="bounds"`` fills
    the missing items once with 0 and once with 1 and reports the risk group
    when both fillings agree (the total and subscale stay NA).

    Parameters
    ----------
    items : DataFrame
        9 columns in item order; items 1-8 coded 0/1, item 9 coded 0-4.

    Returns
    -------
    DataFrame with the same index: ``sbst_total``, ``sbst_psychosocial``
    (float, NA if unscorable) and ``sbst_risk`` (ordered categorical).

    References
    ----------
    Hill JC et al. Arthritis Rheum 2008;59:632-41; Keele University, "Using
    and scoring the STarT Back Tool". ``reference/instruments.md`` §3
    (vectors SB-1..7; SB-1 and SB-7 match AWELL's tests).

    Examples
    --------
    >>> answers = pd.DataFrame([[1, 0, 1, 0, 0, 1, 0, 0, 4]])
    >>> start_back(answers)[["sbst_total", "sbst_psychosocial"]].iloc[0].tolist()
    [4.0, 2.0]
    """
    if subscale not in SUBSCALE_ITEMS:
        raise ValueError(f"subscale must be one of {sorted(SUBSCALE_ITEMS)}, got {subscale!r}")
    if missing not in ("complete", "bounds"):
        raise ValueError(f"missing must be 'complete' or 'bounds', got {missing!r}")
    codes = item_frame(items, 9, "STarT Back",
                       "items 1-9 in order; 1-8 coded 0/1, item 9 coded 0-4")
    check_scale(codes, "STarT Back", low=0, high=1, columns=codes.columns[:8],
                advice="Items 1-8 are 0 (disagree) or 1 (agree).")
    check_scale(codes, "STarT Back", low=0, high=4, columns=codes.columns[8:],
                advice="Item 9 is coded 0 (not at all) to 4 (extremely).")
    scored = codes.copy()
    item9 = codes.iloc[:, 8]
    scored.iloc[:, 8] = (item9 >= 3).astype("float64").where(item9.notna())
    sub_cols = [scored.columns[i - 1] for i in SUBSCALE_ITEMS[subscale]]

    complete = scored.notna().all(axis=1)
    total = _row_sum(scored, scored.columns).where(complete)
    psych = _row_sum(scored, sub_cols).where(complete)
    risk = _risk(total, psych)
    if missing == "bounds":
        low = _risk(scored.fillna(0).sum(axis=1), scored[sub_cols].fillna(0).sum(axis=1))
        high = _risk(scored.fillna(1).sum(axis=1), scored[sub_cols].fillna(1).sum(axis=1))
        agree = (low == high) & (scored.notna().sum(axis=1) > 0)
        risk = np.where(complete, risk, np.where(agree, low, -1))
    dtype = pd.CategoricalDtype(list(SBST_RISK), ordered=True)
    return pd.DataFrame(
        {
            "sbst_total": total.astype("float64"),
            "sbst_psychosocial": psych.astype("float64"),
            "sbst_risk": pd.Categorical.from_codes(np.asarray(risk), dtype=dtype),
        },
        index=codes.index,
    )


def _row_sum(frame: pd.DataFrame, columns) -> pd.Series:
    """Sum of ``columns`` per row, blanks as 0, added column by column.

    ``DataFrame.sum(axis=1)`` copies the whole block to skip the blanks
    (0.7 GB for the nine items of 10^7 respondents).
    """
    total = np.zeros(len(frame))
    for column in columns:
        total += frame[column].fillna(0.0).to_numpy(dtype="float64")
    return pd.Series(total, index=frame.index)


def _risk(total: pd.Series, psych: pd.Series) -> np.ndarray:
    """Risk code 0 low, 1 medium, 2 high; -1 where the total is missing."""
    t, p = np.asarray(total, dtype="float64"), np.asarray(psych, dtype="float64")
    code = np.select([t <= 3, p <= 3, p >= 4], [0, 1, 2], default=-1)
    code[np.isnan(t)] = -1
    return code

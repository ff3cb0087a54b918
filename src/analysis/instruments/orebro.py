"""Örebro Musculoskeletal Pain Screening Questionnaire, short form (ÖMPSQ-10, Linton 2011)."""

from __future__ import annotations

import pandas as pd

from analysis.instruments._items import check_scale, item_frame

OREBRO_ITEMS: tuple[str, ...] = (
    "duration of the current pain (1-10)",
    "pain in the past week",
    "tense or anxious / depressed in the past week",
    "depressed / tense or anxious in the past week",
    "risk that the pain becomes persistent",
    "chances of working normal duties in 3 months (reversed)",
    "stop what I am doing when the pain increases",
    "should not do normal work with present pain",
    "can do light work for an hour (reversed)",
    "can sleep at night (reversed)",
)
REVERSED_ITEMS: tuple[int, ...] = (6, 9, 10)


def orebro_short(items: pd.DataFrame, at_risk_from: float = 50) -> pd.DataFrame:
    """Score the short Örebro questionnaire (ÖMPSQ-10).

    Method
    ------
    Items in this order (the order of AWELL's scorer, citing Linton, Nicholas
    & MacDonald 2011): 1 duration of the current pain (10 categories scored
    1-10, 0-1 week = 1 ... over 1 year = 10); 2 pain in the past week; 3 and 4
    anxiety and depression (either order; both are summed unchanged);
    5 risk that the pain becomes persistent; 6 chances of working normal
    duties in 3 months; 7 an increase in pain means I should stop; 8 I should
    not do normal work with my present pain; 9 I can do light work for an
    hour; 10 I can sleep at night. Items 2-10 are rated 0-10.

    Items 6, 9 and 10 are reverse-scored as ``10 - x``; give them as the
    respondent answered. ``orebro_total`` is the sum (1-100) and
    ``orebro_at_risk`` is total >= 50 (AWELL's "> 49"). Some apps add a
    30-49 "moderate" band; it is not implemented (unverified).

    Missing items: AWELL sums whatever is present; Linton's long-form manual
    asks for all questions. All 10 are required here.

    Parameters
    ----------
    items : DataFrame
        10 columns in the order above.
    at_risk_from : float
        Lowest total counted as at risk (default 50).

    Returns
    -------
    DataFrame with the same index: ``orebro_total`` (float, NA if any item is
    missing) and ``orebro_at_risk`` (nullable boolean).

    References
    ----------
    Linton SJ, Nicholas M, MacDonald S. Spine 2011;36:1891-5.
    ``reference/instruments.md`` §7b; tested on AWELL's vector (21), the
    minimum (1) and maximum (100) patterns, and a hand vector (54).

    Examples
    --------
    >>> answers = pd.DataFrame([[1, 0, 4, 3, 1, 5, 0, 2, 6, 9]])
    >>> orebro_short(answers)["orebro_total"].item()
    21.0
    """
    codes = item_frame(items, 10, "Örebro short form", "items 1-10 in the documented order")
    check_scale(codes, "Örebro short form", low=1, high=10, columns=codes.columns[:1],
                advice="Item 1 (duration) is scored 1 (0-1 week) to 10 (over a year).")
    check_scale(codes, "Örebro short form", low=0, high=10, columns=codes.columns[1:],
                advice="Items 2-10 are rated 0-10.")
    keyed = keyed_items(codes)
    total = keyed.sum(axis=1).where(keyed.notna().all(axis=1)).astype("float64")
    return pd.DataFrame(
        {"orebro_total": total,
         "orebro_at_risk": (total >= at_risk_from).astype("boolean").where(total.notna())},
        index=codes.index,
    )


def keyed_items(codes: pd.DataFrame) -> pd.DataFrame:
    """The 10 items with 6, 9 and 10 reversed (``10 - x``), all keyed towards higher risk."""
    keyed = codes.copy()
    for number in REVERSED_ITEMS:
        keyed.iloc[:, number - 1] = 10 - codes.iloc[:, number - 1]
    return keyed

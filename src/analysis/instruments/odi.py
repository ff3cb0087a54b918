"""Oswestry Disability Index, version 2.1a (Fairbank & Pynsent 2000)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.instruments._items import check_scale, item_frame

ODI_BANDS: tuple[str, ...] = (
    "minimal disability",
    "moderate disability",
    "severe disability",
    "crippled",
    "bed-bound or exaggerating symptoms",
)
ODI_SECTIONS: tuple[str, ...] = (
    "pain intensity", "personal care", "lifting", "walking", "sitting", "standing",
    "sleeping", "sex life", "social life", "travelling",
)


def odi(items: pd.DataFrame, max_missing: int | None = 1) -> pd.DataFrame:
    """Score the Oswestry Disability Index (ODI v2.1a) as a percentage.

    Method
    ------
    Each of the 10 sections (pain intensity, personal care, lifting, walking,
    sitting, standing, sleeping, sex life, social life, travelling) is scored
    0 (first statement) to 5 (last statement)::

        odi_pct = 100 * (sum of answered sections) / (5 * number answered)

    A missing or not-applicable section (typically sex life) leaves the
    numerator and takes 5 off the denominator. With all 10 answered this is
    2 x the raw sum. The score is kept unrounded; round only for display
    (the published sheet truncates 16/45 to 35.5, AWELL rounds it to 36).

    ``odi_band`` uses Fairbank & Pynsent's bands on the unrounded score:
    <= 20 minimal, <= 40 moderate, <= 60 severe disability, <= 80 crippled,
    else bed-bound or exaggerating symptoms. No ODI value falls strictly
    between 20 and 21 (nor 40/41, 60/61, 80/81), so integer band edges are
    never ambiguous.

    Sources disagree on how many sections may be missing: AWELL scores with
    at most 1 missing, the R package qhs prorates with any number, the
    published sheet only shows one missing. ``max_missing`` is that setting;
    the default 1 follows AWELL, ``None`` prorates with any number (qhs).
    A respondent with no section answered is never scored.

    This is the original ODI, not the Modified ODI (Fritz & Irrgang 2001,
    employment/homemaking instead of sex life) nor the 8-item AAOS/MODEMS
    form scored 1-6 (recode that first). A section with two boxes ticked
    must be resolved before scoring (many sources take the higher statement;
    no primary text was found for that rule).

    Parameters
    ----------
    items : DataFrame
        10 columns, sections 1-10 in order, codes 0-5, NA if not answered;
        the index is the respondent's line.
    max_missing : int or None
        Largest number of missing sections that is still prorated.

    Returns
    -------
    DataFrame with the same index: ``odi_pct`` (float, NA if unscorable),
    ``odi_band`` (ordered categorical), ``odi_answered`` (0-10).

    Raises
    ------
    ScoringError
        Not 10 columns, or a section outside 0-5, naming line and column.

    References
    ----------
    Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine
    2000;25:2940-53. Rules and test vectors: ``reference/instruments.md`` §1.
    Tested against the published sheet (16/50 = 32 %, 16/45 = 35.56 %) and
    AWELL's test cases (60 %, 100 %).

    Examples
    --------
    >>> odi(pd.DataFrame([[2] * 8 + [0, 0]], index=[2]))["odi_pct"].item()
    32.0
    """
    codes = item_frame(items, 10, "ODI", "sections 1-10 in order, codes 0-5")
    check_scale(codes, "ODI", low=0, high=5,
                advice="ODI sections are coded 0-5; recode an AAOS/MODEMS form scored 1-6 first.")
    if max_missing is not None and max_missing < 0:
        raise ValueError("max_missing must be >= 0 or None")
    answered = codes.notna().sum(axis=1)
    allowed = answered >= 1
    if max_missing is not None:
        allowed &= (10 - answered) <= max_missing
    pct = 100 * codes.sum(axis=1) / (5 * answered.where(answered > 0))
    pct = pct.where(allowed)
    return pd.DataFrame(
        {
            "odi_pct": pct.astype("float64"),
            "odi_band": odi_band(pct),
            "odi_answered": answered.astype("int64"),
        },
        index=codes.index,
    )


def odi_band(pct: pd.Series) -> pd.Series:
    """Fairbank & Pynsent band of an (unrounded) ODI percentage, as an ordered categorical."""
    values = np.asarray(pct, dtype="float64")
    code = np.select(
        [values <= 20, values <= 40, values <= 60, values <= 80, values <= 100],
        [0, 1, 2, 3, 4], default=-1,
    )
    code[np.isnan(values)] = -1
    dtype = pd.CategoricalDtype(list(ODI_BANDS), ordered=True)
    return pd.Series(pd.Categorical.from_codes(code, dtype=dtype), index=pct.index,
                     name="odi_band")

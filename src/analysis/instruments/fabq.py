"""Fear-Avoidance Beliefs Questionnaire (Waddell et al. 1993)."""

from __future__ import annotations

import pandas as pd

from analysis.instruments._items import check_scale, item_frame

PA_ITEMS: tuple[int, ...] = (2, 3, 4, 5)
WORK_ITEMS: tuple[int, ...] = (6, 7, 9, 10, 11, 12, 15)
# "Elevated" thresholds (score strictly above): (physical activity, work).
FABQ_THRESHOLDS: dict[str, tuple[int, int]] = {
    "george2008": (14, 29),
    "return_to_work": (15, 34),
}


def fabq(items: pd.DataFrame, thresholds: str = "george2008") -> pd.DataFrame:
    """Score the FABQ physical-activity and work subscales.

    Method
    ------
    16 items rated 0 (completely disagree) to 6 (completely agree).

    - ``fabq_pa`` = items 2 + 3 + 4 + 5 (0-24);
    - ``fabq_w`` = items 6 + 7 + 9 + 10 + 11 + 12 + 15 (0-42).

    Items 1, 8 (compensation claim), 13, 14 and 16 are not scored. No
    missing-item rule is published; a subscale is scored only when all of its
    items are answered.

    Sources disagree on the cut-offs, so they are a named setting and the
    flags ``fabq_pa_high`` / ``fabq_w_high`` mean "strictly above":
    ``"george2008"`` (default; PA > 14, W > 29, George et al. 2008, and the
    JOSPT 2012 guideline's W > 29 for return to work) or
    ``"return_to_work"`` (PA > 15, W > 34, widely used for a high risk of
    not returning to work).

    Parameters
    ----------
    items : DataFrame
        16 columns, items 1-16 in order, codes 0-6.

    Returns
    -------
    DataFrame with the same index: ``fabq_pa``, ``fabq_w`` (float, NA if a
    subscale item is missing), ``fabq_pa_high``, ``fabq_w_high`` (nullable
    boolean).

    References
    ----------
    Waddell G et al. Pain 1993;52:157-68. George SZ et al. JOSPT 2008;38:50-8.
    Delitto A et al. JOSPT 2012 (PMC4893951). ``reference/instruments.md`` §7a;
    tested on its three vectors (all 3 -> 12/21; 14/37; unscored items -> 0/0).

    Examples
    --------
    >>> fabq(pd.DataFrame([[3] * 16]))[["fabq_pa", "fabq_w"]].iloc[0].tolist()
    [12.0, 21.0]
    """
    if thresholds not in FABQ_THRESHOLDS:
        raise ValueError(f"thresholds must be one of {sorted(FABQ_THRESHOLDS)}, got {thresholds!r}")
    codes = item_frame(items, 16, "FABQ", "items 1-16 in order, codes 0-6")
    check_scale(codes, "FABQ", low=0, high=6, advice="FABQ items are rated 0-6.")
    pa = _subscale(codes, PA_ITEMS)
    work = _subscale(codes, WORK_ITEMS)
    pa_cut, w_cut = FABQ_THRESHOLDS[thresholds]
    return pd.DataFrame(
        {
            "fabq_pa": pa,
            "fabq_w": work,
            "fabq_pa_high": (pa > pa_cut).astype("boolean").where(pa.notna()),
            "fabq_w_high": (work > w_cut).astype("boolean").where(work.notna()),
        },
        index=codes.index,
    )


def _subscale(codes: pd.DataFrame, numbers: tuple[int, ...]) -> pd.Series:
    cols = [codes.columns[i - 1] for i in numbers]
    return codes[cols].sum(axis=1).where(codes[cols].notna().all(axis=1)).astype("float64")

"""Roland-Morris Disability Questionnaire, 24 items (Roland & Morris 1983)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.instruments._items import check_scale, item_frame

RmdqMissing = Literal["zero", "reject", "prorate"]
RMDQ_MISSING: tuple[str, ...] = ("zero", "reject", "prorate")


def rmdq(items: pd.DataFrame, missing: RmdqMissing = "zero") -> pd.DataFrame:
    """Score the Roland-Morris Disability Questionnaire (RMDQ-24).

    Method
    ------
    ``rmdq_score`` is the number of the 24 statements ticked (1 = ticked,
    0 = not), 0-24, higher = more disability. An item the respondent marks
    as not applying is scored 0 (Roland & Fairbank 2000).

    No standard method exists for unanswered items (Kent & Lauridsen), so
    ``missing`` names the policy:

    - ``"zero"`` (default): a blank counts as not ticked. On the original
      tick-box form a blank cannot be told apart from "no", so this is the
      form's own scoring.
    - ``"reject"``: no score if any item is blank (the reference's advice
      for Yes/No electronic forms, where a blank is a true missing).
    - ``"prorate"``: ``ticked x 24 / answered`` (not standard; Kent &
      Lauridsen studied it). Not an integer in general.

    A respondent with no item answered has no score under any policy.

    There are no official severity bands. Change thresholds (Ostelo 2008:
    5 points or 30 %) are in :func:`analysis.instruments.important_change`.

    Parameters
    ----------
    items : DataFrame
        24 columns, items 1-24 in order, codes 0/1 (or booleans), NA if blank.
    missing : {"zero", "reject", "prorate"}

    Returns
    -------
    DataFrame with the same index: ``rmdq_score`` (float, NA if unscorable)
    and ``rmdq_answered`` (0-24).

    References
    ----------
    Roland M, Morris R. Spine 1983;8:141-4. Roland M, Fairbank J. Spine
    2000;25:3115-24. ``reference/instruments.md`` §2 (vectors RMDQ-1..5,
    checked by hand).

    Examples
    --------
    >>> ticked = pd.DataFrame([[1] * 5 + [0] * 19])
    >>> rmdq(ticked)["rmdq_score"].item()
    5.0
    """
    if missing not in RMDQ_MISSING:
        raise ValueError(f"missing must be one of {RMDQ_MISSING}, got {missing!r}")
    codes = item_frame(items, 24, "RMDQ", "items 1-24 in order, 0 = not ticked, 1 = ticked")
    check_scale(codes, "RMDQ", low=0, high=1,
                advice="RMDQ items are 0 (not ticked) or 1 (ticked).")
    answered = codes.notna().sum(axis=1)
    # summed column by column: DataFrame.sum(axis=1) copies all 24 columns to skip the NAs
    ticked = pd.Series(np.zeros(len(codes)), index=codes.index)
    for column in codes.columns:
        ticked += codes[column].fillna(0.0).to_numpy()
    if missing == "zero":
        score = ticked.where(answered > 0)
    elif missing == "reject":
        score = ticked.where(answered == 24)
    else:
        score = ticked * 24 / answered.where(answered > 0)
    return pd.DataFrame(
        {"rmdq_score": score.astype("float64"), "rmdq_answered": answered.astype("int64")},
        index=codes.index,
    )

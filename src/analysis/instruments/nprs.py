"""Numeric Pain Rating Scale (NPRS, NRS-11): severity categories."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.instruments._items import check_scale, item_frame

NPRS_CATEGORIES: tuple[str, ...] = ("none", "mild", "moderate", "severe")
# Highest score of mild and of moderate in each scheme; 0 is "none" in all.
NPRS_SCHEMES: dict[str, tuple[int, int]] = {
    "serlin": (4, 6),      # Serlin 1995: 1-4 / 5-6 / 7-10
    "palos": (4, 6),       # Palos 2006, community adults: same cut-points as Serlin
    "clinical": (3, 6),    # common clinical 1-3 / 4-6 / 7-10 (Woo 2015, non-cancer)
    "boonstra": (5, 7),    # Boonstra 2016, chronic musculoskeletal pain: <=5 / 6-7 / >=8
}


def nprs_category(scores, scheme: str = "serlin") -> pd.DataFrame:
    """Mild / moderate / severe category of a 0-10 pain rating.

    Method
    ------
    0 is "none" in every scheme; the schemes differ at 4, 5 and 7:

    ============  ======  ========  ======  ===============================
    scheme        mild    moderate  severe  source
    ============  ======  ========  ======  ===============================
    ``serlin``    1-4     5-6       7-10    Serlin 1995 (cancer pain)
    ``palos``     1-4     5-6       7-10    Palos 2006 (community adults)
    ``clinical``  1-3     4-6       7-10    common clinical; Woo 2015
    ``boonstra``  1-5     6-7       8-10    Boonstra 2016 (chronic MSK)
    ============  ======  ========  ======  ===============================

    No scheme is standard. The default ``"serlin"`` is the one two
    independent studies (Serlin 1995, Palos 2006) derived the same way;
    name the scheme in any report. Boonstra's mild bin includes 0, which is
    recorded here as "none" like the other schemes.

    Parameters
    ----------
    scores : Series, single-column DataFrame or array
        Whole numbers 0-10, NA if missing.
    scheme : {"serlin", "palos", "clinical", "boonstra"}

    Returns
    -------
    DataFrame with the same index and one ordered categorical column
    ``nprs_category`` (none < mild < moderate < severe).

    References
    ----------
    Serlin RC et al. Pain 1995;61:277-84. Palos GR et al. J Pain 2006;7:49-56.
    Boonstra AM et al. Front Psychol 2016;7:1466. Woo A et al. Ann Palliat
    Med 2015. ``reference/instruments.md`` §6, vectors NP-1..6.

    Examples
    --------
    >>> nprs_category(pd.Series([0, 4, 7]), scheme="clinical")["nprs_category"].tolist()
    ['none', 'moderate', 'severe']
    """
    if scheme not in NPRS_SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(NPRS_SCHEMES)}, got {scheme!r}")
    if not isinstance(scores, pd.Series | pd.DataFrame):
        scores = pd.Series(np.asarray(scores), name="nprs")
    codes = item_frame(scores, 1, "NPRS", "one pain rating 0-10")
    check_scale(codes, "NPRS", low=0, high=10, advice="The NPRS is a whole number 0-10.")
    value = codes.iloc[:, 0].to_numpy()
    mild_max, moderate_max = NPRS_SCHEMES[scheme]
    code = np.select([value == 0, value <= mild_max, value <= moderate_max, value <= 10],
                     [0, 1, 2, 3], default=-1)
    code[np.isnan(value)] = -1
    dtype = pd.CategoricalDtype(list(NPRS_CATEGORIES), ordered=True)
    return pd.DataFrame({"nprs_category": pd.Categorical.from_codes(code, dtype=dtype)},
                        index=codes.index)

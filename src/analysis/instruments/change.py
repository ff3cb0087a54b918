"""Minimal important change of the disability and pain scales (Ostelo 2008)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

# Minimal important change, Ostelo et al. Spine 2008;33:90-4 (points, relative).
MIC: dict[str, tuple[float, float]] = {
    "odi": (10.0, 0.30),
    "rmdq": (5.0, 0.30),
    "nprs": (2.0, 0.30),
}


def important_change(baseline, follow_up, instrument: str,
                     rule: Literal["either", "both", "points", "percent"] = "either"
                     ) -> pd.DataFrame:
    """Whether an improvement reaches the minimal important change (MIC).

    Method
    ------
    ``change = baseline - follow_up`` (improvement is positive, as all these
    scales score worse as higher); ``pct_change = 100 * change / baseline``.
    Ostelo et al. (2008) set the MIC at 10 points for the ODI, 5 for the
    RMDQ, 2 for the NPRS, or 30 % improvement for each. ``rule`` says how
    the two criteria combine: ``"either"`` (default, Ostelo's "or"),
    ``"both"``, or one of them alone. Both flags are always reported.

    References
    ----------
    Ostelo RWJG et al. Spine 2008;33:90-4. Farrar JT et al. Pain
    2001;94:149-58. Tested on the reference's RMDQ-4 and NP-7..9 vectors.

    Examples
    --------
    >>> result = important_change([12], [7], "rmdq")
    >>> float(result.loc[0, "change"]), bool(result.loc[0, "important"])
    (5.0, True)
    """
    if instrument not in MIC:
        raise ValueError(f"instrument must be one of {sorted(MIC)}, got {instrument!r}")
    before = pd.Series(baseline, dtype="float64") if not isinstance(baseline, pd.Series) \
        else baseline.astype("float64")
    after = pd.Series(np.asarray(follow_up, dtype="float64"), index=before.index)
    points, relative = MIC[instrument]
    change = before - after
    pct = 100 * change / before.where(before > 0)
    # Compare with a small tolerance: 2/6 = 33.3 % must meet 30 % exactly as printed.
    meets_points = (change >= points - 1e-9).where(change.notna())
    meets_pct = (pct >= 100 * relative - 1e-9).where(pct.notna())
    combined = {
        "either": meets_points.fillna(False).astype(bool) | meets_pct.fillna(False).astype(bool),
        "both": meets_points.fillna(False).astype(bool) & meets_pct.fillna(False).astype(bool),
        "points": meets_points.fillna(False).astype(bool),
        "percent": meets_pct.fillna(False).astype(bool),
    }[rule]
    return pd.DataFrame(
        {
            "baseline": before,
            "follow_up": after,
            "change": change,
            "pct_change": pct,
            "meets_points": meets_points.astype("boolean"),
            "meets_percent": meets_pct.astype("boolean"),
            "important": combined.where(change.notna()).astype("boolean"),
        }
    )

"""International Physical Activity Questionnaire, short form (IPAQ Research Committee 2005)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.errors import ScoringError
from analysis.instruments._items import check_scale, item_frame

ACTIVITIES: tuple[str, ...] = ("vigorous", "moderate", "walking")
ITEMS: tuple[str, ...] = (
    "vigorous_days", "vigorous_minutes", "moderate_days", "moderate_minutes",
    "walking_days", "walking_minutes", "sitting_minutes",
)
HOURS_FIELDS: tuple[str, ...] = ("vigorous_hours", "moderate_hours", "walking_hours",
                                 "sitting_hours")
MET: dict[str, float] = {"walking": 3.3, "moderate": 4.0, "vigorous": 8.0}
SHORT: dict[str, str] = {"walking": "walk", "moderate": "moderate", "vigorous": "vigorous"}
# §7.1: these values in an hours field are minutes the respondent wrote in the wrong box.
HOURS_THAT_ARE_MINUTES = (15, 30, 45, 60, 90)
IPAQ_CATEGORIES: tuple[str, ...] = ("low", "moderate", "high")
IPAQ_STATUS: tuple[str, ...] = (
    "scored",
    "excluded: missing days or time (§7.1)",
    "excluded: don't know or refused (§7.1)",
    "excluded: days above 9 (§7.2)",
    "excluded: more than 960 minutes a day (§7.2)",
)


def ipaq_short(items: pd.DataFrame, moderate_b: Literal["combined", "single_type"] = "combined",
               details: bool = False) -> pd.DataFrame:
    """Score the IPAQ short form by the November 2005 protocol, in its order.

    Method
    ------
    For each activity (vigorous, moderate, walking) the answers are days per
    week and time per day.

    1. Cleaning (§7.1). Time = 60 x hours + minutes; a value of 15, 30, 45,
       60 or 90 in an *hours* field is taken as minutes. Days of 0 with no
       time means no activity (time 0). Days 8 (don't know) or 9 (refused),
       or a missing days or time, exclude the case.
    2. Outliers (§7.2). Days above 9 exclude the case; so does a sum of the
       daily walking + moderate + vigorous minutes above 960 (raw daily
       minutes, before truncation).
    3. Minimum bout (§7.3). A daily time under 10 minutes becomes 0 minutes
       and 0 days.
    4. Truncation (§7.4). Each daily time above 180 minutes becomes 180.
    5. MET-min/week (§5.2): walking 3.3, moderate 4.0, vigorous 8.0 x
       minutes x days; ``ipaq_total_met`` is their sum.
    6. Category (§5.3) on the cleaned variables, days summed over types:
       *high* = vigorous on >= 3 days and total >= 1500, or >= 7 days and
       total >= 3000; *moderate* = vigorous >= 3 days of >= 20 min, or
       criterion (b) below, or >= 5 days and total >= 600; else *low*.

    Sources disagree on moderate criterion (b), ">= 5 days of moderate
    and/or walking of >= 30 min a day". ``moderate_b="combined"`` (default;
    the WHO/Strain-Stevens pipeline and matt-humphrey/validate-ipaq) reads
    it as moderate >= 5 days of >= 30 min, or walking >= 5 days of >= 30 min,
    or moderate + walking days >= 5 with both times >= 30 min.
    ``moderate_b="single_type"`` requires one type alone on >= 5 days.

    Sitting time is not part of any score; it is returned, cleaned, as
    ``ipaq_sitting_min`` when given. Times reported per week cannot be told
    from the answers and must be divided by 7 before scoring.

    Parameters
    ----------
    items : DataFrame
        Columns named ``vigorous_days, vigorous_minutes, moderate_days,
        moderate_minutes, walking_days, walking_minutes`` and optionally
        ``sitting_minutes`` and the hours fields ``vigorous_hours,
        moderate_hours, walking_hours, sitting_hours``. Without these
        names, 6 or 7 columns are read in that item order.
    moderate_b : {"combined", "single_type"}
    details : bool
        Also return the cleaned days and minutes of each type and flags of
        the §7.3 recode and §7.4 truncation.

    Returns
    -------
    DataFrame with the same index: ``ipaq_walk_met, ipaq_moderate_met,
    ipaq_vigorous_met, ipaq_total_met`` (MET-min/week, NA if excluded),
    ``ipaq_category`` (ordered low < moderate < high), ``ipaq_status``
    ("scored" or why the case was excluded).

    References
    ----------
    IPAQ Research Committee. Guidelines for data processing and analysis of
    the IPAQ, short and long forms. November 2005. ``reference/
    instruments.md`` §5; vectors IP-1..11 (IP-1 and IP-2 are the protocol's
    own worked examples). Report medians and IQRs, not means (§4).

    Examples
    --------
    >>> week = pd.DataFrame({"vigorous_days": [5], "vigorous_minutes": [30],
    ...     "moderate_days": [5], "moderate_minutes": [30],
    ...     "walking_days": [5], "walking_minutes": [30]})
    >>> ipaq_short(week)["ipaq_total_met"].item()
    2295.0
    """
    if moderate_b not in ("combined", "single_type"):
        raise ValueError(f"moderate_b must be 'combined' or 'single_type', got {moderate_b!r}")
    answers = _named(items)
    days_cols = [f"{a}_days" for a in ACTIVITIES]
    time_cols = [c for c in answers.columns if not c.endswith("_days")]
    check_scale(answers, "IPAQ", low=0, high=np.inf, columns=days_cols,
                advice="Days are whole numbers 0-7 (8 don't know, 9 refused).")
    check_scale(answers, "IPAQ", low=0, high=np.inf, whole=False, columns=time_cols,
                advice="Times are minutes (or hours) per day, never negative.")

    days = {a: answers[f"{a}_days"] for a in ACTIVITIES}
    time = {a: _minutes(answers, a) for a in ACTIVITIES}
    # §7.1 and the WHO pipeline: no days means no time, whatever the time field says.
    time = {a: time[a].where(days[a] != 0, 0.0) for a in ACTIVITIES}

    missing = pd.concat([days[a].isna() | time[a].isna() for a in ACTIVITIES], axis=1).any(axis=1)
    dk = pd.concat([days[a].isin([8, 9]) for a in ACTIVITIES], axis=1).any(axis=1)
    over9 = pd.concat([days[a] > 9 for a in ACTIVITIES], axis=1).any(axis=1)
    over960 = sum(time[a].fillna(0) for a in ACTIVITIES) > 960
    # A don't-know or refused days answer usually comes with a skipped time: name it first.
    # positions in IPAQ_STATUS (0 = scored); text per respondent would cost GBs at 10^7 rows
    status = np.select([dk, missing, over9, over960], [2, 1, 3, 4],
                       default=IPAQ_STATUS.index("scored"))
    scored = pd.Series(status == IPAQ_STATUS.index("scored"), index=answers.index)

    out: dict[str, pd.Series] = {}
    flags: dict[str, pd.Series] = {}
    for a in ACTIVITIES:
        short_bout = scored & (days[a] > 0) & (time[a] < 10)
        d = days[a].where(~short_bout, 0.0).where(scored)
        t = time[a].where(~short_bout, 0.0).where(scored)
        truncated = scored & (t > 180)
        t = t.clip(upper=180)
        days[a], time[a] = d, t
        out[f"ipaq_{SHORT[a]}_met"] = MET[a] * t * d
        flags.update({f"ipaq_{a}_days": d, f"ipaq_{a}_min": t,
                      f"ipaq_{a}_short_bout": short_bout, f"ipaq_{a}_truncated": truncated})
    total = out["ipaq_walk_met"] + out["ipaq_moderate_met"] + out["ipaq_vigorous_met"]
    out["ipaq_total_met"] = total
    out["ipaq_category"] = _category(days, time, total, scored, moderate_b)
    out["ipaq_status"] = pd.Series(
        pd.Categorical.from_codes(status, categories=list(IPAQ_STATUS)), index=answers.index)
    if "sitting_minutes" in answers.columns or "sitting_hours" in answers.columns:
        out["ipaq_sitting_min"] = _minutes(answers, "sitting")
    if details:
        out.update(flags)
    return pd.DataFrame(out, index=answers.index)


def _named(items: pd.DataFrame) -> pd.DataFrame:
    """The answers as float codes under the protocol's item names."""
    if not isinstance(items, pd.DataFrame):
        raise ScoringError(f"IPAQ: items must be a DataFrame, got {type(items).__name__}.")
    required = list(ITEMS[:6])
    known = [c for c in (*ITEMS, *HOURS_FIELDS) if c in items.columns]
    if all(c in items.columns for c in required):
        return item_frame(items[known], len(known), "IPAQ", ", ".join(known))
    if items.shape[1] in (6, 7) and not known:
        codes = item_frame(items, (6, 7), "IPAQ", ", ".join(ITEMS))
        codes.columns = list(ITEMS[: codes.shape[1]])
        return codes
    absent = [c for c in required if c not in items.columns]
    raise ScoringError(
        f"IPAQ: the items need the columns {required} (sitting_minutes and *_hours optional); "
        f"missing {absent} among the {items.shape[1]} columns given {list(items.columns)[:20]}."
    )


def _minutes(answers: pd.DataFrame, activity: str) -> pd.Series:
    """Daily minutes from the minutes field and, if present, the hours field (§7.1)."""
    minutes = answers.get(f"{activity}_minutes")
    hours = answers.get(f"{activity}_hours")
    if hours is None:
        return minutes if minutes is not None else pd.Series(np.nan, index=answers.index)
    from_hours = hours.where(hours.isin(HOURS_THAT_ARE_MINUTES), hours * 60)
    if minutes is None:
        return from_hours
    both_missing = from_hours.isna() & minutes.isna()
    return (from_hours.fillna(0) + minutes.fillna(0)).where(~both_missing)


def _category(days: dict, time: dict, total: pd.Series, scored: pd.Series,
              moderate_b: str) -> pd.Series:
    """§5.3 categories on the cleaned, recoded and truncated answers."""
    v_d, m_d, w_d = days["vigorous"], days["moderate"], days["walking"]
    v_t, m_t, w_t = time["vigorous"], time["moderate"], time["walking"]
    all_days = v_d + m_d + w_d
    high = ((v_d >= 3) & (total >= 1500)) | ((all_days >= 7) & (total >= 3000))
    moderate_b_met = ((m_d >= 5) & (m_t >= 30)) | ((w_d >= 5) & (w_t >= 30))
    if moderate_b == "combined":
        moderate_b_met |= (m_d + w_d >= 5) & (m_t >= 30) & (w_t >= 30)
    moderate = ((v_d >= 3) & (v_t >= 20)) | moderate_b_met | ((all_days >= 5) & (total >= 600))
    code = np.select([high, moderate], [2, 1], default=0)
    code[~scored.to_numpy()] = -1
    dtype = pd.CategoricalDtype(list(IPAQ_CATEGORIES), ordered=True)
    return pd.Series(pd.Categorical.from_codes(code, dtype=dtype), index=total.index)

"""IPAQ short form: the reference's vectors IP-1..11, the Moderate (b) setting, exclusions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ScoringError
from analysis.instruments import ipaq_short

NA = np.nan


# ---------------------------------------------------------------- IPAQ §5
def ipaq_items(rows):
    cols = ["vigorous_days", "vigorous_minutes", "moderate_days", "moderate_minutes",
            "walking_days", "walking_minutes"]
    return pd.DataFrame(rows, columns=cols, dtype="float64",
                        index=pd.RangeIndex(2, 2 + len(rows), name="line"))


IPAQ_VECTORS = [
    # id, (V days, min, M days, min, W days, min), (V, M, W MET), total, category
    ("IP-1", (5, 30, 5, 30, 5, 30), (1200, 600, 495), 2295, "high"),
    ("IP-2", (0, 0, 1, 720, 6, 10), (0, 720, 198), 918, "moderate"),
    ("IP-4", (0, 0, 0, 0, 7, 5), (0, 0, 0), 0, "low"),
    ("IP-5", (0, 0, 3, 30, 2, 30), (0, 360, 198), 558, "moderate"),
    ("IP-6", (3, 20, 0, 0, 0, 0), (480, 0, 0), 480, "moderate"),
    ("IP-7", (3, 60, 0, 0, 4, 30), (1440, 0, 396), 1836, "high"),
    ("IP-8", (0, 0, 0, 0, 0, 0), (0, 0, 0), 0, "low"),
    ("IP-9", (0, 0, 0, 0, 7, 60), (0, 0, 1386), 1386, "moderate"),
    ("IP-10", (7, 9, 0, 0, 7, 60), (0, 0, 1386), 1386, "moderate"),
]


@pytest.mark.parametrize(("vector", "answers", "mets", "total", "category"), IPAQ_VECTORS)
def test_ipaq_vectors(vector, answers, mets, total, category):
    out = ipaq_short(ipaq_items([answers])).iloc[0]
    got = (out["ipaq_vigorous_met"], out["ipaq_moderate_met"], out["ipaq_walk_met"])
    assert got == pytest.approx(mets), vector
    assert out["ipaq_total_met"] == pytest.approx(total)
    assert out["ipaq_category"] == category
    assert out["ipaq_status"] == "scored"


def test_ipaq_3_excluded_on_untruncated_daily_sum():
    out = ipaq_short(ipaq_items([(2, 300, 1, 400, 1, 300)])).iloc[0]
    assert out["ipaq_status"] == "excluded: more than 960 minutes a day (§7.2)"
    assert pd.isna(out["ipaq_total_met"]) and pd.isna(out["ipaq_category"])


def test_ipaq_2_truncation_and_10_recode_are_reported():
    out = ipaq_short(ipaq_items([(0, 0, 1, 720, 6, 10), (7, 9, 0, 0, 7, 60)]), details=True)
    assert out["ipaq_moderate_truncated"].tolist() == [True, False]
    assert out["ipaq_moderate_min"].tolist() == [180.0, 0.0]
    assert out["ipaq_vigorous_short_bout"].tolist() == [False, True]
    assert out["ipaq_vigorous_days"].tolist() == [0.0, 0.0]


def test_ipaq_5_single_type_reading_gives_low():
    items = ipaq_items([(0, 0, 3, 30, 2, 30)])
    assert ipaq_short(items, moderate_b="single_type")["ipaq_category"].iloc[0] == "low"
    assert ipaq_short(items, moderate_b="combined")["ipaq_category"].iloc[0] == "moderate"


def test_ipaq_11_hours_field_holding_minutes():
    items = ipaq_items([(4, NA, 0, NA, 0, NA)]).assign(vigorous_hours=[30.0])
    out = ipaq_short(items).iloc[0]
    assert out["ipaq_vigorous_met"] == 960 and out["ipaq_total_met"] == 960
    assert out["ipaq_category"] == "moderate"
    # A genuine 2 hours is 120 minutes, plus the minutes field.
    two_hours = ipaq_items([(4, 15, 0, NA, 0, NA)]).assign(vigorous_hours=[2.0])
    assert ipaq_short(two_hours)["ipaq_vigorous_met"].iloc[0] == 8.0 * 135 * 4


def test_ipaq_exclusions_and_status():
    items = ipaq_items([
        (NA, NA, 0, 0, 0, 0),     # missing days
        (3, NA, 0, 0, 0, 0),      # days without time
        (8, NA, 0, 0, 0, 0),      # don't know
        (0, NA, 0, NA, 9, 30),    # refused
        (12, 30, 0, 0, 0, 0),     # days above 9
        (0, NA, 0, NA, 2, 20),    # days 0 with skipped time: scored
    ])
    out = ipaq_short(items)
    assert out["ipaq_status"].astype(str).tolist() == [
        "excluded: missing days or time (§7.1)",
        "excluded: missing days or time (§7.1)",
        "excluded: don't know or refused (§7.1)",
        "excluded: don't know or refused (§7.1)",
        "excluded: days above 9 (§7.2)",
        "scored",
    ]
    assert out["ipaq_total_met"].iloc[-1] == pytest.approx(3.3 * 20 * 2)
    assert out["ipaq_total_met"].iloc[:-1].isna().all()


def test_ipaq_sitting_and_positional_columns():
    rows = pd.DataFrame([[0, 0, 0, 0, 5, 30, 480]], index=[7])
    out = ipaq_short(rows)
    assert out.loc[7, "ipaq_walk_met"] == pytest.approx(495)
    assert out.loc[7, "ipaq_sitting_min"] == 480
    with pytest.raises(ScoringError, match=r"missing \['walking_minutes'\]"):
        ipaq_short(ipaq_items([(0, 0, 0, 0, 0, 0)]).drop(columns="walking_minutes")
                   .assign(other=1, more=2))
    with pytest.raises(ScoringError, match=r"'walking_minutes'.*line 2 = -5"):
        ipaq_short(ipaq_items([(0, 0, 0, 0, 1, -5)]))
    with pytest.raises(ScoringError, match=r"'moderate_days'.*line 2 = 2\.5"):
        ipaq_short(ipaq_items([(0, 0, 2.5, 30, 0, 0)]))


def test_ipaq_wrong_columns():
    with pytest.raises(ScoringError, match=r"IPAQ: the items need the columns"):
        ipaq_short(pd.DataFrame([[0] * 5]))

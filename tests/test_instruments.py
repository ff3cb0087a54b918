"""Every test vector of reference/instruments.md, each disagreement setting, missing-item edges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ScoringError
from analysis.instruments import (
    cronbach_alpha,
    fabq,
    important_change,
    nprs_category,
    odi,
    orebro_short,
    rmdq,
    start_back,
)

NA = np.nan


def frame(rows, start=2):
    """Item rows as a DataFrame indexed by file line (line 1 is the header)."""
    data = pd.DataFrame(rows, dtype="float64")
    data.index = pd.RangeIndex(start, start + len(data), name="line")
    data.columns = [f"item_{i}" for i in range(1, data.shape[1] + 1)]
    return data


# ---------------------------------------------------------------- ODI §1
@pytest.mark.parametrize(
    ("vector", "sections", "pct", "band"),
    [
        ("ODI-1", [2, 2, 2, 2, 2, 2, 2, 2, 0, 0], 32.0, "moderate disability"),
        ("ODI-2", [5, 5, 3, 3, 0, 0, 0, 0, 0, NA], 100 * 16 / 45, "moderate disability"),
        ("ODI-3", [1, 5, 4, 4, 3, 0, 1, 5, 3, 4], 60.0, "severe disability"),
        ("ODI-4a", [2, 2, 2, 2, 2, 0, 0, 0, 0, 0], 20.0, "minimal disability"),
        ("ODI-4b", [2, 2, 2, 2, 2, 1, 0, 0, 0, 0], 22.0, "moderate disability"),
        ("ODI-5", [5] * 10, 100.0, "bed-bound or exaggerating symptoms"),
        ("ODI-7a", [1] * 9 + [NA], 20.0, "minimal disability"),
        ("ODI-7b", [2] + [1] * 8 + [NA], 100 * 10 / 45, "moderate disability"),
    ],
)
def test_odi_vectors(vector, sections, pct, band):
    out = odi(frame([sections]))
    assert out["odi_pct"].iloc[0] == pytest.approx(pct, abs=1e-9), vector
    assert out["odi_band"].iloc[0] == band
    assert out["odi_answered"].iloc[0] == sum(not math.isnan(s) for s in sections)


def test_odi_2_is_unrounded_35_556():
    assert odi(frame([[5, 5, 3, 3, 0, 0, 0, 0, 0, NA]]))["odi_pct"].iloc[0] == pytest.approx(
        35.5556, abs=1e-4)


def test_odi_6_two_missing_diverges_between_policies():
    sections = [[5, 5, 5, 5, 0, 0, 0, 0, NA, NA]]
    assert pd.isna(odi(frame(sections))["odi_pct"].iloc[0])  # AWELL: at most 1 missing
    assert pd.isna(odi(frame(sections))["odi_band"].iloc[0])
    assert odi(frame(sections), max_missing=2)["odi_pct"].iloc[0] == 50.0
    assert odi(frame(sections), max_missing=None)["odi_pct"].iloc[0] == 50.0  # qhs


def test_odi_missing_edges():
    rows = [[NA] * 10, [3] + [NA] * 9, [4] * 9 + [NA]]
    default = odi(frame(rows))
    assert default["odi_pct"].isna().tolist() == [True, True, False]
    assert default["odi_answered"].tolist() == [0, 1, 9]
    assert default["odi_pct"].iloc[2] == pytest.approx(80.0)
    anything = odi(frame(rows), max_missing=None)
    # All missing is never scored; one section answered prorates to 3/5.
    assert anything["odi_pct"].iloc[0] != anything["odi_pct"].iloc[0]
    assert anything["odi_pct"].iloc[1] == pytest.approx(60.0)
    none_missing = odi(frame(rows), max_missing=0)
    assert none_missing["odi_pct"].isna().all()


def test_odi_band_edges_are_never_ambiguous():
    # The reference's exhaustive check: no ODI value lies strictly inside (20, 21) etc.
    for n in range(1, 11):
        for raw in range(0, 5 * n + 1):
            value = 100 * raw / (5 * n)
            for edge in (20, 40, 60, 80):
                assert not edge < value < edge + 1, (n, raw)


def test_odi_out_of_scale_names_line_and_item():
    rows = frame([[1] * 10, [1, 1, 1, 1, 7, 1, 1, 1, 1, 1]])
    with pytest.raises(ScoringError, match=r"item column 'item_5'.*line 3 = 7"):
        odi(rows)
    with pytest.raises(ScoringError, match=r"line 2 = 2\.5"):
        odi(frame([[2.5] + [1] * 9]))
    with pytest.raises(ScoringError, match=r"expected 10 item columns.*got 9"):
        odi(frame([[1] * 9]))
    with pytest.raises(ScoringError, match=r"'item_1'.*not numeric codes.*line 2 = 'No pain'"):
        odi(frame([[1] * 10]).astype(object).assign(item_1="No pain"))


# ---------------------------------------------------------------- RMDQ §2
def rmdq_row(ticked, blank=()):
    return [NA if i in blank else float(i in ticked) for i in range(1, 25)]


@pytest.mark.parametrize(
    ("vector", "ticked", "score"),
    [("RMDQ-1", [], 0), ("RMDQ-2", [2, 3, 6, 9, 13], 5), ("RMDQ-3", list(range(1, 25)), 24)],
)
def test_rmdq_vectors(vector, ticked, score):
    assert rmdq(frame([rmdq_row(ticked)]))["rmdq_score"].iloc[0] == score, vector


def test_rmdq_5_missing_policies():
    # 10 yes, 12 no, 2 blank.
    items = frame([rmdq_row(range(1, 11), blank=(23, 24))])
    assert rmdq(items)["rmdq_score"].iloc[0] == 10
    assert rmdq(items, missing="zero")["rmdq_answered"].iloc[0] == 22
    assert rmdq(items, missing="prorate")["rmdq_score"].iloc[0] == pytest.approx(10.909, abs=1e-3)
    assert pd.isna(rmdq(items, missing="reject")["rmdq_score"].iloc[0])


def test_rmdq_missing_edges_and_errors():
    items = frame([[NA] * 24, rmdq_row([1], blank=range(2, 25))])
    for policy in ("zero", "reject", "prorate"):
        assert pd.isna(rmdq(items, missing=policy)["rmdq_score"].iloc[0])
    assert rmdq(items, missing="prorate")["rmdq_score"].iloc[1] == 24.0
    with pytest.raises(ValueError, match="missing must be one of"):
        rmdq(items, missing="mean")
    with pytest.raises(ScoringError, match=r"'item_4'.*line 2 = 2"):
        rmdq(frame([[0, 0, 0, 2] + [0] * 20]))
    bools = frame([rmdq_row([1, 2])]).astype(bool)
    assert rmdq(bools)["rmdq_score"].iloc[0] == 2


def test_rmdq_4_change_meets_mic():
    change = important_change([12], [7], "rmdq").iloc[0]
    assert change["change"] == 5
    assert change["pct_change"] == pytest.approx(41.667, abs=1e-3)
    assert change["meets_points"] and change["meets_percent"] and change["important"]


# ---------------------------------------------------------------- STarT Back §3
# Item 9: 0 Not at all, 1 Slightly, 2 Moderately, 3 Very much, 4 Extremely.
@pytest.mark.parametrize(
    ("vector", "answers", "total", "sub", "risk"),
    [
        ("SB-1", [1, 0, 1, 0, 0, 1, 0, 0, 4], 4, 2, "medium"),
        ("SB-2", [1, 1, 1, 1, 1, 1, 1, 1, 2], 8, 4, "high"),
        ("SB-3", [1, 1, 0, 0, 0, 0, 0, 0, 4], 3, 1, "low"),
        ("SB-4", [0, 0, 0, 0, 1, 1, 0, 0, 3], 3, 3, "low"),
        ("SB-5", [0, 0, 0, 0, 1, 1, 1, 0, 4], 4, 4, "high"),
        ("SB-6", [1, 0, 0, 0, 1, 1, 1, 0, 1], 4, 3, "medium"),
        ("SB-7", [0, 0, 0, 0, 0, 0, 0, 0, 0], 0, 0, "low"),
    ],
)
def test_start_back_vectors(vector, answers, total, sub, risk):
    out = start_back(frame([answers])).iloc[0]
    assert (out["sbst_total"], out["sbst_psychosocial"], out["sbst_risk"]) == (total, sub, risk)


def test_start_back_jospt_subscale_differs():
    # Items 1, 4, 7, 8, 9 agreed: Keele's Q5-Q9 gives 3 (medium), JOSPT's numbering gives 5 (high).
    answers = frame([[1, 0, 0, 1, 0, 0, 1, 1, 4]])
    keele = start_back(answers).iloc[0]
    jospt = start_back(answers, subscale="jospt").iloc[0]
    assert (keele["sbst_psychosocial"], keele["sbst_risk"]) == (3, "medium")
    assert (jospt["sbst_psychosocial"], jospt["sbst_risk"]) == (5, "high")


def test_start_back_missing_items():
    rows = [[NA] * 9, [1, 1, 1, 1, 0, 0, 0, 0, NA], [0, 0, 0, 0, 0, 0, 0, 0, NA],
            [1, 1, 1, 1, 1, 1, 1, NA, 4]]
    complete = start_back(frame(rows))
    assert complete["sbst_total"].isna().all() and complete["sbst_risk"].isna().all()
    bounds = start_back(frame(rows), missing="bounds")["sbst_risk"].astype(object)
    # Row 2: filled with 0 -> total 4, sub 0 (medium); with 1 -> total 5, sub 1 (medium).
    # Row 4: filled with 0 -> 8, 4 (high); with 1 -> 9, 5 (high).
    assert bounds.isna().tolist() == [True, False, False, False]
    assert bounds.tolist()[1:] == ["medium", "low", "high"]


def test_start_back_out_of_scale():
    with pytest.raises(ScoringError, match=r"scale 0-1 .*'item_3' \(line 2 = 2\)"):
        start_back(frame([[1, 0, 2, 0, 0, 0, 0, 0, 1]]))
    with pytest.raises(ScoringError, match=r"scale 0-4 .*'item_9' \(line 3 = 5\)"):
        start_back(frame([[0] * 9, [0] * 8 + [5]]))


# ---------------------------------------------------------------- NPRS §6
@pytest.mark.parametrize(
    ("vector", "score", "serlin", "clinical", "boonstra"),
    [
        ("NP-1", 0, "none", "none", "none"),
        ("NP-2", 3, "mild", "mild", "mild"),
        ("NP-3", 4, "mild", "moderate", "mild"),
        ("NP-4", 5, "moderate", "moderate", "mild"),
        ("NP-5", 7, "severe", "severe", "moderate"),
        ("NP-6", 8, "severe", "severe", "severe"),
    ],
)
def test_nprs_vectors(vector, score, serlin, clinical, boonstra):
    scores = pd.Series([score], index=[5])
    assert nprs_category(scores)["nprs_category"].iloc[0] == serlin  # default: Serlin
    assert nprs_category(scores, scheme="serlin").loc[5, "nprs_category"] == serlin
    assert nprs_category(scores, scheme="palos").loc[5, "nprs_category"] == serlin
    assert nprs_category(scores, scheme="clinical").loc[5, "nprs_category"] == clinical
    assert nprs_category(scores, scheme="boonstra").loc[5, "nprs_category"] == boonstra


@pytest.mark.parametrize(
    ("vector", "before", "after", "points", "percent"),
    [("NP-7", 6, 4, True, True), ("NP-8", 8, 6, True, False), ("NP-9", 3, 2, False, True)],
)
def test_nprs_change_vectors(vector, before, after, points, percent):
    out = important_change([before], [after], "nprs").iloc[0]
    assert (bool(out["meets_points"]), bool(out["meets_percent"])) == (points, percent), vector
    assert bool(out["important"]) == (points or percent)
    both = important_change([before], [after], "nprs", rule="both").iloc[0]
    assert bool(both["important"]) == (points and percent)


def test_nprs_missing_and_out_of_scale():
    out = nprs_category(pd.Series([NA, 10.0], index=[2, 3]))
    assert pd.isna(out.loc[2, "nprs_category"]) and out.loc[3, "nprs_category"] == "severe"
    with pytest.raises(ScoringError, match=r"line 4 = 11"):
        nprs_category(pd.Series([1, 11], index=[3, 4], name="pain"))
    with pytest.raises(ValueError, match="scheme must be one of"):
        nprs_category(pd.Series([1]), scheme="who")


# ---------------------------------------------------------------- FABQ §7a
def test_fabq_vectors():
    out = fabq(frame([[3] * 16,
                      [6, 5, 4, 3, 2, 6, 6, 6, 5, 5, 5, 5, 0, 0, 5, 0],
                      [6, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 6, 6, 0, 6]]))
    assert out["fabq_pa"].tolist() == [12, 14, 0]
    assert out["fabq_w"].tolist() == [21, 37, 0]
    george = out.iloc[1]
    assert not george["fabq_pa_high"] and george["fabq_w_high"]  # > 14, > 29
    rtw = fabq(frame([[6, 5, 4, 3, 2, 6, 6, 6, 5, 5, 5, 5, 0, 0, 5, 0]]),
               thresholds="return_to_work").iloc[0]
    assert not rtw["fabq_pa_high"] and rtw["fabq_w_high"]  # > 15, > 34
    # W = 30: elevated by George (> 29), not by the return-to-work cut-off (> 34).
    thirty = frame([[0, 0, 0, 0, 0, 6, 6, 0, 6, 6, 6, 0, 0, 0, 0, 0]])
    assert fabq(thirty)["fabq_w_high"].iloc[0]
    assert not fabq(thirty, thresholds="return_to_work")["fabq_w_high"].iloc[0]


def test_fabq_missing_subscale_item():
    row = [3] * 16
    row[7] = NA   # item 8, unscored: both subscales still scored
    row[3] = NA   # item 4: physical activity unscorable
    out = fabq(frame([row])).iloc[0]
    assert pd.isna(out["fabq_pa"]) and pd.isna(out["fabq_pa_high"]) and out["fabq_w"] == 21
    with pytest.raises(ScoringError, match=r"'item_16'.*line 2 = 7"):
        fabq(frame([[0] * 15 + [7]]))


# ---------------------------------------------------------------- Örebro §7b
def test_orebro_vectors():
    out = orebro_short(frame([
        [1, 0, 4, 3, 1, 5, 0, 2, 6, 9],
        [1, 0, 0, 0, 0, 10, 0, 0, 10, 10],   # minimum
        [10, 10, 10, 10, 10, 0, 10, 10, 0, 0],  # maximum
        [7, 6, 5, 5, 6, 5, 6, 5, 5, 6],
    ]))
    assert out["orebro_total"].tolist() == [21, 1, 100, 54]
    assert out["orebro_at_risk"].tolist() == [False, False, True, True]


def test_orebro_missing_and_scale():
    out = orebro_short(frame([[1, 0, 4, 3, 1, 5, 0, 2, 6, NA]]))
    assert pd.isna(out["orebro_total"].iloc[0]) and pd.isna(out["orebro_at_risk"].iloc[0])
    with pytest.raises(ScoringError, match=r"scale 1-10 .*'item_1' \(line 2 = 0\)"):
        orebro_short(frame([[0, 0, 4, 3, 1, 5, 0, 2, 6, 9]]))


# ---------------------------------------------------------------- Cronbach's alpha
def test_alpha_matches_hand_calculation():
    # Item variances 5/3, 2/3, 5/3 (sum 4); totals 5, 8, 10, 13 have variance 34/3;
    # alpha = 3/2 * (1 - 4 / (34/3)) = 33/34.
    scale = pd.DataFrame({"a": [1, 2, 3, 4, NA], "b": [2, 3, 3, 4, 1], "c": [2, 3, 4, 5, 1]})
    out = cronbach_alpha(scale).iloc[0]
    assert out["alpha"] == pytest.approx(33 / 34, abs=1e-12)
    assert (out["n_items"], out["n_complete"]) == (3, 4)
    # Feldt interval with tabled F quantiles for (3, 6) df: F.975(3, 6) = 6.599,
    # F.025(3, 6) = 1 / F.975(6, 3) = 1 / 14.735.
    assert out["ci_low"] == pytest.approx(1 - (1 / 34) * 6.599, abs=1e-4)
    assert out["ci_high"] == pytest.approx(1 - (1 / 34) / 14.735, abs=1e-5)


def test_alpha_equals_kr20_on_binary_items():
    rng = np.random.default_rng(4)
    trait = rng.normal(size=200)
    items = pd.DataFrame((trait[:, None] + rng.normal(size=(200, 6)) > 0).astype(float))
    k, p = items.shape[1], items.mean()
    total = items.sum(axis=1)
    # KR-20 with population variances, a different formula from alpha's.
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / total.var(ddof=0))
    assert cronbach_alpha(items)["alpha"].iloc[0] == pytest.approx(kr20, abs=1e-12)


def test_alpha_degenerate_and_errors():
    constant = pd.DataFrame({"a": [1, 1, 1], "b": [2, 2, 2]})
    assert pd.isna(cronbach_alpha(constant)["alpha"].iloc[0])
    with pytest.raises(ScoringError, match="at least 2 item columns, got 1"):
        cronbach_alpha(pd.DataFrame({"a": [1, 2]}))


@pytest.mark.parametrize(
    ("scorer", "n_given", "message"),
    [
        (odi, 11, "ODI: expected 10 item columns"),
        (rmdq, 23, "RMDQ: expected 24 item columns"),
        (start_back, 8, "STarT Back: expected 9 item columns"),
        (fabq, 15, "FABQ: expected 16 item columns"),
        (orebro_short, 25, "Örebro short form: expected 10 item columns"),
        (nprs_category, 2, "NPRS: expected 1 item columns"),
    ],
)
def test_wrong_number_of_columns_is_a_scoring_error(scorer, n_given, message):
    with pytest.raises(ScoringError, match=message):
        scorer(frame([[0] * n_given]))

"""Comparisons of models (analysis.models.compare) and rescaled rows (analysis.models.rows).

``lr_drop`` is checked against statsmodels' ConditionalLogit fitted by hand on
the rows both models must share; the others against ``smf.logit`` on the
upstream public files, read without the package (tests/_public_data.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

from _public_data import needs_data, raw_backpack, raw_vertebral
from analysis import datasets
from analysis.codebook import Codebook
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import (
    conditional_logistic,
    firth_comparison,
    headline,
    logistic,
    lr_drop,
    per_increment,
    rank_deficient_fit,
    two_of_three,
)
from analysis.survey import Survey


# ---- lr_drop: the model without a variable is refitted on the full model's rows -----------
def _pairs_with_holes(n_pairs: int = 300, seed: int = 4) -> Survey:
    """1:1 matched pairs; 'lifting' missing for ~15% of the respondents."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_pairs):
        lifting = rng.random(2) < 0.4
        driver = rng.random(2) < 0.5
        odds = np.exp(0.7 * lifting + 0.4 * driver)
        case = rng.choice(2, p=odds / odds.sum())
        for i in range(2):
            rows.append((f"P{s}", int(i == case), int(lifting[i]), int(driver[i])))
    frame = pd.DataFrame(rows, columns=["pair", "case", "lifting", "driver"])
    cb = Codebook.from_dict({"name": "pairs", "variables": {
        "pair": {"type": "text", "label": "Matched pair", "role": "match"},
        "case": {"type": "binary", "label": "Spasm case", "role": "outcome"},
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"},
        "driver": {"type": "binary", "label": "Drives to work", "role": "exposure"}}})
    data = pd.DataFrame({
        "pair": pd.array(frame.pair.to_numpy(), dtype="string"),
        "case": pd.Categorical.from_codes(frame.case, ["No", "Yes"]),
        "lifting": pd.Categorical.from_codes(frame.lifting, ["No", "Yes"]),
        "driver": pd.Categorical.from_codes(frame.driver, ["No", "Yes"]),
    }, index=pd.RangeIndex(2, len(frame) + 2, name="line"))
    holes = rng.random(len(data)) < 0.15
    data.loc[holes, "lifting"] = np.nan
    return Survey(data, cb, Ledger(n_read=len(data)), source="pairs.csv")


def _llf(frame: pd.DataFrame, columns: list[str]) -> float:
    X = np.column_stack([(frame[c] == "Yes").to_numpy(float) for c in columns])
    y = (frame["case"] == "Yes").to_numpy(float)
    fit = ConditionalLogit(y, X, groups=frame["pair"].to_numpy()).fit(method="newton", disp=0)
    return float(fit.llf)


def test_lr_drop_refits_on_the_full_models_rows():
    survey = _pairs_with_holes()
    data = survey.data
    assert data["lifting"].isna().sum() > 50
    full = conditional_logistic(survey, "case", ["lifting", "driver"], adjust_for=[])
    ledger = survey.ledger
    lr = lr_drop(survey, full, "lifting").iloc[0]
    # By hand: the full model's rows are the pairs complete for both variables.
    complete = data.dropna(subset=["lifting", "driver"])
    both = complete.groupby("pair", observed=True)["case"].transform("size") == 2
    rows = complete[both.to_numpy()]
    assert lr["n"] == full.info["n"] == len(rows)
    assert lr["sets"] == full.info["n_sets"] == rows["pair"].nunique()
    # both fits converge to 1e-8 or better: 1e-6 relative
    expected = 2 * (_llf(rows, ["lifting", "driver"]) - _llf(rows, ["driver"]))
    assert lr["statistic"] == pytest.approx(expected, rel=1e-6)
    assert lr["df"] == 1
    assert lr["p_value"] == pytest.approx(stats.chi2.sf(expected, 1), rel=1e-6)
    # A refit on every row complete for 'driver' alone uses more pairs and gives a
    # different statistic: that is what this test guards against.
    all_pairs = data.dropna(subset=["driver"])
    wrong = 2 * (_llf(rows, ["lifting", "driver"]) - _llf(all_pairs, ["driver"]))
    assert len(all_pairs) > len(rows) and abs(wrong - expected) > 1.0
    # The refit records nothing more in the survey's ledger.
    pd.testing.assert_frame_equal(survey.ledger, ledger)


def test_lr_drop_errors():
    survey = _pairs_with_holes(60)
    full = conditional_logistic(survey, "case", ["lifting", "driver"], adjust_for=[])
    with pytest.raises(ModelError, match="'sex' is not in the model"):
        lr_drop(survey, full, "sex")
    alone = conditional_logistic(survey, "case", ["lifting"], adjust_for=[])
    with pytest.raises(ModelError, match="no other variable"):
        lr_drop(survey, alone, "lifting")


# ---- the vertebral column: ML against Firth, one model in three parametrisations -------------
@pytest.fixture(scope="module")
def vertebral():
    return datasets.load("vertebral-column"), raw_vertebral()


@needs_data
def test_vertebral_odds_ratios_and_firth_match_smf_logit_on_the_two_class_file(vertebral):
    survey, raw = vertebral
    result = logistic(survey, "abnormal", ["pelvic_tilt", "lumbar_lordosis_angle"],
                      adjust_for=[])
    direct = smf.logit("abnormal ~ pelvic_tilt + lumbar_lordosis_angle", raw).fit(disp=0)
    ci = direct.conf_int()
    # ML on both sides to 1e-8: 1e-6 relative
    for term in ("pelvic_tilt", "lumbar_lordosis_angle"):
        row = headline(result, term)
        assert row["estimate"] == pytest.approx(np.exp(direct.params[term]), rel=1e-6)
        assert row["ci_low"] == pytest.approx(np.exp(ci.loc[term, 0]), rel=1e-6)
        assert row["ci_high"] == pytest.approx(np.exp(ci.loc[term, 1]), rel=1e-6)
    assert round(headline(result, "pelvic_tilt")["estimate"], 3) == 1.072
    assert round(headline(result, "lumbar_lordosis_angle")["estimate"], 3) == 1.033
    # the model with the grade: no separation, and ML as smf.logit
    firth = firth_comparison(survey, "abnormal", ["pelvic_tilt", "lumbar_lordosis_angle",
                                                  "grade_of_spondylolisthesis"])
    with_grade = smf.logit("abnormal ~ pelvic_tilt + lumbar_lordosis_angle + "
                           "degree_spondylolisthesis", raw).fit(disp=0)
    assert firth["or_ml"].to_numpy() == pytest.approx(np.exp(with_grade.params.to_numpy()[1:]),
                                                      rel=1e-6)
    # 310 patients, 3 coefficients: Firth's O(1/n) correction moves no log OR by 0.01
    gap = np.abs(np.log(firth["or_firth"] / firth["or_ml"]))
    assert 0 < gap.max() < 0.01


@needs_data
def test_any_two_of_the_three_angles_are_one_model(vertebral):
    survey, _ = vertebral
    pairs = two_of_three(survey, "abnormal", "pelvic_incidence", ["pelvic_tilt", "sacral_slope"])
    assert pairs["model"].nunique() == 3 and len(pairs) == 6
    # the same column space: log-likelihoods equal to the convergence of the fits
    assert pairs["loglik"].max() - pairs["loglik"].min() < 1e-6
    b = np.log(pairs.set_index(["model", "term"])["estimate"])
    assert b["pelvic incidence + pelvic tilt", "pelvic_tilt"] == pytest.approx(
        b["pelvic tilt + sacral slope", "pelvic_tilt"]
        - b["pelvic tilt + sacral slope", "sacral_slope"], abs=1e-6)
    with pytest.raises(ModelError, match="give the two parts"):
        two_of_three(survey, "abnormal", "pelvic_incidence", ["pelvic_tilt"])
    fit_all = rank_deficient_fit(survey, "abnormal",
                                 ["pelvic_incidence", "pelvic_tilt", "sacral_slope"])
    assert fit_all["outcome"].iloc[0] in {"error", "warning"}
    assert fit_all["message"].iloc[0]


def test_rank_deficient_fit_reports_the_refusal():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=200), rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-a))).astype(int)
    cb = Codebook.from_dict({"name": "t", "variables": {
        "y": {"type": "binary", "label": "Outcome", "role": "outcome"},
        "a": {"type": "numeric", "label": "A"}, "b": {"type": "numeric", "label": "B"},
        "total": {"type": "numeric", "label": "Total"}}})
    data = pd.DataFrame({"y": pd.Categorical.from_codes(y, ["No", "Yes"]), "a": a, "b": b,
                         "total": a + b})
    survey = Survey(data, cb, Ledger(n_read=200), source="t.csv")
    out = rank_deficient_fit(survey, "y", ["total", "a", "b"])
    # an exact identity in floating point: refused, or fitted with a warning, never silent
    assert out["outcome"].iloc[0] in {"error", "warning"}
    assert out["message"].str.len().min() > 0


# ---- the backpack: odds ratio per 0.05 of the load ratio -------------------------------------
@needs_data
def test_backpack_odds_ratio_per_005_matches_smf_logit_on_the_raw_csv():
    survey = datasets.load("stat2data-backpack")
    result = logistic(survey, "back_problems", ["ratio"], adjust_for=["sex"])
    raw = raw_backpack()
    raw["per_005"] = raw["Ratio"] / 0.05
    steps = {}
    for which, formula in (("crude", "BackProblems ~ per_005"),
                           ("adjusted", "BackProblems ~ per_005 + C(Sex)")):
        direct = smf.logit(formula, raw).fit(disp=0)
        # the codebook says per: 0.05, so the table is per 0.05 already; per_increment(…, 1)
        # leaves it, and per 0.1 is its square
        tidy = result.tidy(which)
        row = per_increment(tidy, "ratio", 1).iloc[0]
        assert row["estimate"] == pytest.approx(np.exp(direct.params["per_005"]), rel=1e-6)
        assert row["ci_low"] == pytest.approx(np.exp(direct.conf_int().loc["per_005", 0]),
                                              rel=1e-6)
        assert row["p_value"] == pytest.approx(direct.pvalues["per_005"], rel=1e-5)
        assert (row["n"], row["events"]) == (100, 32)
        steps[which] = per_increment(tidy, "ratio", 2).iloc[0]
        assert steps[which]["estimate"] == pytest.approx(np.exp(2 * direct.params["per_005"]),
                                                         rel=1e-6)
        assert steps[which]["ci_high"] == pytest.approx(
            np.exp(2 * direct.conf_int().loc["per_005", 1]), rel=1e-6)
        assert steps[which]["p_value"] == row["p_value"]
    crude = per_increment(result.tidy("crude"), "ratio", 1).iloc[0]
    assert (round(crude["estimate"], 3), round(crude["ci_low"], 3),
            round(crude["ci_high"], 3)) == (1.705, 0.951, 3.054)
    with pytest.raises(ModelError, match="no single row for 'height'"):
        per_increment(result.tidy(), "height", 0.05)

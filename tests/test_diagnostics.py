"""Diagnostics checked against hand calculations and independent implementations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

from _models_data import make_survey
from _public_data import needs_data
from analysis import datasets
from analysis.codebook import Codebook
from analysis.diagnostics import (
    calibration,
    collinearity,
    discrimination,
    hosmer_lemeshow,
    overlap,
    separation,
    vif,
)
from analysis.errors import BackpainWarning
from analysis.ledger import Ledger
from analysis.models import logistic
from analysis.survey import Survey


def test_auc_equals_mann_whitney_and_brute_force_delong():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) * 0.5 + 0.3 * y, 2)  # rounding makes ties
    got = discrimination(y, p).iloc[0]
    u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
    m, n = (y == 1).sum(), (y == 0).sum()
    assert got["estimate"] == pytest.approx(u / (m * n), rel=1e-12)
    # DeLong by definition: psi(x, z) = 1 if x > z, 0.5 if tied
    events, nonevents = p[y == 1][:, None], p[y == 0][None, :]
    psi = (events > nonevents) + 0.5 * (events == nonevents)
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    assert got["se"] == pytest.approx(se, rel=1e-10)
    assert got["ci_low"] == pytest.approx(got["estimate"] - 1.959963984540054 * se, rel=1e-10)


def test_auc_of_pattern_fit_equals_row_fit():
    survey = make_survey(n=3000, seed=2)
    kw = dict(exposures=["posture", "lifting"], adjust_for=["sex"])
    rows = discrimination(logistic(survey, method="rows", **kw))
    pats = discrimination(logistic(survey, method="patterns", **kw))
    np.testing.assert_allclose(rows[["estimate", "se"]], pats[["estimate", "se"]], rtol=1e-8)


def test_hosmer_lemeshow_by_hand():
    # 10 people, 2 groups of 5 by predicted risk
    p = np.array([0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 0, 1, 0, 1, 1, 1])
    got = hosmer_lemeshow(y, p, groups=2).iloc[0]
    e1, o1, e2, o2 = 1.2, 1, 3.5, 4
    hand = (o1 - e1) ** 2 / (e1 * (1 - e1 / 5)) + (o2 - e2) ** 2 / (e2 * (1 - e2 / 5))
    assert got["statistic"] == pytest.approx(hand, rel=1e-12)  # 0.04167 + 0.2381
    assert got["df"] == 0 or got["p_value"] == pytest.approx(stats.chi2.sf(hand, got["df"]))


def test_calibration_in_sample_is_perfect():
    survey = make_survey(n=2000, seed=3)
    result = logistic(survey, exposures=["posture", "sport"], adjust_for=["age"])
    cal = calibration(result)
    table = cal.table.set_index("statistic")
    assert table.loc["intercept", "estimate"] == pytest.approx(0, abs=1e-8)
    assert table.loc["slope", "estimate"] == pytest.approx(1, abs=1e-6)
    assert cal.bins["n"].sum() == 2000 and len(cal.bins) == 10
    assert (cal.bins["ci_low"] < cal.bins["observed"]).all()
    # a miscalibrated model: predictions shrunk toward 0.5 give slope > 1
    y, p = result._fits["adjusted"].outcome_weights()[:2]
    shrunk = 1 / (1 + np.exp(-0.5 * np.log(p / (1 - p))))
    slope = calibration(y, shrunk).table.set_index("statistic").loc["slope", "estimate"]
    assert slope == pytest.approx(2.0, rel=1e-6)


def test_vif_matches_statsmodels():
    rng = np.random.default_rng(4)
    a = rng.normal(size=500)
    X = pd.DataFrame({"a": a, "b": a + rng.normal(size=500), "c": rng.normal(size=500)})
    got = vif(X).set_index("column")["vif"]
    exog = np.column_stack([np.ones(500), X.to_numpy()])
    for j, c in enumerate(X.columns, start=1):
        assert got[c] == pytest.approx(variance_inflation_factor(exog, j), rel=1e-9)


def test_gvif_of_a_factor_is_its_vif_when_alone_with_an_orthogonal_numeric():
    survey = make_survey(n=2000, seed=5)
    out = vif(logistic(survey, exposures=["sport"], adjust_for=["age"], method="rows"))
    sport = out[out["term"] == "sport"]
    assert sport["df"].iloc[0] == 3 and sport["gvif"].iloc[0] == pytest.approx(1, abs=0.02)


def test_separation_lp_and_cells_name_variable_and_level():
    survey = make_survey(n=400, seed=6)
    data = survey.data.copy()
    data.loc[data["sport"] == "Golf", "spasm"] = "Yes"
    from analysis.survey import Survey

    separated = Survey(data, survey.codebook, survey.accounts.copy(), source="test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackpainWarning)
        result = logistic(separated, exposures=["sport", "lifting"], adjust_for=[], firth=True)
    with pytest.warns(BackpainWarning, match=r"Main sport \('sport'\) level 'Golf'"):
        out = separation(result)
    out = out.set_index("column")
    assert out.loc["sport[Golf]", "direction"] == 1
    assert out.loc["sport[Golf]", "problem"] == "quasi-complete separation"
    assert out.loc["lifting[Yes]", "direction"] == 0


def test_exact_dependence_on_different_scales_is_a_rank_error_and_infinite_vif():
    """pelvic incidence = pelvic tilt + sacral slope: numpy's default rank tolerance misses it."""
    import pandas as pd
    import statsmodels.api as sm
    from statsmodels.stats.outliers_influence import variance_inflation_factor

    from analysis.codebook import Codebook
    from analysis.errors import ModelError
    from analysis.ledger import Ledger
    from analysis.models import logistic
    from analysis.models.fitting import design_rank
    from analysis.survey import Survey

    rng = np.random.default_rng(3)
    n = 300
    tilt = rng.normal(17, 10, n)
    slope = rng.normal(43, 13, n)
    incidence = tilt + slope + rng.normal(0, 1e-9, n)  # stored to limited precision
    lordosis = 0.6 * incidence + rng.normal(0, 10, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(tilt - 17) / 10))).astype(int)
    X = np.column_stack([np.ones(n), incidence, tilt, slope])
    assert np.linalg.matrix_rank(X) == 4  # the default rule calls it full rank
    assert design_rank(X) == 3

    data = pd.DataFrame({"incidence": incidence, "tilt": tilt, "slope": slope,
                         "lordosis": lordosis,
                         "abnormal": pd.Categorical.from_codes(y, ["No", "Yes"])},
                        index=pd.RangeIndex(1, n + 1, name="line"))
    cb = Codebook.from_dict({"variables": {
        **{c: {"type": "numeric", "label": c.title()} for c in
           ("incidence", "tilt", "slope", "lordosis")},
        "abnormal": {"type": "binary", "label": "Abnormal", "role": "outcome"}}})
    survey = Survey(data, cb, Ledger(n_read=n))
    with pytest.raises(ModelError, match="has 4 columns but rank 3"):
        logistic(survey, "abnormal", ["incidence", "tilt", "slope"], adjust_for=())

    table = vif(data[["incidence", "tilt", "slope", "lordosis"]]).set_index("column")
    assert np.isinf(table.loc[["incidence", "tilt", "slope"], "vif"]).all()
    # lordosis is not part of the dependence: its VIF is 1 / (1 - R^2) on the others
    others = sm.add_constant(data[["tilt", "slope"]])
    r2 = sm.OLS(data["lordosis"], others).fit().rsquared
    assert table.loc["lordosis", "vif"] == pytest.approx(1 / (1 - r2), rel=1e-6)
    independent = sm.add_constant(data[["tilt", "slope", "lordosis"]]).to_numpy()
    expected = [variance_inflation_factor(independent, i) for i in (1, 2, 3)]
    got = vif(data[["tilt", "slope", "lordosis"]])["vif"].to_numpy()
    assert got == pytest.approx(expected, rel=1e-9)


# ---- collinearity of exact identities and overlap of groups ------------------------------
def _numeric_survey(columns: dict[str, np.ndarray], by: np.ndarray | None = None) -> Survey:
    variables = {c: {"type": "numeric", "label": c.replace("_", " ").capitalize()}
                 for c in columns}
    data = pd.DataFrame(columns)
    if by is not None:
        variables["group"] = {"type": "categorical", "label": "Group",
                              "levels": {"A": "A", "B": "B", "C": "C"}}
        data["group"] = pd.Categorical(by, ["A", "B", "C"])
    cb = Codebook.from_dict({"name": "t", "variables": variables})
    return Survey(data, cb, Ledger(n_read=len(data)), source="t.csv")


def test_collinearity_of_an_exact_identity_and_of_independent_columns():
    rng = np.random.default_rng(3)
    a, b = rng.normal(40, 10, 300), rng.normal(20, 5, 300)
    # an identity that holds to the 1e-9 rounding of a file, as pelvic incidence does
    exact = _numeric_survey({"total": np.round(a + b, 9), "a": a, "b": b})
    note = collinearity(exact, "total", ["a", "b"]).set_index("quantity")["value"]
    assert 0 < note["largest |difference|"] <= 5e-10
    assert note["columns of the design"] == 4
    assert note["rank (at the precision of the data)"] == 3
    assert note["condition number (unit-length columns)"] > 1e6
    assert note["VIF of a"] > 1e6
    # no identity: full rank, and the VIFs are statsmodels'
    free = _numeric_survey({"total": rng.normal(60, 11, 300), "a": a, "b": b})
    note = collinearity(free, "total", ["a", "b"]).set_index("quantity")["value"]
    assert note["rank (at the precision of the data)"] == \
        note["rank (numpy default tolerance)"] == 4
    X = np.column_stack([np.ones(300), free.data[["total", "a", "b"]].to_numpy()])
    for j, name in enumerate(["total", "a", "b"], start=1):
        assert note[f"VIF of {name}"] == pytest.approx(variance_inflation_factor(X, j),
                                                       rel=1e-10)
    assert note["condition number (unit-length columns)"] == pytest.approx(
        np.linalg.cond(X / np.linalg.norm(X, axis=0)), rel=1e-10)


def test_overlap_counts_members_beyond_the_reference_range():
    values = np.array([1.0, 2, 3, 4, 2.5, 3.5, 5, 6, 0, 10, 3, np.nan])
    groups = np.array(["A", "A", "A", "A", "B", "B", "B", "B", "C", "C", "C", "C"])
    table = overlap(_numeric_survey({"x": values}, groups), "x", "group").set_index("group")
    assert table["n"].tolist() == [4, 4, 3]  # the missing value leaves
    assert table["beyond_reference"].tolist() == [0, 2, 2]  # A spans [1, 4]
    assert table.loc["B", "median"] == 4.25 and table.loc["A", "q1"] == 1.75


@needs_data
def test_vertebral_angles_identity_and_spondylolisthesis_overlap():
    survey = datasets.load("vertebral-column")
    data = survey.data
    note = collinearity(survey, "pelvic_incidence",
                        ["pelvic_tilt", "sacral_slope"]).set_index("quantity")["value"]
    residual = (data["pelvic_incidence"] - data["pelvic_tilt"] - data["sacral_slope"]).abs()
    assert note["largest |difference|"] == residual.max() < 1e-7
    assert note["rank (at the precision of the data)"] == 3
    X = np.column_stack([np.ones(len(data)), data[["pelvic_incidence", "pelvic_tilt",
                                                   "sacral_slope"]].to_numpy(float)])
    assert note["rank (numpy default tolerance)"] == np.linalg.matrix_rank(X) == 4
    assert note["condition number (unit-length columns)"] > 1e8
    assert np.isinf(note["VIF of pelvic tilt"])
    table = overlap(survey, "grade_of_spondylolisthesis", "diagnosis").set_index("group")
    grade = data["grade_of_spondylolisthesis"]
    normal_max = grade[data["diagnosis"] == "Normal"].max()
    spondy = grade[data["diagnosis"] == "Spondylolisthesis"]
    assert table.loc["Spondylolisthesis", "beyond_reference"] == (spondy > normal_max).sum() == 110
    assert table.loc["Normal", "beyond_reference"] == 0
    assert table["n"].tolist() == [100, 60, 150]

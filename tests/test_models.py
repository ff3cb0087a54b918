"""analysis.models.logistic against statsmodels, hand calculations and the ledger."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from _models_data import make_survey, numeric_frame
from analysis.errors import BackpainWarning, ModelError
from analysis.models import TABLE_COLUMNS, TIDY_COLUMNS, logistic


def smf_name(params: pd.Series, variable: str, level: str) -> str:
    """The statsmodels formula name of a treatment dummy, e.g. C(x, ...)[T.Fair]."""
    hits = [p for p in params.index if p.startswith(f"C({variable},") and p.endswith(f"[T.{level}]")
            and ":" not in p]
    assert len(hits) == 1, (variable, level, list(params.index))
    return hits[0]


@pytest.fixture(scope="module")
def survey():
    return make_survey(n=3000, seed=1, missing=True)


@pytest.mark.parametrize("method", ["rows", "patterns"])
def test_adjusted_matches_statsmodels_formula(survey, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackpainWarning)
        result = logistic(survey, method=method)
    assert result.info["method"] == method
    ref = smf.logit(result.info["formula"], numeric_frame(survey)).fit(disp=False)
    ci = ref.conf_int()
    for row in result.table.itertuples():
        if row.label.endswith("(reference)"):
            assert row.or_adjusted == 1 and np.isnan(row.ci_low_adjusted)
            continue
        name = smf_name(ref.params, row.variable, row.level)
        np.testing.assert_allclose(row.or_adjusted, np.exp(ref.params[name]), rtol=1e-6)
        np.testing.assert_allclose(row.ci_low_adjusted, np.exp(ci.loc[name, 0]), rtol=1e-6)
        np.testing.assert_allclose(row.ci_high_adjusted, np.exp(ci.loc[name, 1]), rtol=1e-6)
        np.testing.assert_allclose(row.p_adjusted, ref.pvalues[name], rtol=1e-6)
    tidy = result.tidy("adjusted").set_index("term")
    np.testing.assert_allclose(tidy.loc["age", "estimate"], np.exp(ref.params["age"]), rtol=1e-6)
    assert list(result.tidy("crude").columns) == TIDY_COLUMNS


def test_crude_matches_statsmodels_and_uses_same_rows(survey):
    result = logistic(survey, exposures=["sport"], adjust_for=["sex"])
    frame = numeric_frame(survey, ["sport", "sex"])
    ref = smf.logit(result.info["formulas_crude"]["sport"], frame).fit(disp=False)
    row = result.table.set_index("level").loc["Weightlifting"]
    name = smf_name(ref.params, "sport", "Weightlifting")
    np.testing.assert_allclose(row["or_crude"], np.exp(ref.params[name]), rtol=1e-6)
    np.testing.assert_allclose(row["p_crude"], ref.pvalues[name], rtol=1e-6)
    assert result.info["n"] == len(frame) == 2999


def test_crude_or_equals_2x2_hand_calculation():
    survey = make_survey(n=2000, seed=3)
    result = logistic(survey, exposures=["lifting"], adjust_for=[])
    d = survey.data
    yes, case = d["lifting"] == "Yes", d["spasm"] == "Yes"
    a, b = int((yes & case).sum()), int((yes & ~case).sum())
    c, dd = int((~yes & case).sum()), int((~yes & ~case).sum())
    odds_ratio = a * dd / (b * c)
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / dd)  # Woolf
    row = result.table.set_index("level").loc["Yes"]
    np.testing.assert_allclose(row["or_crude"], odds_ratio, rtol=1e-9)
    np.testing.assert_allclose(row["ci_low_crude"], odds_ratio * np.exp(-1.959963984540054 * se),
                               rtol=1e-9)
    np.testing.assert_allclose(row["ci_high_crude"], odds_ratio * np.exp(1.959963984540054 * se),
                               rtol=1e-9)
    assert (row["n"], row["events"]) == (a + b, a)
    assert row["label"] == "Heavy lifting at work: Yes vs No"


def test_pattern_fit_equals_row_fit_to_1e8(survey):
    kwargs = dict(exposures=["posture", "lifting", "sport"], adjust_for=["sex"])
    rows = logistic(survey, method="rows", **kwargs)._fits["adjusted"]
    pats = logistic(survey, method="patterns", **kwargs)._fits["adjusted"]
    assert pats.design.X.shape[0] == 48 and rows.design.X.shape[0] == 2997
    np.testing.assert_allclose(pats.params, rows.params, rtol=1e-8)
    np.testing.assert_allclose(pats.bse, rows.bse, rtol=1e-8)
    auto = logistic(survey, **kwargs)
    assert auto.info["method"] == "patterns" and auto.info["n_patterns"] == 48


def test_likelihood_ratio_tests_match_statsmodels_nested_fits(survey):
    result = logistic(survey, exposures=["posture", "sport"], adjust_for=["sex", "age"])
    frame = numeric_frame(survey)
    tests = result.tests.set_index(["variable", "test", "model"])
    crude = smf.logit(result.info["formulas_crude"]["sport"], frame).fit(disp=False)
    got = tests.loc[("sport", "likelihood ratio", "crude")]
    np.testing.assert_allclose(got["statistic"], crude.llr, rtol=1e-6)
    np.testing.assert_allclose(got["p_value"], crude.llr_pvalue, rtol=1e-6)
    full = smf.logit(result.info["formula"], frame).fit(disp=False)
    reduced_formula = re.sub(r" \+ C\(sport, [^)]*\)\)", "", result.info["formula"])
    reduced = smf.logit(reduced_formula, frame).fit(disp=False)
    got = tests.loc[("sport", "likelihood ratio", "adjusted")]
    np.testing.assert_allclose(got["statistic"], 2 * (full.llf - reduced.llf), rtol=1e-6)
    assert got["df"] == 3


def test_trend_test_scores_ordinal_levels(survey):
    result = logistic(survey, exposures=["posture"], adjust_for=["sex"])
    frame = numeric_frame(survey, ["posture", "sex"])
    frame["score"] = frame["posture"].map({"Good": 0, "Fair": 1, "Poor": 2})
    ref = smf.logit("spasm ~ score + C(sex, Treatment(reference='Male'))", frame).fit(disp=False)
    got = result.tests.set_index(["test", "model"]).loc[("trend", "adjusted")]
    np.testing.assert_allclose(got["estimate"], np.exp(ref.params["score"]), rtol=1e-6)
    np.testing.assert_allclose(got["p_value"], ref.pvalues["score"], rtol=1e-6)
    np.testing.assert_allclose(got["statistic"], ref.tvalues["score"] ** 2, rtol=1e-6)


def test_missing_rows_are_counted_in_info_and_ledger(survey):
    result = logistic(survey, exposures=["posture"], adjust_for=["age"])
    assert result.info["n_dropped"] == 5  # lines 5, 9, 14 (age), 9, 20 (posture), 30 (outcome)
    assert result.info["dropped_by_column"] == {"spasm": 1, "posture": 2, "age": 3}
    assert result.info["n"] == 2995
    ledger = survey.ledger
    mine = ledger[ledger["rule"] == "missing value in model variable"]
    assert set(mine["line"]) == {5, 9, 14, 20, 30}
    assert set(mine.loc[mine["column"] == "posture", "line"]) == {9, 20}
    assert (mine["action"] == "not in model").all()


def test_labels_reference_levels_and_numeric_units():
    survey = make_survey(n=1500, seed=4)
    result = logistic(survey, exposures=["posture", "sex", "age"], adjust_for=[],
                      reference={"posture": "Poor"})
    assert list(result.table.columns) == TABLE_COLUMNS
    labels = result.table["label"].tolist()
    assert "Self-rated posture: Poor (reference)" in labels
    assert "Self-rated posture: Good vs Poor" in labels
    assert "Sex: Female vs Male" in labels  # codebook reference is code 2 = Male
    assert "Age (per 1 year)" in labels
    age = result.table.set_index("variable").loc["age"]
    assert age["n"] == 1500


def test_spline_spans_the_natural_cubic_spline_space():
    survey = make_survey(n=2000, seed=5)
    result = logistic(survey, exposures=["age"], adjust_for=["sex"], splines={"age": 4},
                      method="rows")
    fit = result._fits["adjusted"]
    knots = fit.design.terms[0].knots
    frame = numeric_frame(survey)
    formula = (f"spasm ~ cr(age, knots=({knots[1]}, {knots[2]}), lower_bound={knots[0]}, "
               f"upper_bound={knots[3]}, constraints='center') + "
               "C(sex, Treatment(reference='Male'))")
    ref = smf.logit(formula, frame).fit(disp=False)
    np.testing.assert_allclose(fit.llf, ref.llf, rtol=1e-9)
    rows = result.table[result.table["variable"] == "age"]
    assert len(rows) == 5 and rows["label"].iloc[0].endswith("years (reference)")
    lr = result.tests.set_index(["variable", "model"]).loc[("age", "adjusted")]
    assert lr["df"] == 3


def test_interaction_matches_statsmodels(survey):
    result = logistic(survey, exposures=["lifting", "sex"], adjust_for=[],
                      interactions=[("lifting", "sex")])
    ref = smf.logit(result.info["formula"], numeric_frame(survey, ["lifting", "sex"])).fit(
        disp=False)
    row = result.table[result.table["variable"] == "lifting:sex"].iloc[0]
    name = next(p for p in ref.params.index if ":" in p)
    np.testing.assert_allclose(row["or_adjusted"], np.exp(ref.params[name]), rtol=1e-6)
    assert np.isnan(row["or_crude"])
    assert row["label"] == "Heavy lifting at work × Sex: Yes × Female (ratio of odds ratios)"


def test_bad_requests_raise_model_errors(survey):
    with pytest.raises(ModelError, match=r"column 'postur'.*Did you mean 'posture'"):
        logistic(survey, exposures=["postur"])
    with pytest.raises(ModelError, match="Reference level 'Awful' of 'posture'"):
        logistic(survey, exposures=["posture"], reference={"posture": "Awful"})
    with pytest.raises(ModelError, match="only a numeric model variable can be a spline"):
        logistic(survey, exposures=["posture"], splines=["posture"])
    with pytest.raises(ModelError, match="outcome 'sport' has 4 levels"):
        logistic(survey, outcome="sport", exposures=["posture"])


def test_separation_warns_and_firth_matches_independent_fit():
    survey = make_survey(n=400, seed=6)
    data = survey.data.copy()
    data.loc[data["sport"] == "Basketball", "spasm"] = "No"  # no events among basketballers
    from analysis.survey import Survey

    separated = Survey(data, survey.codebook, survey.accounts.copy(), source="test")
    with pytest.warns(BackpainWarning, match=r"Main sport \('sport'\) level 'Basketball'"):
        logistic(separated, exposures=["sport"], adjust_for=["sex"], method="rows")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackpainWarning)
        firth = logistic(separated, exposures=["sport"], adjust_for=["sex"], firth=True)
    fit = firth._fits["adjusted"]
    assert np.all(np.isfinite(fit.params))
    X = fit.design.X if fit.method == "rows" else None
    # independent Firth fit: Newton-Raphson on the Jeffreys-penalised likelihood (rows)
    from analysis.models.design import build_design

    rows_fit = logistic(separated, exposures=["sport"], adjust_for=["sex"], firth=True,
                        method="rows")._fits["adjusted"]
    X = rows_fit.design.X
    y = rows_fit.y
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-X @ beta))
        W = p * (1 - p)
        info = X.T @ (X * W[:, None])
        inv = np.linalg.inv(info)
        h = np.einsum("ij,jk,ik->i", X * W[:, None], inv, X)  # leverages
        score = X.T @ (y - p + h * (0.5 - p))
        step = inv @ score
        beta += step
        if np.abs(step).max() < 1e-12:
            break
    np.testing.assert_allclose(rows_fit.params, beta, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.params, beta, rtol=1e-6, atol=1e-8)  # patterns, weighted
    np.testing.assert_allclose(rows_fit.bse, np.sqrt(np.diag(np.linalg.inv(info))), rtol=1e-6)
    assert build_design is not None
    basket = firth.table.set_index("level").loc["Basketball"]
    assert 0 < basket["or_adjusted"] < 0.2 and basket["events"] == 0


def test_vertebral_column_through_public_api():
    from analysis import datasets
    survey = datasets.load("vertebral-column")
    result = logistic(survey, outcome="abnormal",
                      exposures=["pelvic_tilt", "lumbar_lordosis_angle"], adjust_for=[])
    frame = survey.data[["abnormal", "pelvic_tilt", "lumbar_lordosis_angle"]].dropna().copy()
    frame["abnormal"] = (frame["abnormal"] == "Yes").astype(float)
    ref = smf.logit("abnormal ~ pelvic_tilt + lumbar_lordosis_angle", frame).fit(disp=False)
    table = result.table.set_index("variable")
    for name in ["pelvic_tilt", "lumbar_lordosis_angle"]:
        np.testing.assert_allclose(table.loc[name, "or_adjusted"], np.exp(ref.params[name]),
                                   rtol=1e-6)
        np.testing.assert_allclose(table.loc[name, "p_adjusted"], ref.pvalues[name], rtol=1e-6)
    assert result.info["n"] == 310 and result.info["events"] == 210
    assert stats.chi2.sf(ref.llr, 2) < 0.05


def test_cli_fit_writes_the_table(tmp_path, capsys, monkeypatch):
    import analysis.cli.fit  # noqa: F401  (registers the command)
    monkeypatch.setenv("COLUMNS", "160")  # a terminal wide enough for whole labels
    from analysis.cli import main

    survey = make_survey(n=800, seed=9)
    raw = survey.data.copy()
    for c in ["posture", "lifting", "sport", "sex", "spasm"]:
        codes = list(survey.codebook[c].level_labels)
        raw[c] = [codes[i] for i in survey.data[c].cat.codes]
    data_path, cb_path = tmp_path / "s.csv", tmp_path / "cb.yml"
    raw.reset_index(drop=True).to_csv(data_path, index=False)
    survey.codebook.to_yaml(cb_path)
    out = tmp_path / "or.csv"
    status = main(["fit", str(data_path), "--codebook", str(cb_path), "--exposures",
                   "posture,lifting", "--adjust", "sex", "--out", str(out)])
    assert status == 0
    written = pd.read_csv(out)
    expected = logistic(survey, exposures=["posture", "lifting"], adjust_for=["sex"]).table
    np.testing.assert_allclose(written["or_adjusted"], expected["or_adjusted"], rtol=1e-9)
    printed = capsys.readouterr().out
    assert "Self-rated posture: Poor vs Good" in printed and "1 (ref)" in printed
    assert main(["fit", str(data_path), "--codebook", str(cb_path), "--exposures", "postur",
                 "--out", str(out)]) == 2
    assert "Did you mean 'posture'" in capsys.readouterr().err

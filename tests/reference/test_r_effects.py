"""Prevalence ratios and differences against R (fixture ``effects``).

``tests/reference/R/effects.R`` uses the stratified cluster sample of
``design.R`` (1,241 respondents, 1,216 complete cases, 5 strata, 14 PSUs,
unequal weights) and writes marginal standardisation out by hand: each
respondent's design row under each exposure level, ``plogis(X b)``, weighted
averages, the delta method (without a design: ``G vcov(glm) G'``; under the
design: the linearised values totalled by ``survey::svytotal``, t on
``degf``); and the direct models ``glm(poisson)`` + ``sandwich::vcovHC(type =
"HC0")``, ``svyglm(quasipoisson)``, ``glm(binomial(link = "log"))``.

Tolerance 1e-6 relative (the brief): both sides fit to ~1e-12, so the
differences seen are ~1e-9 and below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data
from scipy import stats

from analysis.load import load_survey
from analysis.models import logistic
from analysis.models.risk import log_binomial, modified_poisson
from analysis.models.standardise import prevalence_ratios, standardise

CODEBOOK = {
    "name": "reference_effects",
    "variables": {
        "stratum": {"type": "count", "label": "Sampling stratum", "role": "stratum"},
        "psu": {"type": "count", "label": "PSU within stratum", "role": "cluster"},
        "w": {"type": "numeric", "label": "Sampling weight", "role": "weight"},
        "posture": {"type": "categorical", "label": "Self-rated posture", "role": "exposure",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"}},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "levels": {0: "No", 1: "Yes"},
                  "role": "outcome"},
    },
}
R = fixture("effects")
TOL = 1e-6


@pytest.fixture(scope="module")
def survey():
    return load_survey(reference_data("design"), CODEBOOK)


def _same_p(ours, ref, df) -> None:
    """p-values compared as the |statistic| they come from: a tail p of 1e-8 turns a 1e-8
    difference of the standard errors into 2e-6 of the p-value."""
    dist = stats.t(df) if df else stats.norm
    np.testing.assert_allclose(dist.isf(np.asarray(ours, float) / 2),
                               dist.isf(np.asarray(ref, float) / 2), rtol=TOL)


def _check(result, variable: str, ref: dict, which: str) -> None:
    """PR, PD, intervals, p-values and standardised risks of one exposure against R."""
    pr = result.tidy(which, "pr")
    pd_ = result.tidy(which, "pd")
    keep = ~pr["label"].str.endswith("(reference)")
    keep &= pr["term"].str.startswith(variable)
    np.testing.assert_allclose(pr.loc[keep, "estimate"], ref["pr"], rtol=TOL)
    np.testing.assert_allclose(pr.loc[keep, "ci_low"], ref["pr_low"], rtol=TOL)
    np.testing.assert_allclose(pr.loc[keep, "ci_high"], ref["pr_high"], rtol=TOL)
    _same_p(pr.loc[keep, "p_value"], ref["pr_p"], ref.get("df"))
    np.testing.assert_allclose(pd_.loc[keep, "estimate"], ref["pd"], rtol=TOL)
    np.testing.assert_allclose(pd_.loc[keep, "ci_low"], ref["pd_low"], rtol=TOL)
    np.testing.assert_allclose(pd_.loc[keep, "ci_high"], ref["pd_high"], rtol=TOL)
    _same_p(pd_.loc[keep, "p_value"], ref["pd_p"], ref.get("df"))
    risks = result.risks[(result.risks["model"] == which)
                         & (result.risks["variable"] == variable)]
    np.testing.assert_allclose(risks["risk"], ref["risk"], rtol=TOL)
    np.testing.assert_allclose(risks["se"], ref["risk_se"], rtol=TOL)


def test_unweighted_crude_and_adjusted(survey):
    fitted = logistic(survey, "spasm", ["posture", "sex", "age"], [])
    assert fitted.info["n"] == R["n"] == 1216
    result = standardise(fitted)
    u = R["unweighted"]
    _check(result, "posture", u["crude_posture"], "crude")
    _check(result, "posture", u["adjusted_posture"], "adjusted")
    _check(result, "sex", u["adjusted_sex"], "adjusted")
    _check(result, "age", u["adjusted_age"], "adjusted")
    _check(result, "age", u["crude_age"], "crude")
    # The table has the odds-ratio table's shape with pr_ columns, unweighted counts.
    row = result.table.set_index("label").loc["Self-rated posture: Fair vs Good"]
    assert row["pr_adjusted"] == pytest.approx(u["adjusted_posture"]["pr"][0], rel=TOL)
    assert (row["n"], row["events"]) == (436, 161)
    assert result.difference.columns[3] == "pd_crude"


def test_crude_pr_is_the_textbook_risk_ratio(survey):
    result = prevalence_ratios(survey, "spasm", ["posture"], ["age"])
    row = result.tidy("crude").set_index("term").loc["posture[Fair]"]
    hand = R["hand"]
    assert row["estimate"] == pytest.approx(hand["pr"], rel=1e-12)
    se = np.log(row["ci_high"] / row["estimate"]) / 1.959963984540054
    assert se == pytest.approx(hand["se_log"], rel=1e-8)


def test_standardised_over_an_interaction(survey):
    fitted = logistic(survey, "spasm", ["posture"], ["sex", "age"],
                      interactions=[("posture", "sex")])
    _check(standardise(fitted), "posture", R["unweighted"]["interaction_posture"], "adjusted")


def test_design_based(survey):
    fitted = logistic(survey, "spasm", ["posture", "age"], ["sex"], design=True)
    result = standardise(fitted, survey)
    d = R["design"]
    assert d["adjusted_posture"]["coef_vcov_max_rel_diff"] < 1e-8  # R's own linearisation
    assert d["adjusted_posture"]["df"] == 5 and d["crude_posture"]["df"] == 7  # df.residual
    _check(result, "posture", d["crude_posture"], "crude")
    _check(result, "posture", d["adjusted_posture"], "adjusted")
    _check(result, "age", d["adjusted_age"], "adjusted")
    assert "Taylor" in result.info["ci"]
    # svypredmeans drops the covariance of the two variance parts: the same means,
    # different standard errors (ours are the full linearisation).
    pm = R["svypredmeans"]
    risks = result.risks[(result.risks.model == "adjusted") & (result.risks.variable == "posture")]
    np.testing.assert_allclose(risks["risk"], pm["estimate"], rtol=TOL)
    assert not np.allclose(risks["se"], pm["se"], rtol=1e-3)


def test_design_needs_the_survey(survey):
    from analysis.errors import ModelError

    fitted = logistic(survey, "spasm", ["posture"], ["age"], design=True)
    with pytest.raises(ModelError, match="needs the survey"):
        standardise(fitted)


def _coefs(result, which: str) -> pd.DataFrame:
    return result.coefficients(which)


def test_modified_poisson_matches_glm_sandwich(survey):
    result = modified_poisson(survey, "spasm", ["posture"], ["age", "sex"])
    for which, key in (("adjusted", "modified_poisson_adjusted"),
                       ("crude: posture", "modified_poisson_crude")):
        ours, ref = _coefs(result, which), R["direct"][key]
        np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=TOL)
        np.testing.assert_allclose(ours["se"], ref["se"], rtol=TOL)
    row = result.table.set_index("level").loc["Poor"]
    assert row["pr_adjusted"] == pytest.approx(np.exp(R["direct"][
        "modified_poisson_adjusted"]["estimate"][2]), rel=TOL)
    assert result.info["cov_type"] == "HC0"


def test_design_modified_poisson_matches_svyglm(survey):
    result = modified_poisson(survey, "spasm", ["posture"], ["age", "sex"], design=True)
    ours, ref = _coefs(result, "adjusted"), R["direct"]["design_poisson_adjusted"]
    np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=TOL)
    np.testing.assert_allclose(ours["se"], ref["se"], rtol=TOL)
    np.testing.assert_allclose(ours["p_value"], ref["p_value"], rtol=TOL)
    np.testing.assert_allclose(ours["ci_low"], ref["ci_low"], rtol=TOL)
    assert result.fit_statistics.set_index("model").loc["adjusted", "df_resid"] == \
        ref["df_residual"]


def test_log_binomial_matches_glm(survey):
    result = log_binomial(survey, "spasm", ["posture"], ["age", "sex"])
    assert not result.info["fallback"]
    for which, key in (("adjusted", "log_binomial_adjusted"),
                       ("crude: posture", "log_binomial_crude")):
        ours, ref = _coefs(result, which), R["direct"][key]
        np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=TOL)
        np.testing.assert_allclose(ours["se"], ref["se"], rtol=TOL)
    llf = result.fit_statistics.set_index("model").loc["adjusted", "llf"]
    assert llf == pytest.approx(R["direct"]["log_binomial_adjusted"]["loglik"], rel=1e-9)

"""Poisson and negative binomial models against R (glm, sandwich, MASS::glm.nb).

Fixture: tests/reference/fixtures/counts.json, written by tests/reference/R/counts.R
from its simulated data tests/reference/data/counts.csv (1,500 rows, 40 clinics).

Tolerances:
* ML estimates, model-based and sandwich SEs: 1e-6 relative. Both sides iterate to
  ~1e-12 (R: glm epsilon 1e-13, glm.nb alternation to 1e-13; ours: GLM tol 1e-12,
  alternation to 1e-10 in the log-likelihood, which leaves ~1e-8 in the estimates).
* log-likelihood, deviance, AIC: 1e-8 relative (the log-likelihood is flat at the
  maximum, so its error is the square of the estimates').
* theta, SE(theta): 1e-5 relative (theta.ml stops when its Newton step is below
  eps^0.25 = 1.2e-4; the step after that is ~1e-8, so R's theta is good to ~1e-7).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data
from scipy import stats

from analysis.models import counts
from analysis.survey import Survey
from analysis.validate import validate_survey

CODEBOOK = {"name": "counts_reference", "variables": {
    "id": {"type": "id", "label": "Respondent"},
    "clinic": {"type": "count", "label": "Clinic", "role": "cluster"},
    "posture": {"type": "ordinal", "label": "Self-rated posture",
                "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure"},
    "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
    "months": {"type": "numeric", "label": "Months followed"},
    "episodes": {"type": "count", "label": "Spasm episodes", "role": "outcome"},
    "episodes_low": {"type": "count", "label": "Spasm episodes (nearly Poisson)"},
}}
# R's coefficient names -> ours.
TERMS = {"(Intercept)": "Intercept", "postureFair": "posture[Fair]",
         "posturePoor": "posture[Poor]", "age": "age"}
REL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict:
    return fixture("counts")


def survey() -> Survey:
    return validate_survey(reference_data("counts"), CODEBOOK)


def fit(outcome="episodes", **kwargs):
    return counts(survey(), outcome, ["posture"], ["age"], **kwargs)


def _coefs(result, model="adjusted") -> pd.DataFrame:
    return result.coefficients(model).set_index("term")


def _check_coefficients(result, expected: dict, se_key: str = "se", rel: float = REL,
                        model: str = "adjusted") -> None:
    ours = _coefs(result, model)
    for term, b, se in zip(expected["term"], expected["estimate"], expected[se_key],
                           strict=True):
        assert ours.loc[TERMS[term], "estimate"] == pytest.approx(b, rel=rel), term
        assert ours.loc[TERMS[term], "se"] == pytest.approx(se, rel=rel), term


def _check_statistics(result, expected: dict, model: str = "adjusted") -> None:
    row = result.fit_statistics.set_index("model").loc[model]
    assert row["n"] == expected["n"]
    assert row["llf"] == pytest.approx(expected["loglik"], rel=1e-8)
    assert row["deviance"] == pytest.approx(expected["deviance"], rel=1e-8)
    assert row["aic"] == pytest.approx(expected["aic"], rel=1e-8)
    assert row["bic"] == pytest.approx(expected["bic"], rel=1e-8)


@pytest.mark.parametrize("offset", [False, True])
def test_poisson_matches_glm(ref, offset):
    expected = ref["poisson_offset" if offset else "poisson"]
    result = fit(exposure_time="months" if offset else None)
    _check_coefficients(result, expected)
    _check_statistics(result, expected)
    row = result.fit_statistics.set_index("model").loc["adjusted"]
    assert row["family"] == "poisson" and row["parameters"] == 4 and row["converged"]
    used = ["episodes", "posture", "age"] + (["months"] if offset else [])
    assert row["events"] == survey().data.dropna(subset=used)["episodes"].sum()
    assert row["n"] == ref["n_complete" if offset else "n_complete_plain"]


def test_poisson_crude_model_matches_glm(ref):
    result = fit(exposure_time="months")
    _check_coefficients(result, ref["poisson_offset_crude"], model="crude: posture")
    _check_statistics(result, ref["poisson_offset_crude"], model="crude: posture")


@pytest.mark.parametrize("cov_type, se_key", [("robust", "se_HC0"), ("HC1", "se_HC1"),
                                              ("cluster", "se_cluster")])
@pytest.mark.parametrize("offset", [False, True])
def test_poisson_sandwich_matches_vcovhc_and_vcovcl(ref, cov_type, se_key, offset):
    # cluster: our sandwich is vcovCL(type = "HC1", cadjust = TRUE), clusters from the
    # codebook's cluster role (clinic).
    expected = ref["poisson_offset" if offset else "poisson"]
    result = fit(exposure_time="months" if offset else None, cov_type=cov_type)
    _check_coefficients(result, expected, se_key)
    assert result.fit_statistics["cov_type"].iloc[0] == ("HC0" if cov_type == "robust"
                                                         else cov_type)


@pytest.mark.parametrize("offset", [False, True])
def test_negative_binomial_matches_glm_nb(ref, offset):
    expected = ref["negbin_offset" if offset else "negbin"]
    result = fit(family="negbin", exposure_time="months" if offset else None)
    _check_coefficients(result, expected)
    _check_statistics(result, expected)
    row = result.fit_statistics.set_index("model").loc["adjusted"]
    # k = 4 coefficients + the dispersion, as R's logLik df.
    assert row["parameters"] == expected["df_logLik"] == 5
    assert row["family"] == "negative binomial"
    assert result.info["theta"] == pytest.approx(expected["theta"], rel=1e-5)
    assert result.info["se_theta"] == pytest.approx(expected["se_theta"], rel=1e-5)
    assert result.info["alpha"] == pytest.approx(expected["alpha"], rel=1e-5)
    assert result.info["se_alpha"] == pytest.approx(expected["se_alpha"], rel=1e-5)
    lr = result.tests.set_index("test").loc[
        "likelihood ratio, alpha = 0 (boundary: 0.5 chi2(1))"]
    assert lr["statistic"] == pytest.approx(expected["lr_alpha"], rel=1e-7)
    # The p-value is ~1e-300 or below: compare on the log scale where it is representable.
    if expected["lr_alpha_p"] > 0:
        assert lr["p_value"] == pytest.approx(expected["lr_alpha_p"], rel=1e-5)
    assert lr["p_value"] < 1e-100
    assert not [n for n in result.notices if n.kind == "non-convergence"]


def test_negative_binomial_sandwich_matches_vcovhc(ref):
    # sandwich::vcovHC on a glm.nb fit: GLM scores with theta held fixed.
    result = fit(family="negbin", exposure_time="months", cov_type="robust")
    _check_coefficients(result, ref["negbin_offset"], "se_HC0")


def test_negative_binomial_offset_on_underdispersed_data_is_not_nan(ref):
    # Issue 14, item 2: statsmodels' Newton fit returned NaN here. The ML estimate of
    # alpha is 0; R's glm.nb runs theta to ~1e14 and warns (its coefficients and SEs are
    # then Poisson's, its logLik and deviance are lost to cancellation), so the
    # log-likelihood, deviance and AIC are compared with the Poisson fit's (AIC plus 2 for
    # alpha).
    expected, poisson = ref["negbin_low"], ref["poisson_low"]
    assert "iteration limit reached" in expected["r_warnings"]
    result = fit("episodes_low", family="negbin", exposure_time="months")
    ours = _coefs(result)
    assert np.isfinite(ours[["estimate", "se"]].to_numpy()).all()
    _check_coefficients(result, expected)
    row = result.fit_statistics.set_index("model").loc["adjusted"]
    assert row["llf"] == pytest.approx(poisson["loglik"], rel=1e-8)
    assert row["deviance"] == pytest.approx(poisson["deviance"], rel=1e-8)
    assert row["aic"] == pytest.approx(poisson["aic"] + 2, rel=1e-8)
    assert result.info["alpha"] == 0.0 and result.info["theta"] == np.inf
    lr = result.tests.set_index("test").loc[
        "likelihood ratio, alpha = 0 (boundary: 0.5 chi2(1))"]
    assert lr["statistic"] == 0.0 and lr["p_value"] == expected["lr_alpha_p"] == 0.5
    # Only the adjusted model is on the boundary here (the crude one is overdispersed).
    assert [n.model for n in result.notices if n.kind == "method"] == ["adjusted"]
    assert "reduces to Poisson" in result.summary()


def test_cameron_trivedi_matches_lm(ref):
    expected = ref["cameron_trivedi"]
    row = fit(exposure_time="months").tests.iloc[0]
    assert row["estimate"] == pytest.approx(expected["alpha"], rel=1e-7)
    assert row["statistic"] == pytest.approx(expected["t"], rel=1e-7)
    assert row["df"] == expected["df"]
    assert row["p_value"] == pytest.approx(stats.t.sf(expected["t"], expected["df"]),
                                           rel=1e-6)


def test_rows_left_out_are_a_notice(ref):
    result = fit(exposure_time="months")
    assert result.info["n"] == ref["n_complete"] == result.fit_statistics["n"].iloc[0]
    dropped = [n for n in result.notices if n.kind == "dropped rows"]
    assert len(dropped) == 1
    assert dropped[0].message.startswith(f"{ref['n_rows'] - ref['n_complete']} of "
                                         f"{ref['n_rows']} rows left out")
    assert "months 8" in dropped[0].message and "posture 20" in dropped[0].message

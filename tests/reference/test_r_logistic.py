"""Ordinary (maximum-likelihood) logistic models against R: ``glm(binomial)``, sandwich, pROC.

The fixture ``logistic`` (``tests/reference/R/logistic.R``) simulates 1,500
respondents in 40 clinics with missing values in the outcome, the exposure
(a 4-level ordinal factor) and both confounders (a 2-level factor and a whole
number of hours), and records R's crude, adjusted and interaction models, LR
tests, sandwich (HC0, HC1) and cluster-robust covariances with the Wald tests
they give, tests for trend, the AUC with DeLong's interval and the
Hosmer-Lemeshow test.

Tolerances (relative unless said):
* estimates 1e-8: R's glm runs to a deviance change of 1e-14 and ours to a
  Newton step below 1e-8 (quadratic convergence, so ~1e-16) or GLM tol 1e-12;
* standard errors 1e-7: our row fit's covariance is the inverse information
  of the last Newton iteration, one (tiny) step before the estimate;
* log-likelihood, deviance, AIC, BIC 1e-10: sums of 1,363 terms at estimates
  equal to ~1e-10;
* test statistics, p-values, AUC and Hosmer-Lemeshow 1e-6: functions of the
  above, p-values of small statistics amplify the differences a little.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data
from scipy import stats as scipy_stats

from analysis.diagnostics import discrimination, hosmer_lemeshow
from analysis.errors import BackpainWarning
from analysis.load import load_survey
from analysis.models import logistic
from analysis.style import significant

CODEBOOK = {
    "name": "reference_logistic",
    "variables": {
        "id": {"type": "id", "label": "Respondent", "role": "id"},
        "clinic": {"type": "numeric", "label": "Clinic", "role": "cluster"},
        "posture": {"type": "ordinal", "label": "Self-rated posture", "role": "exposure",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor", 4: "Very poor"}},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "role": "confounder"},
        "sitting": {"type": "numeric", "label": "Sitting", "unit": "hours",
                    "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "levels": {0: "No", 1: "Yes"},
                  "role": "outcome"},
    },
}
R = fixture("logistic")
METHODS = ["rows", "patterns"]
# Clinics among the complete cases: the cluster sandwich's G (t and F on G - 1 df).
CLUSTERS = int(reference_data("logistic").dropna()["clinic"].nunique())


def survey(frame: pd.DataFrame | None = None):
    return load_survey(reference_data("logistic") if frame is None else frame, CODEBOOK)


@pytest.fixture(scope="module")
def fits():
    s = survey()
    return {m: logistic(s, method=m) for m in METHODS}


def our_term(name: str) -> str:
    """R's coefficient name (``postureVery poor:sexMale``) as ours (``posture[Very poor]:sex[Male]``)."""
    if name == "(Intercept)":
        return "Intercept"
    parts = []
    for part in name.split(":"):
        m = re.fullmatch(r"(posture|sex)(.+)", part)
        parts.append(f"{m[1]}[{m[2]}]" if m else part)
    return ":".join(parts)


def r_coefficients(model: str) -> pd.DataFrame:
    frame = pd.DataFrame({k: np.atleast_1d(v) for k, v in R["models"][model].items()
                          if isinstance(v, list) or k in ("term", "estimate", "se", "se_HC0",
                                                          "se_HC1", "se_cluster", "or",
                                                          "or_low", "or_high", "p")})
    frame["term"] = frame["term"].map(our_term)
    return frame.set_index("term")


@pytest.mark.parametrize("method", METHODS)
def test_coefficients_and_odds_ratios_match_glm(fits, method):
    result = fits[method]
    assert result.info["method"] == method
    for ours_name, r_name in (("adjusted", "adjusted"), ("crude: posture", "crude")):
        ours = result.coefficients(ours_name).set_index("term")
        r = r_coefficients(r_name)
        assert list(ours.index) == list(r.index)
        np.testing.assert_allclose(ours["estimate"], r["estimate"], rtol=1e-8)
        np.testing.assert_allclose(ours["se"], r["se"], rtol=1e-7)
        np.testing.assert_allclose(ours["p_value"], r["p"], rtol=1e-6)
    table = result.table.set_index("level")
    levels = ["Fair", "Poor", "Very poor"]
    for suffix, r_name in (("adjusted", "adjusted"), ("crude", "crude")):
        r = r_coefficients(r_name).loc[[f"posture[{lv}]" for lv in levels]]
        or_col = f"or_{suffix}"
        np.testing.assert_allclose(table.loc[levels, or_col], r["or"], rtol=1e-8)
        np.testing.assert_allclose(table.loc[levels, f"ci_low_{suffix}"], r["or_low"], rtol=1e-7)
        np.testing.assert_allclose(table.loc[levels, f"ci_high_{suffix}"], r["or_high"],
                                   rtol=1e-7)
    assert table.loc["Good", "or_adjusted"] == 1.0


@pytest.mark.parametrize("method", METHODS)
def test_fit_statistics_at_respondent_level_match_glm(fits, method):
    """Item 14: llf, deviance, AIC, BIC, n and events of a pattern fit equal the row fit and R's."""
    stats = fits[method].fit_statistics.set_index("model")
    for ours_name, r_name in (("adjusted", "adjusted"), ("crude: posture", "crude")):
        row, r = stats.loc[ours_name], R["models"][r_name]
        assert row["family"] == "binomial" and row["cov_type"] == "model" and row["converged"]
        assert (row["n"], row["events"], row["parameters"]) == (r["n"], r["events"], r["df"])
        for ours_col, r_col in (("llf", "loglik"), ("deviance", "deviance"), ("aic", "aic"),
                                ("bic", "bic")):
            assert row[ours_col] == pytest.approx(r[r_col], rel=1e-10), ours_col


def test_pattern_fit_statistics_equal_row_fit(fits):
    rows, pats = (fits[m].fit_statistics.drop(columns=["method"]) for m in METHODS)
    numeric = ["n", "events", "parameters", "llf", "deviance", "aic", "bic"]
    np.testing.assert_allclose(rows[numeric].to_numpy(float), pats[numeric].to_numpy(float),
                               rtol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_likelihood_ratio_and_trend_tests_match_anova(fits, method):
    tests = fits[method].tests.set_index(["model", "test"])
    for model, key in (("crude", "crude_posture"), ("adjusted", "adjusted_posture")):
        row, r = tests.loc[(model, "likelihood ratio")], R["lr_tests"][key]
        assert row["df"] == r["df"] and row["covariance"] == "model"
        assert row["statistic"] == pytest.approx(r["statistic"], rel=1e-6)
        assert row["p_value"] == pytest.approx(r["p"], rel=1e-6)
        trend, rt = tests.loc[(model, "trend")], R["trend"][model]["model"]
        assert trend["statistic"] == pytest.approx(rt["statistic"], rel=1e-6)
        assert trend["p_value"] == pytest.approx(rt["p"], rel=1e-6)
        assert trend["estimate"] == pytest.approx(np.exp(rt["estimate"]), rel=1e-8)
    assert "likelihood-ratio" in fits[method].info["tests"]


@pytest.mark.parametrize("method", METHODS)
def test_interaction_model_and_its_lr_test(method):
    result = logistic(survey(), interactions=["posture:sex"], method=method)
    ours = result.coefficients("adjusted").set_index("term")
    r = r_coefficients("interaction")
    assert sorted(ours.index) == sorted(r.index)
    ours = ours.loc[r.index]
    np.testing.assert_allclose(ours["estimate"], r["estimate"], rtol=1e-8)
    np.testing.assert_allclose(ours["se"], r["se"], rtol=1e-7)
    stats = result.fit_statistics.set_index("model").loc["adjusted"]
    assert stats["llf"] == pytest.approx(R["models"]["interaction"]["loglik"], rel=1e-10)
    assert stats["aic"] == pytest.approx(R["models"]["interaction"]["aic"], rel=1e-10)
    test = result.tests.set_index(["variable", "test"]).loc[("posture:sex", "likelihood ratio")]
    assert test["df"] == 3
    assert test["statistic"] == pytest.approx(R["lr_tests"]["interaction"]["statistic"],
                                              rel=1e-6)
    assert test["p_value"] == pytest.approx(R["lr_tests"]["interaction"]["p"], rel=1e-6)


@pytest.mark.parametrize(("cov_type", "r_cov"), [("robust", "HC0"), ("HC1", "HC1"),
                                                 ("cluster", "cluster")])
def test_sandwich_errors_and_wald_tests_match_sandwich_package(cov_type, r_cov):
    """Item 6: under a sandwich, ``.tests`` are Wald tests with the table's covariance."""
    result = logistic(survey(), cov_type=cov_type)
    assert result.info["method"] == "rows"
    for ours_name, r_name in (("adjusted", "adjusted"), ("crude: posture", "crude")):
        ours = result.coefficients(ours_name).set_index("term")
        r = r_coefficients(r_name)
        np.testing.assert_allclose(ours["estimate"], r["estimate"], rtol=1e-8)
        np.testing.assert_allclose(ours["se"], r[f"se_{r_cov}"], rtol=1e-7)
    stats = result.fit_statistics.set_index("model")
    assert set(stats["cov_type"]) == {r_cov}
    tests = result.tests.set_index(["model", "test"])
    assert set(result.tests["test"]) == {"Wald", "trend"}
    assert set(result.tests["covariance"]) == {r_cov}
    for model, key in (("crude", "crude_posture"), ("adjusted", "adjusted_posture")):
        row, r = tests.loc[(model, "Wald")], R["wald_tests"][key][r_cov]
        assert row["df"] == r["df"] == 3
        assert row["statistic"] == pytest.approx(r["statistic"], rel=1e-6)
        assert row["p_value"] == pytest.approx(_robust_p(r, r_cov), rel=1e-6)
        trend, rt = tests.loc[(model, "trend")], R["trend"][model][r_cov]
        assert trend["statistic"] == pytest.approx(rt["statistic"], rel=1e-6)
        assert trend["p_value"] == pytest.approx(_robust_p({**rt, "df": 1}, r_cov), rel=1e-6)
    assert f"Wald chi-square tests with the {r_cov} sandwich" in result.info["tests"]
    assert any(n.kind == "test" and r_cov in n.message for n in result.notices)
    # the robust table rows use the same covariance: cluster-robust ORs' CIs as R's
    if r_cov == "cluster":
        # R's estimate and cluster SE, with t on clusters - 1 df (Stata's vce(cluster)).
        r = r_coefficients("adjusted").iloc[1:4]
        crit = scipy_stats.t.ppf(0.975, CLUSTERS - 1)
        table = result.table.set_index("level").loc[["Fair", "Poor", "Very poor"]]
        np.testing.assert_allclose(table["ci_low_adjusted"],
                                   np.exp(r["estimate"] - crit * r["se_cluster"]), rtol=1e-7)
        assert list(r.index) == ["posture[Fair]", "posture[Poor]", "posture[Very poor]"]
        assert result.info["ci"] == "Wald 95%, t on clusters - 1 df"


def _robust_p(r: dict, cov: str) -> float:
    """R's chi-square p-value; under the cluster sandwich F = W / q on (q, G - 1) df."""
    if cov != "cluster":
        return r["p"]
    return float(scipy_stats.f.sf(r["statistic"] / r["df"], r["df"], CLUSTERS - 1))


def test_cluster_robust_differs_from_vcovcl_default_by_the_stated_factor():
    """Ours is vcovCL(type = "HC1"); vcovCL's glm default (HC0) lacks (n-1)/(n-k)."""
    result = logistic(survey(), cov_type="cluster")
    se = result.coefficients("adjusted")["se"].to_numpy()
    r = R["models"]["adjusted"]
    n, k = r["n"], r["df"]
    np.testing.assert_allclose(se / np.sqrt((n - 1) / (n - k)), r["se_cluster_HC0"], rtol=1e-7)


def test_interaction_wald_test_with_cluster_covariance():
    result = logistic(survey(), interactions=["posture:sex"], cov_type="cluster")
    test = result.tests.set_index(["variable", "test"]).loc[("posture:sex", "Wald")]
    r = R["wald_tests"]["interaction"]["cluster"]
    assert test["statistic"] == pytest.approx(r["statistic"], rel=1e-6)
    assert test["p_value"] == pytest.approx(_robust_p(r, "cluster"), rel=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_auc_and_delong_interval_match_proc(fits, method):
    got = discrimination(fits[method]).iloc[0]
    r = R["auc"]
    assert got["estimate"] == pytest.approx(r["auc"], rel=1e-8)
    assert got["se"] == pytest.approx(r["se"], rel=1e-6)
    assert got["ci_low"] == pytest.approx(r["ci_low"], rel=1e-6)
    assert got["ci_high"] == pytest.approx(r["ci_high"], rel=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_hosmer_lemeshow_matches_r_and_pattern_fit_equals_row_fit(fits, method):
    """Item 8: the pattern fit's HL test equals the row fit's and R's (same grouping)."""
    got = hosmer_lemeshow(fits[method])
    r = R["hosmer_lemeshow"]
    assert got["df"].item() == r["df"] and got["groups"].item() == r["groups"]
    assert got["statistic"].item() == pytest.approx(r["statistic"], rel=1e-6)
    assert got["p_value"].item() == pytest.approx(r["p"], rel=1e-6)
    groups = got.attrs["groups"]
    np.testing.assert_array_equal(groups["n"], r["n"])
    np.testing.assert_array_equal(groups["obs"], r["observed"])
    np.testing.assert_allclose(groups["exp"], r["expected"], rtol=1e-8)
    rows = hosmer_lemeshow(fits["rows"])
    assert got["statistic"].item() == pytest.approx(rows["statistic"].item(), rel=1e-9)


def test_default_adjustment_set_and_complete_case_loss_are_notices(fits):
    """Item 13: the codebook's confounders are named, and the rows lost per column."""
    result = fits["rows"]
    assert result.info["adjust_for"] == ["sex", "sitting"]
    assert result.info["n"] == R["n_complete"] and result.info["n_read"] == R["n_read"]
    kinds = {n.kind: n.message for n in result.notices}
    assert "role: confounder" in kinds["adjustment set"]
    assert "Sex, Sitting" in kinds["adjustment set"]
    dropped = kinds["dropped rows"]
    assert f"{R['n_complete']:,} of {R['n_read']:,} rows read used" in dropped
    for column, k in R["missing_by_column"].items():
        assert f"{survey().label(column)} {k:,}" in dropped
    assert result.info["dropped_by_column"] == R["missing_by_column"]
    given = logistic(survey(), adjust_for=["sex", "sitting"])
    assert not any(n.kind == "adjustment set" for n in given.notices)
    assert not any("impute='mice'" in n.message for n in result.notices)


def test_fewer_than_half_complete_cases_suggests_imputation():
    frame = reference_data("logistic")
    frame.loc[frame.index % 5 != 0, "sitting"] = np.nan  # 80% missing sitting
    result = logistic(survey(frame))
    assert result.info["n"] < result.info["n_read"] / 2
    messages = [n.message for n in result.notices if n.kind == "dropped rows"]
    assert len(messages) == 2
    assert "impute='mice'" in messages[1] and "smaller adjustment set" in messages[1]
    assert f"Sitting {int(frame['sitting'].isna().sum()):,}" in messages[1]


def separated_survey():
    frame = reference_data("logistic")
    frame.loc[frame["posture"] == 4, "spasm"] = 0  # no events among "Very poor"
    return survey(frame)


@pytest.mark.parametrize("method", METHODS)
def test_separation_is_a_notice_on_both_paths(method):
    """Item 3: the pattern path (the default) reports separation as the row path does."""
    with pytest.warns(BackpainWarning, match="Very poor"):
        result = logistic(separated_survey(), method=method)
    assert result.info["method"] == method
    notices = {(n.kind, n.model) for n in result.notices}
    for model in ("adjusted", "crude: posture"):
        assert ("separation", model) in notices
        assert ("non-convergence", model) in notices  # the ML estimate does not exist
    sep = next(n for n in result.notices if n.kind == "separation" and n.model == "adjusted")
    assert "'Very poor' has 0 events" in sep.message and "posture[Very poor]" in sep.message
    assert not result.fit_statistics["converged"].any()


def test_separation_warning_on_the_pattern_path_names_the_model():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logistic(separated_survey(), method="patterns")
    messages = [str(w.message) for w in caught if issubclass(w.category, BackpainWarning)]
    assert any(m.startswith("Model 'adjusted': separated data") for m in messages)


def test_no_separation_notice_without_separation(fits):
    for result in fits.values():
        assert not {n.kind for n in result.notices} & {"separation", "non-convergence"}


def test_summary_shows_intercept_fit_statistics_and_notices(fits):
    """Item 14: a summary a statistician recognises."""
    text = fits["patterns"].summary()
    for needle in ("Intercept", "llf", "deviance", "aic", "bic", "Coefficients (adjusted",
                   "Notices", "adjustment set", "dropped rows", "likelihood ratio"):
        assert needle in text, needle
    r = R["models"]["adjusted"]
    # four significant figures in the report's number style ("1,615": digit groups)
    assert significant(r["loglik"], 4) in text and significant(r["aic"], 4) in text
    with pytest.warns(BackpainWarning):
        separated = logistic(separated_survey()).summary()
    assert "non-convergence [adjusted]" in separated and "separation [adjusted]" in separated


def test_design_based_fits_say_their_covariance():
    result = logistic(survey(), design=True)  # the codebook's cluster role: clinics as PSUs
    assert set(result.fit_statistics["cov_type"]) == {"design"}
    assert result.tests.empty and result.info["tests"].startswith("none")
    np.testing.assert_allclose(result.coefficients("adjusted")["estimate"],
                               r_coefficients("adjusted")["estimate"], rtol=1e-8)


def test_hosmer_lemeshow_of_weighted_rows_equals_expanded_rows():
    """Item 8 by formula: a tied block that straddles a decile boundary stays in one group
    whether it comes as 37 rows or as one weighted event row and one non-event row."""
    rng = np.random.default_rng(3)
    p = np.round(rng.uniform(0.05, 0.6, 40), 2)  # 40 patterns, some tied between patterns
    trials = rng.integers(1, 60, 40)
    events = rng.binomial(trials, p)
    y_rows = np.concatenate([np.r_[np.ones(e), np.zeros(t - e)] for e, t in
                             zip(events, trials, strict=True)])
    p_rows = np.repeat(p, trials)
    expanded = hosmer_lemeshow(y_rows, p_rows)
    keep = np.r_[events, trials - events] > 0
    weighted = hosmer_lemeshow(np.r_[np.ones(40), np.zeros(40)][keep], np.r_[p, p][keep],
                               weights=np.r_[events, trials - events][keep])
    assert weighted["statistic"].item() == pytest.approx(expanded["statistic"].item(), rel=1e-12)
    pd.testing.assert_frame_equal(weighted.attrs["groups"], expanded.attrs["groups"],
                                  check_dtype=False)

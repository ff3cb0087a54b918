"""Design-based estimation against R's ``survey`` package (fixture ``design``).

``tests/reference/R/design.R`` simulates a stratified cluster sample: 1,241
respondents, 5 strata with 2-4 PSUs each (14 PSUs, 9 design df), PSUs
numbered within strata (``nest = TRUE``), unequal weights, the outcome
``spasm``, a factor ``posture`` whose level "Poor" is absent from two PSUs
(its domain has 7 df), ``sex`` and ``age`` missing on 25 rows. R's design is
``svydesign(ids = ~psu, strata = ~stratum, weights = ~w, nest = TRUE)``.

What is matched, and how:

* ``logistic(design=True)``: ``svyglm(family = quasibinomial())``. Our t
  tests and intervals use ``df.residual = degf + 1 - rank``, as R's
  ``summary.svyglm`` and its default ``confint`` (survey 4.1); the fixture
  also holds ``confint(ddf = degf)``, which we do *not* use.
* ``prevalence(design=True)``: ``svyciprop`` overall and within levels
  (subset designs, as ``svyby``), methods ``"logit"`` (the default) and
  ``"beta"``; a level's df is ``degf`` of the subset.
* ``survey_table_one`` / ``survey_mean`` / ``survey_total``: ``svymean`` and
  ``svytotal`` of a numeric and of factor level indicators, overall and by
  sex, with SEs; percent intervals as ``svyciprop`` (logit), mean intervals
  t on the subset's ``degf``.
* A stratum with a single PSU: R fails (``survey.lonely.psu = "fail"``, its
  default); ours raises ``ModelError`` and says what to do.

Tolerances (relative; the differences seen are below 3e-12):
* weighted means, totals, proportions and their SEs 1e-10: closed forms
  (ratio and total linearisation), the same arithmetic on both sides;
* svyglm estimates 1e-10: R's fit runs with ``glm.control(epsilon = 1e-12)``
  (at the default 1e-8 glm's bread lags one IRLS step and moves the SEs by
  ~5e-7), ours to a Newton step of 1e-10 (quadratic convergence);
* svyglm SEs, t statistics, p-values and intervals 1e-9: the same sandwich
  at estimates equal to ~1e-14; tail p-values amplify the differences;
* svyciprop logit intervals 1e-9: R takes them from ``svyglm(y ~ 1)``'s
  intercept at glm's default tolerance (an intercept-only fit converges in a
  few steps) and its sandwich SE; ours from the closed form ``se / (p
  (1-p))`` at the exact weighted proportion;
* svyciprop beta intervals 1e-10: ``qbeta`` on both sides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data

from analysis.describe import prevalence
from analysis.design_based import (
    design_df,
    proportion_interval,
    survey_design,
    survey_mean,
    survey_table_one,
    survey_total,
)
from analysis.errors import ModelError
from analysis.load import load_survey
from analysis.models import logistic

CODEBOOK = {
    "name": "reference_design",
    "variables": {
        "stratum": {"type": "count", "label": "Sampling stratum", "role": "stratum"},
        # Numbered 1..n_h within each stratum; a PSU is a (stratum, psu) pair (nest = TRUE).
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
R = fixture("design")
LEVELS = ["Good", "Fair", "Poor"]
EST, SE, GLM_EST, GLM, CIPROP = 1e-10, 1e-10, 1e-10, 1e-9, 1e-9


@pytest.fixture(scope="module")
def survey():
    return load_survey(reference_data("design"), CODEBOOK)


def test_data_and_design_df(survey):
    assert len(survey.data) == R["n"] == 1241
    design = survey_design(survey)
    assert design_df(design) == R["degf"] == R["n_psu"] - R["n_strata"] == 9
    # Domain df, as R's degf(subset(design, posture == "Poor")): two PSUs have no "Poor".
    poor = (survey.data["posture"] == "Poor").to_numpy()
    assert design_df(design, poor) == R["prevalence"]["logit"]["df"][3] == 7


def _check_glm(table: pd.DataFrame, ref: dict) -> None:
    assert len(table) == len(ref["term"])
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=GLM_EST)
    np.testing.assert_allclose(table["se"], ref["se"], rtol=GLM)
    np.testing.assert_allclose(table["statistic"], ref["t"], rtol=GLM)
    np.testing.assert_allclose(table["p_value"], ref["p_value"], rtol=GLM)
    np.testing.assert_allclose(table["ci_low"], ref["ci_low"], rtol=GLM)
    np.testing.assert_allclose(table["ci_high"], ref["ci_high"], rtol=GLM)


def test_logistic_design_matches_svyglm(survey):
    result = logistic(survey, "spasm", ["posture"], ["age"], design=True)
    assert result._fits["adjusted"].cells is None  # a numeric covariate: on rows
    adjusted, crude = R["models"]["adjusted"], R["models"]["crude_posture_cc"]
    assert result.info["n"] == adjusted["n"] == crude["n"] == 1216
    assert result.info["design_df"] == adjusted["degf"] == 9
    coefs = result.coefficients()
    # Terms in R's order: (Intercept), posture Fair, Poor, age.
    _check_glm(coefs[coefs.model == "adjusted"], adjusted)
    _check_glm(coefs[coefs.model == "crude: posture"], crude)
    stats = result.fit_statistics.set_index("model")
    assert stats.loc["adjusted", "df_resid"] == adjusted["df_residual"] == 6
    assert stats.loc["crude: posture", "df_resid"] == crude["df_residual"] == 7
    assert set(stats["cov_type"]) == {"design"}
    # The odds-ratio table uses the same t intervals and p-values as coefficients().
    tidy = result.tidy("adjusted").set_index("term")
    for ours, i in [("posture[Fair]", 1), ("posture[Poor]", 2), ("age", 3)]:
        row = tidy.loc[ours]
        assert row["estimate"] == pytest.approx(np.exp(adjusted["estimate"][i]), rel=GLM_EST)
        assert row["ci_low"] == pytest.approx(np.exp(adjusted["ci_low"][i]), rel=GLM)
        assert row["ci_high"] == pytest.approx(np.exp(adjusted["ci_high"][i]), rel=GLM)
        assert row["p_value"] == pytest.approx(adjusted["p_value"][i], rel=GLM)
    crude_row = result.tidy("crude").set_index("term").loc["posture[Poor]"]
    assert crude_row["ci_high"] == pytest.approx(np.exp(crude["ci_high"][2]), rel=GLM)
    assert crude_row["p_value"] == pytest.approx(crude["p_value"][2], rel=GLM)
    poor = result.table.set_index("level").loc["Poor"]
    assert poor["p_adjusted"] == pytest.approx(adjusted["p_value"][2], rel=GLM)
    assert poor["ci_low_crude"] == pytest.approx(np.exp(crude["ci_low"][2]), rel=GLM)
    # With 6 residual df, t and z differ: the z interval of the audit would be narrower
    # than R's, and so is the interval on degf (ci_*_degf), which we do not use.
    assert adjusted["ci_high_degf"][3] < adjusted["ci_high"][3]


def test_crude_logistic_on_every_row_matches_svyglm(survey):
    ref = R["models"]["crude_posture"]
    result = logistic(survey, "spasm", ["posture"], [], design=True)
    assert result.info["n"] == ref["n"] == 1241
    # one factor: fitted on its (level x PSU) cells, not on the 1,241 rows
    assert result._fits["adjusted"].cells.X.shape[0] < 1241 / 2
    coefs = result.coefficients("adjusted")
    _check_glm(coefs, ref)
    assert result.fit_statistics["df_resid"].iloc[0] == ref["df_residual"]


@pytest.mark.parametrize("method", ["logit", "beta"])
def test_prevalence_design_matches_svyciprop(survey, method):
    ref = R["prevalence"][method]
    table = prevalence(survey, "spasm", by="posture", design=True, design_ci=method)
    assert list(table["level"]) == ["All", *LEVELS]
    np.testing.assert_allclose(table["design_prevalence"], ref["estimate"], rtol=EST)
    np.testing.assert_allclose(table["design_se"], ref["se"], rtol=SE)
    rtol = CIPROP if method == "logit" else 1e-10
    np.testing.assert_allclose(table["design_ci_low"], ref["ci_low"], rtol=rtol)
    np.testing.assert_allclose(table["design_ci_high"], ref["ci_high"], rtol=rtol)
    assert list(table["design_df"]) == ref["df"] == [9, 9, 9, 7]
    assert list(table["n"]) == ref["n"]


def test_svyby_equals_subsets(survey):
    # What a user types in R, svyby(~spasm, ~posture, design, svyciprop), is the subset rule.
    ref = R["prevalence"]["svyby_logit"]
    table = prevalence(survey, "spasm", by="posture", design=True).iloc[1:]
    np.testing.assert_allclose(table["design_ci_low"], ref["ci_low"], rtol=CIPROP)
    np.testing.assert_allclose(table["design_ci_high"], ref["ci_high"], rtol=CIPROP)


def test_proportion_interval_checks_its_method():
    from analysis.errors import ValidationError

    with pytest.raises(ValidationError, match="logit, beta"):
        proportion_interval(0.2, 0.03, 9, method="wilson")
    with pytest.raises(ValidationError, match="needs n"):
        proportion_interval(0.2, 0.03, 9, method="beta")


def test_table_one_design_matches_svymean_and_svytotal(survey):
    t1 = survey_table_one(survey, by="sex", columns=["posture", "age"])
    for group in ["Overall", "Female", "Male"]:
        ref = R["table_one"][group]
        rows = t1[t1.group == group]
        posture = rows[rows.variable == "posture"]
        assert list(posture["level"]) == LEVELS
        np.testing.assert_allclose(posture["estimate"] / 100, ref["posture_mean"]["estimate"],
                                   rtol=EST)
        np.testing.assert_allclose(posture["se"] / 100, ref["posture_mean"]["se"], rtol=SE)
        np.testing.assert_allclose(posture["total"], ref["posture_total"]["estimate"], rtol=EST)
        np.testing.assert_allclose(posture["total_se"], ref["posture_total"]["se"], rtol=SE)
        # Percent intervals: svyciprop's logit interval of each level's indicator.
        ciprop = np.array([ref["posture_ciprop"][level] for level in LEVELS])
        np.testing.assert_allclose(posture["ci_low"] / 100, ciprop[:, 0], rtol=CIPROP)
        np.testing.assert_allclose(posture["ci_high"] / 100, ciprop[:, 1], rtol=CIPROP)
        assert list(posture["n"]) == [ref["n"]] * 3
        age = rows[rows.variable == "age"].iloc[0]
        assert age["n"] == ref["n_age"]
        assert age["estimate"] == pytest.approx(ref["age_mean"]["estimate"], rel=EST)
        assert age["se"] == pytest.approx(ref["age_mean"]["se"], rel=SE)
        assert age["total"] == pytest.approx(ref["age_total"]["estimate"], rel=EST)
        assert age["total_se"] == pytest.approx(ref["age_total"]["se"], rel=SE)
        # Mean intervals: t on degf of the subset with a known age, as confint(df = ...).
        assert age["df"] == ref["age_mean"]["df"]
        assert age["ci_low"] == pytest.approx(ref["age_mean"]["ci_low"], rel=EST)
        assert age["ci_high"] == pytest.approx(ref["age_mean"]["ci_high"], rel=EST)


def test_survey_mean_and_total_by_domain(survey):
    ref = R["table_one"]["age_by_posture"]
    mean = survey_mean(survey, "age", by="posture").iloc[1:]
    np.testing.assert_allclose(mean["estimate"], ref["estimate"], rtol=EST)
    np.testing.assert_allclose(mean["se"], ref["se"], rtol=SE)
    assert list(mean["df"]) == ref["df_subset"] == [9, 9, 7]
    # df="design": the whole design's df for every domain (Stata's subpop convention).
    full = survey_mean(survey, "age", by="posture", df="design").iloc[1:]
    assert list(full["df"]) == [ref["degf_full"]] * 3
    np.testing.assert_allclose(full["ci_low"], ref["ci_low_full_df"], rtol=EST)
    np.testing.assert_allclose(full["ci_high"], ref["ci_high_full_df"], rtol=EST)
    total = survey_total(survey, "age").iloc[0]
    assert total["estimate"] == pytest.approx(R["table_one"]["Overall"]["age_total"]["estimate"],
                                              rel=EST)
    assert total["se"] == pytest.approx(R["table_one"]["Overall"]["age_total"]["se"], rel=SE)


def test_single_psu_stratum_raises_like_r(survey):
    # R: options(survey.lonely.psu = "fail") (the default) stops with this message.
    assert R["lonely_psu"]["option"] == "fail"
    assert R["lonely_psu"]["error"] == "Stratum (1) has only one PSU at stage 1"
    data = reference_data("design")
    data.loc[data["stratum"] == 1, "psu"] = 1
    lonely = load_survey(data, CODEBOOK)
    with pytest.raises(ModelError, match=r"1 sampling strata have a single PSU.*Collapse"):
        survey_mean(lonely, "age")
    with pytest.raises(ModelError, match="single PSU"):
        logistic(lonely, "spasm", ["posture"], ["age"], design=True)

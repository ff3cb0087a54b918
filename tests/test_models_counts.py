"""Counts of spasm episodes: Poisson and negative binomial IRRs against statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from analysis.codebook import Codebook
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import counts
from analysis.survey import Survey

Z = stats.norm.ppf(0.975)
CODEBOOK = {"name": "counts", "variables": {
    "posture": {"type": "ordinal", "label": "Self-rated posture",
                "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure"},
    "lifting": {"type": "binary", "label": "Heavy lifting at work", "role": "exposure"},
    "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
    "months": {"type": "numeric", "label": "Months followed"},
    "site": {"type": "count", "label": "Clinic", "role": "cluster"},
    "episodes": {"type": "count", "label": "Spasm episodes", "role": "outcome"},
}}


def count_survey(n: int = 1500, seed: int = 2, alpha: float = 0.8) -> Survey:
    rng = np.random.default_rng(seed)
    posture = rng.integers(0, 3, n)
    lifting = rng.integers(0, 2, n)
    age = np.round(rng.uniform(20, 70, n))
    months = rng.choice([6.0, 12.0, 24.0], n)
    site = rng.integers(1, 31, n).astype(float)
    mu = months / 12 * np.exp(-0.5 + 0.3 * posture + 0.4 * lifting + 0.01 * (age - 45))
    lam = mu * rng.gamma(1 / alpha, alpha, n) if alpha > 0 else mu
    episodes = rng.poisson(lam).astype(float)
    cb = Codebook.from_dict(CODEBOOK)
    data = pd.DataFrame({
        "posture": pd.Categorical.from_codes(posture, ["Good", "Fair", "Poor"], ordered=True),
        "lifting": pd.Categorical.from_codes(lifting, ["No", "Yes"]),
        "age": age, "months": months, "site": site, "episodes": episodes,
    }, index=pd.RangeIndex(2, n + 2, name="line"))
    data.loc[[4, 7], "episodes"] = np.nan
    data.loc[[9], "months"] = np.nan
    return Survey(data, cb, Ledger(n_read=n), source="counts.csv")


def _frame(survey: Survey) -> pd.DataFrame:
    d = survey.data.dropna().copy()
    d["posture"] = d["posture"].astype(str)
    d["lifting"] = d["lifting"].astype(str)
    return d


FORMULA = ("episodes ~ C(posture, Treatment('Good')) + C(lifting, Treatment('No')) + age")
NAMES = {"posture[Fair]": "C(posture, Treatment('Good'))[T.Fair]",
         "posture[Poor]": "C(posture, Treatment('Good'))[T.Poor]",
         "lifting[Yes]": "C(lifting, Treatment('No'))[T.Yes]", "age": "age"}


def _check(tidy: pd.DataFrame, ref, rel: float = 1e-6, se: bool = True) -> None:
    tidy = tidy.set_index("term")
    for ours, theirs in NAMES.items():
        assert tidy.loc[ours, "estimate"] == pytest.approx(np.exp(ref.params[theirs]), rel=rel)
        if not se:
            continue
        assert tidy.loc[ours, "ci_low"] == pytest.approx(
            np.exp(ref.params[theirs] - Z * ref.bse[theirs]), rel=rel * 10)
        assert tidy.loc[ours, "p_value"] == pytest.approx(ref.pvalues[theirs], rel=1e-4,
                                                          abs=1e-12)


def test_poisson_with_offset_matches_glm():
    survey = count_survey()
    result = counts(survey, "episodes", ["posture", "lifting"], ["age"],
                    exposure_time="months")
    d = _frame(survey)
    ref = smf.glm(FORMULA, d, family=sm.families.Poisson(), offset=np.log(d.months)).fit()
    _check(result.tidy(), ref)
    assert result.estimate == "irr" and "irr_adjusted" in result.table.columns
    assert result.info["n"] == len(d) == 1497
    assert result.info["events"] == d.episodes.sum()
    # The three incomplete rows are in the ledger, by column.
    ledger = survey.ledger
    assert sorted(ledger.query("column == 'episodes'")["line"]) == [4, 7]
    assert ledger.query("column == 'months'")["line"].tolist() == [9]


def test_negbin_matches_statsmodels_and_boundary_lr_test():
    survey = count_survey()
    result = counts(survey, "episodes", ["posture", "lifting"], ["age"], family="negbin",
                    exposure_time="months")
    d = _frame(survey)
    ref = smf.negativebinomial(FORMULA, d, offset=np.log(d.months)).fit(disp=0, maxiter=200)
    # Estimates only: our SEs are MASS::glm.nb's (expected information, theta known),
    # checked against R in tests/reference/test_r_counts.py; statsmodels' use the observed
    # information of (b, alpha) and differ in the third digit.
    _check(result.tidy(), ref, rel=1e-5, se=False)
    assert result.info["alpha"] == pytest.approx(ref.params["alpha"], rel=1e-5)
    pois = smf.glm(FORMULA, d, family=sm.families.Poisson(), offset=np.log(d.months)).fit()
    tests = result.tests.set_index("test")
    lr_row = tests.loc["likelihood ratio, alpha = 0 (boundary: 0.5 chi2(1))"]
    lr = 2 * (ref.llf - pois.llf)
    assert lr_row["statistic"] == pytest.approx(lr, rel=1e-6)
    assert lr_row["p_value"] == pytest.approx(0.5 * stats.chi2.sf(lr, 1), rel=1e-4, abs=1e-300)
    assert lr_row["p_value"] < 1e-10  # simulated with alpha = 0.8


def test_cameron_trivedi_auxiliary_regression():
    for alpha, overdispersed in [(0.8, True), (0.0, False)]:
        survey = count_survey(alpha=alpha)
        result = counts(survey, "episodes", ["posture", "lifting"], ["age"],
                        exposure_time="months")
        d = _frame(survey)
        mu = smf.glm(FORMULA, d, family=sm.families.Poisson(),
                     offset=np.log(d.months)).fit().mu
        aux = sm.OLS(((d.episodes - mu) ** 2 - d.episodes) / mu, mu).fit()
        row = result.tests.iloc[0]
        assert row["estimate"] == pytest.approx(aux.params.iloc[0], rel=1e-8)
        assert row["statistic"] == pytest.approx(aux.tvalues.iloc[0], rel=1e-8)
        assert bool(row["p_value"] < 0.001) is overdispersed


def test_robust_and_cluster_covariance_match_statsmodels():
    survey = count_survey()
    d = _frame(survey)
    model = smf.glm(FORMULA, d, family=sm.families.Poisson(), offset=np.log(d.months))
    for cov_type, kwargs in [("robust", {"cov_type": "HC0"}),
                             ("cluster", {"cov_type": "cluster",
                                          "cov_kwds": {"groups": d.site.astype(int)}})]:
        result = counts(survey, "episodes", ["posture", "lifting"], ["age"],
                        exposure_time="months", cov_type=cov_type)
        _check(result.tidy(), model.fit(**kwargs))
        assert result.info["cov_type"] == ("HC0" if cov_type == "robust" else "cluster")
    # The negative binomial sandwich is R's (GLM scores, theta held fixed), checked in
    # tests/reference/test_r_counts.py; here: the same estimates as statsmodels, and a
    # sandwich that differs from the model-based SE.
    nb = smf.negativebinomial(FORMULA, d, offset=np.log(d.months)).fit(disp=0, maxiter=200)
    result = counts(survey, "episodes", ["posture", "lifting"], ["age"], family="negbin",
                    exposure_time="months", cov_type="robust")
    _check(result.tidy(), nb, rel=1e-5, se=False)
    model_se = counts(survey, "episodes", ["posture", "lifting"], ["age"], family="negbin",
                      exposure_time="months").coefficients("adjusted")["se"]
    assert not np.allclose(result.coefficients("adjusted")["se"], model_se, rtol=1e-3)


def test_bad_counts_and_exposure_time_raise():
    survey = count_survey(200)
    data = survey.data.copy()
    data.loc[[20, 30], "episodes"] = [-1.0, 2.5]
    bad = Survey(data, survey.codebook, Ledger(n_read=200), source="counts.csv")
    with pytest.raises(ModelError, match=r"whole number >= 0; 2 rows .*first lines: 20, 30"):
        counts(bad, "episodes", ["posture"])
    data = survey.data.copy()
    data.loc[[11], "months"] = 0.0
    bad = Survey(data, survey.codebook, Ledger(n_read=200), source="counts.csv")
    with pytest.raises(ModelError, match=r"'months' must be positive; 1 rows .*first lines: 11"):
        counts(bad, "episodes", ["posture"], exposure_time="months")
    with pytest.raises(ModelError, match="Unknown family 'zip'"):
        counts(survey, "episodes", ["posture"], family="zip")


def test_level_without_events_and_rows_left_out_are_notices():
    survey = count_survey(400)
    data = survey.data.copy()
    data.loc[data.posture == "Poor", "episodes"] = 0.0
    zero = Survey(data, survey.codebook, Ledger(n_read=400), source="counts.csv")
    for family in ("poisson", "negbin"):
        with np.errstate(over="ignore"):
            result = counts(zero, "episodes", ["posture"], family=family)
        separated = [n for n in result.notices if n.kind == "separation"]
        assert [n.model for n in separated] == ["adjusted", "crude: posture"]
        assert "posture[Poor]" in separated[0].message
        dropped = [n.message for n in result.notices if n.kind == "dropped rows"]
        assert dropped == ["1 of 400 rows left out for a missing value (episodes 1); see "
                           "survey.ledger."]
        fam = "poisson" if family == "poisson" else "negative binomial"
        assert (result.fit_statistics["family"] == fam).all()

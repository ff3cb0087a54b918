"""Proportional odds, Brant's test and multinomial logit against statsmodels fitted directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.miscmodels.ordinal_model import OrderedModel

from analysis.codebook import Codebook
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import multinomial, ordinal
from analysis.models._prepare import prepare
from analysis.models.fitting import newton_logit
from analysis.models.ordinal import brant_covariance, brant_test
from analysis.survey import Survey

Z = stats.norm.ppf(0.975)
BANDS = ["None", "Mild", "Moderate", "Severe"]
CODEBOOK = {"name": "pain", "variables": {
    "lifting": {"type": "binary", "label": "Heavy lifting at work", "role": "exposure"},
    "sport": {"type": "categorical", "label": "Main sport",
              "levels": {1: "None", 2: "Golf", 3: "Weightlifting"}, "role": "exposure"},
    "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
    "pain": {"type": "ordinal", "label": "Pain band",
             "levels": dict(enumerate(BANDS, start=1)), "role": "outcome"},
}}


def pain_survey(n: int = 1200, seed: int = 3, proportional: bool = True) -> Survey:
    rng = np.random.default_rng(seed)
    lifting = rng.integers(0, 2, n)
    sport = rng.integers(0, 3, n)
    age = np.round(rng.uniform(20, 70, n))
    eta = 0.7 * lifting + 0.4 * (sport == 2) + 0.02 * (age - 45)
    cuts = np.array([-0.5, 0.8, 2.0])
    if proportional:
        above = rng.logistic(size=n)[:, None] < eta[:, None] - cuts[None, :]
    else:  # lifting matters only for the top band: ORs differ across cuts
        slope = np.array([0.0, 0.3, 1.8])
        u = rng.random(n)[:, None]
        above = u < expit(eta[:, None] - 0.7 * lifting[:, None] + slope * lifting[:, None]
                          - cuts)
    pain = above.sum(axis=1)
    cb = Codebook.from_dict(CODEBOOK)
    data = pd.DataFrame({
        "lifting": pd.Categorical.from_codes(lifting, ["No", "Yes"]),
        "sport": pd.Categorical.from_codes(sport, ["None", "Golf", "Weightlifting"]),
        "age": age, "pain": pd.Categorical.from_codes(pain, BANDS, ordered=True),
    }, index=pd.RangeIndex(2, n + 2, name="line"))
    data.loc[[5], "pain"] = np.nan
    return Survey(data, cb, Ledger(n_read=n), source="pain.csv")


def _design(survey: Survey) -> tuple[np.ndarray, np.ndarray]:
    d = survey.data.dropna()
    X = np.column_stack([d.lifting == "Yes", d.sport == "Golf", d.sport == "Weightlifting",
                         d.age]).astype(float)
    return X, d.pain.cat.codes.to_numpy()


TERMS = ["lifting[Yes]", "sport[Golf]", "sport[Weightlifting]", "age"]


def test_proportional_odds_matches_ordered_model():
    survey = pain_survey()
    result = ordinal(survey, "pain", ["lifting", "sport"], ["age"])
    X, y = _design(survey)
    ref = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=0, maxiter=2000)
    tidy = result.tidy().set_index("term")
    for j, term in enumerate(TERMS):
        assert tidy.loc[term, "estimate"] == pytest.approx(np.exp(ref.params[j]), rel=1e-5)
        assert tidy.loc[term, "ci_high"] == pytest.approx(
            np.exp(ref.params[j] + Z * ref.bse[j]), rel=1e-4)
    assert tidy.loc["lifting[Yes]", "label"] == "Heavy lifting at work: Yes vs No"
    assert result.info["n"] == len(y) == 1199
    assert survey.ledger.query("column == 'pain'")["line"].tolist() == [5]
    # Robust (HC0) covariance as statsmodels computes it.
    robust = ordinal(survey, "pain", ["lifting", "sport"], ["age"], cov_type="robust")
    ref_hc0 = OrderedModel(y, X, distr="logit").fit(method="bfgs", disp=0, maxiter=2000,
                                                    cov_type="HC0")
    se = np.log(robust.tidy().ci_high[1] / robust.tidy().estimate[1]) / Z
    assert se == pytest.approx(ref_hc0.bse[0], rel=1e-3)


def test_brant_test_holds_its_size_and_rejects_non_proportional_odds():
    tests = ordinal(pain_survey(), "pain", ["lifting", "sport"], ["age"]).tests
    assert tests.set_index("variable").loc["overall", "df"] == (4 - 2) * 4
    # Under proportional odds the p-values are roughly uniform: 100 simulated surveys.
    p_values = []
    for seed in range(100):
        survey = pain_survey(n=600, seed=100 + seed)
        prep = prepare(survey, "pain", ["lifting", "sport"], ["age"])
        codes = np.asarray(survey.data.pain.cat.codes)[prep.rows]
        p_values.append(brant_test(prep, codes, prep.variables).p_value.iloc[0])
    p_values = np.array(p_values)
    assert 0.01 <= (p_values < 0.05).mean() <= 0.12
    assert 0.4 < p_values.mean() < 0.6
    bad = ordinal(pain_survey(seed=8, proportional=False), "pain", ["lifting", "sport"],
                  ["age"]).tests.set_index("variable")
    assert bad.loc["lifting", "p_value"] < 1e-4
    assert bad.loc["lifting", "df"] == 2


def test_brant_covariance_agrees_with_empirical_sandwich():
    survey = pain_survey(n=4000, seed=11)
    X, y = _design(survey)
    X = sm.add_constant(X)
    betas, probs, infos, scores = [], [], [], []
    for j in range(3):
        z = (y > j).astype(float)
        fit = newton_logit(X, z)
        p = expit(X @ fit.params)
        betas.append(fit.params)
        probs.append(p)
        infos.append(np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None])))
        scores.append(X * (z - p)[:, None])
    _, cov = brant_covariance(X, betas, probs, infos)
    bread = np.zeros_like(cov)
    for j in range(3):
        bread[j * 5:(j + 1) * 5, j * 5:(j + 1) * 5] = infos[j]
    s = np.hstack(scores)
    empirical = bread @ (s.T @ s) @ bread
    # Model-based and empirical covariances estimate the same matrix.
    assert np.sqrt(np.diag(cov)) == pytest.approx(np.sqrt(np.diag(empirical)), rel=0.08)
    assert cov[1, 6] == pytest.approx(empirical[1, 6], rel=0.15)


def test_multinomial_matches_mnlogit():
    survey = pain_survey()
    result = multinomial(survey, "pain", ["lifting", "sport"], ["age"])
    X, y = _design(survey)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton")
    tidy = result.tidy()
    assert list(tidy.columns[:2]) == ["outcome_level", "term"]
    for j, level in enumerate(BANDS[1:]):
        rows = tidy[tidy.outcome_level == level].set_index("term")
        for i, term in enumerate(TERMS, start=1):
            assert rows.loc[term, "estimate"] == pytest.approx(np.exp(ref.params[i, j]),
                                                               rel=1e-6)
            assert rows.loc[term, "p_value"] == pytest.approx(ref.pvalues[i, j], rel=1e-5)
    assert result.estimate == "rrr" and result.info["outcome_reference"] == "None"
    assert result.info["lr_statistic"] == pytest.approx(ref.llr, rel=1e-8)
    assert set(result.table.outcome_level) == set(BANDS[1:])
    robust = multinomial(survey, "pain", ["lifting", "sport"], ["age"], cov_type="robust")
    ref_hc0 = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", cov_type="HC0")
    rows = robust.tidy()[robust.tidy().outcome_level == "Severe"].set_index("term")
    se = np.log(rows.loc["age", "ci_high"] / rows.loc["age", "estimate"]) / Z
    assert se == pytest.approx(ref_hc0.bse[4, 2], rel=1e-6)
    # Another reference category.
    other = multinomial(survey, "pain", ["lifting"], [], outcome_reference="Severe")
    assert set(other.tidy().outcome_level) == {"None", "Mild", "Moderate"}


def test_outcome_with_two_levels_is_refused():
    survey = pain_survey(300)
    data = survey.data.copy()
    data["pain"] = data["pain"].where(data["pain"].isin(["None", "Mild"]))
    small = Survey(data, survey.codebook, Ledger(n_read=300), source="pain.csv")
    with pytest.raises(ModelError, match="'pain' has 2 observed levels"):
        ordinal(small, "pain", ["lifting"])


def test_multinomial_singular_newton_hessian_falls_back_and_is_a_notice(monkeypatch):
    from analysis.errors import BackpainWarning

    original = sm.MNLogit.fit

    def newton_fails(self, *args, method="newton", **kwargs):
        if method == "newton":
            raise np.linalg.LinAlgError("Singular matrix")
        return original(self, *args, method=method, **kwargs)

    monkeypatch.setattr(sm.MNLogit, "fit", newton_fails)
    with pytest.warns(BackpainWarning, match="singular Hessian"):
        result = multinomial(pain_survey(300), "pain", ["lifting"], [])
    assert {n.kind for n in result.notices} == {"non-convergence"}
    assert not result.fit_statistics.converged.any()
    assert np.isfinite(result.coefficients().estimate).all()  # BFGS still gives estimates

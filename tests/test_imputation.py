"""Multiple imputation: Rubin's rules by hand, MICE-pooled logistic and count models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from _models_data import make_survey
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import counts, logistic, rubin_pool
from analysis.survey import Survey


def test_rubin_rules_by_hand():
    q = np.array([[1.0], [1.2], [0.8]])
    u = np.array([[0.04], [0.05], [0.03]])
    pooled = rubin_pool(q, u).iloc[0]
    # Qbar = 1.0, W = 0.04, B = 0.04, T = W + (1 + 1/3) B = 0.093333.
    assert pooled["estimate"] == pytest.approx(1.0)
    assert pooled["within"] == pytest.approx(0.04)
    assert pooled["between"] == pytest.approx(0.04)
    assert pooled["total"] == pytest.approx(0.04 + 4 / 3 * 0.04)
    r = 4 / 3  # (1 + 1/m) B / W
    df = 2 * (1 + 1 / r) ** 2  # 6.125
    assert pooled["df"] == pytest.approx(df)
    assert pooled["fmi"] == pytest.approx((r + 2 / (df + 3)) / (1 + r))
    # Barnard-Rubin with 50 complete-data df shrinks the df.
    lam = 4 / 3 * 0.04 / pooled["total"]
    obs = (50 + 1) / (50 + 3) * 50 * (1 - lam)
    small = rubin_pool(q, u, n_complete=51, k=1).iloc[0]
    assert small["df"] == pytest.approx(df * obs / (df + obs))
    with pytest.raises(ModelError, match="at least 2"):
        rubin_pool(q[:1], u[:1])


def _holes(n: int = 1500) -> Survey:
    survey = make_survey(n, seed=7)
    data = survey.data.copy()
    rng = np.random.default_rng(0)
    data.loc[data.index[rng.random(n) < 0.15], "age"] = np.nan
    data.loc[data.index[rng.random(n) < 0.10], "posture"] = np.nan
    data.loc[data.index[rng.random(n) < 0.03], "spasm"] = np.nan
    return Survey(data, survey.codebook, Ledger(n_read=n), source="holes.csv")


def test_mice_logistic_pools_the_imputed_fits():
    survey = _holes()
    data = survey.data
    result = logistic(survey, "spasm", ["posture"], ["age", "sex"], impute="mice", m=5, seed=1)
    info = result.info
    complete = int(data[["spasm", "posture", "age", "sex"]].notna().all(axis=1).sum())
    assert info["m"] == 5 and info["impute"] == "mice"
    assert info["n_complete_case"] == complete
    assert info["n_dropped_complete_case"] == len(data) - complete
    assert info["n"] == int(data.spasm.notna().sum())  # imputed outcomes are not analysed
    assert set(info["fmi"]) == {"posture[Fair]", "posture[Poor]", "age", "sex[Female]"}
    assert all(0 <= f < 1 for f in info["fmi"].values())
    # The pooled log OR is the mean of the five; its interval uses T and the pooled df.
    logs = [np.log(r.tidy().set_index("term").loc["posture[Poor]", "estimate"])
            for r in result._imputations]
    ses = [np.log(r.tidy().set_index("term").loc["posture[Poor]", "ci_high"]) - lg
           for r, lg in zip(result._imputations, logs, strict=True)]
    ses = np.array(ses) / stats.norm.ppf(0.975)
    pooled = rubin_pool(np.array(logs)[:, None], (ses**2)[:, None], info["n"], 5).iloc[0]
    row = result.tidy().set_index("term").loc["posture[Poor]"]
    assert np.log(row["estimate"]) == pytest.approx(np.mean(logs), rel=1e-9)
    t = stats.t.ppf(0.975, pooled["df"])
    assert row["ci_low"] == pytest.approx(np.exp(pooled["estimate"] - t * pooled["se"]),
                                          rel=1e-6)
    # Close to the complete-case fit (data missing completely at random).
    cc = logistic(_holes(), "spasm", ["posture"], ["age", "sex"])
    assert row["estimate"] == pytest.approx(
        cc.tidy().set_index("term").loc["posture[Poor]", "estimate"], rel=0.15)
    # The ledger says which values were imputed and which outcomes left the model.
    ledger = survey.ledger
    imputed = ledger.query("action == 'imputed'")
    assert set(imputed["column"]) == {"age", "posture"}
    assert len(imputed.query("column == 'age'")) == int(data.age.isna().sum())
    assert len(ledger.query("action == 'not in model' and column == 'spasm'")) == int(
        data.spasm.isna().sum())


def test_mice_counts_and_bad_options():
    survey = _holes(600)
    data = survey.data.copy()
    rng = np.random.default_rng(2)
    data["episodes"] = rng.poisson(1.0, len(data)).astype(float)
    cb = survey.codebook.model_copy(deep=True)
    from analysis.codebook import Variable
    cb = cb.with_variables([Variable(name="episodes", type="count", label="Spasm episodes")])
    survey = Survey(data, cb, Ledger(n_read=len(data)), source="holes.csv")
    result = counts(survey, "episodes", ["posture"], ["age"], impute="mice", m=3)
    assert result.estimate == "irr" and result.info["m"] == 3
    assert result.tidy().estimate.between(0.5, 2).all()
    with pytest.raises(ModelError, match="Unknown impute='hotdeck'"):
        logistic(survey, "spasm", ["posture"], impute="hotdeck")
    with pytest.raises(ModelError, match="m >= 2"):
        logistic(survey, "spasm", ["posture"], impute="mice", m=1)

"""Standardised prevalence ratios/differences and the direct PR models, off the R fixture.

The agreement with R is tests/reference/test_r_effects.py; here: closed forms
the method must reduce to (a saturated model's standardised risks are the
weighted proportions, with the ratio estimator's design SE), covariate
patterns against rows, the log-binomial fallback, bootstrap against the delta
method, and data not shaped like the example (a 150-nurse pilot with a sparse
ward, a weighted village sample, separated data under Firth).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.design_based import ratio_estimate, survey_design
from analysis.errors import ModelError
from analysis.load import load_survey
from analysis.models import counts, logistic
from analysis.models.risk import log_binomial, modified_poisson
from analysis.models.standardise import prevalence_ratios, standardise

OWN = Path(__file__).resolve().parent / "own_data"


def _own(name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_survey(OWN / "data" / f"{name}.csv", OWN / "codebooks" / f"{name}.yml",
                           on_invalid="exclude")


def _simulated(n: int = 2000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lifting = rng.choice(["never", "sometimes", "daily"], n, p=[0.5, 0.3, 0.2])
    shift = rng.choice(["day", "night"], n)
    lp = -0.7 + 0.5 * (lifting == "sometimes") + 1.1 * (lifting == "daily") + 0.4 * (
        shift == "night")
    return pd.DataFrame({"lifting": lifting, "shift": shift,
                         "ache": (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)})


CODEBOOK = {"name": "shapes", "variables": {
    "lifting": {"type": "categorical", "label": "Lifting at work", "role": "exposure",
                "levels": {"never": "never", "sometimes": "sometimes", "daily": "daily"}},
    "shift": {"type": "categorical", "label": "Shift", "role": "confounder",
              "levels": {"day": "day", "night": "night"}},
    "ache": {"type": "binary", "label": "Back ache", "role": "outcome"}}}


@pytest.fixture(scope="module")
def simulated():
    return load_survey(_simulated(), CODEBOOK)


def test_patterns_and_rows_standardise_alike(simulated):
    rows = standardise(logistic(simulated, "ache", ["lifting"], ["shift"], method="rows"))
    patterns = standardise(logistic(simulated, "ache", ["lifting"], ["shift"],
                                    method="patterns"))
    assert patterns.info["method"] == "patterns" and rows.info["method"] == "rows"
    for measure in ("pr", "pd"):
        a, b = rows.tidy("adjusted", measure), patterns.tidy("adjusted", measure)
        np.testing.assert_allclose(a[["estimate", "ci_low", "ci_high"]].to_numpy(float),
                                   b[["estimate", "ci_low", "ci_high"]].to_numpy(float),
                                   rtol=1e-7, equal_nan=True)


def test_crude_pr_and_pd_are_the_proportions(simulated):
    result = standardise(logistic(simulated, "ache", ["lifting"], ["shift"]))
    share = _simulated().groupby("lifting")["ache"].mean()  # the raw 0/1 data
    crude = result.tidy("crude", "pr").set_index("term")
    assert crude.loc["lifting[daily]", "estimate"] == pytest.approx(
        share["daily"] / share["never"], rel=1e-9)
    diff = result.tidy("crude", "pd").set_index("term")
    assert diff.loc["lifting[sometimes]", "estimate"] == pytest.approx(
        share["sometimes"] - share["never"], rel=1e-9)
    # Adjusted PRs lie closer to 1 than the ORs of a common outcome.
    odds = logistic(simulated, "ache", ["lifting"], ["shift"]).tidy().set_index("term")
    pr = result.tidy().set_index("term")
    assert 1 < pr.loc["lifting[daily]", "estimate"] < odds.loc["lifting[daily]", "estimate"]
    assert result.difference.loc[0, "pd_adjusted"] == 0.0  # the reference row


def test_weighted_crude_risks_are_the_ratio_estimator():
    """A saturated model's standardised risks: weighted proportions, with svymean's SE."""
    survey = _own("complex_design")
    result = prevalence_ratios(survey, "backache", ["farming"], [], design=True)
    design = survey_design(survey)
    y = (survey.data["backache"].astype(str) == survey.data["backache"].cat.categories[1]
         ).to_numpy(float) if survey.data["backache"].dtype.name == "category" else \
        survey.data["backache"].to_numpy(float)
    risks = result.risks[result.risks.model == "crude"].set_index("level")
    for level in risks.index:
        domain = (survey.data["farming"].astype(str) == level).to_numpy()
        est, se, _ = ratio_estimate(y, design, domain)
        assert risks.loc[level, "risk"] == pytest.approx(est, rel=1e-10)
        assert risks.loc[level, "se"] == pytest.approx(se, rel=1e-8)
    assert result.info["design"] is not None


def test_log_binomial_falls_back_to_modified_poisson():
    frame = _simulated(400, seed=5)
    frame.loc[frame["lifting"] == "daily", "ache"] = 1  # every daily lifter: MLE on the boundary
    survey = load_survey(frame, CODEBOOK)
    result = log_binomial(survey, "ache", ["lifting"], ["shift"])
    assert "adjusted" in result.info["fallback"]
    assert any(n.kind == "method" and "modified Poisson" in n.message for n in result.notices)
    poisson = modified_poisson(survey, "ache", ["lifting"], ["shift"])
    np.testing.assert_allclose(result.table["pr_adjusted"], poisson.table["pr_adjusted"])
    # Where the level has events and non-events the log-binomial fit stands.
    fine = log_binomial(load_survey(_simulated(400, seed=5), CODEBOOK), "ache", ["lifting"],
                        ["shift"])
    assert fine.info["fallback"] == []


def test_bootstrap_agrees_with_the_delta_method(simulated):
    fitted = logistic(simulated, "ache", ["lifting"], ["shift"])
    delta = standardise(fitted).tidy("adjusted", "pd").set_index("term")
    boot = standardise(fitted, simulated, ci="bootstrap", n_boot=300, seed=1)
    again = standardise(fitted, simulated, ci="bootstrap", n_boot=300, seed=1)
    pd.testing.assert_frame_equal(boot.difference, again.difference)
    b = boot.tidy("adjusted", "pd").set_index("term")
    term = "lifting[daily]"
    assert b.loc[term, "estimate"] == pytest.approx(delta.loc[term, "estimate"], rel=1e-12)
    width_boot = b.loc[term, "ci_high"] - b.loc[term, "ci_low"]
    width_delta = delta.loc[term, "ci_high"] - delta.loc[term, "ci_low"]
    assert width_boot == pytest.approx(width_delta, rel=0.15)
    assert "bootstrap" in boot.info["ci"]


def test_design_bootstrap_resamples_psus():
    survey = _own("complex_design")
    result = prevalence_ratios(survey, "backache", ["farming"], ["age"], design=True,
                               ci="bootstrap", n_boot=200, seed=2)
    delta = prevalence_ratios(survey, "backache", ["farming"], ["age"], design=True)
    row, ref = result.table.iloc[1], delta.table.iloc[1]
    assert row["pr_adjusted"] == pytest.approx(ref["pr_adjusted"], rel=1e-12)
    assert row["ci_low_adjusted"] < row["pr_adjusted"] < row["ci_high_adjusted"]
    assert "PSUs within strata" in result.info["ci"]


def test_small_sparse_pilot():
    """150 nurses, a ward with few respondents: rows, counts and notices carry over."""
    survey = _own("small_sparse")
    fitted = logistic(survey, "lbp_year", ["ward", "nights"], ["age_yrs", "gender"])
    result = standardise(fitted)
    assert len(result.table) == len(fitted.table)
    np.testing.assert_array_equal(result.table["n"], fitted.table["n"])
    assert result.notices == fitted.notices
    crude = result.tidy("crude").set_index("term")
    row = crude.filter(like="nights", axis=0).iloc[-1]
    assert np.isfinite(row["estimate"]) and row["ci_low"] < row["estimate"] < row["ci_high"]


def test_firth_fit_standardises_separated_data():
    frame = _simulated(300, seed=9)
    frame.loc[frame["lifting"] == "never", "ache"] = 0  # no events at the reference
    survey = load_survey(frame, CODEBOOK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = standardise(logistic(survey, "ache", ["lifting"], ["shift"], firth=True))
    risks = result.risks[result.risks.model == "adjusted"].set_index("level")
    assert 0 < risks.loc["never", "risk"] < 0.01  # the penalised fit's small, finite risk
    assert np.isfinite(result.difference["pd_adjusted"]).all()


def test_errors_speak():
    survey = load_survey(_simulated(200), CODEBOOK)
    fitted = logistic(survey, "ache", ["lifting"], [])
    with pytest.raises(ModelError, match="ci is one of delta, bootstrap"):
        standardise(fitted, ci="jackknife")
    with pytest.raises(ModelError, match="needs the survey"):
        standardise(fitted, ci="bootstrap")
    with pytest.raises(ModelError, match="measure is one of"):
        standardise(fitted).tidy("adjusted", "rr")
    frame = _simulated(200)
    frame["episodes"] = frame["ache"] * 2
    cb = {"name": "c", "variables": {**CODEBOOK["variables"],
                                     "episodes": {"type": "count", "label": "Episodes"}}}
    rates = counts(load_survey(frame, cb), "episodes", ["lifting"], [])
    with pytest.raises(ModelError, match="result of logistic"):
        standardise(rates)

"""Design-based logistic fits on (covariate pattern x PSU) cells against the same fits on rows.

The agreement with R's svyglm is tests/reference/test_r_design.py (whose
crude model of a factor runs on cells, checked there too); here: the cells
give the row fit's estimates, covariance and pseudo-log-likelihood to 1e-10
on a survey with three strata, unequal and some zero weights, rows left out
for a missing value, a factor interaction; the weighted log odds of a
saturated model are the hand-computed ones; a numeric covariate keeps the
rows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.design_based import survey_design
from analysis.load import load_survey
from analysis.models import logistic
from analysis.models.standardise import complete_rows
from analysis.models.survey_logit import design_cells, design_logistic_fit

CODEBOOK = {"name": "cells", "variables": {
    "stratum": {"type": "count", "label": "Stratum", "role": "stratum"},
    "psu": {"type": "count", "label": "PSU", "role": "cluster"},
    "w": {"type": "numeric", "label": "Weight", "role": "weight"},
    "lifting": {"type": "categorical", "label": "Lifting", "role": "exposure",
                "levels": {1: "never", 2: "sometimes", 3: "daily"}},
    "shift": {"type": "categorical", "label": "Shift", "role": "exposure",
              "levels": {1: "day", 2: "night"}},
    "age": {"type": "numeric", "label": "Age", "unit": "years"},
    "ache": {"type": "binary", "label": "Back ache", "levels": {0: "No", 1: "Yes"},
             "role": "outcome"},
}}


def _data(n: int = 6000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(1, 4, n)
    psu = rng.integers(1, 9, n)  # 8 PSUs within each of 3 strata
    lifting = rng.integers(1, 4, n)
    shift = rng.integers(1, 3, n)
    age = np.round(rng.uniform(20, 65, n), 1)
    lp = -0.8 + 0.5 * (lifting == 2) + 1.0 * (lifting == 3) + 0.3 * (shift == 2) \
        + 0.2 * stratum - 0.01 * (age - 40)
    w = np.round(rng.lognormal(0, 0.5, n), 3)
    w[rng.random(n) < 0.02] = 0.0  # some respondents carry no weight
    frame = pd.DataFrame({"stratum": stratum, "psu": psu, "w": w, "lifting": lifting,
                          "shift": shift.astype(float), "age": age,
                          "ache": (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)})
    frame.loc[rng.random(n) < 0.05, "shift"] = np.nan  # left out of the models
    return frame


@pytest.fixture(scope="module")
def survey():
    return load_survey(_data(), CODEBOOK)


def _on_rows(survey, result, name: str):
    """The result's fit ``name``, and the same model refitted by design_logistic_fit on its
    rows (started from an unweighted row fit, as ``method="rows"`` starts)."""
    fit = result._fits[name]
    info = result.info
    started = logistic(survey, info["outcome"], info["exposures"], info["adjust_for"],
                       interactions=[t.variables for t in fit.design.terms
                                     if t.kind == "interaction"],
                       method="rows", design=True)._fits[name]
    rows_fit = replace(started)
    design_logistic_fit(rows_fit, survey_design(survey), complete_rows(survey, info),
                        cells=False)
    assert rows_fit.cells is None and rows_fit.method == "rows"
    return fit, rows_fit


@pytest.mark.parametrize("interactions", [(), [("lifting", "shift")]])
def test_cells_equal_rows(survey, interactions):
    result = logistic(survey, "ache", ["lifting", "shift"], [], interactions=interactions,
                      design=True)
    for name in result._fits:
        fit, rows_fit = _on_rows(survey, result, name)
        assert fit.cells is not None
        # 3 x 2 patterns in 24 PSUs: at most 144 cells for 5,700 rows
        assert fit.cells.X.shape[0] <= 144
        np.testing.assert_allclose(fit.params, rows_fit.params, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(fit.cov, rows_fit.cov, rtol=1e-10, atol=1e-16)
        assert fit.llf == pytest.approx(rows_fit.llf, rel=1e-12)
        assert fit.df_resid == rows_fit.df_resid


def test_saturated_cells_give_weighted_log_odds(survey):
    result = logistic(survey, "ache", ["lifting"], [], design=True)
    fit = result._fits["crude: lifting"]
    data = survey.data  # every row: lifting and ache are known
    assert result.info["n"] == len(data)
    w, y = data["w"].to_numpy(), data["ache"].cat.codes.to_numpy()
    level = data["lifting"].cat.codes.to_numpy()
    odds = [np.log((w * y)[level == j].sum() / (w * (1 - y))[level == j].sum())
            for j in range(3)]
    expected = [odds[0], odds[1] - odds[0], odds[2] - odds[0]]
    np.testing.assert_allclose(fit.params, expected, rtol=1e-10)


def test_numeric_covariate_keeps_rows(survey):
    result = logistic(survey, "ache", ["lifting"], ["age"], design=True)
    assert result._fits["adjusted"].cells is None
    assert result._fits["crude: lifting"].cells is not None


def test_numeric_covariate_of_few_values_on_cells():
    data = _data().assign(grade=lambda d: (d["age"] // 15).astype(float))  # 4 values
    codebook = {**CODEBOOK, "variables": {**CODEBOOK["variables"], "grade": {
        "type": "numeric", "label": "Age group"}}}
    graded = load_survey(data, codebook)
    result = logistic(graded, "ache", ["lifting"], ["grade"], design=True)
    fit, rows_fit = _on_rows(graded, result, "adjusted")
    assert fit.cells is not None and fit.cells.X.shape[0] <= 3 * 4 * 24
    np.testing.assert_allclose(fit.params, rows_fit.params, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fit.cov, rows_fit.cov, rtol=1e-10, atol=1e-16)


def test_cells_are_not_made_when_as_many_as_rows(survey):
    small = load_survey(_data(n=120, seed=2), CODEBOOK)
    result = logistic(small, "ache", ["lifting", "shift"], [], design=True)
    fit = result._fits["adjusted"]
    # 6 patterns in 24 PSUs can be 144 cells: more than half of ~110 rows
    assert design_cells(fit.design.terms, fit.encoded, fit.y, survey_design(small),
                        complete_rows(small, result.info)) is None
    assert fit.method == "rows"  # started on its 6 patterns, refitted on its rows
    assert fit.cells is None


@pytest.mark.parametrize("interactions", [(), [("lifting", "shift")]])
def test_standardised_prevalences_on_cells_equal_rows(survey, interactions):
    from analysis.models.standardise import standardise

    result = logistic(survey, "ache", ["lifting", "shift"], [], interactions=interactions,
                      design=True)
    on_cells = standardise(result, survey)
    assert all(f.cells is not None for f in result._fits.values())
    for fit in result._fits.values():
        fit.cells = None  # the same fits, standardised on their rows
    on_rows = standardise(result, survey)
    numbers = ["risk", "se", "ci_low", "ci_high"]
    np.testing.assert_allclose(on_cells.risks[numbers], on_rows.risks[numbers], rtol=1e-10)
    for frame in ("table", "difference"):
        a, b = getattr(on_cells, frame), getattr(on_rows, frame)
        columns = [c for c in a.columns if a[c].dtype.kind == "f"]
        np.testing.assert_allclose(a[columns], b[columns], rtol=1e-10, atol=1e-14)


def test_a_row_start_under_the_design_is_the_weighted_estimate(survey):
    result = logistic(survey, "ache", ["lifting"], ["age", "shift"], design=True)
    fit = result._fits["adjusted"]
    assert fit.cells is None  # a numeric covariate: the fit stays on the rows
    # the start (Newton on the weighted rows) is the estimate the design-based fit keeps
    np.testing.assert_allclose(result.fits["adjusted"].params, fit.params, rtol=1e-10,
                               atol=1e-13)


@pytest.mark.parametrize("n", [3_000, 250_000])  # the second from a warm start on a sample
def test_weighted_newton_equals_the_fit_of_rows_repeated_by_their_weights(n):
    from analysis.models.newton import newton_logit

    rng = np.random.default_rng(7)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.8 * X[:, 1] - 0.4 * X[:, 2])))).astype(float)
    w = rng.integers(0, 4, n).astype(float)  # 0 to 3: some rows out, some counted thrice
    weighted = newton_logit(X, y, weights=w)
    repeat = np.repeat(np.arange(n), w.astype(int))
    repeated = newton_logit(X[repeat], y[repeat])
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.cov_params(), repeated.cov_params(), rtol=1e-7)
    assert weighted.llf == pytest.approx(repeated.llf, rel=1e-12)

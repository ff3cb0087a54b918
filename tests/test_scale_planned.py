"""The out-of-core report's planned models with continuous covariates: exact IRLS scans.

2,000 simulated respondents of the example survey (without its survey-design
roles and interactions, so the planned logistic models have an aggregate
form), written as 4 Parquet files. The plan's models fitted by
:func:`analysis.scale.planned.lazy_fitter` (continuous covariates: Newton by
one DuckDB scan per iteration; factor-only models: covariate patterns) are
compared with the in-memory fits of the same plan on the same rows, which are
an independent computation (numpy Newton on the rows; checked against R's
``glm`` in ``tests/reference``), and the adjusted estimates are checked
against the score equations X'(y - p) = 0 computed here by hand in numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from _parquet_cohort import parquet_cohort
from analysis.load import load_survey
from analysis.plan import fit_plan, plan
from analysis.scale.planned import lazy_fitter

N, FILES = 2_000, 4
NUMBERS = ["or_crude", "ci_low_crude", "ci_high_crude", "p_crude", "or_adjusted",
           "ci_low_adjusted", "ci_high_adjusted", "p_adjusted", "n", "events"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("planned")
    whole, folder, codebook = parquet_cohort(tmp, N, seed=11, files=FILES)
    frame = pd.read_parquet(whole)
    memory = load_survey(frame, codebook, on_invalid="exclude")
    lazy = load_survey(folder, codebook, on_invalid="exclude")
    yield memory, lazy
    lazy.close()


@pytest.fixture(scope="module")
def fits(data):
    memory, lazy = data
    the_plan = plan(memory)
    # a sample of 500 of the 2,000 lines: the aggregate fits must not rest on it
    sample = lazy.sample(500)
    return (fit_plan(memory, the_plan), fit_plan(sample, the_plan, lazy_fitter(lazy, 500)),
            the_plan)


def _fits_with(fitted, method):
    return [f for f in fitted if f.result is not None
            and method in f.result.info.get("methods", {}).values()]


def test_continuous_models_are_fitted_by_scans_on_every_row(fits):
    memory, lazy, the_plan = fits
    scanned = _fits_with(lazy, "scans")
    assert scanned, "the plan has logistic models with continuous covariates"
    for f in scanned:
        assert f.result.info["n"] > 500  # every complete case, not the 500-line sample
        assert not any("random sample" in n.message for n in f.result.notices)
    assert len(lazy) == len(memory) == len(the_plan.models)


def _same_result(a, b) -> int:
    """Compare two results number by number; the count of tests compared."""
    assert list(a.table["label"]) == list(b.table["label"])
    np.testing.assert_allclose(b.table[NUMBERS].to_numpy(float),
                               a.table[NUMBERS].to_numpy(float), rtol=1e-8, atol=1e-12)
    for name, fit in a.models.items():
        other = b.models[name]
        assert other.design.names == fit.design.names
        np.testing.assert_allclose(other.params, fit.params, rtol=0, atol=1e-8)
        np.testing.assert_allclose(other.bse, fit.bse, rtol=1e-8)
    # respondent-level log-likelihoods (a pattern GLM's own llf adds a constant)
    fa, fb = a.fit_statistics, b.fit_statistics
    assert list(fa["model"]) == list(fb["model"])
    np.testing.assert_allclose(fb[["n", "llf", "aic"]].to_numpy(float),
                               fa[["n", "llf", "aic"]].to_numpy(float), rtol=1e-10)
    ta, tb = a.tests, b.tests
    assert list(ta["test"]) == list(tb["test"])
    np.testing.assert_allclose(tb[["statistic", "p_value"]].to_numpy(float),
                               ta[["statistic", "p_value"]].to_numpy(float), rtol=1e-7)
    assert [n.message for n in a.notices] == [n.message for n in b.notices]
    return len(ta)


def test_planned_tables_tests_and_prevalence_ratios_equal_in_memory(fits):
    memory, lazy, _ = fits
    compared = tests = 0
    for a, b in zip(memory, lazy, strict=True):
        assert (a.failure is None) == (b.failure is None), a.plan.outcome
        if b.result is None or "scans" not in b.result.info.get("methods", {}).values():
            continue
        # a causal diagram: each exposure's own model is a part of the result
        for part in [None, *a.result.parts]:
            x = a.result if part is None else a.result.parts[part]
            y = b.result if part is None else b.result.parts[part]
            tests += _same_result(x, y)
        if a.effects is not None:
            for attr in ("table", "difference"):
                x, y = getattr(a.effects, attr), getattr(b.effects, attr)
                cols = [c for c in x.columns if x[c].dtype.kind == "f"]
                # differences of prevalences near 0: absolute 1e-10
                np.testing.assert_allclose(y[cols].to_numpy(float), x[cols].to_numpy(float),
                                           rtol=1e-8, atol=1e-10)
        compared += 1
    assert compared >= 1 and tests >= 2  # LR tests of factors and trend tests refit by scans


def test_adjusted_estimates_solve_the_score_equations_by_hand(data, fits):
    memory, _ = data
    _, lazy, _ = fits
    fitted = _fits_with(lazy, "scans")[0].result
    fit = fitted.models["adjusted"]
    info = fitted.info
    frame = memory.data
    variables = [*info["exposures"], *info["adjust_for"]]
    outcome = frame[info["outcome"]]
    keep = outcome.notna().to_numpy().copy()
    for v in variables:
        keep &= frame[v].notna().to_numpy()
    rows = frame[keep]
    columns = [np.ones(len(rows))]
    for name in fit.design.names[1:]:  # build X by hand from the column names
        variable, _, level = name.partition("[")
        if level:
            columns.append((rows[variable].astype(str) == level[:-1]).to_numpy(float))
        else:
            per = fit.encoded[variable].per
            columns.append(rows[variable].to_numpy(float) / per)
    X = np.column_stack(columns)
    y = (rows[info["outcome"]].astype(str) == info["event"]).to_numpy(float)
    assert len(y) == info["n"] and y.sum() == info["events"]
    score = X.T @ (y - expit(X @ fit.params))
    # Newton stops when the step is below 1e-8: the score is then ~ information x 1e-8 at
    # most, and about 1e-12 here (quadratic convergence)
    assert np.max(np.abs(score)) < 1e-6
    assert np.max(np.abs(score / np.sqrt(np.diag(X.T @ X)))) < 1e-8

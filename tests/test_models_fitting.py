"""The fitting engine's shortcuts give the fit they stand in for.

* ``newton_logit`` on a large sample starts from the estimate on a systematic
  sample (every m-th run of consecutive rows); the maximum is the same: the score X'(y - p) is zero there (a check
  independent of any library), and the estimates equal a fit from the
  intercept-only start and statsmodels' Newton fit.
* ``method="auto"`` decides rows or patterns from the first 30% of rows when
  those alone have too many patterns; the choice equals counting every row's
  pattern (the sample ends with many patterns, or not).
* ``build_design`` fills the columns of X in place; X equals the term columns
  stacked side by side; a released design rebuilds the same X from its codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from analysis.aggregate import pattern_index
from analysis.models import newton
from analysis.models.design import Encoded, build_design, factor_term, numeric_term, term_columns
from analysis.models.fitting import PATTERN_RATIO, fit_terms, newton_logit


def _design(n: int, seed: int, levels: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, n)
    x = rng.normal(50, 10, n)
    X = np.column_stack([np.ones(n)] + [(codes == j).astype(float) for j in range(1, levels)]
                        + [x, rng.gamma(2.0, 1.5, n)])
    beta = np.r_[-1.0, np.linspace(0.2, 0.8, levels - 1), 0.03, -0.2]
    y = (rng.random(n) < expit(X @ beta - 1.5)).astype(float)
    return np.asfortranarray(X), y


def test_warm_started_newton_reaches_the_same_maximum(monkeypatch):
    monkeypatch.setattr(newton, "WARM_ROWS", 1_000)  # 5,000 rows: start from 1,000 of them
    X, y = _design(5_000, 1)
    assert sum(b - a for a, b in newton.warm_blocks(5_000)) == 1_000
    warm = newton_logit(X, y)
    monkeypatch.setattr(newton, "WARM_ROWS", 10**9)  # no warm start
    cold = newton_logit(X, y)
    score = X.T @ (y - expit(X @ warm.params))
    assert np.max(np.abs(score)) < 1e-8
    np.testing.assert_allclose(warm.params, cold.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(warm.bse, cold.bse, rtol=1e-7)
    assert warm.mle_retvals["iterations"] < cold.mle_retvals["iterations"]
    ref = sm.Logit(y, X).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(warm.params, ref.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(warm.llf, ref.llf, rtol=1e-12)


def test_warm_start_falls_back_when_the_sample_misses_a_level(monkeypatch):
    """A level only in rows the sample skips: the sample's fit is rank deficient."""
    monkeypatch.setattr(newton, "WARM_ROWS", 1_000)
    X, y = _design(5_000, 2)
    sampled = np.zeros(X.shape[0], dtype=bool)
    for a, b in newton.warm_blocks(X.shape[0]):
        sampled[a:b] = True
    rare = np.zeros(X.shape[0])
    rare[np.flatnonzero(~sampled)[::7][:60]] = 1.0  # 60 rows, none of them in the sample
    X = np.asfortranarray(np.column_stack([X, rare]))
    assert newton._warm_start(X, y, 1e-8) is None
    fit = newton_logit(X, y)
    ref = sm.Logit(y, X).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(fit.params, ref.params, rtol=0, atol=1e-9)
    assert fit.mle_retvals["converged"]


def _encoded(codes: np.ndarray, k: int, name: str) -> Encoded:
    return Encoded(name, name, "factor", codes=codes.astype(np.int8),
                   categories=tuple(f"L{j}" for j in range(k)))


def _full_count_says_patterns(encs: list[Encoded], n: int) -> bool:
    codes = [(e.codes.astype(np.int64), len(e.categories)) if e.kind == "factor"
             else e.group_codes for e in encs]
    return pattern_index(codes)[1].size * PATTERN_RATIO <= n


@pytest.mark.parametrize("shape", ["few patterns", "continuous", "many late"])
def test_auto_method_chooses_as_the_full_pattern_count(shape):
    rng = np.random.default_rng(3)
    n = 4_000
    a = _encoded(rng.integers(0, 3, n), 3, "a")
    y = (rng.random(n) < 0.3).astype(float)
    if shape == "few patterns":
        b = _encoded(rng.integers(0, 4, n), 4, "b")
    elif shape == "continuous":
        b = Encoded("b", "b", "numeric", values=rng.normal(0, 1, n))
    else:  # the first 30% of rows share 12 patterns, the rest are nearly all distinct
        values = np.r_[np.repeat([0.5, 1.5, 2.5, 3.5], 300)[: int(0.3 * n)],
                       rng.normal(0, 1, n - int(0.3 * n))]
        b = Encoded("b", "b", "numeric", values=values)
    terms = [factor_term(a), factor_term(b) if b.kind == "factor" else numeric_term(b)]
    fit = fit_terms("m", terms, {"a": a, "b": b}, y)
    expected = "patterns" if _full_count_says_patterns([a, b], n) else "rows"
    assert fit.method == expected
    assert expected == {"few patterns": "patterns", "continuous": "rows",
                        "many late": "rows"}[shape]
    # either way the same estimates as the row fit
    rows = fit_terms("m", terms, {"a": a, "b": b}, y, method="rows")
    np.testing.assert_allclose(fit.params, rows.params, rtol=1e-8, atol=1e-10)


def test_design_columns_are_the_terms_side_by_side():
    rng = np.random.default_rng(4)
    n = 1_000
    a = _encoded(rng.integers(-1, 4, n), 4, "a")  # -1: no level (all zeros)
    b = Encoded("b", "b", "numeric", values=rng.normal(0, 3, n), per=10.0)
    c = Encoded("c", "c", "numeric", values=rng.normal(0, 3, n))
    terms = [factor_term(a), numeric_term(b), numeric_term(c)]
    enc = {"a": a, "b": b, "c": c}
    X = build_design(terms, enc).X
    expected = np.column_stack([np.ones(n)] + [term_columns(t, enc) for t in terms])
    assert X.flags.f_contiguous
    assert np.array_equal(X, expected)
    np.testing.assert_array_equal(X[:, 4], b.values / 10.0)
    assert pd.Series(X[:, 1]).isin([0.0, 1.0]).all()


def test_one_factor_pattern_fit_is_the_hand_computed_saturated_model():
    """A crude model of one factor on its levels: log odds ratios are differences of logits.

    The saturated binomial model reproduces each level's proportion, so
    b_level = logit(p_level) - logit(p_reference) and its variance is
    1/a + 1/b + 1/c + 1/d (Woolf); IRLS, started at the maximum, reports
    convergence (judged on the deviance alone, a saturated model's rounding
    noise never met the tolerance).
    """
    rng = np.random.default_rng(5)
    n = 200_000
    codes = rng.integers(0, 4, n)
    y = (rng.random(n) < np.array([0.2, 0.3, 0.25, 0.4])[codes]).astype(float)
    a = _encoded(codes, 4, "a")
    fit = fit_terms("crude: a", [factor_term(a)], {"a": a}, y)
    assert fit.method == "patterns" and fit.converged
    np.testing.assert_array_equal(fit.trials, np.bincount(codes, minlength=4))
    np.testing.assert_array_equal(fit.events, np.bincount(codes, weights=y, minlength=4))
    events = np.bincount(codes, weights=y)
    others = np.bincount(codes) - events
    logit = np.log(events / others)
    np.testing.assert_allclose(fit.params, np.r_[logit[0], logit[1:] - logit[0]], rtol=0,
                               atol=1e-12)
    woolf = np.sqrt(1 / events[1:] + 1 / others[1:] + 1 / events[0] + 1 / others[0])
    np.testing.assert_allclose(fit.bse[1:], woolf, rtol=1e-10)


def test_released_design_is_rebuilt_equal():
    rng = np.random.default_rng(4)
    n = 3000
    enc = {"f": Encoded("f", "F", "factor", codes=rng.integers(0, 3, n).astype(np.int8),
                        categories=("a", "b", "c")),
           "x": Encoded("x", "X", "numeric", values=rng.normal(0, 1, n))}
    design = build_design([factor_term(enc["f"]), numeric_term(enc["x"])], enc)
    kept = design.X.copy()
    design.release()
    assert design.X is not design.X  # rebuilt on each use, not held
    np.testing.assert_array_equal(design.X, kept)
    assert design.X.shape == (n, 4) and design.names == ["Intercept", "f[b]", "f[c]", "x"]

"""A long Newton pass is summed in two halves on two threads: same numbers on any machine."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.models import blocked, newton


@pytest.fixture
def rows():
    rng = np.random.default_rng(11)
    n = 90_000  # 22 blocks of 4,096 rows: summed in halves
    X = np.column_stack([np.ones(n), rng.integers(0, 2, (n, 3)), rng.normal(size=n)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ [-1.0, 0.5, -0.3, 0.2, 0.4])))).astype(float)
    return X, y


def _with_pool(pool_on: bool, f):
    blocked._POOL.clear()
    if not pool_on:
        blocked._POOL.append(None)  # one core: the halves one after the other
    try:
        return f()
    finally:
        blocked._POOL.clear()


def test_a_pass_is_the_same_with_and_without_a_worker_and_equals_the_formula(rows):
    X, y = rows
    beta = np.array([-0.8, 0.4, -0.2, 0.1, 0.3])
    threaded = _with_pool(True, lambda: newton._logit_pass(X, y, beta))
    alone = _with_pool(False, lambda: newton._logit_pass(X, y, beta))
    for a, b in zip(threaded, alone, strict=True):
        np.testing.assert_array_equal(a, b)  # to the last bit
    # the formulas, in one go over all rows
    p = 1 / (1 + np.exp(-(X @ beta)))
    llf = float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert threaded[0] == pytest.approx(llf, rel=1e-12)
    np.testing.assert_allclose(threaded[1], X.T @ (X * (p * (1 - p))[:, None]), rtol=1e-11)
    np.testing.assert_allclose(threaded[2], X.T @ (y - p), rtol=1e-9, atol=1e-9)


def test_a_fit_and_the_weighted_products_do_not_depend_on_the_worker(rows):
    X, y = rows
    fits = [_with_pool(on, lambda: newton.newton_logit(X, y)) for on in (True, False)]
    np.testing.assert_array_equal(fits[0].params, fits[1].params)
    np.testing.assert_array_equal(fits[0].bse, fits[1].bse)
    # the weighted products (design-based and robust fits) in blocks of 16,384 rows
    X = np.vstack([X] * 3)  # 17 blocks: summed in halves
    w = np.random.default_rng(2).uniform(0.5, 3, X.shape[0])
    r = np.tile(y, 3) - y.mean()
    products = [_with_pool(on, lambda: blocked.information_score(X, w, r)) for on in (True, False)]
    for a, b in zip(*products, strict=True):
        np.testing.assert_array_equal(a, b)
    gram, score = products[0]
    np.testing.assert_allclose(gram, X.T @ (X * w[:, None]), rtol=1e-11)
    np.testing.assert_allclose(score, X.T @ r, rtol=1e-9, atol=1e-9)

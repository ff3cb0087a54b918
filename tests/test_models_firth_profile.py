"""Firth profile intervals when the first bracket is lost, checked against a profile by hand.

``profile_interval`` brackets each limit by stepping out from the estimate
with warm-started nested fits, then calls Brent's method on the bracket. On a
flat penalised likelihood a warm start can land a nested fit elsewhere, so
that Brent's method finds the bracket no longer changes sign; the bracket is
then searched again from the estimate with every nested fit started cold,
and a likelihood ratio that never crosses its limit is a ``ModelError``.

No small dataset was found on which the warm start loses the bracket by
itself (it depends on the path of the nested fits), so the loss is made
here: Brent's method is told the first bracket of each side does not change
sign, as scipy says it then (``ValueError``). The interval of the second
search must equal an independent profile: the penalised log-likelihood
``l(b) + 0.5 log det I(b)`` written out below, maximised over the other
coefficient with scipy, and its crossing of ``chi2_1(0.95) / 2`` found by
``brentq``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit

from analysis.errors import ModelError
from analysis.models import firth
from analysis.models.firth import penalised_fit, profile_interval

# 24 respondents, an exposure with 1 event in 10 unexposed and 9 in 14 exposed: a
# small-sample Firth fit with a skewed profile (no separation, so both limits finite).
X = np.column_stack([np.ones(24), np.r_[np.zeros(10), np.ones(14)]])
EVENTS = np.r_[np.zeros(9), 1.0, np.zeros(5), np.ones(9)]
TRIALS = np.ones(24)


def _pl(beta: np.ndarray) -> float:
    """Firth's penalised log-likelihood by hand: l(b) + 0.5 log det(X' diag(p(1-p)) X)."""
    p = expit(X @ beta)
    loglik = np.sum(EVENTS * np.log(p) + (TRIALS - EVENTS) * np.log(1 - p))
    information = X.T @ (X * (TRIALS * p * (1 - p))[:, None])
    return float(loglik + 0.5 * np.log(np.linalg.det(information)))


def _hand_interval(j: int) -> tuple[float, float]:
    best = optimize.minimize(lambda b: -_pl(b), np.zeros(2), method="BFGS", tol=1e-12)
    pl_hat, b_hat = -best.fun, best.x
    other = 1 - j

    def profile(value: float) -> float:
        def negative(free):
            beta = np.empty(2)
            beta[j], beta[other] = value, free[0]
            return -_pl(beta)
        return -optimize.minimize(negative, [b_hat[other]], method="BFGS", tol=1e-12).fun

    critical = stats.chi2.ppf(0.95, 1) / 2

    def excess(value: float) -> float:
        return pl_hat - profile(value) - critical

    low = optimize.brentq(excess, b_hat[j] - 20, b_hat[j], xtol=1e-12)
    high = optimize.brentq(excess, b_hat[j], b_hat[j] + 20, xtol=1e-12)
    return low, high


def _losing_first_bracket(monkeypatch, losses: int | None):
    """Make Brent's method reject the first ``losses`` brackets (None: every bracket)."""
    real = optimize.brentq
    calls = {"rejected": 0, "solved": 0}

    def brentq(f, a, b, **kwargs):
        if losses is None or calls["rejected"] < losses:
            calls["rejected"] += 1
            raise ValueError("f(a) and f(b) must have different signs")
        calls["solved"] += 1
        return real(f, a, b, **kwargs)

    monkeypatch.setattr(firth.optimize, "brentq", brentq)
    return calls


def test_profile_interval_equals_the_hand_profile():
    fit = penalised_fit(X, EVENTS, TRIALS)
    low, high = profile_interval(X, EVENTS, TRIALS, fit, 1)
    hand = _hand_interval(1)
    np.testing.assert_allclose([low, high], hand, rtol=0, atol=1e-6)
    assert low < fit.params[1] < high
    # the profile is skewed: the upper limit lies further from the estimate
    assert high - fit.params[1] > fit.params[1] - low


@pytest.mark.parametrize("side_lost", ["lower", "both"])
def test_a_lost_bracket_is_searched_again_from_the_estimate(monkeypatch, side_lost):
    fit = penalised_fit(X, EVENTS, TRIALS)
    expected = profile_interval(X, EVENTS, TRIALS, fit, 1)
    calls = _losing_first_bracket(monkeypatch, 1 if side_lost == "lower" else None)
    if side_lost == "both":
        # every bracket rejected, the second search's too: a model error, not a traceback
        with pytest.raises(ModelError, match="does not cross its limit between"):
            profile_interval(X, EVENTS, TRIALS, fit, 1)
        assert calls == {"rejected": 2, "solved": 0}
        return
    low, high = profile_interval(X, EVENTS, TRIALS, fit, 1)
    # lower side: first bracket lost, found by the cold search; upper side: first bracket
    assert calls == {"rejected": 1, "solved": 2}
    np.testing.assert_allclose([low, high], expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose([low, high], _hand_interval(1), rtol=0, atol=1e-6)


def test_the_intercept_interval_after_a_lost_bracket(monkeypatch):
    fit = penalised_fit(X, EVENTS, TRIALS)
    _losing_first_bracket(monkeypatch, 1)
    low, high = profile_interval(X, EVENTS, TRIALS, fit, 0)
    np.testing.assert_allclose([low, high], _hand_interval(0), rtol=0, atol=1e-6)

"""Firth's penalised logistic regression: fit, penalised likelihood-ratio tests, profile CIs.

The penalised log-likelihood (Firth 1993, *Biometrika* 80:27; Heinze &
Schemper 2002, *Stat Med* 21:2409) of events ``e_i`` out of ``t_i`` trials
(``t_i = 1`` for rows, the pattern size for covariate patterns) is::

    pl(b) = sum_i [e_i log p_i + (t_i - e_i) log(1 - p_i)] + 0.5 log|X' W X|,
    W = diag(t_i p_i (1 - p_i)),  p_i = expit(x_i' b).

Its gradient is Firth's modified score ``X' [e - t p + h (1/2 - p)]`` with
``h`` the leverages (diagonal of ``W^1/2 X (X'WX)^-1 X' W^1/2``).

* :func:`penalised_fit` maximises ``pl`` by Fisher scoring on the modified
  score (as ``logistf``), optionally with some coefficients held at fixed
  values; the penalty always uses the full design ``X``.
* :func:`penalised_lr` is logistf's penalised likelihood-ratio test: the
  reduced model is the full model with the tested coefficients constrained to
  0, maximising the *full* model's penalised likelihood over the rest
  (refitting the reduced design with its own, smaller, penalty shifts the
  statistic by the difference of the two log-determinants and rejects nearly
  always under the null).
* :func:`profile_interval` is logistf's default interval: the values of a
  coefficient (or of a contrast ``c'b``) where ``2 (pl_max - pl_profile)``
  equals ``chi2_1(0.95)``.

Tested against an R implementation of the same penalised likelihood
(``tests/reference/R/firth.R``; full-model estimates cross-checked with
``brglm2::brglmFit(type = "AS_mean")``, which for logistic regression is
Firth's estimator): estimates and SEs to 1e-6, statistics to 1e-5, profile
limits to 1e-4.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats
from scipy.special import expit
from threadpoolctl import ThreadpoolController

from analysis.errors import ModelError
from analysis.models.design import rcs_basis

_BLOCK = 1 << 14
# Below this many design cells a BLAS call is too small to share between threads: with
# threads, the hundreds of small fits of a profile interval ran 20x slower on a busy
# 2-core machine (122 s against 6 s for 1,035 rows and 33 columns).
_ONE_THREAD_CELLS = 2_000_000


_BLAS: list[ThreadpoolController] = []  # found once: each search reads /proc/self/maps
_limited = threading.local()


def _one_thread(function):
    """Run ``function`` (whose first argument is a design X) on one BLAS thread if X is small.

    Nested calls (the fits of a profile interval inside a profile) reuse the
    outer limit: setting it costs a scan of the loaded libraries, which took
    half the time of a 600-row report's Firth models when done per fit.
    """
    from functools import wraps

    @wraps(function)
    def wrapper(X, *args, **kwargs):
        if np.size(X) >= _ONE_THREAD_CELLS or getattr(_limited, "on", False):
            return function(X, *args, **kwargs)
        if not _BLAS:
            _BLAS.append(ThreadpoolController())
        with _BLAS[0].limit(limits=1, user_api="blas"):
            _limited.on = True
            try:
                return function(X, *args, **kwargs)
            finally:
                _limited.on = False

    return wrapper
MAX_STEP = 5.0  # logistf's maxstep: no coefficient moves further in one iteration
STALL = 10  # iterations over which a penalised likelihood that stopped rising ends the fit


@dataclass
class FirthResults:
    """A Firth fit: penalised estimates, the inverse information at them, convergence.

    ``cov`` is ``(X'WX)^-1`` at the estimate (logistf's ``var``); ``llf`` is
    the penalised log-likelihood and ``loglik`` the unpenalised one.
    ``fixed`` maps the indices of coefficients held fixed to their values.
    """

    params: np.ndarray
    cov: np.ndarray
    llf: float
    loglik: float
    converged: bool
    n_iter: int
    max_gradient: float  # largest |score| / sqrt(information) over the free coefficients
    last_step: float
    fixed: dict[int, float] = field(default_factory=dict)

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def cov_params(self) -> np.ndarray:
        return self.cov


def _evaluate(X, events, trials, beta):
    """(pl, loglik, information, its inverse, modified score) at ``beta``; None if singular."""
    eta = X @ beta
    # log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta), without overflow.
    loglik = -float(np.sum(events * np.logaddexp(0.0, -eta)
                           + (trials - events) * np.logaddexp(0.0, eta)))
    p = expit(eta)
    w = trials * p * (1.0 - p)
    k = X.shape[1]
    info = np.zeros((k, k))
    for s in range(0, X.shape[0], _BLOCK):
        block = X[s:s + _BLOCK]
        info += block.T @ (block * w[s:s + _BLOCK, None])
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    inv = np.linalg.inv(info)
    h = np.empty_like(w)
    for s in range(0, X.shape[0], _BLOCK):
        block = X[s:s + _BLOCK]
        h[s:s + _BLOCK] = w[s:s + _BLOCK] * np.einsum("ij,ij->i", block @ inv, block)
    score = X.T @ (events - trials * p + h * (0.5 - p))
    return loglik + 0.5 * logdet, loglik, info, inv, score


def penalised_loglik(X: np.ndarray, events: np.ndarray, trials: np.ndarray,
                     beta: np.ndarray) -> float:
    """``l(b) + 0.5 log|X'WX|`` at ``beta`` (``-inf`` where the information is singular)."""
    state = _evaluate(X, np.asarray(events, float), np.asarray(trials, float),
                      np.asarray(beta, float))
    return -np.inf if state is None else state[0]


@_one_thread
def penalised_fit(X: np.ndarray, events: np.ndarray, trials: np.ndarray,
                  start: np.ndarray | None = None, fixed: dict[int, float] | None = None, *,
                  xtol: float = 1e-10, gtol: float = 1e-9, maxiter: int = 200) -> FirthResults:
    """Maximise Firth's penalised log-likelihood, optionally with coefficients held fixed.

    Method: Fisher scoring on the modified score of the free coefficients,
    ``b_free += I_ff^-1 U*_free`` (``I`` = X'WX of the full design, ``U*``
    the gradient of ``pl``), each step capped at 5 (logistf's ``maxstep``) and
    halved while ``pl`` falls. Converged when the last step is below ``xtol``
    in every coefficient *and* every free score, standardised as
    ``|U*_j| / sqrt(I_jj)`` (scale-free, so it does not grow with n), is below
    ``gtol``. The covariance is ``I^-1`` at the final estimate. A constrained
    fit (``fixed``: a test's or profile's, where only ``pl`` is used) whose
    penalised likelihood rose by less than 1e-11 (relative) over 10
    iterations stops (converged if the scores are below ``gtol`` and the
    last step below 1e-8, otherwise not): on sparse data with a near-singular
    information the scores can stay above ``gtol`` while ``pl`` is at its
    maximum to working precision (it took the full 200 iterations before).

    ``fixed`` maps coefficient indices to the values they are held at (0 for
    a penalised likelihood-ratio test, a grid value for a profile); the
    penalty is still that of the whole design ``X``.

    Tested against R (``tests/reference/R/firth.R``: the same likelihood
    maximised there, full fits checked with ``brglm2``) to 1e-6.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    >>> fit = penalised_fit(X, np.array([0., 1, 1, 1]), np.ones(4))
    >>> round(float(fit.params[1]), 4)  # finite although x = 1 has only events
    1.6094
    """
    X = np.asarray(X, float)
    events = np.asarray(events, float)
    trials = np.asarray(trials, float)
    k = X.shape[1]
    fixed = {int(j): float(v) for j, v in (fixed or {}).items()}
    free = np.array([j not in fixed for j in range(k)])
    beta = np.zeros(k) if start is None else np.array(start, float)
    if start is None and free[0] and np.all(X[:, 0] == 1.0):
        ybar = events.sum() / trials.sum()
        beta[0] = np.log((ybar + 0.5 / trials.sum()) / (1 - ybar + 0.5 / trials.sum()))
    for j, v in fixed.items():
        beta[j] = v
    state = _evaluate(X, events, trials, beta)
    if state is None:
        raise np.linalg.LinAlgError("the information matrix X'WX is singular at the start")
    converged, iterations, last_step, max_gradient = False, 0, np.inf, np.inf
    history = []  # pl after each iteration
    while iterations < maxiter:
        iterations += 1
        pl, _, info, _, score = state
        if not free.any():
            converged, last_step, max_gradient = True, 0.0, 0.0
            break
        g = score[free]
        info_ff = info[np.ix_(free, free)]
        step = np.linalg.solve(info_ff, g)
        largest = np.max(np.abs(step))
        if largest > MAX_STEP:
            step *= MAX_STEP / largest
        for _ in range(40):  # step-halving while the penalised likelihood falls
            candidate = beta.copy()
            candidate[free] += step
            new = _evaluate(X, events, trials, candidate)
            if new is not None and new[0] >= pl - 1e-12 * max(1.0, abs(pl)):
                break
            step = step / 2
        else:
            break  # no ascent possible: stationary to working precision, or stuck
        beta, state = candidate, new
        last_step = float(np.max(np.abs(step)))
        g_new, info_new = state[4][free], state[2][np.ix_(free, free)]
        max_gradient = float(np.max(np.abs(g_new) / np.sqrt(np.diag(info_new))))
        if last_step < xtol and max_gradient < gtol:
            converged = True
            break
        history.append(state[0])
        if fixed and len(history) > STALL and history[-1] - history[-1 - STALL] <= 1e-11 * max(
                1.0, abs(history[-1])):
            # stationary at working precision without meeting gtol (a near-singular
            # information on sparse data): more steps only cycle, and pl no longer changes;
            # steps that still shrink below 1e-8 with scores under gtol have converged
            converged = max_gradient < gtol and last_step < 1e-8
            break
    pl, loglik, info, inv, score = state
    return FirthResults(beta, inv, float(pl), float(loglik), converged, iterations,
                        float(max_gradient), float(last_step), fixed)


def _reparametrise(X: np.ndarray, contrast: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """A design ``Z = X A`` whose coefficient ``m`` is ``c'b`` (and ``A^-1``).

    ``A^-1`` is the identity with row ``m`` (the largest ``|c_m|``) replaced
    by ``c``, so ``gamma = A^-1 b`` keeps the other coefficients. The penalty
    of ``Z`` differs from that of ``X`` by the constant ``log|det A|``, so
    differences of penalised likelihoods, tests and profiles are unchanged.
    """
    m = int(np.argmax(np.abs(contrast)))
    a_inv = np.eye(X.shape[1])
    a_inv[m] = contrast
    return X @ np.linalg.inv(a_inv), m, a_inv


def penalised_lr(X: np.ndarray, events: np.ndarray, trials: np.ndarray, full: FirthResults,
                 drop: list[int]) -> tuple[float, int, float]:
    """Penalised likelihood-ratio test of ``b_j = 0`` for every ``j`` in ``drop`` (logistf).

    Statistic ``2 [pl(b_hat) - max pl(b | b_drop = 0)]`` with the full
    design's penalty on both sides, referred to chi-square on ``len(drop)``
    degrees of freedom (Heinze & Schemper 2002).

    Examples
    --------
    >>> X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> e, t = np.array([0., 1, 0, 1, 1, 1]), np.ones(6)
    >>> stat, df, p = penalised_lr(X, e, t, penalised_fit(X, e, t), [1])
    >>> df
    1
    """
    start = full.params.copy()
    start[list(drop)] = 0.0
    reduced = penalised_fit(X, events, trials, start, dict.fromkeys(drop, 0.0))
    stat = max(2.0 * (full.llf - reduced.llf), 0.0)
    return stat, len(drop), float(stats.chi2.sf(stat, len(drop)))


@_one_thread
def profile_interval(X: np.ndarray, events: np.ndarray, trials: np.ndarray,
                     full: FirthResults, contrast: np.ndarray | int,
                     level: float = 0.95) -> tuple[float, float]:
    """Profile penalised-likelihood interval of ``b_j`` (``contrast=j``) or of ``c'b``.

    The limits solve ``2 [pl(b_hat) - max pl(b | c'b = v)] = chi2_1(level)``
    (logistf's default confidence interval); each side is bracketed by
    stepping out from the estimate in Wald half-widths, then found by
    Brent's method to 1e-10. A side whose profile never reaches the
    critical value within 1000 (log-scale) of the estimate is infinite.

    Examples
    --------
    >>> X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    >>> e, t = np.array([0., 1, 0, 1, 1, 1]), np.ones(6)
    >>> low, high = profile_interval(X, e, t, penalised_fit(X, e, t), 1)
    >>> bool(low < 0 < high)
    True
    """
    k = X.shape[1]
    c = np.zeros(k)
    if isinstance(contrast, int | np.integer):
        c[int(contrast)] = 1.0
    else:
        c = np.asarray(contrast, float)
    Z, m, a_inv = _reparametrise(X, c)
    gamma = a_inv @ full.params
    pl_hat = penalised_loglik(Z, events, trials, gamma)
    z = float(np.sqrt(stats.chi2.ppf(level, 1)))
    se = float(np.sqrt(c @ full.cov @ c))
    warm = {"start": gamma.copy()}

    def excess(value: float) -> float:
        # |signed root| - z: the signed root of the penalised LR statistic is nearly linear
        # in the coefficient, so Brent's method needs few of these nested fits
        start = warm["start"].copy()
        start[m] = value
        fit = penalised_fit(Z, events, trials, start, {m: value})
        warm["start"] = fit.params
        return float(np.sqrt(max(2.0 * (pl_hat - fit.llf), 0.0))) - z

    limits = []
    for side in (-1.0, 1.0):
        warm["start"] = gamma.copy()
        inner, width = gamma[m], max(se, 1e-3) * z  # first try the Wald limit
        outer = inner + side * width
        found = False
        while abs(outer - gamma[m]) < 1000:
            if excess(outer) > 0:
                found = True
                break
            inner, width = outer, width * 2
            outer = inner + side * width
        if not found:
            limits.append(side * np.inf)
            continue
        lo, hi = sorted((inner, outer))
        try:
            limits.append(optimize.brentq(excess, lo, hi, xtol=1e-10, rtol=1e-12))
            continue
        except ValueError:
            pass
        # A warm start can land the nested fit elsewhere on a flat penalised likelihood, so
        # that the bracket found no longer changes sign: search again from the estimate,
        # each nested fit started from the unconstrained estimates.
        def cold(value: float) -> float:
            warm["start"] = gamma.copy()
            return excess(value)

        lo, hi = sorted((float(gamma[m]), outer))
        try:
            limits.append(optimize.brentq(cold, lo, hi, xtol=1e-10, rtol=1e-12))
        except ValueError as exc:
            raise ModelError("Firth profile-likelihood interval: the penalised likelihood "
                             f"ratio does not cross its limit between {lo:.4g} and {hi:.4g} "
                             "(a flat likelihood); the model's intervals cannot be "
                             "computed.") from exc
    return float(limits[0]), float(limits[1])


def fit_data(fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, events, trials) of a :class:`~analysis.models.fitting.Fit` (rows: trials 1)."""
    if fit.method == "rows":
        return fit.design.X, np.asarray(fit.y, float), np.ones(fit.y.size)
    return fit.design.X, np.asarray(fit.events, float), np.asarray(fit.trials, float)


def fit_penalised_lr(fit, drop: list[int]) -> tuple[float, int, float]:
    """:func:`penalised_lr` of a Firth :class:`~analysis.models.fitting.Fit`."""
    X, events, trials = fit_data(fit)
    return penalised_lr(X, events, trials, fit.raw, drop)


def fit_profile_interval(fit, contrast: np.ndarray | int) -> tuple[float, float]:
    """:func:`profile_interval` of a Firth :class:`~analysis.models.fitting.Fit`."""
    X, events, trials = fit_data(fit)
    return profile_interval(X, events, trials, fit.raw, contrast)


def profile_rows(fit, tidy, terms, enc):
    """Tidy rows of a Firth fit with profile intervals and penalised LR p-values.

    Every row with an estimate (not a reference row) gets the profile
    penalised-likelihood 95% interval of its log odds ratio, exponentiated,
    and the p-value of the 1-df penalised likelihood-ratio test of that log
    odds ratio being 0 (logistf's defaults). A row is a design column, or for
    a spline a contrast of the spline columns (the knot against the median).
    """
    names = list(fit.design.names)
    contrasts: dict[str, np.ndarray] = {}
    for term in terms:
        if term.kind != "spline":
            continue
        e = enc[term.name]
        idx = fit.design.index(term)
        base = rcs_basis(np.array([float(np.median(e.values))]), term.knots)[0]
        for knot in term.knots:
            c = np.zeros(len(names))
            c[idx] = rcs_basis(np.array([knot]), term.knots)[0] - base
            contrasts[f"{e.name}[{knot:g}]"] = c
    X, events, trials = fit_data(fit)
    out = tidy.copy()
    for i, row in out.iterrows():
        if not np.isfinite(row["ci_low"]) and not np.isfinite(row["ci_high"]):
            continue  # a reference row
        if row["term"] in names:
            c = np.zeros(len(names))
            c[names.index(row["term"])] = 1.0
        elif row["term"] in contrasts:
            c = contrasts[row["term"]]
        else:
            continue
        low, high = profile_interval(X, events, trials, fit.raw, c)
        if row["term"] in names:
            _, _, p = penalised_lr(X, events, trials, fit.raw, [names.index(row["term"])])
        else:
            Z, m, a_inv = _reparametrise(X, c)
            full = penalised_fit(Z, events, trials, a_inv @ fit.params)
            _, _, p = penalised_lr(Z, events, trials, full, [m])
        out.loc[i, ["ci_low", "ci_high", "p_value"]] = [np.exp(low), np.exp(high), p]
    return out


__all__ = ["FirthResults", "fit_data", "fit_penalised_lr", "fit_profile_interval",
           "penalised_fit", "penalised_loglik", "penalised_lr", "profile_interval",
           "profile_rows"]

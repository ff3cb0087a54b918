"""Maximum-likelihood logistic regression on rows by Newton-Raphson, in blocks of rows.

The row engine of :mod:`analysis.models.fitting`: :func:`newton_logit` (warm
start from a systematic sample, single-precision information far from the
maximum, one pass over X per iteration; unweighted or with survey weights,
:func:`weighted_newton`) and the numerical rank of a design from its Gram
matrix (:func:`design_rank`, :func:`gram_rank`); its passes are summed as
:mod:`analysis.models.blocked` sums. Tested against ``statsmodels.api.Logit``
and R's ``glm`` (``tests/test_models_fitting.py``, fixture ``logistic``).
"""

from __future__ import annotations

import warnings

import numpy as np
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools import sm_exceptions

from analysis.models.blocked import in_halves, one_blas_thread, weighted_gram


def design_rank(X: np.ndarray, tol: float = 1e-7) -> int:
    """Numerical rank of a design, judged on its columns scaled to unit length.

    numpy's default tolerance is relative to the largest singular value of X
    as given, so columns on different scales (degrees beside an intercept)
    or values stored to limited precision can hide an exact dependence such
    as pelvic incidence = pelvic tilt + sacral slope (condition number 3e10,
    full rank by the default rule). The rank here counts singular values of
    the unit-scaled columns above ``tol`` times the largest; it works from the
    Gram matrix X'X, so it costs one pass over the rows.
    """
    return gram_rank(weighted_gram(X, np.ones(X.shape[0])), tol)


def gram_rank(gram: np.ndarray, tol: float = 1e-7) -> int:
    """Rank of X from X'WX (any positive weights), on unit-scaled columns; see design_rank."""
    norms = np.sqrt(np.diag(gram))
    if (norms == 0).any():
        return int((norms > 0).sum())
    singular = np.sqrt(np.clip(np.linalg.eigvalsh(gram / np.outer(norms, norms)), 0, None))
    return int((singular > singular.max() * tol).sum())


class RankDeficientError(Exception):
    """Raised inside a fit when the design's columns are linearly dependent."""

    def __init__(self, rank: int):
        super().__init__(rank)
        self.rank = rank


TOL = 1e-8  # Newton's default tolerance: the largest step at which it stops


def newton_logit(X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, *,
                 tol: float = TOL, maxiter: int = 100, check_rank: bool = False,
                 weights: np.ndarray | None = None):
    """Maximum-likelihood logistic regression by Newton-Raphson, as a statsmodels result.

    Method: Newton-Raphson on the log-likelihood with step-halving, the
    score X'(y - p) and the information matrix X'WX accumulated together over
    blocks of rows, so that no n x k temporary is made (on 10^6 rows x 41
    columns that temporary is 330 MB per iteration) and each iteration reads
    X once: the linear predictor, log-likelihood, information and score of a
    block are computed while it is in cache (:func:`_logit_pass`); from a
    warm start, the information of the first iterations is formed in single
    precision (see :func:`_newton`: the path changes, not the maximum). Without
    ``start``, a sample of more than :data:`WARM_ROWS` rows starts from the
    estimate on every m-th row (about :data:`WARM_ROWS` rows; the same rows on
    every run), so the full data need about three iterations instead of six;
    otherwise, and when that estimate cannot be had (a level missing from the
    rows, no convergence), from the intercept-only estimate when the first
    column is the intercept. The maximum is unique, so the start changes only
    how fast it is reached, not where: it stops when the largest step is
    below ``tol`` (as statsmodels' Newton does); Newton converges
    quadratically, so the estimates are then exact to about ``tol**2``. The
    covariance is the inverse information of the last iteration, computed
    before that last step (it differs from the one at the final estimate by
    O(``tol``) relative). ``check_rank`` raises :class:`RankDeficientError` when
    the first information matrix shows dependent columns. ``weights`` (one per
    row, >= 0) make it the pseudo-maximum-likelihood fit of ``sum w [y log p +
    (1 - y) log(1 - p)]`` (a survey-weighted logistic regression's estimate,
    whose design-based covariance :mod:`analysis.models.survey_logit` adds);
    its information is then ``X' diag(w p (1-p)) X``. The estimates and
    the inverse information are then wrapped in
    ``statsmodels.discrete.discrete_model.LogitResults``, so callers get the
    usual statsmodels API (``params``, ``bse``, ``cov_params()``, ``llf``,
    ``summary()``).

    Tested against ``statsmodels.api.Logit(y, X).fit(method="newton")``
    (estimates and standard errors to 1e-8 relative, log-likelihood to 1e-9).
    """
    from statsmodels.base.model import LikelihoodModelResults
    from statsmodels.discrete.discrete_model import BinaryResultsWrapper, LogitResults

    n, k = X.shape
    y = np.asarray(y, dtype=np.float64)
    with one_blas_thread():
        warm = False
        if start is not None:
            beta = np.asarray(start, dtype=np.float64).copy()
        else:
            beta = _warm_start(X, y, tol, weights) if n > 2 * WARM_ROWS else None
            warm = beta is not None
            if beta is None:
                beta = np.zeros(k)
                ybar = y.mean() if weights is None else _weighted_mean(y, weights)
                if 0 < ybar < 1 and np.all(X[:, 0] == 1.0):
                    beta[0] = np.log(ybar / (1 - ybar))
        # A warm start was fitted on a subset of the rows with its rank checked: the
        # columns of all rows are then independent too, and the path may start rough.
        beta, llf, information, converged, iterations = _newton(
            X, y, beta, tol, maxiter, check_rank and not warm, rough=warm, w=weights)
    try:
        cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    # The rank is known from the invertible information matrix; statsmodels'
    # own check is a QR decomposition of X that costs more than the whole fit.
    model = Logit(y, X, check_rank=False)
    fit = LikelihoodModelResults(model, beta, normalized_cov_params=cov, scale=1.0)
    fit.mle_retvals = {"converged": converged, "iterations": iterations, "fopt": -llf / n}
    fit.mle_settings = {"optimizer": "newton", "start_params": start, "maxiter": maxiter}
    if not converged or np.max(np.abs(beta)) > 30:
        warnings.warn("Newton-Raphson did not converge", sm_exceptions.ConvergenceWarning,
                      stacklevel=2)
    with one_blas_thread():  # statsmodels' separation check reads X @ params
        results = LogitResults(model, fit)
    results._cache["llf"] = llf  # statsmodels would read X once more to recompute it
    return BinaryResultsWrapper(results)


WARM_ROWS = 100_000  # rows of the sample a large fit starts from


EXACT_STEP = 1e-12  # a Newton step this small moves the estimate by rounding only


def weighted_newton(X: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray,
                    tol: float = 1e-10, maxiter: int = 100
                    ) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Survey-weighted logistic fit of 0/1 rows: (params, bread, pseudo-log-likelihood, converged).

    The estimate of :func:`newton_logit` with ``weights=w`` and the bread
    ``(X' diag(w p (1-p)) X)^-1`` at it, in the same blocked passes. From a
    ``start`` that is the estimate already (a weighted fit came first), one
    pass: its step is below :data:`EXACT_STEP`, so its information is the
    estimate's. Otherwise Newton to ``tol`` and then that pass. Tested
    through :func:`analysis.models.survey_logit.design_logistic_fit` against
    ``svyglm`` (fixture ``design``) and against the rows repeated by integer
    weights.
    """
    beta = np.asarray(start, dtype=np.float64).copy()
    converged = True
    with one_blas_thread():
        llf, information, score = _logit_pass(X, y, beta, w=w)
        step = _solve(information, score)
        if np.max(np.abs(step)) >= EXACT_STEP:
            beta, _, _, converged, _ = _newton(X, y, beta, tol, maxiter, False, w=w)
            llf, information, score = _logit_pass(X, y, beta, w=w)
            step = _solve(information, score)
    try:
        bread = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        bread = np.full(information.shape, np.nan)
    return beta + step, bread, llf, converged


def _weighted_mean(y: np.ndarray, w: np.ndarray) -> float:
    total = float(w.sum())
    return float(w @ y) / total if total > 0 else float("nan")


def _warm_start(X: np.ndarray, y: np.ndarray, tol: float, w: np.ndarray | None = None
                ) -> np.ndarray | None:
    """The estimate on a systematic sample of about WARM_ROWS rows, or None when it fails.

    The sample is every m-th run of :data:`WARM_RUN` consecutive rows
    (:func:`warm_blocks`), read in place: every m-th single row would touch
    nearly every cache line of X (a strided copy of it cost as much as a
    pass over all rows), and a copy of the sample is 35 MB of fresh memory
    at 10^6 rows, slow to touch on a virtual machine.
    """
    blocks = warm_blocks(X.shape[0])
    ys = np.concatenate([y[a:b] for a, b in blocks])
    ybar = ys.mean() if w is None else _weighted_mean(
        ys, np.concatenate([w[a:b] for a, b in blocks]))
    if not 0 < ybar < 1:
        return None
    beta = np.zeros(X.shape[1])
    if all(np.all(X[a:b, 0] == 1.0) for a, b in blocks):
        beta[0] = np.log(ybar / (1 - ybar))
    try:
        beta, _, _, converged, _ = _newton(X, y, beta, tol, 25, True, blocks, w=w)
    except (RankDeficientError, np.linalg.LinAlgError):
        return None
    # a separated sample diverges; such a start would be worse than none
    return beta if converged and np.all(np.isfinite(beta)) and np.max(np.abs(beta)) < 30 \
        else None


WARM_RUN = 512  # consecutive rows per run of the warm-start sample


def warm_blocks(n: int) -> list[tuple[int, int]]:
    """Row ranges of the warm-start sample of n rows: every m-th run of WARM_RUN rows."""
    run = max(1, min(WARM_RUN, WARM_ROWS // 100))
    step = max(1, n // WARM_ROWS) * run
    return [(a, min(a + run, n)) for a in range(0, n, step)]


ROUGH_STEP = 1e-5  # a step at least this large: the next information may be single precision


def _newton(X, y, beta, tol, maxiter, check_rank, blocks=None, rough=False, w=None):
    """Newton-Raphson with step-halving from ``beta``: (beta, llf, information, converged, it).

    Each iteration is one pass over the rows (:func:`_logit_pass`): the
    log-likelihood at the new estimate and the information and score there,
    which the next step needs. A step below ``tol`` ends it: the estimate
    moves by that step and its log-likelihood is the quadratic expansion
    ``llf + score'step - step'I step / 2`` (exact to O(tol^3), a pass fewer).
    The information returned is the one before the last step, always in
    double precision.

    ``rough=True`` (a large fit from a warm start) computes the information
    in single precision while the last step was at least :data:`ROUGH_STEP`
    (the syrk at half the cost): far from the maximum it only sets the path,
    and an information with relative error ~1e-6 leaves Newton's convergence
    quadratic down to errors of ~1e-6 times the step. The score is always in
    double precision, so the maximum is the same; a step below ``tol`` from a
    single-precision information is recomputed from a double-precision one
    at the same estimate before it can end the iteration. ``w``: row weights
    (:func:`newton_logit`).
    """
    k = X.shape[1]
    precise = not rough
    llf, information, score = _logit_pass(X, y, beta, blocks=blocks, precise=precise, w=w)
    converged, iterations = False, 0
    for iterations in range(1, maxiter + 1):
        if check_rank and iterations == 1:
            rank = gram_rank(information)
            if rank < k:
                raise RankDeficientError(rank)
        step = _solve(information, score)
        if np.max(np.abs(step)) < tol and not precise:
            precise = True
            llf, information, score = _logit_pass(X, y, beta, blocks=blocks, w=w)
            step = _solve(information, score)
        if np.max(np.abs(step)) < tol:
            beta = beta + step
            llf = llf + float(score @ step) - 0.5 * float(step @ information @ step)
            converged = True
            break
        # Step-halving keeps the likelihood rising where a full step overshoots.
        precise = not rough or np.max(np.abs(step)) < ROUGH_STEP
        for _ in range(30):
            candidate = beta + step
            new_llf, new_information, new_score = _logit_pass(X, y, candidate, True, blocks,
                                                              precise, w)
            if new_llf >= llf - 1e-12 * abs(llf):
                break
            step = step / 2
        beta, llf = candidate, new_llf
        information, score = new_information, new_score
    # not converged: ``information`` is the one where it stopped
    if not converged and not precise:
        llf, information, score = _logit_pass(X, y, beta, blocks=blocks, w=w)
    return beta, llf, information, converged, iterations


def _solve(information: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(information, score)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(information, score, rcond=None)[0]


_PASS_BLOCK = 1 << 12  # rows per block of a Newton pass: the block and its scaled copy
# (4,096 x 44 x 8 bytes, 1.4 MB each) stay in cache for the four products on them


def _logit_pass(X: np.ndarray, y: np.ndarray, beta: np.ndarray, full: bool = True,
                blocks: list[tuple[int, int]] | None = None, precise: bool = True,
                w: np.ndarray | None = None
                ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Log-likelihood at ``beta`` and (``full``) the information X'WX and score X'(y - p).

    One pass over blocks of rows: the linear predictor, the probabilities,
    the weights and the products of each block are made while the block is in
    cache, so X is read once per Newton iteration and no n-sized temporary is
    made. ``blocks`` (row ranges) restricts the pass to those rows.
    ``precise=False`` forms the information's products in single precision
    (summed in double); the log-likelihood and score stay in double. A long
    pass is summed in two halves, side by side on two cores (:func:`in_halves`).
    With row weights ``w`` each row's terms are multiplied by its weight.
    """
    if blocks is None:
        blocks = [(a, a + _PASS_BLOCK) for a in range(0, X.shape[0], _PASS_BLOCK)]
    return in_halves(_pass_blocks, blocks, X, y, beta, full, precise, w)


def _pass_blocks(blocks, X, y, beta, full, precise, w=None):
    k = X.shape[1]
    llf = 0.0
    gram = np.zeros((k, k)) if full else None
    score = np.zeros(k) if full else None
    for start, stop in blocks:
        block = X[start:stop]
        yb = y[start:stop]
        wb = None if w is None else w[start:stop]
        eta = block @ beta
        # log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta), without overflow
        terms = np.logaddexp(0.0, np.where(yb > 0, -eta, eta))
        llf -= float(terms.sum() if wb is None else wb @ terms)
        if full:
            p = _expit(eta)
            variance = p * (1.0 - p) if wb is None else wb * p * (1.0 - p)
            root = np.sqrt(variance)[:, None]
            scaled = block * root if precise else np.multiply(block, root, dtype=np.float32)
            gram += scaled.T @ scaled  # numpy sees A'A and calls BLAS syrk: half the work
            score += ((yb - p) if wb is None else wb * (yb - p)) @ block
    return llf, gram, score


def _expit(eta: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(eta)

"""Fitting engine for binary outcomes: rows or covariate patterns, ML or Firth.

* ``rows``: ``statsmodels.api.Logit`` on the design array (Newton-Raphson).
* ``patterns``: the rows are collapsed to covariate patterns
  (:mod:`analysis.aggregate`) and ``statsmodels.api.GLM`` with a binomial
  family is fitted to ``(events, trials - events)``; estimates and standard
  errors equal the row fit (tested to 1e-8 relative).
* ``firth=True``: Firth's penalised likelihood (Jeffreys prior) by
  :func:`analysis.models.firth.penalised_fit`, on rows or on patterns
  (events of trials); ``raw`` is its :class:`~analysis.models.firth.FirthResults`,
  whose covariance is the one in ``Fit.cov`` and the tables.

``method="auto"`` collapses when the distinct covariate patterns number at
most a tenth of the rows (:data:`PATTERN_RATIO`): then the pattern fit is
several times cheaper than the row fit, and it is never slower by much.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools import sm_exceptions

from analysis.aggregate import events_trials, pattern_index
from analysis.errors import BackpainWarning, ModelError
from analysis.models.design import Design, Encoded, Term, build_design
from analysis.models.firth import penalised_fit

PATTERN_RATIO = 10
Z95 = stats.norm.ppf(0.975)


@dataclass
class Fit:
    """One fitted model with what refits and diagnostics need."""

    name: str
    design: Design
    params: np.ndarray
    cov: np.ndarray
    llf: float
    raw: Any
    method: str
    firth: bool
    encoded: dict[str, Encoded]  # the rows (or pattern representatives) of the design
    y: np.ndarray | None = None  # rows: 0/1 outcome
    events: np.ndarray | None = None  # patterns: events and trials
    trials: np.ndarray | None = None
    converged: bool = True
    family: str = "binomial"  # binomial, poisson, negative binomial, ordinal, conditional, ...
    cov_type: str = "model"  # the covariance behind ``cov``: model, HC0, HC1, cluster, design
    df_resid: float | None = None  # t intervals and tests on these df (design-based fits)
    n_extra: int = 0  # estimated parameters beyond ``params`` (the NB dispersion)
    cells: Any = None  # a design-based fit on (pattern x PSU) cells: models.survey_logit

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def nobs(self) -> int:
        return int(self.y.size if self.method == "rows" else self.trials.sum())

    def coef(self, column: str) -> tuple[float, float]:
        j = self.design.names.index(column)
        return float(self.params[j]), float(self.bse[j])

    def fitted(self) -> np.ndarray:
        """Predicted probability of each design row."""
        return 1.0 / (1.0 + np.exp(-(self.design.X @ self.params)))

    def outcome_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(y, p, weight) in row form; patterns give one event row and one non-event row."""
        p = self.fitted()
        if self.method == "rows":
            return self.y, p, np.ones_like(p)
        y = np.r_[np.ones_like(p), np.zeros_like(p)]
        w = np.r_[self.events, self.trials - self.events]
        keep = w > 0
        return y[keep], np.r_[p, p][keep], w[keep]

    def refit(self, X: np.ndarray, names: list[str], start: np.ndarray | None = None,
              name: str | None = None) -> Fit:
        """The same outcome data fitted with another design (nested models for LR tests)."""
        design = Design(X, names, [])
        return fit_arrays(name or self.name, design, self.encoded, self.method, self.firth,
                           self.y, self.events, self.trials, start)


def fit_terms(name: str, terms: list[Term], encoded: dict[str, Encoded], y: np.ndarray,
              method: str = "auto", firth: bool = False, counts: dict | None = None) -> Fit:
    """Fit intercept + ``terms`` on complete rows ``encoded``/``y`` by the chosen method.

    ``counts`` (a dict, filled here) keeps each factor's respondents and events per
    level for further models of the same rows (and their tables: ``tidy_rows``).
    """
    used = {v for t in terms for v in t.variables}
    if method not in ("auto", "rows", "patterns"):
        raise ModelError(f"Unknown method {method!r}; use 'auto', 'rows' or 'patterns'.")
    if method == "auto" and used and _many_patterns([encoded[v] for v in sorted(used)],
                                                      y.size):
        method = "rows"
    if method != "rows" and used:
        if len(used) == 1 and encoded[next(iter(used))].kind == "factor":
            enc = encoded[next(iter(used))]
            levels, events, trials = factor_patterns(enc, y, counts)
            reps = {enc.name: replace(enc, codes=levels.astype(enc.codes.dtype))}
        else:
            inverse, first = pattern_index([encoded[v].group_codes for v in sorted(used)])
            reps = None
        if method == "patterns" or len(trials if reps else first) * PATTERN_RATIO <= y.size:
            if reps is None:
                events, trials = events_trials(inverse, y, n_patterns=first.size)
                reps = {v: encoded[v].take(first) for v in used}
            design = build_design(terms, reps)
            return fit_arrays(name, design, reps, "patterns", firth, None, events, trials)
    elif method == "patterns":  # intercept only: one pattern
        reps = {}
        design = Design(np.ones((1, 1)), ["Intercept"], [])
        return fit_arrays(name, design, reps, "patterns", firth, None,
                           np.array([y.sum()]), np.array([float(y.size)]))
    if not used:
        design = Design(np.ones((y.size, 1)), ["Intercept"], [])
        return fit_arrays(name, design, encoded, "rows", firth, y, None, None)
    design = build_design(terms, {v: encoded[v] for v in used})
    return fit_arrays(name, design, encoded, "rows", firth, y, None, None)


def factor_patterns(enc: Encoded, y: np.ndarray, counts: dict | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level codes, events, trials) of the covariate patterns of one factor: its levels.

    The patterns ``pattern_index`` and ``events_trials`` give (levels with
    respondents, ordered by code rather than by first appearance), from two
    counts of the codes instead of numbering every row (a crude model of one
    factor). ``counts`` caches the per-level counts by the factor's name.
    """
    if counts is not None and enc.name in counts:
        trials, events = counts[enc.name]
    else:
        k = len(enc.categories)
        trials = np.bincount(enc.codes, minlength=k)
        events = np.bincount(enc.codes, weights=y, minlength=k)
        if counts is not None:
            counts[enc.name] = (trials, events)
    levels = np.flatnonzero(trials)
    return levels, events[levels].astype(np.float64), trials[levels].astype(np.float64)


def _many_patterns(encoded: list[Encoded], n: int) -> bool:
    """True when the first rows alone hold more than n / PATTERN_RATIO covariate patterns.

    Then the whole sample holds more, and ``method="auto"`` fits rows; this
    settles it from 30% of the rows (continuous covariates, or many factors
    at 10^6 rows) instead of numbering every row's pattern to find out.
    """
    m = min(n, 3 * (n // PATTERN_RATIO))
    if m >= n or m == 0:
        return False
    if all(e.kind == "factor" for e in encoded) and \
            np.prod([float(len(e.categories)) for e in encoded]) * PATTERN_RATIO <= n:
        return False  # the possible patterns alone are few enough
    codes = [(e.codes[:m].astype(np.int64), len(e.categories)) if e.kind == "factor"
             else e.take(slice(0, m)).group_codes for e in encoded]
    return pattern_index(codes)[1].size * PATTERN_RATIO > n


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
    return gram_rank(_weighted_gram(X, np.ones(X.shape[0])), tol)


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


def _rank_error(name: str, design: Design, rank: int) -> ModelError:
    return ModelError(
        f"Model {name!r}: the design has {design.X.shape[1]} columns but rank {rank}; a level "
        "with no respondents or variables that determine each other "
        f"(columns: {', '.join(design.names)})."
    )


def fit_arrays(name, design, encoded, method, firth, y, events, trials, start=None) -> Fit:
    X = design.X
    # A row fit checks the rank on its first information matrix instead of
    # paying for one more pass over the rows.
    rank = X.shape[1] if method == "rows" and not firth else design_rank(X)
    if rank < X.shape[1]:
        raise _rank_error(name, design, rank)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if firth:
                raw, params, cov, llf, converged = _firth(X, y, events, trials, start)
            elif method == "rows":
                try:
                    raw = newton_logit(X, y, start, check_rank=True)
                except RankDeficientError as exc:
                    raise _rank_error(name, design, exc.rank) from None
                params, cov, llf = raw.params, raw.cov_params(), raw.llf
                converged = bool(raw.mle_retvals["converged"])
            else:
                endog = np.column_stack([events, trials - events])
                glm = sm.GLM(endog, X, family=sm.families.Binomial())
                known = _pattern_start(X, events, trials) if start is None else None
                if known is not None:
                    # From the maximum, IRLS's step is ~1e-16: judged on the estimates, it
                    # has converged after one iteration. Judged on the deviance (the
                    # default) a saturated model never converges: its deviance is 0 up to
                    # rounding noise above the 1e-12 tolerance (it ran to maxiter or
                    # stopped by chance after some 60 iterations).
                    raw = glm.fit(start_params=known, tol=1e-12, maxiter=200,
                                  tol_criterion="params")
                else:
                    raw = glm.fit(start_params=start, tol=1e-12, maxiter=200)
                params, cov, llf = raw.params, raw.cov_params(), raw.llf
                converged = bool(raw.converged)
        except (np.linalg.LinAlgError, sm_exceptions.PerfectSeparationError) as exc:
            raise ModelError(
                f"Model {name!r} cannot be fitted by maximum likelihood ({exc}); the data are "
                "probably separated. Check analysis.diagnostics.separation() and refit with "
                "firth=True."
            ) from None
    # A saturated pattern fit reproduces the observed proportions, which statsmodels'
    # GLM mistakes for perfect separation; only the row fit's warning means separation.
    trouble = [sm_exceptions.ConvergenceWarning, sm_exceptions.HessianInversionWarning]
    if method == "rows":
        trouble.append(sm_exceptions.PerfectSeparationWarning)
    if any(issubclass(w.category, tuple(trouble)) for w in caught):
        converged = False
    if not np.all(np.isfinite(cov)):
        converged = False
    # The warning is for a caller outside the package; the Fit's ``converged`` becomes a
    # "non-convergence" notice on the result (models/logistic.py names the model).
    if not converged:
        warnings.warn(
            f"Model {name!r} did not converge (separated data or a sparse level?): its "
            "estimates are not reliable. See analysis.diagnostics.separation(); firth=True "
            "gives finite estimates.", BackpainWarning, stacklevel=4)
    return Fit(name, design, np.asarray(params, float), np.asarray(cov, float), float(llf), raw,
               method, firth, encoded, y, events, trials, converged)


def _pattern_start(X: np.ndarray, events: np.ndarray, trials: np.ndarray
                   ) -> np.ndarray | None:
    """The maximum-likelihood estimate on patterns by Newton's method, or None.

    A start for statsmodels' IRLS, which then stops after one iteration at the
    same maximum (the patterns are few, so this costs microseconds; IRLS from
    its own start took 60 to 200 iterations of statsmodels' overhead on a
    crude model of a million respondents). Newton's method without
    step-halving, from the intercept-only estimate, to a step below 1e-10.
    None (IRLS starts on its own) when it does not converge here: separated
    or sparse patterns, which IRLS then reports as it always did.
    """
    k = X.shape[1]
    beta = np.zeros(k)
    total = trials.sum()
    if not 0 < events.sum() < total or not np.all(X[:, 0] == 1.0):
        return None
    beta[0] = np.log(events.sum() / (total - events.sum()))
    for _ in range(50):
        p = _expit(X @ beta)
        information = X.T @ (X * (trials * p * (1.0 - p))[:, None])
        try:
            step = np.linalg.solve(information, X.T @ (events - trials * p))
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 30:
            return None
        if np.max(np.abs(step)) < 1e-10:
            return beta
    return None


def newton_logit(X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, *,
                 tol: float = 1e-8, maxiter: int = 100, check_rank: bool = False):
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
    the first information matrix shows dependent columns. The estimates and
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
            beta = _warm_start(X, y, tol) if n > 2 * WARM_ROWS else None
            warm = beta is not None
            if beta is None:
                beta = np.zeros(k)
                ybar = y.mean()
                if 0 < ybar < 1 and np.all(X[:, 0] == 1.0):
                    beta[0] = np.log(ybar / (1 - ybar))
        # A warm start was fitted on a subset of the rows with its rank checked: the
        # columns of all rows are then independent too, and the path may start rough.
        beta, llf, information, converged, iterations = _newton(
            X, y, beta, tol, maxiter, check_rank and not warm, rough=warm)
    try:
        cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    # The rank is known from the invertible information matrix; statsmodels'
    # own check is a QR decomposition of X that costs more than the whole fit.
    model = sm.Logit(y, X, check_rank=False)
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


_BLAS: list = []  # threadpoolctl's controller, found once (it reads /proc/self/maps)


@contextmanager
def one_blas_thread():
    """Limit BLAS to one thread inside (the Newton passes' products are on small blocks).

    A pass multiplies blocks of 4,096 rows: too small to share between
    threads. With OpenBLAS's default two threads on a busy 2-core machine the
    Newton passes of a 10^6-row fit took 11 s instead of 1.2 s (threads
    waiting for a core at every call). Nested uses keep the outer limit.
    """
    if getattr(_limited, "on", False):
        yield
        return
    from threadpoolctl import ThreadpoolController

    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    with _BLAS[0].limit(limits=1, user_api="blas"):
        _limited.on = True
        try:
            yield
        finally:
            _limited.on = False


_limited = threading.local()


def _warm_start(X: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray | None:
    """The estimate on a systematic sample of about WARM_ROWS rows, or None when it fails.

    The sample is every m-th run of :data:`WARM_RUN` consecutive rows
    (:func:`warm_blocks`), read in place: every m-th single row would touch
    nearly every cache line of X (a strided copy of it cost as much as a
    pass over all rows), and a copy of the sample is 35 MB of fresh memory
    at 10^6 rows, slow to touch on a virtual machine.
    """
    blocks = warm_blocks(X.shape[0])
    ys = np.concatenate([y[a:b] for a, b in blocks])
    if not 0 < ys.mean() < 1:
        return None
    beta = np.zeros(X.shape[1])
    if all(np.all(X[a:b, 0] == 1.0) for a, b in blocks):
        beta[0] = np.log(ys.mean() / (1 - ys.mean()))
    try:
        beta, _, _, converged, _ = _newton(X, y, beta, tol, 25, True, blocks)
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


def _newton(X, y, beta, tol, maxiter, check_rank, blocks=None, rough=False):
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
    at the same estimate before it can end the iteration.
    """
    k = X.shape[1]
    precise = not rough
    llf, information, score = _logit_pass(X, y, beta, blocks=blocks, precise=precise)
    converged, iterations = False, 0
    for iterations in range(1, maxiter + 1):
        if check_rank and iterations == 1:
            rank = gram_rank(information)
            if rank < k:
                raise RankDeficientError(rank)
        step = _solve(information, score)
        if np.max(np.abs(step)) < tol and not precise:
            precise = True
            llf, information, score = _logit_pass(X, y, beta, blocks=blocks)
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
                                                              precise)
            if new_llf >= llf - 1e-12 * abs(llf):
                break
            step = step / 2
        beta, llf = candidate, new_llf
        information, score = new_information, new_score
    # not converged: ``information`` is the one where it stopped
    if not converged and not precise:
        llf, information, score = _logit_pass(X, y, beta, blocks=blocks)
    return beta, llf, information, converged, iterations


def _solve(information: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(information, score)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(information, score, rcond=None)[0]


_BLOCK = 1 << 14
_PASS_BLOCK = 1 << 12  # rows per block of a Newton pass: the block and its scaled copy
# (4,096 x 44 x 8 bytes, 1.4 MB each) stay in cache for the four products on them


def _logit_pass(X: np.ndarray, y: np.ndarray, beta: np.ndarray, full: bool = True,
                blocks: list[tuple[int, int]] | None = None, precise: bool = True
                ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Log-likelihood at ``beta`` and (``full``) the information X'WX and score X'(y - p).

    One pass over blocks of rows: the linear predictor, the probabilities,
    the weights and the products of each block are made while the block is in
    cache, so X is read once per Newton iteration and no n-sized temporary is
    made. ``blocks`` (row ranges) restricts the pass to those rows.
    ``precise=False`` forms the information's products in single precision
    (summed in double); the log-likelihood and score stay in double.
    """
    k = X.shape[1]
    llf = 0.0
    gram = np.zeros((k, k)) if full else None
    score = np.zeros(k) if full else None
    if blocks is None:
        blocks = [(a, a + _PASS_BLOCK) for a in range(0, X.shape[0], _PASS_BLOCK)]
    for start, stop in blocks:
        block = X[start:stop]
        yb = y[start:stop]
        eta = block @ beta
        # log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta), without overflow
        llf -= float(np.logaddexp(0.0, np.where(yb > 0, -eta, eta)).sum())
        if full:
            p = _expit(eta)
            root = np.sqrt(p * (1.0 - p))[:, None]
            scaled = block * root if precise else np.multiply(block, root, dtype=np.float32)
            gram += scaled.T @ scaled  # numpy sees A'A and calls BLAS syrk: half the work
            score += (yb - p) @ block
    return llf, gram, score


def _weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X' diag(w) X, accumulated over blocks of rows."""
    k = X.shape[1]
    gram = np.zeros((k, k))
    for start in range(0, X.shape[0], _BLOCK):
        block = X[start:start + _BLOCK]
        gram += block.T @ (block * w[start:start + _BLOCK, None])
    return gram


def information_score(X: np.ndarray, w: np.ndarray, r: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """X' diag(w) X and X'r in one pass over blocks of rows (each block read once), w >= 0.

    No n x k temporary: at 10^6 rows and 44 columns, ``X.T @ (X * w[:, None])``
    makes a 350 MB one per call.
    """
    k = X.shape[1]
    gram, score = np.zeros((k, k)), np.zeros(k)
    root = np.sqrt(w)  # w >= 0 (p (1 - p), times sampling weights)
    for start in range(0, X.shape[0], _BLOCK):
        block = X[start:start + _BLOCK]
        scaled = block * root[start:start + _BLOCK, None]
        gram += scaled.T @ scaled  # numpy sees A'A and calls BLAS syrk: half the work
        score += block.T @ r[start:start + _BLOCK]
    return gram, score


def _expit(eta: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(eta)


def _firth(X, y, events, trials, start):
    """Firth fit on rows (``y``) or patterns (``events`` of ``trials``); see models.firth."""
    if y is not None:
        events, trials = np.asarray(y, float), np.ones(len(y))
    raw = penalised_fit(X, events, trials, start)
    return raw, raw.params, raw.cov, raw.llf, raw.converged


def wald(estimate: float, se: float) -> tuple[float, float, float]:
    """(ci_low, ci_high, p) of a log-scale estimate, normal approximation."""
    p = 2 * stats.norm.sf(abs(estimate / se)) if se > 0 else np.nan
    return estimate - Z95 * se, estimate + Z95 * se, p

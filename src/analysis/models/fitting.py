"""Fitting engine for binary outcomes: rows or covariate patterns, ML or Firth.

* ``rows``: Newton-Raphson on the design array in blocks of rows
  (:func:`analysis.models.newton.newton_logit`), wrapped as a statsmodels result.
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

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import expit
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools import sm_exceptions

from analysis.aggregate import events_trials, pattern_index
from analysis.errors import BackpainWarning, ModelError
from analysis.models.blocked import information_score, one_blas_thread
from analysis.models.design import Design, Encoded, Term, build_design
from analysis.models.firth import penalised_fit
from analysis.models.newton import RankDeficientError, design_rank, gram_rank, newton_logit

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
              method: str = "auto", firth: bool = False, counts: dict | None = None,
              weights: np.ndarray | None = None) -> Fit:
    """Fit intercept + ``terms`` on complete rows ``encoded``/``y`` by the chosen method.

    ``counts`` (a dict, filled here) keeps each factor's respondents and events per
    level for further models of the same rows (and their tables: ``tidy_rows``).
    ``weights`` (one per row) make a row fit the survey-weighted
    (pseudo-maximum-likelihood) one, which the design-based fit
    (:func:`analysis.design_based.design_logistic_fit`) then only checks and
    gives its covariance; a pattern fit stays unweighted (that fit refits on
    (pattern x PSU) cells from it).
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
        return fit_arrays(name, design, encoded, "rows", firth, y, None, None, weights=weights)
    design = build_design(terms, {v: encoded[v] for v in used})
    return fit_arrays(name, design, encoded, "rows", firth, y, None, None, weights=weights)


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


def _rank_error(name: str, design: Design, rank: int) -> ModelError:
    return ModelError(
        f"Model {name!r}: the design has {design.X.shape[1]} columns but rank {rank}; a level "
        "with no respondents or variables that determine each other "
        f"(columns: {', '.join(design.names)})."
    )


def fit_arrays(name, design, encoded, method, firth, y, events, trials, start=None,
               weights=None) -> Fit:
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
                    raw = newton_logit(X, y, start, check_rank=True, weights=weights)
                except RankDeficientError as exc:
                    raise _rank_error(name, design, exc.rank) from None
                params, cov, llf = raw.params, raw.cov_params(), raw.llf
                converged = bool(raw.mle_retvals["converged"])
            else:
                endog = np.column_stack([events, trials - events])
                glm = GLM(endog, X, family=families.Binomial())
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
        p = expit(X @ beta)
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


# the row engine's names, where callers of the fitting engine have found them
__all__ = ["PATTERN_RATIO", "Z95", "Fit", "RankDeficientError", "design_rank", "factor_patterns",
           "fit_arrays", "fit_terms", "gram_rank", "information_score", "newton_logit",
           "one_blas_thread", "wald"]

"""Incidence rate ratios for counts (spasm episodes): Poisson and negative binomial models."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools import sm_exceptions

from analysis.errors import ModelError
from analysis.models._prepare import (
    Prepared,
    base_info,
    make_fit,
    prepare,
    side_by_side,
    tidy_fit,
)
from analysis.models.fitting import Fit
from analysis.models.result import ModelResult
from analysis.models.robust import check_cov_type, cluster_column, sandwich

TEST_COLUMNS = ["test", "model", "statistic", "df", "p_value", "estimate"]


class CountResult(ModelResult):
    """Crude and adjusted incidence rate ratios from :func:`counts`."""


def counts(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
           adjust_for: Sequence[str] | None = None, family: str = "poisson",
           exposure_time: str | None = None, *, cov_type: str = "model",
           cluster: str | None = None, reference: Mapping[str, object] | None = None,
           impute: str | None = None, m: int = 20, seed: int = 0) -> CountResult:
    """Crude and adjusted incidence rate ratios (IRR) for a count outcome.

    Method: log-linear models fitted by maximum likelihood, ``log E[y] =
    log(t) + x'b`` with ``t`` the column ``exposure_time`` (an offset; rates
    per unit of it) or 1. ``family="poisson"``: ``statsmodels`` GLM, Poisson,
    as R's ``glm(family = poisson)``. ``family="negbin"``: NB2 (variance
    ``mu + alpha mu^2``, ``alpha = 1/theta`` in R's notation) fitted as
    ``MASS::glm.nb`` does it (:func:`negative_binomial`): ``b`` by IRLS given
    theta, theta by ML given the means, alternated to convergence; the
    standard errors of ``b`` come from the expected information with theta
    treated as known. IRR = ``exp(b)`` with Wald 95% intervals; factors are
    treatment coded against the codebook's reference level. ``cov_type``
    ``"robust"``/``"HC0"``, ``"HC1"`` or ``"cluster"`` (by ``cluster``,
    default the codebook's cluster role) replaces the model-based covariance
    by a sandwich (:mod:`analysis.models.robust`) from the GLM scores
    ``x (y - mu) / (1 + alpha mu)`` (alpha = 0 for Poisson), as R's
    ``sandwich::vcovHC`` and ``vcovCL(type = "HC1", cadjust = TRUE)`` do.
    ``impute="mice"`` fits on ``m`` multiply imputed data sets and pools
    (:mod:`analysis.models.imputation`).

    ``.tests`` holds the overdispersion tests of the adjusted model:

    * Cameron & Trivedi's auxiliary regression (Cameron & Trivedi 1990,
      *J Econometrics* 46:347-364): ``((y - mu)^2 - y) / mu = alpha mu + e``
      by OLS without intercept on the Poisson fit; one-sided t-test of
      ``alpha > 0`` (always reported);
    * for ``family="negbin"``, the likelihood-ratio test of ``alpha = 0``
      against the Poisson model, with the boundary-corrected p-value
      ``0.5 P(chi2_1 > LR)`` (Self & Liang 1987, *JASA* 82:605-610).

    ``.models`` holds our fits (``family`` ``"poisson"`` or ``"negative
    binomial"``, ``n_extra = 1`` for the dispersion), so ``.fit_statistics``
    gives R's ``logLik``, ``deviance`` and ``AIC``; ``info`` has ``alpha``,
    ``theta`` and their standard errors. When the sample is not
    overdispersed the ML estimate of alpha is 0 (the Poisson model): the
    negative binomial fit then equals the Poisson fit and a notice says so
    (R's ``glm.nb`` stops at its iteration limit with a huge theta).
    Non-convergence and rows left out are notices (``result.notices``).

    Rows missing the outcome, a model variable or the exposure time are left
    out and recorded in the survey ledger; a negative or fractional count, or
    an exposure time that is not positive, raises :class:`ModelError`.

    Tested against R (``tests/reference/R/counts.R``: ``glm``,
    ``sandwich::vcovHC``/``vcovCL``, ``MASS::glm.nb`` with and without
    offset, an underdispersed sample with offset) and ``statsmodels``.

    Examples
    --------
    >>> result = counts(survey, "spasm_episodes", ["posture"], family="negbin")  # doctest: +SKIP
    >>> result.tidy()[["label", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
    >>> result.fit_statistics[["model", "llf", "deviance", "aic"]]  # doctest: +SKIP
    """
    if impute is not None:
        from analysis.models.imputation import fit_imputed

        return fit_imputed(counts, survey, impute, m, seed, outcome=outcome,
                           exposures=exposures, adjust_for=adjust_for, family=family,
                           exposure_time=exposure_time, cov_type=cov_type, cluster=cluster,
                           reference=reference)
    if family not in ("poisson", "negbin"):
        raise ModelError(f"Unknown family {family!r}; use 'poisson' or 'negbin'.")
    cov_type = check_cov_type(cov_type)
    data = survey.data
    extra = {}
    if exposure_time is not None:
        if exposure_time not in data.columns:
            raise ModelError(f"The survey has no exposure-time column {exposure_time!r}.")
        extra[exposure_time] = data[exposure_time].to_numpy(dtype=float, na_value=np.nan)
    name, groups_all = cluster_column(survey, cov_type, cluster)
    if name is not None:
        cluster, extra[name] = name, groups_all
    prep = prepare(survey, outcome, exposures, adjust_for, reference=reference, extra=extra)
    y = _count_outcome(survey, prep)
    offset = None
    if exposure_time is not None:
        t = extra[exposure_time][prep.rows]
        if (t <= 0).any():
            lines = data.index[prep.rows][t <= 0]
            raise ModelError(f"Exposure time {exposure_time!r} must be positive; {lines.size} "
                             f"rows are not (first lines: {', '.join(map(str, lines[:5]))}).")
        offset = np.log(t)
    groups = None if groups_all is None else groups_all[prep.rows]

    def fit(name: str, names: list[str], fam: str = family) -> Fit:
        return _fit(name, prep, names, y, offset, fam, cov_type, groups)

    crude = {v: fit(f"crude: {v}", [v]) for v in prep.exposures}
    adjusted = fit("adjusted", prep.variables)
    tidy_crude = pd.concat([tidy_fit(crude[v], prep, [v], y) for v in prep.exposures],
                           ignore_index=True)
    tidy_adj = tidy_fit(adjusted, prep, prep.variables, y)
    table = side_by_side(tidy_crude, tidy_adj, prep.exposures, "irr")
    poisson = adjusted if family == "poisson" else fit("adjusted (Poisson)", prep.variables,
                                                       "poisson")
    tests = overdispersion_tests(y, poisson, adjusted if family == "negbin" else None)
    nb = adjusted.raw if family == "negbin" else None
    info = base_info(prep, f"{family} ML", family=family, events=float(y.sum()),
                     exposure_time=exposure_time, cov_type=cov_type, cluster=cluster,
                     alpha=nb.alpha if nb else None, se_alpha=nb.se_alpha if nb else None,
                     theta=nb.theta if nb else None, se_theta=nb.se_theta if nb else None,
                     formula=f"{prep.outcome} ~ " + " + ".join(
                         prep.terms[v].formula for v in prep.variables)
                     + (f" + offset(log({exposure_time}))" if exposure_time else ""),
                     ci="Wald 95%")
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = CountResult(table, fits, info, "irr", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: tests
    _notify(result, prep, family, result._fits)
    return result


def _notify(result: CountResult, prep: Prepared, family: str, fits: dict[str, Fit]) -> None:
    if prep.dropped:
        by_column = ", ".join(f"{c} {k}" for c, k in prep.dropped.items())
        result.notify("dropped rows",
                      f"{prep.n_read - prep.rows.size} of {prep.n_read} rows left out for a "
                      f"missing value ({by_column}); see survey.ledger.")
    for name, fit in fits.items():
        X, y = fit.design.X, fit.y
        for j, column in enumerate(fit.design.names):
            dummy = X[:, j]
            if column != "Intercept" and np.isin(dummy, (0.0, 1.0)).all() and dummy.any() \
                    and y[dummy == 1].sum() == 0:
                result.notify("separation",
                              f"no events where {column}: its rate ratio is 0 and the "
                              "estimate runs off to -infinity (not estimable). Merge the "
                              "level with a neighbour or drop it.", name)
        if not fit.converged:
            result.notify("non-convergence",
                          f"the {fit.family} fit did not converge: its estimates are not "
                          "reliable. Check sparse levels and the scale of the exposure time.",
                          name)
        if family == "negbin" and getattr(fit.raw, "boundary", False):
            result.notify("method",
                          "the ML estimate of the dispersion alpha is 0 (the data are not "
                          "overdispersed): the negative binomial model reduces to Poisson and "
                          "its estimates are Poisson's; use family='poisson'.", name)


def _count_outcome(survey, prep: Prepared) -> np.ndarray:
    column = survey.data[prep.outcome]
    if not pd.api.types.is_numeric_dtype(column) or isinstance(column.dtype,
                                                               pd.CategoricalDtype):
        raise ModelError(f"counts() needs a numeric count outcome; {prep.outcome!r} is "
                         f"{column.dtype}.")
    y = column.to_numpy(dtype=float, na_value=np.nan)[prep.rows]
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        lines = survey.data.index[prep.rows][bad]
        raise ModelError(f"Count outcome {prep.outcome!r} must be a whole number >= 0; "
                         f"{int(bad.sum())} rows are not (first lines: "
                         f"{', '.join(map(str, lines[:5]))}).")
    return y


def _fit(name, prep, names, y, offset, family, cov_type, groups) -> Fit:
    design = prep.design(names)
    X = design.X
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError(f"Model {name!r}: the design is rank deficient (a level with no "
                         f"respondents?); columns {', '.join(design.names)}.")
    if family == "poisson":
        raw, converged = _poisson(y, X, offset)
        bread, mu, alpha = raw.cov_params(), raw.mu, 0.0
    else:
        raw = negative_binomial(y, X, offset)
        converged, bread, mu, alpha = raw.converged, raw.cov_beta, raw.mu, raw.alpha
    cov = bread
    if cov_type != "model":
        # The GLM score of b (theta held fixed, as R's sandwich does for glm.nb).
        scores = X * ((y - mu) / (1.0 + alpha * mu))[:, None]
        cov = sandwich(bread, scores, cov_type, groups)
    k = X.shape[1]
    fit = make_fit(name, design, raw.params[:k], np.asarray(cov)[:k, :k], raw.llf, raw,
                   prep.enc, y, converged)
    fit.family = "poisson" if family == "poisson" else "negative binomial"
    fit.cov_type = cov_type
    fit.n_extra = 0 if family == "poisson" else 1
    return fit


def _poisson(y, X, offset):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = GLM(y, X, family=families.Poisson(), offset=offset).fit(tol=1e-12,
                                                                             maxiter=200)
    trouble = any(issubclass(w.category, (sm_exceptions.ConvergenceWarning,
                                          sm_exceptions.PerfectSeparationWarning))
                  for w in caught)
    converged = bool(raw.converged) and not trouble and bool(np.all(np.isfinite(raw.params)))
    return raw, converged


@dataclass
class NegBinFit:
    """A negative binomial (NB2) fit: ``params`` is ``b`` followed by ``alpha = 1/theta``."""

    params: np.ndarray
    cov_beta: np.ndarray  # inverse expected information of b, theta known (as glm.nb)
    llf: float
    deviance: float  # 2 sum[y log(y/mu) - (y + theta) log((y + theta)/(mu + theta))]
    mu: np.ndarray
    theta: float  # inf on the boundary
    se_theta: float
    converged: bool
    iterations: int
    boundary: bool = False  # the ML estimate of alpha is 0: the Poisson fit
    mle_retvals: dict = field(default_factory=dict)

    @property
    def alpha(self) -> float:
        return float(self.params[-1])

    @property
    def se_alpha(self) -> float:
        return self.se_theta / self.theta**2 if np.isfinite(self.theta) else float("nan")

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov_beta))

    def cov_params(self) -> np.ndarray:
        return self.cov_beta


def negative_binomial(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None = None, *,
                      tol: float = 1e-10, maxiter: int = 100) -> NegBinFit:
    """NB2 regression with log link by maximum likelihood, as ``MASS::glm.nb``.

    Method (Venables & Ripley 2002, *Modern Applied Statistics with S*, 4th
    ed., sec. 7.4): starting from the Poisson fit, alternate (i) ``b`` by
    IRLS with theta fixed (weights ``mu / (1 + mu/theta)``) and (ii) theta by
    Newton's method on ``log theta`` with the means fixed, until the
    log-likelihood changes by less than ``tol`` (relative). The covariance of
    ``b`` is the inverse expected information ``(X' W X)^-1`` at the
    estimate, with theta treated as known, and ``SE(theta)`` is from theta's
    observed information given the means: both as ``glm.nb``/``theta.ml``
    report them. ``alpha = 1/theta`` (statsmodels' notation), ``SE(alpha) =
    SE(theta)/theta^2``.

    The score of alpha at ``alpha = 0`` (the Poisson fit) is
    ``sum((y - mu)^2 - y) / 2``. When it is not positive the likelihood is
    largest at the boundary alpha = 0: the result is then the Poisson fit
    with ``alpha = 0``, ``theta = inf`` and ``boundary = True``. (Newton's
    method on alpha itself, statsmodels' ``NegativeBinomial``, steps to a
    negative alpha there and returns NaN -- issue 14, item 2.)

    The log-likelihood includes every constant (``-log y!`` too), as R's
    ``logLik``; the deviance is the residual deviance given theta.

    Tested against R's ``MASS::glm.nb`` with and without an offset, and on
    an underdispersed sample with offset (``tests/reference/R/counts.R``).

    Examples
    --------
    >>> fit = negative_binomial(y, X, offset=np.log(months))  # doctest: +SKIP
    >>> fit.params[-1], fit.theta  # alpha and theta = 1/alpha  # doctest: +SKIP
    """
    y = np.asarray(y, float)
    off = np.zeros(y.size) if offset is None else np.asarray(offset, float)
    pois, pois_converged = _poisson(y, X, offset)
    beta, mu = np.asarray(pois.params, float), np.asarray(pois.mu, float)
    excess = float(np.sum((y - mu) ** 2 - y))
    if excess <= 0 or not pois_converged:
        return _boundary(pois, X, y, pois_converged)
    theta = float(np.sum(mu**2) / excess)  # moment estimate of 1/alpha from the Poisson fit
    llf = _nb_llf(y, mu, theta)
    converged, iterations = False, 0
    while iterations < maxiter:
        iterations += 1
        beta, mu = _irls(y, X, off, beta, theta)
        theta = _theta_ml(y, mu, theta)
        if not np.isfinite(theta) or theta > 1e12:
            return _boundary(pois, X, y, pois_converged)
        new = _nb_llf(y, mu, theta)
        change, llf = abs(new - llf), new
        if change <= tol * (abs(llf) + tol):
            converged = True
            break
    w = mu / (1.0 + mu / theta)
    cov_beta = _inverse(X.T @ (X * w[:, None]))
    info_theta = -_theta_derivatives(y, mu, theta)[1]
    se_theta = float(np.sqrt(1.0 / info_theta)) if info_theta > 0 else float("nan")
    converged = converged and bool(np.all(np.isfinite(cov_beta)))
    return NegBinFit(np.r_[beta, 1.0 / theta], cov_beta, llf, _nb_deviance(y, mu, theta), mu,
                     theta, se_theta, converged, iterations,
                     mle_retvals={"converged": converged, "iterations": iterations})


def _boundary(pois, X, y, converged) -> NegBinFit:
    mu = np.asarray(pois.mu, float)
    return NegBinFit(np.r_[np.asarray(pois.params, float), 0.0],
                     np.asarray(pois.cov_params(), float), float(pois.llf),
                     float(pois.deviance), mu, float("inf"), float("nan"), converged, 0,
                     boundary=True, mle_retvals={"converged": converged, "iterations": 0})


def _inverse(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.full_like(a, np.nan)


def _nb_llf(y, mu, theta) -> float:
    return float(np.sum(special.gammaln(theta + y) - special.gammaln(theta)
                        - special.gammaln(y + 1) + theta * np.log(theta)
                        + special.xlogy(y, mu) - (theta + y) * np.log(theta + mu)))


def _nb_deviance(y, mu, theta) -> float:
    return float(2 * np.sum(special.xlogy(y, y / mu)
                            - (y + theta) * np.log((y + theta) / (mu + theta))))


def _irls(y, X, off, beta, theta, maxiter: int = 50):
    """b given theta: Fisher scoring (IRLS) with step-halving on the likelihood."""
    eta = X @ beta + off
    mu = np.exp(eta)
    llf = _nb_llf(y, mu, theta)
    for _ in range(maxiter):
        w = mu / (1.0 + mu / theta)
        z = eta - off + (y - mu) / mu
        target = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * z))
        step = target - beta
        for _ in range(30):
            eta = X @ (beta + step) + off
            mu = np.exp(eta)
            new = _nb_llf(y, mu, theta)
            if new >= llf - 1e-12 * abs(llf):
                break
            step = step / 2
        beta, llf = beta + step, new
        if np.max(np.abs(step)) < 1e-11:
            break
    return beta, mu


def _theta_derivatives(y, mu, theta) -> tuple[float, float]:
    """First and second derivative of the NB log-likelihood in theta, the means fixed."""
    d1 = np.sum(special.digamma(theta + y) - special.digamma(theta) + np.log(theta) + 1
                - np.log(theta + mu) - (y + theta) / (mu + theta))
    d2 = np.sum(special.polygamma(1, theta + y) - special.polygamma(1, theta) + 1 / theta
                - 2 / (mu + theta) + (y + theta) / (mu + theta) ** 2)
    return float(d1), float(d2)


def _theta_ml(y, mu, theta, maxiter: int = 100) -> float:
    """Theta given the means: Newton's method on log theta, step-halving on the likelihood."""
    u = np.log(theta)
    llf = _nb_llf(y, mu, theta)
    for _ in range(maxiter):
        d1, d2 = _theta_derivatives(y, mu, np.exp(u))
        t = np.exp(u)
        g, h = t * d1, t * t * d2 + t * d1  # derivatives in u = log theta
        step = -g / h if h < 0 else np.sign(g)  # not concave here: move uphill
        step = float(np.clip(step, -5, 5))
        for _ in range(40):
            if u + step > np.log(1e13):
                return float("inf")  # the likelihood rises towards alpha = 0
            new = _nb_llf(y, mu, np.exp(u + step))
            if new >= llf - 1e-13 * abs(llf):
                break
            step /= 2
        u, llf = u + step, new
        if abs(step) < 1e-12:
            break
    return float(np.exp(u))


def overdispersion_tests(y: np.ndarray, poisson: Fit, negbin: Fit | None) -> pd.DataFrame:
    """Cameron-Trivedi auxiliary regression, and the boundary LR test of alpha = 0."""
    mu = poisson.raw.mu
    aux = ((y - mu) ** 2 - y) / mu
    alpha = float(mu @ aux / (mu @ mu))
    resid = aux - alpha * mu
    se = float(np.sqrt(resid @ resid / (y.size - 1) / (mu @ mu)))
    t = alpha / se
    rows = [["Cameron-Trivedi auxiliary regression (alpha > 0)", "adjusted (Poisson)", t,
             y.size - 1, float(stats.t.sf(t, y.size - 1)), alpha]]
    if negbin is not None:
        lr = max(2 * (negbin.llf - poisson.llf), 0.0)
        rows.append(["likelihood ratio, alpha = 0 (boundary: 0.5 chi2(1))", "adjusted", lr, 1,
                     float(0.5 * stats.chi2.sf(lr, 1)), negbin.raw.alpha])
    return pd.DataFrame(rows, columns=TEST_COLUMNS)

"""Multiple imputation by chained equations and Rubin's rules.

``logistic(..., impute="mice")`` and ``counts(..., impute="mice")`` come
here: the model variables (outcome included, as the imputation model should
contain it) are imputed ``m`` times by chained equations (van Buuren &
Groothuis-Oudshoorn 2011, *J Stat Softw* 45(3); van Buuren 2018, *Flexible
Imputation of Missing Data*, 2nd ed.), each variable by a model for its own
type, as R's ``mice`` does by default:

=================================  ===========  =========================================
variable                           method       imputation model
=================================  ===========  =========================================
numeric (also counts)              ``pmm``      predictive mean matching, 5 donors
numeric (on request)               ``norm``     Bayesian linear regression
factor with 2 levels               ``logreg``   logistic regression, parameters drawn
unordered factor, > 2 levels       ``polyreg``  multinomial logistic regression
ordered factor, > 2 levels         ``polr``     proportional odds (cumulative logit)
=================================  ===========  =========================================

so an imputed factor is always one of its levels. The model is fitted on each
completed data set and the estimates are pooled by Rubin's rules. Rows whose
*outcome* was missing are imputed (they inform the other variables) and then
left out of the analysis -- multiple imputation, then deletion (von Hippel
2007, *Sociol Methodol* 37:83-117).

Tested against R's ``mice`` 3.15 (``tests/reference/R/mice.R``): Rubin's
rules to 1e-10 against ``pool.scalar`` and ``pool``, and the pooled odds
ratios of a logistic model on 800 simulated rows with a binary, an ordered,
an unordered and a numeric variable missing at random, within Monte-Carlo
error of ``mice(m = 50)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models.variables import RULE_MISSING, single_outcome, variable_names
from analysis.survey import Survey

MAXIT = 5  # chained-equation cycles per imputed data set (mice's default maxit)
DONORS = 5  # predictive mean matching: draw from the 5 closest observed values (mice)
RIDGE = 1e-5  # mice's ridge, used only when the predictors are (nearly) collinear
METHODS = {"pmm": "predictive mean matching", "norm": "Bayesian linear regression",
           "logreg": "logistic regression", "polyreg": "multinomial logistic regression",
           "polr": "proportional odds regression"}


def rubin_pool(estimates: np.ndarray, variances: np.ndarray, n_complete: float | None = None,
               k: int | None = None) -> pd.DataFrame:
    """Pool ``m`` estimates of each coefficient with Rubin's rules.

    ``Qbar = mean(Q_i)``, within ``W = mean(U_i)``, between ``B = var(Q_i)``
    (ddof 1), total ``T = W + (1 + 1/m) B`` (Rubin 1987, *Multiple Imputation
    for Nonresponse in Surveys*); relative increase in variance ``r = (1 +
    1/m) B / W`` and ``lambda = (1 + 1/m) B / T``. Degrees of freedom: Rubin's
    ``(m - 1) / lambda^2``, and when ``n_complete`` (the rows analysed) is
    given, Barnard & Rubin's (1999, *Biometrika* 86:948-955) small-sample
    ``df_old df_obs / (df_old + df_obs)`` with ``df_obs = (v + 1) / (v + 3) v
    (1 - lambda)`` on the complete-data df ``v = n_complete - k`` (``k``
    defaults to the number of coefficients). As ``mice``, ``lambda`` is
    floored at 1e-4 in the df (so that ``B = 0`` gives finite df). Fraction
    of missing information ``(r + 2 / (df + 3)) / (1 + r)``.

    Agrees with R's ``mice::pool.scalar(Q, U, n, k)`` and ``mice::pool`` to
    1e-10 (``tests/reference/test_r_mice.py``).

    Parameters
    ----------
    estimates : (m, k) array of estimates.
    variances : (m, k) array of their variances (or (m, k, k) covariance matrices).
    n_complete, k : rows and coefficients of the complete-data model
        (complete-data df ``n_complete - k``); ``None``: infinite df.

    Returns
    -------
    pandas.DataFrame with one row per coefficient: ``estimate, se, within,
    between, total, riv, lambda, df, fmi``.

    Examples
    --------
    >>> rubin_pool(np.array([[1.0], [1.2], [0.8]]), np.array([[0.04], [0.05], [0.03]]))
    ... # doctest: +SKIP
    """
    q = np.asarray(estimates, float)
    if q.ndim == 1:
        q = q[:, None]
    u = np.asarray(variances, float)
    if u.ndim == 3:
        u = np.diagonal(u, axis1=1, axis2=2)
    elif u.ndim == 1:
        u = u[:, None]
    m = q.shape[0]
    if m < 2:
        raise ModelError("Rubin's rules need at least 2 imputed data sets.")
    if u.shape != q.shape:
        raise ModelError(f"rubin_pool: estimates {q.shape} and variances {u.shape} differ in "
                         "shape; give one variance per estimate.")
    within = u.mean(axis=0)
    between = q.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * between / within
        lam = (1 + 1 / m) * between / total
        floored = np.maximum(lam, 1e-4)
        df = (m - 1) / floored**2
        if n_complete is not None:
            dof_com = n_complete - (k if k is not None else q.shape[1])
            dof_obs = (dof_com + 1) / (dof_com + 3) * dof_com * (1 - floored)
            df = df * dof_obs / (df + dof_obs)
        fmi = (riv + 2 / (df + 3)) / (1 + riv)
    return pd.DataFrame({"estimate": q.mean(axis=0), "se": np.sqrt(total), "within": within,
                         "between": between, "total": total, "riv": riv, "lambda": lam,
                         "df": df, "fmi": fmi})


# ---- chained equations ------------------------------------------------------------
def default_methods(frame: pd.DataFrame) -> dict[str, str]:
    """The imputation model of each column, by its type, as ``mice``'s defaults.

    Numeric columns ``"pmm"``; factors (pandas categoricals) with 2 levels
    ``"logreg"``, ordered factors with more ``"polr"``, unordered ones
    ``"polyreg"``.
    """
    out = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels = len(column.cat.categories)
            out[name] = "logreg" if levels == 2 else ("polr" if column.cat.ordered
                                                      else "polyreg")
        elif pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
                column.dtype):
            out[name] = "pmm"
        else:
            raise ModelError(f"impute='mice': column {name!r} ({column.dtype}) is neither "
                             "numeric nor a coded factor; recode it in the codebook.")
    return out


def impute_chained(frame: pd.DataFrame, m: int, seed: int,
                   methods: Mapping[str, str] | None = None,
                   maxit: int = MAXIT) -> list[pd.DataFrame]:
    """``m`` completed copies of ``frame`` by chained equations (MICE), as R's ``mice``.

    Each copy is its own chain: the missing values start as random draws
    from the observed values of their column, then ``maxit`` times each
    incomplete column in turn (left to right) is imputed from a model on all
    the other columns (factors as treatment dummies), fitted to the rows
    where it was observed (van Buuren & Groothuis-Oudshoorn 2011). The
    models, by ``methods`` (default :func:`default_methods`):

    - ``pmm``: the least-squares fit ``b`` and a draw ``b* = b + sigma*
      chol((X'X)^-1) z`` with ``sigma*^2 = RSS / chi2(n_obs - p)``
      (Bayesian linear regression, Rubin 1987, p. 167); each missing value
      takes the value of one of the 5 observed rows whose ``x b`` is closest
      to its ``x b*`` (``mice.impute.pmm``, match type 1).
    - ``norm``: ``x b* + sigma* e`` with the same draw.
    - ``logreg``: the logistic ML fit ``b``, a draw ``b* ~ N(b, I(b)^-1)``,
      and a Bernoulli draw with probability ``expit(x b*)``.
    - ``polyreg`` / ``polr``: the multinomial / proportional-odds ML fit and
      a draw from its predicted category probabilities. As in ``mice``
      3.15, these two do not draw the parameters: the imputations condition
      on the ML estimate (parameter uncertainty, O(1/n), is left out).

    ``logreg``, ``polyreg`` and ``polr`` are fitted, as in ``mice``, to the
    data augmented with ``2 p k`` pseudo-rows of total weight ``p + 1``
    (each predictor at its mean +- half a standard deviation, for each of
    the ``k`` categories; White, Daniel & Royston 2010, *Comput Stat Data
    Anal* 54:2267), so that separation cannot make an estimate infinite.

    Parameters
    ----------
    frame : the columns to impute and impute from: numeric or categorical.
    m : number of completed data sets (chains).
    seed : seed of the random numbers (numpy ``default_rng``).
    methods : ``{column: method}`` overriding :func:`default_methods`.
    maxit : cycles per chain (``mice``'s default 5).

    Returns
    -------
    list of ``m`` DataFrames like ``frame`` (same index, columns and dtypes)
    without missing values.

    Examples
    --------
    >>> completed = impute_chained(data[["spasm", "posture", "age"]], m=20, seed=1)
    ... # doctest: +SKIP
    """
    chosen = default_methods(frame)
    for name, method in dict(methods or {}).items():
        if name not in chosen:
            raise ModelError(f"impute_chained: no column {name!r} to give method {method!r}.")
        if method not in METHODS:
            raise ModelError(f"impute_chained: unknown method {method!r} for {name!r}; use one "
                             f"of {', '.join(METHODS)}.")
        factor = isinstance(frame[name].dtype, pd.CategoricalDtype)
        if factor != (method in ("logreg", "polyreg", "polr")):
            raise ModelError(f"impute_chained: method {method!r} does not suit column {name!r} "
                             f"({'a factor' if factor else 'numeric'}).")
        chosen[name] = method
    columns = [_Column.of(name, frame[name]) for name in frame.columns]
    for c in columns:
        if c.missing.all():
            raise ModelError(f"impute='mice': column {c.name!r} has no observed value to "
                             "impute from.")
    rng = np.random.default_rng(seed)
    completed = []
    for _ in range(m):
        values = [c.start(rng) for c in columns]
        for _ in range(maxit):
            for j, c in enumerate(columns):
                if not c.missing.any():
                    continue
                X = np.column_stack([np.ones(len(frame))] + [
                    other.predictors(values[i]) for i, other in enumerate(columns) if i != j])
                values[j] = c.impute(chosen[c.name], values[j], X, rng)
        completed.append(pd.DataFrame({c.name: c.finish(v) for c, v in zip(columns, values,
                                                                           strict=True)},
                                      index=frame.index)[list(frame.columns)])
    return completed


@dataclass
class _Column:
    name: str
    series: pd.Series
    missing: np.ndarray
    levels: int  # 0: numeric

    @classmethod
    def of(cls, name: str, series: pd.Series) -> _Column:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return cls(name, series, (series.cat.codes < 0).to_numpy(),
                       len(series.cat.categories))
        return cls(name, series, series.isna().to_numpy(), 0)

    def start(self, rng) -> np.ndarray:
        """Observed values, the missing ones drawn at random from them (``mice``'s start)."""
        raw = self.series.cat.codes if self.levels else self.series
        values = raw.to_numpy(dtype=float).copy()
        observed = values[~self.missing]
        values[self.missing] = rng.choice(observed, int(self.missing.sum()), replace=True)
        return values

    def predictors(self, values: np.ndarray) -> np.ndarray:
        if not self.levels:
            return values[:, None]
        return (values[:, None] == np.arange(1, self.levels)[None, :]).astype(float)

    def impute(self, method: str, values: np.ndarray, X: np.ndarray, rng) -> np.ndarray:
        obs, mis = ~self.missing, self.missing
        X = _informative(X, obs)
        y = values[obs]
        out = values.copy()
        if method in ("pmm", "norm"):
            out[mis] = _linear_draw(method, X[obs], y, X[mis], rng)
        else:
            out[mis] = _categorical_draw(method, X, values, obs, mis, self.levels, rng)
        return out

    def finish(self, values: np.ndarray) -> pd.Series:
        if self.levels:
            return pd.Series(pd.Categorical.from_codes(values.astype(int),
                                                       dtype=self.series.dtype),
                             index=self.series.index)
        return pd.Series(values, index=self.series.index)


def _informative(X: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Drop predictor columns constant where the variable is observed (an empty level)."""
    keep = np.ones(X.shape[1], bool)
    keep[1:] = np.ptp(X[obs, 1:], axis=0) > 0
    return X[:, keep]


def _linear_draw(method, X_obs, y, X_mis, rng) -> np.ndarray:
    """``pmm`` or ``norm``: a draw of (b, sigma) from their posterior, then match or predict."""
    xtx = X_obs.T @ X_obs
    try:
        v = np.linalg.inv(xtx)
        chol = np.linalg.cholesky(v)
    except np.linalg.LinAlgError:  # collinear predictors: mice's ridge
        v = np.linalg.inv(xtx + np.diag(RIDGE * np.diag(xtx)))
        chol = _root(v)
    coef = v @ (X_obs.T @ y)
    residual = y - X_obs @ coef
    df = max(len(y) - X_obs.shape[1], 1)
    sigma = np.sqrt(residual @ residual / rng.chisquare(df))
    beta = coef + chol @ rng.standard_normal(len(coef)) * sigma
    if method == "norm":
        return X_mis @ beta + rng.standard_normal(len(X_mis)) * sigma
    return _match(X_obs @ coef, X_mis @ beta, y, rng)


def _match(yhat_obs, yhat_mis, y, rng) -> np.ndarray:
    """For each target, the observed value of one of the ``DONORS`` nearest rows, at random."""
    k = min(DONORS, len(y))
    shuffle = rng.permutation(len(y))  # ties between donors broken at random
    order = shuffle[np.argsort(yhat_obs[shuffle], kind="stable")]
    fitted = yhat_obs[order]
    width = min(2 * k, len(y))
    # The k nearest of a sorted list lie within k places of the insertion point.
    start = np.clip(np.searchsorted(fitted, yhat_mis) - k, 0, len(y) - width)
    window = start[:, None] + np.arange(width)[None, :]
    distance = np.abs(fitted[window] - yhat_mis[:, None])
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
    pick = nearest[np.arange(len(yhat_mis)), rng.integers(0, k, len(yhat_mis))]
    return y[order[window[np.arange(len(yhat_mis)), pick]]]


def _categorical_draw(method, X, values, obs, mis, levels, rng) -> np.ndarray:
    """``logreg``, ``polyreg`` or ``polr`` on augmented data; draw a level for each missing row."""
    present = np.unique(values.astype(int))
    y = values[obs].astype(int)
    if np.unique(y).size == 1:
        return np.full(int(mis.sum()), y[0], float)
    Xa, ya, wa = _augment(X[obs], y, X, present)
    # Standardised predictors: the fits are invariant to it and converge faster.
    center = np.r_[0.0, Xa[:, 1:].mean(axis=0)]
    scale = np.r_[1.0, Xa[:, 1:].std(axis=0)]
    scale[scale == 0] = 1.0
    Z, Z_mis = (Xa - center) / scale, (X[mis] - center) / scale
    if method == "logreg":
        beta, cov = _logistic_fit(Z, (ya == present.max()).astype(float), wa)
        draw = beta + _root(cov) @ rng.standard_normal(len(beta))
        p = special.expit(Z_mis @ draw)
        return np.where(rng.random(len(p)) <= p, present.max(), present.min()).astype(float)
    # Categories never seen in the observed rows get probability 0.
    seen = np.unique(ya)
    index = np.searchsorted(seen, ya)
    if method == "polyreg":
        probs = _multinomial_probs(Z, index, wa, Z_mis, seen.size)
    else:
        probs = _polr_probs(Z[:, 1:], index, wa, Z_mis[:, 1:], seen.size)
    u = rng.random(len(probs))
    chosen = (u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    return seen[np.minimum(chosen, seen.size - 1)].astype(float)


def _augment(X_obs, y, X_all, present):
    """``mice``'s ``augment``: ``2 p k`` pseudo-rows with total weight ``p + 1``."""
    p = X_obs.shape[1] - 1  # predictors, the intercept not counted
    if p == 0:
        return X_obs, y, np.ones(len(y))
    k = present.size
    mean, sd = X_all[:, 1:].mean(axis=0), X_all[:, 1:].std(axis=0, ddof=1)
    low, high = X_all[:, 1:].min(axis=0), X_all[:, 1:].max(axis=0)
    rows = np.repeat(mean[None, :], 2 * p * k, axis=0)
    for c in range(p):
        block = slice(2 * k * c, 2 * k * (c + 1))
        rows[block, c] += np.tile([0.5, -0.5], k) * sd[c]
    rows = np.clip(rows, low, high)
    extra_y = np.tile(np.repeat(present, 2), p)
    weight = np.r_[np.ones(len(y)), np.full(2 * p * k, (p + 1) / (2 * p * k))]
    X_aug = np.vstack([X_obs, np.column_stack([np.ones(len(rows)), rows])])
    return X_aug, np.r_[y, extra_y], weight


def _root(cov: np.ndarray) -> np.ndarray:
    """A square root ``L L' = cov`` (Cholesky; eigenvalues clipped at 0 if not positive)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        return vectors * np.sqrt(np.clip(values, 0, None))


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:  # a flat direction: the minimum-norm Newton step
        return np.linalg.pinv(a) @ b


def _logistic_fit(X, y, w):
    """Weighted logistic ML by Newton-Raphson; (estimate, inverse information)."""
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        p = special.expit(X @ beta)
        info = X.T @ (X * (w * p * (1 - p))[:, None])
        step = _solve(info, X.T @ (w * (y - p)))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = special.expit(X @ beta)
    return beta, np.linalg.pinv(X.T @ (X * (w * p * (1 - p))[:, None]))


def _multinomial_probs(X, y, w, X_new, k):
    """Weighted multinomial logistic ML (Newton, step halving); category probabilities."""
    n, q = X.shape
    Y = np.eye(k)[y]

    def probs(B, Xm):
        eta = np.column_stack([np.zeros(len(Xm)), Xm @ B])
        return special.softmax(eta, axis=1)

    def loglik(B):
        return float(np.sum(w * np.log(np.clip(probs(B, X)[np.arange(n), y], 1e-300, None))))

    B = np.zeros((q, k - 1))
    current = loglik(B)
    for _ in range(100):
        P = probs(B, X)[:, 1:]
        grad = X.T @ (w[:, None] * (Y[:, 1:] - P))
        Wjk = w[:, None, None] * (np.einsum("nj,jk->njk", P, np.eye(k - 1))
                                  - P[:, :, None] * P[:, None, :])
        info = np.einsum("ni,njk,nl->jikl", X, Wjk, X).reshape((k - 1) * q, (k - 1) * q)
        step = _solve(info, grad.T.ravel()).reshape(k - 1, q).T
        for _ in range(30):
            trial = loglik(B + step)
            if trial >= current - 1e-12:
                break
            step = step / 2
        B, gain, current = B + step, trial - current, trial
        if abs(gain) < 1e-10 and np.max(np.abs(step)) < 1e-8:
            break
    return probs(B, X_new)


def _polr_probs(X, y, w, X_new, k):
    """Weighted proportional-odds ML (``logit P(Y <= j) = theta_j - x b``); probabilities.

    The cut-points are ``theta_1`` and log increments, so they stay ordered.
    """
    q = X.shape[1]

    def unpack(par):
        theta = np.cumsum(np.r_[par[q], np.exp(par[q + 1:])])
        return par[:q], theta

    def negloglik(par):
        beta, theta = unpack(par)
        eta = X @ beta
        cut = np.r_[-np.inf, theta, np.inf]
        upper, lower = cut[y + 1] - eta, cut[y] - eta
        F_up, F_lo = special.expit(upper), special.expit(lower)
        f_up, f_lo = F_up * (1 - F_up), F_lo * (1 - F_lo)
        d = np.clip(F_up - F_lo, 1e-300, None)
        g_theta = np.zeros(k + 1)
        np.add.at(g_theta, y + 1, w * f_up / d)
        np.add.at(g_theta, y, -w * f_lo / d)
        g_theta = g_theta[1:k]
        g_beta = -X.T @ (w * (f_up - f_lo) / d)
        # chain rule: theta_j = alpha_0 + sum_{i<=j} exp(alpha_i)
        g_alpha = np.r_[g_theta.sum(), np.cumsum(g_theta[::-1])[::-1][1:] * np.exp(par[q + 1:])]
        return -float(np.sum(w * np.log(d))), -np.r_[g_beta, g_alpha]

    cum = np.cumsum(np.bincount(y, weights=w, minlength=k))[:-1] / w.sum()
    start_theta = special.logit(np.clip(cum, 1e-6, 1 - 1e-6))
    start = np.r_[np.zeros(q), start_theta[0],
                  np.log(np.maximum(np.diff(start_theta), 1e-3))]
    fit = optimize.minimize(negloglik, start, jac=True, method="BFGS",
                            options={"gtol": 1e-8, "maxiter": 1000})
    beta, theta = unpack(fit.x)
    cdf = special.expit(theta[None, :] - (X_new @ beta)[:, None])
    return np.diff(np.column_stack([np.zeros(len(X_new)), cdf, np.ones(len(X_new))]), axis=1)


# ---- fitting and pooling ------------------------------------------------------------
def fit_imputed(model, survey, impute: str, m: int, seed: int,
                methods: Mapping[str, str] | None = None, **kwargs):
    """Fit ``model`` on ``m`` imputed copies of ``survey`` and pool by Rubin's rules.

    The model variables (outcome, exposures, adjustment set) are imputed by
    :func:`impute_chained` (``methods`` overrides the model of a variable);
    ``model`` (:func:`~analysis.models.logistic` or
    :func:`~analysis.models.counts`) is fitted on each completed copy,
    without the rows whose outcome was missing; the coefficients are pooled
    by :func:`rubin_pool` with the Barnard-Rubin df on the rows analysed, and
    reported with t intervals. The result carries a ``"method"`` notice
    (imputation model of each variable, ``m``, iterations, seed), a
    ``"dropped rows"`` notice for the outcomes imputed and not analysed, and
    the notices of the imputed fits with how many of them gave each.
    """
    if impute != "mice":
        raise ModelError(f"Unknown impute={impute!r}; use 'mice' (or None for complete cases).")
    if m < 2:
        raise ModelError(f"impute='mice' needs m >= 2 imputed data sets, not {m}.")
    if kwargs.get("splines"):
        raise ModelError("impute='mice' does not pool spline terms; drop splines= or impute "
                         "yourself.")
    data = survey.data
    outcome = kwargs.get("outcome") or single_outcome(survey)
    exposures = variable_names(kwargs.get("exposures"), survey.variables("exposure"), "exposures")
    adjust_for = kwargs.get("adjust_for")
    if adjust_for is None:
        adjust_for = [c for c in survey.variables("confounder") if c not in exposures]
    adjust_for = [c for c in variable_names(adjust_for, [], "adjust_for") if c not in exposures]
    variables = list(dict.fromkeys([outcome, *exposures, *adjust_for]))
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise ModelError(f"impute='mice': the survey has no column {missing[0]!r}.")
    frame = pd.DataFrame({v: _imputable(data[v]) for v in variables}, index=data.index)
    incomplete = frame.isna()
    complete_case = int((~incomplete.any(axis=1)).sum())
    step = f"model {outcome}"
    for v in variables:
        if incomplete[v].any():
            lines = data.index[incomplete[v].to_numpy()].to_numpy()
            action = "not in model" if v == outcome else "imputed"
            survey.record(step=step, rule=RULE_MISSING, action=action, lines=lines, column=v)
    chosen = {v: meth for v, meth in {**default_methods(frame), **dict(methods or {})}.items()
              if incomplete[v].any()}
    keep = ~incomplete[outcome].to_numpy()
    results = []
    for completed in impute_chained(frame, m, seed, methods):
        copy = data.copy()
        for v in variables:
            copy[v] = completed[v].astype(data[v].dtype) if not isinstance(
                data[v].dtype, pd.CategoricalDtype) else completed[v]
        copy = copy.loc[keep]
        inner = Survey(copy, survey.codebook, Ledger(n_read=len(copy)), source=survey.source)
        results.append(model(inner, **kwargs))
    pooled = _pooled(results, m, survey, complete_case, int(keep.sum()), variables, incomplete)
    described = "; ".join(f"{v} ({int(incomplete[v].sum())} missing) by {METHODS[meth]} "
                          f"({meth})" for v, meth in chosen.items()) or "nothing was missing"
    pooled.info.update(imputation_methods=chosen, seed=seed, maxit=MAXIT)
    pooled.notify("method", f"Multiple imputation by chained equations: m = {m} imputed data "
                            f"sets, {MAXIT} iterations each, seed {seed}; imputed {described}. "
                            "Estimates pooled by Rubin's rules; t intervals on Barnard-Rubin "
                            "df.")
    n_out = int((~keep).sum())
    if n_out:
        pooled.notify("dropped rows", f"{n_out} rows with a missing outcome {outcome!r} were "
                                      "imputed to inform the other variables and left out of "
                                      "the analysis (multiple imputation, then deletion).")
    pooled.notify("test", "Likelihood-ratio tests are not pooled across imputations; .tests "
                          "is empty (use the pooled Wald p-values).")
    counted: dict[Any, int] = {}
    for r in results:
        for notice in r.notices:
            counted[notice] = counted.get(notice, 0) + 1
    for notice, count in counted.items():
        pooled.notify(notice.kind, f"{notice.message} (in {count} of {m} imputed data sets)",
                      notice.model)
    return pooled


def _imputable(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        return column.astype(float)
    raise ModelError(f"impute='mice': column {column.name!r} ({column.dtype}) is neither "
                     "numeric nor a coded factor; recode it in the codebook.")


@dataclass
class PooledFit:
    """One model pooled over the imputations: Rubin's estimates and total covariance.

    ``cov`` is ``W + (1 + 1/m) B`` as matrices (mean within-imputation
    covariance plus the between-imputation covariance of the estimates);
    ``df_resid`` holds the Barnard-Rubin df of each coefficient, so that
    :meth:`~analysis.models.result.ModelResult.coefficients` gives the same
    t intervals as the tidy table; ``pool`` is the :func:`rubin_pool` table
    (within, between, df, fmi of each coefficient). A pooled fit has no
    likelihood (``llf`` is NaN).
    """

    name: str
    design: Any
    params: np.ndarray
    cov: np.ndarray
    df_resid: tuple[float, ...]
    nobs: float
    family: str = "binomial"
    cov_type: str = "model"
    n_extra: int = 0
    converged: bool = True
    llf: float = float("nan")
    raw: Any = None
    y: Any = None
    method: str = "pooled (Rubin's rules)"
    firth: bool = False
    pool: pd.DataFrame | None = None

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def coef(self, column: str) -> tuple[float, float]:
        j = self.design.names.index(column)
        return float(self.params[j]), float(self.bse[j])


def _pooled(results, m, survey, complete_case, n_analysed, variables, incomplete):
    first = results[0]
    pooled_terms: dict[tuple[str, str], pd.Series] = {}
    pooled_fits = {}
    fmi = {}
    for name, fit in first.models.items():
        params = np.array([r.models[name].params for r in results])
        covs = np.array([r.models[name].cov for r in results])
        pool = rubin_pool(params, covs, n_analysed, params.shape[1])
        cov = covs.mean(axis=0) + (1 + 1 / m) * np.atleast_2d(np.cov(params, rowvar=False))
        pooled_fits[name] = PooledFit(
            name, fit.design, pool["estimate"].to_numpy(), cov, tuple(pool["df"].tolist()),
            float(np.mean([r.models[name].nobs for r in results])),
            family=getattr(fit, "family", "binomial"), cov_type=getattr(fit, "cov_type", "model"),
            n_extra=int(getattr(fit, "n_extra", 0)),
            converged=all(bool(getattr(r.models[name], "converged", True)) for r in results),
            pool=pool.set_axis(list(fit.design.names), axis=0))
        for j, column in enumerate(fit.design.names):
            pooled_terms[(name, column)] = pool.iloc[j]
            if name == "adjusted" and column != "Intercept":
                fmi[column] = float(pool["fmi"].iloc[j])
    tidy = {}
    for which, frame in first._tidy.items():
        frames = [r._tidy[which] for r in results]
        out = frame.copy()
        out["n"] = np.mean([f["n"].to_numpy(dtype=float) for f in frames], axis=0)
        out["events"] = np.mean([f["events"].to_numpy(dtype=float) for f in frames], axis=0)
        for i, row in out.iterrows():
            fit_name = "adjusted" if which == "adjusted" else f"crude: {row['variable']}"
            pool = pooled_terms.get((fit_name, row["term"]))
            if pool is None:
                continue
            t = stats.t.ppf(0.975, pool["df"])
            b, se = pool["estimate"], pool["se"]
            out.loc[i, ["estimate", "ci_low", "ci_high", "p_value"]] = [
                np.exp(b), np.exp(b - t * se), np.exp(b + t * se),
                2 * stats.t.sf(abs(b / se), pool["df"])]
        tidy[which] = out
    table = first.table.copy()
    est = first.estimate
    for which, short in (("crude", "crude"), ("adjusted", "adjusted")):
        values = tidy[which].set_index(["variable", "level"])
        keys = pd.MultiIndex.from_frame(table[["variable", "level"]])
        picked = values.reindex(keys)
        table[f"{est}_{short}"] = picked["estimate"].to_numpy()
        table[f"ci_low_{short}"] = picked["ci_low"].to_numpy()
        table[f"ci_high_{short}"] = picked["ci_high"].to_numpy()
        table[f"p_{short}"] = picked["p_value"].to_numpy()
    adj = tidy["adjusted"].set_index(["variable", "level"]).reindex(
        pd.MultiIndex.from_frame(table[["variable", "level"]]))
    table["n"], table["events"] = adj["n"].to_numpy(), adj["events"].to_numpy()
    info = dict(first.info)
    info.update(method=f"MICE (m={m}, type-specific imputation models) + Rubin's rules",
                impute="mice", m=m, n=n_analysed, n_read=len(survey.data),
                n_dropped=len(survey.data) - n_analysed,
                n_complete_case=complete_case,
                n_dropped_complete_case=len(survey.data) - complete_case,
                imputed_by_column={v: int(incomplete[v].sum()) for v in variables
                                   if incomplete[v].any()},
                fmi=fmi, ci="t 95% on Barnard-Rubin df")
    pooled = type(first)(table, {"imputations": [r.fits for r in results]}, info,
                         first.estimate, tidy)
    pooled._fits = pooled_fits
    pooled._imputations = results
    return pooled

"""The imputation model of each variable type, as R's ``mice`` (one draw of the missing values).

:func:`analysis.models.imputation.impute_chained` cycles over the incomplete
variables; for each it calls one of these with the other variables as
predictors (van Buuren 2018, *Flexible Imputation of Missing Data*, 2nd ed.,
sec. 3.2-3.6):

* :func:`linear_draw`: ``pmm`` (predictive mean matching, :func:`match_donors`)
  and ``norm`` (Bayesian linear regression, Rubin 1987, p. 167);
* :func:`categorical_draw`: ``logreg`` (logistic, parameters drawn),
  ``polyreg`` (multinomial) and ``polr`` (proportional odds), fitted to data
  augmented as ``mice``'s ``augment`` does (White, Daniel & Royston 2010).

Tested through :func:`~analysis.models.imputation.impute_chained` against
R's ``mice`` 3.15 (``tests/reference/test_r_mice.py``).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

DONORS = 5  # predictive mean matching: draw from the 5 closest observed values (mice)
RIDGE = 1e-5  # mice's ridge, used only when the predictors are (nearly) collinear


def informative(X: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Drop predictor columns constant where the variable is observed (an empty level)."""
    keep = np.ones(X.shape[1], bool)
    keep[1:] = np.ptp(X[obs, 1:], axis=0) > 0
    return X[:, keep]


def linear_draw(method, X_obs, y, X_mis, rng) -> np.ndarray:
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
    return match_donors(X_obs @ coef, X_mis @ beta, y, rng)


def match_donors(yhat_obs, yhat_mis, y, rng) -> np.ndarray:
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


def categorical_draw(method, X, values, obs, mis, levels, rng) -> np.ndarray:
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

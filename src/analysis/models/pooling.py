"""Rubin's rules: pooling the fits of a model over multiply imputed data sets.

:func:`rubin_pool` pools each coefficient (Rubin 1987; Barnard & Rubin 1999
small-sample df), :class:`PooledFit` holds one pooled model, and
:func:`pool_results` turns the results of one model fitted on each imputed
data set into one result with pooled tables (t intervals on the
Barnard-Rubin df). :func:`analysis.models.imputation.fit_imputed` imputes and
calls them. Tested against R's ``mice`` ``pool.scalar`` and ``pool`` to 1e-10
(``tests/reference/test_r_mice.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError


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


def pool_results(results, m, survey, complete_case, n_analysed, variables, incomplete):
    """One result from ``m`` results of one model on imputed data: Rubin's estimates, t rows.

    ``complete_case`` and ``n_analysed`` count rows for ``info``; ``variables``
    and ``incomplete`` (the frame's missing mask) say what was imputed.
    """
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

"""Multiple imputation by chained equations and Rubin's rules.

``logistic(..., impute="mice")`` and ``counts(..., impute="mice")`` come
here: the model variables (outcome included, as the imputation model should
contain it) are imputed ``m`` times by chained equations with predictive mean
matching (``statsmodels.imputation.mice.MICEData``; van Buuren 2018,
*Flexible Imputation of Missing Data*, 2nd ed.). PMM draws every imputed
value from an observed donor, so an imputed factor code is always one of
the codes respondents gave. The model is fitted on each completed data set
and the estimates are pooled by Rubin's rules. Rows whose *outcome* was
missing are imputed (they inform the other variables) and then left out of
the analysis -- multiple imputation, then deletion (von Hippel 2007,
*Sociol Methodol* 37:83-117).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models.variables import RULE_MISSING, single_outcome, variable_names
from analysis.survey import Survey

BURN_IN = 10  # chained-equation cycles before the first completed data set
BETWEEN = 5  # cycles between successive completed data sets


def rubin_pool(estimates: np.ndarray, variances: np.ndarray, n_complete: float | None = None,
               k: int | None = None) -> pd.DataFrame:
    """Pool ``m`` estimates of each coefficient with Rubin's rules.

    ``Qbar = mean(Q_i)``, within ``W = mean(U_i)``, between ``B = var(Q_i)``
    (ddof 1), total ``T = W + (1 + 1/m) B`` (Rubin 1987, *Multiple Imputation
    for Nonresponse in Surveys*). Degrees of freedom: Barnard & Rubin (1999,
    *Biometrika* 86:948-955) when ``n_complete`` (the rows analysed) and ``k``
    (the coefficients) are given, else Rubin's ``(m-1)(1 + 1/r)^2`` with
    ``r = (1 + 1/m) B / W``. Fraction of missing information ``(r + 2/(df+3))
    / (1 + r)``, as R's ``mice::pool``.

    Parameters
    ----------
    estimates : (m, k) array of estimates.
    variances : (m, k) array of their variances (or (m, k, k) covariance matrices).

    Returns
    -------
    pandas.DataFrame with one row per coefficient: ``estimate, se, within,
    between, total, riv, df, fmi``.

    Examples
    --------
    >>> rubin_pool(np.array([[1.0], [1.2], [0.8]]), np.array([[0.04], [0.05], [0.03]]))
    ... # doctest: +SKIP
    """
    q = np.atleast_2d(np.asarray(estimates, float))
    u = np.asarray(variances, float)
    if u.ndim == 3:
        u = np.diagonal(u, axis1=1, axis2=2)
    m = q.shape[0]
    if m < 2:
        raise ModelError("Rubin's rules need at least 2 imputed data sets.")
    within = u.mean(axis=0)
    between = q.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * between / within
        df = (m - 1) * (1 + 1 / riv) ** 2
        if n_complete is not None:
            lam = (1 + 1 / m) * between / total
            dof_com = n_complete - (k if k is not None else q.shape[1])
            dof_obs = (dof_com + 1) / (dof_com + 3) * dof_com * (1 - lam)
            df = np.where(np.isfinite(df), df * dof_obs / (df + dof_obs), dof_obs)
        fmi = (riv + 2 / (df + 3)) / (1 + riv)
    return pd.DataFrame({"estimate": q.mean(axis=0), "se": np.sqrt(total), "within": within,
                         "between": between, "total": total, "riv": riv, "df": df,
                         "fmi": fmi})


def impute_chained(frame: pd.DataFrame, m: int, seed: int) -> list[pd.DataFrame]:
    """``m`` completed copies of a numeric frame (MICEData, predictive mean matching)."""
    from statsmodels.imputation.mice import MICEData

    safe = frame.set_axis([f"v{i}" for i in range(frame.shape[1])], axis=1)
    safe = safe.reset_index(drop=True)
    data = MICEData(safe, rng=np.random.default_rng(seed))
    data.update_all(BURN_IN)
    completed = []
    for i in range(m):
        if i:
            data.update_all(BETWEEN)
        completed.append(data.data.copy().set_axis(frame.columns, axis=1)
                         .set_axis(frame.index, axis=0))
    return completed


def fit_imputed(model, survey, impute: str, m: int, seed: int, **kwargs):
    """Fit ``model`` on ``m`` imputed copies of ``survey`` and pool by Rubin's rules."""
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
    numeric = pd.DataFrame({v: _as_number(data[v]) for v in variables}, index=data.index)
    incomplete = numeric.isna()
    complete_case = int((~incomplete.any(axis=1)).sum())
    step = f"model {outcome}"
    for v in variables:
        if incomplete[v].any():
            lines = data.index[incomplete[v].to_numpy()].to_numpy()
            action = "not in model" if v == outcome else "imputed"
            survey.record(step=step, rule=RULE_MISSING, action=action, lines=lines, column=v)

    keep = ~incomplete[outcome].to_numpy()
    results = []
    for completed in impute_chained(numeric, m, seed):
        copy = data.copy()
        for v in variables:
            copy[v] = _from_number(completed[v], data[v])
        copy = copy.loc[keep]
        inner = Survey(copy, survey.codebook, Ledger(n_read=len(copy)), source=survey.source)
        results.append(model(inner, **kwargs))
    return _pooled(results, m, survey, complete_case, int(keep.sum()), variables, incomplete)


def _as_number(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.astype(float)
        return codes.where(codes >= 0)
    return column.astype(float)


def _from_number(values: pd.Series, like: pd.Series) -> pd.Series:
    if isinstance(like.dtype, pd.CategoricalDtype):
        codes = np.clip(np.round(values.to_numpy()), 0, len(like.cat.categories) - 1)
        return pd.Series(pd.Categorical.from_codes(codes.astype(int), dtype=like.dtype),
                         index=like.index)
    return pd.Series(values.to_numpy(), index=like.index)


def _pooled(results, m, survey, complete_case, n_analysed, variables, incomplete):
    first = results[0]
    pooled_terms: dict[tuple[str, str], pd.Series] = {}
    fmi = {}
    for name, fit in first.models.items():
        params = np.array([r.models[name].params for r in results])
        covs = np.array([r.models[name].cov for r in results])
        pool = rubin_pool(params, covs, n_analysed, params.shape[1])
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
    info.update(method=f"MICE (m={m}, predictive mean matching) + Rubin's rules",
                impute="mice", m=m, n=n_analysed, n_read=len(survey.data),
                n_dropped=len(survey.data) - n_analysed,
                n_complete_case=complete_case,
                n_dropped_complete_case=len(survey.data) - complete_case,
                imputed_by_column={v: int(incomplete[v].sum()) for v in variables
                                   if incomplete[v].any()},
                fmi=fmi, ci="t 95% on Barnard-Rubin df")
    pooled = type(first)(table, {"imputations": [r.fits for r in results]}, info,
                         first.estimate, tidy)
    pooled._imputations = results
    return pooled

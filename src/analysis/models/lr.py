"""Likelihood-ratio tests per term and tests for trend over ordinal levels.

* LR test of a term with more than one column (a factor with 3 or more levels,
  a spline, an interaction): ``2 (l_full - l_reduced)`` on as many degrees of
  freedom as the term has columns; crude models are compared with the null
  (intercept-only) model, the adjusted model with itself minus the term.
  Both fits use the same rows (or patterns), so constants cancel. Under
  ``firth=True`` these are logistf's penalised likelihood-ratio tests: the
  reduced model is the full model with the term's coefficients held at 0,
  fitted with the full model's penalty
  (:func:`analysis.models.firth.penalised_lr`).
* Test for trend: the ordinal factor scored 0..k-1 replaces its dummies (in
  the adjusted model: alongside the other terms); Wald z-test of the score,
  reported with its OR per category step. Under ``firth=True``: the
  penalised LR test of the score in that model, with its profile
  penalised-likelihood interval.
* Under a sandwich covariance (``cov_type`` HC0, HC1, cluster) the LR test,
  being model-based, gives way to the Wald chi-square with the table's
  covariance (:func:`robust_model_tests`).

Tested against ``statsmodels``' ``llr`` and ``compare_lr_test`` of nested fits;
the Firth tests against R (``tests/reference/R/firth.R``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.models.design import Encoded, Term, term_columns, trend_term
from analysis.models.firth import fit_penalised_lr, fit_profile_interval
from analysis.models.fitting import Fit, wald

COLUMNS = ["variable", "label", "test", "model", "statistic", "df", "p_value", "estimate",
           "ci_low", "ci_high"]


def _lr(full: Fit, drop: list[int], name: str) -> tuple[float, int, float]:
    if full.firth:  # logistf: the full model constrained, with the full model's penalty
        return fit_penalised_lr(full, drop)
    keep = [j for j in range(len(full.design.names)) if j not in drop]
    reduced = full.refit(full.design.X[:, keep], [full.design.names[j] for j in keep],
                         start=full.params[keep], name=name)
    stat, p = lr_pvalue(full.llf, reduced.llf, len(drop))
    return stat, len(drop), p


def _trend(full: Fit, term: Term, enc: Encoded) -> tuple[float, float, float, float, float]:
    drop = full.design.index(term)
    keep = [j for j in range(len(full.design.names)) if j not in drop]
    score = term_columns(trend_term(enc), {enc.name: full.encoded[enc.name]})
    X = np.column_stack([full.design.X[:, keep], score])
    names = [full.design.names[j] for j in keep] + [f"{enc.name}[trend]"]
    fit = full.refit(X, names, name=f"{full.name} (trend in {enc.name})")
    b, se = fit.coef(f"{enc.name}[trend]")
    if fit.firth:  # penalised LR test and profile interval of the score, in the trend model
        j = len(names) - 1
        stat, _, p = fit_penalised_lr(fit, [j])
        low, high = fit_profile_interval(fit, j)
        return stat, p, np.exp(b), np.exp(low), np.exp(high)
    low, high, p = wald(b, se)
    return (b / se) ** 2, p, np.exp(b), np.exp(low), np.exp(high)


def _tested_terms(crude, adjusted, main_terms, inter_terms, enc):
    """(model, name, fit, term, label): each exposure crude, then every adjusted term."""
    candidates = [("crude", v, crude[v], main_terms[v]) for v in crude]
    candidates += [("adjusted", t.name, adjusted, t) for t in [*main_terms.values(), *inter_terms]]
    for model, name, fit, term in candidates:
        label = enc[name].label if name in enc else " × ".join(enc[v].label
                                                                for v in term.variables)
        yield model, name, fit, term, label


def model_tests(crude: dict[str, Fit], adjusted: Fit, main_terms: dict[str, Term],
                inter_terms: list[Term], enc: dict[str, Encoded]) -> pd.DataFrame:
    """LR and trend tests of every exposure (crude and adjusted) and adjusted term."""
    rows = []
    in_interaction = {v for t in inter_terms for v in t.variables}
    for model, name, fit, term, label in _tested_terms(crude, adjusted, main_terms, inter_terms,
                                                        enc):
        if len(term.columns) > 1:
            drop = fit.design.index(term)
            stat, df, p = _lr(fit, drop, f"{fit.name} without {name}")
            rows.append([name, label, "likelihood ratio", model, stat, df, p, np.nan, np.nan,
                         np.nan])
        e = enc.get(name)
        if (term.kind == "factor" and e is not None and e.ordinal and len(e.categories) >= 3
                and not (model == "adjusted" and name in in_interaction)):
            stat, p, est, low, high = _trend(fit, term, e)
            rows.append([name, label, "trend", model, stat, 1, p, est, low, high])
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["df"] = out["df"].astype("int64")
    out["covariance"] = "model"  # LR tests are model-based; see robust_model_tests
    return out


def wald_term(fit: Fit, columns: list[int]) -> tuple[float, int, float]:
    """Wald chi-square ``b' V^-1 b`` of the coefficients ``columns``, with the fit's covariance.

    ``V`` is ``fit.cov``, whichever covariance the fit carries (model-based or a
    sandwich), so the test agrees with the table's standard errors; referred to
    chi-square on ``len(columns)`` df. Tested against the same quadratic form
    computed in R with ``sandwich::vcovHC``/``vcovCL`` (fixture ``logistic``).
    When the fit has ``df_resid`` (a cluster sandwich: G - 1), the p-value is
    that of ``F = W / q`` on ``(q, G - 1)`` df; the statistic stays ``W``.
    """
    b = fit.params[columns]
    V = fit.cov[np.ix_(columns, columns)]
    stat = float(b @ np.linalg.solve(V, b))
    q = len(columns)
    df = getattr(fit, "df_resid", None)
    if df:  # cluster sandwich: F = W / q on (q, G - 1) df
        return stat, q, float(stats.f.sf(stat / q, q, df))
    return stat, q, float(stats.chi2.sf(stat, q))


def robust_model_tests(crude: dict[str, Fit], adjusted: Fit, main_terms: dict[str, Term],
                       inter_terms: list[Term], enc: dict[str, Encoded], cov_type: str,
                       groups: np.ndarray | None = None) -> pd.DataFrame:
    """Tests of :func:`model_tests` under a sandwich covariance: Wald, not likelihood ratio.

    A likelihood-ratio test is model-based, so under ``cov_type`` HC0, HC1 or
    cluster each term with more than one column gets the Wald chi-square
    :func:`wald_term` with the same sandwich covariance as the table, and the
    test for trend uses the sandwich of its own refit (``groups``: the cluster
    of each row). The ``covariance`` column names the covariance.

    Examples
    --------
    >>> robust_model_tests(crude, adjusted, terms, [], enc, "HC0")  # doctest: +SKIP
    """
    from analysis.models.robust import robust_logistic_fit

    rows = []
    in_interaction = {v for t in inter_terms for v in t.variables}
    for model, name, fit, term, label in _tested_terms(crude, adjusted, main_terms, inter_terms,
                                                        enc):
        if len(term.columns) > 1:
            stat, df, p = wald_term(fit, fit.design.index(term))
            rows.append([name, label, "Wald", model, stat, df, p, np.nan, np.nan, np.nan,
                         cov_type])
        e = enc.get(name)
        if (term.kind == "factor" and e is not None and e.ordinal and len(e.categories) >= 3
                and not (model == "adjusted" and name in in_interaction)):
            drop = fit.design.index(term)
            keep = [j for j in range(len(fit.design.names)) if j not in drop]
            score = term_columns(trend_term(e), {e.name: fit.encoded[e.name]})
            trend = fit.refit(np.column_stack([fit.design.X[:, keep], score]),
                              [fit.design.names[j] for j in keep] + [f"{e.name}[trend]"],
                              name=f"{fit.name} (trend in {e.name})")
            robust_logistic_fit(trend, cov_type, groups)
            b, se = trend.coef(f"{e.name}[trend]")
            low, high, p = wald(b, se)
            if trend.df_resid:  # cluster sandwich: t on G - 1 df
                crit = stats.t.ppf(0.975, trend.df_resid)
                low, high = b - crit * se, b + crit * se
                p = float(2 * stats.t.sf(abs(b / se), trend.df_resid))
            rows.append([name, label, "trend", model, (b / se) ** 2, 1, p, np.exp(b),
                         np.exp(low), np.exp(high), cov_type])
    out = pd.DataFrame(rows, columns=[*COLUMNS, "covariance"])
    out["df"] = out["df"].astype("int64")
    return out


def lr_pvalue(llf_full: float, llf_reduced: float, df: int) -> tuple[float, float]:
    """Likelihood-ratio statistic 2(l1 - l0) and its chi-square p-value on ``df``."""
    stat = max(2.0 * (llf_full - llf_reduced), 0.0)
    return stat, float(stats.chi2.sf(stat, df))

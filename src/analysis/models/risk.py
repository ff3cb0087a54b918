"""Prevalence ratios from direct models: modified Poisson and log-binomial regression.

The standardised prevalence ratios of :mod:`analysis.models.standardise` come
from the logistic model; these two models estimate the ratio as a
coefficient, so a user can show the PR both ways.

* **Modified Poisson** (Zou 2004, *Am J Epidemiol* 159:702-706): a Poisson
  model ``log E[y] = x'b`` of the 0/1 outcome, whose variance assumption is
  wrong, with the sandwich covariance ``A^-1 (sum s_i s_i') A^-1`` (HC0;
  ``A = X' diag(mu) X``, ``s_i = x_i (y_i - mu_i)``), which is right. Under a
  survey design (``design=True``) the fit is weighted and the sandwich
  design-based (the scores ``w_i s_i`` totalled within PSUs, as
  :func:`analysis.design_based.design_logistic_fit`), as ``survey::svyglm(family =
  quasipoisson)``; t on ``degf + 1 - rank`` df.
* **Log-binomial** (Wacholder 1986, *Am J Epidemiol* 123:174-184): a binomial
  model with log link, by maximum likelihood (Fisher scoring with
  step-halving inside ``x'b < 0``, to a step below 1e-10), covariance the
  inverse expected information ``(X' diag(mu / (1 - mu)) X)^-1`` (as R's
  ``vcov.glm``). The
  likelihood's maximum is often on the boundary ``x'b = 0`` (a fitted
  prevalence of 1) and the fit then fails; it starts from the modified
  Poisson estimates and, when it does not converge or a fitted prevalence
  reaches 1, the model falls back to modified Poisson and a ``"method"``
  notice says so (the COPY method of Deddens 2003 is the alternative).

Both return the odds-ratio table's shape with ``pr_`` columns. Tested
against R (fixture ``effects``): ``glm(family = poisson)`` with
``sandwich::vcovHC(type = "HC0")``, ``svyglm(family = quasipoisson)``, and
``glm(family = binomial(link = "log"))`` (1e-6).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import numpy as np
import pandas as pd
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools import sm_exceptions

from analysis.errors import ModelError
from analysis.models._prepare import base_info, make_fit, prepare, side_by_side, tidy_fit
from analysis.models.fitting import Fit
from analysis.models.result import ModelResult
from analysis.models.robust import sandwich

FAMILIES = ("modified Poisson", "log-binomial")


class RiskResult(ModelResult):
    """Crude and adjusted prevalence ratios from a modified Poisson or log-binomial model."""


def modified_poisson(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
                     adjust_for: Sequence[str] | None = None, *, design: bool = False,
                     reference: Mapping[str, object] | None = None) -> RiskResult:
    """Crude and adjusted prevalence ratios by Poisson regression with robust (HC0) errors.

    Method in the module docstring (Zou 2004). ``design=True`` weights the
    fit and makes the covariance design-based (weights, strata and PSUs of
    the codebook's roles). Rows missing a model variable are left out and
    recorded in the ledger, as in :func:`analysis.models.logistic`.

    Tested against ``glm(family = poisson)`` + ``sandwich::vcovHC(type =
    "HC0")`` and ``svyglm(family = quasipoisson())`` (fixture ``effects``).

    Examples
    --------
    >>> modified_poisson(survey, "spasm_12m", ["posture"], ["age"]).table  # doctest: +SKIP
    """
    return _direct(survey, outcome, exposures, adjust_for, "modified Poisson", design,
                   reference)


def log_binomial(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
                 adjust_for: Sequence[str] | None = None, *,
                 reference: Mapping[str, object] | None = None) -> RiskResult:
    """Crude and adjusted prevalence ratios by log-binomial regression (ML, model-based SEs).

    A model that does not converge, or reaches a fitted prevalence of 1, is
    refitted as modified Poisson (:func:`modified_poisson`) and a
    ``"method"`` notice names it; ``info["fallback"]`` lists those models.

    Tested against ``glm(family = binomial(link = "log"))`` (fixture
    ``effects``), and the fallback on data whose MLE is on the boundary.

    Examples
    --------
    >>> log_binomial(survey, "spasm_12m", ["posture"], ["age"]).notices  # doctest: +SKIP
    """
    return _direct(survey, outcome, exposures, adjust_for, "log-binomial", False, reference)


def _direct(survey, outcome, exposures, adjust_for, family, design, reference) -> RiskResult:
    from analysis.aggregate import event_indicator

    sample_design = None
    if design:
        from analysis.design_based import survey_design

        sample_design = survey_design(survey)
    prep = prepare(survey, outcome, exposures, adjust_for, reference=reference)
    y = event_indicator(survey.data[prep.outcome], prep.outcome)[prep.rows]
    if y.min() == y.max():
        raise ModelError(f"Model of {prep.outcome!r}: {y.size} complete rows with "
                         f"{int(y.sum())} events; a prevalence ratio needs both events and "
                         "non-events.")
    fallback: list[str] = []

    def fit(name: str, names: list[str]) -> Fit:
        design_x = prep.design(names)
        if np.linalg.matrix_rank(design_x.X) < design_x.X.shape[1]:
            raise ModelError(f"Model {name!r}: the design is rank deficient (a level with no "
                             f"respondents?); columns {', '.join(design_x.names)}.")
        poisson = _poisson_fit(name, design_x, prep, y, sample_design)
        if family == "modified Poisson":
            return poisson
        out = _log_binomial_fit(name, design_x, prep, y, poisson.params)
        if out is None:
            fallback.append(name)
            return poisson
        return out

    crude = {v: fit(f"crude: {v}", [v]) for v in prep.exposures}
    adjusted = fit("adjusted", prep.variables)
    tidy_crude = pd.concat([tidy_fit(crude[v], prep, [v], y) for v in prep.exposures],
                           ignore_index=True)
    tidy_adj = tidy_fit(adjusted, prep, prep.variables, y)
    df_resid = None
    if sample_design is not None:
        from analysis.design_based import design_t_rows

        tidy_adj = design_t_rows(tidy_adj, adjusted.df_resid)
        tidy_crude = design_t_rows(tidy_crude, {v: f.df_resid for v, f in crude.items()})
        df_resid = adjusted.df_resid
    table = side_by_side(tidy_crude, tidy_adj, prep.exposures, "pr")
    cov = ("design (Taylor linearisation)" if sample_design is not None else
           "HC0" if family == "modified Poisson" else "model")
    info = base_info(prep, family, family=family, events=float(y.sum()), cov_type=cov,
                     fallback=fallback, df_resid=df_resid,
                     design=sample_design.names if sample_design is not None else None,
                     formula=f"{prep.outcome} ~ " + " + ".join(
                         prep.terms[v].formula for v in prep.variables),
                     ci="Wald 95%" + (", t on df.residual (svyglm)" if sample_design else ""))
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = RiskResult(table, fits, info, "pr", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    if prep.dropped:
        by_column = ", ".join(f"{c} {k}" for c, k in prep.dropped.items())
        result.notify("dropped rows", f"{prep.n_read - prep.rows.size} of {prep.n_read} rows "
                      f"left out for a missing value ({by_column}); see survey.ledger.")
    for name in fallback:
        result.notify("method", "the log-binomial model did not converge (its maximum is where "
                      "a fitted prevalence reaches 1): its prevalence ratios are from modified "
                      "Poisson regression with robust (HC0) errors instead.", name)
    for name, f in result._fits.items():
        if not f.converged:
            result.notify("non-convergence", f"the {f.family} fit did not converge: its "
                          "estimates are not reliable (a level without events?).", name)
    return result


def _poisson_fit(name, design, prep, y, sample_design) -> Fit:
    X = design.X
    w = np.ones(y.size) if sample_design is None else sample_design.weight[prep.rows]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = GLM(y, X, family=families.Poisson(), freq_weights=w).fit(tol=1e-12,
                                                                            maxiter=200)
    converged = bool(raw.converged) and not any(
        issubclass(c.category, sm_exceptions.ConvergenceWarning) for c in caught)
    mu = np.exp(X @ raw.params)
    bread = np.linalg.inv(X.T @ (X * (w * mu)[:, None]))
    scores = X * (w * (y - mu))[:, None]
    df_resid = None
    if sample_design is None:
        cov = sandwich(bread, scores, "HC0")
    else:
        from analysis.design_based import design_df
        from analysis.models.robust import design_covariance

        full = np.zeros((sample_design.weight.size, X.shape[1]))
        full[prep.rows] = scores
        cov, _ = design_covariance(bread, full, sample_design.strata, sample_design.psu)
        inside = np.zeros(sample_design.weight.size, dtype=bool)
        inside[prep.rows] = True
        df_resid = design_df(sample_design, inside) + 1 - X.shape[1]
        if df_resid < 1:
            raise ModelError(f"Model {name!r}: {X.shape[1]} coefficients but too few design "
                             "degrees of freedom (PSUs minus strata) for a t interval.")
    fit = make_fit(name, design, raw.params, cov, raw.llf, raw, prep.enc, y, converged)
    fit.family, fit.df_resid = "poisson", df_resid
    fit.cov_type = "HC0" if sample_design is None else "design"
    return fit


def _log_binomial_fit(name, design, prep, y, start) -> Fit | None:
    """ML log-binomial fit from ``start``; None when it fails (the caller falls back)."""
    X = design.X
    # The Poisson estimates may put a fitted prevalence above 1; shift the intercept down
    # so that IRLS starts inside the parameter space.
    start = np.asarray(start, float).copy()
    top = float(np.max(X @ start))
    if top >= 0:
        start[0] -= top + 1e-3
    params, converged = start, False
    llf = _log_binomial_llf(X @ params, y)
    # A fitted prevalence near 1 makes the weights mu / (1 - mu) blow up: that is the
    # boundary case the caller falls back from, not a warning for the user.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(500):  # Fisher scoring (IRLS) with step-halving inside x'b < 0
            mu = np.exp(X @ params)
            information = X.T @ (X * (mu / (1 - mu))[:, None])
            try:
                step = np.linalg.solve(information, X.T @ ((y - mu) / (1 - mu)))
            except np.linalg.LinAlgError:
                return None
            if not np.all(np.isfinite(step)):
                return None
            for _ in range(50):
                eta = X @ (params + step)
                new = _log_binomial_llf(eta, y) if eta.max() < 0 else -np.inf
                if new >= llf - 1e-12 * abs(llf):
                    break
                step = step / 2
            else:
                return None
            params, llf = params + step, new
            if np.max(np.abs(step)) < 1e-10:
                converged = True
                break
    eta = X @ params
    if not converged or np.max(eta) > -1e-6:
        return None  # the maximum is on the boundary: a fitted prevalence of 1
    mu = np.exp(eta)
    try:
        cov = np.linalg.inv(X.T @ (X * (mu / (1 - mu))[:, None]))
    except np.linalg.LinAlgError:
        return None
    raw = SimpleNamespace(params=params, cov_params=lambda: cov, llf=llf, deviance=-2 * llf)
    fit = make_fit(name, design, params, cov, llf, raw, prep.enc, y, True)
    fit.family = "binomial (log link)"
    return fit


def _log_binomial_llf(eta: np.ndarray, y: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(np.where(y > 0, eta, np.log1p(-np.exp(eta)))))


__all__ = ["FAMILIES", "RiskResult", "log_binomial", "modified_poisson"]

"""Incidence rate ratios for counts (spasm episodes): Poisson and negative binomial models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

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
    per unit of it) or 1. ``family="poisson"``: ``statsmodels`` GLM, Poisson;
    ``family="negbin"``: NB2 (variance ``mu + alpha mu^2``) with alpha by
    maximum likelihood (``statsmodels`` ``NegativeBinomial``). IRR =
    ``exp(b)`` with Wald 95% intervals; factors are treatment coded against
    the codebook's reference level. ``cov_type`` ``"robust"``/``"HC0"``,
    ``"HC1"`` or ``"cluster"`` (by ``cluster``, default the codebook's
    cluster role) replaces the model-based covariance by a sandwich
    (:mod:`analysis.models.robust`). ``impute="mice"`` fits on ``m``
    multiply imputed data sets and pools (:mod:`analysis.models.imputation`).

    ``.tests`` holds the overdispersion tests of the adjusted model:

    * Cameron & Trivedi's auxiliary regression (Cameron & Trivedi 1990,
      *J Econometrics* 46:347-364): ``((y - mu)^2 - y) / mu = alpha mu + e``
      by OLS without intercept on the Poisson fit; one-sided t-test of
      ``alpha > 0`` (always reported);
    * for ``family="negbin"``, the likelihood-ratio test of ``alpha = 0``
      against the Poisson model, with the boundary-corrected p-value
      ``0.5 P(chi2_1 > LR)`` (Self & Liang 1987, *JASA* 82:605-610).

    Rows missing the outcome, a model variable or the exposure time are left
    out and recorded in the survey ledger; a negative or fractional count, or
    an exposure time that is not positive, raises :class:`ModelError`.

    Tested against ``statsmodels`` GLM (Poisson, with offset, HC0 and
    cluster covariance) and ``NegativeBinomial`` fitted directly, and the
    auxiliary regression computed by hand.

    Examples
    --------
    >>> result = counts(survey, "spasm_episodes", ["posture"], family="negbin")  # doctest: +SKIP
    >>> result.tidy()[["label", "estimate", "ci_low", "ci_high"]]  # doctest: +SKIP
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
    info = base_info(prep, f"{family} ML", family=family, events=float(y.sum()),
                     exposure_time=exposure_time, cov_type=cov_type, cluster=cluster,
                     alpha=adjusted.raw.params[-1] if family == "negbin" else None,
                     formula=f"{prep.outcome} ~ " + " + ".join(
                         prep.terms[v].formula for v in prep.variables)
                     + (f" + offset(log({exposure_time}))" if exposure_time else ""),
                     ci="Wald 95%")
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = CountResult(table, fits, info, "irr", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: tests
    return result


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
    k = X.shape[1]
    if family == "poisson":
        raw = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)
        bread = raw.cov_params()
        scores = X * (y - raw.mu)[:, None]
    else:
        model = sm.NegativeBinomial(y, X, loglike_method="nb2", offset=offset)
        raw = model.fit(disp=0, maxiter=200, method="newton")
        if not raw.mle_retvals.get("converged", True):
            raw = model.fit(disp=0, maxiter=500, method="bfgs", start_params=raw.params)
        bread = np.linalg.inv(-model.hessian(raw.params))
        scores = model.score_obs(raw.params)
    cov = bread if cov_type == "model" else sandwich(bread, scores, cov_type, groups)
    return make_fit(name, design, raw.params[:k], np.asarray(cov)[:k, :k], raw.llf, raw,
                    prep.enc, y)


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
                     float(0.5 * stats.chi2.sf(lr, 1)), float(negbin.raw.params[-1])])
    return pd.DataFrame(rows, columns=TEST_COLUMNS)

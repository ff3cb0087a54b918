"""Design-based estimates for complex surveys: weights, strata and clusters (PSUs).

The codebook's ``weight``, ``stratum`` and ``cluster`` roles describe how the
respondents were sampled. Estimates are weighted; their standard errors come
from Taylor linearisation: each estimator is written as the solution of
weighted estimating equations, its per-row influence contributions (scores
times weights) are summed within PSUs, and the variance is the between-PSU
variance of those totals within strata, PSUs taken as drawn with
replacement (Binder 1983, *Int Stat Rev* 51:279-292; Wolter 2007,
*Introduction to Variance Estimation*, ch. 6; the default of R's
``survey::svydesign`` without ``fpc`` and of Stata's ``svy``). Degrees of
freedom are PSUs minus strata; intervals use Student's t on them.

* means and proportions (also within domains -- a level of a factor -- using
  the whole design, never a subset): the ratio ``sum w d y / sum w d`` with
  linearised values ``z_i = w_i d_i (y_i - r) / sum w d``;
* proportions get the logit-transformed interval of ``svyciprop(method =
  "logit")``: ``expit(logit p ± t se / (p (1-p)))``;
* logistic regression: weighted score equations ``sum w x (y - p) = 0``,
  sandwich ``A^-1 M A^-1`` with ``A = X' diag(w p (1-p)) X`` (as
  ``survey::svyglm``).

The ``svy`` package (PyPI, successor of ``samplics``) computes the same
things on polars frames; it is used in the tests as the independent check
(:mod:`tests.test_survey_design`) rather than at run time, because the
models here need the sandwich on their own fits (covariate patterns, Firth,
crude and adjusted sets) and a second data-frame library on every call buys
nothing for a 60-line variance formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.errors import ModelError, ValidationError
from analysis.models.robust import design_covariance, design_meat


@dataclass(frozen=True)
class SurveyDesign:
    """Per-row weights, strata and PSUs of a survey (None where the codebook has no role)."""

    weight: np.ndarray
    strata: np.ndarray | None
    psu: np.ndarray | None
    names: dict[str, str | None]

    def take(self, rows: np.ndarray) -> SurveyDesign:
        def pick(a):
            return None if a is None else a[rows]

        return SurveyDesign(self.weight[rows], pick(self.strata), pick(self.psu), self.names)


def survey_design(survey) -> SurveyDesign:
    """The design of ``survey`` from its codebook roles (weight, stratum, cluster).

    Rows with a missing or negative weight, stratum or PSU raise
    :class:`~analysis.errors.ValidationError`; without any design role, too.
    """
    cb, data = survey.codebook, survey.data
    names = {role: cb.role(role) for role in ("weight", "stratum", "cluster")}
    if not any(names.values()):
        raise ValidationError(f"{survey.source or 'survey'}: a design-based estimate needs a "
                              "variable with role weight, stratum or cluster in the codebook.")
    arrays = {}
    for role, name in names.items():
        if name is None:
            arrays[role] = None
            continue
        if name not in data.columns:
            raise ValidationError(f"The codebook's {role} column {name!r} is not in the data.")
        column = data[name]
        bad = column.isna().to_numpy()
        if role == "weight":
            values = column.to_numpy(dtype=float, na_value=np.nan)
            bad = bad | (values < 0)
        else:
            values = column.astype(object).to_numpy()
        if bad.any():
            first = ", ".join(str(x) for x in data.index[bad][:5])
            raise ValidationError(
                f"{survey.source or 'survey'}: {role} column {name!r} is missing"
                f"{' or negative' if role == 'weight' else ''} in {int(bad.sum())} rows "
                f"(first lines: {first}); a design-based estimate needs it on every row.")
        arrays[role] = values
    weight = arrays["weight"] if arrays["weight"] is not None else np.ones(len(data))
    return SurveyDesign(weight, arrays["stratum"], arrays["cluster"], names)


def ratio_estimate(y: np.ndarray, design: SurveyDesign, domain: np.ndarray | None = None
                   ) -> tuple[float, float, int]:
    """Weighted mean (or proportion of a 0/1 ``y``) in ``domain``: (estimate, se, df).

    ``y`` may be NaN outside the domain; rows with NaN ``y`` are out of it.
    """
    inside = ~np.isnan(y) if domain is None else domain & ~np.isnan(y)
    w = np.where(inside, design.weight, 0.0)
    total = w.sum()
    if total <= 0:
        return np.nan, np.nan, 0
    yy = np.where(inside, y, 0.0)
    estimate = float((w * yy).sum() / total)
    z = (w * (yy - estimate) / total)[:, None]
    meat, df = design_meat(z, design.strata, design.psu)
    return estimate, float(np.sqrt(meat[0, 0])), df


def proportion_interval(p: float, se: float, df: int) -> tuple[float, float]:
    """Logit-transformed t interval of a proportion (``svyciprop(method="logit")``)."""
    if not 0 < p < 1 or not np.isfinite(se) or df < 1:
        return np.nan, np.nan
    t = stats.t.ppf(0.975, df)
    logit = np.log(p / (1 - p))
    half = t * se / (p * (1 - p))
    return float(expit(logit - half)), float(expit(logit + half))


def survey_mean(survey, column: str, by: str | None = None) -> pd.DataFrame:
    """Design-based mean of a numeric column, overall and within levels of ``by``.

    Returns ``variable, label, group, n, estimate, se, ci_low, ci_high, df``
    (t interval on the design degrees of freedom).

    Examples
    --------
    >>> survey_mean(survey, "age", by="sex")  # doctest: +SKIP
    """
    design = survey_design(survey)
    y = survey.data[column].to_numpy(dtype=float, na_value=np.nan)
    rows = []
    for group, domain in _domains(survey, by):
        est, se, df = ratio_estimate(y, design, domain)
        t = stats.t.ppf(0.975, df) if df > 0 else np.nan
        rows.append(dict(variable=column, label=survey.label(column), group=group,
                         n=int((domain & ~np.isnan(y)).sum()), estimate=est, se=se,
                         ci_low=est - t * se, ci_high=est + t * se, df=df))
    return pd.DataFrame(rows)


def survey_table_one(survey, by: str | None = None, columns=None) -> pd.DataFrame:
    """Table 1 with weighted percentages and means and their design-based SEs and CIs.

    One row per (variable, level, group): ``variable, label, level, group,
    statistic`` ("percent" or "mean"), ``n`` (unweighted respondents with a
    known value), ``estimate`` (percent 0-100 or mean), ``se``, ``ci_low``,
    ``ci_high`` (percent: logit interval; mean: t interval), ``df``.
    Variables default to those :func:`analysis.describe.table_one` shows.

    Tested against ``svy`` (weighted proportions and means with Taylor SEs)
    on a simulated stratified cluster sample.
    """
    from analysis.codebook import CODED_TYPES
    from analysis.describe.columns import table_columns

    design = survey_design(survey)
    names = table_columns(survey, columns, by)
    rows = []
    for group, domain in _domains(survey, by):
        for name in names:
            var = survey.codebook[name]
            if var.type in CODED_TYPES:
                codes = survey.data[name].cat.codes.to_numpy()
                known = codes >= 0
                for j, level in enumerate(survey.data[name].cat.categories):
                    y = np.where(known, (codes == j).astype(float), np.nan)
                    p, se, df = ratio_estimate(y, design, domain)
                    low, high = proportion_interval(p, se, df)
                    rows.append(dict(variable=name, label=var.label, level=str(level),
                                     group=group, statistic="percent",
                                     n=int((domain & known).sum()), estimate=100 * p,
                                     se=100 * se, ci_low=100 * low, ci_high=100 * high, df=df))
            else:
                y = survey.data[name].to_numpy(dtype=float, na_value=np.nan)
                est, se, df = ratio_estimate(y, design, domain)
                t = stats.t.ppf(0.975, df) if df > 0 else np.nan
                rows.append(dict(variable=name, label=var.label, level="", group=group,
                                 statistic="mean", n=int((domain & ~np.isnan(y)).sum()),
                                 estimate=est, se=se, ci_low=est - t * se,
                                 ci_high=est + t * se, df=df))
    return pd.DataFrame(rows)


def _domains(survey, by: str | None):
    n = len(survey.data)
    yield "Overall", np.ones(n, dtype=bool)
    if by is None:
        return
    column = survey.data[by]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        raise ValidationError(f"by={by!r} must be a coded (categorical) column.")
    codes = column.cat.codes.to_numpy()
    for j, level in enumerate(column.cat.categories):
        yield str(level), codes == j


# ---- weighted logistic regression ------------------------------------------
def weighted_logit(X: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray | None = None,
                   tol: float = 1e-10, maxiter: int = 100) -> tuple[np.ndarray, np.ndarray, float]:
    """Pseudo-maximum-likelihood logistic fit: (params, bread, weighted log-likelihood).

    Newton-Raphson on ``sum w [y eta - log(1 + e^eta)]``; the bread is
    ``(X' diag(w p (1-p)) X)^-1``.
    """
    beta = np.zeros(X.shape[1]) if start is None else np.asarray(start, float).copy()
    for _ in range(maxiter):
        p = expit(X @ beta)
        information = X.T @ (X * (w * p * (1 - p))[:, None])
        step = np.linalg.solve(information, X.T @ (w * (y - p)))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise ModelError("The weighted logistic fit did not converge (separated data?).")
    eta = X @ beta
    p = expit(eta)
    bread = np.linalg.inv(X.T @ (X * (w * p * (1 - p))[:, None]))
    llf = float(-np.sum(w * np.logaddexp(0.0, np.where(y > 0, -eta, eta))))
    return beta, bread, llf


def design_logistic_fit(fit, design: SurveyDesign, rows: np.ndarray) -> int:
    """Refit a row-level logistic :class:`Fit` with weights; design-based covariance in place.

    ``rows`` are the positions of the fit's rows in the survey: rows left out
    (missing values) contribute zero scores but keep their PSU in the
    variance, as a domain of the full design (``svyglm`` on a subset).
    Returns the design degrees of freedom.
    """
    X, y = fit.design.X, fit.y
    w = design.weight[rows]
    params, bread, llf = weighted_logit(X, y, w, start=fit.params)
    scores = np.zeros((design.weight.size, X.shape[1]))
    scores[rows] = X * (w * (y - expit(X @ params)))[:, None]
    cov, df = design_covariance(bread, scores, design.strata, design.psu)
    fit.params, fit.cov, fit.llf = params, cov, llf
    return df

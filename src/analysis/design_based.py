"""Design-based estimates for complex surveys: weights, strata and clusters (PSUs).

The codebook's ``weight``, ``stratum`` and ``cluster`` roles describe how the
respondents were sampled. Estimates are weighted; their standard errors come
from Taylor linearisation: each estimator is written as the solution of
weighted estimating equations, its per-row influence contributions (scores
times weights) are summed within PSUs, and the variance is the between-PSU
variance of those totals within strata, PSUs taken as drawn with
replacement (Binder 1983, *Int Stat Rev* 51:279-292; Wolter 2007,
*Introduction to Variance Estimation*, ch. 6; the default of R's
``survey::svydesign`` without ``fpc`` and of Stata's ``svy``).

Degrees of freedom (:func:`design_df`) are PSUs minus strata, counted as R's
``degf``: among the rows in the estimate (a domain, the complete cases of a
model) with a positive weight. For a domain that is R's ``degf`` of the
subset design, which ``svyciprop`` and ``svyglm`` use (Korn & Graubard 1999,
*Analysis of Health Surveys*, sec. 5.2); ``df="design"`` takes the whole
design's instead (Stata's ``svy, subpop()`` and samplics). Intervals use
Student's t on them.

* means and proportions (also within domains -- a level of a factor -- using
  the whole design, never a subset, for the variance): the ratio ``sum w d y
  / sum w d`` with linearised values ``z_i = w_i d_i (y_i - r) / sum w d``;
  totals ``sum w d y`` with ``z_i = w_i d_i y_i`` (``svymean``, ``svytotal``);
* proportions get the interval of ``svyciprop``: by default its ``"logit"``
  method, ``expit(logit p ± t_df se / (p (1-p)))`` -- R fits ``svyglm(y ~ 1,
  quasibinomial)`` and takes ``confint(ddf = degf)`` on the logit scale,
  whose linearised SE is exactly ``se / (p (1-p))``; or ``"beta"``, Korn &
  Graubard's (1998) Clopper-Pearson interval on the effective sample size;
* logistic regression (:mod:`analysis.models.survey_logit`, on (pattern x PSU)
  cells when the covariates take few values): weighted score equations ``sum w x (y - p) = 0``,
  sandwich ``A^-1 M A^-1`` with ``A = X' diag(w p (1-p)) X``, t tests and
  intervals on ``df.residual = degf + 1 - rank`` (as ``survey::svyglm``:
  ``summary()`` and the default ``confint()``).

Tested against R's ``survey`` 4.1 (fixture ``design``,
``tests/reference/R/design.R``; ``tests/reference/test_r_design.py``), the
``svy`` package and the NHANES II tables published by samplics.

The ``svy`` package (PyPI, successor of ``samplics``) computes the same
things on polars frames; it is used in the tests as the independent check
(:mod:`tests.test_survey_design`) rather than at run time, because the
models here need the sandwich on their own fits (covariate patterns, Firth,
crude and adjusted sets) and a second data-frame library on every call buys
nothing for a 60-line variance formula.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.errors import ModelError, ValidationError
from analysis.models.robust import design_meat
from analysis.models.survey_logit import (
    design_df,
    design_logistic_fit,
    design_t_rows,
    weighted_logit,
)

DF_RULES = ("domain", "design")
PROPORTION_METHODS = ("logit", "beta")


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


_DESIGNS: list = []  # (weak reference to the data, roles, rows, weight total, design)


def survey_design(survey) -> SurveyDesign:
    """The design of ``survey`` from its codebook roles (weight, stratum, cluster).

    Rows with a missing or negative weight, stratum or PSU raise
    :class:`~analysis.errors.ValidationError`; without any design role, too.
    The design of the last few surveys is kept (by the identity of their data
    frame, the roles' columns and the weights' total): a report asks for it for every model and
    every estimate, and the very same arrays let
    :func:`analysis.models.robust.design_units` code the PSUs once. A survey's
    data are not changed in place once loaded (nothing in the package does).
    """
    cb, data = survey.codebook, survey.data
    names = {role: cb.role(role) for role in ("weight", "stratum", "cluster")}
    # the weights' total too: a weight column replaced in place is a new design
    total = (float(np.nansum(data[names["weight"]].to_numpy(dtype=float, na_value=np.nan)))
             if names["weight"] in data.columns else None)
    for kept, kept_names, kept_rows, kept_total, design in _DESIGNS:
        if (kept() is data and kept_names == names and kept_rows == len(data)
                and kept_total == total):
            return design
    design = _design_of(survey, names)
    _DESIGNS.insert(0, (weakref.ref(data), names, len(data), total, design))
    del _DESIGNS[4:]
    return design


def _design_of(survey, names: dict[str, str | None]) -> SurveyDesign:
    data = survey.data
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


def _check_df_rule(df: str) -> None:
    if df not in DF_RULES:
        raise ValidationError(f"df must be one of {', '.join(DF_RULES)}, not {df!r}.")


def ratio_estimate(y: np.ndarray, design: SurveyDesign, domain: np.ndarray | None = None,
                   df: str = "domain") -> tuple[float, float, int]:
    """Weighted mean (or proportion of a 0/1 ``y``) in ``domain``: (estimate, se, df).

    ``y`` may be NaN outside the domain; rows with NaN ``y`` are out of it.
    The variance is that of the domain in the whole design; ``df`` is
    :func:`design_df` of the rows in the estimate (``"domain"``, as R's
    ``degf`` of the subset design) or of the whole design (``"design"``).
    Tested against ``svymean`` (fixture ``design``: 1e-10).
    """
    _check_df_rule(df)
    inside = ~np.isnan(y) if domain is None else domain & ~np.isnan(y)
    w = np.where(inside, design.weight, 0.0)
    total = w.sum()
    if total <= 0:
        return np.nan, np.nan, 0
    yy = np.where(inside, y, 0.0)
    estimate = float((w * yy).sum() / total)
    z = (w * (yy - estimate) / total)[:, None]
    meat, _ = design_meat(z, design.strata, design.psu)
    return estimate, float(np.sqrt(meat[0, 0])), design_df(design, inside if df == "domain"
                                                           else None)


def total_estimate(y: np.ndarray, design: SurveyDesign, domain: np.ndarray | None = None
                   ) -> tuple[float, float]:
    """Weighted total ``sum w d y`` over rows with a known ``y`` in ``domain``, and its SE.

    Linearised values ``z_i = w_i d_i y_i`` (``svytotal``; a 0/1 ``y`` gives
    the estimated population count). Tested against ``svytotal`` (1e-10).
    """
    inside = ~np.isnan(y) if domain is None else domain & ~np.isnan(y)
    z = np.where(inside, design.weight * np.where(inside, y, 0.0), 0.0)
    meat, _ = design_meat(z[:, None], design.strata, design.psu)
    return float(z.sum()), float(np.sqrt(meat[0, 0]))


def proportion_interval(p: float, se: float, df: int, method: str = "logit",
                        n: int | None = None, level: float = 0.95) -> tuple[float, float]:
    """Interval of a design-based proportion, as R's ``svyciprop`` (survey 4.1).

    ``"logit"`` (svyciprop's default): ``expit(logit p ± t_{df} se / (p
    (1-p)))``. R computes it as the Wald interval of the intercept of
    ``svyglm(y ~ 1, family = quasibinomial)`` with ``confint(ddf = df)``;
    that intercept is ``logit p`` and its linearised SE ``se / (p (1-p))``,
    so the two agree (fixture ``design``: 1e-9; beta 1e-10).

    ``"beta"`` (Korn & Graubard 1998, *Survey Methodology* 24:193-201): the
    Clopper-Pearson interval on the effective sample size ``n_eff = p (1-p)
    / se^2 (t_{n-1} / t_{df})^2``: ``qbeta(a/2, n_eff p, n_eff (1-p) + 1)``
    to ``qbeta(1 - a/2, n_eff p + 1, n_eff (1-p))``, with ``n`` the
    respondents in the estimate (R: ``nrow`` of the subset design).

    Examples
    --------
    >>> proportion_interval(0.2, 0.03, 9)  # doctest: +ELLIPSIS
    (0.14..., 0.27...)
    """
    if method not in PROPORTION_METHODS:
        raise ValidationError(f"A proportion's interval method is one of "
                              f"{', '.join(PROPORTION_METHODS)}, not {method!r}.")
    if not 0 < p < 1 or not np.isfinite(se) or se <= 0 or df < 1:
        return np.nan, np.nan
    alpha = 1 - level
    if method == "beta":
        if n is None or n < 2:
            raise ValidationError("The beta interval of a proportion needs n, the respondents "
                                  "in the estimate (2 or more).")
        n_eff = p * (1 - p) / se**2 * (stats.t.ppf(alpha / 2, n - 1)
                                       / stats.t.ppf(alpha / 2, df)) ** 2
        return (float(stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)),
                float(stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))))
    t = stats.t.ppf(1 - alpha / 2, df)
    logit = np.log(p / (1 - p))
    half = t * se / (p * (1 - p))
    return float(expit(logit - half)), float(expit(logit + half))


def survey_mean(survey, column: str, by: str | None = None, *, df: str = "domain"
                ) -> pd.DataFrame:
    """Design-based mean of a numeric column, overall and within levels of ``by``.

    Returns ``variable, label, group, n, estimate, se, ci_low, ci_high, df``
    (t interval on ``df`` design degrees of freedom: ``"domain"``, the
    default, counts the PSUs and strata of the rows in the estimate as R's
    ``degf`` of the subset design; ``"design"`` those of the whole design, as
    Stata's ``svy, subpop()``; see :func:`design_df`).

    Tested against ``svymean`` and ``confint(df = degf(subset))`` (fixture
    ``design``) and the NHANES II means published by samplics.

    Examples
    --------
    >>> survey_mean(survey, "age", by="sex")  # doctest: +SKIP
    """
    design = survey_design(survey)
    y = survey.data[column].to_numpy(dtype=float, na_value=np.nan)
    rows = []
    for group, domain in _domains(survey, by):
        est, se, d = ratio_estimate(y, design, domain, df)
        t = stats.t.ppf(0.975, d) if d > 0 else np.nan
        rows.append(dict(variable=column, label=survey.label(column), group=group,
                         n=int((domain & ~np.isnan(y)).sum()), estimate=est, se=se,
                         ci_low=est - t * se, ci_high=est + t * se, df=d))
    return pd.DataFrame(rows)


def survey_total(survey, column: str, by: str | None = None) -> pd.DataFrame:
    """Design-based total of a numeric or 0/1 column, overall and within levels of ``by``.

    Returns ``variable, label, group, n, estimate, se`` (``svytotal`` with
    ``na.rm = TRUE``: rows with a missing value are left out; see
    :func:`total_estimate`). Tested against ``svytotal`` (fixture ``design``).

    Examples
    --------
    >>> survey_total(survey, "age")  # doctest: +SKIP
    """
    design = survey_design(survey)
    y = survey.data[column].to_numpy(dtype=float, na_value=np.nan)
    rows = []
    for group, domain in _domains(survey, by):
        est, se = total_estimate(y, design, domain)
        rows.append(dict(variable=column, label=survey.label(column), group=group,
                         n=int((domain & ~np.isnan(y)).sum()), estimate=est, se=se))
    return pd.DataFrame(rows)


def survey_table_one(survey, by: str | None = None, columns=None, *, df: str = "domain"
                     ) -> pd.DataFrame:
    """Table 1 with weighted percentages and means and their design-based SEs and CIs.

    One row per (variable, level, group): ``variable, label, level, group,
    statistic`` ("percent" or "mean"), ``n`` (unweighted respondents with a
    known value), ``estimate`` (percent 0-100 or mean), ``se``, ``ci_low``,
    ``ci_high`` (percent: the logit interval of ``svyciprop``; mean: t
    interval), ``df`` (see :func:`survey_mean`), and ``total``, ``total_se``:
    the weighted total of the level indicator (the estimated population
    count) or of the numeric variable (``svytotal``).
    Variables default to those :func:`analysis.describe.table_one` shows.
    Respondents without a value (missing, or not asked) are out of that
    variable's estimates, as ``svymean(na.rm = TRUE)``.

    Each estimate is :func:`ratio_estimate` and :func:`total_estimate` of
    one column (a level indicator or the variable), computed for all levels
    of a variable in a domain at once from the PSU totals of ``w y`` and
    ``w``, so a million rows take seconds.

    Tested against ``svymean`` and ``svytotal`` of a factor's level
    indicators and of a numeric variable, overall and by group, with their
    SEs (fixture ``design``: 1e-10), against ``svy`` and against the NHANES
    II proportions published by samplics; and cell by cell against
    :func:`ratio_estimate` and :func:`total_estimate` (1e-12).
    """
    from analysis.codebook import CODED_TYPES
    from analysis.describe.columns import table_columns

    _check_df_rule(df)
    design = survey_design(survey)
    names = table_columns(survey, columns, by)
    units = _Units(design)
    whole_df = design_df(design) if df == "design" else None
    domains = list(_domains(survey, by))
    rows = []
    for name in names:
        var = survey.codebook[name]
        if var.type in CODED_TYPES:
            codes = survey.data[name].cat.codes.to_numpy().astype(np.int64)
            levels = [str(level) for level in survey.data[name].cat.categories]
            known, values, statistic = codes >= 0, None, "percent"
        else:
            values = survey.data[name].to_numpy(dtype=float, na_value=np.nan)
            levels, known, codes, statistic = [""], ~np.isnan(values), None, "mean"
        k = len(levels)
        for group, domain in domains:
            inside = known & domain
            r = np.flatnonzero(inside)
            w, u = design.weight[r], units.units[r]
            sum_w = float(w.sum())
            # PSU totals of w y for every level (or of w x), and of w: the linearised
            # values of the ratio are (w y - estimate w) / sum w, totalled by PSU.
            if values is None:
                wy = np.bincount(u * k + codes[r], weights=w,
                                 minlength=units.n_units * k).reshape(units.n_units, k)
            else:
                wy = np.bincount(u, weights=w * values[r], minlength=units.n_units)[:, None]
            w_unit = np.bincount(u, weights=w, minlength=units.n_units)[:, None]
            total = wy.sum(axis=0)
            if sum_w > 0:
                estimate = total / sum_w
                se = np.sqrt(units.variances((wy - estimate[None, :] * w_unit) / sum_w))
                d = whole_df if whole_df is not None else units.df(inside)
            else:
                estimate, se, d = np.full(k, np.nan), np.full(k, np.nan), 0
            total_se = np.sqrt(units.variances(wy))
            for j, level in enumerate(levels):
                est, sd_err = float(estimate[j]), float(se[j])
                if statistic == "percent":
                    low, high = proportion_interval(est, sd_err, d)
                    est, sd_err, low, high = 100 * est, 100 * sd_err, 100 * low, 100 * high
                else:
                    t = stats.t.ppf(0.975, d) if d > 0 else np.nan
                    low, high = est - t * sd_err, est + t * sd_err
                rows.append(dict(variable=name, label=var.label, level=level, group=group,
                                 statistic=statistic, n=int(r.size), estimate=est, se=sd_err,
                                 ci_low=low, ci_high=high, df=d, total=float(total[j]),
                                 total_se=float(total_se[j])))
    columns = ["variable", "label", "level", "group", "statistic", "n", "estimate", "se",
               "ci_low", "ci_high", "df", "total", "total_se"]
    # the old order: by group, then variable
    order = {g: i for i, (g, _) in enumerate(domains)}
    rows.sort(key=lambda r: order[r["group"]])
    return pd.DataFrame(rows, columns=columns)


class _Units:
    """The PSUs and strata of a design, coded once, for many columns of linearised values.

    :meth:`variances` is the diagonal of :func:`design_meat` for columns of
    PSU totals (between-PSU variance within strata, with replacement);
    :meth:`df` is :func:`design_df` of a set of rows. The same grouping as
    theirs (strata, and PSUs within strata), without one pass per column.
    """

    def __init__(self, design: SurveyDesign):
        n = design.weight.size
        self.positive = design.weight > 0
        strata = (np.zeros(n, dtype=np.int64) if design.strata is None
                  else pd.factorize(pd.Series(design.strata), sort=True)[0])
        if design.psu is None:
            units = np.arange(n)
        else:
            psu = pd.factorize(pd.Series(design.psu), sort=True)[0]
            units = pd.factorize(strata.astype(np.int64) * (int(psu.max(initial=0)) + 1) + psu,
                                 sort=True)[0]
        self.units, self.strata = units, strata
        self.n_units = int(units.max(initial=-1)) + 1
        unit_stratum = np.zeros(self.n_units, dtype=np.int64)
        unit_stratum[units] = strata
        self.unit_stratum = unit_stratum
        self.n_strata = int(unit_stratum.max(initial=0)) + 1
        per_stratum = np.bincount(unit_stratum, minlength=self.n_strata)
        lonely = np.flatnonzero(per_stratum == 1)
        if lonely.size:
            raise ModelError(f"{lonely.size} sampling strata have a single PSU (e.g. stratum "
                             f"number {int(lonely[0]) + 1}); a design-based variance needs 2 or "
                             "more PSUs per stratum. Collapse such strata with a neighbour.")
        self.per_stratum = per_stratum

    def variances(self, totals: np.ndarray) -> np.ndarray:
        """Per column of PSU totals (PSUs x columns), the between-PSU variance within strata."""
        m = self.per_stratum[self.unit_stratum][:, None].astype(float)
        sums = np.column_stack([np.bincount(self.unit_stratum, weights=totals[:, j],
                                            minlength=self.n_strata)
                                for j in range(totals.shape[1])])
        centred = totals - (sums / self.per_stratum[:, None])[self.unit_stratum]
        with np.errstate(invalid="ignore", divide="ignore"):
            return (centred ** 2 * np.where(m > 1, m / (m - 1), 0.0)).sum(axis=0)

    def df(self, inside: np.ndarray) -> int:
        keep = inside & self.positive
        units = np.bincount(self.units[keep], minlength=self.n_units) > 0
        strata = np.bincount(self.unit_stratum[units], minlength=self.n_strata) > 0
        return int(units.sum()) - int(strata.sum())


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


# The weighted logistic fit lives in models.survey_logit (models use it); named here too,
# where callers of the design-based estimates have always found it.
__all__ = ["DF_RULES", "PROPORTION_METHODS", "SurveyDesign", "design_df", "design_logistic_fit",
           "design_t_rows", "proportion_interval", "ratio_estimate", "survey_design",
           "survey_mean", "survey_table_one", "survey_total", "total_estimate",
           "weighted_logit"]

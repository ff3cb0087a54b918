"""Survey-weighted logistic regression with a design-based (linearised) covariance.

Method (as ``survey::svyglm(family = quasibinomial())``; Binder 1983, *Int
Stat Rev* 51:279-292): the pseudo-maximum-likelihood estimate solves the
weighted score equations ``sum_i w_i x_i (y_i - p_i) = 0`` (Newton-Raphson,
:func:`weighted_logit`); its covariance is the sandwich ``A^-1 M A^-1`` with
``A = X' diag(w p (1-p)) X`` and ``M`` the between-PSU variance within strata
of the PSU totals of the scores ``w_i x_i (y_i - p_i)`` (PSUs with
replacement; rows outside the fit score zero but keep their PSU, a domain).

**Cells.** When the covariates of the model take few values (factors), a row's ``x``
and ``p`` depend only on its covariate pattern, so every sum above is a sum
over cells -- (covariate pattern x PSU) -- of the cell's weight total
``sum w`` and weighted events ``sum w y``: the score total of a PSU is
``sum_c x_c (sum_c w y - p_c sum_c w)``, the information ``sum_c x_c x_c'
p_c (1-p_c) sum_c w`` and the pseudo-log-likelihood ``sum_c [sum w y log p_c
+ (sum w - sum w y) log(1-p_c)]``. :func:`design_cells` makes them (tens of
thousands of cells instead of 10^6 rows) and :func:`design_logistic_fit`
fits on them; estimates and standard errors equal the row fit's up to
rounding (``tests/test_models_survey_logit.py``: 1e-10 relative). With a
continuous covariate the fit stays on rows, in blocks.

Tested against R's ``survey`` 4.1 (fixture ``design``:
``tests/reference/test_r_design.py``, estimates 1e-10, SEs 1e-9) on both
paths.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.aggregate import pattern_index
from analysis.errors import ModelError
from analysis.models.blocked import information_score, one_blas_thread
from analysis.models.design import Design, Encoded, Term, build_design
from analysis.models.fitting import Z95
from analysis.models.newton import weighted_newton
from analysis.models.robust import design_units, meat_of_totals, psu_totals

CELL_RATIO = 2  # cells at most half the rows: fit on cells


@dataclass
class DesignCells:
    """A fit's rows aggregated to (covariate pattern x PSU) cells.

    ``X`` is the cells' design (one row per cell), ``w`` the cells' weight
    totals and ``y`` their weighted event fractions (``sum w y / sum w``, so
    ``w * (y - p)`` is the cell's score factor), ``encoded`` the model
    variables of each cell and ``units`` its PSU (numbered as
    :func:`analysis.models.robust.design_units` numbers them).
    """

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    encoded: dict[str, Encoded]
    units: np.ndarray


def design_df(design, inside: np.ndarray | None = None) -> int:
    """Design degrees of freedom: PSUs minus strata among the rows ``inside``.

    As R's ``degf`` (survey 4.1): only rows with a positive weight count, so
    on a domain (a subset design) a PSU without domain members and a stratum
    without such PSUs drop out. Without PSUs each row is one; without strata
    there is one stratum. ``design`` is a
    :class:`analysis.design_based.SurveyDesign`.

    Examples
    --------
    >>> design_df(survey_design(survey))  # doctest: +SKIP
    9
    """
    keep = design.weight > 0
    if inside is not None:
        keep = keep & inside
    units, unit_stratum = design_units(keep.size, design.strata, design.psu)
    kept = np.bincount(units[keep], minlength=unit_stratum.size) > 0  # PSUs with such rows
    return int(kept.sum()) - int((np.bincount(unit_stratum[kept]) > 0).sum())


def weighted_logit(X: np.ndarray, y: np.ndarray, w: np.ndarray, start: np.ndarray | None = None,
                   tol: float = 1e-10, maxiter: int = 100) -> tuple[np.ndarray, np.ndarray, float]:
    """Pseudo-maximum-likelihood logistic fit: (params, bread, weighted log-likelihood).

    Newton-Raphson on ``sum w [y log p + (1 - y) log(1 - p)]``, ``y`` in
    [0, 1] (0/1 on rows, the weighted event fraction on cells); the bread is
    ``(X' diag(w p (1-p)) X)^-1`` at the estimate. Tested through
    :func:`design_logistic_fit` against ``svyglm`` (fixture ``design``).
    """
    beta = np.zeros(X.shape[1]) if start is None else np.asarray(start, float).copy()
    with one_blas_thread():  # once for the whole fit, not at every pass
        for _ in range(maxiter):
            p = expit(X @ beta)
            # information and score over blocks of rows: no n x k temporary per iteration
            information, score = information_score(X, w * p * (1 - p), w * (y - p))
            step = np.linalg.solve(information, score)
            beta = beta + step
            if np.max(np.abs(step)) < tol:
                break
        else:
            raise ModelError("The weighted logistic fit did not converge (separated data?).")
        eta = X @ beta
        p = expit(eta)
        bread = np.linalg.inv(information_score(X, w * p * (1 - p), np.zeros_like(p))[0])
    # log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta), without overflow
    llf = float(-np.sum(w * (y * np.logaddexp(0.0, -eta) + (1 - y) * np.logaddexp(0.0, eta))))
    return beta, bread, llf


def design_cells(terms: list[Term], encoded: dict[str, Encoded], y: np.ndarray, design,
                 rows: np.ndarray) -> DesignCells | None:
    """The (covariate pattern x PSU) cells of a model's rows, or None when they are too many.

    ``terms`` are the model's, ``encoded`` and ``y`` its rows' variables and
    0/1 outcome, ``rows`` those rows' positions in the survey. A pattern is a
    combination of the factors' levels and the numeric covariates' values (a
    spline's columns are functions of its value). None when the cells would
    be more than half the rows (then the rows are as cheap), which
    continuous covariates give. Cells of zero weight total are left out
    (they add nothing to any sum; their PSUs still count, as the rows' do).
    """
    used = sorted({v for t in terms for v in t.variables})
    n = rows.size
    numeric = [encoded[v] for v in used if encoded[v].kind != "factor"]
    if numeric and not _compressible(numeric, n):
        return None
    units, unit_stratum = design_units(design.weight.size, design.strata, design.psu)
    units = units[rows]
    w = design.weight[rows]
    sizes = [len(encoded[v].categories) for v in used]
    space = float(np.prod(sizes, dtype=float)) * max(unit_stratum.size, 1)
    if not numeric and space <= max(4 * n, 1 << 20):
        # Few possible cells: the mixed-radix key of (levels, PSU) numbers them without
        # hashing a million keys, and its digits give each cell's levels and PSU back.
        key = np.zeros(n, dtype=np.int64)
        for v, k in zip(used, sizes, strict=True):
            key = key * k + encoded[v].codes
        key = key * max(unit_stratum.size, 1) + units
        sw = np.bincount(key, weights=w, minlength=int(space))
        cell = np.flatnonzero(sw > 0)
        swy = np.bincount(key, weights=w * y, minlength=int(space))[cell]
        sw = sw[cell]
        cell_units, rest = cell % max(unit_stratum.size, 1), cell // max(unit_stratum.size, 1)
        of_cells = {}
        for v, k in reversed(list(zip(used, sizes, strict=True))):
            e = encoded[v]
            of_cells[v] = replace(e, codes=(rest % k).astype(e.codes.dtype))
            rest = rest // k
    else:
        inverse, first = pattern_index([encoded[v].group_codes for v in used]
                                       + [(units, max(unit_stratum.size, 1))])
        if first.size * CELL_RATIO > n:
            return None
        sw = np.bincount(inverse, weights=w, minlength=first.size)
        swy = np.bincount(inverse, weights=w * y, minlength=first.size)
        keep = sw > 0
        first, sw, swy = first[keep], sw[keep], swy[keep]
        of_cells = {v: encoded[v].take(first) for v in used}
        cell_units = units[first]
    if sw.size * CELL_RATIO > n:
        return None
    X = build_design(terms, of_cells).X if used else np.ones((sw.size, 1))
    return DesignCells(X, swy / sw, sw, of_cells, cell_units)


def as_rows(fit, encoded: dict[str, Encoded], y: np.ndarray):
    """Make a fit on covariate patterns the same fit on its rows (``encoded``, ``y``), in place.

    Its estimates are unchanged; its design, variables and outcome become the
    rows', for the sums that a design-based fit takes over rows (scores by
    PSU, weighted means), which patterns cannot give. Returns ``fit``.
    """
    terms = fit.design.terms
    used = {v for t in terms for v in t.variables}
    fit.design = (build_design(terms, {v: encoded[v] for v in used}) if used
                  else Design(np.ones((y.size, 1)), ["Intercept"], []))
    fit.method, fit.encoded, fit.y, fit.events, fit.trials = "rows", encoded, y, None, None
    return fit


def _compressible(encoded: list[Encoded], n: int) -> bool:
    """Whether the first rows' covariate patterns are at most 1/4 of them (then try cells).

    Continuous covariates (age to 2 decimals) make almost every row its own
    pattern; 5% of the rows tell without numbering all of them. Only the path
    depends on it: cells and rows give the same fit.
    """
    m = min(n, max(2000, n // 20))
    return pattern_index([e.take(slice(0, m)).group_codes for e in encoded])[1].size \
        * 2 * CELL_RATIO <= m


def design_logistic_fit(fit, design, rows: np.ndarray, cells: bool = True,
                        encoded: dict[str, Encoded] | None = None,
                        y: np.ndarray | None = None) -> int:
    """Refit a logistic :class:`Fit` with weights; design-based covariance in place.

    ``fit`` is the fit the weighted one starts from: on rows (any start; the
    survey-weighted one converges at once), or unweighted on covariate
    patterns, whose rows' variables and 0/1 outcome are then ``encoded`` and
    ``y`` (a row fit has its own). ``rows`` are the positions of those rows
    in the survey: rows left out (missing values) contribute zero scores but
    keep their PSU in the variance, as a domain of the full design
    (``svyglm`` on a subset).
    With covariates of few values (factors; and ``cells``) the fit is on
    :func:`design_cells`, kept as ``fit.cells`` for the standardised
    prevalences; otherwise on the rows, and a pattern fit becomes a row fit
    (its design, variables and outcome those of the rows). Sets
    ``fit.cov_type = "design"`` and ``fit.df_resid = degf + 1 - rank``, the
    residual df ``svyglm`` gives its t tests and default ``confint``
    (``degf`` is :func:`design_df` of the
    fit's rows), so :meth:`~analysis.models.result.ModelResult.coefficients`
    uses t. Returns ``degf``. Tested against ``svyglm(family =
    quasibinomial())`` (fixture ``design``: estimates 1e-10; SEs, p-values
    and CIs 1e-9), and cells against rows (1e-10).
    """
    if fit.method != "patterns":
        encoded, y = fit.encoded, fit.y
    elif encoded is None or y is None:
        raise ModelError(f"Model {getattr(fit, 'name', '')!r} was fitted on covariate patterns: "
                         "the design-based refit needs its rows (encoded= and y=).")
    made = design_cells(fit.design.terms, encoded, y, design, rows) if cells else None
    if made is None and fit.method == "patterns":
        as_rows(fit, encoded, y)
    units, unit_stratum = design_units(design.weight.size, design.strata, design.psu)
    if made is not None:
        X, y, w, units = made.X, made.y, made.w, made.units
        params, bread, llf = weighted_logit(X, y, w, start=fit.params)
    else:  # 0/1 rows: Newton's blocked passes, one of them from the weighted row fit
        X, y, w, units = fit.design.X, fit.y, design.weight[rows], units[rows]
        params, bread, llf, converged = weighted_newton(X, y, w, fit.params)
        if not converged:
            raise ModelError("The weighted logistic fit did not converge (separated data?).")
    # rows left out score zero: only the fit's rows (or cells) are totalled by PSU
    totals = psu_totals(X, units, unit_stratum.size, w * (y - expit(X @ params)))
    meat, _ = meat_of_totals(totals, unit_stratum)
    inside = np.zeros(design.weight.size, dtype=bool)
    inside[rows] = True
    df = design_df(design, inside)
    fit.params, fit.cov, fit.llf = params, bread @ meat @ bread, llf
    fit.cov_type = "design"
    fit.cells = made
    fit.df_resid = df + 1 - X.shape[1]
    if fit.df_resid < 1:
        raise ModelError(
            f"Model {getattr(fit, 'name', '')!r}: {X.shape[1]} coefficients but only {df} design "
            "degrees of freedom (PSUs minus strata): no t test or interval is possible. "
            "Use fewer terms or a design with more PSUs.")
    return df


def design_t_rows(tidy: pd.DataFrame, df_resid) -> pd.DataFrame:
    """Intervals and p-values of a tidy (ratio-scale) table on t with ``df_resid`` df.

    The rows were built with the normal quantile (``exp(b ± z se)``); each
    ``b`` and ``se`` is recovered from them -- also for spline contrasts, which
    are not single coefficients -- and the interval and p-value redone with
    Student's t, as ``summary.svyglm`` and ``confint.svyglm``. ``df_resid`` is a
    number, or a mapping from the ``variable`` column to the df of the fit
    each row comes from (the crude models).
    """
    out = tidy.copy()
    if isinstance(df_resid, dict):
        df = out["variable"].map(df_resid).to_numpy(dtype=float)
    else:
        df = np.full(len(out), float(df_resid))
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.log(out["estimate"].to_numpy(dtype=float))
        se = (np.log(out["ci_high"].to_numpy(dtype=float))
              - np.log(out["ci_low"].to_numpy(dtype=float))) / (2 * Z95)
        t = stats.t.ppf(0.975, df)
        has = np.isfinite(se)
        out.loc[has, "ci_low"] = np.exp(b - t * se)[has]
        out.loc[has, "ci_high"] = np.exp(b + t * se)[has]
        out.loc[has, "p_value"] = (2 * stats.t.sf(np.abs(b / se), df))[has]
    return out


__all__ = ["CELL_RATIO", "DesignCells", "as_rows", "design_cells", "design_df",
           "design_logistic_fit", "design_t_rows", "weighted_logit"]


"""Crude and adjusted odds ratios for a binary outcome in one call."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.aggregate import event_indicator
from analysis.errors import BackpainWarning, ModelError
from analysis.models.design import (
    Term,
    encode,
    factor_term,
    interaction_term,
    numeric_term,
    spline_term,
)
from analysis.models.firth import profile_rows
from analysis.models.fitting import fit_terms
from analysis.models.imputation import fit_imputed
from analysis.models.lr import model_tests, robust_model_tests
from analysis.models.result import LogisticResult
from analysis.models.rows import TABLE_COLUMNS, side_by_side, tidy_rows
from analysis.models.variables import RULE_MISSING, model_variables
from analysis.style import count, percent


def logistic(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
             adjust_for: Sequence[str] | None = None,
             interactions: Sequence[str | tuple[str, str]] = (),
             splines: Sequence[str] | Mapping[str, int] = (), *, method: str = "auto",
             firth: bool = False, reference: Mapping[str, object] | None = None,
             cov_type: str = "model", cluster: str | None = None, design: bool = False,
             impute: str | None = None, m: int = 20, seed: int = 0,
             crude: bool = True) -> LogisticResult:
    """Crude and adjusted odds ratios, side by side, for a binary outcome.

    Each exposure is fitted alone (crude) and all exposures together with
    ``adjust_for`` (adjusted), on the same complete-case rows so that the two
    columns differ only by adjustment. Factors are treatment coded against the
    codebook's reference level (``Variable.reference``, else the first level;
    ``reference={"posture": "Fair"}`` overrides); numeric variables give one
    OR per unit; ``splines`` enter numeric variables as restricted cubic
    splines (Harrell; 4 knots at the 5/35/65/95th centiles unless a mapping
    ``{name: n_knots}`` says otherwise), reported as ORs at the knots against
    the median. ``interactions`` are pairs (``("posture", "sex")`` or
    ``"posture:sex"``) reported as ratios of odds ratios.

    Method: maximum likelihood, Wald 95% intervals ``exp(b ± 1.96 se)`` and
    Wald p-values; ``firth=True`` uses Firth's penalised likelihood with
    logistf's profile penalised-likelihood intervals and penalised
    likelihood-ratio p-values (``info["ci"]`` says which). With
    ``method="auto"`` the fit runs on covariate patterns when they are at most
    a tenth of the rows (exact), otherwise on the rows with a design matrix
    built from the categorical codes; ``info["method"]`` says which.
    ``.tests`` holds, computed on first use, a likelihood-ratio test for each
    term with more than one column (crude: against the null model; adjusted:
    against the model without the term) and a Wald test for trend for each
    ordinal factor with 3 or more levels (scored 0..k-1 as one term). Under
    ``cov_type`` robust, HC1 or cluster the term tests are Wald chi-square
    tests ``b' V^-1 b`` with the same sandwich covariance as the table (an LR
    test is model-based); the ``test`` and ``covariance`` columns and
    ``info["tests"]`` say which.

    Rows missing the outcome or any model variable are left out of every
    model, recorded in the survey ledger (rule ``"missing value in model
    variable"``, action ``"not in model"``) and counted in ``info``.

    ``.notices`` say what a reader must know: the adjustment set taken from
    the codebook's ``role: confounder`` when ``adjust_for`` is not given
    (``"adjustment set"``); the rows used of the rows read and the rows
    missing each column (``"dropped rows"``), with a second notice that
    suggests ``impute="mice"`` or a smaller set when fewer than half remain;
    separation (a factor level without events or non-events, or Konis's
    linear-programming check), on the pattern path as on the row path
    (``"separation"``); and every fit that did not converge
    (``"non-convergence"``, naming the model).

    Options (:mod:`analysis.models.robust`, :mod:`analysis.design_based`,
    :mod:`analysis.models.imputation`): ``cov_type="robust"`` (HC0),
    ``"HC1"`` or ``"cluster"`` (by ``cluster``, default the codebook's
    cluster role) gives sandwich standard errors; ``design=True`` fits the
    survey-weighted model with design-based (Taylor-linearised) standard
    errors from the codebook's weight, stratum and cluster roles (as
    ``survey::svyglm``; ``.tests`` is then empty: likelihood-ratio tests do
    not hold under the design; ``.fits`` are then the fits the design-based
    ones start from, not results: unweighted on covariate patterns, or
    survey-weighted on rows with a model-based covariance);
    ``impute="mice"`` fits on ``m`` multiply imputed data sets (seed
    ``seed``) and pools by Rubin's rules, with
    ``info["n_dropped_complete_case"]`` and ``info["fmi"]``. ``crude=False``
    fits the adjusted model alone (the table's crude columns are empty and
    ``.tests`` too): for a model whose crude estimates come from elsewhere, as
    the model of all exposures when each has a model of its own
    (:func:`analysis.plan.causal.fit_by_adjustment_set`); not with ``impute``.

    Tested against R (fixture ``logistic``, ``tests/reference/R/logistic.R``):
    ``glm(binomial)`` crude, adjusted and interaction models on rows and on
    patterns (estimates 1e-8, SEs 1e-7, llf/deviance/AIC/BIC 1e-10), LR tests
    by ``anova(test = "LRT")``, ``sandwich::vcovHC`` HC0/HC1 and ``vcovCL``
    (type HC1) with their Wald tests (1e-6); and against
    ``statsmodels.formula.api.logit``, a hand-computed 2x2 OR with Woolf
    interval and an independent Firth fit.

    Examples
    --------
    >>> result = logistic(survey, "spasm_12m", ["posture"], ["age", "sex"])  # doctest: +SKIP
    >>> result.table[["label", "or_crude", "or_adjusted"]]  # doctest: +SKIP
    """
    if impute is not None:
        if not crude:
            raise ModelError("crude=False is not available with impute: the pooled table "
                             "needs the crude models.")
        return fit_imputed(logistic, survey, impute, m, seed, outcome=outcome,
                           exposures=exposures, adjust_for=adjust_for, interactions=interactions,
                           splines=splines, method=method, firth=firth, reference=reference,
                           cov_type=cov_type, cluster=cluster, design=design)
    data, codebook = survey.data, survey.codebook
    adjust_default = adjust_for is None
    outcome, exposures, adjust_for = model_variables(survey, outcome, exposures, adjust_for)
    if not exposures:
        raise ModelError(
            "No exposures: name them, or give variables role: exposure in the codebook.")
    pairs = [tuple(i.split(":")) if isinstance(i, str) else tuple(i) for i in interactions]
    variables = list(dict.fromkeys([*exposures, *adjust_for]))
    for pair in pairs:
        if len(pair) != 2 or any(v not in variables for v in pair):
            raise ModelError(f"Interaction {':'.join(pair)!r}: both variables must be exposures "
                             f"or in adjust_for ({', '.join(variables)}).")
    knots = dict(splines) if isinstance(splines, Mapping) else dict.fromkeys(splines, 4)
    reference = dict(reference or {})

    y_all = event_indicator(_column(data, outcome), outcome)
    enc_all = {v: encode(data, codebook, v, reference.get(v)) for v in variables}
    for v in knots:
        if v not in enc_all or enc_all[v].kind != "numeric":
            raise ModelError(f"Spline of {v!r}: only a numeric model variable can be a spline.")

    cov_type, cluster, groups_all, sample_design = _variance_options(survey, cov_type, cluster,
                                                                     design, firth)
    # Sandwiches need one score per respondent. A design-based fit totals its scores by PSU
    # over (pattern x PSU) cells or rows itself, so the fit it starts from may be on patterns.
    if cov_type != "model":
        method = "rows"
    # Complete cases: one sample for crude and adjusted models alike.
    missing = {outcome: np.isnan(y_all), **{v: e.missing for v, e in enc_all.items()}}
    if groups_all is not None:
        missing[cluster] = pd.isna(pd.Series(groups_all)).to_numpy()
    keep = ~np.logical_or.reduce(list(missing.values()))
    step = f"model {outcome}"
    dropped = {}
    for column, miss in missing.items():
        if miss.any():
            dropped[column] = int(miss.sum())
            survey.record(step=step, rule=RULE_MISSING, action="not in model",
                          lines=data.index[miss].to_numpy(), column=column)
    rows = np.flatnonzero(keep)
    y = y_all[rows]
    if y.size == 0 or y.min() == y.max():
        raise ModelError(f"Model of {outcome!r}: {y.size} complete rows with {int(y.sum())} "
                         "events; a logistic model needs both events and non-events.")
    # every row complete (common at scale): the encodings as they are, not a copy
    enc = enc_all if rows.size == y_all.size else {v: e.take(rows) for v, e in enc_all.items()}

    def term_of(v: str) -> Term:
        if v in knots:
            return spline_term(enc[v], knots[v])
        return factor_term(enc[v]) if enc[v].kind == "factor" else numeric_term(enc[v])

    main_terms = {v: term_of(v) for v in variables}
    inter_terms = [interaction_term(enc[a], enc[b]) for a, b in pairs]
    from analysis.diagnostics import sparse_cells

    cells = sparse_cells(enc, y, exposures + adjust_for, warn=True, firth=firth)

    counts = {}  # n and events per level of each factor: the same rows for every model
    crude_of = exposures if crude else []
    # under the design a row fit is weighted already; the design-based fit adds its covariance
    weights = sample_design.weight[rows] if sample_design is not None else None
    crude_fits = {v: fit_terms(f"crude: {v}", [main_terms[v]], enc, y, method, firth, counts,
                               weights=weights)
                  for v in crude_of}
    adjusted = fit_terms("adjusted", [*main_terms.values(), *inter_terms], enc, y, method,
                         firth, weights=weights)

    design_df = None
    for fit in [adjusted, *crude_fits.values()]:
        if sample_design is not None:
            from analysis.design_based import design_logistic_fit

            design_df = design_logistic_fit(fit, sample_design, rows, encoded=enc, y=y)
            if fit.cov_type == "model":
                fit.cov_type = "design"
        elif cov_type != "model":
            from analysis.models.robust import robust_logistic_fit

            robust_logistic_fit(fit, cov_type, None if groups_all is None else groups_all[rows])
    tidy_adj = tidy_rows(adjusted, [*main_terms.values(), *inter_terms], enc, y, counts)
    tidy_crude = [tidy_rows(crude_fits[v], [main_terms[v]], enc, y, counts) for v in crude_of]
    if firth:  # logistf's defaults: profile penalised-likelihood intervals, penalised LR p
        tidy_adj = profile_rows(adjusted, tidy_adj, [*main_terms.values(), *inter_terms], enc)
        tidy_crude = [profile_rows(crude_fits[v], t, [main_terms[v]], enc)
                      for v, t in zip(crude_of, tidy_crude, strict=True)]
    tidy_crude = (pd.concat(tidy_crude, ignore_index=True) if crude
                  else tidy_adj.iloc[:0].copy())
    if sample_design is not None or cov_type == "cluster":  # t on each fit's df
        from analysis.design_based import design_t_rows

        tidy_adj = design_t_rows(tidy_adj, adjusted.df_resid)
        if crude:
            tidy_crude = design_t_rows(tidy_crude, {v: f.df_resid for v, f in crude_fits.items()})
    table = side_by_side(tidy_crude, tidy_adj, exposures, inter_terms)
    formula = f"{outcome} ~ " + " + ".join(t.formula for t in [*main_terms.values(), *inter_terms])
    info = {
        "outcome": outcome,
        "event": _event_label(data[outcome]),
        "n": int(y.size),
        "events": int(y.sum()),
        "n_read": len(data),
        "n_dropped": int((~keep).sum()),
        "dropped_by_column": dropped,
        "exposures": exposures,
        "adjust_for": adjust_for,
        "formula": formula,
        "formulas_crude": {v: f"{outcome} ~ {main_terms[v].formula}" for v in crude_of},
        "method": adjusted.method,
        "methods": {"adjusted": adjusted.method, **{f"crude: {v}": f.method
                                                   for v, f in crude_fits.items()}},
        "n_patterns": int(adjusted.design.X.shape[0]) if adjusted.method == "patterns" else None,
        "firth": firth,
        "reference": {v: e.categories[e.reference] for v, e in enc.items() if e.kind == "factor"},
        "ci": ("profile penalised-likelihood 95%" if firth
               else "Wald 95%, t on df.residual (svyglm)" if sample_design is not None
               else "Wald 95%, t on clusters - 1 df" if cov_type == "cluster"
               else "Wald 95%"),
        "cov_type": "design (Taylor linearisation)" if sample_design is not None else cov_type,
        "cluster": cluster,
        "design": sample_design.names if sample_design is not None else None,
        "design_df": design_df,
        "tests": _tests_info(cov_type, sample_design is not None, firth),
    }
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude_fits.items()}}
    result = LogisticResult(table, fits, info, "or", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude_fits.items()}}
    _notify_variables(result, adjust_default, adjust_for, dropped, survey.label)
    if not firth:
        _notify_separation(result, cells, warn=True)
    for name, fit in result._fits.items():
        if not fit.converged:
            result.notify("non-convergence", "the fit did not converge: its estimates and "
                          "standard errors are not reliable (separated data or a sparse "
                          "level?). See analysis.diagnostics.separation(); firth=True gives "
                          "finite estimates.", name)
    for fit in crude_fits.values():
        # A crude model's matrix is rebuilt from its codes when used again (tests, a
        # standardisation on rows): the fits of a report at 10^7 held 2 GB of them.
        if fit.method == "rows":
            fit.design.release()
    # term tests compare each crude model with the null model: none without crude models,
    # and none under a design (likelihood-ratio tests do not hold there)
    if crude and sample_design is None and cov_type != "model":
        groups = None if groups_all is None else groups_all[rows]
        result._tests = lambda: robust_model_tests(crude_fits, adjusted, main_terms,
                                                   inter_terms, enc, cov_type, groups)
        result.notify("test", info["tests"])
    elif crude and sample_design is None:
        result._tests = lambda: model_tests(crude_fits, adjusted, main_terms, inter_terms, enc)
    return result


def _tests_info(cov_type: str, design: bool, firth: bool) -> str:
    """Which test and which covariance ``.tests`` uses (also a notice under a sandwich)."""
    if design:
        return "none: likelihood-ratio tests do not hold under the sampling design"
    if cov_type != "model":
        return (f"Wald chi-square tests with the {cov_type} sandwich covariance of the table "
                "(a likelihood-ratio test would be model-based); trend: Wald z, same covariance")
    kind = "penalised likelihood-ratio" if firth else "likelihood-ratio"
    return f"{kind} tests (model-based); trend: Wald z, model-based covariance"


def _notify_variables(result, adjust_default: bool, adjust_for: list[str],
                      dropped: dict[str, int], label=str) -> None:
    """Notices of the adjustment set taken from the codebook and of the complete-case loss."""
    info = result.info
    if adjust_default:
        if adjust_for:
            message = ("adjust_for not given: the adjusted model uses the codebook's variables "
                       f"with role: confounder ({', '.join(map(label, adjust_for))}); pass "
                       "adjust_for= to choose the set.")
        else:
            message = ("adjust_for not given and the codebook has no variable with role: "
                       "confounder: the adjusted model holds the exposures only.")
        result.notify("adjustment set", message)
    n, n_read = info["n"], info["n_read"]
    if n < n_read:
        per_column = ", ".join(f"{label(c)} {count(k)}" for c, k in dropped.items())
        result.notify("dropped rows",
                      f"complete cases: {count(n)} of {count(n_read)} rows read used, "
                      f"{count(n_read - n)} left "
                      f"out; rows missing each column: {per_column} (a row missing several "
                      "columns counts in each). Every model uses the same rows.")
    if n < n_read / 2:
        worst = sorted(dropped.items(), key=lambda kv: -kv[1])[:3]
        result.notify("dropped rows",
                      f"only {count(n)} of {count(n_read)} rows read "
                      f"({percent(100 * n / n_read, 0)}%) are complete cases over the outcome, "
                      "exposures and adjustment set (most missing: "
                      + ", ".join(f"{label(c)} {count(k)}" for c, k in worst)
                      + "); consider impute='mice' or a smaller adjustment set.")


def notify_complete_cases(result, dropped: dict[str, int], label=str) -> None:
    """The complete-case notices of a result fitted elsewhere (on DuckDB aggregates)."""
    _notify_variables(result, False, [], dropped, label)


def _notify_separation(result, cells: pd.DataFrame, warn: bool) -> None:
    """A ``separation`` notice for each fit whose ML estimates are infinite.

    Two checks, on the row path and the pattern path alike: a level of a
    factor in the model with no events or no non-events (``cells``, from
    :func:`analysis.diagnostics.sparse_cells`), and Konis's linear program
    (:func:`analysis.diagnostics.separated_columns`), on the patterns of a
    pattern fit and on the rows of a row fit that did not converge. A
    separated fit is marked not converged: its maximum-likelihood estimate
    does not exist, whatever the algorithm's stopping rule said.
    """
    from analysis.diagnostics import separated_columns

    flagged = cells[cells["problem"] == "quasi-complete separation"]
    for name, fit in result._fits.items():
        used = {v for t in fit.design.terms for v in t.variables}
        levels = flagged[flagged["variable"].isin(used)]
        # The linear program is cheap on few patterns; on many it runs when the fit looks
        # separated (a diverging coefficient), as a row fit then fails to converge.
        suspicious = not fit.converged or np.abs(fit.params[1:]).max(initial=0) > 10
        check = suspicious or (fit.method == "patterns" and fit.design.X.shape[0] <= 5000)
        columns = separated_columns(fit) if check else []
        if not len(levels) and not columns:
            continue
        parts = [f"{r.label} ({r.variable}) level {r.level!r} has "
                 f"{int(r.events) if r.events == 0 else int(r.nonevents)} "
                 f"{'events' if r.events == 0 else 'non-events'} among {int(r.n)} respondents"
                 for r in levels.itertuples()]
        if columns:
            parts.append("the linear-programming check finds infinite estimates for "
                         + ", ".join(columns))
        message = ("separated data: " + "; ".join(parts) + ". Maximum-likelihood odds ratios "
                   "are infinite there; refit with firth=True or merge levels.")
        result.notify("separation", message, name)
        if fit.converged:
            fit.converged = False
            if warn:
                warnings.warn(f"Model {name!r}: {message}", BackpainWarning, stacklevel=3)


def _variance_options(survey, cov_type: str, cluster: str | None, design: bool, firth: bool):
    """Checked ``cov_type``, the cluster column and its values, and the survey design."""
    from analysis.models.robust import check_cov_type, cluster_column

    cov_type = check_cov_type(cov_type)
    if firth and (design or cov_type != "model"):
        raise ModelError("Robust and design-based standard errors are not available with "
                         "firth=True.")
    sample_design = None
    if design:
        from analysis.design_based import survey_design

        sample_design = survey_design(survey)
    name, groups = cluster_column(survey, cov_type, cluster)
    cluster = name or cluster
    return cov_type, cluster, groups, sample_design


def _column(data: pd.DataFrame, name: str) -> pd.Series:
    if name not in data.columns:
        raise ModelError(f"The survey has no outcome column {name!r}.")
    return data[name]


def _event_label(series: pd.Series) -> str:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return str(series.cat.categories[1])
    return "1"


__all__ = ["TABLE_COLUMNS", "logistic"]

"""Crude and adjusted odds ratios for a binary outcome in one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.aggregate import event_indicator
from analysis.errors import ModelError
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
from analysis.models.lr import model_tests
from analysis.models.result import LogisticResult
from analysis.models.rows import TABLE_COLUMNS, side_by_side, tidy_rows
from analysis.models.variables import RULE_MISSING, model_variables


def logistic(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
             adjust_for: Sequence[str] | None = None,
             interactions: Sequence[str | tuple[str, str]] = (),
             splines: Sequence[str] | Mapping[str, int] = (), *, method: str = "auto",
             firth: bool = False, reference: Mapping[str, object] | None = None,
             cov_type: str = "model", cluster: str | None = None, design: bool = False,
             impute: str | None = None, m: int = 20, seed: int = 0) -> LogisticResult:
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
    ordinal factor with 3 or more levels (scored 0..k-1 as one term).

    Rows missing the outcome or any model variable are left out of every
    model, recorded in the survey ledger (rule ``"missing value in model
    variable"``, action ``"not in model"``) and counted in ``info``.

    Options (:mod:`analysis.models.robust`, :mod:`analysis.design_based`,
    :mod:`analysis.models.imputation`): ``cov_type="robust"`` (HC0),
    ``"HC1"`` or ``"cluster"`` (by ``cluster``, default the codebook's
    cluster role) gives sandwich standard errors; ``design=True`` fits the
    survey-weighted model with design-based (Taylor-linearised) standard
    errors from the codebook's weight, stratum and cluster roles (as
    ``survey::svyglm``; ``.tests`` is then empty: likelihood-ratio tests do
    not hold under the design); ``impute="mice"`` fits on ``m`` multiply
    imputed data sets (seed ``seed``) and pools by Rubin's rules, with
    ``info["n_dropped_complete_case"]`` and ``info["fmi"]``.

    Tested against ``statsmodels.formula.api.logit`` with ``info["formula"]``
    (ORs, CIs, p-values to 1e-6), a hand-computed 2x2 OR with Woolf interval,
    statsmodels' ``llr`` for nested fits, and an independent Firth fit.

    Examples
    --------
    >>> result = logistic(survey, "spasm_12m", ["posture"], ["age", "sex"])  # doctest: +SKIP
    >>> result.table[["label", "or_crude", "or_adjusted"]]  # doctest: +SKIP
    """
    if impute is not None:
        return fit_imputed(logistic, survey, impute, m, seed, outcome=outcome,
                           exposures=exposures, adjust_for=adjust_for, interactions=interactions,
                           splines=splines, method=method, firth=firth, reference=reference,
                           cov_type=cov_type, cluster=cluster, design=design)
    data, codebook = survey.data, survey.codebook
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
    if sample_design is not None or cov_type != "model":
        method = "rows"  # sandwiches need one score per respondent
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
    enc = {v: e.take(rows) for v, e in enc_all.items()}

    def term_of(v: str) -> Term:
        if v in knots:
            return spline_term(enc[v], knots[v])
        return factor_term(enc[v]) if enc[v].kind == "factor" else numeric_term(enc[v])

    main_terms = {v: term_of(v) for v in variables}
    inter_terms = [interaction_term(enc[a], enc[b]) for a, b in pairs]
    from analysis.diagnostics import sparse_cells

    sparse_cells(enc, y, exposures + adjust_for, warn=True)

    crude = {v: fit_terms(f"crude: {v}", [main_terms[v]], enc, y, method, firth)
             for v in exposures}
    adjusted = fit_terms("adjusted", [*main_terms.values(), *inter_terms], enc, y, method, firth)

    design_df = None
    for fit in [adjusted, *crude.values()]:
        if sample_design is not None:
            from analysis.design_based import design_logistic_fit

            design_df = design_logistic_fit(fit, sample_design, rows)
        elif cov_type != "model":
            from analysis.models.robust import robust_logistic_fit

            robust_logistic_fit(fit, cov_type, None if groups_all is None else groups_all[rows])
    tidy_adj = tidy_rows(adjusted, [*main_terms.values(), *inter_terms], enc, y)
    tidy_crude = [tidy_rows(crude[v], [main_terms[v]], enc, y) for v in exposures]
    if firth:  # logistf's defaults: profile penalised-likelihood intervals, penalised LR p
        tidy_adj = profile_rows(adjusted, tidy_adj, [*main_terms.values(), *inter_terms], enc)
        tidy_crude = [profile_rows(crude[v], t, [main_terms[v]], enc)
                      for v, t in zip(exposures, tidy_crude, strict=True)]
    tidy_crude = pd.concat(tidy_crude, ignore_index=True)
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
        "formulas_crude": {v: f"{outcome} ~ {main_terms[v].formula}" for v in exposures},
        "method": adjusted.method,
        "methods": {"adjusted": adjusted.method, **{f"crude: {v}": f.method
                                                   for v, f in crude.items()}},
        "n_patterns": int(adjusted.design.X.shape[0]) if adjusted.method == "patterns" else None,
        "firth": firth,
        "reference": {v: e.categories[e.reference] for v, e in enc.items() if e.kind == "factor"},
        "ci": ("profile penalised likelihood 95%, p-values by penalised likelihood ratio "
               "(logistf)" if firth else "Wald 95%"),
        "cov_type": "design (Taylor linearisation)" if sample_design is not None else cov_type,
        "cluster": cluster,
        "design": sample_design.names if sample_design is not None else None,
        "design_df": design_df,
    }
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = LogisticResult(table, fits, info, "or", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    if sample_design is None:
        result._tests = lambda: model_tests(crude, adjusted, main_terms, inter_terms, enc)
    return result


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

"""Conditional (matched) logistic regression for matched case-control studies."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

from analysis.aggregate import event_indicator
from analysis.errors import ModelError
from analysis.models._prepare import base_info, make_fit, prepare, side_by_side, tidy_fit
from analysis.models.fitting import Fit
from analysis.models.result import ModelResult
from analysis.models.robust import check_cov_type, cluster_column, sandwich

RULE_UNINFORMATIVE = "matched set without both a case and a control"
TEST_COLUMNS = ["variable", "label", "test", "model", "statistic", "df", "p_value"]


class ConditionalResult(ModelResult):
    """Crude and adjusted matched odds ratios from :func:`conditional_logistic`."""


def conditional_logistic(survey, outcome: str | None = None,
                         exposures: Sequence[str] | None = None, strata: str | None = None,
                         adjust_for: Sequence[str] | None = None, *, cov_type: str = "model",
                         cluster: str | None = None,
                         reference: Mapping[str, object] | None = None) -> ConditionalResult:
    """Odds ratios from a matched case-control study (1:1 or 1:M matching).

    Method: conditional maximum likelihood (``statsmodels``
    ``ConditionalLogit``): within each matched set the likelihood of which
    members are the cases, given how many are, so the set's own intercept
    drops out (Breslow & Day 1980, *Statistical Methods in Cancer Research
    I*, ch. 7). OR = ``exp(b)``, Wald 95% intervals; ``.tests`` holds the
    likelihood-ratio test of each model against ``b = 0`` (``2 (l(b) -
    l(0))`` on as many df as coefficients). For one binary exposure in 1:1
    pairs the estimate is McNemar's ratio of discordant pairs.

    ``strata`` names the matched-set column (default: the codebook's
    variable with role ``stratum``). Rows missing a model variable leave the
    model (ledger rule ``"missing value in model variable"``); so do the
    remaining members of a set left without both a case and a control (rule
    ``"matched set without both a case and a control"``), which carry no
    information. ``cov_type="robust"`` gives the sandwich over matched sets
    (the sets are the independent units); ``"cluster"`` sums the sets'
    scores within ``cluster`` (default: the codebook's cluster role).

    Tested against a hand computation (McNemar's discordant-pair ratio and
    its interval for 1:1 pairs; the conditional likelihood of 1:3 sets
    maximised directly) and, on the HSAUR3 ``backpain`` data (Kelsey & Hardy
    1975), ``ConditionalLogit`` fitted directly.

    Examples
    --------
    >>> backpain = analysis.datasets.load("hsaur3-backpain")  # doctest: +SKIP
    >>> conditional_logistic(backpain, "status", ["driver"], adjust_for=["suburban"]).table
    """
    data = survey.data
    cov_type = check_cov_type(cov_type)
    strata = strata or survey.codebook.role("stratum")
    if strata is None or strata not in data.columns:
        raise ModelError("conditional_logistic needs strata= (the matched-set column) or a "
                         "codebook variable with role stratum"
                         + (f"; the survey has no column {strata!r}." if strata else "."))
    extra = {strata: data[strata].astype(object).to_numpy()}
    name, groups = cluster_column(survey, cov_type, cluster)
    if name is not None:
        cluster, extra[name] = name, groups
    outcome = outcome or _outcome(survey)
    prep = prepare(survey, outcome, exposures, adjust_for, reference=reference, extra=extra)
    y = event_indicator(data[prep.outcome], prep.outcome)[prep.rows]
    sets = pd.factorize(pd.Series(extra[strata][prep.rows]), sort=True)[0]
    cases = np.bincount(sets, weights=y)
    size = np.bincount(sets)
    informative = (cases > 0) & (cases < size)
    if not informative.all():
        lost = ~informative[sets]
        survey.record(step=f"model {prep.outcome}", rule=RULE_UNINFORMATIVE,
                      action="not in model", lines=data.index[prep.rows[lost]].to_numpy(),
                      column=strata)
        prep.rows, y, sets = prep.rows[~lost], y[~lost], sets[~lost]
        prep.enc = {v: e.take(np.flatnonzero(~lost)) for v, e in prep.enc.items()}
        sets = pd.factorize(pd.Series(sets), sort=True)[0]
    if sets.size == 0:
        raise ModelError(f"Model of {prep.outcome!r}: no matched set in {strata!r} has both a "
                         "case and a control.")
    cases, size = np.bincount(sets, weights=y), np.bincount(sets)
    unit_of_set = None
    if cov_type == "cluster":
        unit_of_set = np.empty(sets.max() + 1, dtype=object)
        unit_of_set[sets] = extra[cluster][prep.rows]

    def fit(name: str, names: list[str]) -> Fit:
        return _fit(name, prep, names, y, sets, cov_type, unit_of_set)

    crude = {v: fit(f"crude: {v}", [v]) for v in prep.exposures}
    adjusted = fit("adjusted", prep.variables)
    tidy_crude = pd.concat([tidy_fit(crude[v], prep, [v], y) for v in prep.exposures],
                           ignore_index=True)
    tidy_adj = tidy_fit(adjusted, prep, prep.variables, y)
    table = side_by_side(tidy_crude, tidy_adj, prep.exposures, "or")
    controls = (size - cases).astype(int)
    matching = pd.Series([f"{int(c)}:{int(k)}" for c, k in zip(cases, controls, strict=True)])
    tests = pd.DataFrame(
        [_lr_row(f, "crude", v, prep.enc[v].label) for v, f in crude.items()]
        + [_lr_row(adjusted, "adjusted", "model", "all model terms")], columns=TEST_COLUMNS)
    info = base_info(prep, "conditional ML", strata=strata, n_sets=int(size.size),
                     events=int(y.sum()), matching=matching.value_counts().sort_index().to_dict(),
                     cov_type=cov_type, cluster=cluster if cov_type == "cluster" else None,
                     lr_statistic=float(tests["statistic"].iloc[-1]),
                     lr_df=int(tests["df"].iloc[-1]), lr_p_value=float(tests["p_value"].iloc[-1]),
                     ci="Wald 95%")
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = ConditionalResult(table, fits, info, "or",
                               {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: tests
    return result


def _outcome(survey) -> str:
    outcomes = [v for v in survey.variables("outcome") if survey.codebook[v].type == "binary"]
    if len(outcomes) != 1:
        raise ModelError("Name the outcome: conditional_logistic needs one binary case/control "
                         f"column; the codebook gives {len(outcomes)}.")
    return outcomes[0]


def _fit(name, prep, names, y, sets, cov_type, unit_of_set) -> Fit:
    design = prep.design(names, intercept=False)
    X = design.X
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError(f"Model {name!r}: the design is rank deficient; columns "
                         f"{', '.join(design.names)}.")
    model = ConditionalLogit(y, X, groups=sets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = model.fit(method="bfgs", gtol=1e-10, maxiter=1000, disp=0)
        raw = model.fit(method="newton", start_params=raw.params, maxiter=50, disp=0)
    params = np.asarray(raw.params, float)
    bread = np.asarray(raw.cov_params(), float)
    cov = bread
    if cov_type != "model":
        # The matched sets are the independent units: one score per set.
        scores = np.array([model.score_grp(g, params) for g in range(model._n_groups)])
        order = pd.unique(pd.Series(sets))  # statsmodels keeps groups in first-seen order
        units = order if unit_of_set is None else unit_of_set[order]
        cov = sandwich(bread, scores, "cluster" if unit_of_set is not None else cov_type,
                       units)
    raw.llnull_conditional = float(model.loglike(np.zeros_like(params)))
    converged = bool(getattr(raw, "mle_retvals", {}).get("converged", True))
    return make_fit(name, design, params, cov, raw.llf, raw, prep.enc, y, converged)


def _lr_row(fit: Fit, model: str, variable: str, label: str) -> list:
    stat = max(2 * (fit.llf - fit.raw.llnull_conditional), 0.0)
    df = fit.params.size
    return [variable, label, "likelihood ratio (vs b = 0)", model, stat, df,
            float(stats.chi2.sf(stat, df))]

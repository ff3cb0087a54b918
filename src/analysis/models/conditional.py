"""Conditional (matched) logistic regression for matched case-control studies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.aggregate import event_indicator
from analysis.errors import ModelError
from analysis.models._prepare import base_info, make_fit, prepare, side_by_side, tidy_fit
from analysis.models.fitting import Fit
from analysis.models.result import ModelResult
from analysis.models.robust import check_cov_type, cluster_column

RULE_UNINFORMATIVE = "matched set without both a case and a control"
TEST_COLUMNS = ["variable", "label", "test", "model", "statistic", "df", "p_value"]


def matched_set_column(codebook) -> str | None:
    """The codebook's matched-set variable: role ``match``, else (older codebooks) ``stratum``."""
    return codebook.role("match") or codebook.role("stratum")


class ConditionalResult(ModelResult):
    """Crude and adjusted matched odds ratios from :func:`conditional_logistic`."""


def conditional_logistic(survey, outcome: str | None = None,
                         exposures: Sequence[str] | None = None, strata: str | None = None,
                         adjust_for: Sequence[str] | None = None, *, cov_type: str = "model",
                         cluster: str | None = None,
                         reference: Mapping[str, object] | None = None) -> ConditionalResult:
    """Odds ratios from a matched case-control study (1:1 or 1:M matching).

    Method: conditional maximum likelihood (:func:`conditional_logit`):
    within each matched set the likelihood of which
    members are the cases, given how many are, so the set's own intercept
    drops out (Breslow & Day 1980, *Statistical Methods in Cancer Research
    I*, ch. 7). OR = ``exp(b)``, Wald 95% intervals; ``.tests`` holds the
    likelihood-ratio test of each model against ``b = 0`` (``2 (l(b) -
    l(0))`` on as many df as coefficients). For one binary exposure in 1:1
    pairs the estimate is McNemar's ratio of discordant pairs.

    ``strata`` names the matched-set column (default: the codebook's
    variable with role ``match``, else the one with role ``stratum``).
    Rows missing a model variable leave the model (ledger rule ``"missing
    value in model variable"``); so do the remaining members of a set left
    without both a case and a control (rule ``"matched set without both a
    case and a control"``), which carry no information.

    ``cov_type="robust"`` gives the sandwich over matched sets (the sets are
    the independent units); ``"cluster"`` sums the score residuals within
    ``cluster`` (default: the codebook's cluster role), which may group sets
    or split them. Both are R's: ``clogit(... + cluster(set))`` and ``+
    cluster(id)`` use coxph's robust variance ``V = I^-1 (sum_g U_g U_g')
    I^-1`` with ``U_g`` the score residuals summed in cluster ``g`` and *no*
    small-sample factor (Lin & Wei 1989, *JASA* 84:1074-1078). The score
    residual of row ``i`` in set ``s`` is ``(y_i - pi_i)(x_i - xbar_s)``,
    with ``pi_i`` the conditional probability that ``i`` is a case (for one
    case per set ``exp(x_i b) / sum_s exp(x_j b)``) and ``xbar_s = sum_s pi_j
    x_j / (cases in s)``; the residuals of a set sum to its score.
    ``"HC1"`` multiplies the per-set sandwich by ``G/(G - k)`` (``G`` sets).
    The residuals are computed from the estimate here (not from the
    optimiser's internal group order) and summed in the order of (set,
    line), so the covariance does not depend on the order of the rows.

    ``.models`` holds our fits (``family="conditional"``): ``.fit_statistics``
    gives the conditional log-likelihood, ``-2 llf`` as deviance and AIC,
    as R's ``clogit``. Rows and sets left out, and a fit that did not
    converge, are notices (``result.notices``).

    Tested against R's ``survival::clogit`` (1:2 and 1:3 sets, a factor and
    a numeric; model-based SEs, LR test, log-likelihood, robust SEs by set,
    by clinic and by an interviewer who varies within sets, with the rows
    shuffled: ``tests/reference/R/conditional.R``), a hand computation
    (McNemar's discordant-pair ratio and its interval for 1:1 pairs; the
    conditional likelihood of 1:3 sets maximised directly) and, on the
    HSAUR3 ``backpain`` data (Kelsey & Hardy 1975), ``ConditionalLogit``
    fitted directly.

    Examples
    --------
    >>> backpain = analysis.datasets.load("hsaur3-backpain")  # doctest: +SKIP
    >>> conditional_logistic(backpain, "status", ["driver"], adjust_for=["suburban"]).table
    """
    data = survey.data
    cov_type = check_cov_type(cov_type)
    strata = strata or matched_set_column(survey.codebook)
    if strata is None or strata not in data.columns:
        raise ModelError("conditional_logistic needs strata= (the matched-set column) or a "
                         "codebook variable with role match"
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
    n_complete, n_uninformative = int(prep.rows.size), 0
    if not informative.all():
        lost = ~informative[sets]
        survey.record(step=f"model {prep.outcome}", rule=RULE_UNINFORMATIVE,
                      action="not in model", lines=data.index[prep.rows[lost]].to_numpy(),
                      column=strata)
        n_uninformative = int(lost.sum())
        prep.rows, y, sets = prep.rows[~lost], y[~lost], sets[~lost]
        prep.enc = {v: e.take(np.flatnonzero(~lost)) for v, e in prep.enc.items()}
        sets = pd.factorize(pd.Series(sets), sort=True)[0]
    if sets.size == 0:
        raise ModelError(f"Model of {prep.outcome!r}: no matched set in {strata!r} has both a "
                         "case and a control.")
    cases, size = np.bincount(sets, weights=y), np.bincount(sets)
    row_cluster = None
    if cov_type == "cluster":
        row_cluster = pd.factorize(pd.Series(extra[cluster][prep.rows]), sort=True)[0]
    # One canonical order of the rows, by matched set (sorted labels) and line: the fit
    # and the sums of score residuals then do not depend on how the rows were ordered.
    lines = pd.factorize(pd.Series(data.index[prep.rows]), sort=True)[0] \
        if data.index.is_unique else prep.rows
    order = np.lexsort((lines, sets))

    def fit(name: str, names: list[str]) -> Fit:
        return _fit(name, prep, names, y, sets, order, cov_type, row_cluster)

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
                     robust_variance=None if cov_type == "model" else (
                         "coxph's robust sandwich over "
                         + (f"clusters of {cluster!r}" if cov_type == "cluster" else
                            "matched sets") + ", score residuals summed per cluster, "
                         + ("times G/(G-k)" if cov_type == "HC1" else
                            "no small-sample factor (as R's clogit + cluster())")),
                     lr_statistic=float(tests["statistic"].iloc[-1]),
                     lr_df=int(tests["df"].iloc[-1]), lr_p_value=float(tests["p_value"].iloc[-1]),
                     ci="Wald 95%")
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = ConditionalResult(table, fits, info, "or",
                               {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: tests
    if prep.dropped:
        by_column = ", ".join(f"{c} {k}" for c, k in prep.dropped.items())
        result.notify("dropped rows", f"{prep.n_read - n_complete} of {prep.n_read} rows left "
                      f"out for a missing value ({by_column}); see survey.ledger.")
    if n_uninformative:
        result.notify("dropped rows", f"{n_uninformative} more rows left out: their matched "
                      f"sets have no case or no control left ({RULE_UNINFORMATIVE}).")
    for model_name, f in result._fits.items():
        if not f.converged:
            result.notify("non-convergence", "the conditional likelihood was not maximised "
                          "(separation: the discordant sets of a level all point one way?): "
                          "the estimates are not reliable. Merge or drop the level.",
                          model_name)
    return result


def _outcome(survey) -> str:
    outcomes = [v for v in survey.variables("outcome") if survey.codebook[v].type == "binary"]
    if len(outcomes) != 1:
        raise ModelError("Name the outcome: conditional_logistic needs one binary case/control "
                         f"column; the codebook gives {len(outcomes)}.")
    return outcomes[0]


def _fit(name, prep, names, y, sets, order, cov_type, row_cluster) -> Fit:
    design = prep.design(names, intercept=False)
    X = design.X
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError(f"Model {name!r}: the design is rank deficient; columns "
                         f"{', '.join(design.names)}.")
    Xo, yo, so = X[order], y[order], sets[order]
    raw = conditional_logit(Xo, yo, so)
    cov = raw.cov
    if cov_type != "model":
        units = so if row_cluster is None else row_cluster[order]
        cov = cluster_sandwich(raw.cov, score_residuals(Xo, yo, so, raw.params), units,
                               hc1_sets=cov_type == "HC1")
    converged = raw.converged and bool(np.all(np.isfinite(cov)))
    fit = make_fit(name, design, raw.params, cov, raw.llf, raw, prep.enc, y, converged)
    fit.family, fit.cov_type, fit.n_extra = "conditional", cov_type, 0
    return fit


@dataclass
class ConditionalFit:
    """A conditional logistic fit: estimates, inverse information, log-likelihoods."""

    params: np.ndarray
    cov: np.ndarray  # inverse of the exact information at the estimate
    llf: float  # conditional log-likelihood
    llnull_conditional: float  # at b = 0
    converged: bool
    iterations: int
    mle_retvals: dict = field(default_factory=dict)

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def cov_params(self) -> np.ndarray:
        return self.cov


def conditional_logit(X: np.ndarray, y: np.ndarray, sets: np.ndarray, *, tol: float = 1e-10,
                      maxiter: int = 100) -> ConditionalFit:
    """Conditional maximum likelihood for matched sets, by Newton-Raphson.

    Method: the likelihood of set ``s`` with ``m`` cases is ``exp(sum_cases
    x b) / e_m(exp(x_1 b), ..., exp(x_n b))`` (``e_m`` the elementary
    symmetric polynomial; ``sum_s exp(x_j b)`` for one case), the exact
    conditional likelihood of Breslow & Day (1980, ch. 7) and of R's
    ``clogit(method = "exact")``. Newton-Raphson from ``b = 0`` with the exact
    information (:func:`_information`) and step-halving, until the largest
    step is below ``tol``; Newton converges quadratically, so the estimate is
    then the maximum to rounding. ``cov`` is the inverse information there.

    ``sets`` are codes ``0..G-1``, each set with a case and a control.
    Tested against R's ``survival::clogit`` and ``statsmodels``
    ``ConditionalLogit`` (see :func:`conditional_logistic`).

    Examples
    --------
    >>> fit = conditional_logit(X, y, set_codes)  # doctest: +SKIP
    >>> fit.params, fit.bse  # doctest: +SKIP
    """
    k = X.shape[1]
    beta = np.zeros(k)
    llnull = llf = _loglik(X, y, sets, beta)
    converged, iterations = False, 0
    information = np.eye(k)
    while iterations < maxiter:
        iterations += 1
        information, residuals = _information(X, y, sets, beta)
        score = residuals.sum(axis=0)
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(information, score, rcond=None)[0]
        for _ in range(30):  # step-halving keeps the likelihood rising
            new = _loglik(X, y, sets, beta + step)
            if new >= llf - 1e-12 * abs(llf):
                break
            step = step / 2
        beta, llf = beta + step, new
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    information = _information(X, y, sets, beta)[0]
    try:
        cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    # A diverging estimate (separation: a level whose discordant sets all point one way)
    # moves by steps of about one forever and so never meets ``tol``.
    converged = converged and bool(np.all(np.isfinite(beta)))
    return ConditionalFit(beta, cov, float(llf), float(llnull), converged, iterations,
                          {"converged": converged, "iterations": iterations})


def _loglik(X, y, sets, params) -> float:
    eta = X @ params
    n_sets = int(sets.max()) + 1
    top = np.full(n_sets, -np.inf)
    np.maximum.at(top, sets, eta)
    w = np.exp(eta - top[sets])
    cases = np.bincount(sets, weights=y, minlength=n_sets)
    log_denominator = np.log(np.bincount(sets, weights=w, minlength=n_sets)) + top
    for s in np.flatnonzero(cases > 1):
        m = int(cases[s])
        log_denominator[s] = np.log(_esp(w[sets == s], m)) + m * top[s]
    return float(y @ eta - log_denominator.sum())


def score_residuals(X: np.ndarray, y: np.ndarray, sets: np.ndarray,
                    params: np.ndarray) -> np.ndarray:
    """Per-row score residuals of the conditional logistic likelihood, ``(n, k)``.

    Row ``i`` of set ``s``: ``(y_i - pi_i)(x_i - xbar_s)``, with ``pi_i`` the
    conditional probability that ``i`` is a case given the set's number of
    cases ``m_s`` (``exp(x_i b) e_{m-1}(others) / e_m(set)``, ``e`` the
    elementary symmetric polynomials of ``exp(x b)``; ``exp(x_i b) / sum_s
    exp(x_j b)`` when ``m_s = 1``) and ``xbar_s = sum_s pi_j x_j / m_s``. The
    residuals of a set sum to its score ``sum_cases x - sum_s pi_j x_j``. For
    one case per set they are the Cox score residuals that R's
    ``residuals(clogit_fit, type = "score")`` gives (Breslow = exact then).

    ``sets`` are codes ``0..G-1``; every set has a case and a control.
    """
    eta = X @ params
    n_sets = int(sets.max()) + 1
    top = np.full(n_sets, -np.inf)
    np.maximum.at(top, sets, eta)
    w = np.exp(eta - top[sets])  # scaled within each set: no overflow
    cases = np.bincount(sets, weights=y, minlength=n_sets)
    pi = w / np.bincount(sets, weights=w, minlength=n_sets)[sets]
    for s in np.flatnonzero(cases > 1):
        rows = np.flatnonzero(sets == s)
        pi[rows] = _inclusion(w[rows], int(cases[s]))
    xbar = np.zeros((n_sets, X.shape[1]))
    np.add.at(xbar, sets, pi[:, None] * X)
    xbar /= cases[:, None]
    return (y - pi)[:, None] * (X - xbar[sets])


def _esp(values: np.ndarray, order: int) -> float:
    """Elementary symmetric polynomial of ``values`` of degree ``order``."""
    e = np.zeros(order + 1)
    e[0] = 1.0
    for v in values:
        e[1:] = e[1:] + v * e[:-1]
    return float(e[order])


def _inclusion(w: np.ndarray, m: int) -> np.ndarray:
    """P(member i is among the m cases) when subsets are drawn with odds prod(w)."""
    total = _esp(w, m)
    return np.array([w[i] * _esp(np.delete(w, i), m - 1) / total for i in range(w.size)])


def _pair_inclusion(w: np.ndarray, m: int) -> np.ndarray:
    """P(members i and j are both among the m cases); the diagonal is P(i is)."""
    total, size = _esp(w, m), w.size
    pairs = np.diag(_inclusion(w, m))
    for i in range(size):
        for j in range(i + 1, size):
            rest = np.delete(w, [i, j])
            pairs[i, j] = pairs[j, i] = w[i] * w[j] * _esp(rest, m - 2) / total
    return pairs


def _information(X, y, sets, params) -> tuple[np.ndarray, np.ndarray]:
    """Information of the conditional likelihood and the score residuals, at ``params``.

    A set's information is the conditional covariance of the summed ``x`` of
    its cases: ``sum_i pi_i (x_i - xbar)(x_i - xbar)'`` for one case, ``X_s'
    (P - pi pi') X_s`` with ``P`` the pairwise inclusion probabilities for
    more.
    """
    residuals = score_residuals(X, y, sets, params)
    eta = X @ params
    n_sets = int(sets.max()) + 1
    top = np.full(n_sets, -np.inf)
    np.maximum.at(top, sets, eta)
    w = np.exp(eta - top[sets])
    cases = np.bincount(sets, weights=y, minlength=n_sets)
    pi = w / np.bincount(sets, weights=w, minlength=n_sets)[sets]
    xbar = np.zeros((n_sets, X.shape[1]))
    np.add.at(xbar, sets, pi[:, None] * X)
    single = cases[sets] == 1
    centred = (X - xbar[sets])[single]
    information = centred.T @ (centred * pi[single, None])
    for s in np.flatnonzero(cases > 1):
        rows = np.flatnonzero(sets == s)
        incl = _pair_inclusion(w[rows], int(cases[s]))
        p = np.diag(incl)
        information += X[rows].T @ (incl - np.outer(p, p)) @ X[rows]
    return information, residuals


def cluster_sandwich(bread: np.ndarray, residuals: np.ndarray, units: np.ndarray, *,
                     hc1_sets: bool = False) -> np.ndarray:
    """coxph's robust variance: ``bread (sum_g U_g U_g') bread``, no small-sample factor.

    ``U_g`` sums the score residuals of cluster ``g`` in the order the rows
    are given (the caller's canonical order). ``hc1_sets`` multiplies by
    ``G/(G - k)`` (``cov_type="HC1"`` over matched sets).

    Examples
    --------
    >>> cov = cluster_sandwich(fit.cov_params(), score_residuals(X, y, sets, b), sets)
    ... # doctest: +SKIP
    """
    codes, uniques = pd.factorize(pd.Series(units), sort=True)
    g, k = len(uniques), residuals.shape[1]
    if g < 2:
        raise ModelError(f"A cluster-robust variance needs 2 or more clusters; the data have "
                         f"{g}. Use cov_type='model' or another cluster column.")
    totals = np.zeros((g, k))
    np.add.at(totals, codes, residuals)
    meat = totals.T @ totals
    if hc1_sets:
        meat = meat * g / (g - k)
    return bread @ meat @ bread


def _lr_row(fit: Fit, model: str, variable: str, label: str) -> list:
    stat = max(2 * (fit.llf - fit.raw.llnull_conditional), 0.0)
    df = fit.params.size
    return [variable, label, "likelihood ratio (vs b = 0)", model, stat, df,
            float(stats.chi2.sf(stat, df))]

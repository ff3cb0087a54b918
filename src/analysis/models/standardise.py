"""Prevalence ratios and differences by marginal standardisation of a logistic model.

A common outcome (spasm in the last 12 months) makes the odds ratio overstate
the prevalence ratio; reviewers (STROBE 16c) ask for relative and absolute
measures, adjusted. Marginal standardisation (g-computation; Lane & Nelder
1982, Greenland 2004, *Am J Epidemiol* 160:301-305; Muller & MacLehose 2014,
*Int J Epidemiol* 43:962-970) answers from the fitted logistic model: every
respondent is predicted under each level ``j`` of an exposure, keeping their
own covariates, and the predictions are averaged,

    mu_j = sum_i w_i expit(x_ij' b) / sum_i w_i,

(``w`` the sampling weights, 1 without a design, the pattern sizes on
covariate patterns). The prevalence ratio is ``PR_j = mu_j / mu_ref`` and the
difference ``PD_j = mu_j - mu_ref``. A numeric exposure compares everyone's
value raised by its reported step (``per``) with the values observed.

Variance (delta method, :func:`standardise`):

* without a design, conditional on the covariates (as Stata's ``margins``
  and R's ``marginaleffects``): ``Var(mu) = G V G'`` with ``G_j = sum_i w_i
  p_ij (1 - p_ij) x_ij' / sum_i w_i`` and ``V`` the model's covariance (or its
  sandwich when ``cov_type`` was robust);
* under a survey design (Taylor linearisation; Binder 1983, Graubard & Korn
  1999, *Biometrics* 55:652-659): each respondent's influence on ``mu_j`` is
  ``z_ij = w_i (p_ij - mu_j) / sum w + G_j A^-1 w_i x_i (y_i - p_i)``, the
  first part for the covariate distribution, the second the weighted score
  equations of the fit (``A = X' diag(w p (1-p)) X``); the ``z`` are summed
  within PSUs and their between-PSU variance within strata is the covariance
  of the ``mu`` (the rows outside the complete cases keep their PSU, as a
  domain). Intervals and p-values use t on the fit's residual df (``degf +
  1 - rank``, as ``svyglm`` for the coefficients the means come from);
  ``survey::svypredmeans`` drops the covariance of the two parts.

The PR's interval is ``exp(log PR ± q se(log PR))``, the PD's ``PD ± q
se(PD)``; ``se(log PR)^2 = c' Var(mu) c`` with ``c = e_j / mu_j - e_ref /
mu_ref``. ``ci="bootstrap"`` resamples respondents (a design: PSUs within
strata, Rao-Wu rescaling with ``n_h - 1`` draws), refits the model and
standardises again; percentile intervals and Wald p-values on the bootstrap
SE. Tested against R (fixture ``effects``, ``tests/reference/R/effects.R``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis.errors import ModelError
from analysis.models.design import build_design
from analysis.models.result import TIDY_COLUMNS, ModelResult
from analysis.models.standardise_rows import (
    contrast_rows,
    risk_rows,
    side_by_side_measures,
    with_counts,
)

MEASURES = ("pr", "pd")
CI_METHODS = ("delta", "bootstrap")
RISK_COLUMNS = ["model", "variable", "level", "label", "risk", "se", "ci_low", "ci_high"]


@dataclass
class StandardisedResult(ModelResult):
    """Standardised prevalences, prevalence ratios (``.table``) and differences.

    ``.table`` has the shape of the odds-ratio table with ``pr_`` columns
    (``variable, level, label, pr_crude, ci_low_crude, ..., p_adjusted, n,
    events``); ``.difference`` the same with ``pd_``; ``.risks`` the
    standardised prevalence of each level (0-1) with its interval.
    ``tidy(which, measure="pr"|"pd")`` gives the package-wide tidy rows.
    """

    difference: pd.DataFrame = field(default_factory=pd.DataFrame)
    risks: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tidy(self, which: str = "adjusted", measure: str = "pr") -> pd.DataFrame:
        """Rows ``term, label, estimate, ci_low, ci_high, p_value, n, events`` of one measure."""
        if measure not in MEASURES:
            raise ModelError(f"measure is one of {', '.join(MEASURES)}, not {measure!r}.")
        key = which if measure == "pr" else f"{which}: pd"
        if key not in self._tidy:
            raise ModelError(f"No {which!r} model here; choose crude or adjusted.")
        return self._tidy[key].loc[:, TIDY_COLUMNS].copy()


@dataclass
class _Target:
    """One fit in row form: the rows (or patterns twice), outcome, weights, scenarios."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    scenarios: dict[str, list[tuple[str, tuple]]]  # variable -> [(level, scenario)]
    units: np.ndarray | None = None  # under a design: each row's (or cell's) PSU number


def standardise(result, survey=None, *, ci: str = "delta", n_boot: int = 1000,
                seed: int = 0) -> StandardisedResult:
    """Crude and adjusted prevalence ratios and differences of every exposure of ``result``.

    ``result`` is a :func:`analysis.models.logistic` result; its crude and
    adjusted fits are standardised (see the module docstring for the method).
    A design-based result (``design=True``) or ``ci="bootstrap"`` needs the
    ``survey`` it was fitted on (its weights, strata and PSUs). Crude PRs are
    the ratios of the (weighted) prevalences; the crude delta-method SE equals
    the textbook ``sqrt(1/a - 1/n1 + 1/c - 1/n0)`` of the log risk ratio.

    Tested against R (fixture ``effects``): ``glm`` + ``predict`` on each
    counterfactual data set with the delta method written out, and under a
    design ``svyglm`` with the linearised values totalled by ``svytotal``
    (1e-6); the crude PR against the hand formula; bootstrap against the
    delta method on a large sample.

    Examples
    --------
    >>> fitted = logistic(survey, "spasm_12m", ["posture"], ["age", "sex"])  # doctest: +SKIP
    >>> standardise(fitted).table[["label", "pr_crude", "pr_adjusted"]]  # doctest: +SKIP
    """
    if ci not in CI_METHODS:
        raise ModelError(f"ci is one of {', '.join(CI_METHODS)}, not {ci!r}.")
    info = result.info
    if getattr(result, "estimate", "or") != "or" or "adjusted" not in result.models:
        raise ModelError("standardise() takes the result of logistic() (odds ratios of a "
                         "binary outcome).")
    exposures = list(info["exposures"])
    design = rows = None
    if info.get("design") is not None or ci == "bootstrap":
        if survey is None:
            raise ModelError("standardise(): a design-based result or ci='bootstrap' needs the "
                             "survey it was fitted on: standardise(result, survey).")
        rows = complete_rows(survey, info)
        if info.get("design") is not None:
            from analysis.design_based import survey_design

            design = survey_design(survey)
    risks, pr, pd_ = [], {}, {}
    linearised: dict[str, np.ndarray] = {}  # per fit: A^-1 w x (y - p), one n x k pass
    on_rows: dict[str, object] = {}  # per fit started on patterns: the same fit on its rows
    for which in ("crude", "adjusted"):
        pr_rows, pd_rows = [], []
        for v in exposures:
            name = "adjusted" if which == "adjusted" else f"crude: {v}"
            fit = result.models[name]
            draws = None
            if hasattr(fit, "standardised_means") and design is None and ci == "delta":
                # rows that stay on disk (analysis.scale): the same sums, where the rows are
                levels, mus, G = fit.standardised_means(v)
                cov, df = G @ fit.cov @ G.T, None
                risks += risk_rows(which, fit, v, levels, mus, cov, draws, df)
                a, b = contrast_rows(fit, v, levels, mus, cov, draws, df)
                pr_rows += a
                pd_rows += b
                continue
            if design is not None and fit.method == "patterns" and (
                    ci != "delta" or fit.cells is None):
                if name not in on_rows:
                    on_rows[name] = _fit_on_rows(fit, survey, info, rows)
                fit = on_rows[name]
            target = _target(fit, [v], design, rows, cells=ci == "delta")
            if ci == "bootstrap":
                mus, draws = _bootstrap(fit, target, v, design, rows, n_boot, seed)
                cov, df = np.atleast_2d(np.cov(draws.T)), None
            else:
                mus, cov = _delta(fit, target, v, design, rows, linearised)
                # t on the fit's residual df (degf + 1 - rank, as svyglm): with few PSUs
                # the PSUs minus strata alone gave 7.6% for a 5% test (size_coverage.md)
                df = fit.df_resid if design is not None else None
            levels = [lvl for lvl, _ in target.scenarios[v]]
            risks += risk_rows(which, fit, v, levels, mus, cov, draws, df)
            a, b = contrast_rows(fit, v, levels, mus, cov, draws, df)
            pr_rows += a
            pd_rows += b
        pr[which] = with_counts(pd.DataFrame(pr_rows), result, which)
        pd_[which] = with_counts(pd.DataFrame(pd_rows), result, which)
    table = side_by_side_measures(pr, "pr", exposures)
    difference = side_by_side_measures(pd_, "pd", exposures)
    new_info = {**info, "measure": "prevalence ratio and difference",
                "standardisation": "marginal standardisation (g-computation) over the "
                                   "respondents in the model" + (", weighted" if design is not
                                                                   None else ""),
                "ci": ("bootstrap percentile 95% "
                       f"({n_boot} resamples{', PSUs within strata' if design else ''})"
                       if ci == "bootstrap" else
                       "delta method 95%, design-based (Taylor linearisation), t on the model's "
                       "residual df"
                       if design is not None else "delta method 95% (conditional on covariates)")}
    tidy = {"crude": pr["crude"], "adjusted": pr["adjusted"], "crude: pd": pd_["crude"],
            "adjusted: pd": pd_["adjusted"]}
    out = StandardisedResult(table, result.fits, new_info, "pr", tidy,
                             notices=list(result.notices), difference=difference,
                             risks=pd.DataFrame(risks, columns=RISK_COLUMNS))
    out._fits = result.models
    return out


def stack_standardised(parts: list[StandardisedResult]) -> StandardisedResult:
    """One result of several, each standardising its own exposures (rows stacked in order).

    With a causal diagram each exposure has its own model and adjustment set
    (:func:`analysis.plan.causal.fit_by_adjustment_set`); each is standardised
    on its own model and the rows are put together, as the odds-ratio table's.
    Each part's adjusted model is named ``"adjusted: <exposure>"`` in
    ``.models`` and in the ``model`` column of ``.risks``, as in the
    odds-ratio result (the parts' models were all named "adjusted", so the
    last one overwrote the others).
    """
    if not parts:
        raise ModelError("stack_standardised() needs at least one standardised result.")
    first = parts[0]
    names = [f"adjusted: {', '.join(p.info['exposures'])}" for p in parts]
    risks = [p.risks.assign(model=p.risks["model"].replace("adjusted", name))
             if "model" in p.risks else p.risks for p, name in zip(parts, names, strict=True)]
    info = {**first.info, "exposures": [v for p in parts for v in p.info["exposures"]]}
    tidy = {key: pd.concat([p._tidy[key] for p in parts], ignore_index=True)
            for key in first._tidy}
    out = StandardisedResult(pd.concat([p.table for p in parts], ignore_index=True),
                             first.fits, info, "pr", tidy,
                             notices=list({(n.kind, n.message): n for p in parts
                                           for n in p.notices}.values()),
                             difference=pd.concat([p.difference for p in parts],
                                                  ignore_index=True),
                             risks=pd.concat(risks, ignore_index=True))
    out._fits = {(own if name == "adjusted" else name): f
                 for p, own in zip(parts, names, strict=True) for name, f in p.models.items()}
    return out


def prevalence_ratios(survey, outcome: str | None = None, exposures=None, adjust_for=None, *,
                      design: bool = False, ci: str = "delta", n_boot: int = 1000,
                      seed: int = 0, **options) -> StandardisedResult:
    """Fit :func:`analysis.models.logistic` and :func:`standardise` it, in one call.

    ``options`` go to ``logistic`` (``interactions``, ``splines``,
    ``reference``, ``cov_type``, ``firth``). Tested as :func:`standardise`.

    Examples
    --------
    >>> prevalence_ratios(survey, "spasm_12m", ["posture"], ["age"]).difference  # doctest: +SKIP
    """
    from analysis.models.logistic import logistic

    fitted = logistic(survey, outcome, exposures, adjust_for, design=design, **options)
    return standardise(fitted, survey, ci=ci, n_boot=n_boot, seed=seed)


def _model_encodings(survey, info: dict, names) -> dict:
    """The model variables ``names`` of a logistic result, encoded as its fit encoded them."""
    from analysis.models.design import encode

    return {v: encode(survey.data, survey.codebook, v, info["reference"].get(v))
            for v in dict.fromkeys(names)}


def complete_rows(survey, info: dict) -> np.ndarray:
    """Positions in ``survey.data`` of the rows a logistic result used (its complete cases)."""
    from analysis.aggregate import event_indicator

    data = survey.data
    keep = ~np.isnan(event_indicator(data[info["outcome"]], info["outcome"]))
    for encoded in _model_encodings(survey, info, [*info["exposures"], *info["adjust_for"]]
                                    ).values():
        keep &= ~encoded.missing
    if info.get("cluster") and info.get("cov_type") == "cluster":
        keep &= data[info["cluster"]].notna().to_numpy()
    rows = np.flatnonzero(keep)
    if rows.size != info["n"]:
        raise ModelError(f"The survey has {rows.size} complete rows but the result used "
                         f"{info['n']}: pass the survey the model was fitted on.")
    return rows


def _fit_on_rows(fit, survey, info: dict, rows: np.ndarray):
    """A copy of a design-based fit that started on covariate patterns, on its rows.

    Its weighted sums were taken over (pattern x PSU) cells; a bootstrap
    reweights PSUs, which cells of the original weights cannot follow.
    """
    from analysis.aggregate import event_indicator
    from analysis.models.survey_logit import as_rows

    used = sorted({v for t in fit.design.terms for v in t.variables})
    encoded = {v: e.take(rows) for v, e in _model_encodings(survey, info, used).items()}
    y = event_indicator(survey.data[info["outcome"]], info["outcome"])[rows]
    return as_rows(replace(fit), encoded, y)


def _target(fit, variables, design, rows, cells: bool = False) -> _Target:
    """The fit's rows in row form and, per exposure, its design under each level.

    Under a design with ``cells``, a fit made on (pattern x PSU) cells
    (:func:`analysis.models.survey_logit.design_cells`) is standardised on
    them: predictions depend on the pattern only, so every weighted sum of
    the method (means, gradients, PSU totals of the linearised values) is the
    same sum over cells.
    """
    enc = fit.encoded
    made = getattr(fit, "cells", None) if design is not None and cells else None
    units = None
    if made is not None:
        X, y, w, enc, units = made.X, made.y, made.w, {**enc, **made.encoded}, made.units
        stack = 1
    elif fit.method == "rows":
        X, y = fit.design.X, fit.y
        w = design.weight[rows] if design is not None else np.ones(y.size)
        stack = 1
    else:  # a pattern is an event row and a non-event row, weighted by their counts
        X = np.vstack([fit.design.X, fit.design.X])
        y = np.r_[np.ones(len(fit.events)), np.zeros(len(fit.events))]
        w = np.r_[fit.events, fit.trials - fit.events].astype(float)
        stack = 2
    scenarios = {}
    for v in variables:
        e = enc[v]
        term = next(t for t in fit.design.terms if t.name == v)
        # A main-effect term moves only its own columns: each scenario is the observed design
        # with those columns set (a factor) or shifted by one step (a number), which needs no
        # copy of X (at 10^6 rows x 40 columns each copy is 320 MB).
        alone = term.kind in ("factor", "numeric") and not any(
            t.kind == "interaction" and v in t.variables for t in fit.design.terms)
        cols = np.array(fit.design.index(term))
        if e.kind == "factor":
            order = [e.reference] + [j for j in range(len(e.categories)) if j != e.reference]
            if alone:
                scenarios[v] = [(e.categories[j], ("set", cols, np.array(
                    [1.0 if c == f"{v}[{e.categories[j]}]" else 0.0 for c in term.columns])))
                    for j in order]
                continue
            changed = [(e.categories[j], replace(e, codes=np.full(e.codes.shape, j,
                                                                  e.codes.dtype)))
                       for j in order]
        else:
            if alone:
                scenarios[v] = [("observed", ("shift", cols, 0.0)),
                                ("raised", ("shift", cols, 1.0))]
                continue
            changed = [("observed", e), ("raised", replace(e, values=e.values + e.per))]
        scenarios[v] = [(level, ("matrix", np.tile(build_design(fit.design.terms,
                                                               {**enc, v: ev}).X, (stack, 1)),
                                 None)) for level, ev in changed]
    return _Target(X, y, w, scenarios, units)


def _scenario(params, target: _Target, scenario, u_of, eta=None):
    """Predictions of one scenario and ``X_j' u`` for the weights ``u = u_of(p)``.

    ``eta`` is ``X @ params`` when the caller has it (one pass over X fewer).
    """
    kind, a, b = scenario
    if kind == "matrix":
        p = expit(a @ params)
        return p, a.T @ u_of(p)
    X = target.X
    eta = X @ params if eta is None else eta
    if kind == "set":  # the term's columns set to b for everyone
        p = expit(eta - X[:, a] @ params[a] + b @ params[a])
        u = u_of(p)
        grad = X.T @ u
        grad[a] = u.sum() * b
        return p, grad
    p = expit(eta + b * params[a].sum())  # a numeric column raised by b steps
    u = u_of(p)
    grad = X.T @ u
    grad[a] += b * u.sum()
    return p, grad


def _means(params, target: _Target, v: str, w: np.ndarray):
    """Standardised means of each scenario, their gradients, and the predictions."""
    total = w.sum()
    mus, grads, preds = [], [], []
    scenarios = target.scenarios[v]
    eta = target.X @ params if any(kind != "matrix" for _, (kind, _, _) in scenarios) \
        else None
    for _, scenario in scenarios:
        p, grad = _scenario(params, target, scenario, lambda q: w * q * (1 - q), eta)
        mus.append(float(w @ p / total))
        grads.append(grad / total)
        preds.append(p)
    return np.array(mus), np.array(grads), preds


def _delta(fit, target: _Target, v: str, design, rows, linearised: dict):
    """Means and their covariance: ``G V G'``, or under a design the linearised variance.

    Under a design the influence values are never formed row by row: their
    PSU totals are the PSU totals of ``w (p_j - mu_j) / sum w`` plus those of
    the scores ``w x (y - p)`` times ``A^-1 G_j'`` (linear in the scores), the
    latter once per fit (:func:`analysis.models.robust.psu_totals`).
    """
    mus, G, preds = _means(fit.params, target, v, target.w)
    if design is None:
        return mus, G @ fit.cov @ G.T
    from analysis.models.blocked import information_score
    from analysis.models.robust import design_units, meat_of_totals, psu_totals

    w, X, y = target.w, target.X, target.y
    units, unit_stratum = design_units(design.weight.size, design.strata, design.psu)
    units = units[rows] if target.units is None else target.units
    if fit.name not in linearised:  # the coefficients' linearised PSU totals, once per fit
        p = expit(X @ fit.params)
        bread = np.linalg.inv(information_score(X, w * p * (1 - p), np.zeros_like(p))[0])
        linearised[fit.name] = psu_totals(X, units, unit_stratum.size, w * (y - p)) @ bread
    totals = psu_totals(np.column_stack(preds) - mus, units, unit_stratum.size, w / w.sum())
    meat, _ = meat_of_totals(totals + linearised[fit.name] @ G.T, unit_stratum)
    return mus, meat


def _bootstrap(fit, target: _Target, v: str, design, rows, n_boot: int, seed: int):
    """Standardised means refitted on resamples: (means of the data, draws n_boot x L)."""
    from analysis.design_based import weighted_logit

    if fit.firth:
        raise ModelError("ci='bootstrap' is not available for Firth fits.")
    rng = np.random.default_rng(seed)
    mus, _, _ = _means(fit.params, target, v, target.w)
    draws = []
    if design is not None:
        strata = (np.zeros(rows.size, int) if design.strata is None
                  else pd.factorize(pd.Series(design.strata[rows]), sort=True)[0])
        psu = (np.arange(rows.size) if design.psu is None else
               pd.factorize(pd.Series(list(zip(strata, design.psu[rows], strict=True))))[0])
        psu_stratum = np.zeros(psu.max() + 1, int)
        psu_stratum[psu] = strata
    for _ in range(n_boot):
        if design is None:
            counts = target.w.sum()
            m = rng.multinomial(round(counts), target.w / counts).astype(float)
        else:  # Rao-Wu: n_h - 1 PSUs drawn in each stratum, weights rescaled by n_h/(n_h-1)
            factor = np.zeros(psu_stratum.size)
            for h in np.unique(psu_stratum):
                units = np.flatnonzero(psu_stratum == h)
                picks = rng.choice(units, units.size - 1, replace=True)
                factor += np.bincount(picks, minlength=factor.size) * units.size / (
                    units.size - 1)
            m = target.w * factor[psu]
        try:
            params = weighted_logit(target.X, target.y, m, start=fit.params)[0]
        except (ModelError, np.linalg.LinAlgError):
            continue  # a resample without events at a level: left out, counted below
        draws.append(_means(params, target, v, m)[0])
    if len(draws) < 0.9 * n_boot:
        raise ModelError(f"Only {len(draws)} of {n_boot} bootstrap resamples could be fitted "
                         "(sparse levels); use the delta method or merge levels.")
    return mus, np.array(draws)


__all__ = ["CI_METHODS", "MEASURES", "RISK_COLUMNS", "StandardisedResult", "complete_rows",
           "prevalence_ratios", "stack_standardised", "standardise"]

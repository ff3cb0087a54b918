"""Ordered outcomes (pain categories, ODI bands): proportional odds, Brant's test, multinomial."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit
from statsmodels.discrete.discrete_model import MNLogit
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools import sm_exceptions

from analysis.errors import BackpainWarning, ModelError
from analysis.models._prepare import (
    Prepared,
    base_info,
    make_fit,
    prepare,
    side_by_side,
    tidy_fit,
)
from analysis.models.design import Design
from analysis.models.fitting import Fit, gram_rank, newton_logit
from analysis.models.result import ModelResult
from analysis.models.robust import check_cov_type, cluster_column, sandwich

TEST_COLUMNS = ["variable", "label", "test", "model", "statistic", "df", "p_value"]
BRANT = "Brant (proportional odds)"
NOT_ESTIMABLE = f"{BRANT}: not estimable"
FLAT_SE = 50.0  # SE per SD of a column beyond which its estimate is taken to diverge
# statsmodels' warnings that mean an ML fit cannot be trusted.
_TROUBLE = (sm_exceptions.ConvergenceWarning, sm_exceptions.HessianInversionWarning,
            sm_exceptions.PerfectSeparationWarning)


class OrdinalResult(ModelResult):
    """Proportional-odds odds ratios from :func:`ordinal`, RRRs from :func:`multinomial`."""


def ordinal(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
            adjust_for: Sequence[str] | None = None, *, cov_type: str = "model",
            cluster: str | None = None, reference: Mapping[str, object] | None = None
            ) -> OrdinalResult:
    """Crude and adjusted odds ratios of a higher outcome category (proportional odds).

    Method: cumulative logit model ``logit P(Y <= j) = zeta_j - x'b`` for
    every cut ``j`` of the ordered outcome (equivalently ``logit P(Y > j) =
    x'b - zeta_j``), by maximum likelihood (``statsmodels`` ``OrderedModel``,
    ``distr="logit"``), the parametrisation of R's ``MASS::polr`` and
    ``ordinal::clm``. The reported OR ``= exp(b)`` is the odds of being in a
    **higher** category (above any cut) against a lower one, the same for
    every cut; OR > 1 means the exposure goes with worse (higher) categories.
    Wald 95% intervals (McCullagh 1980, *JRSS B* 42:109-142). ``cov_type``
    gives a sandwich covariance (see :mod:`analysis.models.robust`).

    :meth:`~analysis.models.result.ModelResult.coefficients` lists the slopes
    ``b`` and then the cut-points ``zeta_j``, named ``"lower|upper"`` as in
    ``polr``, with their standard errors (the delta method from statsmodels'
    increments parametrisation); ``fit_statistics`` gives the log-likelihood
    and AIC ``= -2 llf + 2 (k + J - 1)``.

    ``.tests`` holds Brant's test of the proportional-odds assumption (Brant
    1990, *Biometrics* 46:1171-1178) for the adjusted model, overall and per
    variable: the outcome is split at each cut into binary logits ``Y > j``
    fitted separately; the Wald test that their slopes are equal across
    cuts uses the covariance between the binary fits from Brant's formula
    (``pi_l - pi_j pi_l`` for cuts ``j < l``), on ``(J-2) k`` df. A small
    p-value says the ORs differ between cuts (consider :func:`multinomial`).
    When a binary logit is separated (a sparse level with nobody above or
    below a cut) Brant's test is not estimable: the proportional-odds fit is
    still returned, ``.tests`` says ``"Brant (proportional odds): not
    estimable"`` (statistic and p-value NaN) and a ``"not estimable"`` notice
    gives the reason. A fit that did not converge gets a ``"non-convergence"``
    notice, one with a diverging estimate (standard error above 50 per SD of
    its column) a ``"separation"`` notice, each with a
    :class:`~analysis.errors.BackpainWarning`.

    Tested against R (``tests/reference/test_r_ordinal.py``): ``MASS::polr``
    and ``ordinal::clm`` (slopes, cut-points, SEs, logLik, AIC) and Brant's
    test computed by hand in R from ``glm`` binary logits; Brant's
    covariance also against the empirical sandwich of the stacked logits.

    Examples
    --------
    >>> result = ordinal(survey, "pain_band", ["posture"], ["age"])  # doctest: +SKIP
    >>> result.tidy()           # ORs of a higher pain band  # doctest: +SKIP
    >>> result.coefficients()   # log ORs and cut-points     # doctest: +SKIP
    """
    prep, codes, levels, groups, cov_type, cluster = _setup(survey, outcome, exposures,
                                                            adjust_for, cov_type, cluster,
                                                            reference)

    def fit(name: str, names: list[str]) -> Fit:
        return _fit_ordered(name, prep, names, codes, levels, cov_type, groups)

    crude = {v: fit(f"crude: {v}", [v]) for v in prep.exposures}
    adjusted = fit("adjusted", prep.variables)
    y_top = (codes > 0).astype(float)  # "events": respondents above the lowest category
    tidy_crude = pd.concat([tidy_fit(crude[v], prep, [v], y_top) for v in prep.exposures],
                           ignore_index=True)
    tidy_adj = tidy_fit(adjusted, prep, prep.variables, y_top)
    table = side_by_side(tidy_crude, tidy_adj, prep.exposures, "or")
    tests, not_estimable = _brant(prep, codes, prep.variables, levels)
    k = len(adjusted.params) - (len(levels) - 1)
    info = base_info(prep, "proportional odds ML", levels=levels, cov_type=cov_type,
                     cluster=cluster, events=f"above {levels[0]!r}",
                     thresholds=adjusted.params[k:].tolist(), ci="Wald 95%",
                     or_direction="odds of a higher category")
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = OrdinalResult(table, fits, info, "or", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: tests
    for name, f in result._fits.items():
        _notify_convergence(result, name, f, "a sparse category or level (merge it) or a "
                            "separated exposure")
    for reason in not_estimable:
        result.notify("not estimable", f"Brant's test of proportional odds: {reason}",
                      "adjusted")
    return result


def multinomial(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
                adjust_for: Sequence[str] | None = None, *, cov_type: str = "model",
                cluster: str | None = None, reference: Mapping[str, object] | None = None,
                outcome_reference: str | None = None) -> OrdinalResult:
    """Relative risk ratios (RRR) of each outcome category against the reference category.

    Method: baseline-category logit model ``log P(Y=c)/P(Y=ref) = x'b_c``
    (``statsmodels`` ``MNLogit``, maximum likelihood by Newton-Raphson);
    RRR = ``exp(b_c)`` with Wald 95% intervals from the inverse Hessian.
    The reference category is ``outcome_reference`` or the codebook's
    reference level of the outcome (else its first level). The tidy tables
    carry an extra first column ``outcome_level``; ``n`` and ``events`` count
    respondents in each exposure level and, among them, those in that
    outcome category. :attr:`~analysis.models.result.ModelResult.models`
    holds one fit per model (``"adjusted"``, ``"crude: x"``) whose
    coefficients are named ``"<category>: <term>"``; its log-likelihood and
    AIC ``= -2 llf + 2 (C - 1) k`` are those of the whole model.

    A fit that did not converge (Newton's iteration limit, a singular
    Hessian, statsmodels' convergence warnings or non-finite SEs; usually an
    outcome category empty in some exposure level, i.e. separation) is kept
    but gets a ``"non-convergence"`` notice and a
    :class:`~analysis.errors.BackpainWarning`; an estimate whose standard
    error exceeds 50 per SD of its column (a flat likelihood) gets a
    ``"separation"`` notice.

    Tested against R's ``nnet::multinom(Hess = TRUE)`` (coefficients, SEs
    from the Hessian, logLik, AIC; ``tests/reference/test_r_ordinal.py``)
    and against ``MNLogit`` fitted directly.

    Examples
    --------
    >>> multinomial(survey, "pain_site", ["posture"], ["age"]).tidy()  # doctest: +SKIP
    """
    ref_map = dict(reference or {})
    prep, codes, levels, groups, cov_type, cluster = _setup(survey, outcome, exposures,
                                                            adjust_for, cov_type, cluster,
                                                            ref_map, ordered=False)
    var = survey.codebook.variables.get(prep.outcome)
    base = outcome_reference or (var.reference_level if var is not None else None) or levels[0]
    if base not in levels:
        raise ModelError(f"outcome_reference {base!r} is not a level of {prep.outcome!r} "
                         f"({levels}).")
    # MNLogit takes the lowest code as the baseline: put the reference first.
    order = [base, *[lv for lv in levels if lv != base]]
    y = np.array([order.index(levels[c]) for c in range(len(levels))])[codes]

    def tidy(names: list[str], name: str) -> tuple[pd.DataFrame, Fit]:
        per_level, whole = _fit_multinomial(name, prep, names, y, order, cov_type, groups)
        parts = [tidy_fit(f, prep, names, (y == j).astype(float)).assign(outcome_level=lv)
                 for j, (lv, f) in enumerate(per_level.items(), start=1)]
        return pd.concat(parts, ignore_index=True), whole

    tidy_adj, adjusted = tidy(prep.variables, "adjusted")
    crude_parts = {v: tidy([v], f"crude: {v}") for v in prep.exposures}
    tidy_crude = pd.concat([t for t, _ in crude_parts.values()], ignore_index=True)
    table = pd.concat([
        side_by_side(tidy_crude[tidy_crude.outcome_level == lv],
                     tidy_adj[tidy_adj.outcome_level == lv], prep.exposures, "rrr")
        .assign(outcome_level=lv) for lv in order[1:]], ignore_index=True)
    table = table[["outcome_level", *[c for c in table.columns if c != "outcome_level"]]]
    raw = adjusted.raw
    info = base_info(prep, "multinomial logit ML", levels=levels, outcome_reference=base,
                     cov_type=cov_type, cluster=cluster, llf=float(raw.llf),
                     lr_statistic=float(raw.llr), lr_df=int(raw.df_model),
                     lr_p_value=float(raw.llr_pvalue), ci="Wald 95%")
    fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, (_, f) in crude_parts.items()}}
    result = OrdinalResult(table, {name: f.raw for name, f in fits.items()}, info, "rrr",
                           {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = fits
    for name, f in fits.items():
        _notify_convergence(result, name, f, "an outcome category with no respondents in "
                            "some exposure level (separation): merge sparse levels or "
                            "categories")
    return result


def _notify_convergence(result: ModelResult, name: str, fit: Fit, cause: str) -> None:
    """Notices (and one warning) for a fit that did not converge or whose estimates diverge."""
    trouble, flat = getattr(fit, "trouble", ""), getattr(fit, "separated", [])
    messages = []
    if trouble or (not fit.converged and not flat):
        messages.append(f"Model {name!r} did not converge "
                        f"({trouble or 'the optimiser did not converge'}); its estimates and "
                        f"standard errors are not reliable. Usual cause: {cause}.")
        result.notify("non-convergence", messages[-1], name)
    if flat:
        messages.append(f"Model {name!r}: the likelihood is flat in {', '.join(flat)} (standard "
                        f"error above {FLAT_SE:g} per SD of the column): separation, the "
                        "estimate diverges and its interval is meaningless. Usual cause: "
                        f"{cause}.")
        result.notify("separation", messages[-1], name)
    if messages:
        warnings.warn(" ".join(messages), BackpainWarning, stacklevel=3)


def _flat_terms(sd: np.ndarray, names: Sequence[str], cov: np.ndarray) -> list[str]:
    """Columns whose SE, per SD of the column, exceeds FLAT_SE: the MLE runs off to infinity.

    A log odds ratio per SD of its column with a standard error of 50 or more
    does not come from a finite maximum: the likelihood keeps rising along
    that column (separation), and the optimiser stops where the gradient
    looks small. ``sd`` holds the SD of each column; constant columns (the
    intercept) are skipped.
    """
    se = np.sqrt(np.abs(np.diag(cov)))
    return [name for name, s, e in zip(names, sd, se, strict=True)
            if s > 0 and np.isfinite(e) and e * s > FLAT_SE]


def _trouble(raw, caught, cov) -> str:
    """Why an ML fit cannot be trusted ('' if it can)."""
    reasons = []
    if not bool(raw.mle_retvals.get("converged", True)):
        reasons.append(f"no convergence in {raw.mle_retvals.get('iterations', 'the allowed')} "
                       "iterations" if "iterations" in raw.mle_retvals
                       else "the optimiser stopped before convergence")
    reasons += sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
                       for w in caught if issubclass(w.category, _TROUBLE)})
    if not np.all(np.isfinite(cov)):
        reasons.append("non-finite covariance (singular Hessian)")
    elif np.any(np.diag(cov) <= 0):
        reasons.append("non-positive variances (the Hessian is not negative definite)")
    return "; ".join(reasons)


def _setup(survey, outcome, exposures, adjust_for, cov_type, cluster, reference, ordered=True):
    cov_type = check_cov_type(cov_type)
    data = survey.data
    extra = {}
    name, groups = cluster_column(survey, cov_type, cluster)
    if name is not None:
        cluster, extra[name] = name, groups
    prep = prepare(survey, outcome, exposures, adjust_for, reference=reference, extra=extra)
    column = data[prep.outcome]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        raise ModelError(f"{prep.outcome!r} must be a coded outcome (ordinal or categorical); "
                         f"it is {column.dtype}.")
    all_levels = [str(c) for c in column.cat.categories]
    raw_codes = np.asarray(column.cat.codes)[prep.rows]
    present = np.unique(raw_codes)
    if present.size < 3:
        raise ModelError(f"{prep.outcome!r} has {present.size} observed levels among the model "
                         "rows; an ordinal or multinomial model needs 3 or more (use "
                         "logistic() for two).")
    if ordered and present.size < len(all_levels):
        warnings.warn(f"{prep.outcome!r}: levels with no respondents are skipped.", stacklevel=3)
    levels = [all_levels[c] for c in present]
    codes = np.searchsorted(present, raw_codes)
    groups = extra[cluster][prep.rows] if cov_type == "cluster" else None
    return prep, codes, levels, groups, cov_type, cluster


def _fit_ordered(name: str, prep: Prepared, names, codes, levels, cov_type, groups) -> Fit:
    design = prep.design(names, intercept=False)
    X = design.X
    k = X.shape[1]
    model = OrderedModel(codes, X, distr="logit")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = model.fit(method="bfgs", disp=0, maxiter=2000, gtol=1e-8)
    if raw.normalized_cov_params is None:  # statsmodels could not invert the Hessian
        cov = np.full((raw.params.size, raw.params.size), np.nan)
    else:
        cov = np.asarray(raw.cov_params())
        if cov_type != "model":
            cov = sandwich(cov, model.score_obs(raw.params), cov_type, groups)
    # statsmodels estimates the first cut-point and the logs of the increments
    # (zeta_j = a_1 + sum_{i<=j} exp(a_i)); report the cut-points themselves, as
    # polr and clm do, with the delta-method covariance J cov J'.
    a = np.asarray(raw.params[k:], float)
    steps = np.r_[1.0, np.exp(a[1:])]
    jac = np.eye(k + a.size)
    jac[k:, k:] = np.tril(np.ones((a.size, a.size))) * steps[None, :]
    params = np.r_[np.asarray(raw.params[:k], float), np.cumsum(np.r_[a[0], steps[1:]])]
    cov = jac @ cov @ jac.T
    cuts = [f"{levels[j]}|{levels[j + 1]}" for j in range(len(levels) - 1)]
    # The design keeps the slope columns; its names also cover the cut-points so that
    # coefficients() lists them.
    full = Design(X, [*design.names, *cuts], design.terms)
    trouble = _trouble(raw, caught, cov)
    flat = _flat_terms(X.std(axis=0), design.names, cov[:k, :k])
    fit = make_fit(name, full, params, cov, raw.llf, raw, prep.enc, codes.astype(float),
                   not trouble and not flat)
    fit.family, fit.cov_type = "ordinal", cov_type
    fit.trouble, fit.separated = trouble, flat  # read by _notify_convergence
    return fit


def _fit_multinomial(name, prep, names, y, order, cov_type, groups
                     ) -> tuple[dict[str, Fit], Fit]:
    """Per-category fits (for the tidy rows) and the fit of the whole model."""
    design = prep.design(names)
    X = design.X
    k = X.shape[1]
    model = MNLogit(y, X)
    singular = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = model.fit(method="newton", disp=0, maxiter=100)
        except np.linalg.LinAlgError:
            # Newton stops at a singular Hessian (separated data); BFGS reaches an
            # estimate to report, flagged as not converged.
            singular = "Newton-Raphson met a singular Hessian"
            raw = model.fit(method="bfgs", disp=0, maxiter=1000)
    if raw.normalized_cov_params is None:  # statsmodels could not invert the Hessian
        cov = np.full((raw.params.size, raw.params.size), np.nan)
    else:
        cov = np.asarray(raw.cov_params())
        if cov_type != "model":
            cov = sandwich(cov, model.score_obs(raw.params.ravel(order="F")), cov_type,
                           groups)
    trouble = "; ".join(t for t in (singular, _trouble(raw, caught, cov)) if t)
    params = np.asarray(raw.params)
    # statsmodels orders the covariance by category, then term (params in column order).
    names_all = [f"{level}: {term}" for level in order[1:] for term in design.names]
    flat = _flat_terms(np.tile(X.std(axis=0), len(order) - 1), names_all, cov)
    out = {}
    for j, level in enumerate(order[1:]):
        block = slice(j * k, (j + 1) * k)
        out[level] = make_fit(f"{name}: {level}", design, params[:, j], cov[block, block],
                              raw.llf, raw, prep.enc, y, not trouble and not flat)
        out[level].family, out[level].cov_type = "multinomial", cov_type
    fit = make_fit(name, Design(X, names_all, design.terms), params.ravel(order="F"), cov,
                   raw.llf, raw, prep.enc, y.astype(float), not trouble and not flat)
    fit.family, fit.cov_type = "multinomial", cov_type
    fit.trouble, fit.separated = trouble, flat  # read by _notify_convergence
    return out, fit


# ---- Brant's test ------------------------------------------------------------
def brant_test(prep: Prepared, codes: np.ndarray, names: list[str],
               levels: Sequence[str] | None = None) -> pd.DataFrame:
    """Brant's Wald test of equal slopes across the cumulative binary logits.

    Method: for each cut ``j`` the binary logit of ``Y > j`` on the model's
    terms (intercept included) is fitted separately; the stacked estimates
    get Brant's joint covariance (:func:`brant_covariance`) and the Wald
    statistic ``(Db)' (D V D')^-1 (Db)`` tests ``b_1 = b_j`` for all slopes
    (overall, ``(J-2) k`` df) or those of one variable (Brant 1990,
    *Biometrics* 46:1171-1178).

    Rows that are not estimable (a separated binary logit, a singular
    covariance) have ``test`` ``"Brant (proportional odds): not estimable"``
    and NaN statistic and p-value; the reasons are in
    ``frame.attrs["not_estimable"]``.

    Tested against Brant's test computed by hand in R from ``glm`` fits
    (``tests/reference/R/ordinal.R``), to 1e-6 relative.
    """
    frame, reasons = _brant(prep, codes, names, levels)
    frame.attrs["not_estimable"] = reasons
    return frame


def _brant(prep: Prepared, codes: np.ndarray, names: list[str],
           levels: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    design = prep.design(names)
    X = design.X
    k = X.shape[1]
    cuts = int(codes.max())
    levels = list(levels) if levels is not None else [str(c) for c in range(cuts + 1)]
    slopes = list(range(1, k))
    targets = [("overall", "all model terms", slopes)]
    targets += [(v, prep.enc[v].label, design.index(prep.terms[v])) for v in names]
    betas, probs, infos, reasons = [], [], [], []
    for j in range(cuts):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = newton_logit(X, (codes > j).astype(float))
        beta = np.asarray(fit.params)
        p = expit(X @ beta)
        information = X.T @ (X * (p * (1 - p))[:, None])
        cut = f"the binary logit of {levels[j + 1]!r} or above vs below"
        if not fit.mle_retvals["converged"] or any(
                issubclass(w.category, sm_exceptions.ConvergenceWarning) for w in caught):
            reasons.append(f"{cut} did not converge (separation: a level with nobody on one "
                           "side of the cut); merge sparse levels or categories")
        elif gram_rank(information) < k:
            reasons.append(f"{cut} has a singular information matrix")
        if reasons:
            break
        betas.append(beta)
        probs.append(p)
        infos.append(np.linalg.inv(information))
    rows = []
    if reasons:
        for variable, label, cols in targets:
            rows.append([variable, label, NOT_ESTIMABLE, "adjusted", np.nan,
                         (cuts - 1) * len(cols), np.nan])
        return pd.DataFrame(rows, columns=TEST_COLUMNS), reasons
    beta, cov = brant_covariance(X, betas, probs, infos)
    for variable, label, cols in targets:
        try:
            stat, df = _equal_slopes(beta, cov, k, cuts, cols)
        except np.linalg.LinAlgError as exc:
            reasons.append(f"{variable}: singular covariance of the slope differences ({exc})")
            rows.append([variable, label, NOT_ESTIMABLE, "adjusted", np.nan,
                         (cuts - 1) * len(cols), np.nan])
            continue
        rows.append([variable, label, BRANT, "adjusted", stat, df,
                     float(stats.chi2.sf(stat, df))])
    return pd.DataFrame(rows, columns=TEST_COLUMNS), reasons


def brant_covariance(X, betas, probs, infos) -> tuple[np.ndarray, np.ndarray]:
    """Stacked binary-logit estimates and their joint covariance (Brant 1990, eq. 2.4).

    ``Var(b_j) = (X'W_j X)^-1``; for cuts ``j < l``, ``Cov(b_j, b_l) =
    (X'W_j X)^-1 X' diag(pi_l - pi_j pi_l) X (X'W_l X)^-1``, with ``pi_j``
    the fitted ``P(Y > j)`` of the j-th binary logit.
    """
    k, cuts = X.shape[1], len(betas)
    cov = np.zeros((k * cuts, k * cuts))
    for j in range(cuts):
        for m in range(j, cuts):
            if m == j:
                block = infos[j]
            else:
                w = probs[m] - probs[j] * probs[m]
                block = infos[j] @ (X.T @ (X * w[:, None])) @ infos[m]
            cov[j * k:(j + 1) * k, m * k:(m + 1) * k] = block
            cov[m * k:(m + 1) * k, j * k:(j + 1) * k] = block.T
    return np.concatenate(betas), cov


def _equal_slopes(beta, cov, k, cuts, cols) -> tuple[float, int]:
    """Wald statistic of ``b_1[cols] = b_j[cols]`` for all cuts j > 1."""
    rows = []
    for j in range(1, cuts):
        for c in cols:
            r = np.zeros(k * cuts)
            r[c], r[j * k + c] = 1.0, -1.0
            rows.append(r)
    D = np.array(rows)
    diff = D @ beta
    middle = D @ cov @ D.T
    if gram_rank(middle) < len(rows):
        raise np.linalg.LinAlgError(f"rank {gram_rank(middle)} < {len(rows)}")
    stat = float(diff @ np.linalg.solve(middle, diff))
    if not np.isfinite(stat):
        raise np.linalg.LinAlgError("non-finite statistic")
    return stat, len(rows)


__all__ = ["brant_test", "multinomial", "ordinal"]

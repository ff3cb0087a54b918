"""Ordered outcomes (pain categories, ODI bands): proportional odds, Brant's test, multinomial."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit
from statsmodels.miscmodels.ordinal_model import OrderedModel

from analysis.errors import ModelError
from analysis.models._prepare import (
    Prepared,
    base_info,
    make_fit,
    prepare,
    side_by_side,
    tidy_fit,
)
from analysis.models.fitting import Fit, newton_logit
from analysis.models.result import ModelResult
from analysis.models.robust import check_cov_type, cluster_column, sandwich

TEST_COLUMNS = ["variable", "label", "test", "model", "statistic", "df", "p_value"]


class OrdinalResult(ModelResult):
    """Proportional-odds odds ratios from :func:`ordinal`, RRRs from :func:`multinomial`."""


def ordinal(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
            adjust_for: Sequence[str] | None = None, *, cov_type: str = "model",
            cluster: str | None = None, reference: Mapping[str, object] | None = None
            ) -> OrdinalResult:
    """Crude and adjusted odds ratios of a higher outcome category (proportional odds).

    Method: cumulative logit model ``logit P(Y > j) = x'b - theta_j`` for
    every cut ``j`` of the ordered outcome, by maximum likelihood
    (``statsmodels`` ``OrderedModel``, ``distr="logit"``); OR = ``exp(b)``,
    the same for every cut, with Wald 95% intervals (McCullagh 1980, *JRSS
    B* 42:109-142). ``cov_type`` gives a sandwich covariance (see
    :mod:`analysis.models.robust`).

    ``.tests`` holds Brant's test of the proportional-odds assumption (Brant
    1990, *Biometrics* 46:1171-1178) for the adjusted model, overall and per
    variable: the outcome is split at each cut into binary logits ``Y > j``
    fitted separately; the Wald test that their slopes are equal across
    cuts uses the covariance between the binary fits from Brant's formula
    (``pi_l - pi_j pi_l`` for cuts ``j < l``), on ``(J-2) k`` df. A small
    p-value says the ORs differ between cuts (consider :func:`multinomial`).

    Tested against ``OrderedModel`` fitted directly; Brant's covariance
    against the empirical sandwich of the stacked binary logits and the
    test's behaviour on data simulated with and without proportional odds.

    Examples
    --------
    >>> ordinal(survey, "pain_band", ["posture"], ["age"]).tidy()  # doctest: +SKIP
    """
    prep, codes, levels, groups, cov_type, cluster = _setup(survey, outcome, exposures,
                                                            adjust_for, cov_type, cluster,
                                                            reference)

    def fit(name: str, names: list[str]) -> Fit:
        return _fit_ordered(name, prep, names, codes, cov_type, groups)

    crude = {v: fit(f"crude: {v}", [v]) for v in prep.exposures}
    adjusted = fit("adjusted", prep.variables)
    y_top = (codes > 0).astype(float)  # "events": respondents above the lowest category
    tidy_crude = pd.concat([tidy_fit(crude[v], prep, [v], y_top) for v in prep.exposures],
                           ignore_index=True)
    tidy_adj = tidy_fit(adjusted, prep, prep.variables, y_top)
    table = side_by_side(tidy_crude, tidy_adj, prep.exposures, "or")
    tests = brant_test(prep, codes, prep.variables)
    info = base_info(prep, "proportional odds ML", levels=levels, cov_type=cov_type,
                     cluster=cluster, events=f"above {levels[0]!r}",
                     thresholds=adjusted.raw.model.transform_threshold_params(
                         adjusted.raw.params).tolist()[1:-1], ci="Wald 95%")
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = OrdinalResult(table, fits, info, "or", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: tests
    return result


def multinomial(survey, outcome: str | None = None, exposures: Sequence[str] | None = None,
                adjust_for: Sequence[str] | None = None, *, cov_type: str = "model",
                cluster: str | None = None, reference: Mapping[str, object] | None = None,
                outcome_reference: str | None = None) -> OrdinalResult:
    """Relative risk ratios (RRR) of each outcome category against the reference category.

    Method: baseline-category logit model ``log P(Y=c)/P(Y=ref) = x'b_c``
    (``statsmodels`` ``MNLogit``, maximum likelihood); RRR = ``exp(b_c)``
    with Wald 95% intervals. The reference category is ``outcome_reference``
    or the codebook's reference level of the outcome (else its first level).
    The tidy tables carry an extra first column ``outcome_level``; ``n`` and
    ``events`` count respondents in each exposure level and, among them, those
    in that outcome category.

    Tested against ``MNLogit`` fitted directly.
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

    def tidy(names: list[str], name: str) -> pd.DataFrame:
        fits = _fit_multinomial(name, prep, names, y, order, cov_type, groups)
        parts = [tidy_fit(f, prep, names, (y == j).astype(float)).assign(outcome_level=lv)
                 for j, (lv, f) in enumerate(fits.items(), start=1)]
        return pd.concat(parts, ignore_index=True), fits

    tidy_adj, adjusted = tidy(prep.variables, "adjusted")
    crude_parts = [tidy([v], f"crude: {v}") for v in prep.exposures]
    tidy_crude = pd.concat([t for t, _ in crude_parts], ignore_index=True)
    table = pd.concat([
        side_by_side(tidy_crude[tidy_crude.outcome_level == lv],
                     tidy_adj[tidy_adj.outcome_level == lv], prep.exposures, "rrr")
        .assign(outcome_level=lv) for lv in order[1:]], ignore_index=True)
    table = table[["outcome_level", *[c for c in table.columns if c != "outcome_level"]]]
    raw = next(iter(adjusted.values())).raw
    info = base_info(prep, "multinomial logit ML", levels=levels, outcome_reference=base,
                     cov_type=cov_type, cluster=cluster, llf=float(raw.llf),
                     lr_statistic=float(raw.llr), lr_df=int(raw.df_model),
                     lr_p_value=float(raw.llr_pvalue), ci="Wald 95%")
    result = OrdinalResult(table, {"adjusted": raw}, info, "rrr",
                           {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = adjusted
    return result


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


def _fit_ordered(name: str, prep: Prepared, names, codes, cov_type, groups) -> Fit:
    design = prep.design(names, intercept=False)
    X = design.X
    k = X.shape[1]
    model = OrderedModel(codes, X, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = model.fit(method="bfgs", disp=0, maxiter=2000, gtol=1e-8)
    cov = np.asarray(raw.cov_params())
    if cov_type != "model":
        cov = sandwich(cov, model.score_obs(raw.params), cov_type, groups)
    return make_fit(name, design, raw.params[:k], cov[:k, :k], raw.llf, raw, prep.enc,
                    codes.astype(float), bool(raw.mle_retvals.get("converged", True)))


def _fit_multinomial(name, prep, names, y, order, cov_type, groups) -> dict[str, Fit]:
    design = prep.design(names)
    X = design.X
    k = X.shape[1]
    model = sm.MNLogit(y, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = model.fit(method="newton", disp=0, maxiter=100)
    cov = np.asarray(raw.cov_params())
    if cov_type != "model":
        cov = sandwich(cov, model.score_obs(raw.params.ravel(order="F")), cov_type, groups)
    params = np.asarray(raw.params)
    out = {}
    for j, level in enumerate(order[1:]):
        block = slice(j * k, (j + 1) * k)
        out[level] = make_fit(f"{name}: {level}", design, params[:, j], cov[block, block],
                              raw.llf, raw, prep.enc, y)
    return out


# ---- Brant's test ------------------------------------------------------------
def brant_test(prep: Prepared, codes: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Brant's Wald test of equal slopes across the cumulative binary logits."""
    design = prep.design(names)
    X = design.X
    cuts = int(codes.max())
    betas, probs, infos = [], [], []
    for j in range(cuts):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = newton_logit(X, (codes > j).astype(float))
        betas.append(np.asarray(fit.params))
        p = expit(X @ betas[-1])
        probs.append(p)
        infos.append(np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None])))
    beta, cov = brant_covariance(X, betas, probs, infos)
    rows = []
    slopes = list(range(1, X.shape[1]))
    targets = [("overall", "all model terms", slopes)]
    targets += [(v, prep.enc[v].label, design.index(prep.terms[v])) for v in names]
    for variable, label, cols in targets:
        stat, df = _equal_slopes(beta, cov, X.shape[1], cuts, cols)
        rows.append([variable, label, "Brant (proportional odds)", "adjusted", stat, df,
                     float(stats.chi2.sf(stat, df))])
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


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
    stat = float(diff @ np.linalg.solve(D @ cov @ D.T, diff))
    return stat, len(rows)


__all__ = ["brant_test", "multinomial", "ordinal"]

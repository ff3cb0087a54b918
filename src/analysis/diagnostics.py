"""Diagnostics of binary-outcome models: discrimination, calibration, fit, separation.

Every function takes either a :class:`~analysis.models.LogisticResult` (its
adjusted model is used) or the arrays ``y`` (0/1) and ``p`` (predicted
probabilities), with optional frequency ``weights`` (a model fitted on
covariate patterns passes its events and non-events as weighted rows, which
gives exactly the row-level statistics).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import BackpainWarning, ModelError

Z95 = stats.norm.ppf(0.975)
SPARSE = 5


def outcome_arrays(result_or_y, p=None, weights=None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, p, weight) from a LogisticResult's adjusted fit, or from arrays checked here."""
    if p is None:
        fit = getattr(result_or_y, "models", {}).get("adjusted")
        if fit is None:
            raise ModelError("Pass a LogisticResult, or the outcome y and predicted p.")
        return fit.outcome_weights()
    y = np.asarray(result_or_y, dtype=float)
    p = np.asarray(p, dtype=float)
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=float)
    if y.shape != p.shape or w.shape != p.shape:
        raise ModelError(f"y, p and weights differ in length ({y.size}, {p.size}, {w.size}).")
    if not np.isin(y, (0, 1)).all():
        raise ModelError("y must hold only 0 and 1.")
    return y, p, w


# ---- discrimination ---------------------------------------------------------
def discrimination(result_or_y, p=None, weights=None) -> pd.DataFrame:
    """Area under the ROC curve (c-statistic) with DeLong's 95% interval.

    AUC = P(p_event > p_nonevent) + 0.5 P(tie), the Mann-Whitney statistic
    divided by m*n. Its variance is DeLong's (DeLong, DeLong & Clarke-Pearson
    1988, *Biometrics* 44:837): ``S10/m + S01/n`` from the structural
    components (placement values) of events and non-events; the interval is
    ``AUC ± 1.96 se`` clipped to [0, 1], as pROC's default. Tested against
    ``scipy.stats.mannwhitneyu`` and a brute-force O(mn) computation.

    Examples
    --------
    >>> discrimination([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])["estimate"].item()
    0.75
    """
    y, p, w = outcome_arrays(result_or_y, p, weights)
    values, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=w * (y == 1), minlength=values.size)
    neg = np.bincount(inverse, weights=w * (y == 0), minlength=values.size)
    m, n = pos.sum(), neg.sum()
    if m == 0 or n == 0:
        raise ModelError("The AUC needs both events and non-events.")
    neg_below = np.cumsum(neg) - neg
    pos_above = pos.sum() - np.cumsum(pos)
    v10 = (neg_below + 0.5 * neg) / n  # placement of an event among non-events
    v01 = (pos_above + 0.5 * pos) / m
    auc = float((pos * v10).sum() / m)
    s10 = float((pos * (v10 - auc) ** 2).sum() / (m - 1)) if m > 1 else 0.0
    s01 = float((neg * (v01 - auc) ** 2).sum() / (n - 1)) if n > 1 else 0.0
    se = np.sqrt(s10 / m + s01 / n)
    return pd.DataFrame({"statistic": ["AUC"], "estimate": [auc], "se": [se],
                         "ci_low": [max(auc - Z95 * se, 0.0)],
                         "ci_high": [min(auc + Z95 * se, 1.0)],
                         "n_events": [m], "n_nonevents": [n], "method": ["DeLong"]})


# ---- calibration ------------------------------------------------------------
@dataclass
class Calibration:
    """``table``: intercept and slope with 95% CIs; ``bins``: data for a calibration plot."""

    table: pd.DataFrame
    bins: pd.DataFrame


def calibration(result_or_y, p=None, weights=None, bins: int = 10) -> Calibration:
    """Calibration intercept and slope (logistic recalibration) and binned data.

    Slope: coefficient b of ``logit P(y=1) = a + b logit(p)``; intercept
    (calibration-in-the-large): ``a`` of ``logit P(y=1) = a + offset(logit p)``
    (Van Calster et al. 2016, *J Clin Epidemiol* 74:167). A perfectly
    calibrated model has intercept 0 and slope 1. Bins are groups of equal
    size by predicted risk, with mean predicted, observed proportion and its
    Wilson 95% interval. In-sample, a maximum-likelihood logistic model has
    intercept 0 and slope 1 exactly (tested).
    """
    import statsmodels.api as sm

    y, p, w = outcome_arrays(result_or_y, p, weights)
    lp = np.log(p / (1 - p))
    const = np.ones_like(lp)
    slope_fit = sm.GLM(y, np.column_stack([const, lp]), family=sm.families.Binomial(),
                       freq_weights=w).fit()
    int_fit = sm.GLM(y, const[:, None], family=sm.families.Binomial(), offset=lp,
                     freq_weights=w).fit()
    rows = []
    for name, fit, j, null in (("intercept", int_fit, 0, 0.0), ("slope", slope_fit, 1, 1.0)):
        b, se = float(fit.params[j]), float(fit.bse[j])
        rows.append({"statistic": name, "estimate": b, "ci_low": b - Z95 * se,
                     "ci_high": b + Z95 * se,
                     "p_value": float(2 * stats.norm.sf(abs(b - null) / se))})
    return Calibration(pd.DataFrame(rows), _bins(y, p, w, bins))


TIE = 1e-12  # predictions closer than this are one value (identical covariate patterns)


def _groups(p: np.ndarray, w: np.ndarray, g: int) -> np.ndarray:
    """Group number 0..g-1 of each prediction: groups of equal weight by predicted risk.

    The predictions are sorted and those within :data:`TIE` of their neighbour
    form one value; a value, with all its respondents, goes to the group of
    its first respondent, ``floor(g (W_before + 1/2) / W)`` (capped at g-1),
    where ``W_before`` is the weight of lower predictions and ``W`` the total.
    Because the rule looks only at distinct values and their total weights, a
    fit on covariate patterns (events and non-events as weighted rows) gets
    exactly the groups of the row fit of the same model. The R fixture
    (``tests/reference/R/logistic.R``) computes the same grouping by hand.
    """
    order = np.argsort(p, kind="stable")
    ps, ws = p[order], w[order]
    value = np.cumsum(np.r_[True, np.diff(ps) > TIE]) - 1
    total = np.bincount(value, weights=ws)
    before = np.cumsum(total) - total
    group_of_value = np.minimum(((before + 0.5) / w.sum() * g).astype(int), g - 1)
    groups = np.empty(p.size, dtype=np.int64)
    groups[order] = group_of_value[value]
    return groups


def _bins(y, p, w, g) -> pd.DataFrame:
    groups = _groups(p, w, g)
    frame = pd.DataFrame({"bin": groups, "w": w, "wy": w * y, "wp": w * p})
    agg = frame.groupby("bin").sum()
    n, obs = agg["w"], agg["wy"] / agg["w"]
    centre = (obs + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * np.sqrt(obs * (1 - obs) / n + Z95**2 / (4 * n**2))
    return pd.DataFrame({"bin": agg.index + 1, "n": n.to_numpy(),
                         "predicted": (agg["wp"] / agg["w"]).to_numpy(),
                         "observed": obs.to_numpy(), "ci_low": (centre - half).to_numpy(),
                         "ci_high": (centre + half).to_numpy()}).reset_index(drop=True)


def hosmer_lemeshow(result_or_y, p=None, weights=None, groups: int = 10) -> pd.DataFrame:
    """Hosmer-Lemeshow goodness-of-fit test.

    ``C = sum_g (O_g - E_g)^2 / (E_g (1 - E_g / n_g))`` over ``groups`` groups
    of equal size by predicted risk (E_g = sum of p, O_g = events), referred
    to chi-square on (non-empty groups - 2) df (Hosmer & Lemeshow 2013,
    *Applied Logistic Regression*, 3rd ed., sec. 5.2.2). Respondents with the
    same prediction stay in one group (see :func:`_groups`), so a model fitted
    on covariate patterns gives the same test as its row fit. Tested by hand
    on a small example and against the R fixture ``logistic`` (the same
    grouping computed in R; statistic to 1e-8). The table of groups is in the
    returned frame's ``attrs["groups"]``.

    Examples
    --------
    >>> hosmer_lemeshow(result)[["statistic", "df", "p_value"]]  # doctest: +SKIP
    """
    y, p, w = outcome_arrays(result_or_y, p, weights)
    g = _groups(p, w, groups)
    frame = pd.DataFrame({"g": g, "n": w, "obs": w * y, "exp": w * p}).groupby("g").sum()
    stat = float(((frame["obs"] - frame["exp"]) ** 2
                  / (frame["exp"] * (1 - frame["exp"] / frame["n"]))).sum())
    df = len(frame) - 2
    p_value = float(stats.chi2.sf(stat, df))
    out = pd.DataFrame({"statistic": [stat], "df": [df], "p_value": [p_value],
                        "groups": [len(frame)]})
    out.attrs["groups"] = frame.reset_index()
    return out


# ---- collinearity -------------------------------------------------------------
def vif(result_or_design, weights=None) -> pd.DataFrame:
    """Variance inflation factors per column and generalised VIF per term.

    VIF_j = 1 / (1 - R_j^2), the diagonal of the inverse correlation matrix
    of the design columns (intercept excluded); a term with several columns
    (a factor) gets Fox & Monette's (1992, *JASA* 87:178) generalised VIF
    ``det(R_11) det(R_22) / det(R)`` and ``GVIF^(1/(2 df))``. A result's
    adjusted design is used (weighted by trials when fitted on patterns).
    Tested against ``statsmodels.stats.outliers_influence.variance_inflation_factor``.
    """
    if isinstance(result_or_design, pd.DataFrame):
        X = result_or_design.drop(columns=["Intercept", "const"], errors="ignore")
        names, terms = list(X.columns), {c: [c] for c in X.columns}
        X, w = X.to_numpy(float), (np.ones(len(X)) if weights is None else np.asarray(weights))
    else:
        fit = result_or_design.models["adjusted"]
        names = fit.design.names[1:]
        X = fit.design.X[:, 1:]
        w = fit.trials if fit.method == "patterns" else np.ones(X.shape[0])
        terms = {t.name: t.columns for t in fit.design.terms}
    mean = (w[:, None] * X).sum(0) / w.sum()
    centred = X - mean
    cov = centred.T @ (centred * w[:, None])
    sd = np.sqrt(np.diag(cov))
    R = cov / np.outer(sd, sd)
    # Columns that determine each other exactly (pelvic incidence = pelvic tilt +
    # sacral slope) have R_j^2 = 1 and an infinite VIF, not an inversion error.
    col_vif = np.array([_column_vif(R, j) for j in range(len(names))])
    rows = []
    for term, cols in terms.items():
        idx = [names.index(c) for c in cols]
        rest = [j for j in range(len(names)) if j not in idx]
        gvif = _gvif(R, idx, rest)
        for c, j in zip(cols, idx, strict=True):
            rows.append({"term": term, "column": c, "vif": float(col_vif[j]), "gvif": float(gvif),
                         "df": len(idx), "gvif_adjusted": float(gvif ** (1 / (2 * len(idx))))})
    return pd.DataFrame(rows)


def _column_vif(R: np.ndarray, j: int) -> float:
    """1 / (1 - R_j^2), with R_j^2 from the correlations of column j with the others."""
    others = [i for i in range(len(R)) if i != j]
    if not others:
        return 1.0
    r = R[others, j]
    r2 = float(r @ np.linalg.pinv(R[np.ix_(others, others)], hermitian=True) @ r)
    return float("inf") if r2 >= 1 - 1e-10 else 1.0 / (1.0 - r2)


def _gvif(R: np.ndarray, idx: list[int], rest: list[int]) -> float:
    """Fox & Monette's GVIF against a basis of the other columns (they may be dependent)."""
    rest = _independent(R, rest)
    if not rest:
        return 1.0
    whole = np.linalg.det(R[np.ix_(idx + rest, idx + rest)])
    parts = np.linalg.det(R[np.ix_(idx, idx)]) * np.linalg.det(R[np.ix_(rest, rest)])
    return float("inf") if whole <= 1e-12 * parts else float(parts / whole)


def _independent(R: np.ndarray, columns: list[int]) -> list[int]:
    """A largest subset of ``columns`` whose correlation matrix is non-singular."""
    kept: list[int] = []
    for c in columns:
        trial = [*kept, c]
        if np.linalg.eigvalsh(R[np.ix_(trial, trial)]).min() > 1e-10:
            kept = trial
    return kept


# ---- separation and sparse cells ---------------------------------------------
def sparse_cells(encoded: dict, y: np.ndarray, variables: list[str], warn: bool = True,
                 firth: bool = False) -> pd.DataFrame:
    """Events and non-events per level of each factor; flag zero and sparse cells.

    A level with no events (or no non-events) makes the ML estimate of its
    OR infinite: quasi-complete separation. Fewer than 5 gives unstable
    estimates. Each flagged level raises a :class:`BackpainWarning` naming
    variable and level; with ``firth`` (the model is fitted by Firth's
    penalised likelihood) it says that the estimate is finite, instead of
    advising ``firth=True``.
    """
    rows = []
    for v in variables:
        e = encoded[v]
        if e.kind != "factor":
            continue
        k = len(e.categories)
        n = np.bincount(e.codes, minlength=k)
        ev = np.bincount(e.codes, weights=y, minlength=k)
        for i, level in enumerate(e.categories):
            events, nonevents = float(ev[i]), float(n[i] - ev[i])
            if n[i] == 0:
                problem = "no respondents"
            elif min(events, nonevents) == 0:
                problem = "quasi-complete separation"
            elif min(events, nonevents) < SPARSE:
                problem = "sparse"
            else:
                problem = ""
            rows.append({"variable": v, "level": level, "label": e.label, "n": int(n[i]),
                         "events": events, "nonevents": nonevents, "problem": problem})
            if problem and warn:
                which = "events" if events <= nonevents else "non-events"
                warnings.warn(
                    f"{e.label} ({v!r}) level {level!r}: {problem}, {int(min(events, nonevents))} "
                    f"{which} among {int(n[i])} respondents; its odds ratio is "
                    + (("infinite by maximum likelihood; Firth's penalised likelihood gives "
                        "a finite but imprecise estimate." if firth else
                        "infinite by maximum likelihood (use firth=True or merge levels).")
                       if problem != "sparse" else "unstable (fewer than 5)."),
                    BackpainWarning, stacklevel=3)
    return pd.DataFrame(rows, columns=["variable", "level", "label", "n", "events", "nonevents",
                                       "problem"])


def separation(result, warn: bool = True) -> pd.DataFrame:
    """Complete or quasi-complete separation of the adjusted model.

    Two checks: zero and sparse cells of outcome x level for each factor
    (:func:`sparse_cells`), and Konis's (2007) linear program (via
    ``firthmodels.detect_separation``, the method of R's detectseparation)
    on the distinct covariate patterns, which also finds separation by
    combinations of variables. Returns one row per design column with
    ``direction`` (+1/-1: ML estimate infinite upwards/downwards, 0 finite)
    and the cell counts of factor levels; warns naming variable and level.
    """
    from firthmodels import detect_separation

    fit = result.models["adjusted"]
    variables = [v for v in fit.encoded if fit.encoded[v].kind == "factor"]
    if fit.method == "rows":
        X, yy = fit.design.X, fit.y
    else:
        has_ev, has_non = fit.events > 0, (fit.trials - fit.events) > 0
        X = np.vstack([fit.design.X[has_ev], fit.design.X[has_non]])
        yy = np.r_[np.ones(has_ev.sum()), np.zeros(has_non.sum())]
    # Separation depends only on which distinct rows carry events and non-events.
    rows = np.unique(np.column_stack([X, yy]), axis=0)
    found = detect_separation(rows[:, :-1], rows[:, -1], fit_intercept=False)
    out = pd.DataFrame({"column": fit.design.names, "direction": np.asarray(found.directions)})
    infinite = out[(out["direction"] != 0) & (out["column"] != "Intercept")]
    if warn and len(infinite):
        warnings.warn(
            "Separation (linear-programming check): maximum-likelihood estimates are infinite "
            f"for {', '.join(infinite['column'])}; refit with firth=True.", BackpainWarning,
            stacklevel=2)
    if fit.method == "rows":
        cells = sparse_cells(fit.encoded, fit.y, variables, warn=warn)
    else:
        cells = _pattern_cells(fit, variables, warn)
    cells["column"] = cells["variable"] + "[" + cells["level"] + "]"
    return out.merge(cells, on="column", how="left")


def separated_columns(fit, max_rows: int = 200_000) -> list[str]:
    """Design columns whose maximum-likelihood estimate is infinite (Konis's LP check).

    The check (``firthmodels.detect_separation``, as R's detectseparation)
    runs on the distinct rows of (design, outcome): for a pattern fit an
    event row and a non-event row per pattern. More than ``max_rows``
    distinct rows skip the check (an empty list), since the linear program
    grows with them. The intercept is never named.

    Examples
    --------
    >>> separated_columns(result.models["adjusted"])  # doctest: +SKIP
    ['sport[Basketball]']
    """
    from firthmodels import detect_separation

    if fit.method == "rows":
        X, yy = fit.design.X, fit.y
    else:
        has_ev, has_non = fit.events > 0, (fit.trials - fit.events) > 0
        X = np.vstack([fit.design.X[has_ev], fit.design.X[has_non]])
        yy = np.r_[np.ones(has_ev.sum()), np.zeros(has_non.sum())]
    if X.shape[0] > 4 * max_rows:
        return []
    rows = np.unique(np.column_stack([X, yy]), axis=0)
    if rows.shape[0] > max_rows:
        return []
    found = detect_separation(rows[:, :-1], rows[:, -1], fit_intercept=False)
    directions = np.asarray(found.directions)
    return [c for c, d in zip(fit.design.names, directions, strict=True)
            if d != 0 and c != "Intercept"]


def _pattern_cells(fit, variables, warn) -> pd.DataFrame:
    from analysis.models.design import Encoded

    # expand patterns to events/non-events as weighted rows for the cell counts
    rows = []
    for v in variables:
        e: Encoded = fit.encoded[v]
        k = len(e.categories)
        n = np.bincount(e.codes, weights=fit.trials, minlength=k)
        ev = np.bincount(e.codes, weights=fit.events, minlength=k)
        for i, level in enumerate(e.categories):
            low = min(ev[i], n[i] - ev[i])
            problem = ("quasi-complete separation" if low == 0 else "sparse" if low < SPARSE
                       else "")
            rows.append({"variable": v, "level": level, "label": e.label, "n": int(n[i]),
                         "events": float(ev[i]), "nonevents": float(n[i] - ev[i]),
                         "problem": problem})
            if problem and warn:
                warnings.warn(f"{e.label} ({v!r}) level {level!r}: {problem} "
                              f"({int(low)} in the smaller outcome group).", BackpainWarning,
                              stacklevel=3)
    return pd.DataFrame(rows, columns=["variable", "level", "label", "n", "events", "nonevents",
                                       "problem"])

"""Performance of binary-outcome models: discrimination, calibration, goodness of fit.

Every function takes either a :class:`~analysis.models.LogisticResult` (its
adjusted model is used) or the arrays ``y`` (0/1) and ``p`` (predicted
probabilities), with optional frequency ``weights`` (a model fitted on
covariate patterns passes its events and non-events as weighted rows, which
gives exactly the row-level statistics).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError

Z95 = stats.norm.ppf(0.975)


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
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    y, p, w = outcome_arrays(result_or_y, p, weights)
    lp = np.log(p / (1 - p))
    const = np.ones_like(lp)
    slope_fit = GLM(y, np.column_stack([const, lp]), family=families.Binomial(),
                       freq_weights=w).fit()
    int_fit = GLM(y, const[:, None], family=families.Binomial(), offset=lp,
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


__all__ = ["TIE", "Z95", "Calibration", "calibration", "discrimination", "hosmer_lemeshow",
           "outcome_arrays"]

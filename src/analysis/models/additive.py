"""Interaction on the additive scale: RERI, attributable proportion and synergy index.

For two binary exposures A and B in a logistic model with a product term,
``logit p = ... + b1 A + b2 B + b3 A B``, the odds ratios against the doubly
unexposed are ``OR10 = e^b1``, ``OR01 = e^b2`` and ``OR11 = e^(b1+b2+b3)``;
then (Rothman 1976; Hosmer & Lemeshow 1992, *Epidemiology* 3:452-456)

* RERI ``= OR11 - OR10 - OR01 + 1`` (0: no interaction on the additive scale),
* AP ``= RERI / OR11`` (the share of the doubly exposed's risk due to the
  interaction),
* S ``= (OR11 - 1) / ((OR10 - 1) + (OR01 - 1))`` (1: none).

Odds ratios stand in for risk ratios, so the measures are of a rare outcome
(or read as measures on the odds scale). Intervals are by the delta method
(Hosmer & Lemeshow 1992): RERI and AP on their own scale, S on the log scale
(back-transformed), from the gradients below and the covariance of
``(b1, b2, b3)``. A factor with more levels gives one set of measures per
non-reference level (that level against the reference, the other factor at
its two levels). Knol & VanderWeele (2012, *Int J Epidemiol* 41:514)
recommend reporting these with the odds ratios of each exposure alone and
together, as :func:`additive_interaction` does, and coding the exposures so
that the doubly unexposed have the lowest risk: when OR10 or OR01 is below
1 the result says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError

COLUMNS = ["contrast", "measure", "estimate", "se", "ci_low", "ci_high", "null"]


def additive_measures(b: np.ndarray, cov: np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """RERI, AP and S with delta-method intervals from ``(b1, b2, b3)`` and their covariance.

    Method: the formulas of the module text; the gradients are
    ``dRERI/db = (OR11 - OR10, OR11 - OR01, OR11)``, ``dAP/db = ((OR01 - 1),
    (OR10 - 1), (OR10 + OR01 - 1)) / OR11`` and ``d log S / db = (OR11 /
    (OR11 - 1) - OR10 / D, OR11 / (OR11 - 1) - OR01 / D, OR11 / (OR11 - 1))``
    with ``D = OR10 + OR01 - 2``; the variance is ``g' V g``. Tested against
    the cell counts of Hosmer & Lemeshow's (1992) oral-cancer example (RERI
    3.74) with the variances of the log odds ratios written out by hand, and
    against R's ``glm`` with the delta method written in the R script
    (tests/reference/R/additive.R, tests/test_models_causal.py).

    Returns
    -------
    DataFrame
        One row per measure (``OR10``, ``OR01``, ``OR11``, ``RERI``, ``AP``,
        ``S``): ``measure, estimate, se, ci_low, ci_high, null`` (``se`` of
        the odds ratios and S is on the log scale).

    Examples
    --------
    >>> additive_measures(np.log([3.33, 2.96, 9.04 / (3.33 * 2.96)]), cov)  # doctest: +SKIP
    """
    b = np.asarray(b, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if b.shape != (3,) or cov.shape != (3, 3):
        raise ModelError("additive_measures: give the three coefficients (A, B, A x B) and "
                         "their 3 x 3 covariance.")
    z = stats.norm.ppf(0.5 + level / 2)
    or10, or01, or11 = np.exp(b[0]), np.exp(b[1]), np.exp(b.sum())
    reri = or11 - or10 - or01 + 1
    ap = reri / or11
    denominator = or10 + or01 - 2
    rows = []
    for name, g in (("OR10", np.array([1.0, 0, 0])), ("OR01", np.array([0, 1.0, 0])),
                    ("OR11", np.array([1.0, 1, 1]))):
        se = float(np.sqrt(g @ cov @ g))
        log_or = float(g @ b)
        rows.append((name, np.exp(log_or), se, np.exp(log_or - z * se), np.exp(log_or + z * se),
                     1.0))
    g_reri = np.array([or11 - or10, or11 - or01, or11])
    se = float(np.sqrt(g_reri @ cov @ g_reri))
    rows.append(("RERI", reri, se, reri - z * se, reri + z * se, 0.0))
    g_ap = np.array([or01 - 1, or10 - 1, or10 + or01 - 1]) / or11
    se = float(np.sqrt(g_ap @ cov @ g_ap))
    rows.append(("AP", ap, se, ap - z * se, ap + z * se, 0.0))
    s = (or11 - 1) / denominator
    if s > 0 and denominator != 0 and or11 != 1:
        g_s = np.array([or11 / (or11 - 1) - or10 / denominator,
                        or11 / (or11 - 1) - or01 / denominator, or11 / (or11 - 1)])
        se = float(np.sqrt(g_s @ cov @ g_s))
        rows.append(("S", s, se, s * np.exp(-z * se), s * np.exp(z * se), 1.0))
    else:  # S is not defined on the log scale (a preventive exposure or a null joint effect)
        rows.append(("S", s, np.nan, np.nan, np.nan, 1.0))
    return pd.DataFrame(rows, columns=COLUMNS[1:])


def additive_interaction(result, a: str, b: str, which: str = "adjusted") -> pd.DataFrame:
    """RERI, AP and S of the declared interaction of ``a`` and ``b`` in a fitted logistic model.

    ``result`` is a :class:`~analysis.models.result.ModelResult` whose model
    ``which`` (``result.models[which]``) has the product term ``a:b``; both
    are factors (binary, or several levels: one contrast per pair of
    non-reference levels). See :func:`additive_measures` for the method.

    Returns
    -------
    DataFrame
        ``contrast, measure, estimate, se, ci_low, ci_high, null``, with a
        ``contrast`` such as ``"Yes × Poor"``; ``.attrs["notes"]`` lists what
        a reader must know (an exposure that is preventive alone).

    Examples
    --------
    >>> additive_interaction(result, "heavy_lifting", "posture")  # doctest: +SKIP
    """
    fits = result.models
    if which not in fits:
        raise ModelError(f"additive_interaction: no {which!r} model; the result has "
                         f"{', '.join(fits)}.")
    fit = fits[which]
    names = list(fit.design.names)
    term = next((t for t in fit.design.terms if t.kind == "interaction"
                 and set(t.variables) == {a, b}), None)
    if term is None:
        raise ModelError(f"additive_interaction: the {which} model has no interaction of {a!r} "
                         f"and {b!r}; declare it (analysis: interactions: [[{a}, {b}]]).")
    first, second = term.variables
    frames, notes = [], []
    for column, level in zip(term.columns, term.levels, strict=True):
        la, lb = level.split(" × ")
        index = [names.index(f"{first}[{la}]"), names.index(f"{second}[{lb}]"),
                 names.index(column)]
        beta = np.asarray(fit.params, dtype=float)[index]
        cov = np.asarray(fit.cov, dtype=float)[np.ix_(index, index)]
        frame = additive_measures(beta, cov)
        frame.insert(0, "contrast", level)
        frames.append(frame)
        alone = frame.set_index("measure")["estimate"]
        preventive = [n for n, key in ((la, "OR10"), (lb, "OR01")) if alone[key] < 1]
        if preventive:
            notes.append(f"{' and '.join(preventive)} alone lowers the odds (OR below 1) in "
                         f"contrast {level}: RERI, AP and S are hard to read unless the "
                         "exposures are recoded so that the doubly unexposed have the lowest "
                         "risk (Knol & VanderWeele 2012).")
    out = pd.concat(frames, ignore_index=True)
    out.attrs["notes"] = notes
    out.attrs["variables"] = (first, second)
    return out


__all__ = ["additive_interaction", "additive_measures"]

"""E-values: how strong unmeasured confounding would have to be to explain an estimate away.

The E-value (VanderWeele & Ding 2017, *Ann Intern Med* 167:268-274) is the
minimum strength of association, on the risk-ratio scale, that an unmeasured
confounder would need with both the exposure and the outcome, conditional on
the measured covariates, to move the estimate to the null. For a risk ratio
``RR >= 1`` it is ``RR + sqrt(RR (RR - 1))``; a ratio below 1 is inverted
first. The E-value of the interval is that of the limit closer to the null,
and 1 when the interval includes the null.

Odds ratios and hazard ratios are first put on the risk-ratio scale, as the
R package EValue does: for a rare outcome (under 15% at the end of follow-up)
``RR ~ OR`` and ``RR ~ HR``; for a common outcome ``RR ~ sqrt(OR)``
(VanderWeele 2017, *Epidemiology* 28:e52) and ``RR ~ (1 - 0.5^sqrt(HR)) /
(1 - 0.5^sqrt(1/HR))`` (VanderWeele 2020, *Biometrics* 76:746). Risk,
prevalence and rate ratios are used as they are.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.errors import ModelError

# EValue's threshold of a rare outcome: under 15% at the end of follow-up.
RARE = 0.15
MEASURES = ("OR", "HR", "RR", "PR", "IRR")
CONVERSIONS = {
    "none": "risk ratio used as it is",
    "rare": "odds (or hazard) ratio taken as a risk ratio: the outcome is rare (under 15%)",
    "sqrt": "odds ratio converted to a risk ratio as RR = sqrt(OR): the outcome is common "
            "(15% or more; VanderWeele 2017)",
    "hr": "hazard ratio converted as RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)): the "
          "outcome is common (VanderWeele 2020)",
}


def to_risk_ratio(value: float, measure: str = "RR", rare: bool = True) -> float:
    """A ratio on the risk-ratio scale, by the conversion of VanderWeele & Ding 2017.

    ``measure`` is ``"OR"``, ``"HR"``, ``"RR"``, ``"PR"`` (prevalence ratio) or
    ``"IRR"``; ``rare`` says the outcome is under 15%. See the module text.
    """
    measure = _measure(measure)
    if not np.isfinite(value) or value <= 0:
        return float("nan")
    if measure in ("RR", "PR", "IRR") or rare:
        return float(value)
    if measure == "OR":
        return math.sqrt(value)
    return (1 - 0.5 ** math.sqrt(value)) / (1 - 0.5 ** math.sqrt(1 / value))


def e_value(estimate: float, ci_low: float | None = None, ci_high: float | None = None, *,
            measure: str = "RR", rare: bool = True) -> dict[str, float | str]:
    """The E-value of an estimate and of its confidence limit closer to the null.

    Method: the estimate and its limits are put on the risk-ratio scale
    (:func:`to_risk_ratio`), a ratio below 1 is inverted, and
    ``E = RR + sqrt(RR (RR - 1))`` (VanderWeele & Ding 2017, Table 1). The
    interval's E-value is that of the limit nearer 1, or 1 when the interval
    holds 1. Tested against the paper's examples (RR 3.9, 1.8-8.7: 7.26 and
    3.00; RR 0.80, 0.71-0.91: 1.81 and 1.43) and EValue's documented common
    outcome OR 0.86 (0.75-0.99), by hand (tests/test_models_causal.py).

    Returns
    -------
    dict
        ``rr, rr_low, rr_high`` (the risk-ratio scale), ``e_value``,
        ``e_value_ci`` (NaN without limits) and ``conversion`` (a key of
        :data:`CONVERSIONS`).

    Examples
    --------
    >>> round(e_value(3.9, 1.8, 8.7)["e_value"], 2)
    7.26
    """
    measure = _measure(measure)
    conversion = ("none" if measure in ("RR", "PR", "IRR") else "rare" if rare
                  else "sqrt" if measure == "OR" else "hr")
    rr = to_risk_ratio(estimate, measure, rare)
    low = to_risk_ratio(ci_low, measure, rare) if ci_low is not None else float("nan")
    high = to_risk_ratio(ci_high, measure, rare) if ci_high is not None else float("nan")
    ci = float("nan")
    if np.isfinite(rr) and (np.isfinite(low) or np.isfinite(high)):
        ci = 1.0 if low <= 1 <= high else _e(low if rr >= 1 else high)
    return {"rr": rr, "rr_low": low, "rr_high": high, "e_value": _e(rr), "e_value_ci": ci,
            "conversion": conversion}


def e_values(table: pd.DataFrame, measure: str = "OR", outcome_share: float | None = None, *,
             estimate: str = "estimate", ci_low: str = "ci_low", ci_high: str = "ci_high"
             ) -> pd.DataFrame:
    """A tidy table with the E-value of each row's estimate and interval beside it.

    ``outcome_share`` is the proportion with the outcome (events / n in the
    model's rows): under 15% an odds ratio is taken as a risk ratio, else it
    is converted by the square root (see :func:`e_value`); it is not needed
    for risk, prevalence or rate ratios. A reference row (no interval) gets
    no E-value. The columns named by ``estimate``, ``ci_low`` and ``ci_high``
    are read (``or_adjusted`` and its limits for a side-by-side table).

    Returns
    -------
    DataFrame
        ``table`` with ``e_value``, ``e_value_ci`` and ``e_value_conversion``.

    Examples
    --------
    >>> e_values(result.tidy("adjusted"), "OR", outcome_share=0.3)  # doctest: +SKIP
    """
    measure = _measure(measure)
    if measure in ("OR", "HR") and outcome_share is None:
        raise ModelError("e_values: give outcome_share (events / n) for odds or hazard ratios; "
                         "whether the outcome is rare decides the conversion to a risk ratio.")
    rare = outcome_share is not None and outcome_share < RARE
    out = table.copy()
    values = [e_value(r[estimate], r[ci_low], r[ci_high], measure=measure, rare=rare)
              if pd.notna(r[ci_low]) or pd.notna(r[ci_high]) else None
              for _, r in table.iterrows()]
    out["e_value"] = [v["e_value"] if v else np.nan for v in values]
    out["e_value_ci"] = [v["e_value_ci"] if v else np.nan for v in values]
    out["e_value_conversion"] = [v["conversion"] if v else "" for v in values]
    return out


def _e(rr: float) -> float:
    if not np.isfinite(rr) or rr <= 0:
        return float("nan")
    rr = rr if rr >= 1 else 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


def _measure(measure: str) -> str:
    key = measure.upper()
    if key not in MEASURES:
        raise ModelError(f"E-values: unknown measure {measure!r}; use one of {MEASURES}.")
    return key


__all__ = ["CONVERSIONS", "RARE", "e_value", "e_values", "to_risk_ratio"]

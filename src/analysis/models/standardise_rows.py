"""The rows of standardised prevalences, ratios and differences: intervals, p-values, counts.

:func:`analysis.models.standardise.standardise` computes the standardised
means and their covariance; this module lays them out: each level's
prevalence with its interval (:func:`risk_rows`), the ratio against the
reference on the log scale and the difference (:func:`contrast_rows`:
``se(log PR)^2 = c' V c`` with ``c = e_j / mu_j - e_ref / mu_ref``), t on
the design's residual df or the normal, or bootstrap percentiles. Tested
through :func:`~analysis.models.standardise.standardise` (fixture
``effects``, ``tests/reference/test_r_effects.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def intervals(est, se, df, draws=None, log=False):
    """(low, high, p) of an estimate: Wald on t with ``df`` (normal when None), on the log
    scale when ``log``; percentiles of ``draws`` when given (the p-value stays Wald)."""
    q = stats.t.ppf(0.975, df) if df else stats.norm.ppf(0.975)
    dist = stats.t(df) if df else stats.norm
    centre = np.log(est) if log else est
    if draws is not None:
        low, high = np.nanpercentile(draws, [2.5, 97.5])
    elif log:
        low, high = np.exp(centre - q * se), np.exp(centre + q * se)
    else:
        low, high = centre - q * se, centre + q * se
    stat = centre / se if se > 0 else np.nan
    return float(low), float(high), float(2 * dist.sf(abs(stat))) if np.isfinite(stat) else np.nan


def risk_rows(which, fit, v, levels, mus, cov, draws, df):
    """One row per level of ``v``: its standardised prevalence, SE and interval."""
    label = fit.encoded[v].label
    rows = []
    for j, level in enumerate(levels):
        se = float(np.sqrt(cov[j, j]))
        low, high, _ = intervals(mus[j], se, df, None if draws is None else draws[:, j])
        rows.append(dict(model=which, variable=v, level=level, label=f"{label}: {level}",
                         risk=mus[j], se=se, ci_low=low, ci_high=high))
    return rows


def contrast_rows(fit, v, levels, mus, cov, draws, df):
    """PR and PD rows of each level against the reference (the first scenario)."""
    e = fit.encoded[v]
    pr_rows, pd_rows = [], []
    if e.kind == "factor":
        ref = levels[0]
        base = dict(variable=v, n=np.nan, events=np.nan)
        pr_rows.append(dict(base, term=f"{v}[{ref}]", level=ref, estimate=1.0, ci_low=np.nan,
                            ci_high=np.nan, p_value=np.nan,
                            label=f"{e.label}: {ref} (reference)"))
        pd_rows.append(dict(pr_rows[-1], estimate=0.0))
        named = [(f"{v}[{lvl}]", lvl, f"{e.label}: {lvl} vs {ref}") for lvl in levels[1:]]
    else:
        per = e.per_text or "per unit"
        named = [(v, per, f"{e.label} ({per})")]
    for j, (term, level, label) in enumerate(named, start=1):
        ratio, diff = mus[j] / mus[0], mus[j] - mus[0]
        if draws is not None:
            log_draws = np.log(draws[:, j] / draws[:, 0])
            diff_draws = draws[:, j] - draws[:, 0]
            se_log, se_diff = np.std(log_draws, ddof=1), np.std(diff_draws, ddof=1)
            lo, hi, p = intervals(ratio, se_log, df, np.exp(log_draws), log=True)
            dlo, dhi, dp = intervals(diff, se_diff, df, diff_draws)
        else:
            c_log = np.zeros(len(mus))
            c_log[j], c_log[0] = 1 / mus[j], -1 / mus[0]
            c_diff = np.zeros(len(mus))
            c_diff[j], c_diff[0] = 1.0, -1.0
            se_log = float(np.sqrt(c_log @ cov @ c_log))
            se_diff = float(np.sqrt(c_diff @ cov @ c_diff))
            lo, hi, p = intervals(ratio, se_log, df, log=True)
            dlo, dhi, dp = intervals(diff, se_diff, df)
        base = dict(term=term, variable=v, level=level, label=label, n=np.nan, events=np.nan)
        pr_rows.append(dict(base, estimate=ratio, ci_low=lo, ci_high=hi, p_value=p))
        pd_rows.append(dict(base, estimate=diff, ci_low=dlo, ci_high=dhi, p_value=dp))
    return pr_rows, pd_rows


def with_counts(frame: pd.DataFrame, result, which: str) -> pd.DataFrame:
    """The unweighted n and events of each level, from the odds-ratio rows."""
    counts = result.tidy(which)[["term", "n", "events"]]
    out = frame.drop(columns=["n", "events"]).merge(counts, on="term", how="left")
    return out.loc[:, ["term", "variable", "level", "label", "estimate", "ci_low", "ci_high",
                       "p_value", "n", "events"]]


def side_by_side_measures(tidy: dict[str, pd.DataFrame], measure: str, exposures
                          ) -> pd.DataFrame:
    """Crude and adjusted rows of one measure side by side, as the odds-ratio table."""
    from analysis.models._prepare import side_by_side

    return side_by_side(tidy["crude"], tidy["adjusted"], exposures, measure)

"""The report's prevalence ratios and differences beside the odds ratios of a binary outcome.

The numbers come from :func:`analysis.models.standardise` (fitted by the plan,
:attr:`analysis.plan.PlannedFit.effects`); this module only turns them into
reader text and a figure. The table's rows are the odds-ratio table's rows,
with the same unweighted ``n`` and events, so small-cell rules apply to them
the same way: counts are suppressed as in the odds-ratio table, and a row whose
estimate rests on a small cell (:func:`analysis.privacy.withheld_estimates`,
read on the PR table, which has the odds-ratio table's shape) shows
"suppressed" for its OR, PR and PD alike -- they rest on the same cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.describe.render import format_p
from analysis.report.session import Html, ReportSession, table_key
from analysis.report.tables import HIDDEN, safe_model_table


def _difference(est: float, low: float, high: float) -> str:
    """A prevalence difference in percentage points: "+12.3 (4.1 to 20.5)"."""
    if pd.isna(est):
        return ""
    if pd.isna(low):
        return "0 (reference)"
    if not np.isfinite([est, low, high]).all():
        return "not estimable"
    return f"{100 * est:+.1f} ({100 * low:+.1f} to {100 * high:+.1f})"


def effects_table(odds: pd.DataFrame, effects, threshold: int) -> pd.DataFrame:
    """Reader text: Factor, adjusted OR, crude and adjusted PR, adjusted PD, n, Events.

    ``odds`` is the logistic result's ``.table``; ``effects`` its
    :class:`~analysis.models.standardise.StandardisedResult` (one row per
    level of each exposure; the odds-ratio rows are matched on variable and
    level, so interaction cells of the OR table are not repeated here).
    """
    from analysis.privacy import withheld_estimates

    ratios, diffs = effects.table, effects.difference
    shown = safe_model_table(ratios, threshold)  # Factor, PR crude, p, PR adjusted, p, n, Events
    # The odds-ratio table also has interaction cells; its rows are matched by level.
    ors = safe_model_table(odds, threshold)["OR adjusted (95% CI)"]
    keys = zip(odds["variable"], odds["level"].astype(str), strict=True)
    by_level = dict(zip(keys, ors, strict=True))
    out = pd.DataFrame({
        "Factor": shown["Factor"],
        "OR adjusted (95% CI)": [by_level.get((v, str(lv)), "") for v, lv in
                                 zip(ratios["variable"], ratios["level"], strict=True)],
        "PR crude (95% CI)": shown["PR crude (95% CI)"],
        "PR adjusted (95% CI)": shown["PR adjusted (95% CI)"],
        "p adjusted": shown["p adjusted"],
        "PD adjusted, % points (95% CI)": [_difference(*v) for v in diffs[
            ["pd_adjusted", "ci_low_adjusted", "ci_high_adjusted"]].to_numpy()],
        "p (PD)": diffs["p_adjusted"].map(format_p),
        "n": shown["n"]})
    if "Events" in shown:
        out["Events"] = shown["Events"]
    withheld = withheld_estimates(ratios, threshold).to_numpy()
    estimates = [c for c in out.columns if c not in ("Factor", "n", "Events")]
    out.loc[withheld, estimates] = HIDDEN
    return out


def effects_section(report: ReportSession, fitted) -> Html:
    """Table and forest plot of the standardised PRs and PDs of one planned logistic model."""
    from analysis import figures

    model, effects = fitted.plan, fitted.effects
    if effects is None:
        return Html("")
    key = table_key("effects", model.key)
    ci = effects.info.get("ci", "delta method 95%")
    note = ("Prevalence ratio (PR) and difference (PD, in percentage points) of each level "
            "against the reference, by marginal standardisation of the logistic model: every "
            "respondent's outcome is predicted under each level with their own covariates, "
            "and the predictions are averaged" + (" with the survey weights" if model.design
                                                  else "") +
            f". Intervals: {ci}. Crude PRs are ratios of the observed "
            "prevalences. A common outcome makes the OR larger than the PR; the PR and PD are "
            "the measures on the scale of risk.")
    title = f"{model.label}: prevalence ratios and differences"
    parts = [report.table(effects_table(fitted.result.table, effects, report.threshold), key,
                          title=title, note=note)]
    ax = figures.ratio_forest_plot(fitted.result.table, effects.table)
    parts.append(report.figure(ax, table_key("forest_pr", model.key),
                               caption="Adjusted odds ratios and standardised prevalence "
                                       "ratios (log scale)"))
    return Html("".join(p.text for p in parts))


__all__ = ["effects_section", "effects_table"]

"""The report's prevalence ratios and differences beside the odds ratios of a binary outcome.

The numbers come from :func:`analysis.models.standardise` (fitted by the plan,
:attr:`analysis.plan.PlannedFit.effects`); this module only turns them into
reader text and a figure. The rows are the odds-ratio table's levels and take
their released text from it (:func:`analysis.report.tables.released_model_table`):
the same ``n`` and events as the report's release shows them, and a level
whose odds ratio the release withholds shows "suppressed" for its PR and PD
too -- they rest on the same cells -- and is not drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe.render import format_p
from analysis.privacy import COMPLEMENT_LABEL
from analysis.report.session import Html, ReportSession, table_key


def _difference(est: float, low: float, high: float) -> str:
    """A prevalence difference in percentage points, in the report's number style."""
    if pd.isna(est):
        return ""
    if pd.isna(low):
        return "0 (reference)"
    if not np.isfinite([est, low, high]).all():
        return "not estimable"
    return style.ci(100 * est, 100 * low, 100 * high, decimals=1)


def _ratio(est: float, low: float, high: float) -> str:
    if pd.isna(est):
        return ""
    if pd.isna(low):
        return "1 (reference)"
    return style.ci(est, low, high)


def effects_withheld(odds: pd.DataFrame, effects, release, *, where: str) -> np.ndarray:
    """Per row of ``effects.table``: whether its PRs and PDs are withheld.

    See :func:`effects_table`: the release's decision on the level's OR row.
    """
    from analysis.report.tables import model_withheld

    keys = list(zip(odds["variable"], odds["level"].astype(str), strict=True))
    position = {k: i for i, k in enumerate(keys)}
    withheld = model_withheld(release, odds, where=where).to_numpy()
    return np.array([k not in position or bool(withheld[position[k]])
                     for k in zip(effects.table["variable"],
                                  effects.table["level"].astype(str), strict=True)], dtype=bool)


def effects_table(odds: pd.DataFrame, effects, released: pd.DataFrame, *, release,
                  where: str) -> pd.DataFrame:
    """Reader text: Factor, adjusted OR, crude and adjusted PR, adjusted PD, n, Events.

    ``odds`` is the logistic result's ``.table``; ``released`` the reader's
    text of it (same rows, from the report's release); ``effects`` its
    :class:`~analysis.models.standardise.StandardisedResult` (one row per
    level of each exposure, matched to the odds-ratio rows on variable and
    level, so interaction cells of the OR table are not repeated here). A
    level's PRs and PDs rest on the same cells as its OR: they are withheld
    when the release withholds the OR row (``where``: the OR table's name in
    ``release``; :func:`analysis.report.tables.model_withheld`), or when the
    level has no OR row.
    """

    ratios, diffs = effects.table, effects.difference
    keys = list(zip(odds["variable"], odds["level"].astype(str), strict=True))
    shown = {k: released.iloc[i] for i, k in enumerate(keys)}
    rows = [shown.get((v, str(lv))) for v, lv in zip(ratios["variable"], ratios["level"],
                                                     strict=True)]

    def of(column: str) -> list[str]:
        return [("" if r is None or column not in r.index else r[column]) for r in rows]

    out = pd.DataFrame({
        "Factor": ratios["label"].to_numpy(),
        "OR adjusted (95% CI)": of("OR adjusted (95% CI)"),
        "PR crude (95% CI)": [_ratio(*v) for v in ratios[
            ["pr_crude", "ci_low_crude", "ci_high_crude"]].to_numpy()],
        "PR adjusted (95% CI)": [_ratio(*v) for v in ratios[
            ["pr_adjusted", "ci_low_adjusted", "ci_high_adjusted"]].to_numpy()],
        "p adjusted": ratios["p_adjusted"].map(format_p).to_numpy(),
        "PD adjusted, % points (95% CI)": [_difference(*v) for v in diffs[
            ["pd_adjusted", "ci_low_adjusted", "ci_high_adjusted"]].to_numpy()],
        "p (PD)": diffs["p_adjusted"].map(format_p).to_numpy(),
        "n": of("n")})
    if "Events" in released.columns:
        out["Events"] = of("Events")
    # a level without its released OR row is withheld: nothing vouches for its cells
    withheld = effects_withheld(odds, effects, release, where=where)
    estimates = [c for c in out.columns if c not in ("Factor", "n", "Events")]
    out.loc[withheld, estimates] = COMPLEMENT_LABEL
    return out


def effects_section(report: ReportSession, fitted, released: pd.DataFrame) -> Html:
    """Table and forest plot of the standardised PRs and PDs of one planned logistic model.

    ``released`` is the reader's text of the model's odds-ratio table.
    """
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
            "the measures on the scale of risk. " + report.rule())
    title = f"{model.label}: prevalence ratios and differences"
    from analysis.report.disclosure import model_where

    table = effects_table(fitted.result.table, effects, released, release=report.release,
                          where=model_where(model))
    parts = [report.table(table, key, title=title, note=note)]
    drawn = ~effects_withheld(fitted.result.table, effects, report.release,
                              where=model_where(model))
    if drawn.any():  # every estimate withheld: nothing to draw
        ax = figures.ratio_forest_plot(fitted.result.table, effects.table[drawn])
        parts.append(report.figure(ax, table_key("forest_pr", model.key),
                                   caption="Adjusted odds ratios and standardised prevalence "
                                           "ratios (log scale)"))
    return Html("".join(p.text for p in parts))


__all__ = ["effects_section", "effects_table", "effects_withheld"]

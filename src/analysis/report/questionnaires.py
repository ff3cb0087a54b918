"""The questionnaire report's sections: scores, internal consistency, bands and histograms.

Every count is a released cell of the run's release
(:mod:`analysis.report.disclosure`): the complete answers per scale, the
respondents per band, and each histogram bar (bins merged until every bar
counts at least the threshold).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import style
from analysis.report.session import Html, ReportSession

INSTRUMENT_NAMES = {"odi": "Oswestry Disability Index", "rmdq": "Roland-Morris (RMDQ)",
                    "start_back": "STarT Back", "fabq": "Fear-Avoidance Beliefs (FABQ)",
                    "orebro_short": "Örebro (short form)", "ipaq_short": "IPAQ (short form)",
                    "nprs": "Pain rating (NPRS)", "nmq": "Nordic questionnaire"}


def _rule(report: ReportSession) -> str:
    return report.rule()


def _join(*parts: Html) -> Html:
    return Html("\n".join(p.text for p in parts))


def score(report: ReportSession):
    """Score the questionnaires the codebook declares: the scored survey and alphas."""
    from analysis.instruments import score_instruments

    return score_instruments(report.survey)


def reliability(report: ReportSession, alphas: pd.DataFrame) -> Html:
    """Cronbach's alpha of each scored questionnaire."""
    from analysis.report.disclosure import register_reliability, sample_population

    keys = register_reliability(report.release, alphas,
                                sample_population(report.n, len(report.survey.data)))
    table = pd.DataFrame({
        "Questionnaire": [INSTRUMENT_NAMES.get(k, k) for k in alphas["instrument"]],
        "Scale": alphas["scale"], "Items": alphas["n_items"].astype(int).astype(str),
        "Complete answers": [report.release.label(k) for k in keys],
        "Alpha (95% CI)": [style.ci(a, lo, hi, decimals=3) for a, lo, hi in
                           alphas[["alpha", "ci_low", "ci_high"]].to_numpy()]})
    return report.table(table, "reliability", title="Internal consistency (Cronbach's alpha)",
                        note=_rule(report))


def score_bands(report: ReportSession, scored, scores: Sequence[str]) -> Html:
    """Respondents in each band of each banded score, with the score distributions."""
    from analysis.report.disclosure import band_scores, register_bands, sample_population

    parts = []
    release = report.release
    population = sample_population(report.n, len(report.survey.data))
    for name in band_scores(scored, report.survey, scores):
        column = scored.data[name]
        if column.dtype == "category":
            keys, total = register_bands(release, name, column, population)
            bands = [*map(str, column.value_counts(sort=False).index), "Total"]
            table = pd.DataFrame({"Band": bands,
                                  "Respondents": [release.label(k) for k in [*keys, total]],
                                  "%": [release.percent(k, total) for k in [*keys, total]]})
            parts.append(report.table(table, f"bands_{name}", title=scored.label(name),
                                      note=_rule(report)))
        else:
            parts.append(_histogram(report, scored, name, population))
    return _join(*parts)


def _histogram(report: ReportSession, scored, name: str, population: str) -> Html:
    """A score's histogram drawn from its released bars (:func:`register_histogram`).

    Each bar is a released count: bins are merged until every bar holds at
    least the threshold (said in the caption), and with rounding the bars are
    the rounded counts. Not drawn when a bar is hidden.
    """
    from analysis import figures
    from analysis.report.disclosure import register_histogram

    release, label = report.release, scored.label(name)
    edges, keys, merged = register_histogram(release, name, scored.data[name], population)
    if any(release.hidden(k) for k in keys):
        return Html(f"<p>The distribution of {html.escape(label)} is not drawn: one of its "
                    "bars would show a suppressed count.</p>")
    heights = [release.value(k) for k in keys]
    middles = (edges[:-1] + edges[1:]) / 2
    # the histogram of each bar's midpoint repeated as often as its released count: the
    # figure's own drawing, with exactly the released heights
    drawn = pd.Series(np.repeat(middles, heights), name=name)
    ax = figures.score_distribution(drawn, label=label, bins=edges,
                                    title=f"Distribution of {label}")
    caption = f"Distribution of {label}"
    if merged:
        caption += (f"; neighbouring bins are merged so that each bar counts at least "
                    f"{release.threshold} respondents")
    if release.rounding:
        caption += f"; bar heights rounded to the nearest {release.rounding}"
    return report.figure(ax, f"distribution_{name}", caption=caption)


__all__ = ["INSTRUMENT_NAMES", "reliability", "score", "score_bands"]

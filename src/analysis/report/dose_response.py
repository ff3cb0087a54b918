"""The dose-response section: each continuous exposure's spline curve, as the release allows.

:func:`dose_responses` draws the curves of
:func:`analysis.figures.dose_response` for a report; :func:`drawn_curve`
decides which parts of a curve the report's
:class:`~analysis.privacy.Release` lets it draw (the segments of the spline
resting on small counts are left out, and a curve whose model's odds ratio
is withheld is not drawn at all).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

import pandas as pd

from analysis import style
from analysis.report.sections import drawn_rows, join, sample_note, sample_rows
from analysis.report.session import Html, ReportSession, table_key


def _lower(label: str) -> str:
    """A label inside a sentence: "back problems" for "Back problems", "NPRS" unchanged."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def dose_responses(report: ReportSession, outcome: str | None,
                   exposures: Sequence[str], confounders: Sequence[str] | None,
                   fitted=None) -> Html:
    """A dose-response curve with its 95% band for each continuous exposure.

    Above :data:`SAMPLE_ROWS` respondents the curves are fitted on a random
    sample of that many (:func:`sample_rows`), as the caption says. What
    the report's release withholds is not drawn (:func:`drawn_curve`): a
    segment of the spline resting on a small count leaves a gap, named in
    the caption without its counts; a curve with nothing left, or whose
    exposure's odds ratio the model's table withholds (``fitted``: the
    planned model, a :class:`~analysis.plan.PlannedFit`), is replaced by one
    sentence saying why.
    """
    from analysis import figures

    survey, note = report.survey, ""
    rows = sample_rows(len(survey.data))
    if rows is not None:
        note = sample_note(len(survey.data))
        survey = dataclasses.replace(survey, data=survey.data.iloc[rows])
    parts = []
    for exposure in exposures:
        curve = figures.dose_response(survey, exposure, outcome,
                                      adjust_for=tuple(confounders or ()))
        label = report.survey.label(exposure)
        drawn, gaps = drawn_curve(report.release, curve,
                                  model_withheld=model_withholds(report, fitted, exposure))
        if drawn is None:
            parts.append(Html(f"<p>{html.escape(gaps[0], quote=False)}</p>"))
            continue
        counts = curve_counts(report, fitted, curve)
        ax = figures.dose_response_plot(drawn)
        parts.append(report.figure(ax, table_key("dose", exposure),
                                   caption=f"{label}: odds ratio against the median, with 95% "
                                           "band" + (f" ({counts})" if counts else "")
                                           + "".join(f". {g}" for g in gaps)
                                           + (f". {note}" if note else "")))
    return join(*parts)


def drawn_curve(release, curve: pd.DataFrame, *, model_withheld: bool = False
                ) -> tuple[pd.DataFrame | None, list[str]]:
    """The rows of a dose-response curve a figure may draw, and what the caption says of the rest.

    The curve on a spline segment rests on the events and non-events of the
    respondents in it (:func:`analysis.figures.dose_response.band_counts`)
    and, being a contrast, on those of the reference's segment: as a factor
    level's odds ratio on its level's and its reference's
    (:func:`analysis.privacy.withheld_estimates`), a segment is withheld when
    one of these counts is 1 to ``threshold - 1`` (with rounding only: below
    the rounding base). Its rows are dropped (the figure draws a gap; the
    caption names the segment's range, never its counts). Returns ``(None,
    [sentence])`` when nothing is left, or ``model_withheld`` (the model's
    odds ratio of the exposure is withheld, :func:`drawn_rows`): the curve
    rests on the same respondents.
    """
    limit = release.threshold or release.rounding
    attrs = curve.attrs
    label, outcome = attrs.get("label", "the exposure"), attrs.get("outcome_label", "outcome")
    bands = {b["band"]: b for b in attrs.get("bands", ())}

    def small(band) -> bool:
        cells = (band["events"], band["n"] - band["events"])
        return any(0 < c < limit for c in cells)

    ref = bands.get(attrs.get("reference_band"))
    everything = model_withheld or (ref is not None and small(ref))
    withheld = {i for i, b in bands.items() if everything or small(b)}
    kept = curve[~curve["band"].isin(withheld)] if "band" in curve.columns else curve
    why = (f"rests on fewer than {limit} respondents with or without {_lower(outcome)}")
    if model_withheld:
        return None, [f"The dose-response curve of {_lower(label)} is not shown: its model's "
                      "odds ratio is withheld under the disclosure rule, and the curve rests "
                      "on the same respondents."]
    if kept.empty:
        return None, [f"The dose-response curve of {_lower(label)} is not shown: it {why} "
                      "(the disclosure rule)."]
    unit = attrs.get("unit")
    gaps = [f"Not drawn {_range(bands[i], unit)}: the curve there {why}"
            for i in sorted(withheld) if "band" in curve.columns and (curve["band"] == i).any()]
    drawn = kept.copy()
    # the plot would print the true n and events under the axis: the caption says them as
    # released instead
    drawn.attrs = {k: v for k, v in attrs.items() if k not in ("n", "events")}
    return drawn, gaps


def _range(band: dict, unit: str | None) -> str:
    unit = f" {unit}" if unit else ""
    low, high = band["low"], band["high"]
    if low is None:
        return f"up to {style.significant(high, 3)}{unit}"
    if high is None:
        return f"above {style.significant(low, 3)}{unit}"
    return f"from {style.significant(low, 3)} to {style.significant(high, 3)}{unit}"


def model_withholds(report: ReportSession, fitted, exposure: str) -> bool:
    """Whether the planned model's table withholds the odds ratio of ``exposure``."""
    if fitted is None or getattr(fitted, "result", None) is None:
        return False
    from analysis.report.disclosure import model_where

    table = fitted.result.table
    rows = table[table["variable"] == exposure]
    if rows.empty:
        return False
    kept = drawn_rows(report.release, rows, model_where(fitted.plan))
    return len(kept) < len(rows)


def curve_counts(report: ReportSession, fitted, curve) -> str:
    """"n = ..., ... events" of a curve, as the release shows its model's counts ("": unknown).

    A curve fitted on the planned model's complete cases (the same n and
    events) has that model's released cells; other counts are not in the
    release and are left out.
    """
    from analysis.privacy import cell_key
    from analysis.report.disclosure import model_population, outcome_levels

    info = getattr(getattr(fitted, "result", None), "info", None) or {}
    if (info.get("n"), info.get("events")) != (curve.attrs["n"], curve.attrs["events"]):
        return ""
    release, plan = report.release, fitted.plan
    total = cell_key(model_population(plan))
    events = total.plus(plan.outcome, outcome_levels(report.survey, plan.outcome)[-1])
    if total in release and events in release:
        return f"n = {release.label(total)}, {release.label(events)} events"
    return ""


__all__ = ["curve_counts", "dose_responses", "drawn_curve", "model_withholds"]

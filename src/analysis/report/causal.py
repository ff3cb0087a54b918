"""Report pieces beyond the odds ratios: the causal diagram, E-values, q-values, RERI.

Each returns empty HTML when it does not apply (no diagram declared, no
interaction declared, too few tests for a q column), so a report never has
a heading with nothing under it. The statistics come from
:mod:`analysis.models.evalue`, :mod:`analysis.models.multiplicity`,
:mod:`analysis.models.additive` and :mod:`analysis.plan.causal`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe.render import format_p
from analysis.errors import BackpainError
from analysis.privacy import COMPLEMENT_LABEL
from analysis.report.session import Html, ReportSession, table_key

# Which models' estimates get an E-value, and on which scale.
E_MEASURE = {"logistic": "OR", "Firth logistic": "OR", "conditional logistic": "OR",
             "Poisson": "IRR", "negative binomial": "IRR"}


def sensitivity_columns(table: pd.DataFrame, shown: pd.DataFrame, model, result, *,
                        release, where: str) -> tuple[pd.DataFrame, list[str]]:
    """``shown`` (the reader's model table) with E-value and q-value columns, and their notes.

    A row whose estimate the release withholds (``release``, the table's name
    ``where`` in it: :func:`analysis.report.tables.model_withheld`) shows
    neither: an E-value is a function of the estimate and its interval, a
    q-value of the p-values, so either would give the withheld number back.
    """
    from analysis.report.tables import model_withheld

    out, notes = _sensitivity_columns(table, shown, model, result)
    withheld = model_withheld(release, table, where=where).to_numpy()
    for column in ("q adjusted", "E-value (CI limit)"):
        if column in out.columns:
            out.loc[withheld, column] = ""
    return out, notes


def _sensitivity_columns(table: pd.DataFrame, shown: pd.DataFrame, model, result
                         ) -> tuple[pd.DataFrame, list[str]]:
    """The E-value and q-value columns of :func:`sensitivity_columns`, before the release.

    ``table`` is the result's side-by-side table in the same row order.
    E-values are of the adjusted estimate and its interval limit nearer the
    null; the q column (Benjamini-Hochberg) appears when the table tests
    three or more hypotheses.
    """
    from analysis.models.evalue import RARE, e_values
    from analysis.models.multiplicity import with_q_values

    notes: list[str] = []
    out = shown.copy()
    position = list(out.columns).index("p adjusted") + 1
    q = with_q_values(table)
    if "q_adjusted" in q.columns:
        out.insert(position, "q adjusted", q["q_adjusted"].map(
            lambda v: "" if pd.isna(v) else format_p(v)).to_numpy())
        position += 1
        notes.append("q adjusted: Benjamini-Hochberg false-discovery-rate adjusted p-values "
                     f"over the {int(table['p_adjusted'].notna().sum())} adjusted tests of "
                     "this table.")
    measure = E_MEASURE.get(model.model)
    estimate = next((c for c in ("or_adjusted", "irr_adjusted") if c in table.columns), None)
    if measure is None or estimate is None:
        return out, notes
    info = result.info
    share = None
    if measure == "OR":
        events, n = info.get("events"), info.get("n")
        share = float(events) / float(n) if events is not None and n else None
        if model.model == "conditional logistic":
            share = 0.0  # matched case-control sets: the odds ratio estimates a rate ratio
    frame = e_values(table, measure, share, estimate=estimate, ci_low="ci_low_adjusted",
                     ci_high="ci_high_adjusted")
    interaction = table["variable"].astype(str).str.contains(":")
    cells = [("" if pd.isna(e) or skip else f"{style.number(e, 2)} ({style.number(c, 2)})")
             for e, c, skip in zip(frame["e_value"], frame["e_value_ci"], interaction,
                                   strict=True)]
    out.insert(position, "E-value (CI limit)", cells)
    if measure == "IRR":
        how = "rate ratios are used as risk ratios"
    elif model.model == "conditional logistic":
        how = "in matched case-control sets the odds ratio is taken as a risk ratio"
    elif share is not None and share < RARE:
        how = (f"the outcome is rare ({share:.0%} of respondents, under 15%), so the odds "
               "ratio is taken as a risk ratio")
    else:
        how = (f"the outcome is common ({share:.0%} of respondents, 15% or more), so each odds "
               "ratio is first converted to a risk ratio as RR = sqrt(OR)")
    notes.append("E-value (VanderWeele & Ding 2017): how strongly, on the risk-ratio scale, an "
                 "unmeasured confounder would have to be associated with both exposure and "
                 "outcome to explain the adjusted estimate away; in brackets, to move its "
                 f"interval to include 1 (1: it already does); {how}."
                 # said only where the table has such rows, in the model's own measure
                 + (f" Ratios of {'rate' if measure == 'IRR' else 'odds'} ratios (interaction "
                    "terms) have none."
                    if interaction.any() else ""))
    return out, notes


def causal_diagram(report: ReportSession) -> list[Html]:
    """The declared causal diagram and each exposure's adjustment set; [] without one."""
    from analysis import figures
    from analysis.plan.causal import causal_graph

    section = report.survey.codebook.analysis
    models = [m for m in report.plan.models if m.adjustment_sets]
    if section is None or not section.causes or not models:
        return []
    graph = causal_graph(section.causes)
    edges = pd.DataFrame(list(graph.edges), columns=["cause", "effect"])
    labels = {n: (report.survey.label(n) if n in report.survey.codebook.variables else n)
              for n in graph.nodes}
    parts = [Html("<p>The causes the codebook assumes (analysis: causes). Each exposure is "
                  "estimated in a model of its own, adjusted for the smallest set of measured "
                  "variables that blocks every back-door path from it to the outcome (Pearl's "
                  "back-door criterion); variables on its causal path are not adjusted for. "
                  "The estimates are only as right as the diagram.</p>")]
    for model in models:
        exposures = [x for x in model.adjustment_sets if x in graph]
        adjusted = sorted({v for x in exposures for v in model.adjustment_sets[x]})
        ax = figures.dag_plot(edges, exposure=exposures, outcome=model.outcome,
                              adjusted=adjusted, unmeasured=section.unmeasured, labels=labels)
        key = table_key("dag", model.key)
        parts.append(report.figure(ax, key, caption=f"Assumed causes of {model.label}: "
                                                    "exposures, outcome and the variables "
                                                    "some exposure is adjusted for"))
        rows = [{"Exposure": report.survey.label(x),
                 "Adjusted for": ", ".join(report.survey.label(v)
                                           for v in model.adjustment_sets[x]) or "nothing",
                 "Why": _why(graph, x, model, report.survey.label)}
                for x in model.adjustment_sets]
        parts.append(report.table(pd.DataFrame(rows), table_key("adjustment_sets", model.key),
                                  title=f"Adjustment set of each exposure: {model.label}"
                                        + (" (sub-sample model)" if model.subsample else "")))
    return parts


def additive_interactions(report: ReportSession) -> list[Html]:
    """RERI, AP and S of each declared interaction of two factors in a logistic model.

    A contrast resting on a small or hidden exposure-combination x outcome
    cell is withheld (:func:`analysis.report.estimate_cells.additive_withheld`).
    """
    from analysis.models.additive import additive_interaction
    from analysis.report.estimate_cells import additive_withheld

    parts = []
    for fitted in report.fits:
        model = fitted.plan
        if (fitted.failure is not None or model.model not in ("logistic", "Firth logistic")
                or not model.interactions):
            continue
        for a, b in model.interactions:
            name = f"adjusted: {a} × {b}" if model.adjustment_sets else "adjusted"
            try:
                frame = additive_interaction(fitted.result, a, b, which=name)
            except BackpainError:
                continue  # a numeric variable in the pair: no 2 x 2 contrast
            first, second = frame.attrs["variables"]
            # the odds ratios and their intervals give the combination x outcome cells back
            withheld = np.array([additive_withheld(report.release, model, a, b, str(c))
                                 for c in frame["contrast"]], dtype=bool)
            shown = pd.DataFrame({
                "Contrast": [f"{report.survey.label(first)} × {report.survey.label(second)}: "
                             f"{c}" for c in frame["contrast"]],
                "Measure": frame["measure"].map(MEASURE_NAMES),
                "Estimate (95% CI)": [_ci(e, lo, hi) for e, lo, hi in
                                      frame[["estimate", "ci_low", "ci_high"]].to_numpy()],
                "No interaction": frame["null"].map(lambda v: f"{v:g}")})
            shown.loc[withheld, "Estimate (95% CI)"] = COMPLEMENT_LABEL
            key = table_key("additive", f"{model.key}_{a}_{b}")
            note = (" ".join(frame.attrs["notes"]) + " " if frame.attrs["notes"] else "") + (
                "Odds ratios against the respondents with neither exposure (OR10, OR01: one "
                "exposure alone; OR11: both), from the adjusted logistic model with the "
                "product term; RERI = OR11 - OR10 - OR01 + 1, AP = RERI / OR11, S = (OR11 - 1) "
                "/ (OR10 + OR01 - 2), with delta-method intervals (Hosmer & Lemeshow 1992; S "
                "on the log scale), reported as Knol & VanderWeele (2012) recommend. Odds "
                "ratios stand in for risk ratios, which overstates them for a common outcome. "
                + report.rule())
            parts.append(report.table(shown, key, title=f"Additive interaction: {model.label}"
                                      + (" (sub-sample model)" if model.subsample else ""),
                                      note=note))
    return parts


def _why(graph, exposure: str, model, label) -> str:
    from analysis.plan.causal import causal_path

    if exposure not in graph:
        return "Not in the diagram: the estimate is crude."
    if not model.adjustment_sets[exposure] and "blocks" not in model.adjustment_reasons.get(
            exposure, "blocks"):
        return model.adjustment_reasons[exposure].split(": ", 1)[-1]
    words = ("Blocks every back-door path to the outcome" if model.adjustment_sets[exposure]
             else "No back-door path to the outcome is open")
    mediators = causal_path(graph, exposure, model.outcome)
    if mediators:
        words += "; not adjusted for " + ", ".join(label(v) for v in mediators) + \
            " (on its causal path)"
    return words + "."


MEASURE_NAMES = {"OR10": "OR, first exposure alone", "OR01": "OR, second exposure alone",
                 "OR11": "OR, both", "RERI": "RERI (relative excess risk due to interaction)",
                 "AP": "AP (attributable proportion)", "S": "S (synergy index)"}


def _ci(estimate: float, low: float, high: float) -> str:
    if not np.isfinite(low) or not np.isfinite(high):
        return f"{style.number(estimate, 2)} (not estimable)"
    return style.ci(estimate, low, high)


__all__ = ["E_MEASURE", "MEASURE_NAMES", "additive_interactions", "causal_diagram",
           "sensitivity_columns"]

"""The sections of the report notebooks: each function computes, suppresses and shows.

A notebook cell calls one of these with its :class:`ReportSession` and shows
the returned HTML; the statistics come from the package's modules
(:mod:`analysis.describe`, :mod:`analysis.models`, :mod:`analysis.diagnostics`,
:mod:`analysis.instruments`) and the figures from :mod:`analysis.figures`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe import table_one
from analysis.describe.render import NOTE as TABLE_ONE_NOTE
from analysis.models import logistic
from analysis.report.questionnaires import (  # noqa: F401 - the 04 notebook's sections
    INSTRUMENT_NAMES,
    reliability,
    score,
    score_bands,
)
from analysis.report.session import Html, ReportSession


def _suppression_note(report: ReportSession) -> str:
    """The report's disclosure rule in one sentence (:meth:`analysis.privacy.Release.sentence`)."""
    return report.rule()


def _in_sentence(label: str) -> str:
    """A label inside a sentence: "back problems" for "Back problems", "NPRS" unchanged."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def join(*parts: Html) -> Html:
    """Several fragments shown as one output."""
    return Html("\n".join(p.text for p in parts))


# ---- 01 data quality ----------------------------------------------------------
def participant_flow(report: ReportSession) -> Html:
    """Rows read, excluded by step and reason, and analysed: table and STROBE diagram.

    Every count comes from the report's release (rows read = excluded +
    analysed is one of its relations). The diagram cannot show "<5", so
    there the small reasons of a step are pooled into "other rules" (with
    the smallest other reason when the pool is still small), a count the
    release knows too; when one of its numbers is hidden it is not drawn.
    """
    from analysis import figures
    from analysis.report.disclosure import diagram_flow, flow_keys, register_flow, undrawn_flow

    flow = report.flow.reset_index(drop=True)
    release = report.release
    register_flow(release, flow)
    shown = pd.DataFrame({
        "Stage": flow["stage"].str.capitalize(), "Step": flow["step"], "Reason": flow["label"],
        "Respondents": [release.label(k) for k in flow_keys(flow)]})
    if flow.loc[flow["stage"] == "excluded", "step"].nunique() <= 1:
        shown = shown.drop(columns="Step")  # one step (validation) names nothing
    out = report.table(shown, "flow", title="Participant flow",
                       note="Rows read = rows excluded + rows analysed. "
                            + _suppression_note(report))
    drawn = diagram_flow(release, flow)
    if drawn is None:
        return join(out, Html(f"<p>{undrawn_flow(release)}</p>"))
    ax = figures.participant_flow(drawn, codebook=report.survey)
    return join(out, report.figure(ax, "flow", caption="Participant flow (STROBE)"))


def pool_small_reasons(flow: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The flow with each step's reasons of fewer than ``threshold`` rows pooled."""
    from analysis.report.disclosure import pooled_flow

    return pooled_flow(flow, threshold).drop(columns=["parts"])


def changes_by_rule(report: ReportSession) -> Html:
    """Values set missing and rows excluded, by column and rule."""
    from analysis.report.disclosure import change_counts, exclusions_once, register_changes

    # counted from the ledger's blocks: a row per changed value would be millions of rows
    counts = exclusions_once(change_counts(report.change_counts()), report.flow)
    keys = register_changes(report.release, counts, report.flow)
    if counts.empty:  # a header row over nothing reads as a table that failed to fill
        return Html("<p>No value was recoded as missing and no row broke a codebook rule.</p>")
    cb = report.survey.codebook
    counts["Variable"] = [cb.label(c) if isinstance(c, str) and c in cb else str(c)
                          for c in counts["column"]]
    table = counts.rename(columns={"rule": "Rule", "action": "Action", "n": "Values"})
    shown = table[["Variable", "Rule", "Action"]].assign(
        Values=[report.release.label(k) for k in keys])
    return report.table(shown, "changes", title="Values changed and rows excluded, by rule",
                        note="Missing-value codes became missing; rows breaking a rule were "
                             "excluded. A row breaking several exclusion rules counts once, "
                             "under the first it breaks, as in the participant flow. "
                             + _suppression_note(report))


def missing_values(report: ReportSession) -> Html:
    """Missing values per variable (questionnaire items left out), table and figure.

    Counts from the report's release; the percentage is computed from the
    released counts, and a variable whose missing count is hidden is not
    drawn (its bar would give the count back).
    """
    from analysis import figures
    from analysis.report.disclosure import register_missing

    survey, release = report.survey, report.release
    items = {v.name for v in survey.codebook.variables.values() if v.instrument}
    counts = report.missingness()
    counts = counts[~counts["variable"].isin(items)].reset_index(drop=True)
    missing, asked = register_missing(release, counts)
    table = pd.DataFrame({"Variable": counts["label"].to_numpy(),
                          "Asked": [release.label(k) for k in asked],
                          "Missing": [release.label(k) for k in missing],
                          "Missing, %": [release.percent(m, a) for m, a in
                                         zip(missing, asked, strict=True)]})
    out = report.table(table, "missing",
                       title=f"Missing values among {release.label(_analysed())} respondents "
                             "analysed",
                       note="Percent of the respondents asked: a question put only to some (an "
                            "examination of a sub-sample, a follow-up after 'No') is not "
                            "missing for the others. "
                            # only a codebook with instruments has a questionnaire report
                            + ("Questionnaire items are summarised in the questionnaire "
                               "report. " if items else "")
                            + _suppression_note(report))
    hidden = [release.hidden(m) or release.hidden(a) for m, a in zip(missing, asked, strict=True)]
    drawn = counts[[not h for h in hidden]].copy()
    if release.rounding:  # the bars from the released counts, as the table's percentages
        shown = [(release.value(m), release.value(a)) for m, a, h in
                 zip(missing, asked, hidden, strict=True) if not h]
        drawn["n_missing"] = [m for m, _ in shown]
        drawn["percent_missing"] = [100 * m / a if a else 0.0 for m, a in shown]
    if not any(hidden) and not drawn["n_missing"].any():
        # an empty chart whose axis repeats "0%, 1%" says less than a sentence
        return join(out, Html("<p>No variable has a missing value.</p>"))
    ax = figures.missingness_plot(drawn)
    caption = "Share of missing values by variable"
    if any(hidden):
        caption += "; variables with a suppressed count are not drawn"
    return join(out, report.figure(ax, "missing", caption=caption))


def _analysed():
    from analysis.privacy import cell_key
    from analysis.report.disclosure import POPULATION

    return cell_key(POPULATION)


# ---- 02 descriptives -----------------------------------------------------------
def characteristics(report: ReportSession, by: str | None = None,
                    columns: Sequence[str] | None = None) -> Html:
    """Table 1 by ``by`` (default: the outcome), counts from the report's release."""
    from analysis.report.tables import register_table_one, released_table_one

    t1 = table_one(report.survey, by=by, columns=list(columns) if columns else None)
    title = "Characteristics of respondents"
    grouping = by or next(iter(report.survey.variables("outcome")), None)
    if grouping:
        title += f" by {_in_sentence(report.survey.label(grouping))}"
    groups = [c for c in t1.columns if c.startswith("n:") and c != "n:Overall"]
    grouping = grouping if groups else None
    register_table_one(report.release, t1, by=grouping)
    return report.table(released_table_one(report.release, t1, by=grouping),
                        "characteristics", title=title,
                        note=TABLE_ONE_NOTE + " " + _suppression_note(report))


def prevalence_by(report: ReportSession, outcome: str | None,
                  factors: Sequence[str] | None = None, *, key: str = "prevalence",
                  design: bool = False, where: str | None = None) -> Html:
    """Prevalence of the outcome overall and by each coded factor, with Wilson intervals.

    ``factors`` defaults to the codebook's exposures; numeric ones are left out.
    With ``design`` (the codebook declares weights, strata or clusters) the
    table adds the design-based prevalence and its interval (R survey's
    ``svyciprop``, logit method) and the figure draws those. Counts come
    from the report's release (``where`` names the table there; default
    ``key``): a level whose prevalence rests on a hidden count shows
    "suppressed" and is not drawn, weighted or not.
    """
    from analysis import figures
    from analysis.describe import wilson_interval
    from analysis.report.disclosure import POPULATION, sample_population
    from analysis.report.tables import (
        prevalence_withheld,
        register_prevalence,
        released_prevalence,
    )

    outcome = outcome or report.survey.variables("outcome")[0]
    factors = list(factors) if factors else report.survey.variables("exposure")
    coded = [f for f in factors if report.survey.data[f].dtype == "category"]
    table = report.prevalence(outcome, coded, design)
    release, where = report.release, where or key
    levels = [str(v) for v in report.survey.data[outcome].cat.categories]
    # design-based out of core: counted on the sample the estimates are made on
    population = (sample_population(report.n, len(report.survey.data)) if design
                  else POPULATION)
    register_prevalence(release, table, outcome=outcome, outcome_levels=levels, where=where,
                        population=population)
    shown = released_prevalence(release, table, outcome=outcome, outcome_levels=levels,
                                where=where, population=population)
    if design:
        shown = shown.rename(columns={"Prevalence, % (95% CI)": "Unweighted, % (95% CI)"})
    label = report.survey.label(outcome)
    note = "Among respondents with a known outcome; Wilson 95% intervals. "
    if design:
        note = ("Among respondents with a known outcome. n and events are respondents; the "
                "unweighted prevalence has Wilson 95% intervals, the design-based one (survey "
                "weights, strata and clusters) logit intervals with t on the design's degrees "
                "of freedom. ")
    out = report.table(shown, key, title=f"Prevalence of {label.lower()}",
                       note=note + _suppression_note(report))
    if not coded:  # the overall row only: a figure would be an empty frame with one line
        return out
    # a drawn point and interval would give a withheld count back: leave those rows out
    hide = prevalence_withheld(release, table, where=where)
    drawn = table[~hide].copy()
    if design:
        drawn = drawn.assign(prevalence=drawn["design_prevalence"],
                             ci_low=drawn["design_ci_low"], ci_high=drawn["design_ci_high"])
    elif release.rounding:  # the points from the rounded counts, as the table's
        from analysis.privacy import cell_key
        from analysis.report.tables import prevalence_keys

        for idx in drawn.index:
            n_key, ev_key = prevalence_keys(release, cell_key(population), drawn.loc[idx],
                                            outcome, levels)
            n, ev = release.value(n_key), release.value(ev_key)
            low, high = wilson_interval(ev, n) if n else (np.nan, np.nan)
            drawn.loc[idx, ["n", "events", "prevalence", "ci_low", "ci_high"]] = [
                n, ev, ev / n if n else np.nan, float(low), float(high)]
    ax = figures.prevalence_plot(drawn, show_counts=False)
    if design:
        ax.set_xlabel("Respondents with the outcome (%, design-based 95% CI)")
    caption = (f"{'Design-based p' if design else 'P'}revalence of {label.lower()} by factor, "
               "with 95% intervals")
    if hide.any():
        caption += "; levels with suppressed counts are not drawn"
    return join(out, report.figure(ax, key, caption=caption))


# ---- 03 risk factors -----------------------------------------------------------
def split_exposures(survey, exposures: Sequence[str] | None = None, *,
                    minimum: float = 0.5) -> tuple[list[str], list[str]]:
    """Exposures measured on at least ``minimum`` of the respondents, and the others.

    A measure taken only in a sub-sample (a physical examination of a quarter
    of the respondents) would restrict a model that includes it to that
    sub-sample, so the main model leaves it out and a second model covers it.
    """
    names = list(exposures) if exposures else survey.variables("exposure")
    present = survey.data[names].notna().mean()
    return ([n for n in names if present[n] >= minimum],
            [n for n in names if present[n] < minimum])


def _present_interactions(report: ReportSession, interactions) -> list[tuple[str, ...]]:
    return [tuple(pair) for pair in interactions or ()
            if all(v in report.survey.data.columns for v in pair)]


def odds_ratios(report: ReportSession, outcome: str | None, exposures: Sequence[str] | None,
                confounders: Sequence[str] | None, interactions: Sequence[Sequence[str]] = ()):
    """Fit the crude and adjusted logistic models (see :func:`analysis.models.logistic`).

    Without ``exposures``, the codebook's exposures measured on at least half
    of the respondents (:func:`split_exposures`). Interactions whose variables
    are not in the data are left out.
    """
    main = list(exposures) if exposures else split_exposures(report.survey)[0]
    return logistic(report.survey, outcome, main,
                    list(confounders) if confounders is not None else None,
                    interactions=_present_interactions(report, interactions))


def subsample_odds_ratios(report: ReportSession, outcome: str | None,
                          subsample_exposures: Sequence[str] | None,
                          exposures: Sequence[str] | None, confounders: Sequence[str] | None,
                          interactions: Sequence[Sequence[str]] = ()):
    """The model with the sub-sample measures added, in the respondents who have them.

    ``None`` when every exposure is measured on most respondents.
    """
    main, rest = split_exposures(report.survey, exposures)
    extra = list(subsample_exposures) if subsample_exposures else rest
    if not extra:
        return None
    return logistic(report.survey, outcome, main + extra,
                    list(confounders) if confounders is not None else None,
                    interactions=_present_interactions(report, interactions))


def odds_ratio_table(report: ReportSession, result, key: str = "odds_ratios",
                     population: str = "respondents with complete data") -> Html:
    """Crude and adjusted odds ratios side by side, with a forest plot.

    Counts and withheld estimates from the report's release (the model's
    complete cases are the population ``"model:<key>"``).
    """
    from analysis import figures
    from analysis.report.tables import register_model_table, released_model_table

    if result is None:
        return Html("<p>Every exposure was measured on most respondents: no sub-sample model.</p>")
    info, release = result.info, report.release
    outcome = info["outcome"]
    levels = [str(v) for v in report.survey.data[outcome].cat.categories]
    spec = {"outcome": outcome, "outcome_levels": levels, "population": f"model:{key}",
            "where": f"model table {key}"}
    register_model_table(release, result.table, **spec)
    shown = released_model_table(release, result.table, **spec)
    out = report.table(
        shown, key, title=f"Odds ratios of {report.survey.label(outcome).lower()}",
        note=(f"Logistic regression on {info['n']} {population} "
              f"({info['events']} events; {left_out(info['n_dropped'])} left out for a missing "
              "value); "
              "adjusted for "
              f"{', '.join(report.survey.label(c) for c in info['adjust_for']) or 'nothing'} "
              "and the other factors. Wald 95% intervals. " + _suppression_note(report)))
    ax = figures.forest_plot(drawn_rows(release, result.table, spec["where"]),
                             show_counts=False)  # counts: table, suppressed
    figure_key = "forest" if key == "odds_ratios" else f"forest_{key}"
    figure = report.figure(ax, figure_key, caption="Crude and adjusted odds ratios (log scale)")
    return join(report.notices(result, key), out, figure)


def left_out(count) -> str:
    """How many rows a model's note says were left out: "none" rather than "0"."""
    return "none" if str(count) == "0" else str(count)


def drawn_rows(release, table: pd.DataFrame, where: str | None) -> pd.DataFrame:
    """The rows of a model table a figure may draw: none whose estimate is withheld.

    ``where``: the table's name in ``release`` (None: the small-count rule only).
    """
    from analysis.privacy import withheld_estimates

    limit = release.threshold or release.rounding
    withheld = withheld_estimates(table, limit)
    if where is not None:
        withheld |= pd.Series([f"{where}:{i}" in release.estimates()
                               and release.estimate_withheld(f"{where}:{i}")
                               for i in table.index], index=table.index)
    return table[~withheld]


# Curves and performance plots need no more than a million respondents to be exact to the
# pixel; above that they are drawn from a fixed random sample of rows, stated in the report.
SAMPLE_ROWS = 1_000_000
SAMPLE_SEED = 20240501


def sample_rows(n: int, size: int = SAMPLE_ROWS, seed: int = SAMPLE_SEED) -> np.ndarray | None:
    """Sorted positions of a simple random sample of ``size`` of ``n`` rows; None if n <= size.

    Deterministic: the same ``(n, size, seed)`` gives the same rows.
    """
    if n <= size:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def sample_note(n: int) -> str:
    return (f"Computed on a simple random sample of {style.count(SAMPLE_ROWS)} of the "
            f"{style.count(n)} rows "
            f"(seed {SAMPLE_SEED}).")


def performance(report: ReportSession, result) -> Html:
    """Discrimination (AUC) and calibration of the adjusted model, with their plots.

    Above :data:`SAMPLE_ROWS` rows in the model, AUC, calibration and plots
    use the predictions of a random sample of that many rows (:func:`sample_rows`);
    the table note says so.
    """
    from analysis import diagnostics, figures

    y, p, w = result.models["adjusted"].outcome_weights()
    rows = sample_rows(len(y)) if np.all(w == 1) else None
    note = ""
    if rows is not None:
        note = sample_note(len(y))
        y, p, w = y[rows], p[rows], w[rows]
    auc = diagnostics.discrimination(y, p, w)
    cal = diagnostics.calibration(y, p, w)
    rows = [("AUC (c-statistic)", *auc.loc[0, ["estimate", "ci_low", "ci_high"]])]
    rows += [(f"Calibration {r.statistic}", r.estimate, r.ci_low, r.ci_high)
             for r in cal.table.itertuples()]
    table = pd.DataFrame({"Statistic": [r[0] for r in rows],
                          "Estimate (95% CI)": [
                              style.ci(*r[1:4], decimals=3)
                              for r in rows]})
    out = report.table(table, "performance", title="Performance of the adjusted model",
                       note="AUC with DeLong's interval; calibration intercept (ideal 0) and "
                            "slope (ideal 1) by logistic recalibration, in the same data."
                            + (f" {note}" if note else ""))
    roc = report.figure(figures.roc_plot(y, p, weights=w, auc=auc), "roc",
                        caption="ROC curve of the adjusted model")
    calib = report.figure(figures.calibration_plot(cal), "calibration",
                          caption="Observed against predicted risk, by tenth of predicted risk")
    return join(out, roc, calib)


def against_truth(report: ReportSession, result, subsample=None,
                  steps: dict[str, float] | None = None,
                  where: tuple[str | None, str | None] = (None, None)) -> Html:
    """For simulated data: adjusted estimates beside the true odds ratios of the simulation.

    Terms of the main model come from it; the sub-sample measures from the
    sub-sample model. An estimate the model's table withholds (``where``:
    the two tables' names in the report's release) is not drawn either.
    """
    from analysis import figures
    from analysis.simulate import true_effects

    if not report.survey.codebook.simulated:
        return Html("<p>Not simulated data: the true effects are unknown.</p>")
    # With a causal diagram each exposure has its own model (total effects); the true odds
    # ratios are conditional on every other cause, as in the model of all exposures together.
    def shown(fit, name):
        tidy = fit.tidy("mutual" if fit.info.get("by_exposure") else "adjusted")
        table = fit.table
        kept = drawn_rows(report.release, table, name) if name else table
        gone = set(table["label"]) - set(kept["label"])
        return tidy[~tidy["label"].isin(gone)]

    estimates = shown(result, where[0])
    if subsample is not None:
        extra = shown(subsample, where[1])
        estimates = pd.concat([estimates, extra[~extra["term"].isin(estimates["term"])]],
                              ignore_index=True)
    ax = figures.estimate_vs_truth(estimates, true_effects(), codebook=report.survey,
                                   steps=steps)
    return report.figure(ax, "truth", caption="Adjusted odds ratios against the true odds "
                                              "ratios of the simulation")


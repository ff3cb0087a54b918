"""Report sections driven by the analysis plan: each heads itself, or shows nothing.

A section that does not apply to the survey (no binary outcome for a
prevalence table, no continuous exposure for a dose-response curve, data
that are not simulated for a comparison with the truth) returns empty HTML,
so a report never has a heading with nothing under it. A model that failed
is shown as a notice with its reason, never as a table of numbers.
"""

from __future__ import annotations

import html
import re

import pandas as pd

from analysis import style
from analysis.errors import ReportError
from analysis.plan import PlannedFit
from analysis.report.causal import additive_interactions as additive_parts
from analysis.report.causal import causal_diagram as diagram_parts
from analysis.report.causal import sensitivity_columns
from analysis.report.disclosure import model_where
from analysis.report.methods import methods_text
from analysis.report.sections import drawn_rows, left_out
from analysis.report.session import Html, ReportSession, table_key


def heading(text: str, level: int = 2) -> str:
    """An ``<h2>`` whose id the table of contents links to (as nbconvert would make it)."""
    anchor = html.escape(re.sub(r"[^\w-]+", "-", text).strip("-") or "section")
    return (f'<h{level} id="{anchor}">{html.escape(text)}<a class="anchor-link" '
            f'href="#{anchor}">¶</a></h{level}>')


def join(*parts: Html | str) -> Html:
    return Html("".join(p.text if isinstance(p, Html) else p for p in parts))


def methods(report: ReportSession, *, models: str = "open") -> Html:
    """The methods paragraph: data, flow, models, adjustment, design, missing data, software.

    ``models="folded"``: a report that shows no model (data quality,
    questionnaires) keeps the models' paragraphs in a closed ``<details>``,
    so its reader meets its own sections first.
    """
    if models not in ("open", "folded"):
        raise ReportError(f"methods: models is {models!r}; use 'open' or 'folded'")
    fits = report.fits if report.has_fits else None
    paragraphs = methods_text(report.survey, report.plan, fits, counts=(report.n_read, report.n),
                              release=report.release, words=report.safe_words)
    report.results["methods"] = {"title": "Methods", "columns": ["paragraph"],
                                 "rows": [[p] for p in paragraphs]}
    report.results["analysis_plan"] = {"title": "Analysis plan", "columns": ["plan"],
                                       "rows": [[str(report.plan)]]}
    report.write_results()
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    modelled = [m for m in report.plan.models if m.model]
    if models == "folded" and modelled:
        # data and design first, the software last; the model paragraphs between them
        first = 1 + bool(report.plan.design)
        inner = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs[first:-1])
        body = ("".join(f"<p>{html.escape(p)}</p>" for p in paragraphs[:first])
                + f"<details><summary>How the {len(modelled)} model"
                + ("s were" if len(modelled) > 1 else " was")
                + " fitted (their results are in the report of the regression models)"
                + f"</summary>{inner}</details><p>{html.escape(paragraphs[-1])}</p>")
    return Html(heading("Methods") + f'<div class="backpain-methods">{body}</div>')


def characteristics(report: ReportSession) -> Html:
    """Table 1, by the first outcome with a few levels (binary, ordinal, categorical).

    Unweighted (:func:`analysis.describe.table_one`, with p-values and SMDs)
    unless the plan is design-based: then weighted percentages and means
    with design-based SEs (:func:`analysis.design_based.survey_table_one`)
    beside the unweighted n, small unweighted counts suppressed either way.
    Respondents not asked a question (skip logic) are counted apart from
    those missing it; an SMD that is not defined is a dash with the reason.
    """
    from analysis.describe import table_one_note
    from analysis.errors import BackpainError
    from analysis.report.disclosure import characteristics_grouping
    from analysis.report.tables import (
        register_table_one,
        released_design_table_one,
        released_table_one,
    )

    survey, release = report.survey, report.release
    by = characteristics_grouping(survey, report.plan)
    t1 = report.table_one(by)
    title = "Characteristics of respondents"
    if by is not None:
        label = survey.label(by)
        title += " by " + (label[0].lower() + label[1:] if label[1:2].islower() else label)
    design = report.plan.design is not None
    register_table_one(release, t1, by=by, numeric_n=design, percentages=not design)
    suppression = report.rule()
    notice = ""
    if report.plan.design:
        from analysis.design_based import survey_table_one

        names = list(dict.fromkeys(v for v in t1["variable"] if v != "n"))
        try:
            weighted = survey_table_one(survey, by=by, columns=names)
        except BackpainError as error:
            notice = (f"The design-based Table 1 could not be computed ({error}); the table "
                      "shows unweighted counts. ")
        else:
            frame = _shown_columns(released_design_table_one(release, t1, weighted, by=by))
            note = " ".join([_design_words(report.plan.design, survey),
                             _blank_words(t1, frame), suppression + " The rule applies to the "
                             "unweighted counts; a weighted estimate of a hidden count is "
                             "hidden with it."])
            return join(heading("Characteristics of respondents"),
                        report.table(frame, "characteristics", title=title, note=note))
    frame = _shown_columns(released_table_one(release, t1, by=by))
    note = notice + table_one_note(t1, base=_note_base(frame)) + " " + suppression
    return join(heading("Characteristics of respondents"),
                report.table(frame, "characteristics", title=title, note=note))


def _shown_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 1 without a Missing column that is blank on every row (nothing missing)."""
    if "Missing" in frame and not frame["Missing"].astype(str).str.strip().any():
        return frame.drop(columns="Missing")
    return frame


MISSING_WORDS = "Missing: respondents asked without a value. "
SMD_WORDS = (" SMD: standardised mean difference (absolute; mean of pairwise SMDs for more "
             "than two groups).")


def _note_base(frame: pd.DataFrame) -> str:
    """Table 1's footnote, less the meaning of a Missing or SMD column it does not show."""
    from analysis.describe.render import NOTE

    base = NOTE
    if "Missing" not in frame:
        base = base.replace(MISSING_WORDS, "")
    if "SMD" not in frame:
        base = base.replace(SMD_WORDS, "")
    return base


def _design_words(design: dict, survey) -> str:
    roles = {"weight": "weights", "stratum": "strata", "cluster": "clusters (PSUs)"}
    named = ", ".join(f"{roles[r]} {survey.label(n)}" for r, n in design.items() if n)
    return ("Weighted percentages and means with design-based standard errors (Taylor "
            f"linearisation, PSUs with replacement; {named}), as R's survey::svymean; n: "
            "unweighted respondents. Numeric variables: weighted mean (SE). P-values and "
            "SMDs are not shown: those of the unweighted table ignore the design.")


def _blank_words(t1: pd.DataFrame, frame: pd.DataFrame) -> str:
    from analysis.describe.render import NOT_ASKED_NOTE

    words = "Percentages are of respondents with a value." + (
        " Missing: respondents asked without a value (unweighted)." if "Missing" in frame
        else "")
    if "not_asked" in t1 and (t1["not_asked"] > 0).any():
        words += " " + NOT_ASKED_NOTE
    return words


def prevalence(report: ReportSession, factors=None) -> Html:
    """Prevalence of each binary outcome, overall and by each coded exposure."""
    from analysis.report.disclosure import prevalence_models
    from analysis.report.sections import prevalence_by

    parts = []
    for model, coded, where in prevalence_models(report.survey, report.plan, factors):
        key = "prevalence" if not parts else table_key("prevalence", model.outcome)
        parts += [heading(f"Prevalence of {model.label[0].lower() + model.label[1:]}"),
                  prevalence_by(report, model.outcome, coded, key=key, where=where,
                                design=report.plan.design is not None)]
    return join(*parts)


def model_sections(report: ReportSession) -> Html:
    """One section per planned model: notices, then the table and forest plot, or the failure."""
    from analysis import figures

    parts = []
    for fitted in report.fits:
        model = fitted.plan
        title = (f"{model.label}: {model.estimate}s" if model.model
                 else f"{model.label}: not modelled") + (" in the sub-sample"
                                                        if model.subsample else "")
        key = table_key("model", model.key)
        parts.append(heading(title[0].upper() + title[1:]))
        parts.append(report.notices(fitted.result, key, model) if fitted.result is not None
                     else Html(""))
        if fitted.failure is not None:
            parts.append(_failure(report, key, fitted))
            continue
        result = fitted.result
        numbers = _note_numbers(report, fitted)
        note = (f"{model.model[0].upper() + model.model[1:]} regression on {numbers['n']} "
                f"respondents with complete data"
                + (f" ({_events_words(model, numbers['events'])})"
                   if numbers["events"] is not None else "")
                + f"; {left_out(numbers['dropped'])} left out for a missing value. "
                + _adjusted_words(report, model) + " " + _interval_words(result))
        released = _model_table(report, fitted)
        shown, extra = sensitivity_columns(result.table, released, model, result,
                                           release=report.release, where=model_where(model))
        parts.append(report.table(shown, key,
                                  title=title[0].upper() + title[1:],
                                  note=" ".join([note, *extra, report.rule()])))
        if model.model == "proportional odds":
            parts.append(_brant(report, model, result))
        drawn = (drawn_rows(report.release, result.table, model_where(model))
                 if "outcome_level" not in result.table.columns else None)
        if drawn is not None and len(drawn):  # every estimate withheld: nothing to draw
            ax = figures.forest_plot(drawn, show_counts=False)
            parts.append(report.figure(ax, table_key("forest", model.key),
                                       caption=f"Crude and adjusted {model.estimate}s "
                                               "(log scale)"))
        if fitted.effects is not None:  # standardised PRs and PDs beside the ORs
            from analysis.report.effects import effects_section

            parts.append(effects_section(report, fitted, released))
    return join(*parts)


def _model_table(report: ReportSession, fitted) -> pd.DataFrame:
    """A planned model's table as the reader sees it, from the report's release."""
    from analysis.report.disclosure import outcome_levels, register_model, table_population
    from analysis.report.tables import released_model_table

    model, table = fitted.plan, fitted.result.table
    register_model(report.release, report.survey, fitted, report.n)
    levels = (outcome_levels(report.survey, model.outcome)
              if report.survey.data[model.outcome].dtype == "category" else ["(value)"])
    events = "binary" if model.kind == "binary" else (
        "category" if "outcome_level" in table.columns else "none")
    return released_model_table(report.release, table, where=model_where(model),
                                outcome=model.outcome, outcome_levels=levels,
                                population=table_population(fitted), events=events)


def _note_numbers(report: ReportSession, fitted) -> dict:
    """The n, events and rows left out a model's note prints, as the release shows them."""
    from analysis.privacy import cell_key
    from analysis.report.disclosure import model_population, outcome_levels

    info, model, release = fitted.result.info, fitted.plan, report.release
    total = cell_key(model_population(model))
    out = {"n": info.get("n"), "events": None, "dropped": info.get("n_dropped", 0)}
    if isinstance(info.get("n"), int | float):
        out["n"] = release.label(total)
        left = cell_key(f"{model_population(model)}:left out")
        if left in release:
            out["dropped"] = release.label(left)
    if isinstance(info.get("events"), int | float):
        if model.kind == "binary":
            out["events"] = release.label(total.plus(model.outcome,
                                                     outcome_levels(report.survey,
                                                                    model.outcome)[-1]))
        else:  # episodes in total: not a count of respondents
            out["events"] = f"{int(info['events']):,}"
    return out


def _brant(report: ReportSession, model, result) -> Html:
    """Brant's test of proportional odds, overall and per variable, when it was estimable."""
    from analysis.describe.render import format_p

    tests = getattr(result, "tests", None)
    if not isinstance(tests, pd.DataFrame) or tests.empty:
        return Html("")
    tests = tests[tests["test"].str.startswith("Brant")]
    if tests.empty:
        return Html("")
    shown = pd.DataFrame({"Term": ["All terms" if v == "overall" else report.survey.label(v)
                                   for v in tests["variable"]],
                          "Chi-squared": tests["statistic"].map(lambda v: style.number(v, 2)),
                          "df": tests["df"].map(lambda v: f"{int(v)}"),
                          "p": tests["p_value"].map(format_p)})
    return report.table(shown, table_key("brant", model.key),
                        title="Proportional odds: Brant's test",
                        note="A small p says that a variable's odds ratio differs between the "
                             "cut-points of the scale, so one odds ratio per variable "
                             "(proportional odds) summarises it poorly.")


def _events_words(model, events: str) -> str:
    # a count outcome's events are its sum, not respondents: "(426 in total)" beside
    # "400 respondents" read as 26 rows gone missing
    return f"their counts sum to {events}" if model.kind == "count" else f"{events} events"


def causal_diagram(report: ReportSession) -> Html:
    """The codebook's causal diagram and each exposure's adjustment set, when declared."""
    parts = diagram_parts(report)
    return join(heading("Causal diagram"), *parts) if parts else Html("")


def additive_interaction(report: ReportSession) -> Html:
    """RERI, AP and S of each declared interaction of two factors (logistic models)."""
    parts = additive_parts(report)
    return join(heading("Interaction on the additive scale"), *parts) if parts else Html("")


def _adjusted_words(report: ReportSession, model) -> str:
    if model.adjustment_sets:
        return ("Each exposure in a model of its own, adjusted for its set from the causal "
                "diagram (see the causal diagram section); n and events are of its model.")
    others = " and the other exposures" if len(model.exposures) > 1 else ""
    if model.adjust_for:
        return ("Adjusted for " + ", ".join(report.survey.label(v) for v in model.adjust_for)
                + others + ".")
    return "Adjusted for the other exposures." if others else "Crude: no adjustment set."


def _interval_words(result) -> str:
    ci = result.info.get("ci", "Wald 95%")
    cov = result.info.get("cov_type", "model")
    words = f"{ci} intervals"
    if cov not in ("model", None):
        words += f", {cov} standard errors"
    if result.info.get("firth"):
        words += ", p-values by penalised likelihood ratio (as logistf)"
    return words[0].upper() + words[1:] + "."


def _failure(report: ReportSession, key: str, fitted: PlannedFit) -> Html:
    report.results[f"{key}_failure"] = {"title": "Model not fitted", "columns": ["reason"],
                                        "rows": [[fitted.failure]]}
    report.write_results()
    return Html('<div class="backpain-notice" role="note"><p>This model could not be fitted'
                f"</p><ul><li>{html.escape(fitted.failure)}</li></ul></div>")


def first_logistic(report: ReportSession) -> PlannedFit | None:
    """The first main (not sub-sample) logistic model that was fitted, if any."""
    for fitted in report.fits:
        if (fitted.plan.model in ("logistic", "Firth logistic") and not fitted.plan.subsample
                and fitted.failure is None):
            return fitted
    return None


def dose_responses(report: ReportSession) -> Html:
    """Dose-response curves of the plan's continuous exposures, for the first binary outcome."""
    from analysis.report.dose_response import dose_responses as curves

    fitted = first_logistic(report)
    if "dose_response" not in report.plan.sections or fitted is None:
        return Html("")
    names = [v for v in report.plan.continuous if v in fitted.plan.exposures]
    if not names:
        return Html("")
    return join(heading("Dose-response"),
                "<p>Odds ratios along each continuous exposure, against its median, adjusted "
                "for the confounders.</p>",
                curves(report, fitted.plan.outcome, names, fitted.plan.adjust_for,
                       fitted))


def performance(report: ReportSession) -> Html:
    """Discrimination and calibration of the first logistic model, when there is one."""
    from analysis.report.sections import performance as checks

    fitted = first_logistic(report)
    if fitted is None:
        return Html("")
    return join(heading("Model performance"), checks(report, fitted.result))


def truth(report: ReportSession) -> Html:
    """For a survey the codebook declares simulated: estimates beside the true values."""
    from analysis.report.sections import against_truth

    fitted = first_logistic(report)
    if not report.survey.codebook.simulated or fitted is None:
        return Html("")
    sub = next((f for f in report.fits if f.plan.subsample and f.failure is None
                and f.plan.outcome == fitted.plan.outcome), None)
    # Each estimate is per its model's step; the sub-sample model adds its own measures.
    steps = {**(sub.plan.per if sub else {}), **fitted.plan.per}
    sub_plan = sub.plan if sub else None
    sub = sub.result if sub else None
    return join(heading("Estimates and the truth"),
                "<p>The data are simulated, so the true odds ratios are known: a good analysis "
                "recovers them."
                + (" The true odds ratios hold with every other cause in the model, so they "
                   "are compared with the model of all exposures together, not with each "
                   "exposure's own model of the causal diagram (a total effect, through its "
                   "mediators)." if fitted.plan.adjustment_sets else "") + "</p>",
                against_truth(report, fitted.result, sub, steps=steps,
                              where=(model_where(fitted.plan),
                                     model_where(sub_plan) if sub_plan else None)))


def plan_table(report: ReportSession) -> Html:
    """The plan in a table: outcome, model, exposures, adjustment, rows."""
    rows = [{"Outcome": m.label + (" (sub-sample)" if m.subsample else ""),
             "Model": m.model or "none", "Exposures": ", ".join(report.survey.label(v)
                                                                for v in m.exposures),
             "Adjusted for": ("each exposure for its own set from the causal diagram, among: "
                              if m.adjustment_sets else "")
             + (", ".join(report.survey.label(v) for v in m.adjust_for) or "nothing")}
            for m in report.plan.models]
    return report.table(pd.DataFrame(rows), "plan", title="What the report fits")


__all__ = ["additive_interaction", "causal_diagram", "characteristics", "dose_responses",
           "first_logistic", "heading", "methods", "model_sections", "performance",
           "plan_table", "prevalence", "truth"]

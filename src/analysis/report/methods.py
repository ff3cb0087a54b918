"""The methods paragraph at the top of each report, written from the plan and the codebook.

Every word about the data comes from the codebook's labels and the plan's
decisions; nothing names the example survey.
"""

from __future__ import annotations

from analysis import style
from analysis.plan import AnalysisPlan, PlannedFit
from analysis.report.provenance import package_versions


def methods_text(survey, plan: AnalysisPlan, fits: list[PlannedFit] | None = None,
                 counts: tuple[int, int] | None = None, *, release=None,
                 words=None) -> list[str]:
    """Sentences (one paragraph each) saying what was analysed and how.

    ``counts``: (rows read, rows analysed) when ``survey`` is a sample of them.
    ``release``: the report's :class:`~analysis.privacy.Release`; then every
    count of the text (rows read, excluded and analysed, each model's
    complete cases) is its released cell, read as in the participant flow and
    the model tables (``"<5"``, ``"suppressed"``, rounded), and ``words``
    (e.g. :meth:`ReportSession.safe_words`) rewrites the plan's reasons,
    whose counts (a Firth model's few events) the release does not hold; it
    is called with each reason and its model.
    """
    rewrite = words or (lambda text, model: text)
    cb = survey.codebook
    n_read, n = counts or (survey.accounts.n_read, len(survey.data))
    source = cb.description or f"the survey {cb.name}"
    shown = _counts(release, n_read, n)
    # "Rows read: 400": a hidden count ("<5", "suppressed") reads as it does in the flow
    paragraphs = [f"Data: {source.rstrip('.')}. Rows read: {shown['read']}; analysed: "
                  f"{shown['analysed']}"
                  + (f"; excluded for breaking a codebook rule: {shown['excluded']} (see the "
                     "participant flow)." if n_read > n else ".")]
    if plan.design:
        roles = ", ".join(f"{survey.label(name)} as {role}"
                          for role, name in plan.design.items() if name)
        paragraphs.append(f"Survey design: {roles}. Proportions and logistic models are "
                          "design-based (Taylor linearisation), with t intervals on the "
                          "design's degrees of freedom (PSUs minus strata).")
    by_model = {f.plan.key: f for f in fits or []}
    said: list[str] = []  # the previous model's sentences: a sub-sample model repeats few
    for model in plan.models:
        title = model.label + (" (sub-sample model)" if model.subsample else "")
        if not model.model:  # an outcome no model fits: why, and nothing about a fit
            paragraphs.append(f"{title}: not modelled. " + " ".join(model.reasons))
            continue
        words = [f"{title}: {_model_words(model, survey)}"]
        if model.exposures and not (model.subsample and said):  # its reasons name them
            words.append("Exposures: " + "; ".join(survey.label(v) for v in model.exposures)
                         + ".")
        if model.adjustment_sets:  # the plan's reasons say where the sets come from
            words.append("Crude estimates are of each exposure alone, in the same rows.")
        elif model.adjust_for:
            words.append("Adjusted for " + "; ".join(survey.label(v) for v in model.adjust_for)
                         + (" and the other exposures" if len(model.exposures) > 1 else "")
                         + "; crude estimates are of each exposure alone, in the same rows.")
        elif len(model.exposures) > 1:
            words.append("No adjustment set: each adjusted estimate is adjusted for the other "
                         "exposures only; crude estimates are of each exposure alone.")
        else:
            words.append("No adjustment set: the estimate is crude.")
        words += [f"{survey.label(v)} is left out: {why}." for v, why in model.dropped.items()]
        scaled = [f"{survey.label(v)} {model.per_text[v]}" for v in model.per
                  if v in model.exposures + model.adjust_for]
        if scaled:
            words.append("Steps of continuous variables: " + "; ".join(scaled) + ".")
        fitted = by_model.get(model.key)
        if model.missing == "mice":
            words.append("Missing values were multiply imputed by chained equations and the "
                         "estimates pooled by Rubin's rules.")
        elif fitted is not None and fitted.result is not None:
            info = fitted.result.info
            words.append("Complete-case analysis: respondents with every model variable: "
                         f"{_model_n(release, model, info, n)}.")
        elif release is None:
            words.append("Complete-case analysis: respondents with every model variable: "
                         f"{model.n_complete} of {model.n_read}.")
        words += [rewrite(r, model) for r in model.reasons]
        if fitted is not None and getattr(fitted, "effects", None) is not None:
            words.append(_standardisation_words(model))
        if model.adjustment_reasons:
            words.append(_adjustment_words(model))
        words += _sensitivity_words(model)
        if model.subsample and said:
            repeated = [w for w in words[1:] if w in said]
            words = [words[0]] + [w for w in words[1:] if w not in said]
            if repeated:
                words.append("Otherwise as the model above.")
        said = words
        paragraphs.append(" ".join(words))
    versions = package_versions()
    paragraphs.append("Software: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".")
    return paragraphs


def _counts(release, n_read: int, n: int) -> dict[str, str]:
    """Rows read, excluded and analysed as the text shows them (the flow's released cells)."""
    if release is None:
        return {"read": style.count(n_read), "analysed": style.count(n),
                "excluded": style.count(n_read - n)}
    from analysis.privacy import cell_key
    from analysis.report.disclosure import EXCLUDED, POPULATION, READ

    return {"read": release.label(cell_key(READ)), "analysed": release.label(
        cell_key(POPULATION)), "excluded": release.label(EXCLUDED) if n_read > n else "0"}


def _model_n(release, model, info: dict, n: int) -> str:
    """"n of N": a model's complete cases of the analysed respondents, as released."""
    if release is None:
        return f"{info.get('n')} of {info.get('n_read')}"
    from analysis.privacy import cell_key
    from analysis.report.disclosure import POPULATION, model_population

    total = cell_key(model_population(model))
    of = (release.label(cell_key(POPULATION)) if info.get("n_read") == n
          else style.count(info.get("n_read")))
    return f"{release.label(total) if total in release else style.count(info.get('n'))} of {of}"


# Beyond this many exposures, each one's set and reason read as a wall of text: the
# adjustment-set table beside the causal diagram says them, one row per exposure.
WORDED_SETS = 3


def _adjustment_words(model) -> str:
    """Each exposure's adjustment set and why, or where the table of them is."""
    if len(model.adjustment_reasons) <= WORDED_SETS:
        return "; ".join(r.rstrip(".") for r in model.adjustment_reasons.values()) + "."
    return ("Each exposure's adjustment set, and why, is in the table 'Adjustment set of each "
            "exposure' beside the causal diagram, with the regression models.")


def _standardisation_words(model) -> str:
    """How the prevalence ratios and differences were estimated (models.standardise)."""
    base = ("Prevalence ratios (PR) and differences (PD) were estimated by marginal "
            "standardisation (g-computation) of the "
            + ("crude and adjusted " if model.adjust_for or len(model.exposures) > 1 else "")
            + "logistic models: each respondent's probability was predicted under each level "
            "of an exposure, keeping their other covariates, ")
    if model.design:
        return base + ("and averaged with the survey weights; 95% intervals by the delta "
                       "method (PR on the log scale) with a design-based (Taylor-linearised) "
                       "variance that combines the averages with the model's weighted "
                       "estimating equations, and t on the model's residual degrees of "
                       "freedom (PSUs minus strata, minus the coefficients, plus one).")
    return base + ("and averaged over the respondents; 95% intervals by the delta method "
                   "(PR on the log scale), conditional on the covariates.")


def _sensitivity_words(model) -> list[str]:
    """E-values, q-values and additive interaction, as the model tables show them."""
    words = []
    if model.model in ("logistic", "Firth logistic", "conditional logistic", "Poisson",
                       "negative binomial"):
        # the conversion the model's table applies (report.causal.sensitivity_columns)
        if model.model == "conditional logistic":
            how = "in matched case-control sets each odds ratio is taken as a risk ratio"
        elif model.model in ("Poisson", "negative binomial"):
            how = "rate ratios are taken as risk ratios"
        else:
            how = ("odds ratios of an outcome of 15% or more are first converted to risk "
                   "ratios as sqrt(OR), of a rarer outcome taken as risk ratios")
        words.append("Sensitivity to unmeasured confounding: E-values (VanderWeele & Ding 2017) "
                     f"of each adjusted estimate and of its interval limit nearer 1; {how}.")
    if len(model.exposures) > 1:
        words.append("With three or more adjusted tests in a table, Benjamini-Hochberg q-values "
                     "(false discovery rate) are shown beside the p-values.")
    if model.interactions and model.model in ("logistic", "Firth logistic"):
        words.append("Declared interactions are also reported on the additive scale: RERI, "
                     "attributable proportion and synergy index with delta-method intervals "
                     "(Hosmer & Lemeshow 1992; Knol & VanderWeele 2012).")
    return words


def _model_words(model, survey=None) -> str:
    what = {"logistic": "logistic regression by maximum likelihood, odds ratios with Wald 95% "
                        "intervals.",
            "Firth logistic": "logistic regression by Firth's penalised likelihood, odds "
                              "ratios with profile penalised-likelihood 95% intervals and "
                              "penalised likelihood-ratio p-values (as logistf).",
            "conditional logistic": "conditional logistic regression within matched sets, "
                                    "odds ratios with Wald 95% intervals.",
            "Poisson": "Poisson regression, incidence rate ratios with Wald 95% intervals.",
            "negative binomial": "negative binomial regression, incidence rate ratios with "
                                 "Wald 95% intervals.",
            "proportional odds": "proportional-odds (ordinal logistic) regression, odds ratios "
                                 "of a higher category, with Wald 95% intervals.",
            "multinomial": "multinomial logistic regression, relative risk ratios of each "
                           "category against the reference, with Wald 95% intervals."}
    text = what.get(model.model, "described only.")
    if model.design:
        text = text.replace("by maximum likelihood", "weighted by the survey design")
    if model.event:
        text = text.rstrip(".") + f"; the event is {model.event!r}."
    if model.model == "multinomial" and survey is not None:
        levels = list(survey.codebook[model.outcome].level_labels.values())
        text = text.replace("against the reference", f"against {levels[0]!r}")
    if model.model == "proportional odds" and survey is not None:
        levels = list(survey.codebook[model.outcome].level_labels.values())
        text = (text.rstrip(".") + f" (from {levels[0]!r} to {levels[-1]!r}); the "
                "proportional-odds assumption is checked by Brant's test.")
    return text


__all__ = ["methods_text"]

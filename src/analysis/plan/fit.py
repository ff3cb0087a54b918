"""Fitting what a plan says, where a model that fails is a notice, never an abort."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

from analysis.errors import BackpainError
from analysis.models import conditional_logistic, counts, logistic, multinomial, ordinal
from analysis.models.result import ModelResult
from analysis.plan.causal import fit_by_adjustment_set
from analysis.plan.spec import AnalysisPlan, ModelPlan

IMPUTABLE = ("logistic", "Firth logistic", "Poisson", "negative binomial")


@dataclass
class PlannedFit:
    """One planned model and what became of it: a result, or the reason it failed."""

    plan: ModelPlan
    result: ModelResult | None
    failure: str | None = None
    effects: ModelResult | None = None  # standardised prevalence ratios and differences

    @property
    def ok(self) -> bool:
        """A result whose adjusted model converged: one whose numbers may be shown."""
        if self.result is None:
            return False
        stats = self.result.fit_statistics
        # "adjusted: <exposure>": each exposure's own model under a causal diagram
        adjusted = stats[stats["model"].str.startswith("adjusted")]
        return bool(adjusted["converged"].all()) if len(adjusted) else True


def fit_model(survey, model: ModelPlan, fitter=None) -> PlannedFit:
    """Fit one planned model; our errors become :attr:`PlannedFit.failure`.

    ``fitter(survey, model, impute)`` replaces the in-memory fit (the
    out-of-core report fits on DuckDB aggregates, :mod:`analysis.scale.planned`).

    The survey's codebook is given the plan's ``per`` steps, so each
    continuous exposure is reported per its stated step. Warnings of the fit
    are kept as notices of the result, not printed into the report.
    """
    if not model.model:
        return PlannedFit(model, None, model.reasons[-1] if model.reasons else "no model")
    scaled = _with_steps(survey, model.per)
    # Multiple imputation is built for the logistic and count families.
    impute = ("mice" if model.missing == "mice" and model.model in IMPUTABLE else None)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = (fitter or _fit)(scaled, model, impute)
    except BackpainError as exc:
        return PlannedFit(model, None, str(exc))
    for w in caught:
        # Results carry their own non-convergence notices; warnings add what they lack
        # (sparse and separated levels found before the fit).
        text = str(w.message)
        if issubclass(w.category, UserWarning) and "did not converge" not in text:
            result.notify(_notice_kind(text), text)
    if model.subsample:
        # The sub-sample model is restricted to those measured by design, not by loss.
        result.notices[:] = [n for n in result.notices
                             if not (n.kind == "dropped rows" and "impute" in n.message)]
    for name, why in model.dropped.items():
        result.notify("aliased", f"{survey.label(name)} is left out: {why}.")
    for reason in model.reasons:
        result.notify("method", reason)
    fitted = PlannedFit(model, result)
    if not fitted.ok:
        fitted.failure = ("The adjusted model did not converge, so its estimates are not "
                          "shown; the notes above say why.")
    elif model.measures:
        fitted.effects = _effects(scaled, result, impute)
    return fitted


def _effects(survey, result: ModelResult, impute: str | None) -> ModelResult | None:
    """Standardised prevalence ratios and differences of a fitted logistic model, or None.

    Why not, when not: a notice on the odds-ratio result (pooled imputed fits
    are not standardised here; a fit that cannot be is said so).
    """
    from analysis.models.standardise import stack_standardised, standardise

    if impute is not None:
        result.notify("method", "prevalence ratios and differences are not computed under "
                      "multiple imputation; the odds ratios are pooled by Rubin's rules.")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the logistic fit's warnings are already notices
            if result.parts:  # a causal diagram's models: each exposure in its own model
                return stack_standardised([standardise(part, survey)
                                           for part in result.parts.values()])
            return standardise(result, survey)
    except BackpainError as exc:
        result.notify("method", f"prevalence ratios and differences not computed: {exc}")
        return None


def _notice_kind(message: str) -> str:
    text = message.lower()
    for word, kind in (("converge", "non-convergence"), ("separation", "separation"),
                       ("sparse", "sparse level"), ("test", "test")):
        if word in text:
            return kind
    return "method"


def fit_plan(survey, plan: AnalysisPlan, fitter=None) -> list[PlannedFit]:
    """Every model of ``plan``, each fitted or failed on its own (``fitter``: see fit_model)."""
    return [fit_model(survey, m, fitter) for m in plan.models]


def fit_in_memory(survey, model: ModelPlan, impute: str | None = None) -> ModelResult:
    """The in-memory fit of one planned model (what :func:`fit_model` uses by default)."""
    return _fit(survey, model, impute)


def _fit(survey, model: ModelPlan, impute: str | None, crude: bool = True) -> ModelResult:
    if model.adjustment_sets:  # from a causal diagram: each exposure in a model of its own
        return fit_by_adjustment_set(
            model, lambda m, crude=True: _fit(survey, m, impute, crude=crude or bool(impute)))
    common = dict(outcome=model.outcome, exposures=model.exposures, adjust_for=model.adjust_for)
    if model.model in ("logistic", "Firth logistic"):
        return logistic(survey, **common, interactions=model.interactions,
                        firth=model.model == "Firth logistic", design=model.design,
                        impute=impute, crude=crude)
    if model.model == "conditional logistic":
        return conditional_logistic(survey, **common, strata=model.match)
    if model.model in ("Poisson", "negative binomial"):
        return counts(survey, **common, family="poisson" if model.model == "Poisson"
                      else "negbin", exposure_time=model.exposure_time, impute=impute)
    if model.model == "proportional odds":
        return ordinal(survey, **common)
    return multinomial(survey, **common)


def _with_steps(survey, per: dict[str, float]):
    if not per:
        return survey
    cb = survey.codebook
    changed = [cb[name].model_copy(update={"per": step}) for name, step in per.items()
               if cb[name].per != step]
    if not changed:
        return survey
    return dataclasses.replace(survey, codebook=cb.with_variables(changed))


__all__ = ["PlannedFit", "fit_in_memory", "fit_model", "fit_plan"]

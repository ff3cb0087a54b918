"""The models of an analysis plan fitted on a :class:`~analysis.scale.lazy.LazySurvey`.

A logistic model without a survey design, interactions, imputation or
Firth's penalty is fitted exactly on all rows on DuckDB covariate patterns,
when its variables are all coded or the data are no larger than the
report's sample (a continuous covariate makes nearly every row a pattern).
Any other model (design-based, Firth, with interactions, multiply imputed,
counts, ordinal; a logistic model with continuous covariates past the
sample's size) is fitted in memory on the report's stated random sample, and
its result carries a notice that says so.
"""

from __future__ import annotations

from analysis.plan import ModelPlan, fit_in_memory
from analysis.scale.sql import CODED


def aggregate_form(model: ModelPlan, impute: str | None) -> bool:
    """Whether the planned model is fitted on DuckDB aggregates (else on the sample)."""
    # Firth's profile intervals and penalised LR tests need the rows; Firth is for
    # small samples anyway
    return (model.model == "logistic" and not model.design
            and not model.interactions and impute is None)


def lazy_fitter(lazy, sample_size: int):
    """A ``fitter`` for :func:`analysis.plan.fit_plan`: aggregates where they exist, else a sample.

    ``survey`` given to the fitter is the report's sample, with the plan's
    ``per`` steps in its codebook, which the aggregate fits use too.
    """

    def fit(survey, model: ModelPlan, impute: str | None = None):
        if model.adjustment_sets:  # a causal diagram: each exposure in a model of its own
            from analysis.plan.causal import fit_by_adjustment_set

            return fit_by_adjustment_set(model, lambda m: fit(survey, m, impute))
        variables = [*model.exposures, *model.adjust_for]
        continuous = [v for v in variables if survey.codebook[v].type not in CODED]
        # With a continuous covariate nearly every row is its own pattern: past the
        # sample's size the pattern table would not fit in memory.
        if aggregate_form(model, impute) and not (continuous and lazy.n_analysed > sample_size):
            return lazy.logistic(model.outcome, model.exposures, model.adjust_for,
                                 codebook=survey.codebook)
        result = fit_in_memory(survey, model, impute)
        if lazy.n_analysed > len(survey.data):
            result.notify("method", f"Fitted on a random sample of {len(survey.data):,} of "
                          f"the {lazy.n_analysed:,} respondents analysed: this model has no "
                          "aggregate form in the out-of-core report.")
        return result

    return fit

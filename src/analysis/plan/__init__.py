"""The analysis plan: what a report fits, decided from the codebook and the data.

>>> from analysis.plan import plan, fit_plan
>>> analysis_plan = plan(survey)  # doctest: +SKIP
>>> print(analysis_plan)  # doctest: +SKIP
>>> fits = fit_plan(survey, analysis_plan)  # doctest: +SKIP
"""

from analysis.plan.build import plan
from analysis.plan.fit import PlannedFit, fit_in_memory, fit_model, fit_plan
from analysis.plan.spec import MODELS, AnalysisPlan, ModelPlan

__all__ = ["MODELS", "AnalysisPlan", "ModelPlan", "PlannedFit", "fit_in_memory", "fit_model",
           "fit_plan", "plan"]

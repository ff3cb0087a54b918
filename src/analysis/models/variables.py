"""Which variables a model uses: the arguments, else the codebook's roles."""

from __future__ import annotations

from analysis.errors import ModelError

RULE_MISSING = "missing value in model variable"


def model_variables(survey, outcome: str | None, exposures, adjust_for
                    ) -> tuple[str, list[str], list[str]]:
    """Outcome, exposures and adjustment set, from the arguments or the codebook roles.

    ``adjust_for=None`` means the codebook's confounders; a variable that is an
    exposure is never also adjusted for.
    """
    outcome = outcome or single_outcome(survey)
    exposures = variable_names(exposures, survey.variables("exposure"), "exposures")
    if adjust_for is None:
        adjust_for = [c for c in survey.variables("confounder") if c not in exposures]
    adjust_for = [c for c in variable_names(adjust_for, [], "adjust_for") if c not in exposures]
    return outcome, exposures, adjust_for


def single_outcome(survey) -> str:
    outcomes = survey.variables("outcome")
    if len(outcomes) != 1:
        raise ModelError(f"Name the outcome: the codebook gives {len(outcomes)} variables role "
                         f"outcome ({', '.join(outcomes) or 'none'}).")
    return outcomes[0]


def variable_names(given, default, what: str) -> list[str]:
    if given is None:
        return list(default)
    if isinstance(given, str):
        given = [g.strip() for g in given.split(",") if g.strip()]
    return list(dict.fromkeys(given))


__all__ = ["RULE_MISSING", "model_variables", "single_outcome", "variable_names"]

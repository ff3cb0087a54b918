"""The true logistic model of back-muscle spasm in the simulated survey.

Every term of the data-generating model is listed once in :data:`EFFECTS`;
:func:`true_effects` turns the list into the tidy table that reports put
beside their estimates, and :func:`linear_predictor` uses the very same list
to draw the outcome, so the two cannot drift apart.

A term is either a level of a coded variable (``level`` is its numeric code,
the contrast is against the codebook's reference level), a numeric variable
(``per`` is the step the odds ratio refers to; a negative step such as
``-10`` cm of sit-and-reach means "per 10 cm *less*") or an interaction of two
levels (``variable`` and ``level`` joined by ``:``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# log-odds of spasm for a 0-valued design row; chosen so that about 30% of the
# simulated adults report a spasm in the last 12 months (measured: 29-31%).
INTERCEPT = -3.3


@dataclass(frozen=True)
class Effect:
    variable: str
    level: int | str | None
    odds_ratio: float
    label: str
    per: float | None = None
    unit: str | None = None
    role: str = "exposure"
    note: str = ""

    @property
    def term(self) -> str:
        return self.variable if self.level is None else f"{self.variable}[{self.level}]"


EFFECTS: tuple[Effect, ...] = (
    # confounders
    Effect("age", None, 1.15, "Age, per 10 years", 10, "years", "confounder"),
    Effect("sex", 2, 0.85, "Sex: Male vs Female", role="confounder"),
    Effect("bmi", None, 1.20, "BMI, per 5 kg/m²", 5, "kg/m²", "confounder"),
    Effect("smoking", 2, 1.10, "Smoking: Former vs Never", role="confounder"),
    Effect("smoking", 3, 1.35, "Smoking: Current vs Never", role="confounder"),
    Effect("occupation", 2, 1.20, "Occupation: Standing vs Desk", role="confounder"),
    Effect("occupation", 3, 1.50, "Occupation: Manual handling vs Desk", role="confounder"),
    Effect("occupation", 4, 1.60, "Occupation: Professional driver vs Desk", role="confounder"),
    # trauma and strain
    Effect("rta_ever", 1, 1.40, "Road-traffic accident ever: Yes vs No"),
    Effect("rta_12m", 1, 2.20, "Road-traffic accident in last 12 months: Yes vs No",
           note="on top of rta_ever, which a recent accident implies"),
    Effect("sport", 1, 1.80, "Main sport: Weightlifting vs None"),
    Effect("sport", 2, 1.50, "Main sport: Golf vs None"),
    Effect("sport", 3, 2.00, "Main sport: American football vs None"),
    Effect("sport", 4, 1.60, "Main sport: Basketball vs None"),
    Effect("sport", 5, 1.40, "Main sport: Baseball vs None"),
    Effect("sport", 6, 1.20, "Main sport: Running vs None"),
    Effect("sport", 7, 1.00, "Main sport: Swimming vs None", note="true null"),
    Effect("sport_hours", None, 1.00, "Sport, per hour a week", 1, "h/week",
           note="true null: the kind of sport matters, not the dose"),
    Effect("heavy_lifting", 1, 1.50, "Heavy lifting at work: Yes vs No",
           note="with good posture; see the interaction"),
    # posture
    Effect("hours_sitting", None, 1.00, "Sitting, per hour a day", 1, "h/day",
           note="true null given posture; crude OR differs through occupation"),
    Effect("posture", 2, 1.30, "Self-rated posture: Fair vs Good",
           note="without heavy lifting; see the interaction"),
    Effect("posture", 3, 1.80, "Self-rated posture: Poor vs Good",
           note="without heavy lifting; see the interaction"),
    Effect("heavy_lifting:posture", "1:2", 1.00,
           "Heavy lifting × Fair posture (interaction)", role="interaction", note="true null"),
    Effect("heavy_lifting:posture", "1:3", 1.60,
           "Heavy lifting × Poor posture (interaction)", role="interaction"),
    Effect("workstation", 2, 1.00, "Workstation: Not adjusted vs Ergonomic",
           note="true null given posture: acts only through posture"),
    Effect("workstation", 3, 1.00, "Workstation: No fixed workstation vs Ergonomic",
           note="true null given posture: acts only through posture"),
    Effect("lordosis_angle", None, 1.20, "Lumbar lordosis, per 10 degrees more", 10, "degrees",
           note="exam sub-sample"),
    Effect("pelvic_tilt", None, 1.15, "Anterior pelvic tilt, per 5 degrees more", 5, "degrees",
           note="exam sub-sample"),
    # joint and muscle dysfunction
    Effect("segmental_mobility", 1, 1.70, "Segmental mobility: Hypomobile vs Normal",
           note="exam sub-sample"),
    Effect("sit_reach_cm", None, 1.30, "Sit-and-reach, per 10 cm less (tight hamstrings)",
           -10, "cm"),
    Effect("plank_s", None, 1.25, "Plank hold, per 30 s shorter (weak abdominals)", -30, "s"),
    Effect("biering_sorensen_s", None, 1.20,
           "Biering-Sørensen hold, per 30 s shorter (weak glutes and back extensors)", -30, "s"),
)


def true_effects() -> pd.DataFrame:
    """The true adjusted odds ratios of the simulated survey, one row per model term.

    The odds ratios are *conditional* on every other term of the true model
    (all rows of this table): a model that leaves a term out, or adds a
    mediator, estimates something else. Numeric terms refer to a step of
    ``per`` units (negative: per ``|per|`` units less), so the log-odds ratio
    per unit of the column is ``true_log_odds_ratio / per``.

    The values are chosen to be plausible for the back-pain literature, not
    taken from one study: risk factors mostly at OR 1.2-2.5, several exact
    nulls and one interaction. ``tests/test_simulate.py`` checks that the
    simulator draws from exactly this table (prevalence and a large-sample
    fit) and that every level named here is a codebook level.

    Returns
    -------
    DataFrame
        ``term, variable, level, label, role, per, unit, true_odds_ratio,
        true_log_odds_ratio, log_odds_ratio_per_unit, null, note``; ``level``
        is the codebook code of the level (``"1:3"`` for an interaction), NA
        for a numeric term.

    Examples
    --------
    >>> from analysis.simulate import true_effects
    >>> true_effects().set_index("term").loc["posture[3]", "true_odds_ratio"]
    np.float64(1.8)
    """
    rows = []
    for e in EFFECTS:
        log_or = float(np.log(e.odds_ratio))
        rows.append({
            "term": e.term,
            "variable": e.variable,
            "level": None if e.level is None else str(e.level),
            "label": e.label,
            "role": e.role,
            "per": e.per,
            "unit": e.unit,
            "true_odds_ratio": e.odds_ratio,
            "true_log_odds_ratio": log_or,
            "log_odds_ratio_per_unit": log_or / e.per if e.per else np.nan,
            "null": e.odds_ratio == 1.0,
            "note": e.note,
        })
    table = pd.DataFrame(rows)
    table["level"] = table["level"].astype("string")
    table["per"] = table["per"].astype("float64")
    table["unit"] = table["unit"].astype("string")
    return table


def design_column(values: dict[str, np.ndarray], effect: Effect) -> np.ndarray:
    """The column of the true design matrix for one effect, from clean numeric codes."""
    if effect.level is None:
        return np.asarray(values[effect.variable], dtype=np.float64) / effect.per
    if ":" in effect.variable:
        (var_a, var_b), (code_a, code_b) = effect.variable.split(":"), str(effect.level).split(":")
        return ((values[var_a] == int(code_a)) & (values[var_b] == int(code_b))).astype(np.float64)
    return (values[effect.variable] == effect.level).astype(np.float64)


def linear_predictor(values: dict[str, np.ndarray]) -> np.ndarray:
    """Log-odds of spasm for each respondent: ``INTERCEPT + sum(log OR x design column)``."""
    eta = np.full(len(values["age"]), INTERCEPT)
    for e in EFFECTS:
        eta += np.log(e.odds_ratio) * design_column(values, e)
    return eta

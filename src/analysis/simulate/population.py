"""Clean draws of every respondent's characteristics, exposures and outcome.

Each function takes the random generator and the arrays drawn so far and
adds its own, in the order of the causal diagram (see the package
docstring). All values are numeric codes as the codebook defines them, fully
observed: missingness and data errors are added later by
:mod:`analysis.simulate.defects`.
"""

from __future__ import annotations

import numpy as np

from analysis.simulate.truth import linear_predictor

Arrays = dict[str, np.ndarray]

N_STRATA, PSU_PER_STRATUM = 4, 25
# population share of each stratum; the sample takes the same number from each
POPULATION_SHARE = np.array([0.35, 0.15, 0.35, 0.15])
QUICK_SPORTS = (1, 2, 3, 4, 5)  # weightlifting, golf, American football, basketball, baseball


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def categorical(rng: np.random.Generator, probs: np.ndarray, codes) -> np.ndarray:
    """One draw per row from the row's probabilities (rows of ``probs`` sum to 1)."""
    cumulative = np.cumsum(probs, axis=1)
    index = (rng.random(len(probs))[:, None] > cumulative[:, :-1]).sum(axis=1)
    return np.asarray(codes)[index]


def round_to(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(x / step) * step


def design(rng: np.random.Generator, n: int) -> Arrays:
    """Stratum, primary sampling unit and design weight (equal allocation to strata)."""
    stratum = rng.integers(1, N_STRATA + 1, n)
    psu = (stratum - 1) * PSU_PER_STRATUM + rng.integers(1, PSU_PER_STRATUM + 1, n)
    base = POPULATION_SHARE[stratum - 1] * N_STRATA
    weight = np.round(base * rng.lognormal(0.0, 0.2, n), 4)  # non-response adjustment
    return {"stratum": stratum, "psu": psu, "weight": weight}


def demographics(rng: np.random.Generator, v: Arrays) -> None:
    n = len(v["stratum"])
    rural = np.isin(v["stratum"], (2, 4))
    v["age"] = np.clip(np.round(rng.normal(np.where(rural, 49.0, 42.0), 15.0)), 18, 85)
    male = rng.random(n) < 0.49
    v["sex"] = np.where(male, 2, 1)
    v["height_cm"] = np.round(rng.normal(np.where(male, 177.0, 163.5), 7.0))
    bmi = np.clip(26.0 + 0.06 * (v["age"] - 45) + 0.6 * male + rng.normal(0, 4.2, n), 16, 55)
    v["weight_kg"] = np.round(bmi * (v["height_cm"] / 100) ** 2, 1)
    # BMI is derived from the rounded height and weight, as an export would compute it
    v["bmi"] = np.round(v["weight_kg"] / (v["height_cm"] / 100) ** 2, 1)
    age_c = v["age"] - 45
    current = np.clip(0.20 - 0.002 * age_c + 0.03 * male, 0.02, 0.6)
    former = np.clip(0.20 + 0.004 * age_c, 0.02, 0.6)
    v["smoking"] = categorical(rng, np.column_stack([1 - current - former, former, current]),
                               [1, 2, 3])
    # occupation: desk, standing, manual handling, professional driver
    probs = np.where(male[:, None], [0.40, 0.18, 0.28, 0.14], [0.50, 0.32, 0.12, 0.06])
    probs = probs + np.where(rural[:, None], [-0.08, 0.0, 0.08, 0.0], 0.0)
    v["occupation"] = categorical(rng, probs, [1, 2, 3, 4])


def work_and_posture(rng: np.random.Generator, v: Arrays) -> None:
    n, occ = len(v["age"]), v["occupation"] - 1
    v["heavy_lifting"] = (rng.random(n) < np.array([0.05, 0.25, 0.70, 0.30])[occ]).astype(int)
    sitting = np.array([7.5, 3.5, 3.0, 8.5])[occ] + rng.normal(0, 1.5, n)
    v["hours_sitting"] = round_to(np.clip(sitting, 0.5, 16), 0.5)
    ws_probs = np.array([[0.45, 0.50, 0.05], [0.10, 0.15, 0.75],
                         [0.05, 0.10, 0.85], [0.10, 0.30, 0.60]])[occ]
    v["workstation"] = categorical(rng, ws_probs, [1, 2, 3])
    # ordered logit: a badly set-up workstation, long sitting and BMI worsen posture
    latent = (0.8 * (v["workstation"] == 2) + 0.2 * (v["workstation"] == 3)
              + 0.10 * (v["hours_sitting"] - 5) + 0.04 * (v["bmi"] - 26)
              + 0.01 * (v["age"] - 45) + rng.logistic(0, 1, n))
    v["posture"] = 1 + (latent > -0.3) + (latent > 1.6)


def sport_and_trauma(rng: np.random.Generator, v: Arrays) -> None:
    n, male = len(v["age"]), v["sex"] == 2
    active = rng.random(n) < expit(0.1 - 0.04 * (v["age"] - 45) + 0.2 * male)
    probs = np.where(male[:, None], [0.20, 0.15, 0.10, 0.12, 0.10, 0.20, 0.13],
                     [0.12, 0.10, 0.02, 0.08, 0.05, 0.33, 0.30])
    v["sport"] = np.where(active, categorical(rng, probs, np.arange(1, 8)), 0)
    hours = round_to(np.clip(rng.lognormal(np.log(3.5), 0.5, n), 0.5, 30), 0.5)
    v["sport_hours"] = np.where(active, hours, 0.0)
    driver = v["occupation"] == 4
    v["rta_ever"] = (rng.random(n) < expit(-1.6 + 0.02 * (v["age"] - 45) + 0.3 * driver))
    recent = rng.random(n) < 0.15 + 0.15 * driver
    v["rta_12m"] = (v["rta_ever"] & recent).astype(int)
    v["rta_ever"] = v["rta_ever"].astype(int)


def body(rng: np.random.Generator, v: Arrays) -> None:
    """Flexibility and endurance tests, and the measurements of the physical exam."""
    n = len(v["age"])
    female, age_c, bmi_c = v["sex"] == 1, v["age"] - 45, v["bmi"] - 26
    active, fitness = v["sport"] > 0, rng.normal(0, 1, n)
    reach = (2 + 5 * female - 0.12 * age_c - 0.25 * bmi_c + 4 * np.isin(v["sport"], (6, 7))
             + rng.normal(0, 8, n))
    v["sit_reach_cm"] = round_to(np.clip(reach, -35, 45), 0.5)
    plank = np.log(70) - 0.008 * age_c - 0.03 * bmi_c + 0.25 * active + 0.25 * fitness
    v["plank_s"] = np.clip(np.round(np.exp(plank + rng.normal(0, 0.4, n))), 3, 500)
    extensor = (np.log(95) - 0.006 * age_c - 0.025 * bmi_c + 0.1 * female + 0.15 * active
                + 0.2 * fitness)
    v["biering_sorensen_s"] = np.clip(np.round(np.exp(extensor + rng.normal(0, 0.35, n))), 3, 400)
    lordosis = (44 + 3 * (v["posture"] == 2) + 6 * (v["posture"] == 3) + 0.35 * bmi_c
                + 3 * female + rng.normal(0, 8, n))
    v["lordosis_angle"] = round_to(np.clip(lordosis, 15, 85), 0.5)
    tilt = 11 + 0.25 * (v["lordosis_angle"] - 45) + 1.5 * female + rng.normal(0, 4, n)
    v["pelvic_tilt"] = round_to(np.clip(tilt, -10, 35), 0.5)
    p_stiff = expit(-1.4 + 0.03 * age_c + 0.6 * v["rta_ever"])
    v["segmental_mobility"] = (rng.random(n) < p_stiff).astype(int)


def outcome(rng: np.random.Generator, v: Arrays) -> None:
    """Spasm from the true logistic model; episodes and latent severity from spasm."""
    n = len(v["age"])
    v["spasm_12m"] = (rng.random(n) < expit(linear_predictor(v))).astype(int)
    # episodes among those with spasm: 1 + negative binomial (gamma-Poisson), mean 2.5
    extra = rng.poisson(rng.gamma(1.2, 1.5 / 1.2, n))
    v["spasm_episodes"] = np.where(v["spasm_12m"] == 1, np.minimum(1 + extra, 365), 0)
    # latent severity (about N(-1.3, 0.8) without spasm, around +1 with it) drives every
    # symptom item, so questionnaire answers agree with each other and with spasm
    v["severity"] = (-1.3 + 2.0 * v["spasm_12m"] + 0.35 * np.log1p(v["spasm_episodes"])
                     + 0.015 * (v["age"] - 45) + rng.normal(0, 0.8, n))
    v["distress"] = 0.3 * v["severity"] + rng.normal(0, 1, n)


def draw(rng: np.random.Generator, n: int) -> Arrays:
    """Every clean variable for ``n`` respondents, in causal order."""
    v = design(rng, n)
    demographics(rng, v)
    work_and_posture(rng, v)
    sport_and_trauma(rng, v)
    body(rng, v)
    outcome(rng, v)
    return v

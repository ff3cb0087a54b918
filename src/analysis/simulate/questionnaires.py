"""Questionnaire answers drawn from each respondent's latent severity.

Item response models keep the answers coherent: a respondent with a high
latent severity (spasm, frequent episodes) ticks more RMDQ statements, picks
higher ODI statements, reports more pain and more Nordic-questionnaire
trouble. Ordinal items follow a graded response model,
``P(Y >= k) = expit(a * (severity - b_k))``; binary items a two-parameter
logistic model, ``P(Y = 1) = expit(a * (severity - b))``.
"""

from __future__ import annotations

import numpy as np

from analysis.simulate.population import Arrays, expit, round_to

# ODI sections 1-10: discrimination and the threshold of the first statement above 0;
# the sex-life section (8) is the least tied to severity.
ODI_A = np.array([1.7, 1.4, 1.6, 1.4, 1.3, 1.4, 1.3, 1.0, 1.3, 1.3])
ODI_B1 = np.array([0.1, 0.7, 0.3, 0.6, 0.4, 0.4, 0.5, 0.8, 0.6, 0.5])
ODI_STEP = 0.75
# RMDQ statements 1-24: how much severity it takes to tick each (2 'change position' easiest,
# 24 'stay in bed' hardest)
RMDQ_B = np.array([2.2, 0.2, 1.0, 1.3, 1.8, 1.1, 1.7, 1.9, 1.2, 1.0, 0.5, 1.1,
                   1.3, 1.3, 2.3, 1.4, 1.4, 1.0, 2.6, 1.6, 0.6, 1.4, 1.5, 2.8])
RMDQ_A = 1.6


def graded(rng: np.random.Generator, severity: np.ndarray, a: float, thresholds) -> np.ndarray:
    """Ordinal answer 0..len(thresholds) from the graded response model."""
    u = rng.random(len(severity))
    p_at_least = expit(a * (severity[:, None] - np.asarray(thresholds)[None, :]))
    return (u[:, None] < p_at_least).sum(axis=1)


def binary(rng: np.random.Generator, latent: np.ndarray, a: float, b: float) -> np.ndarray:
    return (rng.random(len(latent)) < expit(a * (latent - b))).astype(int)


def symptoms(rng: np.random.Generator, v: Arrays) -> None:
    z = v["severity"]
    nprs = 2.2 + 2.0 * z + rng.normal(0, 1.0, len(z))
    v["pain_worst_week"] = np.clip(np.round(nprs), 0, 10)
    v["doctor_visit_12m"] = binary(rng, z, 1.3, 1.7)


def odi(rng: np.random.Generator, v: Arrays) -> None:
    for j in range(10):
        thresholds = ODI_B1[j] + ODI_STEP * np.arange(5)
        v[f"odi_{j + 1}"] = graded(rng, v["severity"], ODI_A[j], thresholds)


def rmdq(rng: np.random.Generator, v: Arrays) -> None:
    for j in range(24):
        v[f"rmdq_{j + 1}"] = binary(rng, v["severity"], RMDQ_A, RMDQ_B[j])


def start_back(rng: np.random.Generator, v: Arrays) -> None:
    z, distress = v["severity"], v["distress"]
    # items 1-4: leg pain, shoulder/neck pain, walking, dressing (physical)
    for item, (a, b) in enumerate([(1.4, 0.4), (0.7, 0.8), (1.6, 0.6), (1.6, 0.8)], start=1):
        v[f"start_back_{item}"] = binary(rng, z, a, b)
    # items 5-8: fear, anxiety, catastrophising, low mood (psychosocial: severity and distress)
    psychosocial = 0.6 * z + 0.8 * distress
    for item, b in enumerate([0.6, 0.5, 1.1, 0.8], start=5):
        v[f"start_back_{item}"] = binary(rng, psychosocial, 1.3, b)
    # item 9: bothersomeness, 0 Not at all .. 4 Extremely
    v["start_back_9"] = graded(rng, z, 1.6, [-0.8, 0.2, 1.2, 2.0])


def nordic(rng: np.random.Generator, v: Arrays) -> None:
    """Nordic questionnaire; 7-day and 'prevented' questions are skipped (NaN) after a No."""
    z = v["severity"]
    low_back = (v["spasm_12m"] == 1) | (binary(rng, z, 1.4, -0.3) == 1)
    v["nmq_low_back_12m"] = low_back.astype(int)
    v["nmq_low_back_7d"] = np.where(low_back, binary(rng, z, 1.5, 0.5), np.nan)
    v["nmq_low_back_prevented"] = np.where(low_back, binary(rng, z, 1.5, 1.2), np.nan)
    neck_latent = 0.5 * z + 0.3 * (v["occupation"] == 1) + 0.3 * (v["sex"] == 1)
    neck = binary(rng, neck_latent, 1.0, 1.0) == 1
    v["nmq_neck_12m"] = neck.astype(int)
    v["nmq_neck_7d"] = np.where(neck, binary(rng, 0.5 * z, 1.0, 0.5), np.nan)
    v["nmq_neck_prevented"] = np.where(neck, binary(rng, 0.5 * z, 1.0, 1.8), np.nan)


def ipaq(rng: np.random.Generator, v: Arrays) -> None:
    """IPAQ short form: days 0-7 and minutes a day; minutes are skipped (NaN) on 0 days."""
    n, active = len(v["age"]), v["sport"] > 0
    p_vigorous = np.where(active, 0.35, 0.04) * np.where(v["spasm_12m"] == 1, 0.7, 1.0)
    p_moderate = 0.15 + 0.25 * (v["occupation"] == 3) + 0.10 * (v["occupation"] == 2)
    plans = [("vigorous", p_vigorous, 45, 10, 240), ("moderate", p_moderate, 40, 10, 480),
             ("walking", np.full(n, 0.55), 30, 10, 300)]
    for kind, p_day, median, low, high in plans:
        days = rng.binomial(7, p_day)
        minutes = round_to(np.clip(rng.lognormal(np.log(median), 0.55, n), low, high), 5)
        v[f"ipaq_{kind}_days"] = days
        v[f"ipaq_{kind}_minutes"] = np.where(days > 0, minutes, np.nan)
    sitting = v["hours_sitting"] * 60 + rng.normal(0, 40, n)
    v["ipaq_sitting_minutes"] = round_to(np.clip(sitting, 0, 1200), 10)


def answer(rng: np.random.Generator, v: Arrays) -> None:
    """Add every questionnaire item to ``v``."""
    symptoms(rng, v)
    odi(rng, v)
    rmdq(rng, v)
    start_back(rng, v)
    nordic(rng, v)
    ipaq(rng, v)

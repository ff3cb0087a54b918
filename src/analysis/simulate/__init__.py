"""The example survey: SIMULATED back-pain data whose true answer is known.

No public survey covers every cause this toolkit is about, so the example
survey (``data/example/survey.csv``, 5,000 respondents, seed
:data:`EXAMPLE_SEED`) is simulated from the causal model below. It describes
no real person, and everything made from it must say so. ``data/README.md``
holds the same description with the measured numbers.

Causal model
------------
Arrows read "drives"; every exposure also depends on the confounders on its
left. Design variables (stratum, PSU, weight) shape who is sampled and the
age and occupation mix, never spasm given the factors::

    stratum ──▶ age, occupation            sex ──▶ height, BMI, occupation, sport
    age ──▶ BMI, smoking, sport, RTA, fitness tests, segmental mobility, SPASM
    occupation ──▶ heavy lifting, hours sitting, workstation, RTA (drivers)
    workstation, hours sitting, BMI ──▶ posture ──▶ lordosis ──▶ pelvic tilt
    sport ──▶ sport hours, fitness tests (plank, Biering-Sørensen, sit-and-reach)
    RTA ever ──▶ segmental mobility
    age, sex, BMI, smoking, occupation, RTA ever, RTA 12 m, sport, heavy lifting,
    posture, heavy lifting × poor posture, lordosis, pelvic tilt, segmental
    mobility, sit-and-reach, plank, Biering-Sørensen ──▶ SPASM (logistic model)
    hours sitting, sport hours, workstation ──╳ SPASM (true nulls given the rest)
    SPASM ──▶ episodes ──▶ latent severity ──▶ NPRS, doctor visit, ODI, RMDQ,
              STarT Back (with distress), Nordic low back, IPAQ vigorous days

The true model is ``logit P(spasm) = INTERCEPT + sum(log OR x term)`` with the
terms and odds ratios of :func:`true_effects` (ORs 1.1-2.2 for risk factors,
0.85 for male sex, exactly 1 for the nulls: swimming, hours of sport, hours
sitting, workstation, heavy lifting × fair posture; interaction heavy lifting ×
poor posture OR 1.6). About 30% of respondents have a spasm.

Questionnaires answer from a latent severity (spasm, log episodes, age, noise)
through item response models (:mod:`analysis.simulate.questionnaires`), so
items agree with each other and with the outcome. Missingness (item
non-response, don't-know codes, the 30% physical-exam sub-sample whose
non-members are blank) and planted errors (out-of-range values, unknown
codes, text in numeric columns, fractional counts, duplicated and blank ids,
impossible dates; about 2.2% of rows) are described in
:mod:`analysis.simulate.defects`.

Examples
--------
>>> from analysis.simulate import simulate_survey, true_effects
>>> raw = simulate_survey(2000, seed=1, errors=False, missing=False)
>>> truth = true_effects()          # term, variable, level, true_odds_ratio, ...
"""

from pathlib import Path

from analysis.simulate.build import COLUMNS, simulate_survey, write_survey
from analysis.simulate.chunked import write_survey_chunked
from analysis.simulate.defects import ERROR_SHARES
from analysis.simulate.truth import INTERCEPT, true_effects

EXAMPLE_SEED = 20240501
EXAMPLE_N = 5000
# in a source checkout (the data folder is not part of an installed wheel)
REPO_ROOT = Path(__file__).resolve().parents[3]
CODEBOOK_PATH = REPO_ROOT / "data" / "codebooks" / "backpain_survey.yml"
EXAMPLE_PATH = REPO_ROOT / "data" / "example" / "survey.csv"

__all__ = [
    "CODEBOOK_PATH",
    "COLUMNS",
    "ERROR_SHARES",
    "EXAMPLE_N",
    "EXAMPLE_PATH",
    "EXAMPLE_SEED",
    "INTERCEPT",
    "simulate_survey",
    "true_effects",
    "write_survey",
    "write_survey_chunked",
]

"""Size and coverage by simulation: does each model family's 5% test and 95% CI hold?

For every model family the script simulates ``R`` data sets from a model
whose coefficients are known, fits them with the package's public API and
counts

* **size**: how often the 5% test of a coefficient (or term) whose true
  value is zero rejects, using the p-value the package reports (the tidy
  table behind ``.table``, or ``.tests``); target 4-6%;
* **coverage**: how often the reported 95% interval of a coefficient with a
  known non-zero value contains it; target 93-97%.

Each rate ``p`` comes with its Monte-Carlo standard error ``sqrt(p (1-p) / R)``
(``R`` the replicates that gave a number); at ``R = 500`` a true 5% has MCSE
1.0 point and a true 95% too, so a correct method falls outside the target
band about 1 time in 3 for size (4-6% is +-1 MCSE) and rarely for coverage
(93-97% is +-2 MCSE). A row is marked ``in`` or ``OUT`` of range; read the
MCSE before calling an ``OUT`` a defect.

Every replicate draws from its own ``numpy.random.Generator`` seeded by
``SeedSequence([seed, crc32(family), replicate])``, so the table does not
depend on the number of workers, the order they finish in, or which
families are run. Warnings are suppressed per replicate but counted: a
replicate is *failed* when the fit raised or gave no finite estimate, *noted*
when it raised a warning or its result carries notices, *non-converged* when
a fit of the result reports ``converged = False``. Failed replicates are left
out of the rates (``R used`` says how many remain).

Usage::

    PYTHONPATH=src python benchmarks/size_coverage.py               # all families
    PYTHONPATH=src python benchmarks/size_coverage.py --replicates 100 --families poisson,firth
    PYTHONPATH=src python benchmarks/size_coverage.py --list
    PYTHONPATH=src python benchmarks/size_coverage.py --families standardised --merge

``--merge`` rewrites only the rows of the families run and keeps the others
(and their warning lines) from the existing files.

Writes ``benchmarks/size_coverage.md`` and ``benchmarks/size_coverage.csv``
(``--out`` changes the stem). Families and what each checks: ``--list``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import platform
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit
from tqdm import tqdm

from analysis.codebook import Codebook
from analysis.ledger import Ledger
from analysis.models import (
    conditional_logistic,
    counts,
    logistic,
    modified_poisson,
    multinomial,
    ordinal,
    standardise,
)
from analysis.survey import Survey

try:  # small fits run far faster on one BLAS thread when the two cores are shared
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    def threadpool_limits(limits=None):
        return contextlib.nullcontext()

SIZE_RANGE = (0.04, 0.06)
COVERAGE_RANGE = (0.93, 0.97)
BETA_X = math.log(2.0)  # true log odds (rate) ratio of exposure x; b and g have none
BETA_AGE = 0.02  # per year, centred at 45
HERE = Path(__file__).resolve().parent


# ---- building surveys -----------------------------------------------------------------------
def _variables(**extra) -> dict:
    """Codebook entries shared by the simulations: x (true effect), b and g (null), age."""
    base = {
        "x": {"type": "binary", "label": "Exposure with a true effect", "role": "exposure"},
        "b": {"type": "binary", "label": "Binary exposure without effect", "role": "exposure"},
        "g": {"type": "categorical", "label": "Three-level factor without effect",
              "levels": {1: "A", 2: "B", 3: "C"}, "role": "confounder"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
    }
    base.update(extra)
    return base


def _survey(columns: dict, variables: dict, name: str) -> Survey:
    """A :class:`Survey` from integer codes (coded variables) and numbers, as the loader gives."""
    cb = Codebook.from_dict({"name": name, "variables": variables})
    n = len(next(iter(columns.values())))
    data = {}
    for col, values in columns.items():
        var = cb.variables.get(col)
        labels = list(var.level_labels.values()) if var is not None else []
        if labels:
            codes = np.where(np.isnan(values), -1, values).astype(int) if np.issubdtype(
                np.asarray(values).dtype, np.floating) else np.asarray(values, int)
            data[col] = pd.Categorical.from_codes(codes, categories=labels,
                                                  ordered=var.type == "ordinal")
        else:
            data[col] = np.asarray(values, float)
    frame = pd.DataFrame(data, index=pd.RangeIndex(2, n + 2, name="line"))
    return Survey(frame, cb, Ledger(n_read=n), source=f"simulated {name}")


def _covariates(rng: np.random.Generator, n: int) -> dict:
    return {"x": (rng.random(n) < 0.4).astype(int), "b": (rng.random(n) < 0.5).astype(int),
            "g": rng.choice(3, n, p=[0.4, 0.3, 0.3]),
            "age": np.round(rng.uniform(20, 70, n))}


def _linear(cov: dict, intercept: float) -> np.ndarray:
    return intercept + BETA_X * cov["x"] + BETA_AGE * (cov["age"] - 45)


def _copula_logistic(rng: np.random.Generator, unit: np.ndarray, rho: float) -> np.ndarray:
    """Logistic errors correlated within ``unit`` (Gaussian copula, correlation ``rho``).

    Each error is marginally standard logistic, so ``y = 1{eta + e > 0}``
    follows the logistic model ``P(y=1|x) = expit(eta)`` exactly while
    members of a unit are dependent: the population-averaged coefficient
    is the true one, which cluster-robust and design-based SEs target.
    """
    shared = rng.standard_normal(unit.max() + 1)[unit]
    u = stats.norm.cdf(math.sqrt(rho) * shared + math.sqrt(1 - rho) * rng.standard_normal(
        unit.size))
    u = np.clip(u, 1e-12, 1 - 1e-12)
    return np.log(u / (1 - u))


# ---- what a fit gives back ------------------------------------------------------------------
def _tidy_row(tidy: pd.DataFrame, term: str) -> pd.Series:
    hit = tidy[tidy["term"] == term]
    if len(hit) != 1:
        raise LookupError(f"term {term!r} not in the tidy table ({list(tidy['term'])})")
    return hit.iloc[0]


def _wald(result, null_term: str, truth_term: str, truth: float = BETA_X,
          which: str = "adjusted", level: str | None = None) -> dict:
    """p-value of the null term and interval of the true term from ``result.tidy(which)``."""
    tidy = result.tidy(which)
    if level is not None:
        tidy = tidy[tidy["outcome_level"] == level]
    null, true = _tidy_row(tidy, null_term), _tidy_row(tidy, truth_term)
    return {"p": float(null["p_value"]), "low": float(true["ci_low"]),
            "high": float(true["ci_high"]), "estimate": float(true["estimate"]),
            "truth": math.exp(truth)}


def _test_p(result, variable: str, model: str = "adjusted", exclude: str = "trend") -> dict:
    """p-value of ``variable``'s test in ``result.tests``: the first that is not ``exclude``.

    The test's own label comes back too (``name``), so the table says which
    test the package reported even if a later version changes it.
    """
    tests = result.tests
    hit = tests[(tests["variable"] == variable) & (tests["model"] == model)
                & ~tests["test"].astype(str).str.contains(exclude)]
    if len(hit) < 1:
        raise LookupError(f"no {model} test of {variable!r} in .tests")
    return {"p": float(hit["p_value"].iloc[0]), "name": str(hit["test"].iloc[0])}


def _test_named(result, contains: str, variable: str | None = None) -> dict:
    tests = result.tests
    hit = tests[tests["test"].astype(str).str.contains(contains, case=False)]
    if variable is not None:
        hit = hit[hit["variable"].astype(str) == variable]
    if len(hit) < 1:
        raise LookupError(f"no test matching {contains!r} in .tests")
    return {"p": float(hit["p_value"].iloc[0]), "name": str(hit["test"].iloc[0])}


# ---- families: simulate(rng, n) -> survey; analyse(survey, rng) -> {row: dict} --------------
def sim_logistic(rng, n, categorical_age=False, intercept=-0.8):
    cov = _covariates(rng, n)
    y = (rng.random(n) < expit(_linear(cov, intercept))).astype(int)
    extra = {"y": {"type": "binary", "label": "Outcome", "role": "outcome"}}
    if categorical_age:  # three bands: the fit can run on covariate patterns
        cov["age"] = np.digitize(cov["age"], [35, 50]).astype(int)
        eta = intercept + BETA_X * cov["x"] + 0.3 * cov["age"]
        y = (rng.random(n) < expit(eta)).astype(int)
        extra["age"] = {"type": "ordinal", "label": "Age band",
                        "levels": {1: "<35", 2: "35-49", 3: "50+"}, "role": "confounder"}
    return _survey({**cov, "y": y}, _variables(**extra), "logistic")


def fit_logistic(survey, rng, **kwargs):
    result = logistic(survey, "y", ["x", "b"], ["g", "age"], **kwargs)
    rows = {"Wald": _wald(result, "b[Yes]", "x[Yes]")}
    if kwargs.get("design") is not True:
        rows["LR"] = _test_p(result, "g")
    return result, rows


def sim_cluster(rng, n, n_clusters=40, rho=0.3):
    """Clusters of equal size; x and b vary between clusters only; outcomes correlated."""
    site = np.repeat(np.arange(n_clusters), -(-n // n_clusters))[:n]
    cov = _covariates(rng, n)
    for v, p in (("x", 0.4), ("b", 0.5)):
        cov[v] = (rng.random(n_clusters) < p).astype(int)[site]
    cov["g"] = rng.choice(3, n_clusters, p=[0.4, 0.3, 0.3])[site]
    eta = _linear(cov, -0.8)
    y = (eta + _copula_logistic(rng, site, rho) > 0).astype(int)
    variables = _variables(y={"type": "binary", "label": "Outcome", "role": "outcome"},
                           site={"type": "count", "label": "Cluster", "role": "cluster"})
    return _survey({**cov, "site": site + 1.0, "y": y}, variables, "cluster")


def sim_firth(rng, n):
    return sim_logistic(rng, n, intercept=-2.2)  # about 12% events: where Firth is used


def sim_counts(rng, n, alpha=0.0, offset=False):
    cov = _covariates(rng, n)
    months = rng.choice([6.0, 12.0, 24.0], n) if offset else np.full(n, 12.0)
    mu = months / 12 * np.exp(_linear(cov, 0.0))
    lam = mu * rng.gamma(1 / alpha, alpha, n) if alpha > 0 else mu
    variables = _variables(y={"type": "count", "label": "Episodes", "role": "outcome"},
                           months={"type": "numeric", "label": "Months followed"})
    return _survey({**cov, "months": months, "y": rng.poisson(lam)}, variables, "counts")


def fit_poisson(survey, rng):
    result = counts(survey, "y", ["x", "b"], ["g", "age"], family="poisson")
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]"),
                    "overdispersion": _test_named(result, "Cameron")}


def fit_negbin(survey, rng):
    result = counts(survey, "y", ["x", "b"], ["g", "age"], family="negbin",
                    exposure_time="months")
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]")}


BANDS = {1: "None", 2: "Mild", 3: "Moderate", 4: "Severe"}


def sim_ordinal(rng, n):
    cov = _covariates(rng, n)
    eta = _linear(cov, 0.0)
    cuts = np.array([-0.5, 0.8, 2.0])
    y = (rng.logistic(size=n)[:, None] < eta[:, None] - cuts[None, :]).sum(axis=1)
    variables = _variables(y={"type": "ordinal", "label": "Pain band", "levels": BANDS,
                              "role": "outcome"})
    return _survey({**cov, "y": y}, variables, "ordinal")


def fit_ordinal(survey, rng):
    result = ordinal(survey, "y", ["x", "b"], ["g", "age"])
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]"),
                    "Brant": _test_named(result, "Brant", variable="overall")}


MULTI = {1: "Back", 2: "Neck", 3: "Both"}


def sim_multinomial(rng, n):
    cov = _covariates(rng, n)
    # log P(c)/P(Back): Neck gets x's true effect, Both a smaller one.
    eta = np.column_stack([np.zeros(n), _linear(cov, -0.3),
                           -0.5 + 0.3 * cov["x"] + 0.01 * (cov["age"] - 45)])
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    variables = _variables(y={"type": "categorical", "label": "Site of pain", "levels": MULTI,
                              "role": "outcome"})
    return _survey({**cov, "y": y}, variables, "multinomial")


def fit_multinomial(survey, rng):
    result = multinomial(survey, "y", ["x", "b"], ["g", "age"], outcome_reference="Back")
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]", level="Neck")}


def sim_conditional(rng, n, set_size=4):
    """1:3 matched sets: one case per set, drawn with probability prop. to exp(x'b)."""
    n_sets = max(n // set_size, 2)
    n = n_sets * set_size
    cov = _covariates(rng, n)
    sets = np.repeat(np.arange(n_sets), set_size)
    # The set's own level (matching factor) shifts age; it drops out of the likelihood.
    cov["age"] = np.round(rng.uniform(25, 65, n_sets)[sets] + rng.normal(0, 5, n))
    score = np.exp(BETA_X * cov["x"] + BETA_AGE * (cov["age"] - 45)).reshape(n_sets, set_size)
    cum = np.cumsum(score / score.sum(axis=1, keepdims=True), axis=1)
    case = (rng.random(n_sets)[:, None] > cum).sum(axis=1)
    y = np.zeros((n_sets, set_size), int)
    y[np.arange(n_sets), case] = 1
    variables = _variables(y={"type": "binary", "label": "Case", "role": "outcome"},
                           matched={"type": "count", "label": "Matched set", "role": "stratum"})
    return _survey({**cov, "matched": sets + 1.0, "y": y.ravel()}, variables, "conditional")


def fit_conditional(survey, rng):
    result = conditional_logistic(survey, "y", ["x", "b"], strata="matched",
                                  adjust_for=["g", "age"])
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]"),
                    "LR crude": _test_p(result, "b", model="crude")}


def sim_design(rng, n, n_strata=2, psu_per_stratum=6, rho=0.1):
    """Stratified two-stage sample: few PSUs (design df = 12 - 2 = 10), unequal weights.

    Exposures vary between PSUs (their prevalence is drawn per PSU) and
    outcomes are correlated within PSUs (Gaussian copula), so the design
    matters; weights depend on the stratum and on noise, not on the outcome,
    so the weighted fit targets the model's coefficients.
    """
    n_psu = n_strata * psu_per_stratum
    psu = np.sort(rng.integers(0, n_psu, n))
    stratum = psu // psu_per_stratum
    cov = _covariates(rng, n)
    for v in ("x", "b"):
        prevalence = rng.uniform(0.15, 0.75, n_psu)[psu]
        cov[v] = (rng.random(n) < prevalence).astype(int)
    weight = (1.0 + 2.0 * stratum) * rng.uniform(0.5, 1.5, n)
    y = (_linear(cov, -0.8) + _copula_logistic(rng, psu, rho) > 0).astype(int)
    levels = {i + 1: f"S{i + 1}" for i in range(n_strata)}
    variables = _variables(
        y={"type": "binary", "label": "Outcome", "role": "outcome"},
        stratum={"type": "categorical", "label": "Stratum", "levels": levels, "role": "stratum"},
        psu={"type": "count", "label": "PSU", "role": "cluster"},
        weight={"type": "numeric", "label": "Sampling weight", "role": "weight"})
    return _survey({**cov, "stratum": stratum, "psu": psu + 1.0, "weight": weight, "y": y},
                   variables, "design")


def sim_mice(rng, n):
    """MAR: x, b and age go missing with a probability that depends on the (observed) outcome."""
    cov = _covariates(rng, n)
    y = (rng.random(n) < expit(_linear(cov, -0.8))).astype(int)
    survey = _survey({**cov, "y": y}, _variables(
        y={"type": "binary", "label": "Outcome", "role": "outcome"}), "mice")
    data = survey.data
    for v, (p0, p1) in {"x": (0.08, 0.25), "b": (0.08, 0.2), "age": (0.1, 0.3)}.items():
        gone = rng.random(n) < np.where(y == 1, p1, p0)
        data.loc[gone, v] = np.nan
    return survey


MICE_M = 10


def fit_mice(survey, rng):
    result = logistic(survey, "y", ["x", "b"], ["g", "age"], impute="mice", m=MICE_M,
                      seed=int(rng.integers(2**31)))
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]")}


def _standardised_truth(intercept: float = -0.8) -> tuple[float, float]:
    """True marginal prevalence ratio and difference of x, standardised over age.

    b and g have no effect and age is independent of x in every simulation,
    so ``mu_x = E_age expit(intercept + log 2 x + 0.02 (age - 45))`` with age
    ``round(U(20, 70))``: the integers 20..70, the two ends with half weight.
    """
    age = np.arange(20, 71, dtype=float)
    weight = np.where((age == 20) | (age == 70), 0.5, 1.0) / 50
    mu = [float(weight @ expit(intercept + BETA_X * x + BETA_AGE * (age - 45))) for x in (0, 1)]
    return mu[1] / mu[0], mu[1] - mu[0]


def _standardised_rows(result) -> dict:
    """PR and PD of x (truth: :func:`_standardised_truth`); size from b's, whose truth is null."""
    ratio, difference = _standardised_truth()
    rows = {}
    for measure, truth in (("PR", ratio), ("PD", difference)):
        tidy = result.tidy("adjusted", measure.lower())
        null, true = _tidy_row(tidy, "b[Yes]"), _tidy_row(tidy, "x[Yes]")
        rows[measure] = {"p": float(null["p_value"]), "low": float(true["ci_low"]),
                         "high": float(true["ci_high"]), "estimate": float(true["estimate"]),
                         "truth": truth, "additive": measure == "PD"}
    return rows


def fit_standardised(survey, rng, design: bool = False):
    fitted = logistic(survey, "y", ["x", "b"], ["g", "age"], design=design)
    result = standardise(fitted, survey)
    return result, _standardised_rows(result)


PR_POISSON = math.log(1.5)


def sim_log_linear(rng, n):
    """log P(y = 1) = -1.5 + log(1.5) x + 0.01 (age - 45): a true PR of 1.5 (at most 0.43)."""
    cov = _covariates(rng, n)
    p = np.exp(-1.5 + PR_POISSON * cov["x"] + 0.01 * (cov["age"] - 45))
    y = (rng.random(n) < p).astype(int)
    return _survey({**cov, "y": y}, _variables(
        y={"type": "binary", "label": "Outcome", "role": "outcome"}), "log_linear")


def fit_modified_poisson(survey, rng):
    result = modified_poisson(survey, "y", ["x", "b"], ["g", "age"])
    return result, {"Wald": _wald(result, "b[Yes]", "x[Yes]", truth=PR_POISSON)}


@dataclass(frozen=True)
class Family:
    simulate: Callable
    analyse: Callable
    n: int
    replicates: int
    describe: str
    rows: dict  # row -> (p-value used, interval used)


WALD = ("Wald z of b[Yes] (tidy adjusted p_value)", "Wald 95% CI of x[Yes] (OR 2)")
FAMILIES = {
    "logistic_rows": Family(
        lambda rng, n: sim_logistic(rng, n),
        lambda s, rng: fit_logistic(s, rng, method="rows"), 500, 500,
        "logistic ML on rows; x, b, g, age (numeric)",
        {"Wald": WALD, "LR": (".tests LR of g (2 df, adjusted)", "")}),
    "logistic_patterns": Family(
        lambda rng, n: sim_logistic(rng, n, categorical_age=True),
        lambda s, rng: fit_logistic(s, rng, method="patterns"), 500, 500,
        "logistic ML on covariate patterns; age in 3 bands",
        {"Wald": WALD, "LR": (".tests LR of g (2 df, adjusted)", "")}),
    "logistic_hc0": Family(
        lambda rng, n: sim_logistic(rng, n),
        lambda s, rng: fit_logistic(s, rng, cov_type="robust"), 500, 500,
        "logistic, cov_type='robust' (HC0)",
        {"Wald": ("Wald z of b[Yes], HC0", "Wald 95% CI of x[Yes], HC0"),
         "LR": (".tests of g (adjusted)", "")}),
    "logistic_cluster": Family(
        lambda rng, n: sim_cluster(rng, n),
        lambda s, rng: fit_logistic(s, rng, cov_type="cluster"), 500, 500,
        "logistic, cov_type='cluster'; 40 clusters, x, b, g cluster-level, rho 0.3",
        {"Wald": ("Wald z of b[Yes], cluster", "Wald 95% CI of x[Yes], cluster"),
         "LR": (".tests of g (adjusted)", "")}),
    "firth": Family(
        sim_firth, lambda s, rng: fit_logistic(s, rng, firth=True), 200, 500,
        "logistic, firth=True; about 12% events",
        {"Wald": ("table p-value of b[Yes]: 1-df penalised LR (logistf)",
                  "table 95% CI of x[Yes]: profile penalised likelihood"),
         "LR": (".tests penalised LR of g (2 df, adjusted)", "")}),
    "poisson": Family(
        lambda rng, n: sim_counts(rng, n), fit_poisson, 500, 500,
        "counts(family='poisson'); Poisson data",
        {"Wald": ("Wald z of b[Yes]", "Wald 95% CI of x[Yes] (IRR 2)"),
         "overdispersion": (".tests Cameron-Trivedi (alpha > 0), Poisson data", "")}),
    "negbin_offset": Family(
        lambda rng, n: sim_counts(rng, n, alpha=0.8, offset=True), fit_negbin, 500, 500,
        "counts(family='negbin', exposure_time=...); NB2 alpha 0.8, 6/12/24 months",
        {"Wald": ("Wald z of b[Yes]", "Wald 95% CI of x[Yes] (IRR 2)")}),
    "ordinal": Family(
        sim_ordinal, fit_ordinal, 500, 500, "ordinal() proportional odds; 4 bands",
        {"Wald": ("Wald z of b[Yes]", "Wald 95% CI of x[Yes] (cumulative OR 2)"),
         "Brant": (".tests Brant overall (PO holds)", "")}),
    "multinomial": Family(
        sim_multinomial, fit_multinomial, 500, 500,
        "multinomial(); 3 categories, reference Back",
        {"Wald": ("Wald z of b[Yes], Neck vs Back", "Wald 95% CI of x[Yes], Neck vs Back "
                  "(RRR 2)")}),
    "conditional": Family(
        sim_conditional, fit_conditional, 600, 500,
        "conditional_logistic(); 1:3 matched sets (n/4 sets)",
        {"Wald": WALD, "LR crude": (".tests LR of crude b (vs b = 0)", "")}),
    "design": Family(
        sim_design, lambda s, rng: fit_logistic(s, rng, design=True), 600, 500,
        "logistic(design=True); 2 strata x 6 PSUs (df 10), weights, rho 0.1",
        {"Wald": ("design Wald of b[Yes] (table p_value)", "design 95% CI of x[Yes]")}),
    "mice": Family(
        sim_mice, fit_mice, 500, 200,
        f"logistic(impute='mice', m={MICE_M}); MAR on y: x, b, age 8-30% missing",
        {"Wald": ("pooled t of b[Yes] (Rubin, Barnard-Rubin df)", "pooled 95% CI of x[Yes]")}),
    "standardised": Family(
        lambda rng, n: sim_logistic(rng, n), fit_standardised, 500, 500,
        "standardise(logistic()); marginal standardisation over x, b, g, age",
        {"PR": ("delta-method z of b's standardised PR", "delta-method 95% CI of x's PR "
                f"(true {_standardised_truth()[0]:.4f})"),
         "PD": ("delta-method z of b's standardised PD", "delta-method 95% CI of x's PD "
                f"(true {_standardised_truth()[1]:.4f})")}),
    "standardised_design": Family(
        sim_design, lambda s, rng: fit_standardised(s, rng, design=True), 600, 500,
        "standardise(logistic(design=True)); 2 strata x 6 PSUs (df 10), weights, rho 0.1",
        {"PR": ("linearised t of b's PR (model residual df)", "design 95% CI of x's PR"),
         "PD": ("linearised t of b's PD (model residual df)", "design 95% CI of x's PD")}),
    "modified_poisson": Family(
        sim_log_linear, fit_modified_poisson, 500, 500,
        "modified_poisson() (HC0); log-linear data, PR 1.5",
        {"Wald": ("robust Wald z of b[Yes]", "robust 95% CI of x[Yes] (PR 1.5)")}),
}


# ---- running ----------------------------------------------------------------------------------
def _rng(seed: int, family: str, replicate: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(
        [seed, zlib.crc32(family.encode()), replicate]))


def _flags(result) -> tuple[bool, bool]:
    """(has notices, some fit did not converge)."""
    notices = bool(getattr(result, "notices", []))
    nonconv = False
    with contextlib.suppress(Exception):
        stats_frame = result.fit_statistics
        nonconv = bool((~stats_frame["converged"].astype(bool)).any())
    return notices, nonconv


def run_replicate(family: str, replicate: int, n: int, seed: int) -> dict:
    """One replicate of one family: outcome of every row, and what went wrong."""
    spec = FAMILIES[family]
    rng = _rng(seed, family, replicate)
    out = {"family": family, "replicate": replicate, "error": None, "warned": False,
           "noticed": False, "nonconverged": False, "rows": {}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            survey = spec.simulate(rng, n)
            result, rows = spec.analyse(survey, rng)
            out["noticed"], out["nonconverged"] = _flags(result)
            out["rows"] = rows
        except Exception as exc:  # a failure is a result here: counted, not raised
            out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    out["warned"] = bool(caught)
    out["warnings"] = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
    return out


def run_chunk(family: str, replicates: list[int], n: int, seed: int) -> list[dict]:
    with threadpool_limits(1):
        return [run_replicate(family, r, n, seed) for r in replicates]


def _rate(hits: np.ndarray) -> tuple[float, float]:
    if hits.size == 0:
        return np.nan, np.nan
    p = float(hits.mean())
    return p, math.sqrt(p * (1 - p) / hits.size)


def summarise(outcomes: list[dict], n_of: dict[str, int]) -> pd.DataFrame:
    records = []
    for family, spec in FAMILIES.items():
        reps = sorted((o for o in outcomes if o["family"] == family),
                      key=lambda o: o["replicate"])
        if not reps:
            continue
        failed = [o for o in reps if o["error"] is not None]
        for row, (test, interval) in spec.rows.items():
            p_values, covered, log_err, row_failed, names = [], [], [], 0, {}
            for o in reps:
                r = o["rows"].get(row)
                if o["error"] is not None or r is None:
                    row_failed += o["error"] is None  # family fitted, this row did not
                    continue
                ok = np.isfinite(r["p"]) and (
                    "low" not in r or np.isfinite([r["low"], r["high"]]).all())
                if not ok:
                    row_failed += 1
                    continue
                p_values.append(r["p"])
                if "name" in r:
                    names[r["name"]] = names.get(r["name"], 0) + 1
                if "low" in r:
                    covered.append(r["low"] <= r["truth"] <= r["high"])
                    # a difference's bias is on its own (additive) scale
                    log_err.append(r["estimate"] - r["truth"] if r.get("additive") else
                                   math.log(r["estimate"]) - math.log(r["truth"]))
            size, size_se = _rate(np.asarray(p_values) < 0.05)
            cov, cov_se = _rate(np.asarray(covered, bool))
            records.append({
                "family": family, "row": row, "n": n_of[family], "replicates": len(reps),
                "used": len(p_values), "test": test, "size": size, "size_mcse": size_se,
                "size_in_range": _in(size, SIZE_RANGE),
                "size_out_by_2mcse": _clear(size, size_se, SIZE_RANGE),
                "interval": interval or "",
                "coverage": cov if covered else np.nan,
                "coverage_mcse": cov_se if covered else np.nan,
                "coverage_in_range": _in(cov, COVERAGE_RANGE) if covered else "",
                "coverage_out_by_2mcse": _clear(cov, cov_se, COVERAGE_RANGE) if covered
                else False,
                "bias_log": float(np.mean(log_err)) if log_err else np.nan,
                "failed": len(failed) + row_failed,
                "warned": sum(o["warned"] for o in reps),
                "noticed": sum(o["noticed"] for o in reps),
                "nonconverged": sum(o["nonconverged"] for o in reps),
                "description": spec.describe,
                "reported_as": "; ".join(k for k, _ in sorted(names.items(),
                                                              key=lambda kv: -kv[1])),
            })
    return pd.DataFrame(records)


def _in(p: float, band: tuple[float, float]) -> str:
    if not np.isfinite(p):
        return ""
    return "in" if band[0] <= p <= band[1] else "OUT"


def _clear(p: float, se: float, band: tuple[float, float]) -> bool:
    """Outside the band by more than 2 MCSE: unlikely to be Monte-Carlo noise alone."""
    return bool(np.isfinite(p) and (p < band[0] - 2 * se or p > band[1] + 2 * se))


def _mark(status: str, clear: bool) -> str:
    return f"{status} (>2 MCSE)" if status == "OUT" and clear else status


def _pct(p: float, se: float) -> str:
    return "" if not np.isfinite(p) else f"{100 * p:.1f} ± {100 * se:.1f}"


def merged(table: pd.DataFrame, stem: Path, families: list[str]) -> tuple[pd.DataFrame,
                                                                            list[str]]:
    """``table`` with the rows (and warning lines) of the families not run from ``stem``."""
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    if not csv.exists():
        return table, []
    old = pd.read_csv(csv)
    old = old[~old["family"].isin(families)]
    for column in ("size_in_range", "coverage_in_range", "interval", "reported_as"):
        old[column] = old[column].fillna("").astype(str)
    order = {f: i for i, f in enumerate(FAMILIES)}
    out = pd.concat([old, table], ignore_index=True)
    out = out.sort_values("family", key=lambda c: c.map(order), kind="stable")
    kept = set(old["family"])
    lines = [line for line in md.read_text().splitlines()
             if md.exists() and line.startswith("- ") and line[2:].split(":")[0] in kept]
    return out.reset_index(drop=True), lines


def markdown(table: pd.DataFrame, outcomes: list[dict], args, kept: list[str] = ()) -> str:
    lines = [
        "# Size and coverage by simulation",
        "",
        "Written by `benchmarks/size_coverage.py` (see `benchmarks/README.md`); do not edit.",
        f"Seed {args.seed}; replicates per family as in `R`; `used` = replicates with a "
        "finite p-value (and interval). Targets: size 4-6%, coverage 93-97%; "
        "`±` is the Monte-Carlo standard error sqrt(p(1-p)/used); `OUT (>2 MCSE)` is "
        "outside the target by more than twice that (unlikely to be chance alone).",
        "",
        "| family | check | n | R | used | size % | size | coverage % | coverage | "
        "bias (log) | failed | warned | notices | non-conv. |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        bias = "" if not np.isfinite(r.bias_log) else f"{r.bias_log:+.3f}"
        lines.append(
            f"| {r.family} | {r.row} | {r.n} | {r.replicates} | {r.used} | "
            f"{_pct(r.size, r.size_mcse)} | {_mark(r.size_in_range, r.size_out_by_2mcse)} | "
            f"{_pct(r.coverage, r.coverage_mcse)} | "
            f"{_mark(r.coverage_in_range, r.coverage_out_by_2mcse)} | {bias} | "
            f"{r.failed} | {r.warned} | {r.noticed} | {r.nonconverged} |")
    lines += ["", "## What each row tests", "",
              "| family | check | p-value (size) | interval (coverage) | simulation |",
              "|---|---|---|---|---|"]
    for r in table.itertuples():
        test = r.test + (f" (`.tests` label: {r.reported_as})" if r.reported_as else "")
        lines.append(f"| {r.family} | {r.row} | {test} | {r.interval or '-'} | "
                     f"{r.description} |")
    lines += ["", "True values: log OR (IRR, RRR) of x = log 2, of age 0.02 per year; b and "
              "the three-level g have no effect. Standardised PR/PD rows: the marginal PR and "
              "PD of x over the age distribution (their bias column is log PR and the PD "
              "itself, additive); modified Poisson: log PR of x = log 1.5. `warned`, "
              "`notices` and `non-conv.` count "
              "replicates (of R) whose fit raised a warning, carried notices on the result, "
              "or had a fit with `converged = False`; `failed` counts replicates that raised "
              "or gave no finite number for the row (left out of `used`)."]
    messages: dict[str, dict[str, int]] = {}
    for o in outcomes:
        nan_rows = [f"row {row}: no finite p-value or interval (NaN)"
                    for row, r in o["rows"].items()
                    if not np.isfinite([r.get(k, 0.0) for k in ("p", "low", "high")]).all()]
        for text in ([o["error"]] if o["error"] else []) + nan_rows + o["warnings"]:
            messages.setdefault(o["family"], {}).setdefault(text, 0)
            messages[o["family"]][text] += 1
    if messages or kept:
        lines += ["", "## Errors and warnings (replicates, most frequent first)", ""]
        for family in FAMILIES:
            lines += [line for line in kept if line[2:].split(":")[0] == family]
            for text, count in sorted(messages.get(family, {}).items(),
                                      key=lambda kv: (-kv[1], kv[0]))[:4]:
                lines.append(f"- {family}: {count} x `{text.replace('`', chr(39))}`")
    lines += ["", f"Python {platform.python_version()}, numpy {np.__version__}, "
              f"pandas {pd.__version__}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=None,
                        help="replicates per family (default: 500; MICE 200)")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help="comma-separated families (default: all; see --list)")
    parser.add_argument("--n", type=int, default=None,
                        help="rows per simulated survey (default: per family, see --list)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=10, help="replicates per task")
    parser.add_argument("--out", type=Path, default=HERE / "size_coverage",
                        help="output stem: writes <stem>.md and <stem>.csv")
    parser.add_argument("--list", action="store_true", help="list the families and exit")
    parser.add_argument("--merge", action="store_true",
                        help="keep the rows of the families not run from <stem>.csv/.md")
    args = parser.parse_args(argv)
    if args.list:
        for name, spec in FAMILIES.items():
            print(f"{name:18s} n={spec.n:<4d} R={spec.replicates:<4d} {spec.describe}")
        return 0
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    n_of = {f: args.n or FAMILIES[f].n for f in families}
    tasks = []
    for f in families:
        reps = list(range(args.replicates or FAMILIES[f].replicates))
        tasks += [(f, reps[i:i + args.chunk], n_of[f], args.seed)
                  for i in range(0, len(reps), args.chunk)]
    total = sum(len(t[1]) for t in tasks)
    start = time.perf_counter()
    outcomes: list[dict] = []
    with tqdm(total=total, unit="fit", file=sys.stderr) as bar:
        if args.workers <= 1:
            for task in tasks:
                outcomes += run_chunk(*task)
                bar.update(len(task[1]))
        else:
            with ProcessPoolExecutor(args.workers) as pool:
                futures = {pool.submit(run_chunk, *task): task for task in tasks}
                for future in as_completed(futures):
                    outcomes += future.result()
                    bar.update(len(futures[future][1]))
    seconds = time.perf_counter() - start
    table = summarise(outcomes, n_of)
    kept: list[str] = []
    if args.merge:
        table, kept = merged(table, args.out, families)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.6g")
    args.out.with_suffix(".md").write_text(
        markdown(table, outcomes, args, kept))
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table[["family", "row", "used", "size", "size_in_range", "coverage",
                     "coverage_in_range", "failed", "warned", "noticed", "nonconverged"]]
              .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{total} replicates in {seconds:.0f} s; wrote {args.out.with_suffix('.md')} and "
          f"{args.out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: logistic() against statsmodels' formula interface on 1,000,000 rows.

Simulated survey: 1,000,000 respondents, 15 categorical factors (11 with 4
levels, 3 with 3, 1 with 2: 40 parameters plus the intercept), binary outcome
from a known logistic model, fixed seed. Measured in one run:

* adjusted fit through ``analysis.models.logistic`` (all 15 factors; the
  call also fits the 15 crude models) against ``statsmodels.formula.api.logit``
  with the same formula (``result.info["formula"]``) on the same rows;
  medians of ``--runs`` runs (default 3); estimates compared to 1e-6;
* the 15 crude models together (fitting engine, after encoding);
* peak memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (peak resident
  set size of the process) read after our fits and before statsmodels runs.

Run: ``PYTHONPATH=src python benchmarks/bench_logistic.py [--rows N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
import warnings

import numpy as np
import pandas as pd

LEVELS = [4] * 11 + [3] * 3 + [2]


CONTINUOUS = {"age": ("years", 45.0, 12.0), "bmi": ("kg/m²", 26.0, 4.0),
              "hours_sitting": ("h/day", 6.0, 2.5)}


def simulate(n: int, seed: int = 2024, continuous: bool = False):
    from analysis.codebook import Codebook
    from analysis.ledger import Ledger
    from analysis.survey import Survey

    rng = np.random.default_rng(seed)
    variables, columns, lp = {}, {}, np.full(n, -1.0)
    for i, k in enumerate(LEVELS):
        name = f"f{i + 1:02d}"
        labels = [f"L{j}" for j in range(k)]
        codes = rng.integers(0, k, n).astype(np.int8)
        effects = rng.normal(0, 0.3, k)
        effects[0] = 0
        lp += effects[codes]
        columns[name] = pd.Categorical.from_codes(codes, categories=labels)
        variables[name] = {"type": "categorical", "label": f"Factor {i + 1}",
                           "levels": {j + 1: lab for j, lab in enumerate(labels)},
                           "role": "exposure"}
    if continuous:  # three covariates with many distinct values: no pattern compression
        for name, (unit, mean, sd) in CONTINUOUS.items():
            values = np.round(rng.normal(mean, sd, n), 2)
            lp += 0.02 * (values - mean) / sd * 5
            columns[name] = values
            variables[name] = {"type": "numeric", "label": name, "unit": unit,
                               "role": "confounder"}
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(np.int8)
    columns["spasm"] = pd.Categorical.from_codes(y, categories=["No", "Yes"])
    variables["spasm"] = {"type": "binary", "label": "Spasm", "role": "outcome"}
    data = pd.DataFrame(columns, index=pd.RangeIndex(2, n + 2, name="line"))
    cb = Codebook.from_dict({"name": "bench", "variables": variables})
    return Survey(data, cb, Ledger(n_read=n), source="simulated")


def timed(fn, runs):
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import scipy
    import statsmodels
    import statsmodels.formula.api as smf

    from analysis.models import logistic
    from analysis.models.design import encode, factor_term
    from analysis.models.fitting import fit_terms

    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"statsmodels {statsmodels.__version__}, scipy {scipy.__version__}; "
          f"{os.cpu_count()} cores, {platform.machine()} {platform.system()}")
    np.show_config() if os.environ.get("SHOW_BLAS") else None
    survey = simulate(args.rows)
    factors = [f"f{i + 1:02d}" for i in range(len(LEVELS))]
    print(f"{args.rows:,} rows, {len(factors)} factors, "
          f"{sum(k - 1 for k in LEVELS)} parameters + intercept")

    warnings.simplefilter("ignore")
    ours_t, ours_all, result = timed(
        lambda: logistic(survey, exposures=factors, adjust_for=[]), args.runs)
    enc = {f: encode(survey.data, survey.codebook, f) for f in factors}
    y = (survey.data["spasm"] == "Yes").to_numpy(float)
    crude_t, crude_all, _ = timed(
        lambda: [fit_terms(f, [factor_term(enc[f])], enc, y) for f in factors], args.runs)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    start = time.perf_counter()
    tests = result.tests
    tests_t = time.perf_counter() - start

    frame = survey.data.copy()
    frame["spasm"] = (frame["spasm"] == "Yes").astype(float)
    smf_t, smf_all, ref = timed(
        lambda: smf.logit(result.info["formula"], frame).fit(disp=False), args.runs)

    ours = result.tidy("adjusted").set_index("term")
    worst = 0.0
    for name, b in ref.params.items():
        if name == "Intercept":
            continue
        var, level = name.split(",")[0][2:], name.split("[T.")[1][:-1]
        worst = max(worst, abs(np.log(ours.loc[f"{var}[{level}]", "estimate"]) - b))
    print(f"method chosen: {result.info['method']}")
    print(f"logistic() (adjusted + 15 crude), median of {args.runs}: {ours_t:.2f} s "
          f"{[round(t, 2) for t in ours_all]}")
    print(f"15 crude models together, median: {crude_t:.3f} s "
          f"{[round(t, 3) for t in crude_all]}")
    print(f"smf.logit same formula, median of {args.runs}: {smf_t:.2f} s "
          f"{[round(t, 2) for t in smf_all]}")
    print(f"ratio ours / smf: 1/{smf_t / ours_t:.1f}")
    print(f"max |log OR difference|: {worst:.2e}")
    print(f"peak RSS during our fits (getrusage ru_maxrss): {peak_gib:.2f} GiB")
    print(f"LR and trend tests on first access (.tests, {len(tests)} rows): {tests_t:.2f} s")


if __name__ == "__main__":
    main()

"""Benchmark: logistic() against statsmodels' formula interface, two designs, 10^6 and 10^7 rows.

Simulated survey: 15 categorical factors (11 with 4 levels, 3 with 3, 1 with
2: 40 parameters plus the intercept), binary outcome from a known logistic
model, fixed seed. Design ``factors``: those factors only; design
``continuous``: the factors plus three continuous covariates (age, BMI,
hours sitting; values to 2 decimals, so almost every respondent is their own
covariate pattern and the fit is on rows). Measured in one run of this script:

* ``logistic(survey, exposures=factors, adjust_for=covariates)``: the
  adjusted model and the 15 crude models, medians of ``--runs`` runs;
* ``statsmodels.formula.api.logit`` with the same formula
  (``result.info["formula"]``) on the same rows (the adjusted model only),
  medians of ``--runs`` runs (``--smf-runs`` to run it fewer times at 10^7);
* the largest difference of an adjusted coefficient (log odds ratio) between
  the two;
* peak memory of each: every (size, design, tool) runs in a fresh process,
  whose ``getrusage(RUSAGE_SELF).ru_maxrss`` is read at its end; the
  simulated survey is part of both.

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_logistic.py \
        --sizes 1000000 10000000 --designs factors continuous --runs 3

It prints one line per (size, design) and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

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


FACTORS = [f"f{i + 1:02d}" for i in range(len(LEVELS))]


def worker(tool: str, n: int, design: str, runs: int, out: Path) -> None:
    """One tool on one survey in this process: times, peak memory, the adjusted coefficients."""
    warnings.simplefilter("ignore")
    covariates = list(CONTINUOUS) if design == "continuous" else []
    survey = simulate(n, continuous=design == "continuous")
    if tool == "ours":
        from analysis.models import logistic

        median, times, result = timed(
            lambda: logistic(survey, exposures=FACTORS, adjust_for=covariates), runs)
        fit = result.models["adjusted"]
        params = dict(zip(fit.design.names, map(float, fit.params), strict=True))
        extra = {"method": result.info["method"], "formula": result.info["formula"]}
    else:
        import statsmodels.formula.api as smf

        formula = json.loads(out.with_suffix(".formula").read_text())
        frame = survey.data.copy()
        frame["spasm"] = (frame["spasm"] == "Yes").astype(float)
        del survey
        median, times, ref = timed(lambda: smf.logit(formula, frame).fit(disp=False), runs)
        params = {_our_name(k): float(v) for k, v in ref.params.items()}
        extra = {}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    out.write_text(json.dumps({"median": median, "times": times, "peak_gib": peak,
                               "params": params, **extra}))


def _our_name(name: str) -> str:
    """statsmodels' ``C(f01, Treatment(reference='L0'))[T.L2]`` -> ``f01[L2]``."""
    if name.startswith("C("):
        return f"{name[2:].split(',')[0]}[{name.split('[T.')[1][:-1]}]"
    return name


def run(tool: str, n: int, design: str, runs: int, work: Path) -> dict:
    out = work / f"{tool}-{n}-{design}.json"
    if tool == "smf":
        out.with_suffix(".formula").write_text(
            json.dumps(json.loads((work / f"ours-{n}-{design}.json").read_text())["formula"]))
    code = subprocess.run([sys.executable, __file__, "--worker", tool, "--sizes", str(n),
                           "--designs", design, "--runs", str(runs), "--out", str(out)],
                          capture_output=True, text=True, check=False)
    if code.returncode != 0:
        raise SystemExit(f"{tool} at n={n}, {design}: failed\n{code.stderr[-3000:]}")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--designs", nargs="+", default=["factors", "continuous"],
                        choices=["factors", "continuous"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smf-runs", type=int, default=None,
                        help="runs of statsmodels (default: --runs)")
    parser.add_argument("--worker", choices=["ours", "smf"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.sizes[0], args.designs[0], args.runs, args.out)
        return

    import scipy
    import statsmodels

    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"statsmodels {statsmodels.__version__}, scipy {scipy.__version__}; "
          f"{len(os.sched_getaffinity(0))} cores, {platform.machine()} {platform.system()}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-logistic-") as tmp:
        for n in args.sizes:
            for design in args.designs:
                load = os.getloadavg()[0]
                ours = run("ours", n, design, args.runs, Path(tmp))
                ref = run("smf", n, design, args.smf_runs or args.runs, Path(tmp))
                worst = max(abs(ours["params"][k] - v) for k, v in ref["params"].items())
                row = {"n": n, "design": design, "ours": ours, "smf": ref, "worst": worst,
                       "load": (load, os.getloadavg()[0])}
                rows.append(row)
                print(f"n={n:,} {design} ({ours['method']}, {len(ref['params'])} parameters): "
                      f"logistic() {ours['median']:.2f} s {[round(t, 2) for t in ours['times']]},"
                      f" {ours['peak_gib']:.2f} GiB; smf.logit {ref['median']:.2f} s "
                      f"{[round(t, 2) for t in ref['times']]}, {ref['peak_gib']:.2f} GiB; "
                      f"ratio 1/{ref['median'] / ours['median']:.1f}; largest coefficient "
                      f"difference {worst:.1e}; load average {load:.1f} -> "
                      f"{row['load'][1]:.1f}", flush=True)
    print("\n| rows | design | `logistic()` (s) | peak GiB | `smf.logit` (s) | peak GiB "
          "| ratio | largest difference | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['design']} | {r['ours']['median']:.2f} | "
              f"{r['ours']['peak_gib']:.2f} | {r['smf']['median']:.1f} | "
              f"{r['smf']['peak_gib']:.2f} | 1/{r['smf']['median'] / r['ours']['median']:.1f} "
              f"| {r['worst']:.1e} | {r['load'][0]:.1f}-{r['load'][1]:.1f} |")


if __name__ == "__main__":
    main()

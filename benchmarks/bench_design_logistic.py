"""Benchmark: design-based logistic fits and standardised prevalences, rows against cells.

The example survey (``analysis.simulate``, seed 1) has weights, strata and
PSUs; ``logistic(design=True)`` refits each model with the weights and a
Taylor-linearised covariance (:mod:`analysis.models.survey_logit`). A model
whose covariates take few values (the crude models of the factors) is fitted
on its (covariate pattern x PSU) cells; one with a continuous covariate on
its rows. Measured in one run, on the same fits:

* ``design_logistic_fit(fit, design, rows, cells=False)`` against
  ``cells=True`` for every crude model of a coded exposure (their sum),
  medians of ``--runs`` runs, and the largest relative difference of an
  estimate and of a standard error between the two;
* ``standardise(result, survey)`` of those models with their cells against
  the same fits without them (on rows), medians, and the largest relative
  difference of a standardised prevalence or its SE.

With ``--baseline SRC`` (another checkout's ``src``, e.g. main's) it also
times, in a fresh process for each of the two ``src`` and one run each,
``logistic(design=True)`` of the example's main exposures (the report's first
model set, continuous covariates included) and ``standardise()`` of it, with
each process's peak memory and the largest relative difference of an odds
ratio or prevalence ratio between the two.

Run::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_design_logistic.py --sizes 1000000 --runs 3
    PYTHONPATH=src .venv/bin/python benchmarks/bench_design_logistic.py --sizes 1000000 \
        --baseline ../main/src
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import warnings
from dataclasses import replace

import numpy as np
from bench_standardise import timed  # median of runs, and the last result


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from analysis.load import load_survey
from analysis.models import logistic
from analysis.models.standardise import standardise
from analysis.report.sections import split_exposures
from analysis.simulate import simulate_survey
survey = load_survey(simulate_survey(int(sys.argv[1]), 1), sys.argv[2], on_invalid="exclude")
exposures = split_exposures(survey)[0]
start = time.perf_counter()
result = logistic(survey, None, exposures, None, design=True)
fit = time.perf_counter() - start
start = time.perf_counter()
ratios = standardise(result, survey)
std = time.perf_counter() - start
print(json.dumps({"fit": fit, "standardise": std,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "or": result.table[["or_crude", "or_adjusted"]].to_numpy().ravel().tolist(),
                  "pr": ratios.table[["pr_crude", "pr_adjusted"]].to_numpy().ravel().tolist()}))
"""


def against(baseline: str, n: int, codebook) -> str:
    """One run of the report's first model set under ``baseline``'s src and this one's."""
    import json
    import sys
    from pathlib import Path

    here = str(Path(__file__).resolve().parents[1] / "src")
    out = {}
    for name, src in (("baseline", baseline), ("this checkout", here)):
        env = {**os.environ, "PYTHONPATH": src, "MPLBACKEND": "Agg"}
        run = subprocess.run([sys.executable, "-c", CHILD, str(n), str(codebook)], env=env,
                             capture_output=True, text=True, check=True)
        out[name] = json.loads(run.stdout.strip().splitlines()[-1])
    a, b = out["baseline"], out["this checkout"]
    diff = max(float(np.nanmax(np.abs(np.array(b[k], float) / np.array(a[k], float) - 1)))
               for k in ("or", "pr"))
    return (f"| {n:,} | {a['fit']:.1f} | {b['fit']:.1f} | {a['fit'] / b['fit']:.1f} | "
            f"{a['standardise']:.1f} | {b['standardise']:.1f} | "
            f"{a['standardise'] / b['standardise']:.1f} | {a['peak']:.2f} | {b['peak']:.2f} | "
            f"{diff:.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", help="another checkout's src: the report's first "
                        "model set timed under it and under this checkout")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from pathlib import Path

    from analysis.design_based import survey_design
    from analysis.load import load_survey
    from analysis.models import logistic
    from analysis.models.standardise import complete_rows, standardise
    from analysis.models.survey_logit import design_logistic_fit
    from analysis.simulate import simulate_survey

    codebook = Path(__file__).resolve().parents[1] / "data" / "codebooks" / "backpain_survey.yml"
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores")
    print("load before:", uptime())
    lines = []
    for n in args.sizes:
        survey = load_survey(simulate_survey(n, 1), codebook, on_invalid="exclude")
        factors = [v for v in survey.codebook.variables
                   if survey.codebook[v].role == "exposure"
                   and str(survey.data[v].dtype) == "category"]
        result = logistic(survey, None, factors, [], design=True)
        crude = {k: f for k, f in result._fits.items() if k.startswith("crude")}
        design, rows = survey_design(survey), complete_rows(survey, result.info)
        n_cells = sum(f.cells.X.shape[0] for f in crude.values())

        def refit(cells: bool, crude=crude, design=design, rows=rows):
            fits = {k: replace(f) for k, f in crude.items()}
            for f in fits.values():
                design_logistic_fit(f, design, rows, cells=cells)
            return fits

        t_rows, on_rows = timed(lambda: refit(False), args.runs)
        t_cells, on_cells = timed(lambda: refit(True), args.runs)
        d_est = max(np.max(np.abs(on_cells[k].params / on_rows[k].params - 1)) for k in crude)
        d_se = max(np.max(np.abs(on_cells[k].bse / on_rows[k].bse - 1)) for k in crude)
        s_cells, st_cells = timed(lambda r=result, s=survey: standardise(r, s), args.runs)
        kept = {k: f.cells for k, f in result._fits.items()}
        for f in result._fits.values():
            f.cells = None
        s_rows, st_rows = timed(lambda r=result, s=survey: standardise(r, s), args.runs)
        for k, f in result._fits.items():
            f.cells = kept[k]
        cols = ["risk", "se"]
        d_std = float(np.max(np.abs(st_cells.risks[cols].to_numpy()
                                    / st_rows.risks[cols].to_numpy() - 1)))
        line = (f"| {n:,} | {len(crude)} | {n_cells:,} | {t_rows:.2f} | {t_cells:.3f} | "
                f"{t_rows / t_cells:.0f} | {max(d_est, d_se):.1e} | {s_rows:.2f} | "
                f"{s_cells:.2f} | {s_rows / s_cells:.1f} | {d_std:.1e} |")
        print(line, flush=True)
        lines.append(line)
    if args.baseline:
        rows = [against(args.baseline, n, codebook) for n in args.sizes]
        print("load after the baseline runs:", uptime())
        print("\n| n | design fits, baseline (s) | this (s) | speed-up | standardise, baseline "
              "(s) | this (s) | speed-up | peak GiB, baseline | this | max rel. diff. OR/PR |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
    print("load after:", uptime())
    print("\n| n | crude models | cells (all) | design fits, rows (s) | cells (s) | ratio | "
          "max rel. diff. est./SE | standardise, rows (s) | cells (s) | ratio | "
          "max rel. diff. |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The full pipeline at 10^4 ... 10^7 respondents: time per stage, total, peak memory.

Pipeline: simulate the example survey (``analysis.simulate``) and write it as
Parquet (above 10^6 respondents with ``write_survey_chunked``, a million rows
per row group, so the survey is never whole in memory; "simulate" then
includes the writing); then ``backpain report`` on that file, whose four notebooks validate
it (``load_survey``; ``render_reports`` validates once for the run and the
notebooks read the validated survey from its cache), score the questionnaires, build Table 1 and the
prevalence tables, fit the crude and adjusted logistic models (main and
sub-sample), draw every figure and write the HTML reports.

Each run is a fresh child process (so memory is the run's own). Inside it
the in-process stages are timed once for the breakdown (load, score, Table 1,
logistic, figures), then ``render_reports`` runs the notebooks; the kernel
start-up of each notebook (a fixed cost, measured on an empty notebook in
the same run) is subtracted, as the issue asks ("kernel start excluded").
Peak memory is the larger of the child's and its kernels' maximum resident
set size (``getrusage``). Medians of ``--runs`` runs; growth is reported as
the exponent b of time ~ n^b between successive sizes.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py --sizes 10000 100000 1000000 [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "data" / "codebooks" / "backpain_survey.yml"

CHILD = r"""
import json, resource, sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
n, seed, work, codebook = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
CHUNKED_ABOVE = 1_000_000
times = {}

def stage(name, fn):
    start = time.perf_counter()
    out = fn()
    times[name] = time.perf_counter() - start
    return out

from analysis.simulate import simulate_survey, write_survey, write_survey_chunked
data = work / "survey.parquet"
if n <= CHUNKED_ABOVE:
    frame = stage("simulate", lambda: simulate_survey(n, seed))
    stage("write parquet", lambda: write_survey(frame, data))
    del frame
else:  # drawn and written a million rows (one row group) at a time: memory of one chunk
    stage("simulate", lambda: write_survey_chunked(n, seed, data, chunk=CHUNKED_ABOVE))
    times["write parquet"] = 0.0  # included in "simulate"

import matplotlib
matplotlib.use("Agg")
from analysis import load_survey, figures
from analysis.describe import prevalence, table_one
from analysis.instruments import score_instruments
from analysis.models import logistic
from analysis.report.sections import split_exposures

survey = stage("validate", lambda: load_survey(data, codebook, on_invalid="exclude"))
# the scored survey is not kept: in the reports scoring and model fitting run in
# different notebooks (kernels), so the pipeline never holds both at once
stage("score", lambda: score_instruments(survey)[0])
stage("table 1", lambda: table_one(survey))
main = split_exposures(survey)[0]
result = stage("logistic (crude + adjusted)",
               lambda: logistic(survey, None, main, None,
                                interactions=[("heavy_lifting", "posture")]))
factors = [v for v in main if str(survey.data[v].dtype) == "category"]
# the forest plot needs only the table: the pipeline draws the other figures in notebooks
# that hold no model (its design matrix is 2.9 GiB at 10^7)
estimates = result.table
del result
def draw():
    for ax in (figures.forest_plot(estimates), figures.participant_flow(survey),
               figures.prevalence_plot(prevalence(survey, by=factors)),
               figures.missingness_plot(survey)):
        figures.save_figure(ax, work / f"figure_{id(ax)}", formats=("png",))
stage("figures", draw)
del survey

import nbformat
from analysis.report import render_reports
from analysis.report.run import run_notebook
empty = nbformat.v4.new_notebook()
empty.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                "language": "python"}
empty.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
nbformat.write(empty, work / "empty.ipynb")
kernel = stage("kernel start (one notebook)", lambda: run_notebook(work / "empty.ipynb", {}))
summary = stage("HTML reports (4 notebooks)",
                lambda: render_reports(data, codebook, work / "reports", progress=False))
times["notebooks"] = int(len(summary))
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 2**20
print(json.dumps({"times": times, "peak_gib": peak}))
"""


def run_once(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="backpain-bench-") as work:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(seed), work,
                              str(CODEBOOK)], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"run at n={n} failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    t = result["times"]
    # the pipeline: simulate + write + the reports, without the notebooks' kernel start-up
    t["pipeline, kernel start excluded"] = (
        t["simulate"] + t["write parquet"] + t["HTML reports (4 notebooks)"]
        - t["notebooks"] * t["kernel start (one notebook)"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    import numpy
    import pandas
    import statsmodels

    print(f"python {platform.python_version()}, numpy {numpy.__version__}, pandas "
          f"{pandas.__version__}, statsmodels {statsmodels.__version__}; "
          f"{len(os.sched_getaffinity(0))} cores, {platform.machine()}", flush=True)
    rows = []
    for n in args.sizes:
        runs = [run_once(n, args.seed + k) for k in range(args.runs)]
        stages = list(runs[0]["times"])
        median = {s: statistics.median(r["times"][s] for r in runs) for s in stages}
        peak = statistics.median(r["peak_gib"] for r in runs)
        total = median["pipeline, kernel start excluded"]
        rows.append({"n": n, "median": median, "peak_gib": peak,
                     "totals": [r["times"]["pipeline, kernel start excluded"] for r in runs]})
        print(f"\nn = {n:,}: pipeline (kernel start excluded) median {total:.1f} s "
              f"[{', '.join(f'{x:.1f}' for x in rows[-1]['totals'])}], peak {peak:.2f} GiB",
              flush=True)
        for s in stages:
            if s != "notebooks":
                print(f"    {s:<34}{median[s]:8.2f} s", flush=True)
    print("\n| n | pipeline (s) | simulate | validate | score | Table 1 | logistic | figures "
          "| reports | peak GiB | growth |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    previous = None
    for row in rows:
        m = row["median"]
        total = m["pipeline, kernel start excluded"]
        growth = ("" if previous is None else
                  f"n^{math.log(total / previous[1]) / math.log(row['n'] / previous[0]):.2f}")
        print(f"| {row['n']:,} | {total:.1f} | {m['simulate']:.2f} | {m['validate']:.2f} | "
              f"{m['score']:.2f} | {m['table 1']:.2f} | {m['logistic (crude + adjusted)']:.2f} | "
              f"{m['figures']:.2f} | {m['HTML reports (4 notebooks)']:.1f} | "
              f"{row['peak_gib']:.2f} | {growth} |")
        previous = (row["n"], total)


if __name__ == "__main__":
    main()

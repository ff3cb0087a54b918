"""The full pipeline at 10^4 ... 10^7 respondents: time per stage, total, peak memory.

Pipeline: simulate the example survey (``analysis.simulate``) and write it as
Parquet (above 10^6 respondents with ``write_survey_chunked``, a million rows
per row group, so the survey is never whole in memory; "simulate" then
includes the writing); then ``backpain report`` on that file, whose four notebooks validate
it (``load_survey``; ``render_reports`` validates once for the run and the
notebooks read the validated survey from its cache), score the questionnaires, build Table 1 and the
prevalence tables, fit the crude and adjusted logistic models (main and
sub-sample), draw every figure and write the HTML reports.

Each run uses three fresh processes, so every peak of memory is attributable:
one simulates and writes the file (a million rows at a time above 10^6), one
times the stages one by one for the breakdown (validate, score, Table 1,
logistic, figures; the reports repeat this work, so it is not part of the
pipeline's time or memory), and one runs ``render_reports`` (it validates
once, then each notebook in its own kernel). The kernel start-up of each
notebook (a fixed cost, measured on an empty notebook in the same run) is
subtracted, as the issue asks ("kernel start excluded"). The pipeline's peak
memory is the largest maximum resident set size (``getrusage``) of the
simulating process, the reporting process and its kernels; each is printed.
Medians of ``--runs`` runs; growth is reported as the exponent b of
time ~ n^b between successive sizes.

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

PRELUDE = r"""
import json, resource, sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
n, seed, work, codebook = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
data = work / "survey.parquet"
times = {}

def stage(name, fn):
    start = time.perf_counter()
    out = fn()
    times[name] = time.perf_counter() - start
    return out

def gib(who):
    return resource.getrusage(who).ru_maxrss / 2**20
"""

# 1. the survey file: drawn in one piece up to 10^6 rows, else a million rows at a time
SIMULATE = PRELUDE + r"""
from analysis.simulate import simulate_survey, write_survey, write_survey_chunked
if n <= 1_000_000:
    frame = stage("simulate", lambda: simulate_survey(n, seed))
    stage("write parquet", lambda: write_survey(frame, data))
else:
    stage("simulate", lambda: write_survey_chunked(n, seed, data, chunk=1_000_000))
    times["write parquet"] = 0.0  # included in "simulate"
print(json.dumps({"times": times, "peak": {"simulate": gib(resource.RUSAGE_SELF)}}))
"""

# 2. the stages one by one, in one process, for the breakdown (the reports repeat them)
STAGES = PRELUDE + r"""
import matplotlib
matplotlib.use("Agg")
from analysis import load_survey, figures
from analysis.describe import prevalence, table_one
from analysis.instruments import score_instruments
from analysis.models import logistic
from analysis.report.sections import split_exposures

survey = stage("validate", lambda: load_survey(data, codebook, on_invalid="exclude"))
stage("score", lambda: score_instruments(survey)[0])
stage("table 1", lambda: table_one(survey))
main = split_exposures(survey)[0]
result = stage("logistic (crude + adjusted)",
               lambda: logistic(survey, None, main, None,
                                interactions=[("heavy_lifting", "posture")]))
factors = [v for v in main if str(survey.data[v].dtype) == "category"]
estimates = result.table
del result
def draw():
    for ax in (figures.forest_plot(estimates), figures.participant_flow(survey),
               figures.prevalence_plot(prevalence(survey, by=factors)),
               figures.missingness_plot(survey)):
        figures.save_figure(ax, work / f"figure_{id(ax)}", formats=("png",))
stage("figures", draw)
print(json.dumps({"times": times, "peak": {"stages (breakdown)": gib(resource.RUSAGE_SELF)}}))
"""

# 3. the reports: validate once, then the four notebooks, each in its own kernel
REPORT = PRELUDE + r"""
import nbformat
from analysis.report import render_reports
from analysis.report.run import run_notebook
empty = nbformat.v4.new_notebook()
empty.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                "language": "python"}
empty.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]})]
nbformat.write(empty, work / "empty.ipynb")
stage("kernel start (one notebook)", lambda: run_notebook(work / "empty.ipynb", {}))
summary = stage("HTML reports (4 notebooks)",
                lambda: render_reports(data, codebook, work / "reports", progress=False))
times["notebooks"] = int(len(summary))
print(json.dumps({"times": times, "peak": {"reports": gib(resource.RUSAGE_SELF),
                                           "notebook kernels": gib(resource.RUSAGE_CHILDREN)}}))
"""


def run_once(n: int, seed: int) -> dict:
    """One pipeline run: three fresh processes, so each peak of memory is attributable."""
    times: dict = {}
    peaks: dict = {}
    with tempfile.TemporaryDirectory(prefix="backpain-bench-") as work:
        for name, code in (("simulate", SIMULATE), ("stages", STAGES), ("report", REPORT)):
            out = subprocess.run([sys.executable, "-c", code, str(n), str(seed), work,
                                  str(CODEBOOK)], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{name} at n={n} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            times |= result["times"]
            peaks |= result["peak"]
    # the pipeline: simulate + write + the reports, without the notebooks' kernel start-up;
    # its peak is the largest of its own processes (the breakdown process is not part of it)
    times["pipeline, kernel start excluded"] = (
        times["simulate"] + times["write parquet"] + times["HTML reports (4 notebooks)"]
        - times["notebooks"] * times["kernel start (one notebook)"])
    pipeline_peak = max(peaks["simulate"], peaks["reports"], peaks["notebook kernels"])
    return {"times": times, "peaks": peaks, "peak_gib": pipeline_peak}


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
        for process in runs[0]["peaks"]:
            peak_of = statistics.median(r["peaks"][process] for r in runs)
            print(f"    peak memory, {process:<21}{peak_of:8.2f} GiB", flush=True)
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

"""`backpain report` on one simulated survey: this checkout against a baseline checkout, same run.

On a shared machine the time of a report depends on what else runs, so a
change is measured against a baseline in the same run: the survey of ``n``
respondents is simulated once and written as Parquet, then ``render_reports``
(what ``backpain report`` runs: validate once, plan, then the four notebooks,
each in its own kernel) runs on it alternately with this checkout's ``src``
and with ``--baseline`` (another checkout's ``src``, with its ``notebooks``
beside it, e.g. ``git archive COMMIT src notebooks data/codebooks``), each
in a fresh process, ``--runs`` times each. Printed: each run's time, the
medians, their ratio, each run's peak memory (largest of the report process
and its kernels, ``getrusage``) and the load average before and after.

Usage::

    .venv/bin/python benchmarks/bench_report.py --n 1000000 --runs 3 --baseline /work/main/src
    .venv/bin/python benchmarks/bench_report.py --n 1000000 --runs 3 --baseline none  # this only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "data" / "codebooks" / "backpain_survey.yml"

SIMULATE = r"""
import sys
from analysis.simulate import simulate_survey, write_survey, write_survey_chunked
n, seed, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if n <= 1_000_000:
    write_survey(simulate_survey(n, seed), path)
else:
    write_survey_chunked(n, seed, path, chunk=1_000_000)
"""

REPORT = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from analysis.report import render_reports
data, codebook, out = sys.argv[1:4]
start = time.perf_counter()
summary = render_reports(data, codebook, out, progress=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "notebooks": summary["seconds"].round(2).tolist(),
                  "peak_gib": max(resource.getrusage(who).ru_maxrss for who in
                                  (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 2**20}))
"""


def report(src: Path, data: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", REPORT, str(data), str(CODEBOOK), str(out)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"report with {src} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--baseline", default="/work/main/src",
                        help="the baseline checkout's src folder, or 'none'")
    parser.add_argument("--data", type=Path, help="an existing survey file of the example")
    args = parser.parse_args()
    ours = ROOT / "src"
    trees = {"this checkout": ours}
    if args.baseline != "none":
        trees["baseline"] = Path(args.baseline).resolve()
    print(f"n = {args.n:,}; {len(os.sched_getaffinity(0))} cores; "
          + "; ".join(f"{k}: {v}" for k, v in trees.items()), flush=True)
    times: dict[str, list[dict]] = {k: [] for k in trees}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "survey.parquet"
            subprocess.run([sys.executable, "-c", SIMULATE, str(args.n), str(args.seed),
                            str(data)], check=True, env={**os.environ, "PYTHONPATH": str(ours)})
        for run in range(args.runs):
            for name, src in trees.items():  # alternately, so both meet the same load
                load = os.getloadavg()[0]
                result = report(src, data, Path(tmp) / f"reports-{run}-{len(times[name])}")
                result["load"] = (load, os.getloadavg()[0])
                times[name].append(result)
                print(f"run {run + 1}, {name}: {result['seconds']:.1f} s (notebooks "
                      f"{result['notebooks']}), peak {result['peak_gib']:.2f} GiB, load "
                      f"{load:.1f} -> {result['load'][1]:.1f}", flush=True)
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in times.items()}
    peaks = {k: statistics.median(r["peak_gib"] for r in v) for k, v in times.items()}
    for name in trees:
        print(f"{name}: median {medians[name]:.1f} s of {args.runs}, peak {peaks[name]:.2f} GiB")
    if "baseline" in medians:
        print(f"ratio this / baseline: {medians['this checkout'] / medians['baseline']:.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: the cost of standardised PRs/PDs beside the logistic fit they come from.

Same simulated survey as ``bench_logistic.py`` (15 categorical factors, 40
parameters, all exposures: 15 crude models and one adjusted model, 40
non-reference levels), default 200,000 rows. Measured in one run, medians of
``--runs`` runs:

* baseline: ``logistic(survey, method="rows")`` (the fits the report makes);
* ``standardise(result)``: every level of every exposure, crude and adjusted,
  delta method (the report's default, no design);
* the ratio of the two, and the peak resident memory after both.

``standardise`` works on the fitted design without copying it for a
main-effect exposure (a scenario sets or shifts that term's columns), so its
cost is a few passes over X per level.

Run: ``PYTHONPATH=src python benchmarks/bench_standardise.py [--rows N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
import warnings

from bench_logistic import simulate


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from analysis.models import logistic, standardise

    survey = simulate(args.rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_s, fitted = timed(lambda: logistic(survey, "spasm", method="rows",
                                               adjust_for=[]), args.runs)
        std_s, result = timed(lambda: standardise(fitted), args.runs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    levels = int((~result.table["label"].str.endswith("(reference)")).sum())
    print(f"rows {args.rows:,}; exposures {len(fitted.info['exposures'])}; levels "
          f"{levels}; runs {args.runs}; load average {os.getloadavg()[0]:.1f}")
    print(f"logistic (15 crude + adjusted) {fit_s:.2f} s; standardise (crude + adjusted PR/PD) "
          f"{std_s:.2f} s; ratio {std_s / fit_s:.2f}; peak RSS {peak:,.0f} MB")
    print(f"Python {platform.python_version()}")


if __name__ == "__main__":
    main()

"""A Newton pass summed in two halves on two threads, against one thread, same run.

A logistic fit on rows is a few passes over X (:func:`analysis.models.newton._logit_pass`:
X'WX, X'(y - p) and the log-likelihood, block by block). Since 2026-12-03 a long pass
is summed as two halves, the second in a worker thread. This times one pass of n rows
x k columns (factor-like 0/1 columns and an intercept) both ways, median of ``--runs``,
and a whole ``newton_logit`` fit both ways (the one-thread way: no worker, the same two
halves one after the other, so the estimates are equal to the last bit; printed).

Usage::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_logistic_threads.py --n 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from analysis.models import blocked, newton


def median_time(f, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=44)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(20261203)
    X = np.column_stack([np.ones(args.n), rng.integers(0, 2, (args.n, args.k - 1))]).astype(float)
    beta_true = rng.normal(0, 0.3, args.k)
    y = (rng.random(args.n) < 1 / (1 + np.exp(-(X @ beta_true - 1.5)))).astype(float)
    beta = np.zeros(args.k)
    print(f"n = {args.n:,}, k = {args.k}, cores = {len(os.sched_getaffinity(0))}, "
          f"load {os.getloadavg()[0]:.1f}")
    results = {}
    for label, pool in (("one thread", None), ("two threads", "default")):
        blocked._POOL.clear()
        if pool is None:
            blocked._POOL.append(None)
        with blocked.one_blas_thread():
            one_pass = median_time(lambda: newton._logit_pass(X, y, beta), args.runs)
        fit_time = median_time(lambda: newton.newton_logit(X, y), max(3, args.runs // 2))
        results[label] = (one_pass, fit_time, np.asarray(newton.newton_logit(X, y).params))
        print(f"{label}: one pass {one_pass:.3f} s, newton_logit {fit_time:.2f} s "
              f"(medians of {args.runs} and {max(3, args.runs // 2)})")
    (p1, f1, b1), (p2, f2, b2) = results["one thread"], results["two threads"]
    print(f"ratio two / one: pass {p2 / p1:.2f}, fit {f2 / f1:.2f}; "
          f"largest difference of the estimates {np.max(np.abs(b1 - b2)):.1e}")
    blocked._POOL.clear()


if __name__ == "__main__":
    main()

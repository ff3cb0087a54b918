"""Recovery and speed of the simulated example survey (analysis.simulate).

1. Coverage: for each of ``--runs`` clean surveys of ``--size`` respondents,
   fit the correctly specified logistic model (``sm.Logit`` on the true design
   matrix, built from :func:`analysis.simulate.true_effects`) and count how
   often the 95% Wald interval of each term covers the true log-odds ratio.
   The brief's criterion is 92-98% per term. At 200 runs a term at exactly
   95% falls outside that band with probability 0.033, so about one of the 32
   terms is expected outside by chance; the script prints that expectation
   next to the count.
2. Speed: time to simulate 1,000,000 respondents (with missingness and errors)
   and to write them as Parquet and CSV.

Usage::

    PYTHONPATH=src python benchmarks/bench_recovery.py --runs 200
    PYTHONPATH=src python benchmarks/bench_recovery.py --runs 1000 --no-speed
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis.simulate import simulate_survey, true_effects, write_survey

try:  # small fits run ~50x faster on one BLAS thread when the machine is shared
    from threadpoolctl import threadpool_limits
except ImportError:
    def threadpool_limits(limits=None):
        return contextlib.nullcontext()


def true_design(raw: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    columns = [np.ones(len(raw))]
    for row in truth.itertuples():
        if pd.isna(row.level):
            columns.append(raw[row.variable].to_numpy(dtype=float) / row.per)
        elif ":" in row.variable:
            (var_a, var_b), (code_a, code_b) = row.variable.split(":"), row.level.split(":")
            both = (raw[var_a] == int(code_a)) & (raw[var_b] == int(code_b))
            columns.append(both.to_numpy(dtype=float))
        else:
            columns.append((raw[row.variable] == int(row.level)).to_numpy(dtype=float))
    return np.column_stack(columns)


def coverage(runs: int, size: int, first_seed: int) -> pd.DataFrame:
    truth = true_effects()
    beta = truth["true_log_odds_ratio"].to_numpy()
    covered, estimates = np.zeros(len(beta)), np.zeros((runs, len(beta)))
    for run in range(runs):
        raw = simulate_survey(size, seed=first_seed + run, errors=False, missing=False)
        fit = sm.Logit(raw["spasm_12m"].to_numpy(dtype=float), true_design(raw, truth)).fit(disp=0)
        ci = fit.conf_int()[1:]
        covered += (ci[:, 0] <= beta) & (beta <= ci[:, 1])
        estimates[run] = fit.params[1:]
    return truth[["term", "true_odds_ratio"]].assign(
        mean_estimate_or=np.exp(estimates.mean(axis=0)), coverage=covered / runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--first-seed", type=int, default=1_000_000)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()

    start = time.perf_counter()
    with threadpool_limits(1):
        table = coverage(args.runs, args.size, args.first_seed)
    elapsed = time.perf_counter() - start
    outside = ~table["coverage"].between(0.92, 0.98)
    p_out = stats.binom.cdf(np.ceil(0.92 * args.runs) - 1, args.runs, 0.95) + \
        stats.binom.sf(np.floor(0.98 * args.runs), args.runs, 0.95)
    print(f"coverage of 95% CIs, {args.runs} surveys of {args.size} ({elapsed:.1f} s)")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"mean coverage {table['coverage'].mean():.4f}; range "
          f"{table['coverage'].min():.3f}-{table['coverage'].max():.3f}")
    print(f"terms outside 92-98%: {int(outside.sum())} of {len(table)} "
          f"({', '.join(table.loc[outside, 'term']) or 'none'}); "
          f"expected by chance at exactly 95%: {len(table) * p_out:.2f}")

    if not args.no_speed:
        start = time.perf_counter()
        frame = simulate_survey(1_000_000, seed=7)
        print(f"simulate 1,000,000 respondents: {time.perf_counter() - start:.2f} s")
        with tempfile.TemporaryDirectory() as folder:
            for suffix in (".parquet", ".csv"):
                start = time.perf_counter()
                write_survey(frame, Path(folder) / f"survey{suffix}")
                print(f"write {suffix}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()

"""Validation speed: ``load_survey`` against the bare reader on the same file.

A simulated 1,000,000-row, 40-column survey (1 id, 22 coded, 14 numeric,
2 counts, 1 date; missing codes and ~0.1% planted errors) is written to Parquet
and CSV. For each format, in the same run, we time the bare pandas reader and
``load_survey(..., on_invalid="exclude")`` (reading included), take the median
of ``--repeat`` runs, and print the ratio. Peak memory of validation is the
maximum resident set size of a fresh child process that only validates.

Usage::

    .venv/bin/python benchmarks/bench_validate.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import load_survey
from analysis.codebook import Codebook


def codebook() -> Codebook:
    variables: dict = {"respondent_id": {"type": "id", "label": "Respondent", "role": "id"}}
    for k in range(22):
        n_levels = 2 + k % 4
        kind = "binary" if n_levels == 2 else ("ordinal" if k % 2 else "categorical")
        spec = {"type": kind, "label": f"Factor {k}", "missing": {-9: "refused", 98: "don't know"}}
        if kind != "binary":
            spec["levels"] = {code: f"Level {code}" for code in range(1, n_levels + 1)}
        variables[f"factor_{k}"] = spec
    for k in range(14):
        variables[f"measure_{k}"] = {
            "type": "numeric",
            "label": f"Measure {k}",
            "range": [0, 100],
            "missing": {-9: "refused"},
        }
    for k in range(2):
        variables[f"count_{k}"] = {"type": "count", "label": f"Count {k}", "range": [0, 50]}
    variables["interview_date"] = {
        "type": "date",
        "label": "Interview date",
        "range": ["2020-01-01", "2025-12-31"],
    }
    return Codebook.from_dict({"name": "bench", "variables": variables})


def simulate(n: int, seed: int = 20261124) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cb = codebook()
    columns: dict[str, np.ndarray] = {"respondent_id": np.char.add("R", np.arange(n).astype(str))}
    for var in cb:
        if var.type in ("binary", "categorical", "ordinal"):
            codes = np.asarray(var.codes)
            values = rng.choice(codes, size=n).astype(np.int64)
            values[rng.random(n) < 0.02] = -9
            values[rng.random(n) < 0.01] = 98
            values[rng.random(n) < 0.0005] = 7  # a mistyped code
            columns[var.name] = values
        elif var.type == "numeric":
            values = np.round(rng.gamma(4, 8, size=n), 1)
            values[rng.random(n) < 0.02] = -9
            values[rng.random(n) < 0.0005] = 250  # out of range
            columns[var.name] = values
        elif var.type == "count":
            columns[var.name] = rng.poisson(2, size=n).astype(np.int64)
    days = rng.integers(0, 365 * 5, size=n)
    columns["interview_date"] = (np.datetime64("2020-01-01") + days).astype(str)
    frame = pd.DataFrame(columns)
    frame.loc[rng.choice(n, 100, replace=False), "respondent_id"] = "R0"  # duplicated ids
    return frame


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory(path: Path, cb_path: Path) -> float:
    code = (
        "import resource, sys\n"
        "from analysis import load_survey\n"
        f"load_survey({str(path)!r}, {str(cb_path)!r}, on_invalid='exclude')\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 2**20  # KiB -> GiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, "
        f"{platform.machine()}, cores {len(__import__('os').sched_getaffinity(0))}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cb = codebook()
        cb_path = tmp / "codebook.yml"
        cb.to_yaml(cb_path)
        frame = simulate(args.rows)
        parquet, csv = tmp / "survey.parquet", tmp / "survey.csv"
        frame.to_parquet(parquet, index=False)
        frame.to_csv(csv, index=False)
        del frame
        results = {}
        for name, path, reader in (
            ("parquet", parquet, pd.read_parquet),
            ("csv", csv, pd.read_csv),
        ):
            survey = load_survey(path, cb, on_invalid="exclude")
            read = timed(lambda p=path, r=reader: r(p), args.repeat)
            validate = timed(lambda p=path: load_survey(p, cb, on_invalid="exclude"), args.repeat)
            results[name] = {
                "rows": args.rows,
                "columns": len(cb),
                "read_s": round(read, 3),
                "load_survey_s": round(validate, 3),
                "ratio": round(validate / read, 2),
                "rows_analysed": survey.n,
                "peak_gib": round(peak_memory(path, cb_path), 2),
            }
            print(
                f"{name:8s} read {read:6.2f} s   load_survey {validate:6.2f} s   "
                f"ratio {validate / read:4.2f}   analysed {survey.n:,} of {args.rows:,}   "
                f"peak {results[name]['peak_gib']:.2f} GiB"
            )
        print(json.dumps(results))


if __name__ == "__main__":
    main()

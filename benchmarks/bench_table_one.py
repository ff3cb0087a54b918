"""Benchmark: ``table_one`` against pandas + ``tableone`` on the example survey, same run.

The example survey of ``n`` respondents is simulated once and validated
(``load_survey``, not timed). Then, each in a fresh process so its peak memory
is its own (``getrusage(RUSAGE_SELF).ru_maxrss``, the survey included):

* ``analysis.describe.table_one(survey, by=outcome)``: every characteristic
  Table 1 shows by default, overall and by the outcome, with p-values and SMDs;
* ``tableone.TableOne`` on the same pandas frame, the same columns (coded
  ones as ``categorical``, numeric ones as ``continuous``, those our rule
  shows as median [IQR] as ``nonnormal``), ``groupby`` the outcome,
  ``pval=True, smd=True``.

Medians of ``--runs`` runs. Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_table_one.py --sizes 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "data" / "codebooks" / "backpain_survey.yml"
OUTCOME = "spasm_12m"


def worker(tool: str, data: Path, runs: int, out: Path) -> None:
    warnings.simplefilter("ignore")
    from analysis import load_survey
    from analysis.codebook import CODED_TYPES
    from analysis.describe import table_one
    from analysis.describe.columns import table_columns

    survey = load_survey(data, CODEBOOK, on_invalid="exclude", keep_identifiers=False)
    columns = [c for c in table_columns(survey, None, OUTCOME) if c != OUTCOME]
    times = []
    if tool == "ours":
        for _ in range(runs):
            start = time.perf_counter()
            table = table_one(survey, by=OUTCOME, columns=columns)
            times.append(time.perf_counter() - start)
        rows = len(table)
    else:
        from tableone import TableOne

        coded = [c for c in columns if survey.codebook[c].type in CODED_TYPES]
        numeric = [c for c in columns if c not in coded]
        frame = survey.data[[*columns, OUTCOME]].copy()
        skewed = [c for c in numeric if abs(frame[c].skew()) > 1]  # our rule, for the same rows
        del survey
        for _ in range(runs):
            start = time.perf_counter()
            table = TableOne(frame, columns=columns, categorical=coded, continuous=numeric,
                             nonnormal=skewed, groupby=OUTCOME, pval=True, smd=True)
            times.append(time.perf_counter() - start)
        rows = len(table.tableone)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out.write_text(json.dumps({"median": statistics.median(times), "times": times,
                               "peak_gib": peak, "rows": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--worker", choices=["ours", "tableone"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.runs, args.out)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-table-one-") as tmp:
        for n in args.sizes:
            data = Path(tmp) / f"survey-{n}.parquet"
            subprocess.run([sys.executable, "-c",
                            "import sys; from analysis.simulate import simulate_survey, "
                            "write_survey, write_survey_chunked\n"
                            "n, seed, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]\n"
                            "write_survey(simulate_survey(n, seed), path) if n <= 10**6 else "
                            "write_survey_chunked(n, seed, path, chunk=10**6)",
                            str(n), str(args.seed), str(data)], check=True)
            row = {"n": n, "load": os.getloadavg()[0]}
            for tool in ("ours", "tableone"):
                out = Path(tmp) / f"{tool}-{n}.json"
                done = subprocess.run([sys.executable, __file__, "--worker", tool, "--data",
                                       str(data), "--runs", str(args.runs), "--out", str(out)],
                                      capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"{tool} at n={n} failed:\n{done.stderr[-3000:]}")
                row[tool] = json.loads(out.read_text())
            row["load_after"] = os.getloadavg()[0]
            results.append(row)
            print(f"n={n:,}: table_one {row['ours']['median']:.2f} s "
                  f"{[round(t, 2) for t in row['ours']['times']]}, {row['ours']['peak_gib']:.2f}"
                  f" GiB; tableone {row['tableone']['median']:.2f} s "
                  f"{[round(t, 2) for t in row['tableone']['times']]}, "
                  f"{row['tableone']['peak_gib']:.2f} GiB; ratio 1/"
                  f"{row['tableone']['median'] / row['ours']['median']:.1f}; load "
                  f"{row['load']:.1f} -> {row['load_after']:.1f}", flush=True)
    print("\n| rows | `table_one` (s) | peak GiB | pandas + `tableone` (s) | peak GiB | ratio "
          "| load |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']:,} | {r['ours']['median']:.2f} | {r['ours']['peak_gib']:.2f} | "
              f"{r['tableone']['median']:.2f} | {r['tableone']['peak_gib']:.2f} | 1/"
              f"{r['tableone']['median'] / r['ours']['median']:.1f} | "
              f"{r['load']:.1f}-{r['load_after']:.1f} |")


if __name__ == "__main__":
    main()

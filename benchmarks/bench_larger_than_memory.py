"""A survey larger than memory: validation, flow, prevalence, patterns and models in DuckDB.

A simulated survey of ``--rows`` respondents (default 10^8) is written as a
folder of Parquet files, one per chunk of ``--rows-per-file`` rows, by numpy +
pyarrow in a child process (so generation holds one chunk at a time, well
under 2 GiB). Columns: an int64 identifier (delta-encoded, a few repeats
planted), the binary outcome ``spasm`` and 7 small-integer factors and
measures (int8, missing codes and ~1e-5 planted errors). Written with
dictionary encoding and zstd, this takes about 2.3 bytes per row on disk:
23 MB at 10^7 rows, 232 MB at 10^8 (generation: ~15 s and 0.2 GiB at 10^8).

Measured on the 2-core, 24 GiB machine, shared with other jobs (load average
~3; run-to-run spread up to 1.5x), DuckDB 2.0.1, memory_limit 2GB, threads 2,
medians of 3 runs, each in a fresh process:

=========  ========  ========  ==========  ========  ========  ========
rows       load      preval.   patterns    logistic  total     peak RSS
=========  ========  ========  ==========  ========  ========  ========
10^7       1.2 s     0.5 s     0.8 s       0.6 s     3.1 s     1.05 GiB
10^8       15.4 s    5.7 s     8.7 s       6.4 s     44 s      2.22 GiB
10^8 [*]   7.3 s     10.8 s    13.5 s      19.7 s    52 s      0.37 GiB
=========  ========  ========  ==========  ========  ========  ========

[*] ``--no-duplicate-ids``: without the hash aggregate over 10^8
identifiers the peak memory falls to 0.37 GiB; its scans ran on a busier
machine, hence the slower steps.

The timed part, run ``--repeat`` times, each in a fresh child process whose
peak resident memory (``ru_maxrss``) is reported:

1. ``load_parquet_survey`` (one validation scan, plus one aggregate for
   duplicate identifiers unless ``--no-duplicate-ids``),
2. ``.flow`` and ``.ledger_counts`` (already counted),
3. ``.prevalence(by=[3 factors])`` (one GROUPING SETS scan),
4. ``.covariate_patterns([6 factors])`` (one GROUP BY scan),
5. ``.logistic(spasm ~ 3 exposures + 3 confounders)`` (one scan, then
   GLMs on the patterns).

Usage::

    .venv/bin/python benchmarks/bench_larger_than_memory.py --rows 10000000 --repeat 3
    .venv/bin/python benchmarks/bench_larger_than_memory.py            # 10^8 rows
    .venv/bin/python benchmarks/bench_larger_than_memory.py --dir /tmp/ltm  # keep the data
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CODEBOOK = {
    "name": "bench_larger_than_memory",
    "variables": {
        "respondent_id": {"type": "id", "label": "Respondent", "role": "id"},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "missing": {9: "prefer not to say"}, "role": "confounder"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "range": [18, 99],
                "missing": {-9: "refused"}},
        "age_group": {"type": "ordinal", "label": "Age group",
                      "levels": {1: "18-34", 2: "35-54", 3: "55+"}, "role": "confounder"},
        "smoking": {"type": "categorical", "label": "Smoking",
                    "levels": {1: "Never", 2: "Former", 3: "Current"},
                    "missing": {9: "refused"}, "role": "confounder"},
        "posture": {"type": "ordinal", "label": "Self-rated posture",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"},
                    "missing": {8: "don't know"}, "role": "exposure"},
        "sport": {"type": "categorical", "label": "Main sport",
                  "levels": {0: "None", 1: "Weightlifting", 2: "Golf", 3: "American football",
                             4: "Basketball", 5: "Baseball", 6: "Running", 7: "Swimming"},
                  "missing": {99: "not answered"}, "role": "exposure"},
        "heavy_lifting": {"type": "binary", "label": "Heavy lifting at work",
                          "missing": {8: "don't know"}, "role": "exposure"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "role": "outcome",
                  "missing": {8: "don't know"}},
    },
}
EXPOSURES = ["posture", "sport", "heavy_lifting"]
CONFOUNDERS = ["sex", "age_group", "smoking"]


def generate(folder: Path, rows: int, per_file: int, seed: int = 20260901) -> None:
    """Write ``rows`` simulated respondents, one Parquet file per chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for k, start in enumerate(range(0, rows, per_file)):
        n = min(per_file, rows - start)
        rng = np.random.default_rng([seed, k])
        age = rng.integers(18, 90, n).astype(np.int8)
        cols = {
            "respondent_id": np.arange(start, start + n, dtype=np.int64),
            "sex": rng.integers(1, 3, n).astype(np.int8),
            "age": age,
            "age_group": (1 + (age >= 35) + (age >= 55)).astype(np.int8),
            "smoking": rng.choice(np.array([1, 2, 3], np.int8), n, p=[0.5, 0.3, 0.2]),
            "posture": rng.choice(np.array([1, 2, 3], np.int8), n, p=[0.5, 0.3, 0.2]),
            "sport": rng.choice(np.arange(8, dtype=np.int8), n),
            "heavy_lifting": (rng.random(n) < 0.3).astype(np.int8),
        }
        eta = (-1.5 + 0.4 * (cols["posture"] == 2) + 0.9 * (cols["posture"] == 3)
               + 0.5 * (cols["sport"] == 1) + 0.6 * cols["heavy_lifting"]
               - 0.2 * (cols["sex"] == 2) + 0.3 * (cols["smoking"] == 3))
        cols["spasm"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
        for name, code, rate in [("sex", 9, 0.01), ("age", -9, 0.02), ("posture", 8, 0.02),
                                 ("sport", 99, 0.01), ("heavy_lifting", 8, 0.01),
                                 ("spasm", 8, 0.01), ("smoking", 9, 0.01)]:
            cols[name][rng.random(n) < rate] = code
        cols["sex"][rng.random(n) < 1e-5] = 7        # unknown code
        cols["age"][rng.random(n) < 1e-5] = 120      # out of range
        if k % 10 == 1:
            cols["respondent_id"][:3] = [0, 1, 2]    # repeats of ids of the first file
        pq.write_table(pa.table(cols), folder / f"part-{k:05d}.parquet",
                       use_dictionary=[c for c in cols if c != "respondent_id"],
                       column_encoding={"respondent_id": "DELTA_BINARY_PACKED"},
                       compression="zstd")


def timed_run(folder: Path, memory_limit: str, threads: int, duplicate_ids: bool) -> dict:
    """One pass of the pipeline in this process; seconds per step and peak RSS."""
    import warnings

    from analysis.scale import load_parquet_survey

    times = {}
    start = time.perf_counter()
    lazy = load_parquet_survey(folder, CODEBOOK, memory_limit=memory_limit, threads=threads,
                               check_duplicate_ids=duplicate_ids)
    times["load (validate)"] = time.perf_counter() - start
    t = time.perf_counter()
    flow, counts = lazy.flow, lazy.ledger_counts
    times["flow + rule counts"] = time.perf_counter() - t
    t = time.perf_counter()
    prev = lazy.prevalence(by=EXPOSURES)
    times["prevalence"] = time.perf_counter() - t
    t = time.perf_counter()
    patterns = lazy.covariate_patterns(EXPOSURES + CONFOUNDERS)
    times["covariate patterns"] = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lazy.logistic("spasm", EXPOSURES, CONFOUNDERS)
    times["logistic (crude + adjusted)"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    lazy.close()
    return {
        "times": times,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "rows_read": int(flow["n"].iloc[0]),
        "rows_analysed": int(flow["n"].iloc[-1]),
        "excluded": flow.iloc[1:-1][["reason", "n"]].values.tolist(),
        "missing_codes": int(counts.loc[counts["action"] == "set missing", "n"].sum()),
        "prevalence_overall": float(prev["prevalence"].iloc[0]),
        "n_patterns": len(patterns),
        "or_poor_posture": float(model.table.loc[model.table["level"] == "Poor",
                                                 "or_adjusted"].iloc[0]),
    }


def _example_part(folder: Path, k: int, start: int, size: int, n: int, stream, schema):
    """Chunk ``k`` of the example survey as ``part-<k>.parquet``; its schema if none is given.

    The rows are exactly row group ``k`` of ``write_survey_chunked(n, seed, chunk=size)``:
    the same child stream of ``SeedSequence(seed)``, the same first id and id width, and
    the same cast of later chunks to the first chunk's column types.
    """
    import pyarrow.parquet as pq

    from analysis.simulate.build import simulate_columns, survey_frame
    from analysis.simulate.chunked import _arrow, _conform

    table = _arrow(survey_frame(simulate_columns(size, stream, first=start + 1,
                                                 width=max(7, len(str(n))))))
    table = table if schema is None else _conform(table, schema)
    pq.write_table(table, folder / f"part-{k:05d}.parquet", compression="zstd")
    return table.schema


def generate_example(folder: Path, rows: int, per_file: int, seed: int = 20240501,
                     processes: int = 2) -> None:
    """The example survey (every column, planted errors) as one Parquet file per chunk.

    The files hold the row groups :func:`analysis.simulate.write_survey_chunked` writes
    (the same rows and types), but each chunk is simulated and written straight to its
    own file by one of ``processes`` worker processes: the chunks are independent random
    streams, so 10^8 rows take about half the single-process time (49 min at load 5 as one
    file then copied into parts). The first chunk is written first: its column types are
    those of every file (a column holding planted text in it is text everywhere).
    """
    from concurrent.futures import ProcessPoolExecutor

    folder.mkdir(parents=True, exist_ok=True)
    starts = list(range(0, rows, per_file))
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    sizes = [min(per_file, rows - s) for s in starts]
    if len(starts) == 1:
        from analysis.simulate import simulate_survey, write_survey

        write_survey(simulate_survey(rows, seed), folder / "part-00000.parquet")
        return
    schema = _example_part(folder, 0, 0, sizes[0], rows, streams[0], None)
    with ProcessPoolExecutor(processes) as pool:
        jobs = [pool.submit(_example_part, folder, k, starts[k], sizes[k], rows, streams[k],
                            schema) for k in range(1, len(starts))]
        for job in jobs:
            job.result()


def report_run(folder: Path, out: Path) -> dict:
    """The plan-driven report of the Parquet folder (``backpain report folder/``), timed."""
    from analysis.report import render_reports

    codebook = Path(__file__).resolve().parents[1] / "data" / "codebooks" / "backpain_survey.yml"
    start = time.perf_counter()
    summary = render_reports(folder, codebook, out, progress=False)
    total = time.perf_counter() - start
    notebooks = {row.notebook: row.seconds for row in summary.itertuples()}
    # before the notebooks: the run's one validation, sample, release and fits
    return {"times": {"validation, sample, release (once)": total - sum(notebooks.values()),
                      **notebooks, "total": total}}


def tree_peak(process: subprocess.Popen, interval: float = 0.25) -> tuple[str, float]:
    """Wait for ``process``; its output and the peak summed RSS (GiB) of it and its children."""
    import psutil

    root = psutil.Process(process.pid)
    peak = 0.0
    while process.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()) / 2**30)
        except psutil.Error:
            pass
        time.sleep(interval)
    out = process.stdout.read()
    if process.returncode:
        raise SystemExit(f"report run failed ({process.returncode}): {out[-2000:]}")
    return out, peak


def one_file(folder: Path) -> Path:
    """The folder's rows as one Parquet file beside it (the in-memory report's input)."""
    import pyarrow.parquet as pq

    target = folder.parent / f"{folder.name}.parquet"
    if not target.exists():
        files = sorted(folder.glob("*.parquet"))
        with pq.ParquetWriter(target, pq.ParquetFile(files[0]).schema_arrow,
                              compression="zstd") as writer:
            for f in files:
                writer.write_table(pq.read_table(f))
    return target


def report_benchmark(args) -> None:
    """``--report``: the example survey as a Parquet folder, and its whole report, timed.

    ``--baseline``: each run also renders the in-memory report of the same rows (one
    Parquet file), alternating with the out-of-core one, so both see the same load.
    DuckDB's ``memory_limit`` and ``threads`` reach the kernels through the environment.
    """
    scratch = Path(tempfile.mkdtemp(prefix="backpain-report-ooc-"))
    folder = args.dir or scratch / "survey"
    env = {**os.environ, "BACKPAIN_DUCKDB_MEMORY_LIMIT": args.memory_limit,
           "BACKPAIN_DUCKDB_THREADS": str(args.threads)}
    try:
        if not folder.exists():
            t = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--dir", str(folder), "--rows",
                            str(args.rows), "--rows-per-file", str(args.rows_per_file),
                            "--child", "generate-example"], check=True)
            size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 1e6
            print(f"generated {args.rows:,} rows (example survey) in "
                  f"{time.perf_counter() - t:.1f} s, {size:,.0f} MB on disk", flush=True)
        kinds = {"out of core": folder}
        if args.baseline:
            kinds["in memory"] = one_file(folder)
        runs: dict[str, list] = {kind: [] for kind in kinds}
        for k in range(args.repeat):
            for kind, source in kinds.items():
                load = os.getloadavg()
                cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
                child = subprocess.Popen(
                    [sys.executable, __file__, "--dir", str(source), "--out",
                     str(scratch / f"report-{k}-{kind[:2]}"), "--child", "report"],
                    stdout=subprocess.PIPE, text=True, env=env)
                out, peak = tree_peak(child)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                run = json.loads(out.strip().splitlines()[-1])
                # CPU seconds of the report process and every kernel it waited for
                run |= {"peak_tree_gib": peak, "load_before": load,
                        "load_after": os.getloadavg(),
                        "cpu_s": (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)}
                runs[kind].append(run)
                print(f"run {k + 1} {kind}: total {run['times']['total']:.1f} s, CPU "
                      f"{run['cpu_s']:.1f} s, peak RSS (all "
                      f"processes) {peak:.2f} GiB, load average {load[0]:.2f} {load[1]:.2f} "
                      f"-> {run['load_after'][0]:.2f} {run['load_after'][1]:.2f}", flush=True)
                shutil.rmtree(scratch / f"report-{k}-{kind[:2]}", ignore_errors=True)
        print(f"\n{args.rows:,} rows in {len(list(folder.glob('*.parquet')))} files; DuckDB "
              f"memory_limit={args.memory_limit}, threads={args.threads}; the report's "
              f"notebooks one at a time; medians of {args.repeat} runs")
        for kind, done in runs.items():
            print(f"{kind}:")
            for step in done[0]["times"]:
                median = statistics.median(r["times"][step] for r in done)
                print(f"  {step:<30} {median:8.1f} s")
            print(f"  {'peak RSS (max of runs)':<30} "
                  f"{max(r['peak_tree_gib'] for r in done):8.2f} GiB")
            print(f"  {'CPU time (median)':<30} "
                  f"{statistics.median(r['cpu_s'] for r in done):8.1f} s")
        if args.baseline:
            ratio = (statistics.median(r["times"]["total"] for r in runs["out of core"])
                     / statistics.median(r["times"]["total"] for r in runs["in memory"]))
            print(f"out of core / in memory (total): {ratio:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def environment() -> dict:
    import duckdb
    import pandas
    import pyarrow
    import statsmodels

    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                        * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__,
            "pandas": pandas.__version__, "numpy": np.__version__,
            "statsmodels": statsmodels.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="data folder (kept; reused if it exists)")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-duplicate-ids", action="store_true")
    parser.add_argument("--report", action="store_true",
                        help="time the whole report of the example survey as a Parquet folder")
    parser.add_argument("--baseline", action="store_true",
                        help="with --report: also the in-memory report of the same rows")
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["generate", "run", "generate-example", "report"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "generate-example":
        generate_example(args.dir, args.rows, args.rows_per_file)
        return
    if args.child == "report":
        print(json.dumps(report_run(args.dir, args.out)))
        return
    if args.report:
        print(json.dumps(environment(), indent=1))
        report_benchmark(args)
        return

    if args.child == "generate":
        generate(args.dir, args.rows, args.rows_per_file)
        print(json.dumps({"peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                          / 2**20}))
        return
    if args.child == "run":
        print(json.dumps(timed_run(args.dir, args.memory_limit, args.threads,
                                   not args.no_duplicate_ids)))
        return

    print(json.dumps(environment(), indent=1))
    scratch = None
    folder = args.dir
    if folder is None:
        scratch = tempfile.mkdtemp(prefix="backpain-ltm-")
        folder = Path(scratch) / "survey"
    common = [sys.executable, __file__, "--dir", str(folder), "--rows", str(args.rows),
              "--rows-per-file", str(args.rows_per_file)]
    try:
        if not folder.exists():
            t = time.perf_counter()
            out = subprocess.run([*common, "--child", "generate"], check=True,
                                 capture_output=True, text=True).stdout
            size = sum(f.stat().st_size for f in folder.glob("*.parquet")) / 1e6
            print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s, "
                  f"{size:,.0f} MB on disk, generator peak RSS "
                  f"{json.loads(out)['peak_rss_gib']:.2f} GiB")
        runs = []
        for _ in range(args.repeat):
            flags = ["--memory-limit", args.memory_limit, "--threads", str(args.threads)]
            flags += ["--no-duplicate-ids"] if args.no_duplicate_ids else []
            out = subprocess.run([*common, *flags, "--child", "run"], check=True,
                                 capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            print(f"run {len(runs)}: total {runs[-1]['times']['total']:.1f} s, "
                  f"peak RSS {runs[-1]['peak_rss_gib']:.2f} GiB", flush=True)
        first = runs[0]
        print(f"\n{args.rows:,} rows in {len(list(folder.glob('*.parquet')))} files; "
              f"DuckDB memory_limit={args.memory_limit}, threads={args.threads}, duplicate-id "
              f"check {'off' if args.no_duplicate_ids else 'on'}; medians of {len(runs)} runs")
        for step in first["times"]:
            median = statistics.median(r["times"][step] for r in runs)
            print(f"  {step:<30} {median:8.2f} s")
        print(f"  {'peak RSS (max of runs)':<30} {max(r['peak_rss_gib'] for r in runs):8.2f} GiB")
        print(f"rows read {first['rows_read']:,}, analysed {first['rows_analysed']:,}, "
              f"excluded {first['excluded']}, missing codes set missing "
              f"{first['missing_codes']:,}, {first['n_patterns']} covariate patterns, "
              f"prevalence {first['prevalence_overall']:.4f}, adjusted OR poor posture "
              f"{first['or_poor_posture']:.3f} (true {np.exp(0.9):.3f})")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

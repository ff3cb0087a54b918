"""The report's one disclosure decision: registering, deciding, and what a notebook pays.

For the example survey (``simulate_survey(n, seed=11)``, the example codebook, its plan
and fits computed once outside the timings) this measures, as medians of ``--repeat``
runs in one process:

- ``register``: :func:`analysis.report.disclosure.report_release` (every table of the
  four report notebooks: flow, changes, missing values, Table 1, prevalence, model
  tables, questionnaires), without the fits;
- ``decide``: the suppression decision and its audit (``Release.log()``);
- ``reload``: what each notebook pays, ``Release.from_json`` of the decided release and
  one label (the saved decision is read, not remade);
- ``redecide``: the baseline, deciding again from the saved registration alone.

Usage: ``.venv/bin/python benchmarks/bench_release.py --n 1500 --repeat 3``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import json

    from analysis.load import load_survey
    from analysis.plan import fit_plan, plan
    from analysis.privacy import Release, cell_key
    from analysis.report.disclosure import report_release
    from analysis.simulate import CODEBOOK_PATH, simulate_survey

    survey = load_survey(simulate_survey(args.n, seed=11), CODEBOOK_PATH, on_invalid="exclude")
    planned = plan(survey)
    fits = fit_plan(survey, planned)
    times: dict[str, list[float]] = {"register": [], "decide": [], "reload": [],
                                     "redecide": []}
    for _ in range(args.repeat):
        start = time.perf_counter()
        release = report_release(survey, planned, fits)
        times["register"].append(time.perf_counter() - start)
        start = time.perf_counter()
        log = release.log()
        times["decide"].append(time.perf_counter() - start)
        text = release.to_json()
        start = time.perf_counter()
        Release.from_json(text).label(cell_key("analysed"))
        times["reload"].append(time.perf_counter() - start)
        bare = json.loads(text)
        bare["decision"] = None
        start = time.perf_counter()
        Release.from_json(json.dumps(bare)).log()
        times["redecide"].append(time.perf_counter() - start)
    medians = {k: statistics.median(v) for k, v in times.items()}
    print(f"n={args.n}: {len(json.loads(text)['cells'])} cells, "
          f"{len(log)} hidden ({int((log['status'] == 'secondary').sum())} complements), "
          f"all protected: {bool(log['protected'].all())}")
    for k, v in medians.items():
        print(f"{k:>9}: {v:7.3f} s (runs: {', '.join(f'{t:.3f}' for t in times[k])})")
    print(f"reload / redecide: {medians['reload'] / medians['redecide']:.4f}")


if __name__ == "__main__":
    main()

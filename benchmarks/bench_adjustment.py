"""Adjustment sets of the example's causal diagram: minimum cut against exhaustive search.

For each exposure of data/codebooks/backpain_survey.yml, the smallest sufficient set by
plan.causal.adjustment_set (a minimum vertex cut in the moral back-door graph) and by trying
every subset of the candidates by increasing size (the baseline, stopped at the first size
that has a sufficient set). Medians of 3 runs, the ratio within the run; both must find a
set of the same size.

    .venv/bin/python benchmarks/bench_adjustment.py
"""

from __future__ import annotations

import itertools
import platform
import statistics
import time
from pathlib import Path

import networkx as nx

from analysis.codebook import Codebook
from analysis.plan.causal import adjustment_set, causal_graph, is_adjustment_set

ROOT = Path(__file__).resolve().parents[1]
OUTCOME = "spasm_12m"


def smallest_by_search(graph, exposure, outcome, measured):
    ancestors = nx.ancestors(graph, exposure) | nx.ancestors(graph, outcome)
    banned = nx.descendants(graph, exposure) | nx.descendants(graph, outcome) | {exposure,
                                                                                outcome}
    candidates = [v for v in graph.nodes if v in measured and v in ancestors
                  and v not in banned]
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            if is_adjustment_set(graph, exposure, outcome, subset):
                return subset
    return None


def median_seconds(func, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print(f"python {platform.python_version()}, networkx {nx.__version__}")
    cb = Codebook.from_yaml(ROOT / "data" / "codebooks" / "backpain_survey.yml")
    graph = causal_graph(cb.analysis.causes)
    measured = set(cb.variables)
    exposures = [v for v, var in cb.variables.items() if var.role == "exposure" and v in graph]
    print("| exposure | set size | min cut (s) | search (s) | ratio |")
    print("|---|---|---|---|---|")
    total_cut = total_search = 0.0
    for x in exposures:
        cut = adjustment_set(graph, x, OUTCOME, measured)
        found = smallest_by_search(graph, x, OUTCOME, measured)
        if len(cut) != len(found):
            raise SystemExit(f"{x}: minimum cut {cut} and search {found} differ in size")
        t_cut = median_seconds(lambda x=x: adjustment_set(graph, x, OUTCOME, measured))
        t_search = median_seconds(lambda x=x: smallest_by_search(graph, x, OUTCOME, measured))
        total_cut, total_search = total_cut + t_cut, total_search + t_search
        print(f"| {x} | {len(cut)} | {t_cut:.4f} | {t_search:.4f} | {t_search / t_cut:.0f} |")
    print(f"| all {len(exposures)} | | {total_cut:.3f} | {total_search:.3f} | "
          f"{total_search / total_cut:.0f} |")


if __name__ == "__main__":
    main()

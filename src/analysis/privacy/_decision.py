"""The release's decision, step by step: implied margins, linked groups, audit rows."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.privacy._protect import PRIMARY, SECONDARY, Problem
from analysis.privacy.cells import KNOWN_LEVEL, CellKey, cell_key

LOG_COLUMNS = ["cell", "population", "levels", "where", "value", "status", "rule", "low",
               "high", "required_low", "required_high", "protected"]


def implied_relations(release) -> None:
    """Tie every cell of a declared variable to its margin (``Release.declare_levels``)."""
    done: set[CellKey] = set()
    while todo := [k for k in release._cells if k not in done]:  # margins add cells
        for key in todo:
            done.add(key)
            for variable, level in key.levels:
                if variable not in release._levels:
                    continue
                levels, missing = release._levels[variable]
                rest = {v: lv for v, lv in key.levels if v != variable}
                margin = cell_key(key.population, rest)
                parts = [margin.plus(variable, lv) for lv in levels]
                if missing is not None:
                    known = margin.plus(variable, KNOWN_LEVEL)
                    release._relate(known, tuple(parts))
                    if level == KNOWN_LEVEL or known in release._cells:
                        parts = [known]
                    release._relate(margin, (*parts, margin.plus(variable, missing)))
                else:
                    if level == KNOWN_LEVEL:
                        release._relate(key, tuple(parts))
                    release._relate(margin, tuple(parts))


def linked_groups(release) -> list[list[CellKey]]:
    """Cells linked through relations (union-find), each in registration order."""

    parent = {k: k for k in release._cells}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for total, parts in release._relations.values():
        for p in parts:
            a, b = find(total), find(p)
            if a != b:
                parent[b] = a
    groups: dict[CellKey, list[CellKey]] = {}
    for k in release._cells:
        groups.setdefault(find(k), []).append(k)
    return list(groups.values())


def audit_rows(release, group: list[CellKey], status: dict[CellKey, str],
               targets: Mapping[CellKey, tuple[float, float]]) -> list[dict]:
    """The suppression log's rows of a group: each hidden cell's audit interval and verdict."""
    hidden = [k for k in group if status[k] in (PRIMARY, SECONDARY)]
    if not hidden:
        return []
    problem = Problem(release, group)
    intervals = problem.intervals(status, hidden)
    t = release.threshold
    rows = []
    for k, (lo, hi) in zip(hidden, intervals, strict=True):
        cell = release._cells[k]
        primary = status[k] == PRIMARY
        need_lo, need_hi = targets.get(k, (1.0, t - 1.0)) if primary else (np.nan, np.nan)
        ok = (lo <= need_lo and hi >= need_hi) if primary else True
        rule = (f"count of 1 to {t - 1}: the released numbers must allow "
                f"{need_lo:g} to {need_hi:g}" if primary
                else f"complement (count >= {t}) hiding a small count")
        if primary and (need_lo, need_hi) != (1.0, t - 1.0):
            rule += " (the labels alone allow no more)"
        rows.append({"cell": str(k), "population": k.population,
                     "levels": ", ".join(f"{v}={lv}" for v, lv in k.levels),
                     "where": ", ".join(cell.where), "value": int(cell.value),
                     "status": status[k], "rule": rule, "low": lo, "high": hi,
                     "required_low": need_lo, "required_high": need_hi,
                     "protected": ok})
    return rows


__all__ = ["LOG_COLUMNS", "audit_rows", "implied_relations", "linked_groups"]

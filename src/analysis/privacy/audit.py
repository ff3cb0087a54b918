"""What a reader with a calculator can derive: the interval of each hidden cell.

A release publishes some counts exactly (or rounded), hides others behind a
label, and publishes linear relations between them (a total is the sum of
its parts). A reader who knows all of that can bound each hidden cell by
integer linear programming:

    min / max  x_k
    subject to x_total - sum(x_parts) = 0   for every published relation,
               lo_j <= x_j <= hi_j          for every cell j, x integer,

where ``[lo_j, hi_j]`` is what the release says about cell ``j``: the exact
value of a shown count, ``[r - floor(b/2), r + ceil(b/2) - 1]`` for a count
rounded to ``r`` with base ``b``, the range its label states for a hidden
count (``[1, t - 1]`` for ``"<t"``, ``[t, inf)`` for a complement) and
``[0, inf)`` for a cell that is never published. The attack is the one
statistical agencies audit against (Hundepool et al., *Statistical
Disclosure Control*, Wiley 2012, sec. 4.2 and 5.2, "the feasibility
interval"; tau-ARGUS's audit). Solved with :func:`scipy.optimize.linprog`
(HiGHS): the relaxation first, and when its optimum is not a whole number
(tables with margins are nearly always integral) the integer problem, so the
bounds are those of the integer problem, not of its relaxation.

Tested against hand-computed intervals of small tables and by the
hypothesis tests of tests/test_privacy_release.py, which build the same
problem independently from the rendered labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import bmat, csr_matrix
from scipy.sparse.csgraph import connected_components

from analysis.errors import DisclosureError

CONTRADICTION = (
    "The released counts contradict their own totals (no set of counts fits them): check "
    "that every table registered with the release uses one population per key and that its "
    "totals are the sums of its cells.")
Bound = tuple[float, float]  # (low, high); high = inf for no upper bound
Relation = tuple[int, Sequence[int]]  # (index of the total, indices of its parts)


def relation_matrix(n_cells: int, relations: Sequence[Relation]) -> np.ndarray:
    """One row per relation: +1 on the total, -1 on each part (``A x = 0``)."""
    a = np.zeros((len(relations), n_cells))
    for r, (total, parts) in enumerate(relations):
        a[r, total] += 1.0
        for p in parts:
            a[r, p] -= 1.0
    return a


def feasibility_intervals(bounds: Sequence[Bound], relations: Sequence[Relation],
                          cells: Sequence[int], *, matrix: np.ndarray | None = None
                          ) -> list[Bound]:
    """The smallest and largest integer value of each of ``cells`` that the release allows.

    Parameters
    ----------
    bounds : sequence of (low, high)
        What the release says about every cell (see the module docstring);
        ``high`` may be ``inf``.
    relations : sequence of (total, parts)
        Published equations ``x[total] = sum(x[parts])`` over cell indices.
    cells : sequence of int
        The cells to bound.
    matrix : array, optional
        :func:`relation_matrix` of ``relations``, when the caller keeps it.

    Returns
    -------
    list of (low, high), ``high = inf`` when the release leaves the cell unbounded above.

    Raises
    ------
    DisclosureError
        When no integer solution exists: the released numbers contradict
        the relations, so the release was built from inconsistent counts.

    Examples
    --------
    >>> # a + b = 13 shown, b hidden as a complement (>= 5), a hidden as "<5"
    >>> feasibility_intervals([(1, 4), (5, np.inf), (13, 13)], [(2, [0, 1])], [0, 1])
    [(1.0, 4.0), (9.0, 12.0)]
    """
    n = len(bounds)
    lo = np.array([float(b[0]) for b in bounds])
    hi = np.array([float(b[1]) for b in bounds])
    # Shown counts are constants: move them to the right-hand side, then solve each cell
    # over the hidden cells linked to it only (a small problem instead of the whole group).
    fixed = lo == hi
    if matrix is None:
        matrix = relation_matrix(n, relations) if relations else np.zeros((0, n))
    a = matrix
    rhs = -a[:, fixed] @ lo[fixed]
    free = np.flatnonzero(~fixed)
    a_free = a[:, free]
    touched = np.abs(a_free).sum(axis=1) > 0
    if np.any(~touched & (np.abs(rhs) > 1e-9)):
        raise DisclosureError(CONTRADICTION)
    a_free, rhs = a_free[touched], rhs[touched]
    # hidden cells are linked when a relation holds both: components of rows + cells
    linked = csr_matrix(a_free != 0, dtype=float)
    graph = bmat([[None, linked], [linked.T, None]], format="csr",
                 dtype=float) if linked.shape[0] else csr_matrix((len(free), len(free)))
    _, labels = connected_components(graph, directed=False)
    roots = labels[-len(free):] if len(free) else labels
    position = {int(j): i for i, j in enumerate(free)}
    out = []
    for k in cells:
        if fixed[k]:
            out.append((lo[k], lo[k]))
            continue
        members = np.flatnonzero(roots == roots[position[k]])
        rows = np.flatnonzero(np.abs(a_free[:, members]).sum(axis=1) > 0)
        sub_a = a_free[np.ix_(rows, members)] if rows.size else None
        sub_b = rhs[rows] if rows.size else None
        sub_bounds = [(lo[free[m]], None if not np.isfinite(hi[free[m]]) else hi[free[m]])
                      for m in members]
        target = int(np.flatnonzero(members == position[k])[0])
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(members.size)
            c[target] = sign
            res = linprog(c, A_eq=sub_a, b_eq=sub_b, bounds=sub_bounds, method="highs")
            if res.status == 0 and not np.allclose(res.x, np.round(res.x), atol=1e-7):
                # an integral optimum of the relaxation is the integer optimum; otherwise
                # (rare for tables with margins) solve the integer problem itself
                res = linprog(c, A_eq=sub_a, b_eq=sub_b, bounds=sub_bounds, method="highs",
                              integrality=np.ones(members.size))
            if res.status == 3:  # unbounded: only the maximum can run away
                ends.append(np.inf)
            elif res.status == 2:
                raise DisclosureError(CONTRADICTION)
            elif res.status != 0:
                raise DisclosureError(f"The disclosure audit failed to solve: {res.message}")
            else:
                ends.append(float(round(sign * res.fun)))
        out.append((ends[0], ends[1]))
    return out


def binding_cells(bounds: Sequence[Bound], relations: Sequence[Relation], cell: int,
                  maximise: bool) -> list[int]:
    """Cells whose bounds hold ``cell``'s minimum (or maximum) where it is, by the LP duals.

    Relaxing the bound of a cell with a non-zero reduced cost at the optimum
    of the relaxation moves the optimum: those are the shown counts worth
    hiding to widen ``cell``'s interval on that side (a heuristic for
    choosing complements; the audit itself is :func:`feasibility_intervals`).
    """
    n = len(bounds)
    c = np.zeros(n)
    c[cell] = -1.0 if maximise else 1.0
    res = linprog(c, A_eq=relation_matrix(n, relations) if relations else None,
                  b_eq=np.zeros(len(relations)) if relations else None,
                  bounds=[(float(lo), None if not np.isfinite(hi) else float(hi))
                          for lo, hi in bounds], method="highs")
    if res.status != 0:
        return []
    weight = np.abs(res.lower.marginals) + np.abs(res.upper.marginals)
    return [int(j) for j in np.flatnonzero(weight > 1e-9) if j != cell]


__all__ = ["Bound", "Relation", "binding_cells", "feasibility_intervals", "relation_matrix"]

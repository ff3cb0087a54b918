"""Choosing complementary suppression for one group of linked cells (see :mod:`.release`).

Private to :mod:`analysis.privacy`: :class:`Problem` holds a group's audit
problem, :class:`Protector` chooses its complements. Both read the release
only through ``threshold``, ``rounding``, ``count(key)`` and ``relations()``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Protocol

import numpy as np

from analysis.privacy.audit import binding_cells, feasibility_intervals, relation_matrix

SHOWN, PRIMARY, SECONDARY, UNRELEASED = "shown", "primary", "secondary", "unreleased"
Key = Hashable  # a CellKey of analysis.privacy.release


class Counts(Protocol):
    """What the choice reads of a :class:`~analysis.privacy.Release`."""

    threshold: int | None
    rounding: int | None

    def count(self, key: Key) -> float | None: ...

    def derived(self, key: Key) -> bool: ...

    def relations(self) -> list[tuple[Key, tuple[Key, ...]]]: ...


def round_count(value: float, base: int) -> int:
    """``value`` rounded to the nearest multiple of ``base``, halves up (7.5 -> 10 for 5)."""
    return int(base * np.floor(value / base + 0.5))


def rounding_interval(shown: int, base: int) -> tuple[int, int]:
    """The whole counts that round to ``shown`` with :func:`round_count` (never below 0)."""
    return max(0, shown - base // 2), shown + (base + 1) // 2 - 1



class Problem:
    """The audit problem of one group of linked cells (indices, relations, bounds)."""

    def __init__(self, release: Counts, group: Sequence[Key]):
        self.release = release
        self.group = list(group)
        self.index = {k: i for i, k in enumerate(self.group)}
        self.relations = [(self.index[t], [self.index[p] for p in parts])
                          for t, parts in release.relations() if t in self.index]
        self.matrix: np.ndarray | None = None

    def bounds(self, status: Mapping[Key, str]) -> list[tuple[float, float]]:
        r, out = self.release, []
        for k in self.group:
            s, v = status[k], r.count(k)
            # a derived count: no label tells the reader its range
            if s == UNRELEASED or (s == PRIMARY and r.derived(k)):
                out.append((0.0, np.inf))
            elif s == PRIMARY:
                out.append((1.0, r.threshold - 1.0))
            elif s == SECONDARY:
                out.append((float(r.threshold), np.inf))
            elif r.rounding:
                lo, hi = rounding_interval(round_count(v, r.rounding), r.rounding)
                out.append((float(lo), float(hi)))
            else:
                out.append((v, v))
        return out

    def intervals(self, status, cells: Sequence[Key], bounds=None
                  ) -> list[tuple[float, float]]:
        if self.matrix is None:
            self.matrix = relation_matrix(len(self.group), self.relations)
        return feasibility_intervals(self.bounds(status) if bounds is None else bounds,
                                     self.relations, [self.index[k] for k in cells],
                                     matrix=self.matrix)


class Protector:
    """Complementary suppression of one group by the audit (see the module docstring)."""

    def __init__(self, release: Counts, group: list[Key], status: dict[Key, str]):
        self.r, self.status = release, status
        self.problem = Problem(release, group)
        self.group = group
        self.totals = {self.problem.group[t] for t, _ in self.problem.relations}
        self.neighbours: dict[Key, set[Key]] = {k: set() for k in group}
        for t, parts in self.problem.relations:
            line = [self.problem.group[i] for i in (t, *parts)]
            for k in line:
                self.neighbours[k].update(line)
        self.unresolved: set[Key] = set()
        self.passed: set[Key] = set()  # passed while complements are only added
        self.adding = True
        self._cache: dict[tuple, tuple[float, float]] = {}
        # the protection interval: [1, t - 1], or what the labels leave with all hidden
        t = release.threshold
        everything = {k: SECONDARY if self.usable(k) else s for k, s in status.items()
                      if k in self.problem.index}
        primary = [k for k in group if status[k] == PRIMARY]
        self.target = {k: (max(1.0, lo), min(t - 1.0, hi)) for k, (lo, hi) in
                       zip(primary, self.problem.intervals(everything, primary), strict=True)}

    def passes(self, cell: Key, interval) -> bool:
        lo, hi = interval
        need_lo, need_hi = self.target[cell]
        return lo <= need_lo and hi >= need_hi

    def interval(self, cell: Key) -> tuple[float, float]:
        bounds = self.problem.bounds(self.status)
        key = (tuple(bounds), cell)
        if key not in self._cache:
            self._cache[key] = self.problem.intervals(self.status, [cell], bounds)[0]
        return self._cache[key]

    def failing(self, among: set | None = None) -> Key | None:
        """The first primary cell the audit fails (``None``: all protected).

        ``among``: check only these primaries. Cells that passed while
        complements were only being added are not checked again: hiding a
        count never narrows an interval.
        """
        cells = [k for k in self.group if self.status[k] == PRIMARY and k not in self.unresolved
                 and k not in self.passed and (among is None or k in among)]
        if not cells:
            return None
        bounds = self.problem.bounds(self.status)
        key = tuple(bounds)
        todo = [k for k in cells if (key, k) not in self._cache]
        if todo:  # one audit call for all of them: the problem's structure is built once
            for k, iv in zip(todo, self.problem.intervals(self.status, todo, bounds),
                             strict=True):
                self._cache[key, k] = iv
        for k in cells:
            if not self.passes(k, self._cache[key, k]):
                return k
            if self.adding:
                self.passed.add(k)
        return None

    def reach(self, start: Key) -> set:
        """Primary cells linked to ``start`` through relations over cells that are not shown.

        Only their audit problems hold ``start`` as an unknown: showing
        ``start`` again can change no other primary's interval.
        """
        seen, todo = {start}, [start]
        while todo:
            for k in self.neighbours[todo.pop()]:
                if k not in seen and self.status[k] != SHOWN:
                    seen.add(k)
                    todo.append(k)
        return {k for k in seen if self.status[k] == PRIMARY}

    def candidates(self, cell: Key) -> list[Key]:
        near = [k for k in self.group if k in self.neighbours[cell] and self.usable(k)]
        return near or [k for k in self.group if self.usable(k)]

    def order(self, k: Key) -> tuple:
        return (k in self.totals, self.r.count(k), self.group.index(k))

    def usable(self, k: Key) -> bool:
        """A complement must be shown now and count at least the threshold (never a zero)."""
        v = self.r.count(k)
        return self.status[k] == SHOWN and v is not None and v >= self.r.threshold

    def line_pass(self) -> None:
        """The classic rule first, with no solver: no relation may hide exactly one cell.

        A relation whose other cells are all shown gives its one hidden cell
        back; hide the smallest usable other cell (inner cells first). This
        finds the usual rectangles cheaply; the audit then checks and mends.
        """
        lines = [[self.problem.group[i] for i in (t, *parts)]
                 for t, parts in self.problem.relations]
        determined = self.determined(lines)
        changed = True
        while changed:
            changed = False
            for line in lines:
                hidden = [k for k in line if self.status[k] in (PRIMARY, SECONDARY)]
                if len(hidden) != 1 or any(self.status[k] == UNRELEASED and k not in determined
                                           for k in line):
                    continue
                options = [k for k in line if self.usable(k)]
                if options:
                    self.status[min(options, key=self.order)] = SECONDARY
                    changed = True

    def determined(self, lines: list[list[Key]]) -> set[Key]:
        """Unreleased cells the shown counts pin down (a line's one unknown; parts of a 0)."""
        known = {k for k in self.group if self.status[k] == SHOWN}
        value = {k: self.r.count(k) for k in known}
        out: set[Key] = set()
        changed = True
        while changed:
            changed = False
            for total, *parts in lines:
                if value.get(total) == 0:
                    free = [k for k in parts if k not in value and self.status[k] == UNRELEASED]
                    for k in free:
                        value[k] = 0.0
                        out.add(k)
                    changed |= bool(free)
                unknown = [k for k in (total, *parts) if k not in value]
                if len(unknown) == 1 and self.status[unknown[0]] == UNRELEASED:
                    k = unknown[0]
                    rest = sum(value[p] for p in parts if p != k)
                    value[k] = rest if k == total else value[total] - rest
                    out.add(k)
                    changed = True
        return out

    def protect(self) -> None:
        self.line_pass()
        while (cell := self.failing()) is not None:
            lo, hi = self.interval(cell)
            # the shown counts that hold the failing side of the interval, by the LP duals;
            # else every usable count on a relation of the cell (else in the group)
            binding = binding_cells(self.problem.bounds(self.status), self.problem.relations,
                                    self.problem.index[cell],
                                    maximise=hi < self.target[cell][1])
            options = [k for k in (self.problem.group[j] for j in binding) if self.usable(k)]
            options = options or self.candidates(cell)
            if not options:
                self.unresolved.add(cell)
                continue
            scored = []
            for k in options:
                self.status[k] = SECONDARY
                lo, hi = self.interval(cell)
                self.status[k] = SHOWN
                fails = not self.passes(cell, (lo, hi))
                # passing first, else the widest interval; then inner cells, small counts
                scored.append(((fails, -(hi - lo) if fails else 0.0, *self.order(k)), k))
            pick = min(scored, key=lambda s: s[0])[1]
            self.status[pick] = SECONDARY
        self.adding = False
        self.passed = set()
        self.prune()

    def prune(self) -> None:
        secondary = [k for k in self.group if self.status[k] == SECONDARY]
        for k in sorted(secondary, key=lambda k: (-self.r.count(k),
                                                  -self.group.index(k))):
            self.status[k] = SHOWN
            if self.failing(self.reach(k)) is not None:
                self.status[k] = SECONDARY

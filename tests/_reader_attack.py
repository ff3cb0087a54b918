"""The reader's attack on released labels: an integer program over the unknown cells.

Independent of :mod:`analysis.privacy.audit` (it reads only the rendered
text): every shown count is an equation, ``"<T"`` says 1 to T-1 and
``"suppressed"`` at least T; the bounds of a hidden cell are the minimum and
maximum that the integer program (scipy's HiGHS) allows. Shared by
tests/test_privacy_release.py and tests/test_report_release.py.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from analysis.privacy import COMPLEMENT_LABEL


class ReaderProgram:
    """Unknown non-negative whole counts on an array of ``shape``, constrained by labels."""

    def __init__(self, shape: tuple[int, ...], threshold: int):
        self.shape, self.threshold = tuple(shape), int(threshold)
        self.eq: list[np.ndarray] = []
        self.b_eq: list[float] = []
        self.ub: list[np.ndarray] = []
        self.b_ub: list[float] = []

    def select(self, *index) -> np.ndarray:
        """The sum of the cells at ``index`` (``None``: every level of that axis)."""
        sel = np.zeros(self.shape)
        full = [slice(None)] * len(self.shape)
        for axis, i in enumerate(index):
            if i is not None:
                full[axis] = i
        sel[tuple(full)] = 1
        return sel.ravel()

    def constrain(self, selector: np.ndarray, text: str) -> None:
        """What the label ``text`` ("12", "12 (30.0)", "<5", "suppressed") says of the sum."""
        text = text.split(" ")[0]
        if text == f"<{self.threshold}":
            self.ub += [selector, -selector]
            self.b_ub += [self.threshold - 1, -1]
        elif text == COMPLEMENT_LABEL:
            self.ub.append(-selector)
            self.b_ub.append(-self.threshold)
        else:
            self.eq.append(selector)
            self.b_eq.append(float(text))

    def interval(self, selector: np.ndarray) -> tuple[float, float]:
        """Min and max of the sum under every constraint (``inf`` when unbounded)."""
        n = int(np.prod(self.shape))
        ends = []
        for sign in (1, -1):
            res = linprog(sign * selector, A_ub=np.array(self.ub) if self.ub else None,
                          b_ub=self.b_ub or None, A_eq=np.array(self.eq) if self.eq else None,
                          b_eq=self.b_eq or None, bounds=[(0, None)] * n, method="highs",
                          integrality=np.ones(n))
            if res.status not in (0, 3):
                raise AssertionError(res.message)
            ends.append(np.inf if res.status == 3 else sign * res.fun)
        return ends[0], ends[1]

"""The result shape every model shares: a tidy table, the fits, an info dict, tests.

``.table`` is the side-by-side table users read (one row per level, reference
rows included); :meth:`ModelResult.tidy` gives the package-wide convention
``term, label, estimate, ci_low, ci_high, p_value, n, events`` for one of the
models (``"crude"`` or ``"adjusted"``), which figures and reports consume.
Later models (counts, ordinal) reuse this class with their own estimate name
(IRR, OR per category, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from analysis.errors import ModelError

TIDY_COLUMNS = ["term", "label", "estimate", "ci_low", "ci_high", "p_value", "n", "events"]


@dataclass
class ModelResult:
    """A fitted model family (crude and adjusted) with its tidy tables.

    Attributes
    ----------
    table : side-by-side table, one row per level.
    fits : the underlying fitted models, ``{"adjusted": ..., "crude: posture": ...}``.
    info : n used, rows dropped, formula, method, ...
    estimate : name of the reported estimate (``"or"``, ``"irr"``).
    """

    table: pd.DataFrame
    fits: dict[str, Any]
    info: dict[str, Any]
    estimate: str = "or"
    _tidy: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _tests: Callable[[], pd.DataFrame] | None = field(default=None, repr=False)

    def tidy(self, which: str = "adjusted") -> pd.DataFrame:
        """Rows of one model as ``term, label, estimate, ci_low, ci_high, p_value, n, events``."""
        if which not in self._tidy:
            raise ModelError(f"No {which!r} model here; choose one of {sorted(self._tidy)}.")
        frame = self._tidy[which]
        # Multinomial models say which outcome category each row compares with the reference.
        front = ["outcome_level"] if "outcome_level" in frame.columns else []
        return frame.loc[:, front + TIDY_COLUMNS].copy()

    @cached_property
    def tests(self) -> pd.DataFrame:
        """Likelihood-ratio and trend tests, computed on first use (they need refits)."""
        if self._tests is None:
            return pd.DataFrame(columns=["variable", "label", "test", "model", "statistic",
                                         "df", "p_value"])
        return self._tests()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.info.get('outcome')}: n={self.info.get('n')}, "
                f"{len(self.table)} rows, method={self.info.get('method')})")


class LogisticResult(ModelResult):
    """Crude and adjusted odds ratios from :func:`analysis.models.logistic`."""

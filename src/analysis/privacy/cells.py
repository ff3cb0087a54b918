"""The name of a count cell: a population and ``variable = level`` pairs (:class:`CellKey`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MISSING_LEVEL = "(missing)"
KNOWN_LEVEL = "(known)"  # pseudo-level: every level but the missing one (a denominator)


@dataclass(frozen=True, order=True)
class CellKey:
    """A count cell: a population and ``(variable, level)`` pairs sorted by variable."""

    population: str
    levels: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        inner = ", ".join(f"{v}={lv}" for v, lv in self.levels) or "all"
        return f"{self.population}: {inner}"

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.levels)

    def plus(self, variable: str, level: Any) -> CellKey:
        """This cell restricted further to ``variable = level``."""
        return cell_key(self.population, {**dict(self.levels), variable: level})


def cell_key(population: str, levels: Mapping[str, Any] | None = None, /,
             **more: Any) -> CellKey:
    """The :class:`CellKey` of ``population`` restricted to ``levels`` (and keyword levels).

    Levels are compared as text, so ``1`` and ``"1"`` are one level.

    Examples
    --------
    >>> cell_key("analysed", sex="F", lbp="Yes") == cell_key("analysed", {"lbp": "Yes", "sex": "F"})
    True
    >>> str(cell_key("analysed"))
    'analysed: all'
    """
    pairs = {**(dict(levels) if levels else {}), **more}
    return CellKey(str(population), tuple(sorted((str(v), str(lv)) for v, lv in pairs.items())))


@dataclass
class CellRecord:
    """What a release knows of a cell: its true count, whether it is shown, where."""

    value: float | None
    released: bool = False
    where: list[str] = field(default_factory=list)
    # a count no table shows but a reader derives (a difference of two shown counts):
    # protected when small, yet the reader is not credited with knowing its range
    derived: bool = False


__all__ = ["KNOWN_LEVEL", "MISSING_LEVEL", "CellKey", "CellRecord", "cell_key"]

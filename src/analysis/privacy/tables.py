"""Disclosure control for shared reports: direct identifiers and small-cell suppression.

Direct identifiers
------------------
Columns the codebook marks as identifiers (``type: id``, ``role: id``) or as
personal data (``pii: true``) never leave the analysis: :func:`drop_identifiers`
removes them from any frame before it is shown or written.

Small-cell suppression
----------------------
A cell that counts ``1 .. threshold - 1`` respondents is *primarily*
suppressed and shown as ``"<threshold"`` (``"<5"`` by default). Zero is
shown: an empty cell describes nobody.

Suppressing one cell is not enough when the table also publishes a total
that the cell is part of: the total minus the other cells gives it back.
Such linear relations are described as *lines*: a line is a set of cells
whose published values are tied by one equation (the cells of a row and the
row total, the cells of a column and the column total). A line with exactly
one suppressed cell reveals it. **Complementary suppression** therefore
repeats, until no line has exactly one suppressed cell:

1. find a line with exactly one suppressed cell;
2. suppress the smallest other cell of that line that is not yet suppressed
   (preferring an inner cell to a total, and among equals the first in table
   order, so that the result is deterministic).

Each round suppresses one more cell, so the loop ends (at worst with every
cell suppressed). The result protects against recovery by *single* line
subtraction, the usual standard for published tables (e.g. NHS and ONS
small-number guidance, PCORnet's cell-size policy); it is not an optimal
(minimum information loss) solution of the cell-suppression problem, and
tables linked to each other through shared totals are only as safe as each
table is by itself. :class:`analysis.privacy.Release` decides suppression for
all tables of a report at once and audits it against the reader's linear
arithmetic; this module's functions remain for single, unlinked tables.

Tested on hand-made tables where a single suppressed cell would be recovered
from the total (tests/test_privacy.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from analysis import style
from analysis.codebook import Codebook

DEFAULT_THRESHOLD = 5
Cell = tuple[int, int]


def identifier_columns(codebook: Codebook) -> list[str]:
    """Names of the columns that identify a person: identifiers and ``pii: true`` variables."""
    return sorted({*codebook.identifiers, *(n for n, v in codebook.variables.items() if v.pii)})


def drop_identifiers(frame: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """``frame`` without the identifier and personal-data columns of ``codebook``."""
    return frame.drop(columns=[c for c in identifier_columns(codebook) if c in frame.columns])


def suppressed_label(threshold: int = DEFAULT_THRESHOLD) -> str:
    """How a suppressed count is shown: ``"<5"`` for the default threshold."""
    return f"<{threshold}"


def primary_mask(counts: np.ndarray, threshold: int = DEFAULT_THRESHOLD) -> np.ndarray:
    """Cells counting 1 to ``threshold - 1`` respondents (NaN cells are not counts)."""
    counts = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore"):
        return (counts > 0) & (counts < threshold)


def complementary_suppression(
    counts: np.ndarray,
    lines: Iterable[Sequence[Cell]],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    totals: Iterable[Cell] = (),
) -> np.ndarray:
    """Cells to suppress so that no small count can be recovered from a line.

    Method: primary suppression of counts ``0 < n < threshold``, then the
    complementary rounds described in the module docstring.

    Parameters
    ----------
    counts : 2-D array
        The published counts (NaN where a position holds no count).
    lines : iterable of sequences of (row, column)
        Each line is a set of cells tied by one published equation, for
        example a row of the table together with its row total.
    threshold : int
        Counts below it (and above zero) are suppressed.
    totals : iterable of (row, column)
        Cells that are totals; they are chosen as complements only when a
        line has no inner cell left.

    Returns
    -------
    numpy.ndarray of bool, the shape of ``counts``; True = show ``"<threshold"``.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.array([[3, 10, 13], [20, 30, 50], [23, 40, 63]])
    >>> mask = complementary_suppression(table, two_way_lines(3, 3))
    >>> mask.astype(int).tolist()
    [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    """
    counts = np.asarray(counts, dtype=float)
    mask = primary_mask(counts, threshold)
    lines = [[tuple(c) for c in line] for line in lines]
    totals = {tuple(c) for c in totals}
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [c for c in line if mask[c]]
            if len(hidden) != 1:
                continue
            candidates = [c for c in line if not mask[c] and not np.isnan(counts[c])]
            if not candidates:
                continue
            # smallest inner cell first, totals last, table order breaks ties
            pick = min(candidates, key=lambda c: (c in totals, counts[c], c))
            mask[pick] = True
            changed = True
    return mask


def two_way_lines(n_rows: int, n_cols: int, *, row_totals: bool = True,
                  col_totals: bool = True) -> list[list[Cell]]:
    """Lines of a two-way table whose last column and/or last row are totals.

    With ``row_totals`` each row (its last cell the total) is a line; with
    ``col_totals`` each column (its last cell the total) is a line.
    """
    lines: list[list[Cell]] = []
    if row_totals:
        lines += [[(i, j) for j in range(n_cols)] for i in range(n_rows)]
    if col_totals:
        lines += [[(i, j) for i in range(n_rows)] for j in range(n_cols)]
    return lines


def suppress_two_way(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD, *,
                     row_totals: bool = True, col_totals: bool = True) -> pd.DataFrame:
    """A count table whose last column / last row are totals, with small cells as ``"<5"``.

    Returns a DataFrame of strings (counts as integers, suppressed cells as
    :func:`suppressed_label`).

    Examples
    --------
    >>> t = pd.DataFrame({"No": [3, 20, 23], "Yes": [10, 30, 40], "Total": [13, 50, 63]})
    >>> suppress_two_way(t)["No"].tolist()
    ['<5', '<5', '23']
    """
    counts = table.to_numpy(dtype=float)
    n_rows, n_cols = counts.shape
    totals = ([(i, n_cols - 1) for i in range(n_rows)] if row_totals else []) + (
        [(n_rows - 1, j) for j in range(n_cols)] if col_totals else [])
    mask = complementary_suppression(
        counts, two_way_lines(n_rows, n_cols, row_totals=row_totals, col_totals=col_totals),
        threshold, totals=totals)
    shown = table.map(style.count)
    return shown.mask(mask, suppressed_label(threshold))

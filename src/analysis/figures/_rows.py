"""Row layout shared by the row-per-level figures (forest, prevalence, estimate vs truth).

Rows of one variable are grouped under a header row that carries the
variable's label; a variable with a single row that has no level of its own
(a numeric term, "Age (per 1 years)") is one row with its full label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from analysis.errors import ReportError
from analysis.figures.theme import wrap

GROUP_GAP = 0.5  # extra space between variables, in rows


@dataclass
class Row:
    y: float
    text: str
    kind: str  # "header", "level" or "single"
    source: int | None  # position in the source table (None for a header)


def require(table: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise if ``table`` lacks a column the figure reads."""
    if not isinstance(table, pd.DataFrame):
        raise ReportError(f"{what} needs a pandas DataFrame, not {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ReportError(
            f"{what}: the table has no column {', '.join(map(repr, missing))} "
            f"(it has {', '.join(map(str, table.columns))}).")
    if table.empty:
        raise ReportError(f"{what}: the table has no rows to draw.")


def split_label(label: str, level: str) -> tuple[str | None, str]:
    """("Self-rated posture", "Poor vs Good") from "Self-rated posture: Poor vs Good"."""
    label, level = str(label), str(level)
    at = label.rfind(f": {level}")
    if at <= 0:
        return None, label
    return label[:at], label[at + 2:]


def model_groups(table: pd.DataFrame) -> list[tuple[str | None, list[tuple[str, int]]]]:
    """Groups of (text, position) from a table with variable, level, label columns."""
    groups: list[tuple[str | None, list[tuple[str, int]]]] = []
    current = None
    for pos, (variable, level, label) in enumerate(
            zip(table["variable"], table["level"], table["label"], strict=True)):
        header, text = split_label(label, level)
        if variable != current or not groups:
            groups.append((header, []))
            current = variable
        groups[-1][1].append((text, pos))
    return groups


def place(groups: list[tuple[str | None, list[tuple[str, int]]]]) -> list[Row]:
    """Assign y positions (0 at the top, growing downwards) to headers and rows."""
    rows: list[Row] = []
    y = 0.0
    for k, (header, members) in enumerate(groups):
        if k:
            y += GROUP_GAP
        if header is None or (len(members) == 1 and header is None):
            for text, pos in members:
                rows.append(Row(y, wrap(text), "single", pos))
                y += _height(rows[-1].text)
            continue
        rows.append(Row(y, wrap(header), "header", None))
        y += _height(rows[-1].text)
        for text, pos in members:
            rows.append(Row(y, wrap(text), "level", pos))
            y += _height(rows[-1].text)
    return rows


def _height(text: str) -> float:
    return 1.0 + 0.45 * text.count("\n")


def extent(rows: list[Row]) -> float:
    """Height of the layout in rows."""
    return rows[-1].y + _height(rows[-1].text) if rows else 1.0


def draw_labels(ax: Axes, rows: list[Row]) -> None:
    """Y tick labels: variable headers in bold, levels beneath them; top row first."""
    ax.set_yticks([r.y for r in rows], labels=[r.text for r in rows])
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row.kind == "header":
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(extent(rows) - 0.4, -0.7)


def positions(rows: list[Row], n: int) -> np.ndarray:
    """y of each source-table row (NaN for a row not drawn)."""
    y = np.full(n, np.nan)
    for r in rows:
        if r.source is not None:
            y[r.source] = r.y
    return y


def figure_height(rows: list[Row], extra: float = 1.6) -> float:
    """Inches: ~0.3 in per row plus room for title, axis and legend."""
    return max(2.8, 0.3 * extent(rows) + extra)

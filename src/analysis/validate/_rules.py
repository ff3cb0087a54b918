"""The rules' names, their advice, and one broken rule as a :class:`Problem`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STEP = "validate"
FIRST_LINES = 5

ADVICE = {
    "missing column": "add the column to the file, or mark the variable `required: false`",
    "unknown column": "add the variable to the codebook, or use on_invalid='exclude' to drop it",
    "not a number": "correct the values, or declare them as missing codes in the codebook "
                    "(a decimal comma, 4,5, is read with `decimal: ','` in the codebook)",
    "not a whole number": "counts are whole numbers; correct the values or use type numeric",
    "out of range": "correct the values, widen `range`, or declare them as missing codes",
    "unknown code": "correct the values, or add them to `levels` or `missing` in the codebook",
    "impossible date": "correct the dates, or set `format` to the one the file uses",
    "missing id": "give every row an identifier, or remove the empty rows",
    "duplicate id": "remove the repeated rows, or use on_invalid='exclude' to keep the first",
    "decimal comma": "these may be decimal commas (1,250 = 1.25) or thousands separators "
                     "(1,250 = 1250); set `decimal: ','` in the codebook to read them as decimal "
                     "commas, or write the numbers without separators",
}

@dataclass
class Problem:
    """One broken rule in one column: the positions of the rows that break it."""

    column: str
    rule: str
    positions: np.ndarray
    values: np.ndarray

    def describe(self, lines: np.ndarray) -> str:
        shown = [
            f"line {lines[p]}: {show(v)}"
            for p, v in zip(self.positions[:FIRST_LINES], self.values[:FIRST_LINES], strict=True)
        ]
        rows = f"{self.positions.size} row{'s' if self.positions.size != 1 else ''}"
        first = f" (first: {'; '.join(shown)})" if shown else ""
        return f"column {self.column!r}: {self.rule}, {rows}{first}. To fix: {ADVICE[self.rule]}."


def is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def show(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or \
            (isinstance(value, str) and not value.strip()):
        return "(blank)"
    if isinstance(value, str) and is_number(value):
        return value.strip()  # a number read as text is shown as in the file
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)

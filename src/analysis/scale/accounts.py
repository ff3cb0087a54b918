"""Reports of a :class:`~analysis.scale.lazy.LazySurvey`'s rule breaks that need row values.

Counts come from the validation scan; these functions go back to the data for
the few rows a person reads: the first lines of each broken rule (in the
error of ``on_invalid="raise"``) and the first excluded lines (``.ledger()``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import ValidationError
from analysis.validate import ADVICE, FIRST_LINES

STEP = "validate"


def validation_error(survey) -> ValidationError:
    """One error naming every broken rule, its row count and first lines and values."""
    broken = [(i, r) for i, r in enumerate(survey.rules) if survey.rule_counts[i]]
    lines = []
    for i, (col, rule, _) in broken:
        first = survey.con.sql(
            f"SELECT __line, {col.quoted} FROM __flagged WHERE __rule{i} ORDER BY __line "
            f"LIMIT {FIRST_LINES}").fetchall()
        shown = "; ".join(f"line {line}: {show(value, quote_text=True)}"
                          for line, value in first)
        n = survey.rule_counts[i]
        lines.append(f"  - column {col.name!r}: {rule}, {n} row{'s' if n != 1 else ''} "
                     f"(first: {shown}). To fix: {ADVICE[rule]}.")
    n_rows = survey.n_read - survey.n_analysed
    return ValidationError("\n".join([
        f"{survey.source}: {len(broken)} rule{'s' if len(broken) != 1 else ''} broken, "
        f"affecting {n_rows} row{'s' if n_rows != 1 else ''}:", *lines,
        "Or load with on_invalid='exclude' to set these rows aside."]))


def first_exclusions(survey, limit: int) -> pd.DataFrame:
    """Ledger entries of the first ``limit`` excluded lines, sorted by line then rule order."""
    if not survey.rules:
        return pd.DataFrame(columns=["step", "line", "column", "rule", "value", "action"])
    raw = ", ".join(dict.fromkeys(c.quoted for c, _, _ in survey.rules))
    flags = ", ".join(f"__rule{i}" for i in range(len(survey.rules)))
    found = survey.con.sql(
        f"SELECT __line, {raw}, {flags} FROM __flagged WHERE __reason > 0 "
        f"ORDER BY __line LIMIT {int(limit)}").to_arrow_table().to_pandas().sort_values(
            "__line", kind="stable")
    entries = []
    for record in found.to_dict("records"):
        for i, (col, rule, _) in enumerate(survey.rules):
            if record[f"__rule{i}"]:
                entries.append((STEP, int(record["__line"]), col.name, rule,
                                show(record[col.name], blank=""), "excluded"))
    frame = pd.DataFrame(entries, columns=["step", "line", "column", "rule", "value",
                                           "action"])
    frame["line"] = frame["line"].astype("Int64")
    return frame


def show(value, blank: str = "(blank)", quote_text: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return blank
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if quote_text and isinstance(value, str) else str(value)


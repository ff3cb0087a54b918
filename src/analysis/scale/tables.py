"""Aggregate queries over the valid rows of a :class:`~analysis.scale.lazy.LazySurvey`.

The view ``__valid`` holds, for each row that breaks no rule, the decoded
value of every codebook column: a coded variable's level position (0..k-1,
NULL when missing), a numeric variable's value (NULL when missing). The
queries here group those values and return small tables, which are turned
into the same DataFrames as the in-memory functions build.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.codebook import Codebook
from analysis.describe.prevalence import level_table
from analysis.errors import ValidationError
from analysis.scale.sql import CODED, quote


def patterns_query(columns: list[str], outcome: str, *, complete: bool) -> str:
    """SQL of events and trials per pattern of ``columns``.

    ``complete=True``: rows missing the outcome or any column are left out
    (the covariate-pattern table). ``complete=False``: missing values form
    their own patterns and the outcome is a grouping column (what the model
    fit needs to count the rows it drops).
    """
    cols = [quote(c) for c in columns]
    y = quote(outcome)
    if complete:
        where = " AND ".join(f"{c} IS NOT NULL" for c in [*cols, y])
        keys = ", ".join(cols)
        return (f"SELECT {keys}, sum({y})::DOUBLE AS events, count(*)::DOUBLE AS trials "
                f"FROM __valid WHERE {where} GROUP BY {keys} ORDER BY {keys}")
    keys = ", ".join([*cols, y])
    return (f"SELECT {keys}, count(*)::DOUBLE AS trials FROM __valid GROUP BY {keys} "
            f"ORDER BY {keys} NULLS LAST")


def patterns_table(con, codebook: Codebook, sql: str, columns: list[str],
                   outcome: str | None = None) -> pd.DataFrame:
    """Run a pattern query; coded columns become categoricals of the codebook's labels."""
    out = con.sql(sql).to_arrow_table().to_pandas()
    for c in [*columns, *([outcome] if outcome else [])]:
        var = codebook[c]
        if var.type in CODED:
            codes = out[c].fillna(-1).to_numpy(dtype=np.int64)
            out[c] = pd.Categorical.from_codes(
                codes, categories=pd.Index(list(var.level_labels.values()), dtype=object),
                ordered=var.type == "ordinal")
        else:
            out[c] = out[c].astype("float64")
    # Sorted here as well: DuckDB does not promise the order of a fetched result when
    # insertion order is not preserved.
    return out.sort_values([*columns, *([outcome] if outcome else [])],
                           kind="stable").reset_index(drop=True)


def prevalence_table(con, codebook: Codebook, outcome: str, factors: list[str],
                     weight: str | None) -> pd.DataFrame:
    """Prevalence overall and by factor from one GROUPING SETS scan (see ``describe``)."""
    y = quote(outcome)
    # -1 marks a missing level, so NULL in the result only means "not grouped by this".
    keys = [f"coalesce({quote(f)}, -1) AS {quote(f)}" for f in factors]
    w = quote(weight) if weight else None
    sums = "count(*) AS n, sum(__y) AS events"
    if w:
        sums += (f", sum({w}) AS sum_w, sum({w} * {w}) AS sum_w2, sum({w} * __y) AS sum_wy, "
                 f"count(*) FILTER (WHERE {w} IS NULL OR {w} < 0) AS bad_w")
    sets = ", ".join(["()", *(f"({quote(f)})" for f in factors)])
    inner = ", ".join([f"{y} AS __y", *keys, *([w] if w else [])])
    frame = con.sql(
        f"SELECT {', '.join(quote(f) for f in factors) + ', ' if factors else ''}{sums} "
        f"FROM (SELECT {inner} FROM __valid WHERE {y} IS NOT NULL) "
        f"GROUP BY GROUPING SETS ({sets})").to_arrow_table().to_pandas()
    if w and frame["bad_w"].max() > 0:
        raise ValidationError(
            f"weight column {weight!r} is missing or negative in {int(frame['bad_w'].max())} "
            "rows with a known outcome; fix the weights or pass weighted=False.")
    grouped = frame[factors].notna() if factors else pd.DataFrame(index=frame.index)
    blocks = [_block(frame[~grouped.any(axis=1)] if factors else frame, None, ["All"], w)
              .assign(variable="overall", label="Overall")]
    for name in factors:
        levels = [str(v) for v in codebook[name].level_labels.values()]
        block = _block(frame[grouped[name]], name, levels, w)
        blocks.append(block.assign(variable=name, label=codebook.label(name)))
    table = pd.concat(blocks, ignore_index=True)
    front = ["variable", "label", "level", "n", "events", "prevalence", "ci_low", "ci_high"]
    extra = ["weighted_prevalence", "weighted_ci_low", "weighted_ci_high", "n_effective"]
    return table[front + (extra if w else [])]


def _block(rows: pd.DataFrame, name: str | None, levels: list[str], w) -> pd.DataFrame:
    """Counts and Wilson intervals for the levels of one factor, as describe's ``_block``."""
    size = len(levels) + 1
    slots = (np.zeros(len(rows), dtype=np.int64) if name is None
             else rows[name].to_numpy(dtype=np.int64) % size)  # -1 -> the last, missing slot

    def per_slot(column: str) -> np.ndarray:
        return np.bincount(slots, weights=rows[column].to_numpy(dtype=float), minlength=size)

    sums = tuple(per_slot(c) for c in ("sum_w", "sum_w2", "sum_wy")) if w is not None else None
    return level_table(levels, per_slot("n").round().astype(np.int64), per_slot("events"), sums)

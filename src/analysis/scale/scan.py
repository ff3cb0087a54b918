"""The validation scan of a Parquet dataset in DuckDB, for a :class:`LazySurvey`.

:func:`build_views` assembles the codebook's rules (SQL from
:mod:`analysis.scale.sql`) into views over the files, :func:`validate_rows`
counts every rule, missing code and first exclusion in one grouped scan (and
the missing-value table's counts with it), and :func:`exclude_lines` keeps
the few excluded lines in a table so that later queries decode only the
columns they read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.scale.accounts import validation_error
from analysis.scale.describe import missing_frame, missing_sql
from analysis.scale.memo import remember
from analysis.scale.sql import ColumnSQL, quote


def build_views(lazy, ids: list[ColumnSQL], dups: dict | None = None) -> None:
    """The views ``__decoded`` (typed values), ``__flagged`` (each rule's flag, the first
    broken rule as ``__reason``) and ``__valid`` of a :class:`LazySurvey`.

    ``ids``: the identifier columns checked for duplicates; ``dups``: their repeated ids
    as a run that validated the dataset counted them (then no scan here).
    """
    source = (f"SELECT r.* EXCLUDE (filename, file_row_number), "
              f"o.__offset + r.file_row_number + 1 AS __line FROM {lazy.parquet_sql}, "
              "filename = true, file_row_number = true) r JOIN __offsets o USING (filename)")
    derived = ", ".join(f"{expr} AS {quote(name)}" for c in lazy.columns
                        for name, expr in c.derived.items())
    lazy.con.execute(f"CREATE TEMP VIEW __decoded AS SELECT *{', ' if derived else ''}"
                     f"{derived} FROM ({source})")
    joins, dup_rules = "", {}
    for k, col in enumerate(ids):
        # Identifiers seen more than once, with the line of their first occurrence;
        # usually few, so the view below joins every row against a small table.
        if dups is None:
            lazy.con.execute(
                f"CREATE TEMP TABLE __dups{k} AS SELECT {col.value} AS __id, min(__line) "
                f"AS __first FROM __decoded WHERE NOT ({col.rules[0][1]}) "
                "GROUP BY 1 HAVING count(*) > 1")
        else:  # counted by the run that validated the dataset
            lazy.con.register(f"__dups{k}_frame", dups[f"dups{k}"])
            lazy.con.execute(f"CREATE TEMP TABLE __dups{k} AS SELECT * FROM __dups{k}_frame")
            lazy.con.unregister(f"__dups{k}_frame")
        joins += f" LEFT JOIN __dups{k} ON d.{col.value} = __dups{k}.__id"
        dup_rules[col.name] = f"coalesce(d.__line > __dups{k}.__first, FALSE)"
    lazy.rules: list[tuple[ColumnSQL, str, str]] = []
    for col in lazy.columns:
        lazy.rules += [(col, rule, cond) for rule, cond in col.rules]
        if col.name in dup_rules:
            lazy.rules.append((col, "duplicate id", dup_rules[col.name]))
    flags = [f"({cond}) AS __rule{i}" for i, (_, _, cond) in enumerate(lazy.rules)]
    lazy.missing = [(col, code, meaning, cond) for col in lazy.columns
                    for code, meaning, cond in col.missing]
    flags += [f"({cond}) AS __miss{j}" for j, (*_, cond) in enumerate(lazy.missing)]
    reason = ("CASE " + " ".join(f"WHEN __rule{i} THEN {i + 1}" for i in range(len(lazy.rules)))
              + " ELSE 0 END" if lazy.rules else "0")
    lazy.con.execute(
        f"CREATE TEMP VIEW __flagged AS SELECT *, {reason} AS __reason FROM "
        f"(SELECT d.*{', ' if flags else ''}{', '.join(flags)} FROM __decoded d{joins})")
    lazy.con.execute(f"CREATE TEMP VIEW __valid AS SELECT {_values(lazy)} FROM __flagged "
                     "WHERE __reason = 0")

def validate_rows(lazy) -> None:
    """Count every rule, missing code and exclusion of a :class:`LazySurvey` in one scan."""
    sums = [f"coalesce(sum(__rule{i}::BIGINT), 0)" for i in range(len(lazy.rules))]
    sums += [f"coalesce(sum(__miss{j}::BIGINT), 0)" for j in range(len(lazy.missing))]
    # The same scan gives the excluded lines (few), as a list per reason, and the
    # missing-value table's counts (they are those of the group of valid rows): that
    # table would otherwise decode every column of every row again.
    names, missing = missing_sql(lazy)
    flags = "".join(f", __rule{i}" for i in range(len(lazy.rules)))
    flags += "".join(f", __miss{j}" for j in range(len(lazy.missing)))
    rows = lazy.con.sql(
        f"SELECT __reason, count(*){''.join(', ' + s for s in sums)}, "
        f"list(__line) FILTER (WHERE __reason > 0){''.join(', ' + m for m in missing)} "
        f"FROM (SELECT __reason, __line{flags}, {_values(lazy)} FROM __flagged) "
        "GROUP BY __reason ORDER BY __reason").fetchall()
    width = 2 + len(sums)
    lines = np.array([x for r in rows for x in (r[width] or [])], dtype=np.int64)
    valid = next((r for r in rows if r[0] == 0), None)
    remember(lazy, ["missingness"], missing_frame(
        lazy, names, [valid[1], *valid[width + 1:]] if valid else [0] * (1 + len(missing))))
    rows = [r[:width] for r in rows]
    totals = np.sum([r[2:] for r in rows], axis=0) if rows and sums else np.zeros(len(sums))
    lazy.rule_counts = [int(x) for x in totals[:len(lazy.rules)]]
    lazy.missing_counts = [int(x) for x in totals[len(lazy.rules):]]
    lazy.first_reason = {int(r[0]): int(r[1]) for r in rows}
    lazy.n_analysed = lazy.first_reason.get(0, 0)
    if lazy.on_invalid == "raise" and any(lazy.rule_counts):
        raise validation_error(lazy)
    # ``__valid`` as first defined applies every rule to every row of each query, since
    # a row's fate needs all of its columns. The lines excluded are few: kept in a
    # table (one more scan, here), the valid rows are every decoded row but those, and a
    # query then decodes only the columns it reads (Table 1, prevalence, missing
    # values, models: several times faster on a wide codebook).
    exclude_lines(lazy, np.sort(lines))

def exclude_lines(lazy, lines: np.ndarray) -> None:
    """``__valid``: every decoded row but the excluded ``lines`` (kept in a table)."""
    lazy.con.register("__excluded_frame", pd.DataFrame({"__line": lines}))
    lazy.con.execute("CREATE TEMP TABLE __excluded AS SELECT * FROM __excluded_frame")
    lazy.con.unregister("__excluded_frame")
    lazy.con.execute(f"CREATE OR REPLACE TEMP VIEW __valid AS SELECT {_values(lazy)} FROM "
                     "__decoded WHERE __line NOT IN (SELECT __line FROM __excluded)")


def _values(lazy) -> str:
    """Each codebook column's decoded value under its own name (the select list of __valid)."""
    return ", ".join(f"{c.value} AS {c.quoted}" for c in lazy.columns)


__all__ = ["build_views", "exclude_lines", "validate_rows"]

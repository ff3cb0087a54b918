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
from analysis.scale.describe import missing_conditions, missing_frame
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


MASK_BITS = 62  # flags per BIGINT key of the validation scan (the sign bit unused)


def validate_rows(lazy) -> None:
    """Count every rule, missing code and exclusion of a :class:`LazySurvey` in one scan.

    The same scan gives the missing-value table's counts (those of the valid
    rows) and the excluded lines (few). Each row's flags -- the rules it
    breaks, its missing codes, and per variable whether it was asked and is
    missing -- are packed into the bits of a few BIGINT keys, and the scan
    counts rows per (first broken rule, keys), so each row updates one count,
    where a sum per flag updated some 360 (the example's codebook) and took
    most of a validation. A flag's count is then the sum of the counts of the
    patterns with its bit; the patterns are far fewer than the rows (122,263
    at 10^6 rows of the example) and are read as arrays.
    """
    names, asked = missing_conditions(lazy)
    flags = [f"__rule{i}" for i in range(len(lazy.rules))]
    flags += [f"__miss{j}" for j in range(len(lazy.missing))]
    conditions = list(dict.fromkeys(c for c in [*flags, *asked] if c != "TRUE"))
    keys = [" | ".join(f"(CASE WHEN {c} THEN {1 << b}::BIGINT ELSE 0::BIGINT END)"
                       for b, c in enumerate(conditions[at:at + MASK_BITS]))
            for at in range(0, len(conditions), MASK_BITS)]
    key_names = "".join(f", __key{w}" for w in range(len(keys)))
    packed = "".join(f", {k} AS __key{w}" for w, k in enumerate(keys))
    con = lazy.con
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __patterns AS SELECT __reason{key_names}, count(*) AS "
        "__n, list(__line) FILTER (WHERE __reason > 0) AS __lines "
        f"FROM (SELECT __reason, __line{packed} "
        f"FROM (SELECT __reason, __line{''.join(', ' + f for f in flags)}, {_values(lazy)} "
        "FROM __flagged)) GROUP BY ALL")
    try:
        # the patterns as arrays (there may be 10^5 of them: never as Python tuples)
        patterns = con.sql(f"SELECT __reason, __n{key_names} FROM __patterns").fetchnumpy()
        listed = con.sql("SELECT flatten(list(__lines)) FROM __patterns WHERE __reason > 0"
                         ).fetchall()[0][0]
    finally:
        con.execute("DROP TABLE IF EXISTS __patterns")
    reason = np.asarray(patterns["__reason"], dtype=np.int64)
    counts = np.asarray(patterns["__n"], dtype=np.int64)
    masks = np.column_stack([np.asarray(patterns[f"__key{w}"], dtype=np.int64)
                             for w in range(len(keys))] or [np.zeros(len(counts), np.int64)])
    everywhere = _flag_counts(masks, counts, len(conditions))
    valid_rows = reason == 0
    in_valid = _flag_counts(masks[valid_rows], counts[valid_rows], len(conditions))
    bit = {c: b for b, c in enumerate(conditions)}
    lazy.first_reason = {int(r): int(counts[reason == r].sum()) for r in np.unique(reason)}
    lazy.n_analysed = n_valid = lazy.first_reason.get(0, 0)
    remember(lazy, ["missingness"], missing_frame(
        lazy, names, [n_valid, *[n_valid if c == "TRUE" else in_valid[bit[c]] for c in asked]]))
    lazy.rule_counts = [int(everywhere[bit[f]]) for f in flags[:len(lazy.rules)]]
    lazy.missing_counts = [int(everywhere[bit[f]]) for f in flags[len(lazy.rules):]]
    if lazy.on_invalid == "raise" and any(lazy.rule_counts):
        raise validation_error(lazy)
    lines = np.array(listed or [], dtype=np.int64)
    # ``__valid`` as first defined applies every rule to every row of each query, since
    # a row's fate needs all of its columns. The lines excluded are few: kept in a
    # table (one more scan, here), the valid rows are every decoded row but those, and a
    # query then decodes only the columns it reads (Table 1, prevalence, missing
    # values, models: several times faster on a wide codebook).
    exclude_lines(lazy, np.sort(lines))


def _flag_counts(masks: np.ndarray, counts: np.ndarray, n_flags: int) -> np.ndarray:
    """Rows with each flag: the counts of the patterns (rows of ``masks``) with its bit."""
    out = np.zeros(n_flags, dtype=np.int64)
    for b in range(n_flags):
        word, place = divmod(b, MASK_BITS)
        out[b] = counts[((masks[:, word] >> place) & 1) == 1].sum()
    return out


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

"""Table 1 and missing values of a :class:`~analysis.scale.lazy.LazySurvey`, counted in DuckDB.

Every number comes from aggregate queries over the valid rows (``__valid``):
level counts by group from one ``GROUPING SETS`` scan, and per numeric
variable one scan for n, mean, SD and quartiles by group and overall. The
table itself is assembled by :mod:`analysis.describe.table_rows`, the code
that builds the in-memory :func:`analysis.describe.table_one`, so the two
tables agree cell for cell.

Quartiles and medians are exact (DuckDB ``quantile_cont``: linear
interpolation, as ``numpy.percentile``) unless ``quantiles="approximate"``
(``approx_quantile``, a t-digest: bounded memory, a relative rank error of
about 1%); ``"auto"`` is exact up to :data:`EXACT_LIMIT` rows. Exact
quantiles hold one group's values in memory, which for 10^8 rows is more
than DuckDB's ``memory_limit``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analysis.describe.columns import DESIGN_ROLES
from analysis.describe.comparisons import KRUSKAL, MANN_WHITNEY, NOT_TESTED
from analysis.describe.table_rows import (
    OVERALL,
    assemble,
    blank_counts,
    coded_rows,
    count_row,
    numeric_row,
)
from analysis.errors import ValidationError
from analysis.scale.memo import remembered
from analysis.scale.sql import CODED, NUMERIC, quote

EXACT_LIMIT = 20_000_000
SKEWNESS_LIMIT = 1.0


def lazy_table_one(lazy, by: str | None = None, *, columns: Iterable[str] | None = None,
                   nonnormal: Iterable[str] | Mapping[str, bool] | None = None,
                   overall: bool = True, pvalues: bool = True, smd: bool = True,
                   decimals: int = 1, quantiles: str = "auto") -> pd.DataFrame:
    """:func:`analysis.describe.table_one` of a :class:`LazySurvey`, every number from DuckDB.

    Same arguments and the same frame (tests, SMDs, not-asked counts and the
    skewness rule included). Skewed variables are compared by the
    Kruskal-Wallis H statistic with the tie correction (Mann-Whitney U's
    normal approximation for two groups, which is the same test), computed
    from mid-rank sums per group in SQL: ``H = 12/(N(N+1)) sum R_g^2/n_g -
    3(N+1)``, divided by ``1 - sum(t^3 - t)/(N^3 - N)`` (Hollander & Wolfe
    1999, ch. 6). ``quantiles``: ``"exact"``, ``"approximate"`` or ``"auto"``
    (see the module); the frame's ``attrs["quantiles"]`` says which was used.

    Tested against :func:`analysis.describe.table_one` on the same rows
    loaded in memory (every number to 1e-9, every display cell equal).

    Examples
    --------
    >>> t1 = lazy_table_one(load_parquet_survey("cohort/", "codebook.yml"))  # doctest: +SKIP
    """
    columns = None if columns is None else list(columns)
    if nonnormal is not None and not isinstance(nonnormal, Mapping):
        nonnormal = list(nonnormal)
    key = ["table_one", by, columns, nonnormal, overall, pvalues, smd, decimals, quantiles]
    return remembered(lazy, key, lambda: _table_one(lazy, by, columns, nonnormal, overall,
                                                    pvalues, smd, decimals, quantiles))


def _table_one(lazy, by, columns, nonnormal, overall, pvalues, smd, decimals, quantiles):
    cb, con = lazy.codebook, lazy.con
    present = {c.name: c for c in lazy.columns}
    if by is None:
        by = next((c for c in cb.names(role="outcome") if c in present
                   and cb[c].type in CODED), None)
    if by is not None and (by not in present or cb[by].type not in CODED):
        raise ValidationError(f"grouping variable {by!r} must be a binary, categorical or "
                              "ordinal column of the data.")
    names = _columns(lazy, columns, by)
    if quantiles not in ("auto", "exact", "approximate"):
        raise ValidationError(f"quantiles must be 'auto', 'exact' or 'approximate', not "
                              f"{quantiles!r}.")
    if quantiles == "auto":
        quantiles = "exact" if lazy.n_analysed <= EXACT_LIMIT else "approximate"
    groups = [str(v) for v in cb[by].level_labels.values()] if by else []
    show = [*groups, OVERALL] if overall or not groups else groups
    group_sql = f"coalesce({quote(by)}, -1)" if by else "-1"
    # ``__valid`` re-applies every rule on each scan; the table's columns are read once
    # into a narrow temporary table (spilled to disk beyond memory_limit) that each of
    # the table's queries then scans.
    src = _narrow(lazy, [*([by] if by else []), *names])
    try:
        table = _table(lazy, src, by, names, groups, show, group_sql, nonnormal, pvalues, smd,
                       decimals, quantiles)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {src}")
    table.attrs["quantiles"] = quantiles
    return table


def _narrow(lazy, columns: list[str]) -> str:
    """A temporary table of ``columns`` (and the answers their skip logic reads) of the valid
    rows; coded columns as small integers."""
    cb = lazy.codebook
    present = {c.name for c in lazy.columns}
    needed = list(dict.fromkeys(
        [*columns, *(c for n in columns for c in (cb[n].asked_if or {}) if c in present)]))
    cols = ", ".join(f"{quote(c)}::{'SMALLINT' if cb[c].type in CODED else 'DOUBLE'} AS "
                     f"{quote(c)}" for c in needed)
    name = "__table_one"
    lazy.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM __valid")
    return name


def _table(lazy, src, by, names, groups, show, group_sql, nonnormal, pvalues, smd, decimals,
           quantiles) -> pd.DataFrame:
    cb, con = lazy.codebook, lazy.con
    g = len(groups)
    per_group = np.zeros(g, dtype=np.int64)
    sizes = con.sql(f"SELECT {group_sql} AS g, count(*) FROM {src} GROUP BY 1").fetchall()
    for code, n in sizes:
        if code >= 0:
            per_group[int(code)] = n
    n_total = int(sum(n for _, n in sizes))
    rows = [count_row(per_group, n_total, n_total - int(per_group.sum()), show, groups)]

    coded = [n for n in names if cb[n].type in CODED]
    counts = _level_counts(con, src, coded, group_sql)
    blanks = _not_asked(lazy, src, names, group_sql, g)
    numeric = [n for n in names if cb[n].type not in CODED]
    skew = _skewness(con, src, numeric)
    skewed = _skewed(numeric, skew, nonnormal)
    for name in names:
        var = cb[name]
        not_asked = blank_counts(blanks.get(name), groups)
        if var.type in CODED:
            levels = [str(v) for v in var.level_labels.values()]
            table = counts[name]
            k = len(levels)
            full = np.zeros((g + 1, k + 1), dtype=np.int64)  # last row: no group; last col: NA
            for grp, level, n in table:
                full[int(grp) if grp >= 0 else g, int(level) if level >= 0 else k] += n
            rows += coded_rows(name, var.label, levels, full[:g, :k], full[:, :k].sum(axis=0),
                               full[:g, k], int(full[:, k].sum()), not_asked, groups, show,
                               pvalues, smd, decimals)
        else:
            summary, missing = _summary(con, src, name, group_sql, groups, quantiles)
            rows.append(numeric_row(
                name, var.label, summary, name in skewed, groups, show,
                lambda name=name: _rank_test(con, src, name, group_sql), pvalues, smd, decimals,
                not_asked, missing))
    return assemble(rows, show)



def _columns(lazy, columns, by) -> list[str]:
    cb = lazy.codebook
    present = [c.name for c in lazy.columns]
    usable = (*CODED, *NUMERIC)
    if columns is None:
        return [v.name for v in cb if v.name in present and v.name != by and v.type in usable
                and not v.is_identifier and v.role not in DESIGN_ROLES and v.instrument is None]
    chosen = []
    for name in columns:
        if name not in present:
            raise ValidationError(f"{lazy.source}: table_one column {name!r} is not a column of "
                                  "the data.")
        if cb[name].is_identifier or cb[name].type not in usable:
            raise ValidationError(f"table_one column {name!r} ({cb[name].label}) is "
                                  f"{cb[name].type}; identifier, text and date columns are "
                                  "never tabulated.")
        if name != by and name not in chosen:
            chosen.append(name)
    return chosen


def _level_counts(con, src: str, coded: list[str], group_sql: str) -> dict[str, list[tuple]]:
    """(group, level, n) per coded variable, -1 for a missing group or level; one scan."""
    if not coded:
        return {}
    keys = ", ".join(f"coalesce({quote(c)}, -1) AS {quote(c)}" for c in coded)
    sets = ", ".join(f"(__g, {quote(c)})" for c in coded)
    frame = con.sql(f"SELECT __g, {', '.join(quote(c) for c in coded)}, count(*) AS n FROM "
                    f"(SELECT {group_sql} AS __g, {keys} FROM {src}) "
                    f"GROUP BY GROUPING SETS ({sets})").to_arrow_table().to_pandas()
    out = {}
    for c in coded:
        part = frame[frame[c].notna()]
        out[c] = list(zip(part["__g"].astype(int), part[c].astype(int), part["n"].astype(int),
                          strict=True))
    return out


def asked_sql(codebook, name: str, present: set[str]) -> str | None:
    """SQL that is true for the respondents asked ``name`` (the codebook's ``asked_if``).

    As :meth:`analysis.survey.Survey.asked`: a condition whose own answer is
    missing counts as asked. None when everyone is asked.
    """
    conditions = codebook[name].asked_if or {}
    parts = []
    for cond, codes in conditions.items():
        if cond not in present:
            continue
        var = codebook[cond]
        wanted = codes if isinstance(codes, list) else [codes]
        if var.type in CODED:  # the decoded column holds the level's position
            positions = list(var.level_labels)
            values = [positions.index(c) for c in wanted if c in var.level_labels]
        else:
            values = [float(c) for c in wanted]
        listed = ", ".join(str(v) for v in values) or "NULL"
        parts.append(f"({quote(cond)} IN ({listed}) OR {quote(cond)} IS NULL)")
    return " AND ".join(parts) if parts else None


def _not_asked(lazy, src: str, names: list[str], group_sql: str, g: int) -> dict:
    """Per variable with skip logic: (not asked by group, not asked overall)."""
    present = {c.name for c in lazy.columns}
    exprs = {}
    for name in names:
        asked = asked_sql(lazy.codebook, name, present)
        if asked:
            exprs[name] = f"sum((NOT ({asked}) AND {quote(name)} IS NULL)::BIGINT)"
    if not exprs:
        return {}
    rows = lazy.con.sql(f"SELECT {group_sql} AS g, {', '.join(exprs.values())} FROM {src} "
                        "GROUP BY 1").fetchall()
    out = {}
    for j, name in enumerate(exprs):
        by_group = np.zeros(g, dtype=np.int64)
        for row in rows:
            if row[0] >= 0:
                by_group[int(row[0])] = row[j + 1]
        total = int(sum(row[j + 1] for row in rows))
        if total:
            out[name] = (by_group, total)
    return out


def _skewness(con, src: str, numeric: list[str]) -> dict[str, float]:
    """Adjusted Fisher-Pearson skewness of each variable (as ``pandas.Series.skew``)."""
    if not numeric:
        return {}
    cols = [quote(c) for c in numeric]
    means = ", ".join(f"avg({c}) AS m{j}, count({c}) AS n{j}" for j, c in enumerate(cols))
    moments = ", ".join(f"sum(power({c} - m{j}, 2)), sum(power({c} - m{j}, 3)), any_value(n{j})"
                        for j, c in enumerate(cols))
    row = con.sql(f"WITH m AS (SELECT {means} FROM {src}) SELECT {moments} FROM {src}, m"
                  ).fetchall()[0]
    out = {}
    for j, name in enumerate(numeric):
        s2, s3, n = row[3 * j], row[3 * j + 1], row[3 * j + 2]
        if n is None or n < 3 or not s2:
            out[name] = 0.0
            continue
        m2, m3 = s2 / n, s3 / n
        # pandas reports 0 when the variance is zero to rounding
        out[name] = float(np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2 ** 1.5)
    return out


def _skewed(names, skew, nonnormal) -> set[str]:
    if nonnormal is not None and not isinstance(nonnormal, Mapping):
        chosen = set(nonnormal)
        return {n for n in names if n in chosen}
    skewed = {n for n in names if abs(skew.get(n, 0.0)) > SKEWNESS_LIMIT}
    for name, flag in (nonnormal or {}).items():
        (skewed.add if flag else skewed.discard)(name)
    return skewed & set(names)


def _summary(con, src: str, name: str, group_sql: str, groups: list[str], quantiles: str
             ) -> tuple[pd.DataFrame, int]:
    """n, missing, mean, SD, median and quartiles by group and overall; missing overall."""
    x = quote(name)
    q = ("quantile_cont({x}, [0.25, 0.5, 0.75])" if quantiles == "exact"
         else "approx_quantile({x}, [0.25, 0.5, 0.75])").format(x=x)
    rows = con.sql(
        f"SELECT __g, grouping(__g) AS whole, count({x}), count(*) - count({x}), avg({x}), "
        f"stddev_samp({x}), {q} FROM (SELECT {group_sql} AS __g, {x} FROM {src}) "
        "GROUP BY GROUPING SETS ((__g), ())").fetchall()
    labels = [*groups, OVERALL]
    frame = pd.DataFrame({"n": 0.0, "missing": 0.0, "mean": np.nan, "sd": np.nan,
                          "median": np.nan, "q1": np.nan, "q3": np.nan}, index=labels)
    for grp, whole, n, missing, mean, sd, qs in rows:
        if not whole and grp < 0:
            continue
        label = OVERALL if whole else groups[int(grp)]
        q1, median, q3 = qs if qs is not None else (np.nan, np.nan, np.nan)
        frame.loc[label] = [n, missing, _num(mean), _num(sd), _num(median), _num(q1), _num(q3)]
    return frame, int(frame.loc[OVERALL, "missing"])


def _num(value) -> float:
    return np.nan if value is None else float(value)


def _rank_test(con, src: str, name: str, group_sql: str) -> tuple[float, str]:
    """Kruskal-Wallis with ties from mid-ranks computed in SQL (one sort of the values)."""
    x = quote(name)
    rows = con.sql(
        f"WITH c AS (SELECT {x} AS x, {group_sql} AS g, count(*) AS n FROM {src} "
        f"WHERE {x} IS NOT NULL AND {group_sql} >= 0 GROUP BY 1, 2), "
        "t AS (SELECT x, sum(n) AS t FROM c GROUP BY x), "
        "r AS (SELECT x, t, sum(t) OVER (ORDER BY x) - (t - 1) / 2.0 AS rank FROM t) "
        "SELECT g, sum(c.n)::DOUBLE, sum(c.n * r.rank)::DOUBLE, "
        "(SELECT sum(t * t * t - t)::DOUBLE FROM t) FROM c JOIN r USING (x) GROUP BY g"
    ).fetchall()
    rows = [r for r in rows if r[1] > 0]
    if len(rows) < 2:
        return np.nan, NOT_TESTED
    n = np.array([r[1] for r in rows])
    ranks = np.array([r[2] for r in rows])
    ties = rows[0][3]
    total = n.sum()
    h = 12.0 / (total * (total + 1)) * np.sum(ranks ** 2 / n) - 3 * (total + 1)
    correction = 1 - ties / (total ** 3 - total)
    if correction <= 0:
        return np.nan, NOT_TESTED
    p = float(stats.chi2.sf(h / correction, len(rows) - 1))
    return p, MANN_WHITNEY if len(rows) == 2 else KRUSKAL


def lazy_missingness(lazy) -> pd.DataFrame:
    """:func:`analysis.figures.missingness` of a :class:`LazySurvey`, counted in one scan.

    ``variable, label, n, n_asked, n_not_asked, n_missing, percent_missing``
    for each codebook variable in the data, in codebook order; respondents
    not asked a question (``asked_if``) are not missing it.
    """
    return remembered(lazy, ["missingness"], lambda: _missingness(lazy))


def _missingness(lazy) -> pd.DataFrame:
    names, exprs = missing_sql(lazy)
    row = lazy.con.sql(f"SELECT count(*){''.join(', ' + e for e in exprs)} FROM __valid"
                       ).fetchall()[0]
    return missing_frame(lazy, names, row)


def missing_conditions(lazy) -> tuple[list[str], list[str]]:
    """The variables of the missing-value table and, for each, the conditions over decoded
    columns of being asked and of being asked but missing (``TRUE``: every row):
    :func:`analysis.scale.scan.validate_rows` counts them in its own scan, on the rows it
    keeps."""
    cb = lazy.codebook
    present = {c.name for c in lazy.columns}
    # identifier columns are dropped on loading unless kept, as in memory
    names = [n for n in cb.variables if n in present
             and (lazy.keep_identifiers or not cb[n].is_identifier)]
    conditions = []
    for name in names:
        asked = asked_sql(cb, name, present) or "TRUE"
        conditions += [asked, f"({asked}) AND {quote(name)} IS NULL"]
    return names, conditions


def missing_sql(lazy) -> tuple[list[str], list[str]]:
    """The variables of the missing-value table and its aggregates (:func:`missing_conditions`
    counted)."""
    names, conditions = missing_conditions(lazy)
    return names, [f"count(*) FILTER (WHERE {c})" for c in conditions]


def missing_frame(lazy, names: list[str], row) -> pd.DataFrame:
    """The missing-value table from ``count(*)`` and :func:`missing_sql`'s aggregates."""
    cb = lazy.codebook
    n = int(row[0])
    n_asked = np.array(row[1::2], dtype=np.int64)
    missing = np.array(row[2::2], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = 100 * missing / n_asked
    return pd.DataFrame({
        "variable": names, "label": [cb.label(v) for v in names], "n": n,
        "n_asked": n_asked, "n_not_asked": n - n_asked, "n_missing": missing,
        "percent_missing": percent})

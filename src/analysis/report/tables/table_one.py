"""Table 1 from the report's release: counts, Missing, Not asked, tests, designs.

:func:`register_table_one` adds the counts of an
:func:`analysis.describe.table_one` result to a
:class:`~analysis.privacy.Release`; :func:`released_table_one` and
:func:`released_design_table_one` render it once every table of the report is
registered, each cell reading as it does everywhere else in the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe import table_one_display
from analysis.describe.render import INDENT

BLANK = "(missing, asked)"  # asked without a value, when some were not asked
NOT_ASKED = "(not asked)"


def _decimals(se: pd.Series) -> int:
    """One decimal, more (up to 4) so the smallest SE keeps two significant digits."""
    se = se[np.isfinite(se) & (se > 0)]
    if se.empty:
        return 1
    return int(min(max(1, 1 - int(np.floor(np.log10(se.min())))), 4))


def _first_display_rows(table: pd.DataFrame) -> dict[str, int]:
    """Row of each variable's header line in :func:`table_one_display`'s output."""
    out, i = {}, 0
    for variable, rows in table.groupby("variable", sort=False):
        out[variable] = i
        coded = variable != "n" and rows["level"].iloc[0] != ""
        i += 1 + (len(rows) if coded else 0)
    return out


def blank_keys(release, base, variable: str, missing: float, not_asked: float) -> tuple:
    """Keys of a variable's shown Missing and Not asked counts, registering how they add up.

    ``(variable="(missing)")`` is every respondent without a value (the
    declared missing level); when some were not asked (skip logic) it is
    the asked-without-a-value count plus the not-asked count.
    """
    from analysis.privacy import MISSING_LEVEL

    unknown = base.plus(variable, MISSING_LEVEL)
    if not not_asked:
        return unknown, None
    blank, skipped = base.plus(variable, BLANK), base.plus(variable, NOT_ASKED)
    release.add_cell(unknown, float(missing + not_asked), released=False)
    release.add_relation(unknown, [blank, skipped])
    return blank, skipped


def level_key(base, variable: str, level) -> object:
    from analysis.privacy import MISSING_LEVEL
    return base.plus(variable, MISSING_LEVEL if level == "(missing)" else level)


def register_table_one(release, table: pd.DataFrame, *, by: str | None = None,
                       population: str = "analysed", where: str = "characteristics",
                       numeric_n: bool = False, percentages: bool = True) -> None:
    """Register the counts of a :func:`analysis.describe.table_one` result with ``release``.

    Cells (see :func:`analysis.privacy.cell_key`): the ``n`` row is
    ``(population, by=group)`` and, for Overall, ``(population)``; a level
    of a coded variable is ``(population, variable=level[, by=group])``;
    the Missing column is ``(population, variable="(missing)")``; the
    denominator of each column's percentages (its known values, given away
    by the percentages) is ``(population, variable="(known)"[, by=group])``.
    Each coded variable's levels (and ``by``'s) are declared with a missing
    level, so the margins tie Table 1 to every other table of the same
    population. The test (p-value) and SMD of a variable are registered as
    the estimate ``"<where>:<variable>:test"`` resting on all its cells.
    With ``numeric_n`` (the design-based Table 1 shows them) the respondents
    with a value of each numeric variable, per column, are released too:
    ``(population, variable="(known)"[, by=group])``. Without
    ``percentages`` (the design-based Table 1 shows weighted percentages,
    which do not give the unweighted denominators away) the denominators of
    coded variables are registered as unreleased.
    """
    from analysis.errors import DisclosureError
    from analysis.privacy import MISSING_LEVEL, cell_key

    groups = [c.split(":", 1)[1] for c in table.columns if c.startswith("n:")]
    inner = [g for g in groups if g != "Overall"]
    if inner and by is None:
        raise DisclosureError("register_table_one: the table has groups; pass by=, the "
                              "variable they are the levels of.")
    base = cell_key(population)

    def column(g):
        return base if g == "Overall" else base.plus(by, g)

    n_row = table[table["variable"] == "n"].iloc[0]
    if inner:
        release.declare_levels(by, inner, missing=MISSING_LEVEL)
        if "Overall" in groups:  # the report says how many have no group (no outcome)
            release.add_cell(base.plus(by, MISSING_LEVEL), float(n_row["missing"]), where=where)
    for g in groups:
        release.add_cell(column(g), float(n_row[f"n:{g}"]), where=where)
    for variable, rows in table.groupby("variable", sort=False):
        if variable == "n":
            continue
        missing = float(rows["missing"].iloc[0])
        not_asked = float(rows["not_asked"].iloc[0]) if "not_asked" in rows else 0.0
        missing_key, skipped_key = blank_keys(release, base, variable, missing, not_asked)
        cells = [release.add_cell(missing_key, missing, where=where)]
        if skipped_key is not None:
            cells.append(release.add_cell(skipped_key, not_asked, where=where))
        if rows["level"].iloc[0] == "":  # numeric: only its missing count is a count
            for g in (groups if numeric_n else ["Overall"]):
                known = release.known(column(g), variable)
                if numeric_n:
                    release.add_cell(known, float(rows[f"n:{g}"].iloc[0]), where=where)
                release.add_relation(column(g), [known, column(g).plus(variable,
                                                                       MISSING_LEVEL)])
            continue
        release.declare_levels(variable, rows["level"].tolist(), missing=MISSING_LEVEL)
        for g in groups:
            counts = rows[f"n:{g}"].to_numpy(dtype=float)
            for level, n in zip(rows["level"], counts, strict=True):
                cells.append(release.add_cell(column(g).plus(variable, level), n, where=where))
            cells.append(release.add_cell(release.known(column(g), variable),
                                          float(np.nansum(counts)), where=where,
                                          released=percentages))
            if g != "Overall" and not not_asked and f"missing:{g}" in rows and not pd.isna(
                    rows[f"missing:{g}"].iloc[0]):
                release.add_cell(column(g).plus(variable, MISSING_LEVEL),
                                 float(rows[f"missing:{g}"].iloc[0]), released=False)
        release.add_estimate(f"{where}:{variable}:test", cells)


def released_table_one(release, table: pd.DataFrame, *, by: str | None = None,
                       population: str = "analysed",
                       where: str = "characteristics") -> pd.DataFrame:
    """Table 1 as the reader sees it, from a release where it was registered.

    ``n (%)`` for shown counts (the percentage
    from the released, possibly rounded, counts), ``"<5"`` or
    ``"suppressed"`` for hidden ones, and the p-value, test and SMD of a
    variable with a hidden count shown as ``"suppressed"`` (a test statistic
    on known margins gives a hidden cell back).
    """
    from analysis.privacy import COMPLEMENT_LABEL, MISSING_LEVEL, cell_key

    groups = [c.split(":", 1)[1] for c in table.columns if c.startswith("n:")]
    base = cell_key(population)

    def column(g):
        return base if g == "Overall" else base.plus(by, g)

    shown = table.copy()
    decimals: dict[str, int] = {}
    for variable, rows in table.groupby("variable", sort=False):
        if variable == "n":
            for g in groups:
                shown.loc[rows.index, g] = release.label(column(g))
            continue
        if rows["level"].iloc[0] == "":
            continue
        for g in groups:
            den = release.known(column(g), variable)
            for idx, level in zip(rows.index, rows["level"], strict=True):
                key = column(g).plus(variable, level)
                text = release.label(key)
                if not release.hidden(key) and release.status(den) != "unreleased":
                    pct = release.percent(key, den, decimals.get(variable, 1))
                    text = f"{text} ({pct})" if pct not in ("", COMPLEMENT_LABEL) else text
                shown.loc[idx, g] = text
        if release.estimate_withheld(f"{where}:{variable}:test"):
            shown.loc[rows.index, "p_value"] = np.nan
            shown.loc[rows.index, "smd"] = np.nan
            shown.loc[rows.index, "test"] = COMPLEMENT_LABEL
    display = table_one_display(shown)
    first = _first_display_rows(table)
    if "Missing" in display:
        for variable, rows in table.groupby("variable", sort=False):
            if not rows["missing"].iloc[0]:
                continue
            # the n row's Missing is the respondents without a group (by missing)
            asked = "not_asked" in rows and rows["not_asked"].iloc[0] > 0 and variable != "n"
            missing = base.plus(by if variable == "n" else variable,
                                BLANK if asked else MISSING_LEVEL)
            display.loc[first[variable], "Missing"] = release.label(missing)
    if "Not asked" in display:
        for variable, rows in table.groupby("variable", sort=False):
            if variable != "n" and rows["not_asked"].iloc[0] > 0:
                display.loc[first[variable], "Not asked"] = release.label(
                    base.plus(variable, NOT_ASKED))
    for variable, rows in table.groupby("variable", sort=False):
        if variable != "n" and rows["level"].iloc[0] != "" and "p" in display and \
                release.estimate_withheld(f"{where}:{variable}:test"):
            display.loc[first[variable], "p"] = COMPLEMENT_LABEL
            # an SMD that is not defined (a dash with its note) has no number to hide
            if "SMD" in display and not str(display.loc[first[variable], "SMD"]).startswith(
                    ("\u2013", "-")):
                display.loc[first[variable], "SMD"] = COMPLEMENT_LABEL
    return display


def released_design_table_one(release, table: pd.DataFrame, weighted: pd.DataFrame, *,
                              by: str | None = None, population: str = "analysed",
                              where: str = "characteristics") -> pd.DataFrame:
    """Table 1 under a survey design from a release: unweighted n, weighted estimate (SE).

    The counts are the registered unweighted ones (:func:`register_table_one`),
    each labelled as everywhere else in the report; a weighted estimate
    whose unweighted count is hidden is hidden with it (the rule applies to
    the respondents behind a weighted estimate, not to weighted totals).
    """
    from analysis.privacy import COMPLEMENT_LABEL, MISSING_LEVEL, cell_key

    groups = [c.split(":", 1)[1] for c in table.columns if c.startswith("n:")]
    base = cell_key(population)

    def column(g):
        return base if g == "Overall" else base.plus(by, g)

    lookup = weighted.set_index(["variable", "level", "group"])
    out = []
    for variable, rows in table.groupby("variable", sort=False):
        first = rows.iloc[0]
        not_asked = float(first.get("not_asked", 0) or 0)
        if variable == "n":
            line = {"Characteristic": "n (unweighted)", "Missing": release.label(
                base.plus(by, MISSING_LEVEL)) if by and first["missing"] else "",
                "Not asked": ""}
            out.append(line | {f"{g}: n": release.label(column(g)) for g in groups})
            continue
        missing = base.plus(variable, BLANK if not_asked else MISSING_LEVEL)
        line = {"Missing": release.label(missing) if first["missing"] else "",
                "Not asked": release.label(base.plus(variable, NOT_ASKED)) if not_asked else ""}
        coded = first["level"] != ""
        if coded:
            out.append(line | {"Characteristic": f"{first['label']}, weighted % (SE)"})
            line = {}
        else:
            line["Characteristic"] = f"{first['label']}, weighted mean (SE)"
        for _, row in rows.iterrows():
            shown = dict(line) if not coded else {"Characteristic": INDENT + row["level"]}
            found = lookup.loc[[(variable, row["level"], g) for g in groups]]
            decimals = 1 if coded else _decimals(found["se"])
            for g, (estimate, se) in zip(groups, found[["estimate", "se"]].to_numpy(),
                                         strict=True):
                if coded:
                    key = column(g).plus(variable, row["level"])
                    hidden = release.hidden(key)
                    shown[f"{g}: n"] = release.label(key)
                else:  # a mean's respondents: the column's known values
                    key = release.known(column(g), variable)
                    hidden = release.hidden(key)
                    shown[f"{g}: n"] = release.label(key)
                shown[f"{g}: weighted (SE)"] = (
                    COMPLEMENT_LABEL if hidden else "" if pd.isna(estimate)
                    else f"{style.number(estimate, decimals)} ({style.number(se, decimals)})")
            out.append(shown)
    columns = ["Characteristic", *[f"{g}: {c}" for g in groups for c in ("n", "weighted (SE)")],
               "Missing", "Not asked"]
    display = pd.DataFrame(out).reindex(columns=columns).fillna("")
    keep = [c for c in display.columns if c != "Not asked" or (display[c] != "").any()]
    return display[keep]


__all__ = ["BLANK", "NOT_ASKED", "blank_keys", "level_key", "register_table_one",
           "released_design_table_one", "released_table_one"]

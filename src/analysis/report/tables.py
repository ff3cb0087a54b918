"""Reader-safe versions of the package's tables: small counts suppressed, text only.

Each function takes a tidy result table and returns a DataFrame of strings,
exactly as the reader sees it, with every count of 1 to ``threshold - 1``
respondents shown as ``"<5"`` and complementary suppression along the lines
the table publishes (see :mod:`analysis.privacy`); a cell hidden as a
complement (it counts ``threshold`` or more) shows ``"suppressed"``. A proportion, percentage
or interval that would give a suppressed count back is hidden with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe import prevalence_display, table_one_display
from analysis.describe.render import INDENT, format_p
from analysis.privacy import (
    DEFAULT_THRESHOLD,
    complementary_suppression,
    primary_mask,
    suppressed_label,
)

HIDDEN = "suppressed"


def _block_mask(counts: np.ndarray, threshold: int, *, total_col: bool) -> np.ndarray:
    """Suppression of a block: rows are levels, columns are groups (last = total if any).

    Lines: every column (its levels add up to a total that the percentages
    give away) and, when the last column is a total, every row.
    """
    n_rows, n_cols = counts.shape
    lines = [[(i, j) for i in range(n_rows)] for j in range(n_cols)]
    totals = []
    if total_col:
        lines += [[(i, j) for j in range(n_cols)] for i in range(n_rows)]
        totals = [(i, n_cols - 1) for i in range(n_rows)]
    return complementary_suppression(counts, lines, threshold, totals=totals)


def safe_table_one(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """:func:`analysis.describe.table_one_display` with small counts suppressed.

    For each coded variable the block of level counts by group (and the
    Overall column, the total of each row) is suppressed jointly; the
    variable's missing and not-asked counts join the Overall column's line
    (levels + missing + not asked = all respondents). A suppressed cell
    shows ``"<5"`` instead of ``n (%)``. Missing and not-asked counts of
    numeric variables are suppressed on their own (no published count of
    values adds up with them). See :func:`table_one_suppression`.
    """
    cells, blanks = table_one_suppression(table, threshold)
    shown = table.copy()
    for g in cells.columns:
        hide = cells[g] != ""
        shown.loc[hide, g] = cells.loc[hide, g]
    display = table_one_display(shown)
    _write_blank_counts(display, table, blanks)
    return display


def safe_design_table_one(table: pd.DataFrame, weighted: pd.DataFrame,
                          threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Table 1 under a survey design, as reader text: unweighted n, weighted estimate (SE).

    ``table`` is :func:`analysis.describe.table_one` (unweighted counts,
    missing and not asked) and ``weighted`` is
    :func:`analysis.design_based.survey_table_one` of the same survey, by
    the same groups and variables. Per group two columns: ``"<group>: n"``,
    the unweighted respondents in the level (or with a value), and
    ``"<group>: weighted (SE)"``, the weighted percentage or mean with its
    design-based standard error; then ``Missing`` and ``Not asked``
    (unweighted). Suppression is that of :func:`safe_table_one`, on the
    unweighted counts; the weighted estimate of a hidden count is hidden
    with it.
    """
    groups = [c.split(":", 1)[1] for c in table.columns if c.startswith("n:")]
    cells, blanks = table_one_suppression(table, threshold)
    lookup = weighted.set_index(["variable", "level", "group"])
    out = []
    for variable, rows in table.groupby("variable", sort=False):
        first = rows.iloc[0]
        line = {"Characteristic": "n (unweighted)" if variable == "n" else first["label"],
                "Missing": _count(first["missing"]),
                "Not asked": _count(first.get("not_asked", 0))}
        if variable == "n":
            out.append(line | {f"{g}: n": cells.at[first.name, g] or _count(first[f"n:{g}"])
                               for g in groups})
            continue
        coded = first["level"] != ""
        if coded:
            out.append(line | {"Characteristic": f"{first['label']}, weighted % (SE)"})
            line = {}
        else:
            line["Characteristic"] = f"{first['label']}, weighted mean (SE)"
        for index, row in rows.iterrows():
            shown = dict(line) if not coded else {"Characteristic": INDENT + row["level"]}
            found = lookup.loc[[(variable, row["level"], g) for g in groups]]
            decimals = 1 if coded else _decimals(found["se"])
            for g, (estimate, se) in zip(groups, found[["estimate", "se"]].to_numpy(),
                                         strict=True):
                hidden = cells.at[index, g]
                shown[f"{g}: n"] = hidden or _count(row[f"n:{g}"], zero="0")
                shown[f"{g}: weighted (SE)"] = (HIDDEN if hidden else "" if pd.isna(estimate)
                                               else f"{style.number(estimate, decimals)} "
                                                    f"({style.number(se, decimals)})")
            out.append(shown)
    columns = ["Characteristic", *[f"{g}: {c}" for g in groups for c in ("n", "weighted (SE)")],
               "Missing", "Not asked"]
    display = pd.DataFrame(out).reindex(columns=columns).fillna("")
    first_rows = _first_display_rows(table)
    for variable, texts in blanks.items():
        for column, text in texts.items():
            display.loc[first_rows[variable], {"missing": "Missing",
                                               "not_asked": "Not asked"}[column]] = text
    keep = [c for c in display.columns if c != "Not asked" or (display[c] != "").any()]
    return display[keep]


def _count(value, zero: str = "") -> str:
    return style.count(value, zero)


def _decimals(se: pd.Series) -> int:
    """One decimal, more (up to 4) so the smallest SE keeps two significant digits."""
    se = se[np.isfinite(se) & (se > 0)]
    if se.empty:
        return 1
    return int(min(max(1, 1 - int(np.floor(np.log10(se.min())))), 4))


def table_one_suppression(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD
                          ) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """Which counts of a :func:`analysis.describe.table_one` result to hide.

    Returns ``cells``, a frame on the index of ``table`` with one column per
    display column (groups and Overall) holding ``""`` (shown), ``"<5"``
    (small) or ``"suppressed"`` (a complement), and, per variable, the text
    that replaces its missing or not-asked count when hidden
    (``{"age": {"missing": "<5"}}``).
    """
    groups = [c.split(":", 1)[1] for c in table.columns if c.startswith("n:")]
    has_total = "Overall" in groups and len(groups) > 1
    label = suppressed_label(threshold)
    cells = pd.DataFrame("", index=table.index, columns=groups)
    extra_text: dict[str, dict[str, str]] = {}
    blanks = [c for c in ("missing", "not_asked") if c in table.columns]
    for variable, rows in table.groupby("variable", sort=False):
        counts = rows[[f"n:{g}" for g in groups]].to_numpy(dtype=float)
        if variable == "n":
            mask = primary_mask(counts, threshold)
            for j, g in enumerate(groups):
                if mask[0, j]:
                    cells.loc[rows.index, g] = label
            continue
        blank = rows[blanks].iloc[0].to_numpy(dtype=float)
        if rows["level"].iloc[0] == "":
            # a numeric variable publishes no count of values, so nothing adds up to these
            small = primary_mask(blank, threshold)
            extra_text[variable] = {c: label for c, hide in zip(blanks, small, strict=True)
                                    if hide}
            continue
        # The missing and not-asked counts sit in the Overall column only. A zero shows as a
        # blank the reader reads as 0: a known value, not a cell that could hide another.
        extra = np.full((len(blanks), len(groups)), np.nan)
        extra[:, -1] = np.where(blank > 0, blank, np.nan)
        block = np.vstack([counts, extra])
        mask = _block_mask(block, threshold, total_col=has_total)
        primary = primary_mask(block, threshold)
        k = len(rows)
        for j, g in enumerate(groups):
            cells.loc[rows.index[mask[:k, j] & primary[:k, j]], g] = label
            cells.loc[rows.index[mask[:k, j] & ~primary[:k, j]], g] = HIDDEN
        extra_text[variable] = {c: (label if primary[k + i, -1] else HIDDEN)
                                for i, c in enumerate(blanks) if mask[k + i, -1]}
    return cells, extra_text


def _write_blank_counts(display: pd.DataFrame, table: pd.DataFrame,
                        blanks: dict[str, dict[str, str]]) -> None:
    first = _first_display_rows(table)
    names = {"missing": "Missing", "not_asked": "Not asked"}
    for variable, texts in blanks.items():
        for column, text in texts.items():
            if names[column] in display:
                display.loc[first[variable], names[column]] = text


def _first_display_rows(table: pd.DataFrame) -> dict[str, int]:
    """Row of each variable's header line in :func:`table_one_display`'s output."""
    out, i = {}, 0
    for variable, rows in table.groupby("variable", sort=False):
        out[variable] = i
        coded = variable != "n" and rows["level"].iloc[0] != ""
        i += 1 + (len(rows) if coded else 0)
    return out


def prevalence_suppression(table: pd.DataFrame,
                           threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Which counts of a :func:`analysis.describe.prevalence` table to hide.

    Per factor, the counts ``events``, non-events and ``n`` of its levels
    form a block whose columns add up to the Overall row, and in each row
    events + non-events = n. Returns boolean columns ``events, n`` (hide)
    and ``events_primary, n_primary`` (hidden because small, not as a
    complement), on the index of ``table``.
    """
    out = pd.DataFrame(False, index=table.index,
                       columns=["events", "n", "events_primary", "n_primary"])
    overall = table[table["variable"] == "overall"]
    ov = overall[["n", "events"]].to_numpy(dtype=float)[:1]
    for _, rows in table[table["variable"] != "overall"].groupby("variable", sort=False):
        block = np.vstack([rows[["n", "events"]].to_numpy(dtype=float), ov])
        counts = np.column_stack([block[:, 1], block[:, 0] - block[:, 1], block[:, 0]])
        n_rows = counts.shape[0]
        lines = [[(i, j) for i in range(n_rows)] for j in range(3)]
        lines += [[(i, 0), (i, 1), (i, 2)] for i in range(n_rows)]
        totals = [(n_rows - 1, j) for j in range(3)] + [(i, 2) for i in range(n_rows)]
        mask = complementary_suppression(counts, lines, threshold, totals=totals)[:-1]
        primary = primary_mask(counts, threshold)[:-1]
        out.loc[rows.index, "events"] = mask[:, 0] | mask[:, 1]
        out.loc[rows.index, "n"] = mask[:, 2]
        out.loc[rows.index, "events_primary"] = primary[:, 0] | primary[:, 1]
        out.loc[rows.index, "n_primary"] = primary[:, 2]
    # the Overall row is a total; only a tiny survey has a small one
    for idx in overall.index:
        small = primary_mask(table.loc[[idx], ["n", "events"]].to_numpy(dtype=float), threshold)
        if small.any():
            out.loc[idx, :] = True
    return out


def safe_prevalence(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """:func:`analysis.describe.prevalence_display` with small counts suppressed.

    See :func:`prevalence_suppression`. A row with any hidden count shows
    ``"suppressed"`` for its prevalence and interval, which would give the
    count back.
    """
    display = prevalence_display(table)
    label = suppressed_label(threshold)
    hide = prevalence_suppression(table, threshold)
    pct_cols = [c for c in display.columns if "%" in c or c == "Effective n"]
    for column, name in (("events", "Events"), ("n", "n")):
        display.loc[hide[column] & hide[f"{column}_primary"], name] = label
        display.loc[hide[column] & ~hide[f"{column}_primary"], name] = HIDDEN
    display.loc[hide["events"] | hide["n"], pct_cols] = HIDDEN
    return display


def _ci(est: float, low: float, high: float) -> str:
    """"1.43 (1.13-1.82)" in the current number style (:func:`analysis.style.ci`)."""
    return style.ci(est, low, high)


ESTIMATE_NAMES = {"or": "OR", "irr": "IRR", "rrr": "RRR", "pr": "PR"}


def safe_model_table(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The side-by-side table of a model result as reader text.

    Columns ``Factor``, ``OR crude (95% CI)``, ``p crude``, ``OR adjusted
    (95% CI)``, ``p adjusted``, ``n``, ``Events`` (IRR for counts, RRR and
    an ``Outcome`` column for multinomial models; no ``Events`` where the
    model has none). The ``n`` and events of a factor's levels add up to the
    model's n and events, so each factor is a block suppressed like a
    prevalence table; estimates stay shown.
    """
    label = suppressed_label(threshold)
    estimate = next(e for e in ESTIMATE_NAMES if f"{e}_crude" in table.columns)
    name = ESTIMATE_NAMES[estimate]
    columns = {"Outcome": table["outcome_level"]} if "outcome_level" in table.columns else {}
    has_events = table["events"].notna().any()
    out = pd.DataFrame({
        **columns,
        "Factor": table["label"],
        f"{name} crude (95% CI)": [_ci(*v) for v in table[
            [f"{estimate}_crude", "ci_low_crude", "ci_high_crude"]].to_numpy()],
        "p crude": table["p_crude"].map(format_p),
        f"{name} adjusted (95% CI)": [_ci(*v) for v in table[
            [f"{estimate}_adjusted", "ci_low_adjusted", "ci_high_adjusted"]].to_numpy()],
        "p adjusted": table["p_adjusted"].map(format_p),
        "n": table["n"].map(style.count),
        "Events": table["events"].map(style.count),
    }, index=table.index)
    keys = ["outcome_level", "variable"] if columns else ["variable"]
    for _, rows in table.groupby(keys, sort=False):
        n = rows["n"].to_numpy(dtype=float)
        ev = rows["events"].to_numpy(dtype=float) if has_events else np.zeros_like(n)
        counts = np.column_stack([ev, n - ev, n])
        lines = [[(i, j) for i in range(len(rows))] for j in range(3)] if len(rows) > 1 else []
        lines += [[(i, 0), (i, 1), (i, 2)] for i in range(len(rows))]
        if not has_events:  # only n: suppress the n column as one block
            counts[:, :2] = np.nan
            lines = [[(i, 2) for i in range(len(rows))]] if len(rows) > 1 else []
        mask = complementary_suppression(counts, lines, threshold,
                                         totals=[(i, 2) for i in range(len(rows))])
        primary = primary_mask(counts, threshold)
        events_hidden, events_small = mask[:, 0] | mask[:, 1], primary[:, 0] | primary[:, 1]
        out.loc[rows.index[events_hidden & events_small], "Events"] = label
        out.loc[rows.index[events_hidden & ~events_small], "Events"] = HIDDEN
        out.loc[rows.index[mask[:, 2] & primary[:, 2]], "n"] = label
        out.loc[rows.index[mask[:, 2] & ~primary[:, 2]], "n"] = HIDDEN
    out = out.reset_index(drop=True)
    return out if has_events else out.drop(columns=["Events"])


def safe_counts(table: pd.DataFrame, count: str, threshold: int = DEFAULT_THRESHOLD, *,
                total: bool = False, percent: str | None = None) -> pd.DataFrame:
    """A table with one count column as text, small counts suppressed.

    With ``total=True`` the rows add up to a total shown in the last row,
    so complementary suppression applies down the column; otherwise each
    count is suppressed on its own. A ``percent`` column of a suppressed
    row is hidden too.
    """
    values = table[count].to_numpy(dtype=float)[:, None]
    lines = [[(i, 0) for i in range(len(values))]] if total else []
    totals = [(len(values) - 1, 0)] if total else []
    mask = complementary_suppression(values, lines, threshold, totals=totals)[:, 0]
    primary = primary_mask(values, threshold)[:, 0]
    out = table.copy()
    out[count] = [(suppressed_label(threshold) if small else HIDDEN) if m
                  else style.count(v)
                  for m, small, v in zip(mask, primary, values[:, 0], strict=True)]
    if percent is not None:
        out[percent] = [HIDDEN if m else style.percent(p)
                        for m, p in zip(mask, table[percent], strict=True)]
    return out


# ---- one release for the whole report (analysis.privacy.Release) ---------------------
# The functions below are the thin adapter between the report's tables and one
# :class:`analysis.privacy.Release`: ``register_*`` adds a table's counts (and the
# estimates resting on them) to the release, ``released_*`` renders the table once
# *every* table of the report is registered, with each cell reading the same in every
# table, CSV and results.json. Populations name whom the counts are taken over; use one
# population for every table of the same respondents (Table 1 and the prevalence table of
# the analysed respondents), another for each model's complete cases.


BLANK = "(missing, asked)"  # asked without a value, when some were not asked
NOT_ASKED = "(not asked)"


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


def _level_key(base, variable: str, level) -> object:
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

    Like :func:`safe_table_one`: ``n (%)`` for shown counts (the percentage
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


def _outcome_keys(release, base, outcome: str, outcome_levels):
    """(n, events, non-events or None) keys of ``base`` for a binary-or-more outcome."""
    event = outcome_levels[-1]
    non_event = outcome_levels[0] if len(outcome_levels) == 2 else None
    return (release.known(base, outcome), base.plus(outcome, event),
            None if non_event is None else base.plus(outcome, non_event))


def register_prevalence(release, table: pd.DataFrame, *, outcome: str,
                        outcome_levels, population: str = "analysed",
                        where: str = "prevalence") -> None:
    """Register a :func:`analysis.describe.prevalence` table (unweighted counts) with ``release``.

    ``outcome_levels``: the outcome's levels, the event last (``["No",
    "Yes"]``). Per row: ``n`` is ``(population, factor=level,
    outcome="(known)")``, the events ``(..., outcome=event)`` and, for a
    binary outcome, the non-events ``(..., outcome=non-event)``, released
    because ``n - events`` gives them; the overall row drops the factor.
    The prevalence and interval of a row (also weighted ones: the rule
    applies to the unweighted counts behind them) are the estimate
    ``"<where>:<variable>:<level>"``.
    """
    from analysis.privacy import MISSING_LEVEL, cell_key

    levels = [str(v) for v in outcome_levels]
    if not release.declared(outcome):
        release.declare_levels(outcome, levels, missing=MISSING_LEVEL)
    base = cell_key(population)
    for variable, rows in table.groupby("variable", sort=False):
        if variable != "overall" and not release.declared(variable):
            known = [lv for lv in rows["level"] if lv != "(missing)"]
            release.declare_levels(variable, known, missing=MISSING_LEVEL)
        for _, row in rows.iterrows():
            cell = base if variable == "overall" else _level_key(base, variable, row["level"])
            n_key, ev_key, non_key = _outcome_keys(release, cell, outcome, levels)
            cells = [release.add_cell(n_key, float(row["n"]), where=where),
                     release.add_cell(ev_key, float(row["events"]), where=where)]
            if non_key is not None:
                cells.append(release.add_cell(non_key, float(row["n"] - row["events"]),
                                              where=where))
            release.add_estimate(f"{where}:{variable}:{row['level']}", cells)


def prevalence_withheld(release, table: pd.DataFrame, *,
                        where: str = "prevalence") -> pd.Series:
    """Rows of a registered prevalence table whose prevalence must not be shown or drawn."""
    return pd.Series([release.estimate_withheld(f"{where}:{v}:{lv}")
                      for v, lv in zip(table["variable"], table["level"], strict=True)],
                     index=table.index)


def released_prevalence(release, table: pd.DataFrame, *, outcome: str, outcome_levels,
                        population: str = "analysed",
                        where: str = "prevalence") -> pd.DataFrame:
    """A registered prevalence table as reader text (see :func:`safe_prevalence`).

    With rounding, the (unweighted) prevalence and its Wilson interval are
    computed from the rounded counts, as the percentages are.
    """
    from analysis.describe import wilson_interval
    from analysis.privacy import COMPLEMENT_LABEL, cell_key

    levels = [str(v) for v in outcome_levels]
    display = prevalence_display(table)
    pct = style.current_style().percent_decimals
    base = cell_key(population)
    for idx, row in table.iterrows():
        cell = base if row["variable"] == "overall" else _level_key(base, row["variable"],
                                                                    row["level"])
        n_key, ev_key, _ = _outcome_keys(release, cell, outcome, levels)
        display.loc[idx, "n"] = release.label(n_key)
        display.loc[idx, "Events"] = release.label(ev_key)
        n_r, ev_r = release.value(n_key), release.value(ev_key)
        if release.rounding and n_r and ev_r is not None:
            low, high = wilson_interval(ev_r, n_r)
            display.loc[idx, "Prevalence, % (95% CI)"] = (
                f"{style.percent(100 * ev_r / n_r)} "
                f"({style.interval(100 * float(low), 100 * float(high), pct)})")
    pct_cols = [c for c in display.columns if "%" in c or c == "Effective n"]
    display.loc[prevalence_withheld(release, table, where=where), pct_cols] = COMPLEMENT_LABEL
    return display


def _population_of(population, variable) -> str:
    """A model table's population: one name, or one per variable (``{variable: name}``)
    when each exposure has its own model and so its own complete cases."""
    return population if isinstance(population, str) else population[str(variable)]


def _model_cell(base, table: pd.DataFrame, ref_of: pd.Series, idx) -> object:
    """The cell a model-table row counts: a factor level, an interaction cell or the total."""
    row = table.loc[idx]
    if ref_of.loc[table.index[table["variable"] == row["variable"]]].any():
        return base.plus(row["variable"], row["level"])
    if " × " in str(row["level"]):
        return base.plus(str(row["variable"]), row["level"])
    return base  # a numeric variable per unit: the model's totals


def _events_mode(table: pd.DataFrame, events: str | None) -> str:
    """``"binary"``, ``"category"`` (a row per outcome level) or ``"none"`` (rates: n only)."""
    if events is not None:
        return events
    if any(c.startswith("irr_") for c in table.columns):
        return "none"
    return "category" if "outcome_level" in table.columns else "binary"


def _event_key(release, cell, outcome: str, levels, row, mode: str):
    if mode == "category":
        return cell.plus(outcome, row["outcome_level"])
    return _outcome_keys(release, cell, outcome, levels)[1]


def register_model_table(release, table: pd.DataFrame, *, outcome: str, outcome_levels,
                         population, where: str, events: str | None = None) -> None:
    """Register the side-by-side table of a model (``result.table``) with ``release``.

    ``population`` names the model's complete cases (e.g. ``"model:odds_ratios"``;
    the analysed population only when the model left nobody out), or a
    mapping ``{variable: population}`` when each exposure's rows come from
    its own model (a causal diagram's adjustment sets). For each
    factor level: ``n`` is ``(population, factor=level)``, the events
    ``(..., outcome=event)`` and, for a binary outcome, the non-events, tied
    by ``n = events + non-events``; the model's totals are ``(population)``
    and ``(population, outcome=event)``, which the table's note prints (use
    ``release.label`` of those keys there). The estimates of each row are
    ``"<where>:<row index>"``, resting on the level's and the reference
    level's cells (Woolf: see :mod:`analysis.privacy.estimates`). Rate-ratio
    tables register ``n`` only (their events are episodes, not respondents).
    Counts must be unweighted. ``events``: ``"binary"`` (events and
    non-events), ``"category"`` (a multinomial table: a row's events are its
    level's respondents in the row's ``outcome_level``) or ``"none"`` (n
    only: rate ratios, ordinal models); default from the table's columns.
    """
    from analysis.privacy import MISSING_LEVEL, cell_key, estimate_cells

    levels = [str(v) for v in outcome_levels]
    mode = _events_mode(table, events)
    rate = mode == "none"
    if not release.declared(outcome):
        release.declare_levels(outcome, levels, missing=MISSING_LEVEL)
    ref_of = estimate_cells(table)["ref_n"].notna()  # rows against a reference level
    row_cells: dict[object, list] = {}
    totals_done: set = set()
    for variable, rows in table.groupby("variable", sort=False):
        base = cell_key(_population_of(population, variable))
        factor = bool(ref_of.loc[rows.index].any())
        for idx, row in rows.iterrows():
            if pd.isna(row["n"]):
                row_cells[idx] = []
                continue
            cell = _model_cell(base, table, ref_of, idx)
            cells = [release.add_cell(cell, float(row["n"]), where=where)]
            if not rate:
                _, ev_key, non_key = _outcome_keys(release, cell, outcome, levels)
                if mode == "category":
                    ev_key, non_key = cell.plus(outcome, row["outcome_level"]), None
                cells.append(release.add_cell(ev_key, float(row["events"]), where=where))
                if non_key is not None:
                    cells.append(release.add_cell(non_key, float(row["n"] - row["events"]),
                                                  where=where))
                    release.add_relation(cell, [ev_key, non_key])
            row_cells[idx] = cells
        if not factor:
            continue
        if base not in totals_done and mode != "category":
            release.add_cell(base, float(rows["n"].sum()), where=where)
            if not rate:
                release.add_cell(base.plus(outcome, levels[-1]), float(rows["events"].sum()),
                                 where=where)
            totals_done.add(base)
        if not release.declared(variable):
            release.declare_levels(variable, list(dict.fromkeys(rows["level"])),
                                   missing=MISSING_LEVEL)
        ref = [i for i in rows.index if not ref_of.loc[i]]
        for idx in rows.index:
            if ref_of.loc[idx]:
                row_cells[idx] = row_cells[idx] + [c for r in ref for c in row_cells[r]]
    for idx, cells in row_cells.items():
        release.add_estimate(f"{where}:{idx}", cells)


def released_model_table(release, table: pd.DataFrame, *, where: str, outcome: str,
                         outcome_levels, population,
                         events: str | None = None) -> pd.DataFrame:
    """A registered model table as reader text (see :func:`safe_model_table`).

    ``population`` as given to :func:`register_model_table`.

    Columns ``Factor``, ``<RATIO> crude (95% CI)``, ``p crude``, ``<RATIO>
    adjusted (95% CI)``, ``p adjusted``, ``n``, ``Events``. A row whose
    estimate rests on a hidden or small count (:meth:`Release.estimate_withheld`,
    and :func:`analysis.privacy.withheld_estimates` for the cells the release
    does not hold) shows ``"suppressed"`` for its estimates and p-values.
    """
    from analysis.privacy import (
        COMPLEMENT_LABEL,
        RATIO,
        cell_key,
        estimate_cells,
        withheld_estimates,
    )

    levels = [str(v) for v in outcome_levels]
    mode = _events_mode(table, events)
    rate = mode == "none"
    ratio = next(RATIO.match(c).group(1) for c in table.columns if RATIO.match(c))
    # with rounding only, estimates resting on counts below the rounding base are withheld
    limit = release.threshold or release.rounding
    withheld = withheld_estimates(table, limit) | pd.Series(
        [release.estimate_withheld(f"{where}:{i}") for i in table.index], index=table.index)
    # a reference level has no estimate of its own: it stays "1 (reference)"
    reference = pd.Series(True, index=table.index)
    for model in ("crude", "adjusted"):
        if f"{ratio}_{model}" in table:
            reference &= table[f"ci_low_{model}"].isna() & np.isclose(
                table[f"{ratio}_{model}"].astype(float).fillna(1.0), 1.0)
    withheld &= ~(reference & table["n"].notna())
    name = ratio.upper()
    out = pd.DataFrame({"Factor": table["label"]}, index=table.index)
    for model in ("crude", "adjusted"):
        if f"{ratio}_{model}" not in table:
            continue
        out[f"{name} {model} (95% CI)"] = [_ci(*v) for v in table[
            [f"{ratio}_{model}", f"ci_low_{model}", f"ci_high_{model}"]].to_numpy()]
        out[f"p {model}"] = table[f"p_{model}"].map(format_p)
        out.loc[withheld, [f"{name} {model} (95% CI)", f"p {model}"]] = COMPLEMENT_LABEL
    ref_of = estimate_cells(table)["ref_n"].notna()
    n_text, ev_text = [], []
    for idx, row in table.iterrows():
        if pd.isna(row["n"]):
            n_text.append("")
            ev_text.append("")
            continue
        base = cell_key(_population_of(population, row["variable"]))
        cell = _model_cell(base, table, ref_of, idx)
        n_text.append(release.label(cell))
        if rate:  # episodes, not respondents; a ratio on a small n is withheld with it
            ev_text.append("" if pd.isna(row["events"]) else
                           COMPLEMENT_LABEL if withheld.loc[idx] else style.count(row["events"]))
        else:
            ev_text.append(release.label(_event_key(release, cell, outcome, levels, row, mode)))
    if "outcome_level" in table.columns:
        out.insert(0, "Outcome", table["outcome_level"].astype(str))
    out["n"] = n_text
    out["Events"] = ev_text
    if not table["events"].notna().any():
        out = out.drop(columns=["Events"])
    return out.reset_index(drop=True)


def register_counts(release, keys, counts, *, total=None, where: str) -> None:
    """Register a column of counts under ``keys`` (with ``total``, their total's key).

    For the report's one-column tables (missing values per variable, the
    participant flow, values changed by rule): the caller names each row's
    cell, so that a count shown in two places (a variable's missing count
    here and in Table 1: ``(population, variable="(missing)")``) is one cell.
    """
    keys = list(keys)
    values = [float(v) for v in counts]
    for k, v in zip(keys, values, strict=True):
        release.add_cell(k, v, where=where)
    if total is not None:
        release.add_cell(total, float(sum(values)), where=where)
        release.add_relation(total, keys)


def released_counts(release, table: pd.DataFrame, count: str, keys, *,
                    percent: str | None = None, denominators=None,
                    decimals: int = 1) -> pd.DataFrame:
    """``table`` with its ``count`` column as released labels (see :func:`register_counts`).

    With ``percent`` and ``denominators`` (a key per row) the percentage is
    computed from the released counts, and hidden with a hidden count.
    """
    out = table.copy()
    keys = list(keys)
    out[count] = [release.label(k) for k in keys]
    if percent is not None:
        if denominators is None:
            raise ValueError("released_counts: a percent column needs denominators=")
        out[percent] = [release.percent(k, d, decimals)
                        for k, d in zip(keys, list(denominators), strict=True)]
    return out


def released_design_table_one(release, table: pd.DataFrame, weighted: pd.DataFrame, *,
                              by: str | None = None, population: str = "analysed",
                              where: str = "characteristics") -> pd.DataFrame:
    """Table 1 under a survey design from a release (see :func:`safe_design_table_one`).

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


def prevalence_keys(release, base, row, outcome: str, outcome_levels) -> tuple:
    """The (n, events) cells of a prevalence-table row (see :func:`register_prevalence`)."""
    cell = base if row["variable"] == "overall" else _level_key(base, row["variable"],
                                                                row["level"])
    n_key, ev_key, _ = _outcome_keys(release, cell, outcome, [str(v) for v in outcome_levels])
    return n_key, ev_key

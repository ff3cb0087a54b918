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
                                               else f"{estimate:.{decimals}f} "
                                                    f"({se:.{decimals}f})")
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
    if value is None or pd.isna(value):
        return ""
    return str(int(value)) if value else zero


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
    """"1.43 (1.13-1.82)"; more decimals when two would show an interval as one number.

    An odds ratio per second of plank hold is close to 1: "0.99 (0.99-0.99)"
    hides a real interval that "0.992 (0.990-0.994)" shows.
    """
    if pd.isna(est):
        return ""
    if pd.isna(low):
        return "1 (reference)"
    if not (np.isfinite(est) and np.isfinite(low) and np.isfinite(high)):
        return "not estimable"
    decimals = 2
    while decimals < 4 and round(low, decimals) == round(high, decimals):
        decimals += 1
    return f"{est:.{decimals}f} ({low:.{decimals}f}-{high:.{decimals}f})"


ESTIMATE_NAMES = {"or": "OR", "irr": "IRR", "rrr": "RRR"}


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
        "n": table["n"].map(lambda v: "" if pd.isna(v) else str(int(v))),
        "Events": table["events"].map(lambda v: "" if pd.isna(v) else str(int(v))),
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
                  else ("" if pd.isna(v) else str(int(v)))
                  for m, small, v in zip(mask, primary, values[:, 0], strict=True)]
    if percent is not None:
        out[percent] = [HIDDEN if m else ("" if pd.isna(p) else f"{p:.1f}")
                        for m, p in zip(mask, table[percent], strict=True)]
    return out

"""The rows of Table 1 built from counts and summaries, wherever those were computed.

:func:`analysis.describe.table_one` counts in memory; the out-of-core Table 1
(:func:`analysis.scale.describe.lazy_table_one`) counts in DuckDB. Both hand
their counts to the functions here, so the display, the tests and the SMDs
are built by one piece of code whatever the size of the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe import comparisons

OVERALL = "Overall"
STATISTICS = ("n", "percent", "mean", "sd", "median", "q1", "q3", "missing", "not_asked")
FRONT = ["variable", "label", "level", "summary"]
BACK = ["missing", "not_asked", "p_value", "test", "smd", "smd_note"]


def count_row(per_group: np.ndarray, n_total: int, n_missing_by: int, show: list[str],
              groups: list[str]) -> dict:
    """The first row of Table 1: respondents per group and overall."""
    counts = dict(zip(groups, [int(c) for c in per_group], strict=True)) | {OVERALL: n_total}
    row = {"variable": "n", "label": "n", "level": "", "summary": "n",
           "missing": int(n_missing_by) if groups else 0, "not_asked": 0, "test": "",
           "smd_note": ""}
    for col in show:
        row[col] = str(counts[col])
        row[f"n:{col}"] = counts[col]
    return row


def blank_counts(not_asked: tuple[np.ndarray, int] | None, groups: list[str]) -> dict:
    """Not asked by display column (group labels and Overall), from (by group, overall)."""
    if not_asked is None:
        return dict.fromkeys([*groups, OVERALL], 0)
    by_group, overall = not_asked
    return dict(zip(groups, [int(x) for x in by_group], strict=True)) | {OVERALL: int(overall)}


def coded_rows(name: str, label: str, levels: list[str], by_group: np.ndarray,
               overall: np.ndarray, missing_by_group: np.ndarray, missing_overall: int,
               not_asked: dict, groups: list[str], show: list[str], pvalues: bool,
               want_smd: bool, decimals: int) -> list[dict]:
    """One row per level: n (%) per column, the test of the groups x levels table and the SMD.

    ``by_group`` is the groups x levels count table, ``overall`` the level
    counts of every respondent (a missing group included), ``missing_*`` the
    blanks (not-asked respondents included; they are taken out here).
    """
    g = len(groups)
    counts = dict(zip(groups, by_group, strict=True)) | {OVERALL: overall}
    missing = {col: int(m) - not_asked[col] for col, m in
               (dict(zip(groups, missing_by_group, strict=True))
                | {OVERALL: int(missing_overall)}).items()}
    p_value, test = comparisons.categorical_test(by_group) if pvalues and g > 1 else (np.nan, "")
    effect, why = np.nan, ""
    if want_smd and g > 0:
        totals = by_group.sum(axis=1, keepdims=True)
        filled = totals[:, 0] > 0
        effect, why = comparisons.categorical_smd_checked(by_group[filled] / totals[filled])
    rows = []
    for j, level in enumerate(levels):
        row = {"variable": name, "label": label, "level": str(level), "summary": "n (%)",
               "missing": missing[OVERALL], "not_asked": not_asked[OVERALL],
               "p_value": p_value, "test": test, "smd": effect, "smd_note": why}
        for col in show:
            n, total = int(counts[col][j]), int(counts[col].sum())
            percent = 100 * n / total if total else np.nan
            row[col] = (f"{style.count(n)} ({style.percent(percent, decimals)})" if total
                        else style.count(n))
            row |= {f"n:{col}": n, f"percent:{col}": percent, f"missing:{col}": missing[col],
                    f"not_asked:{col}": not_asked[col]}
        rows.append(row)
    return rows


def numeric_row(name: str, label: str, summary: pd.DataFrame, skewed: bool,
                groups: list[str], show: list[str], rank_test, pvalues: bool, want_smd: bool,
                decimals: int, not_asked: dict, missing_overall: int) -> dict:
    """One row: mean (SD) or median [Q1, Q3] per column, the test and the SMD.

    ``summary`` is indexed by group label and Overall with columns ``n,
    missing, mean, sd, median, q1, q3``; ``rank_test()`` gives the (p-value,
    test) of a skewed variable (Mann-Whitney U or Kruskal-Wallis), which needs
    more than the summaries.
    """
    summary = summary.reindex(show).copy()
    summary["not_asked"] = [not_asked[col] for col in show]
    summary["missing"] -= summary["not_asked"]
    p_value, test, effect, why = np.nan, "", np.nan, ""
    if groups:
        g = summary.loc[groups]
        if pvalues and len(groups) > 1:
            if skewed and (g["n"].to_numpy() > 0).sum() >= 2:
                p_value, test = rank_test()
            else:
                p_value, test = comparisons.continuous_test(
                    [np.empty(0)] * len(groups), g["n"].to_numpy(), g["mean"].to_numpy(),
                    g["sd"].to_numpy(), normal=not skewed)
        if want_smd:
            # an SD needs two values; a group with fewer is not compared
            filled = g["n"].to_numpy() > 1
            effect, why = comparisons.continuous_smd_checked(g["mean"].to_numpy()[filled],
                                                             g["sd"].to_numpy()[filled])
    row = {"variable": name, "label": label, "level": "",
           "summary": "median [Q1, Q3]" if skewed else "mean (SD)",
           "missing": int(missing_overall) - not_asked[OVERALL],
           "not_asked": not_asked[OVERALL],
           "p_value": p_value, "test": test, "smd": effect, "smd_note": why}
    d = decimals_for(summary, decimals)
    for col in show:
        s = summary.loc[col]
        if s["n"] == 0:
            row[col] = ""
        elif skewed:
            row[col] = (f"{style.number(s['median'], d)} [{style.number(s['q1'], d)}, "
                        f"{style.number(s['q3'], d)}]")
        elif np.isnan(s["sd"]):  # a single value has no SD
            row[col] = style.number(s["mean"], d)
        else:
            row[col] = f"{style.number(s['mean'], d)} ({style.number(s['sd'], d)})"
        row |= {f"{stat}:{col}": s[stat] for stat in STATISTICS if stat != "percent"}
    return row


def assemble(rows: list[dict], show: list[str]) -> pd.DataFrame:
    """The rows as Table 1's frame: display columns, then the numbers behind them."""
    table = pd.DataFrame(rows)
    numbers = [f"{stat}:{col}" for col in show for stat in STATISTICS]
    table = table.reindex(columns=[*FRONT, *show, *BACK, *numbers])
    table[numbers] = table[numbers].astype(float)
    table[["missing", "not_asked", "p_value", "smd"]] = table[
        ["missing", "not_asked", "p_value", "smd"]].astype(float)
    table[["missing", "not_asked"]] = table[["missing", "not_asked"]].astype("int64")
    table["smd_note"] = table["smd_note"].fillna("")
    return table


def decimals_for(summary: pd.DataFrame, decimals: int) -> int:
    """At least ``decimals``, more when the spread would otherwise print as 0.0.

    A load ratio with SD 0.04 prints as "0.08 (0.04)" rather than "0.1 (0.0)":
    the spread (SD, else the IQR) keeps two significant digits, up to 4 decimals.
    """
    spread = summary["sd"].where(summary["sd"] > 0, summary["q3"] - summary["q1"])
    spread = spread[np.isfinite(spread) & (spread > 0)]
    if spread.empty:
        return decimals
    needed = 1 - int(np.floor(np.log10(spread.min())))
    return int(min(max(decimals, needed), 4))

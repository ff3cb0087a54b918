"""Prevalence tables from the report's release (unweighted counts behind every estimate)."""

from __future__ import annotations

import pandas as pd

from analysis import style
from analysis.describe import prevalence_display
from analysis.report.tables.table_one import level_key


def outcome_keys(release, base, outcome: str, outcome_levels):
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
            cell = base if variable == "overall" else level_key(base, variable, row["level"])
            n_key, ev_key, non_key = outcome_keys(release, cell, outcome, levels)
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
    """A registered prevalence table as reader text.

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
        cell = base if row["variable"] == "overall" else level_key(base, row["variable"],
                                                                    row["level"])
        n_key, ev_key, _ = outcome_keys(release, cell, outcome, levels)
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


def prevalence_keys(release, base, row, outcome: str, outcome_levels) -> tuple:
    """The (n, events) cells of a prevalence-table row (see :func:`register_prevalence`)."""
    cell = base if row["variable"] == "overall" else level_key(base, row["variable"],
                                                                row["level"])
    n_key, ev_key, _ = outcome_keys(release, cell, outcome, [str(v) for v in outcome_levels])
    return n_key, ev_key


__all__ = ["outcome_keys", "prevalence_keys", "prevalence_withheld", "register_prevalence",
           "released_prevalence"]

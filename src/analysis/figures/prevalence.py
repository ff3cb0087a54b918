"""Prevalence of the outcome by factor level, with Wilson intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from analysis.figures._oraxis import intervals
from analysis.figures._rows import draw_labels, figure_height, place, positions, require
from analysis.figures.forest import count_columns
from analysis.figures.theme import COLOURS, add_legend, describe, new_axes, set_title, themed
from analysis.style import percent


def prevalence_plot(table: pd.DataFrame, *, ax: Axes | None = None, title: str | None = None,
                    outcome: str | None = None, show_counts: bool = True) -> Axes:
    """Prevalence (%) with its Wilson 95% interval for each level, grouped by factor.

    ``table`` is :func:`analysis.describe.prevalence` output (``variable,
    label, level, n, events, prevalence, ci_low, ci_high``, proportions). The
    ``overall`` row becomes a dashed vertical line with its interval shaded;
    when the table has ``weighted_*`` columns the weighted prevalence is drawn
    beside the unweighted one. ``outcome`` names the outcome in the axis label
    (e.g. "back-muscle spasm"). Counts (n, events) are printed at the right.

    Returns
    -------
    matplotlib.axes.Axes
    """
    require(table, ["variable", "label", "level", "n", "events", "prevalence", "ci_low",
                    "ci_high"], "prevalence_plot")
    table = table.reset_index(drop=True)
    overall = table[table["variable"] == "overall"]
    levels = table[table["variable"] != "overall"].reset_index(drop=True)
    groups: list = []
    for _variable, block in levels.groupby("variable", sort=False):
        groups.append((str(block["label"].iloc[0]),
                       [(str(lv), int(i)) for i, lv in zip(block.index, block["level"],
                                                           strict=True)]))
    if not groups:  # overall only: one row
        levels = overall.reset_index(drop=True)
        groups = [(None, [("Overall", 0)])]
        overall = overall.iloc[0:0]
    rows = place(groups)
    y = positions(rows, len(levels))
    weighted = "weighted_prevalence" in levels.columns
    with themed():
        own = ax is None
        ax = new_axes(ax, figure_height(rows, extra=2.0))
        series = [("prevalence", "ci_low", "ci_high", "unweighted (95% CI)" if weighted
                   else "prevalence (95% CI)", COLOURS["observed"])]
        if weighted:
            series.append(("weighted_prevalence", "weighted_ci_low", "weighted_ci_high",
                           "weighted (95% CI)", COLOURS["weighted"]))
        top = 0.0
        for k, (est, low, high, label, colour) in enumerate(series):
            shift = 0.0 if not weighted else (-0.15 if k == 0 else 0.15)
            intervals(ax, 100 * levels[est], 100 * levels[low], 100 * levels[high], y + shift,
                      (0.0, 100.0), colour=colour, label=label, log=False)
            top = max(top, float(np.nanmax(100 * levels[high].to_numpy(dtype=float))))
        if len(overall):
            row = overall.iloc[0]
            p = 100 * float(row["prevalence"])
            ax.axvspan(100 * row["ci_low"], 100 * row["ci_high"], color=COLOURS["grid"],
                       alpha=0.6, zorder=0, linewidth=0)
            ax.axvline(p, color=COLOURS["reference"], linestyle="--", linewidth=1.0, zorder=1,
                       label=f"overall {percent(p, 1)}% (CI shaded)", gid="overall-line")
        ax.set_xlim(0, min(100.0, max(top * 1.08, 5.0)))
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        draw_labels(ax, rows)
        if show_counts:
            count_columns(ax, y, {"n": levels["n"], "events": levels["events"]})
        what = f"with {outcome}" if outcome else "with the outcome"
        ax.set_xlabel(f"Respondents {what} (%, Wilson 95% CI)")
        ax.grid(axis="x")
        add_legend(ax, own_figure=own, ncol=len(series) + 1)
        set_title(ax, title or "Prevalence by factor level", own_figure=own, pad=20)
        describe(ax, "Each row's dot is the percentage of respondents with the outcome in one "
                 "level of a factor, its line the 95% confidence interval"
                 + ("; the dashed line and shaded band are the overall prevalence and its "
                    "interval." if len(overall) else "."))
    return ax

"""Percentage of missing values by variable."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from analysis.figures._rows import require
from analysis.figures.theme import COLOURS, FONT, describe, new_axes, set_title, themed, wrap
from analysis.style import count, percent


def missingness(survey) -> pd.DataFrame:
    """Missing values of each codebook variable among the respondents asked it.

    A variable with ``asked_if`` in the codebook is blank by design for those
    not asked (a sub-sample examination, a follow-up question after "No"):
    they are counted as ``n_not_asked``, not as missing.

    Returns
    -------
    DataFrame
        ``variable, label, n, n_asked, n_not_asked, n_missing, percent_missing``
        (percent of the respondents asked), in codebook order.
    """
    data, cb = survey.data, survey.codebook
    names = [n for n in cb.variables if n in data.columns]
    blank = data[names].isna().to_numpy()
    asked = np.column_stack([survey.asked(n) for n in names]) if names else blank
    n_asked = asked.sum(axis=0)
    missing = (blank & asked).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = 100 * missing / n_asked
    return pd.DataFrame({
        "variable": names, "label": [cb.label(v) for v in names], "n": len(data),
        "n_asked": n_asked.astype("int64"), "n_not_asked": (len(data) - n_asked).astype("int64"),
        "n_missing": missing.astype("int64"), "percent_missing": percent})


def missingness_plot(data_or_table, *, ax: Axes | None = None, labels: dict | None = None,
                     top: int = 30, title: str | None = None) -> Axes:
    """Horizontal bars of the percentage missing per variable, most missing at the top.

    ``data_or_table`` is a Survey (labels from its codebook; see
    :func:`missingness`) or a DataFrame ``variable, label, n_missing,
    percent_missing``. ``labels`` ({variable: label}) overrides labels. Only
    variables with missing values are drawn, at most ``top`` of them; the
    axis label says how many complete variables were left out.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = missingness(data_or_table) if hasattr(data_or_table, "codebook") else data_or_table
    require(table, ["variable", "label", "n_missing", "percent_missing"], "missingness_plot")
    table = table.copy()
    if labels:
        table["label"] = [labels.get(v, lab) for v, lab in zip(table["variable"], table["label"],
                                                               strict=True)]
    shown = table[table["n_missing"] > 0].sort_values(
        ["percent_missing", "label"], ascending=[False, True], kind="stable")
    complete = int((table["n_missing"] == 0).sum())
    left_out = max(len(shown) - top, 0)
    shown = shown.head(top).reset_index(drop=True)
    texts = [wrap(lab, 50) for lab in shown["label"]]
    height = max(2.6, 0.28 * sum(1 + t.count("\n") * 0.5 for t in texts) + 1.6)
    with themed():
        own = ax is None
        ax = new_axes(ax, height)
        y = np.arange(len(shown))
        bars = ax.barh(y, shown["percent_missing"], color=COLOURS["observed"], height=0.7,
                       gid="missing-bars")
        for yy, pct, k in zip(y, shown["percent_missing"], shown["n_missing"], strict=True):
            ax.annotate(f"{percent(pct, 1)}% ({count(k)})", (pct, yy), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=FONT["small"] - 1)
        ax.set_yticks(y, labels=texts)
        ax.set_ylim(len(shown) - 0.5, -0.6)
        ax.tick_params(axis="y", length=0)
        top_pct = float(shown["percent_missing"].max()) if len(shown) else 1.0
        ax.set_xlim(0, min(100.0, top_pct * 1.25 + 1))
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.grid(axis="x")
        note = [f"{complete} variable{'s' if complete != 1 else ''} with no missing values "
                "not shown"] if complete else []
        if left_out:
            note.append(f"{left_out} more with fewer missing not shown")
        asked = "n_not_asked" in table and bool((table["n_not_asked"] > 0).any())
        ax.set_xlabel(f"Missing values (% of respondents{' asked' if asked else ''})" + (
            "\n" + wrap("(" + "; ".join(note) + ")", 45) if note else ""))
        if not len(shown):
            ax.text(0.5, 0.5, "No missing values", transform=ax.transAxes, ha="center")
        set_title(ax, title or "Missing values by variable", own_figure=own)
        describe(ax, f"Bars: the percentage of respondents with a missing value, for {len(shown)} "
                 "variables, most missing first." if len(shown) else "No variable has a "
                 "missing value.")
    bars.set_label("missing")
    return ax

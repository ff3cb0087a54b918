"""Forest plots of odds ratios: crude and adjusted side by side, ORs beside prevalence ratios,
and estimate versus truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from analysis.errors import ReportError
from analysis.figures._oraxis import intervals, log_axis, reference_line
from analysis.figures._rows import (
    draw_labels,
    figure_height,
    model_groups,
    place,
    positions,
    require,
    split_label,
)
from analysis.figures.theme import (
    COLOURS,
    FONT,
    add_legend,
    describe,
    new_axes,
    set_title,
    themed,
    thousands,
)

NAMES = {"crude": "crude", "adjusted": "adjusted"}
# Column prefix of the estimate -> (its name in titles, its abbreviation in the legend).
MEASURES = {"or": ("odds ratio", "OR"), "irr": ("incidence rate ratio", "IRR"),
            "rrr": ("relative risk ratio", "RRR"), "pr": ("prevalence ratio", "PR")}
DODGE = 0.17


def forest_plot(table: pd.DataFrame, *, ax: Axes | None = None,
                columns: Sequence[str] = ("crude", "adjusted"), show_counts: bool = True,
                title: str | None = None) -> Axes:
    """Crude and adjusted odds ratios with 95% CIs, one row per level, on a log scale.

    ``table`` is :attr:`analysis.models.LogisticResult.table` (``variable,
    level, label, or_<column>, ci_low_<column>, ci_high_<column>, n,
    events``), or a count model's table, whose ``irr_<column>`` incidence
    rate ratios are drawn and named as such. Each variable's rows sit under its codebook label; the
    reference level is a hollow mark at 1 without an interval; intervals that
    are infinite, missing or beyond 1/64-64 end in an arrow at the edge. With
    ``show_counts`` the respondents (n) and events of each row are printed at
    the right.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> forest_plot(logistic(survey, "spasm_12m", ["posture"]).table)  # doctest: +SKIP
    """
    columns = list(columns)
    if not columns or any(c not in NAMES for c in columns):
        raise ReportError(f"forest_plot columns must be among {list(NAMES)}, not {columns}.")
    est = next((m for m in MEASURES if f"{m}_{columns[0]}" in table.columns), "or")
    name, short = MEASURES[est]
    wanted = [f"{s}_{c}" for c in columns for s in (est, "ci_low", "ci_high")]
    require(table, ["variable", "level", "label", *wanted]
            + (["n", "events"] if show_counts else []), "forest_plot")
    table = table.reset_index(drop=True)
    rows = place(model_groups(table))
    y = positions(rows, len(table))
    reference = _is_reference(table, columns, est)
    with themed():
        own = ax is None
        ax = new_axes(ax, figure_height(rows, extra=1.9))
        limits = log_axis(ax, table[wanted].to_numpy().ravel())
        reference_line(ax)
        offsets = _dodge(len(columns))
        for column, offset in zip(columns, offsets, strict=True):
            drawn = ~reference
            intervals(ax, table[f"{est}_{column}"].where(drawn), table[f"ci_low_{column}"],
                      table[f"ci_high_{column}"], y + offset, limits,
                      colour=COLOURS[column], label=f"{NAMES[column]} {short} (95% CI)")
        _mark_references(ax, y[reference])
        _mark_not_estimable(ax, table, columns, y, reference, est)
        draw_labels(ax, rows)
        if show_counts:
            count_columns(ax, y, {"n": table["n"], "events": table["events"]})
        ax.set_xlabel(f"{name[0].upper() + name[1:]} (95% CI), log scale")
        ax.grid(axis="x", which="major")
        add_legend(ax, own_figure=own, ncol=len(columns))
        set_title(ax, title or _default_title(columns, name), own_figure=own, pad=20)
        describe(ax, f"Each row's dot is the {name} and its line the 95% confidence interval, "
                 "on a log scale; the vertical line at 1 is no association; a hollow mark at 1 "
                 "is a reference level."
                 + (" The number of respondents and events of each row is printed at the right."
                    if show_counts else ""))
    return ax


def ratio_forest_plot(odds: pd.DataFrame, ratios: pd.DataFrame, *, which: str = "adjusted",
                      ax: Axes | None = None, title: str | None = None) -> Axes:
    """Odds ratios and prevalence ratios of the same levels side by side, on a log scale.

    ``odds`` is a logistic result's ``.table`` (``or_<which>``, intervals),
    ``ratios`` the standardised ``.table`` of
    :func:`analysis.models.standardise` (``pr_<which>``); rows are matched on
    variable and level (interaction cells, which have no PR, are left out).
    With a common outcome the PR sits nearer 1 than the OR: the figure shows
    by how much. Reference levels are a hollow mark at 1.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ratio_forest_plot(fitted.table, standardise(fitted).table)  # doctest: +SKIP
    """
    if which not in NAMES:
        raise ReportError(f"ratio_forest_plot: which must be one of {list(NAMES)}, not {which!r}.")
    bounds = [f"ci_low_{which}", f"ci_high_{which}"]
    require(odds, ["variable", "level", "label", f"or_{which}", *bounds], "ratio_forest_plot")
    require(ratios, ["variable", "level", f"pr_{which}", *bounds], "ratio_forest_plot")
    keys = ["variable", "level"]
    table = odds[[*keys, "label", f"or_{which}", *bounds]].merge(
        ratios[[*keys, f"pr_{which}", *bounds]], on=keys, how="inner", suffixes=("_or", "_pr"))
    table = table.reset_index(drop=True)
    rows = place(model_groups(table))
    y = positions(rows, len(table))
    reference = (table[f"or_{which}"].to_numpy(dtype=float) == 1.0) & table[
        f"ci_low_{which}_or"].isna().to_numpy()
    series = [("or", COLOURS["adjusted"], f"{NAMES[which]} OR (95% CI)"),
              ("pr", COLOURS["weighted"], f"{NAMES[which]} PR, standardised (95% CI)")]
    values = table[[f"{m}_{which}" for m, _, _ in series]
                   + [f"ci_{b}_{which}_{m}" for m, _, _ in series for b in ("low", "high")]]
    with themed():
        own = ax is None
        ax = new_axes(ax, figure_height(rows, extra=1.9))
        limits = log_axis(ax, values.to_numpy(dtype=float).ravel())
        reference_line(ax)
        for (m, colour, label), offset in zip(series, _dodge(2), strict=True):
            intervals(ax, table[f"{m}_{which}"].where(~reference), table[f"ci_low_{which}_{m}"],
                      table[f"ci_high_{which}_{m}"], y + offset, limits, colour=colour,
                      label=label)
        _mark_references(ax, y[reference])
        draw_labels(ax, rows)
        ax.set_xlabel("Ratio (95% CI), log scale")
        ax.grid(axis="x", which="major")
        add_legend(ax, own_figure=own, ncol=2)
        set_title(ax, title or f"Odds ratios and prevalence ratios, {NAMES[which]}",
                  own_figure=own, pad=20)
        describe(ax, f"For each of {len(table)} levels, two dots with their 95% confidence "
                     f"intervals: the {NAMES[which]} odds ratio and the standardised prevalence "
                     "ratio, on a log scale with a reference line at 1 (no association); "
                     "reference levels are a hollow mark at 1.")
    return ax


def _default_title(columns: list[str], name: str = "odds ratio") -> str:
    plural = name[0].upper() + name[1:] + "s"
    if len(columns) == 2:
        return f"{plural}, crude and adjusted"
    return f"{plural}, {NAMES[columns[0]]}"


def _dodge(k: int) -> list[float]:
    return [0.0] if k == 1 else list(np.linspace(-DODGE, DODGE, k))


def _is_reference(table: pd.DataFrame, columns: list[str], est: str = "or") -> np.ndarray:
    """Reference rows: estimate exactly 1 with no interval in every model."""
    ref = np.ones(len(table), dtype=bool)
    for c in columns:
        ref &= (table[f"{est}_{c}"].to_numpy(dtype=float) == 1.0)
        ref &= table[f"ci_low_{c}"].isna().to_numpy() & table[f"ci_high_{c}"].isna().to_numpy()
    return ref


def _mark_references(ax: Axes, y: np.ndarray) -> None:
    if not y.size:
        return
    ax.plot(np.ones(y.size), y, linestyle="none", marker="o", markersize=6.5,
            markerfacecolor="white", markeredgecolor=COLOURS["reference"], zorder=3,
            gid="reference-levels")
    for yy in y:
        ax.annotate("reference", (1.0, yy), xytext=(7, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=FONT["small"] - 1, style="italic",
                    color=COLOURS["reference"])


def _mark_not_estimable(ax: Axes, table: pd.DataFrame, columns: list[str], y: np.ndarray,
                        reference: np.ndarray, est: str = "or") -> None:
    estimates = table[[f"{est}_{c}" for c in columns]].to_numpy(dtype=float)
    missing = ~np.isfinite(estimates).any(axis=1) & ~reference
    for yy in y[missing]:
        ax.annotate("not estimable", (1.0, yy), xytext=(7, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=FONT["small"] - 1, style="italic",
                    color=COLOURS["reference"])


def count_columns(ax: Axes, y: np.ndarray, counts: dict[str, pd.Series],
                  width: float = 0.7) -> None:
    """Columns of counts to the right of the axes, one per entry, headed by its name.

    Positions are in inches from the axes' right edge so that they do not move
    with the data; constrained layout makes room for them.
    """
    fig = ax.figure
    base = blended_transform_factory(ax.transAxes, ax.transData)
    top = blended_transform_factory(ax.transAxes, ax.transAxes)
    for k, (name, values) in enumerate(counts.items()):
        shift = ScaledTranslation(0.15 + width * (k + 1), 0, fig.dpi_scale_trans)
        ax.text(1.0, 1.0, name, transform=top + shift, ha="right", va="bottom",
                fontweight="bold", fontsize=FONT["small"])
        for yy, value in zip(y, values, strict=True):
            if np.isfinite(yy):
                ax.text(1.0, yy, thousands(value), transform=base + shift, ha="right",
                        va="center", fontsize=FONT["small"], gid=f"count-{name}")


# ---- estimate versus truth ---------------------------------------------------
def estimate_vs_truth(estimates: pd.DataFrame, truth: pd.DataFrame, *, ax: Axes | None = None,
                      codebook=None, title: str | None = None,
                      steps: Mapping[str, float] | None = None) -> Axes:
    """Adjusted odds ratios (95% CI) beside the true odds ratios of the simulated survey.

    ``estimates`` is :attr:`LogisticResult.table` (its adjusted columns) or
    ``LogisticResult.tidy("adjusted")``; ``truth`` is
    :func:`analysis.simulate.true_effects`. Rows are matched on variable and
    level: a truth level is a codebook code, turned into its label through
    ``codebook`` (a Codebook or a Survey; without one, the level is read from
    the truth label "Variable: Level vs Reference"). A numeric term's
    estimate (per 1 unit, or per ``steps[variable]`` units when the model
    reported it per a step) is rescaled to the truth's step (``per``, e.g. per
    10 years or per 10 cm less): ``OR^(per / step)`` with its interval. Terms
    in only one of the two tables are left out.

    Returns
    -------
    matplotlib.axes.Axes
    """
    require(truth, ["variable", "level", "label", "per", "true_odds_ratio"], "estimate_vs_truth")
    matched = match_truth(_estimates(estimates), truth, codebook, steps)
    if matched.empty:
        raise ReportError(
            "estimate_vs_truth: no term of the estimates matches a term of the truth table "
            f"(estimates: {', '.join(_estimates(estimates)['variable'].unique()[:6])}; "
            "pass codebook= so that level codes can be matched to labels).")
    rows = place(model_groups(matched))
    y = positions(rows, len(matched))
    with themed():
        own = ax is None
        ax = new_axes(ax, figure_height(rows, extra=1.9))
        limits = log_axis(ax, matched[["estimate", "ci_low", "ci_high", "truth"]]
                          .to_numpy().ravel())
        reference_line(ax)
        intervals(ax, matched["estimate"], matched["ci_low"], matched["ci_high"], y - 0.12,
                  limits, colour=COLOURS["estimate"], label="estimate (95% CI)")
        ax.plot(np.clip(matched["truth"], *limits), y + 0.12, linestyle="none", marker="D",
                markersize=6.5, color=COLOURS["truth"], label="true value (simulated)",
                zorder=4, gid="truth")
        draw_labels(ax, rows)
        ax.set_xlabel("Adjusted odds ratio (95% CI), log scale")
        ax.grid(axis="x", which="major")
        add_legend(ax, own_figure=own, order=["estimate (95% CI)"])
        set_title(ax, title or "Estimated versus true odds ratios (simulated survey)",
                  own_figure=own)
        describe(ax, f"For each of {len(matched)} terms, the estimated odds ratio with its 95% "
                 "confidence interval (dot and line) beside the true odds ratio the survey was "
                 "simulated with (diamond), on a log scale; an interval that covers its diamond "
                 "recovered the truth.")
    return ax


def _estimates(table: pd.DataFrame) -> pd.DataFrame:
    """variable, level, label, estimate, ci_low, ci_high from either result table."""
    if isinstance(table, pd.DataFrame) and "or_adjusted" in table.columns:
        require(table, ["variable", "level", "label", "or_adjusted", "ci_low_adjusted",
                        "ci_high_adjusted"], "estimate_vs_truth")
        return pd.DataFrame({
            "variable": table["variable"].astype(str), "level": table["level"].astype(str),
            "label": table["label"].astype(str), "estimate": table["or_adjusted"],
            "ci_low": table["ci_low_adjusted"], "ci_high": table["ci_high_adjusted"]})
    require(table, ["term", "label", "estimate", "ci_low", "ci_high"], "estimate_vs_truth")
    parsed = [_parse_term(t) for t in table["term"].astype(str)]
    out = pd.DataFrame({
        "variable": [p[0] for p in parsed], "level": [p[1] for p in parsed],
        "label": table["label"].astype(str).to_numpy(), "estimate": table["estimate"].to_numpy(),
        "ci_low": table["ci_low"].to_numpy(), "ci_high": table["ci_high"].to_numpy()})
    # a numeric term has no level in its name; its label carries "(per 1 unit)"
    return out


def _parse_term(term: str) -> tuple[str, str]:
    """("posture", "Poor") from "posture[Poor]"; interactions "a[x]:b[y]" -> ("a:b", "x × y")."""
    parts = term.split(":") if "]:" in term else [term]
    names, levels = [], []
    for part in parts:
        if part.endswith("]") and "[" in part:
            name, level = part[:-1].split("[", 1)
        else:
            name, level = part, ""
        names.append(name)
        levels.append(level)
    return ":".join(names), " × ".join(levels)


def match_truth(est: pd.DataFrame, truth: pd.DataFrame, codebook=None,
                steps: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per truth term found among the estimates, numeric terms rescaled to ``per``."""
    codebook = getattr(codebook, "codebook", codebook)
    by_key = {(v, lv): i for i, (v, lv) in enumerate(zip(est["variable"], est["level"],
                                                         strict=True))}
    rows = []
    for t in truth.itertuples(index=False):
        variable = str(t.variable)
        if pd.isna(t.level):  # numeric term: the single row of that variable
            hits = est.index[est["variable"] == variable]
            if len(hits) != 1:
                continue
            e = est.loc[hits[0]]
            per = (float(t.per) if pd.notna(t.per) else 1.0) / (steps or {}).get(variable, 1.0)
            bounds = np.sort(np.exp(per * np.log([e["ci_low"], e["ci_high"]])))
            rows.append({"variable": variable, "level": "", "label": str(t.label),
                         "estimate": float(np.exp(per * np.log(e["estimate"]))),
                         "ci_low": bounds[0], "ci_high": bounds[1],
                         "truth": float(t.true_odds_ratio)})
            continue
        level = _level_label(variable, str(t.level), str(t.label), codebook)
        i = by_key.get((variable, level))
        if i is None:
            continue
        e = est.iloc[i]
        rows.append({"variable": variable, "level": level, "label": e["label"],
                     "estimate": float(e["estimate"]), "ci_low": float(e["ci_low"]),
                     "ci_high": float(e["ci_high"]), "truth": float(t.true_odds_ratio)})
    matched = pd.DataFrame(rows, columns=["variable", "level", "label", "estimate", "ci_low",
                                          "ci_high", "truth"])
    # keep the estimates' order of variables, truth order within a variable
    order = {v: k for k, v in enumerate(dict.fromkeys(est["variable"]))}
    return matched.sort_values("variable", key=lambda s: s.map(order), kind="stable"
                               ).reset_index(drop=True)


def _level_label(variable: str, code: str, label: str, codebook) -> str:
    if codebook is not None:
        names, codes = variable.split(":"), code.split(":")
        if all(n in codebook.variables for n in names) and len(names) == len(codes):
            out = []
            for name, c in zip(names, codes, strict=True):
                labels = {str(k): v for k, v in codebook[name].level_labels.items()}
                out.append(labels.get(c, c))
            return " × ".join(out)
    _header, rest = label.split(": ", 1) if ": " in label else (None, label)
    return rest.split(" vs ")[0]


__all__ = ["count_columns", "estimate_vs_truth", "forest_plot", "match_truth",
           "ratio_forest_plot", "split_label"]

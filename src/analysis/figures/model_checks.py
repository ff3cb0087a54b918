"""Calibration and ROC plots of a fitted binary-outcome model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from analysis import style
from analysis.diagnostics import Calibration, discrimination, outcome_arrays
from analysis.errors import ReportError
from analysis.figures._rows import require
from analysis.figures.theme import COLOURS, describe, new_axes, set_title, themed

SQUARE = (6.0, 5.6)  # inches: a square plotting area with room for labels


def calibration_plot(calibration: Calibration | pd.DataFrame, *, ax: Axes | None = None,
                     title: str | None = None) -> Axes:
    """Observed against predicted risk by group of predicted risk, with the diagonal.

    ``calibration`` is what :func:`analysis.diagnostics.calibration` returns
    (``.bins``: ``bin, n, predicted, observed, ci_low, ci_high``; ``.table``:
    calibration intercept and slope with 95% CIs, shown in the legend), or
    its ``bins`` DataFrame alone. Points on the dashed diagonal are perfectly
    calibrated.

    Returns
    -------
    matplotlib.axes.Axes
    """
    bins = calibration.bins if isinstance(calibration, Calibration) else calibration
    stats = calibration.table if isinstance(calibration, Calibration) else None
    require(bins, ["predicted", "observed", "ci_low", "ci_high"], "calibration_plot")
    with themed():
        own = ax is None
        ax = new_axes(ax, SQUARE[1], SQUARE[0])
        top = float(np.nanmax(bins[["predicted", "ci_high"]].to_numpy(dtype=float)))
        top = min(1.0, np.ceil(top * 1.05 * 10) / 10)
        ax.plot([0, top], [0, top], linestyle="--", color=COLOURS["reference"], linewidth=1.0,
                label="perfect calibration", gid="diagonal")
        label = "observed proportion (95% CI)"
        if stats is not None:
            parts = []
            for name in ("intercept", "slope"):
                row = stats.loc[stats["statistic"] == name]
                if len(row):
                    r = row.iloc[0]
                    parts.append(f"calibration {name} "
                                 f"{style.ci(r['estimate'], r['ci_low'], r['ci_high'], 2)}")
            label = "\n".join([label, *parts])
        obs = bins["observed"].to_numpy(dtype=float)
        ax.errorbar(bins["predicted"], obs, yerr=[obs - bins["ci_low"], bins["ci_high"] - obs],
                    fmt="o", color=COLOURS["observed"], markersize=6.5, elinewidth=1.6,
                    label=label, zorder=3)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal", adjustable="box")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel(f"Predicted risk (mean of each of {len(bins)} groups)")
        ax.set_ylabel("Observed proportion with the outcome")
        ax.grid(True)
        ax.legend(loc="upper left")
        set_title(ax, title or "Calibration of the adjusted model", own_figure=own)
        describe(ax, f"Dots: the observed proportion with the outcome against the mean "
                 f"predicted risk in each of {len(bins)} groups of respondents, with 95% "
                 "confidence intervals; dots on the dashed diagonal are perfectly calibrated.")
    return ax


def roc_curve(y, p=None, weights=None) -> pd.DataFrame:
    """Points of the ROC curve: ``threshold, fpr, tpr`` from the strictest threshold down.

    At threshold t a respondent is called positive when p >= t; ties in p
    move together (a diagonal step). Weights count as frequency weights.
    """
    y, p, w = outcome_arrays(y, p, weights)
    values, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=w * (y == 1), minlength=values.size)[::-1]
    neg = np.bincount(inverse, weights=w * (y == 0), minlength=values.size)[::-1]
    tpr = np.r_[0.0, np.cumsum(pos) / pos.sum()]
    fpr = np.r_[0.0, np.cumsum(neg) / neg.sum()]
    return pd.DataFrame({"threshold": np.r_[np.inf, values[::-1]], "fpr": fpr, "tpr": tpr})


def roc_plot(y, p=None, *, ax: Axes | None = None, auc: pd.DataFrame | float | None = None,
             weights=None, title: str | None = None) -> Axes:
    """ROC curve with the AUC and its 95% CI in the legend.

    Give the outcome ``y`` (0/1) and predicted risks ``p``, or a
    :class:`~analysis.models.LogisticResult` as ``y`` (its adjusted model).
    ``auc`` is :func:`analysis.diagnostics.discrimination` output (or a
    number); computed (DeLong CI) when not given.

    Returns
    -------
    matplotlib.axes.Axes
    """
    curve = roc_curve(y, p, weights)
    if auc is None:
        auc = discrimination(y, p, weights)
    if isinstance(auc, pd.DataFrame):
        require(auc, ["estimate", "ci_low", "ci_high"], "roc_plot auc")
        r = auc.iloc[0]
        text = (f"AUC {style.number(r['estimate'], 3)} "
                f"(95% CI {style.interval(r['ci_low'], r['ci_high'], 3)})")
    elif isinstance(auc, (int, float)):
        text = f"AUC {style.number(float(auc), 3)}"
    else:
        raise ReportError(f"roc_plot: auc must be a discrimination() table or a number, not "
                          f"{type(auc).__name__}.")
    with themed():
        own = ax is None
        ax = new_axes(ax, SQUARE[1], SQUARE[0])
        ax.plot([0, 1], [0, 1], linestyle="--", color=COLOURS["reference"], linewidth=1.0,
                label=f"no discrimination (AUC {style.number(0.5, 1)})", gid="diagonal")
        ax.plot(curve["fpr"], curve["tpr"], color=COLOURS["estimate"], label=text,
                drawstyle="default", gid="roc-curve")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.0)
        ax.set_aspect("equal", adjustable="box")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel("False-positive rate (1 − specificity)")
        ax.set_ylabel("True-positive rate (sensitivity)")
        ax.grid(True)
        ax.legend(loc="lower right")
        set_title(ax, title or "Discrimination: ROC curve", own_figure=own)
        describe(ax, f"The curve is the true-positive rate against the false-positive rate at "
                 f"every threshold of the predicted risk ({text}); the dashed diagonal is a "
                 "model that does not discriminate.")
    return ax

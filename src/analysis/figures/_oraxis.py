"""A log odds-ratio axis with readable ticks and intervals clipped to it."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from analysis.figures.theme import COLOURS
from analysis.style import significant

# Odds ratios beyond these are drawn at the edge with an arrow (separation, tiny cells).
CLIP = (1 / 64, 64.0)
DOUBLINGS = [2.0**k for k in range(-6, 7)]
FINE = [0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10]
FINEST = [0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.6, 1.8, 2]
DECADES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]


def _label(v: float, _pos=None) -> str:
    return significant(v, 6) if v >= 0.01 else significant(v, 2)


def log_axis(ax: Axes, values, axis: str = "x") -> tuple[float, float]:
    """Log scale over the finite ``values`` and 1 (padded, clipped), ticks at 0.5, 1, 2, 4...

    Returns the axis limits, which :func:`intervals` clips to.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo = min(np.min(v, initial=1.0), 1.0) / 1.25
    hi = max(np.max(v, initial=1.0), 1.0) * 1.25
    lo, hi = max(lo, CLIP[0] / 1.25), min(hi, CLIP[1] * 1.25)
    # at least 0.5-2 so that a table of near-null effects still shows a scale
    lo, hi = min(lo, 0.7), max(hi, 1.45)
    candidates = DOUBLINGS if hi / lo <= 260 else DECADES
    ticks = [t for t in candidates if lo <= t <= hi]
    if len(ticks) < 4:  # a narrow range: finer steps
        ticks = [t for t in FINE if lo <= t <= hi]
    if len(ticks) < 4:  # per-degree or per-second odds ratios sit close to 1
        ticks = [t for t in FINEST if lo <= t <= hi]
    if len(ticks) > 9:
        decades = [t for t in ticks if np.isclose(np.log10(t) % 1, 0) or t == 1]
        # A range of 0.6-1.8 has one decade tick (1): every second tick, 1 kept, instead.
        one = ticks.index(1) if 1 in ticks else 0
        ticks = decades if len(decades) >= 3 else ticks[one % 2::2]
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    setter("log")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(FuncFormatter(_label))
    target.set_minor_locator(NullLocator())
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)
    return lo, hi


def intervals(ax: Axes, estimate, low, high, y, limits: tuple[float, float], *, colour: str,
              label: str, marker: str = "o", size: float = 6.5, log: bool = True
              ) -> ErrorbarContainer | None:
    """Horizontal point-and-interval marks; ends beyond ``limits`` (or missing) become arrows.

    One errorbar call for all rows, so the container holds one point per drawn row.
    """
    est = np.asarray(estimate, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(est) & np.isfinite(y) & ((est > 0) if log else True)
    if not keep.any():
        return None
    lo_lim, hi_lim = limits
    est, y = est[keep], y[keep]
    low = np.asarray(low, dtype=float)[keep]
    high = np.asarray(high, dtype=float)[keep]
    # a missing or infinite bound is unbounded on the plot
    low = np.where(np.isfinite(low) & ((low > 0) if log else True), low, -np.inf)
    high = np.where(np.isfinite(high), high, np.inf)
    point = np.clip(est, lo_lim, hi_lim)
    left, right = np.clip(low, lo_lim, hi_lim), np.clip(high, lo_lim, hi_lim)
    container = ax.errorbar(point, y, xerr=[point - left, right - point], fmt=marker,
                            color=colour, markersize=size, elinewidth=1.8, label=label,
                            zorder=3)
    for edge, cut, arrow in ((lo_lim, low < lo_lim, "<"), (hi_lim, high > hi_lim, ">")):
        if cut.any():
            ax.plot(np.full(cut.sum(), edge), y[cut], linestyle="none", marker=arrow,
                    color=colour, markersize=size, zorder=3, clip_on=False)
    return container


def reference_line(ax: Axes, at: float = 1.0, axis: str = "x") -> None:
    """The line of no effect."""
    line = ax.axvline if axis == "x" else ax.axhline
    line(at, color=COLOURS["reference"], linewidth=1.0, linestyle="--", zorder=1,
         gid="reference-line")

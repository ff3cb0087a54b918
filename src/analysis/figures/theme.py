"""One theme for every figure: Okabe-Ito colours, font sizes for an 8-inch report figure.

It also keeps what each figure shows in words (:func:`describe`), for its alt text.

The figures are drawn for an HTML report that shows them at 100% zoom, about
8 inches wide at 100 dpi (800 px): body text 11 pt, ticks 10 pt, titles 13 pt.
Colours are the Okabe-Ito palette (Okabe & Ito 2008, *Color Universal
Design*), distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import textwrap
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# What each colour means, the same in every figure.
COLOURS: dict[str, str] = {
    "crude": OKABE_ITO["orange"],
    "adjusted": OKABE_ITO["blue"],
    "estimate": OKABE_ITO["blue"],
    "truth": OKABE_ITO["vermillion"],
    "observed": OKABE_ITO["blue"],
    "weighted": OKABE_ITO["bluish_green"],
    "reference": "#555555",
    "grid": "#DDDDDD",
    "band": OKABE_ITO["sky_blue"],
}
CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion",
                                "reddish_purple", "sky_blue", "yellow", "black")]

FIG_WIDTH = 8.0  # inches; 800 px at 100 dpi
DPI = 100
FONT = {"base": 11, "small": 10, "title": 13}
WRAP = 42  # characters per line of a row label

RC: dict[str, object] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (FIG_WIDTH, 5.0),
    "figure.facecolor": "white",
    "figure.constrained_layout.use": True,
    "font.family": "DejaVu Sans",  # ships with matplotlib: same glyphs on every machine
    "font.size": FONT["base"],
    "axes.titlesize": FONT["title"],
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": FONT["base"],
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.axisbelow": True,
    "grid.color": COLOURS["grid"],
    "grid.linewidth": 0.8,
    "xtick.labelsize": FONT["small"],
    "ytick.labelsize": FONT["small"],
    "legend.fontsize": FONT["small"],
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "errorbar.capsize": 0,
    "svg.fonttype": "path",  # text as paths: renders the same without the font installed
    "svg.hashsalt": "backpain",  # fixed ids in SVG output
    "path.simplify": True,
}


def set_theme() -> None:
    """Apply the package theme to every later matplotlib figure (e.g. in a notebook)."""
    mpl.rcParams.update(RC)


@contextmanager
def themed() -> Iterator[None]:
    """The package theme for the figures made inside the block only."""
    with mpl.rc_context(RC):
        yield


def new_axes(ax: Axes | None, height: float, width: float = FIG_WIDTH) -> Axes:
    """The given Axes, or a new one on a themed figure of ``width`` x ``height`` inches."""
    if ax is not None:
        return ax
    _fig, new = plt.subplots(figsize=(width, height), dpi=DPI, layout="constrained")
    return new


def wrap(text: str, width: int = WRAP) -> str:
    """Break a long label over lines of at most ``width`` characters."""
    return "\n".join(textwrap.wrap(str(text), width, break_long_words=False)) or str(text)


def thousands(n: float) -> str:
    """A count with the number style's digit groups ("12,345"); empty for a missing count."""
    from analysis.style import count

    if n is None or n != n:
        return ""
    return count(round(float(n)))


def set_title(ax: Axes, text: str, *, own_figure: bool, pad: float = 6.0) -> None:
    """Title the figure at its left edge (own figure) or the Axes (caller's figure), wrapped.

    A left-aligned Axes title starts after the row labels and would run off a
    narrow plot; on a figure this module made, the title spans the figure.
    """
    if own_figure:
        ax.figure.suptitle(wrap(text, 72), x=0.01, ha="left", fontsize=FONT["title"],
                           fontweight="bold")
    else:
        ax.set_title(wrap(text, 50), pad=pad)


def add_legend(ax: Axes, *, own_figure: bool, ncol: int = 2, order: list[str] | None = None,
               loc: str = "best") -> None:
    """Legend below the plot on a figure this module made (never over data), else in the Axes.

    ``order`` lists legend labels to put first.
    """
    handles, labels = ax.get_legend_handles_labels()
    if order:
        rank = {lab: k for k, lab in enumerate(order)}
        pairs = sorted(zip(handles, labels, strict=True),
                       key=lambda hl: rank.get(hl[1], len(rank)))
        handles, labels = [h for h, _ in pairs], [lab for _, lab in pairs]
    if own_figure:
        ax.figure.legend(handles, labels, loc="outside lower center", ncol=ncol)
    else:
        ax.legend(handles, labels, loc=loc)


# What each figure shows, in words, for the alt text of a report (figures.save.alt_text).
# Held beside the figure rather than on it: matplotlib has no field for it.
_DESCRIPTIONS: weakref.WeakKeyDictionary[Figure, str] = weakref.WeakKeyDictionary()


def describe(ax_or_fig: Axes | Figure, text: str) -> None:
    """Say in words what a figure shows (read by screen readers as part of its alt text).

    A figure function calls this with what its data say, e.g. "12 rows; the
    reference line at 1 is no association"; :func:`analysis.figures.alt_text`
    puts it after the figure's title.
    """
    fig = ax_or_fig.figure if isinstance(ax_or_fig, Axes) else ax_or_fig
    fig = getattr(fig, "figure", fig)  # a SubFigure's parent
    _DESCRIPTIONS[fig] = " ".join(str(text).split())


def description(fig: Figure) -> str:
    """What :func:`describe` recorded for ``fig`` (empty when nothing was)."""
    return _DESCRIPTIONS.get(fig, "")

"""Write a figure as PNG and SVG files that are byte-identical from run to run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.errors import ReportError
from analysis.figures.theme import DPI

# Metadata matplotlib would otherwise stamp into the file: the creation date
# (SVG) and the matplotlib version (both), which differ between runs/machines.
METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
}
FORMATS = tuple(METADATA)


def save_figure(fig_or_ax: Figure | Axes, path_stem: str | Path,
                formats: Sequence[str] = ("png", "svg"), *, dpi: int = DPI) -> list[Path]:
    """Save ``fig_or_ax``'s figure as ``<path_stem>.png`` and ``<path_stem>.svg``.

    The files carry no timestamp, no software version and no random ids (SVG
    element ids come from the fixed ``svg.hashsalt``), so two runs write the
    same bytes. Missing parent folders are created.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> save_figure(forest_plot(result.table), "reports/figures/forest")  # doctest: +SKIP
    [PosixPath('reports/figures/forest.png'), PosixPath('reports/figures/forest.svg')]
    """
    fig = fig_or_ax.figure if isinstance(fig_or_ax, Axes) else fig_or_ax
    if not isinstance(fig, Figure):
        raise ReportError(f"save_figure needs a matplotlib Figure or Axes, not "
                          f"{type(fig_or_ax).__name__}.")
    unknown = [f for f in formats if f not in METADATA]
    if unknown:
        raise ReportError(f"save_figure cannot write {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(FORMATS)}.")
    stem = Path(path_stem)
    if stem.suffix.lstrip(".") in METADATA:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context({"svg.hashsalt": "backpain", "svg.fonttype": "path"}):
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            fig.savefig(path, format=fmt, dpi=dpi, metadata=METADATA[fmt],
                        facecolor="white")
            written.append(path)
    return written

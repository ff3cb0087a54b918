"""Write a figure as light PNG and SVG files, byte-identical from run to run, and its alt text.

PNGs are palette-quantised (:func:`png_bytes`): a chart is a few flat colours
and their anti-aliased edges, which 256 colours hold without a visible change,
at a third to a half of the bytes of a full-colour PNG. :func:`alt_text` says
in words what a figure shows, from its title, axes, rows, legend and what the
figure function recorded with :func:`~analysis.figures.theme.describe`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.errors import ReportError
from analysis.figures.theme import DPI, description

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
            if fmt == "png":
                path.write_bytes(png_bytes(fig, dpi=dpi))
            else:
                fig.savefig(path, format=fmt, dpi=dpi, metadata=METADATA[fmt],
                            facecolor="white")
            written.append(path)
    return written


def png_bytes(fig: Figure, *, dpi: float = DPI, bbox_inches: str | None = None,
              colours: int = 256) -> bytes:
    """``fig`` as a palette PNG of at most ``colours`` colours, without metadata.

    Matplotlib draws a full-colour image; Pillow (a matplotlib dependency)
    maps it to an adaptive palette by median cut, without dithering (dither
    noise would cost bytes and blur thin lines), and writes it with zlib's
    best compression. The same drawing gives the same bytes on every run.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches=bbox_inches,
                metadata=METADATA["png"], facecolor="white")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    palette = image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT,
                             dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="png", optimize=True)
    return out.getvalue()


MAX_ROWS = 15  # row labels named in an alt text before "and N more"


def alt_text(fig_or_ax: Figure | Axes, caption: str = "") -> str:
    """What ``fig_or_ax`` shows, in words, for the ``alt`` of its image in a report.

    Starts with ``caption`` (when given) and the figure's title, then what the
    figure function recorded (:func:`~analysis.figures.theme.describe`), then
    for each plot its axis titles, the labels of its rows or bars, and its
    legend; for a diagram (a plot without axes), the text in its boxes.
    """
    fig = fig_or_ax.figure if isinstance(fig_or_ax, Axes) else fig_or_ax
    fig = getattr(fig, "figure", fig)
    fig.draw_without_rendering()  # tick labels exist only once drawn
    shown = [ax for ax in fig.axes if ax.get_visible()]
    parts = [_clean(caption), _clean(fig.get_suptitle())]
    parts += [_clean(ax.get_title("left") or ax.get_title()) for ax in shown]
    parts.append(description(fig))
    legend = [_clean(t.get_text()) for lg in fig.legends for t in lg.get_texts()]
    for ax in shown:
        if not ax.axison:
            parts.append("; ".join(filter(None, (_clean(t.get_text()) for t in ax.texts))))
            continue
        axes = "; ".join(f"{name} axis: {_clean(label)}" for name, label in
                         (("horizontal", ax.get_xlabel()), ("vertical", ax.get_ylabel()))
                         if label.strip())
        parts.append(axes[:1].upper() + axes[1:])
        rows = [_clean(t.get_text()) for t in ax.get_yticklabels()]
        rows = [r for r in rows if r and not _NUMBER.fullmatch(r)]
        if rows:
            more = f" and {len(rows) - MAX_ROWS} more" if len(rows) > MAX_ROWS else ""
            parts.append(f"{len(rows)} rows: " + "; ".join(rows[:MAX_ROWS]) + more)
        if ax.get_legend() is not None:
            legend += [_clean(t.get_text()) for t in ax.get_legend().get_texts()]
    if legend:
        parts.append("Legend: " + "; ".join(dict.fromkeys(filter(None, legend))))
    seen: list[str] = []
    for part in parts:  # a caption that repeats the title is said once
        if part and not any(part.lower().rstrip(".") in s.lower() for s in seen):
            seen.append(part)
    return " ".join(s if s[-1] in ".?!" else s + "." for s in seen)


_NUMBER = re.compile(r"[−\-+]?[\d.,]+(e[−\-+]?\d+)?\s*%?")


def _clean(text: str) -> str:
    return " ".join(str(text).replace("−", "-").split())

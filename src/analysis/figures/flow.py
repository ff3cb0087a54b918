"""STROBE-style participant-flow diagram drawn from the ledger's flow table."""

from __future__ import annotations

import itertools

from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from analysis.figures._rows import require
from analysis.figures.theme import (
    COLOURS,
    FIG_WIDTH,
    FONT,
    describe,
    new_axes,
    themed,
    thousands,
    wrap,
)

LINE = 0.21  # inches per line of 10-11 pt text
MAIN = (0.3, 3.9)  # x extent of the main column, inches
SIDE = (4.5, 7.8)  # x extent of the exclusion boxes
GAP = 0.45  # vertical space between boxes


def participant_flow(flow, *, ax: Axes | None = None, title: str | None = "Participant flow",
                     codebook=None) -> Axes:
    """Boxes and arrows from rows read, through the exclusions of each step, to rows analysed.

    ``flow`` is :attr:`Survey.flow` (``stage, step, reason, n``: one ``read``
    row, ``excluded`` rows by step and reason, one ``analysed`` row), or a
    Survey itself. An optional column ``shown`` gives the text of each
    reason's count (a report's ``"<5"``) in place of ``n``. Each step that
    excluded rows gets a box at the side listing its reasons with their
    counts, and the main column shows the rows left after it. A reason
    "column: rule" is shown with the column's codebook label when
    ``codebook`` (a Codebook or Survey) is given or ``flow`` is a Survey.
    Counts carry thousands separators. Drawn in inch units: the figure grows
    with the number of reasons.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if hasattr(flow, "flow") and hasattr(flow, "codebook"):
        codebook = codebook if codebook is not None else flow.codebook
        flow = flow.flow
    codebook = getattr(codebook, "codebook", codebook)
    require(flow, ["stage", "step", "reason", "n"], "participant_flow")
    read = flow.loc[flow["stage"] == "read", "n"]
    analysed = flow.loc[flow["stage"] == "analysed", "n"]
    if len(read) != 1 or len(analysed) != 1:
        from analysis.errors import ReportError
        raise ReportError("participant_flow: the flow table needs one 'read' row and one "
                          f"'analysed' row (it has {len(read)} and {len(analysed)}).")
    excluded = flow[flow["stage"] == "excluded"]
    steps = [(step, block) for step, block in excluded.groupby("step", sort=False)]

    # ---- layout, top to bottom, in inches --------------------------------
    items = []  # (kind, y_top, height, lines)
    y = 0.0
    items.append(("main", y, 2 * LINE + 0.25,
                  ["Rows read", f"n = {thousands(read.iloc[0])}"]))
    y += items[-1][2]
    remaining = float(read.iloc[0])
    for k, (step, block) in enumerate(steps):
        lines = [f"Excluded{_step_name(step, len(steps))}: n = {thousands(block['n'].sum())}"]
        shown = block["shown"] if "shown" in block else [thousands(n) for n in block["n"]]
        for reason, count in zip(block["reason"], shown, strict=True):
            text = wrap(f"{_reason(reason, codebook)}: {count}", 40)
            lines += ["• " + text.replace("\n", "\n   ")]
        n_lines = sum(1 + s.count("\n") for s in lines)
        side_h = 0.12 + LINE * 1.15 + (n_lines - 1) * 0.2 + 0.15
        y += GAP
        items.append(("side", y, side_h, lines))
        y += side_h + GAP
        remaining -= float(block["n"].sum())
        if k < len(steps) - 1:
            items.append(("main", y, 2 * LINE + 0.25,
                          [f"Rows remaining after {step}", f"n = {thousands(remaining)}"]))
            y += items[-1][2]
    if not steps:
        y += GAP
    items.append(("main", y, 2 * LINE + 0.25,
                  ["Rows analysed", f"n = {thousands(analysed.iloc[0])}"]))
    height = y + items[-1][2] + 0.1

    with themed():
        own = ax is None
        # without exclusions no side boxes: the main column alone, so a phone scales the
        # figure to its boxes, not to an empty half (text of 10 pt read at 5 pt)
        width = FIG_WIDTH if steps else MAIN[1] + MAIN[0]
        ax = new_axes(ax, height + (0.6 if title else 0.2), width)
        ax.set_xlim(0, width)
        ax.set_ylim(height, -0.05)
        ax.set_axis_off()
        mains = [it for it in items if it[0] == "main"]
        for kind, top, h, lines in items:
            if kind == "main":
                _box(ax, MAIN, top, h, lines, centre=True)
            else:
                _box(ax, SIDE, top, h, lines, centre=False)
                # arrow from the main column's spine into the side box
                mid = (MAIN[0] + MAIN[1]) / 2
                _arrow(ax, (mid, top + min(h / 2, 0.35)), (SIDE[0], top + min(h / 2, 0.35)))
        mid = (MAIN[0] + MAIN[1]) / 2
        for upper, lower in itertools.pairwise(mains):
            _arrow(ax, (mid, upper[1] + upper[2]), (mid, lower[1]))
        if title:
            if own:
                ax.figure.suptitle(title, x=0.01, ha="left", fontsize=FONT["title"],
                                   fontweight="bold")
            else:
                ax.set_title(title)
        exclusions = (f"{len(steps)} step{'s' if len(steps) != 1 else ''} that excluded rows "
                      "(side boxes with the reasons)" if steps else "no row excluded")
        describe(ax, f"Boxes from top to bottom: {thousands(read.iloc[0])} rows read, "
                 f"{exclusions}, {thousands(analysed.iloc[0])} rows analysed.")
    return ax


def _step_name(step: str, n_steps: int) -> str:
    return f" at {step}" if n_steps > 1 or step not in ("", "validate") else ""


def _reason(reason: str, codebook) -> str:
    """"Age: out of range" from "age: out of range" through the codebook label."""
    column, sep, rule = str(reason).partition(": ")
    if sep and codebook is not None and column in codebook.variables:
        return f"{codebook.label(column)}: {rule}"
    return str(reason)


def _box(ax: Axes, xs: tuple[float, float], top: float, height: float, lines: list[str], *,
         centre: bool) -> None:
    ax.add_patch(FancyBboxPatch((xs[0], top), xs[1] - xs[0], height,
                                boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor="white" if centre else "#F7F7F7",
                                edgecolor=COLOURS["reference"], linewidth=1.2))
    if centre:
        ax.text((xs[0] + xs[1]) / 2, top + height / 2, "\n".join(lines), ha="center",
                va="center", fontsize=FONT["base"], linespacing=1.35, gid="flow-box")
        return
    first, rest = lines[0], lines[1:]
    ax.text(xs[0] + 0.12, top + 0.12, first, ha="left", va="top", fontsize=FONT["base"],
            fontweight="bold", gid="flow-box")
    if rest:
        ax.text(xs[0] + 0.12, top + 0.12 + LINE * 1.15, "\n".join(rest), ha="left", va="top",
                fontsize=FONT["small"], linespacing=1.45, gid="flow-reasons")


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                 color=COLOURS["reference"], linewidth=1.2,
                                 shrinkA=0, shrinkB=1))


__all__ = ["participant_flow"]

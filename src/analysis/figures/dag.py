"""The causal diagram a codebook declares, with an exposure's adjustment set marked."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from analysis.figures.theme import OKABE_ITO, describe, new_axes, themed, wrap

ROLE_COLOURS = {"exposure": OKABE_ITO["orange"], "outcome": OKABE_ITO["bluish_green"],
                "adjusted": OKABE_ITO["sky_blue"], "unmeasured": "#FFFFFF", "other": "#EEEEEE"}


def dag_plot(edges: pd.DataFrame, *, exposure: str | list[str] | None = None,
             outcome: str | None = None,
             adjusted: list[str] | tuple[str, ...] = (), unmeasured: list[str] | tuple = (),
             labels: dict[str, str] | None = None, ax: Axes | None = None) -> Axes:
    """Draw a causal diagram: causes on the left, effects to the right, one column per step.

    ``edges`` is a tidy frame with columns ``cause`` and ``effect`` (one row
    per arrow). Each node sits in the column of its longest chain of causes
    (a topological layering), so every arrow points right. The exposure,
    outcome and the adjustment set are coloured (legend), unmeasured nodes
    are drawn dashed, and arrows out of a single exposure are drawn in its
    colour. ``exposure`` may be a list (every exposure of a model).

    Examples
    --------
    >>> edges = pd.DataFrame({"cause": ["age", "age", "x"], "effect": ["x", "y", "y"]})
    >>> ax = dag_plot(edges, exposure="x", outcome="y", adjusted=["age"])
    """
    import networkx as nx

    labels = labels or {}
    exposures = [exposure] if isinstance(exposure, str) else list(exposure or [])
    graph = nx.DiGraph()
    graph.add_edges_from(zip(edges["cause"], edges["effect"], strict=True))
    layers = list(nx.topological_generations(graph))
    depth = {}
    for node in nx.topological_sort(graph):
        preds = list(graph.predecessors(node))
        depth[node] = 1 + max(depth[p] for p in preds) if preds else 0
    columns: dict[int, list[str]] = {}
    for node in [n for layer in layers for n in sorted(layer, key=str)]:
        columns.setdefault(depth[node], []).append(node)
    tallest = max(len(v) for v in columns.values())
    position = {}
    for col, nodes in columns.items():
        for i, node in enumerate(nodes):
            position[node] = (col, (len(nodes) - 1) / 2 - i)
    with themed():
        ax = new_axes(ax, max(3.0, 0.62 * tallest + 1))
        for cause, effect in graph.edges:
            colour = (ROLE_COLOURS["exposure"] if len(exposures) == 1 and cause in exposures
                      else "#777777")
            ax.annotate("", xy=position[effect], xytext=position[cause],
                        arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.1,
                                        shrinkA=16, shrinkB=16, alpha=0.85,
                                        connectionstyle="arc3,rad=0.06"))
        for node, (x, y) in position.items():
            role = ("exposure" if node in exposures else "outcome" if node == outcome
                    else "adjusted" if node in adjusted
                    else "unmeasured" if node in unmeasured else "other")
            ax.text(x, y, wrap(labels.get(node, node), 16), ha="center", va="center",
                    fontsize=8, gid=f"node-{node}",
                    bbox=dict(boxstyle="round,pad=0.3", fc=ROLE_COLOURS[role],
                              ec="#333333", ls="--" if role == "unmeasured" else "-", lw=0.8))
        handles = [plt.Rectangle((0, 0), 1, 1, fc=ROLE_COLOURS[r], ec="#333333",
                                 ls="--" if r == "unmeasured" else "-")
                   for r in ("exposure", "outcome", "adjusted", "unmeasured")]
        ax.legend(handles, ["exposure", "outcome", "adjusted for", "not measured"],
                  loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=4, frameon=False,
                  fontsize=9)
        width = max(columns) if columns else 1
        ax.set_xlim(-0.6, width + 0.6)
        ax.set_ylim(-tallest / 2 - 0.2, tallest / 2 + 0.2)
        ax.set_axis_off()
        ax.set_facecolor("white")
        ax.grid(False)
        ax.figure.patch.set_facecolor("white")
        name = labels.get
        arrows = "; ".join(f"{name(c, c)} to {name(e, e)}" for c, e in graph.edges)
        describe(ax, f"Causal diagram of {graph.number_of_nodes()} variables and "
                     f"{graph.number_of_edges()} arrows ({arrows})"
                 + (f"; exposure {', '.join(name(x, x) for x in exposures)}" if exposures else "")
                 + (f"; outcome {name(outcome, outcome)}" if outcome else "")
                 + (f"; adjusted for {', '.join(name(a, a) for a in adjusted)}"
                    if adjusted else "; no adjustment needed") + ".")
    return ax


__all__ = ["dag_plot"]

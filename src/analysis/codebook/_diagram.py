"""Checks of the causal diagram a codebook declares (``analysis: causes:``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping


def check_causes(causes: Mapping[str, list[str]], variables: set[str],
                  unmeasured: list[str]) -> None:
    """Every node of ``analysis: causes`` is a variable or declared unmeasured; no cycle."""
    clash = sorted(set(unmeasured) & variables)
    if clash:
        raise ValueError(f"@analysis.unmeasured: {clash[0]!r} is a variable of the codebook; "
                         "list there only causes that are not measured")
    known = variables | set(unmeasured)
    for effect, parents in causes.items():
        for name in [effect, *parents]:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"@analysis.causes: {name!r} is neither a variable nor listed "
                                 f"in analysis: unmeasured{hint}")
        if effect in parents:
            raise ValueError(f"@analysis.causes: {effect!r} is listed as its own cause")
    # Depth-first search for a cycle: a causal diagram is acyclic.
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for parent in causes.get(node, []):
            if state.get(parent) == 1:
                loop = [*path[path.index(parent):], parent] if parent in path else [node, parent]
                raise ValueError("@analysis.causes: the diagram has a cycle ("
                                 + " <- ".join(loop) + "); a cause cannot be its own effect")
            if parent not in state:
                visit(parent, [*path, parent])
        state[node] = 2

    for node in causes:
        if node not in state:
            visit(node, [node])

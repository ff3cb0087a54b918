"""Adjustment sets from the causal diagram a codebook declares (``analysis: causes:``).

The codebook maps each variable to its direct causes; together they are a
directed acyclic graph (nodes not in the data are listed under ``analysis:
unmeasured:``). For the total effect of an exposure X on an outcome Y a set Z
of measured variables is *sufficient* by Pearl's back-door criterion (Pearl
1993; *Causality* 2009, Definition 3.3.1) when no member of Z descends from
X and Z blocks every path between X and Y that starts with an arrow into X,
that is, Z d-separates X and Y once the arrows out of X are removed
(``networkx.is_d_separator``). It is *minimal* when no proper subset is
sufficient. The plan adjusts each exposure for a smallest sufficient set (a
minimum cut, :func:`adjustment_set`); among sets of that size it prefers
the one with more direct causes of the outcome (they make the estimate more
precise, Henckel et al. 2022). Each exposure is then fitted in its own model
(:func:`fit_by_adjustment_set`), so that one exposure's confounders are not
adjusted away as another's mediators (the "Table 2 fallacy", Westreich &
Greenland 2013).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Sequence

import networkx as nx
import pandas as pd

from analysis.errors import ModelError
from analysis.models.result import Notice

# An adjustment variable measured on fewer respondents than this share would shrink the
# model to them; as the plan's sub-sample rule (plan.build.SUBSAMPLE), it is left to the
# sub-sample model.
COVERAGE = 0.5


def causal_graph(causes: dict[str, Sequence[str]]) -> nx.DiGraph:
    """The diagram as a graph: an edge ``cause -> effect`` for each declared cause.

    Examples
    --------
    >>> sorted(causal_graph({"y": ["x", "z"], "x": ["z"]}).edges)
    [('x', 'y'), ('z', 'x'), ('z', 'y')]
    """
    graph = nx.DiGraph()
    for effect, parents in causes.items():
        graph.add_node(effect)
        graph.add_edges_from((parent, effect) for parent in parents)
    if not nx.is_directed_acyclic_graph(graph):
        raise ModelError("The causal diagram has a cycle: " + " -> ".join(
            str(u) for u, _ in nx.find_cycle(graph)) + "; a cause cannot be its own effect.")
    return graph


def is_adjustment_set(graph: nx.DiGraph, exposure: str, outcome: str,
                      adjust_for: Iterable[str]) -> bool:
    """Pearl's back-door criterion for the total effect of ``exposure`` on ``outcome``.

    ``True`` when no member of ``adjust_for`` descends from the exposure and
    the set d-separates exposure and outcome in the graph without the arrows
    out of the exposure. Tested on M-bias, Pearl's (2009) Figure 3.4 and
    Shrier & Platt's (2008) warm-up diagram (tests/test_plan_causal.py).

    Examples
    --------
    >>> g = causal_graph({"x": ["a"], "m": ["a", "b"], "y": ["x", "b"]})
    >>> is_adjustment_set(g, "x", "y", []), is_adjustment_set(g, "x", "y", ["m"])
    (True, False)
    """
    z = set(adjust_for)
    _check_nodes(graph, exposure, outcome, z)
    return _Backdoor(graph, exposure, outcome).sufficient(z)


class _Backdoor:
    """The back-door graph of one exposure, built once for the many subsets a search tries."""

    def __init__(self, graph: nx.DiGraph, exposure: str, outcome: str):
        self.exposure, self.outcome = exposure, outcome
        self.banned = nx.descendants(graph, exposure) | {exposure, outcome}
        self.graph = graph.copy()
        self.graph.remove_edges_from(list(graph.out_edges(exposure)))

    def sufficient(self, z: Iterable[str]) -> bool:
        z = set(z)
        if z & self.banned:
            return False
        return nx.is_d_separator(self.graph, {self.exposure}, {self.outcome}, z)


def minimal_adjustment_sets(graph: nx.DiGraph, exposure: str, outcome: str,
                            measured: Iterable[str] | None = None,
                            max_size: int | None = None) -> list[tuple[str, ...]]:
    """Every minimal sufficient adjustment set among ``measured`` nodes (all nodes if None).

    Method: the candidates are the measured ancestors of exposure or outcome
    that descend from neither (a minimal set has no other members); subsets
    are tried by increasing size, and a sufficient one is minimal when it
    holds no smaller sufficient set already found. Sets are tuples in the
    graph's node order, listed by size. Exhaustive: meant for diagrams of a
    few dozen nodes.

    Examples
    --------
    >>> g = causal_graph({"x": ["a"], "m": ["a", "b"], "y": ["x", "b"]})
    >>> minimal_adjustment_sets(g, "x", "y")
    [()]
    """
    candidates = _candidates(graph, exposure, outcome, measured)
    backdoor = _Backdoor(graph, exposure, outcome)
    found: list[tuple[str, ...]] = []
    top = len(candidates) if max_size is None else min(max_size, len(candidates))
    for size in range(top + 1):
        for subset in itertools.combinations(candidates, size):
            if any(set(f) <= set(subset) for f in found):
                continue
            if backdoor.sufficient(subset):
                found.append(subset)
    return found


def adjustment_set(graph: nx.DiGraph, exposure: str, outcome: str,
                   measured: Iterable[str]) -> tuple[str, ...] | None:
    """The set the plan adjusts for: a smallest sufficient set, or None if there is none.

    Method: a minimum vertex cut (van der Zander, Liśkiewicz & Textor 2019,
    *Artif Intell* 270:1): a set of ancestors of exposure and outcome
    d-separates them in the back-door graph exactly when it separates them
    in the moral graph of that graph's ancestral set, so the smallest set is
    a minimum cut between them there, by max-flow with each candidate node
    of capacity 1 and every other node (descendants of the exposure,
    unmeasured nodes) uncuttable. Among the smallest sets the cut prefers
    direct causes of the outcome (they make the estimate more precise;
    Henckel, Perković & Maathuis 2022), through a slightly lower capacity.
    Tested against the exhaustive search of :func:`minimal_adjustment_sets`
    on textbook and random diagrams (tests/test_plan_causal.py).
    """
    candidates = set(_candidates(graph, exposure, outcome, measured))
    backdoor = _Backdoor(graph, exposure, outcome)
    relevant = nx.ancestors(backdoor.graph, exposure) | nx.ancestors(backdoor.graph, outcome)
    relevant |= {exposure, outcome}
    moral = nx.moral_graph(backdoor.graph.subgraph(relevant))
    parents = set(graph.predecessors(outcome))
    flow = nx.DiGraph()
    big = 10 * (len(relevant) + 1) * 1000
    for v in moral.nodes:
        capacity = (1000 - (1 if v in parents else 0)) if v in candidates else big
        flow.add_edge((v, "in"), (v, "out"), capacity=capacity)
    for u, v in moral.edges:
        flow.add_edge((u, "out"), (v, "in"), capacity=big)
        flow.add_edge((v, "out"), (u, "in"), capacity=big)
    value, (reach, _) = nx.minimum_cut(flow, (exposure, "out"), (outcome, "in"))
    if value >= big:
        return None
    cut = {v for v in moral.nodes if (v, "in") in reach and (v, "out") not in reach}
    chosen = tuple(v for v in graph.nodes if v in cut)
    # A cut of the moral graph is a d-separator; checked, as the plan relies on it.
    return chosen if backdoor.sufficient(chosen) else None


def adjustment_reason(graph: nx.DiGraph, exposure: str, outcome: str, chosen: Sequence[str],
                      label: Callable[[str], str] = str) -> str:
    """One sentence saying which set an exposure is adjusted for and why."""
    descendants = causal_path(graph, exposure, outcome)
    names = ", ".join(label(v) for v in chosen) or "nothing"
    words = (f"{label(exposure)}: adjusted for {names}, which blocks every back-door path "
             "to the outcome" if chosen else
             f"{label(exposure)}: not adjusted; no back-door path to the outcome is open")
    if descendants:
        words += ("; not for " + ", ".join(label(v) for v in descendants)
                  + ", on its causal path")
    return words + "."


def causal_path(graph: nx.DiGraph, exposure: str, outcome: str) -> list[str]:
    """The nodes between exposure and outcome on its causal paths (its mediators), in order.

    Examples
    --------
    >>> causal_path(causal_graph({"m": ["x"], "y": ["m", "x"]}), "x", "y")
    ['m']
    """
    if exposure not in graph or outcome not in graph:
        return []
    between = nx.descendants(graph, exposure) & nx.ancestors(graph, outcome)
    return [v for v in graph.nodes if v in between]


def fit_by_adjustment_set(model, fit: Callable):
    """Each exposure in a model of its own with its adjustment set; one result of them all.

    ``model`` is a :class:`~analysis.plan.ModelPlan` with
    ``adjustment_sets`` (exposure -> its set); ``fit(model, crude=True)`` fits
    a ModelPlan and returns a :class:`~analysis.models.result.ModelResult`
    (``crude=False``: its crude models are not needed, a logistic fit may
    leave them out; see :func:`analysis.models.logistic`). The result's
    table and tidy rows hold each exposure's rows from its own model (crude
    and adjusted in the same rows), the rows of a declared interaction from
    a model of both exposures with both sets; ``models["adjusted"]`` and
    ``tidy("mutual")`` are the model of all exposures together adjusted for
    every set (the prediction model, checked for performance), and
    ``models["adjusted: <exposure>"]`` each exposure's model.
    """
    plain = dataclasses.replace(model, adjustment_sets={})
    # the crude rows come from each exposure's own model (its rows): the model of all
    # exposures would fit them again on other rows, for nothing
    mutual = fit(plain, crude=False)
    # Each exposure's model uses the rows with its own variables: the mutual model's account
    # of dropped rows ("every model uses the same rows") does not hold for them.
    notices = [n for n in mutual.notices if n.kind != "dropped rows"]
    notices.append(mutual_notice(mutual))
    tables, adjusted, crude = [], [], []
    fits = {"adjusted": mutual.models["adjusted"]}
    parts = {}
    for exposure in [x for x in model.exposures if x in model.adjustment_sets]:
        own = fit(dataclasses.replace(plain, exposures=[exposure], interactions=[],
                                      adjust_for=list(model.adjustment_sets.get(exposure, []))))
        _collect(own, [exposure], tables, adjusted, crude, notices, fits, exposure)
        parts[exposure] = own
    for a, b in model.interactions:
        both = [v for v in (a, b) if v in model.exposures]
        sets = [*model.adjustment_sets.get(a, []), *model.adjustment_sets.get(b, [])]
        adjust = list(dict.fromkeys(v for v in sets if v not in (a, b)))
        extra = [v for v in (a, b) if v not in both]
        pair = fit(dataclasses.replace(plain, exposures=[*both, *extra], adjust_for=adjust,
                                       interactions=[(a, b)]))
        _collect(pair, [f"{a}:{b}"], tables, adjusted, crude, notices, fits, f"{a} × {b}")
    table = pd.concat(tables, ignore_index=True)
    info = {**mutual.info, "adjustment_sets": {k: list(v) for k, v in
                                               model.adjustment_sets.items()},
            "by_exposure": True}
    result = type(mutual)(table=table, fits=mutual.fits, info=info, estimate=mutual.estimate,
                          _tidy={"adjusted": pd.concat(adjusted, ignore_index=True),
                                 "crude": pd.concat(crude, ignore_index=True),
                                 "mutual": mutual.tidy("adjusted")},
                          _tests=None, _fits=fits, parts=parts)
    for notice in notices:
        result.notify(notice.kind, notice.message, notice.model)
    return result


def mutual_notice(mutual):
    """The notice saying which rows the per-exposure models and the model of all used."""
    info = mutual.info
    return Notice("dropped rows", "Each exposure's model uses the respondents who have its "
                  "outcome, exposure and adjustment set (its n in the table); the model of all "
                  f"exposures together used {info.get('n')} of {info.get('n_read')} rows.")


def _collect(result, variables, tables, adjusted, crude, notices, fits, name) -> None:
    table = result.table
    tables.append(table[table["variable"].isin(variables)])
    for which, store in (("adjusted", adjusted), ("crude", crude)):
        try:
            tidy = result.tidy(which)
        except ModelError:
            continue
        store.append(tidy[tidy["term"].astype(str).map(lambda t: _owns(t, variables))])
    for model_name, f in result.models.items():
        fits[f"{model_name}: {name}" if model_name == "adjusted" else model_name] = f
    # The model of all exposures says which rows were used; each exposure's own model uses
    # the rows with its variables (its n in the table).
    notices.extend(n for n in result.notices
                   if n.kind not in ("adjustment set", "method", "dropped rows"))


def adjustment_candidates(survey, outcome: str) -> list[str]:
    """Variables an adjustment set may use: in the data for half the respondents or more, of
    a type a model takes, and not a design, id or outcome variable."""
    data, cb = survey.data, survey.codebook
    skip = {"id", "weight", "cluster", "match", "exposure_time", "outcome"}
    return [name for name, var in cb.variables.items()
            if name in data.columns and name != outcome and var.role not in skip
            and var.type in ("binary", "categorical", "ordinal", "numeric", "count")
            and data[name].notna().mean() >= COVERAGE]


def apply_diagram(model, diagram, only: Sequence[str] | None = None) -> None:
    """Each exposure's adjustment set from the diagram, without what the plan left out.

    ``only``: the exposures that get models of their own (the sub-sample's own measures;
    the others have theirs in the main model)."""
    if not diagram:
        return
    sets, _, reasons = diagram
    model.adjustment_sets = {x: [v for v in sets.get(x, []) if v not in model.dropped]
                             for x in model.exposures if only is None or x in only}
    model.adjustment_reasons = {x: r for x, r in zip(sets, reasons, strict=True)
                                if x in model.adjustment_sets}
    model.reasons.insert(0, "Adjustment sets come from the causal diagram the codebook declares "
                            "(back-door criterion, Pearl 2009): each exposure is estimated in "
                            "a model of its own, adjusted for its smallest sufficient set.")


def _owns(term: str, variables: Sequence[str]) -> bool:
    """Is a tidy row's term that of one of ``variables`` (``"a:b"`` names an interaction)?"""
    for v in variables:
        if ":" in v:
            first = v.split(":")[0]
            if ":" in term and term.startswith(f"{first}["):
                return True
        elif term == v or (term.startswith(f"{v}[") and ":" not in term):
            return True
    return False


def plan_adjustment(survey, outcome: str, exposures: Sequence[str], measured: Sequence[str]
                    ) -> tuple[dict[str, list[str]], list[str], list[str]] | None:
    """Each exposure's adjustment set from the codebook's diagram, or None without one.

    ``measured`` are the variables a set may use (in the data, of a type a
    model takes). Returns the sets, their union in codebook order and one
    sentence per exposure; an exposure outside the diagram, or one that no
    measured set adjusts (a back-door path through an unmeasured cause),
    gets an empty set and a sentence saying so.
    """
    section = survey.codebook.analysis
    if section is None or not section.causes:
        return None
    graph = causal_graph(section.causes)
    if outcome not in graph:
        return None
    sets: dict[str, list[str]] = {}
    reasons = []
    for exposure in exposures:
        if exposure not in graph:
            sets[exposure] = []
            reasons.append(f"{survey.label(exposure)} is not in the declared causal diagram: its "
                           "estimate is crude.")
            continue
        chosen = adjustment_set(graph, exposure, outcome, measured)
        if chosen is None:
            sets[exposure] = []
            reasons.append(f"{survey.label(exposure)}: no set of measured variables blocks every "
                           "back-door path to the outcome in the declared causal diagram (a path "
                           "runs through an unmeasured cause); its estimate is crude and "
                           "confounded.")
            continue
        sets[exposure] = list(chosen)
        reasons.append(adjustment_reason(graph, exposure, outcome, chosen, survey.label))
    order = list(survey.codebook.variables)
    union = sorted({v for s in sets.values() for v in s} - set(exposures), key=order.index)
    return sets, union, reasons


def _candidates(graph: nx.DiGraph, exposure: str, outcome: str,
                measured: Iterable[str] | None) -> list[str]:
    _check_nodes(graph, exposure, outcome, set())
    allowed = set(graph.nodes) if measured is None else set(measured)
    ancestors = nx.ancestors(graph, exposure) | nx.ancestors(graph, outcome)
    banned = (nx.descendants(graph, exposure) | nx.descendants(graph, outcome)
              | {exposure, outcome})
    return [v for v in graph.nodes if v in allowed and v in ancestors and v not in banned]


def _check_nodes(graph: nx.DiGraph, exposure: str, outcome: str, z: set[str]) -> None:
    missing = [v for v in [exposure, outcome, *sorted(z)] if v not in graph]
    if missing:
        raise ModelError(f"The causal diagram has no node {missing[0]!r}; declare its causes "
                         "(analysis: causes:) or leave it out.")


__all__ = [
    "COVERAGE",
    "adjustment_candidates",
    "adjustment_reason",
    "adjustment_set",
    "apply_diagram",
    "causal_graph",
    "causal_path",
    "fit_by_adjustment_set",
    "is_adjustment_set",
    "minimal_adjustment_sets",
    "mutual_notice",
    "plan_adjustment",
]

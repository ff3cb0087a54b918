"""Separation and sparse cells of binary-outcome models, and how far groups overlap."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.errors import BackpainWarning

SPARSE = 5


def sparse_cells(encoded: dict, y: np.ndarray, variables: list[str], warn: bool = True,
                 firth: bool = False) -> pd.DataFrame:
    """Events and non-events per level of each factor; flag zero and sparse cells.

    A level with no events (or no non-events) makes the ML estimate of its
    OR infinite: quasi-complete separation. Fewer than 5 gives unstable
    estimates. Each flagged level raises a :class:`BackpainWarning` naming
    variable and level; with ``firth`` (the model is fitted by Firth's
    penalised likelihood) it says that the estimate is finite, instead of
    advising ``firth=True``.
    """
    rows = []
    for v in variables:
        e = encoded[v]
        if e.kind != "factor":
            continue
        k = len(e.categories)
        n = np.bincount(e.codes, minlength=k)
        ev = np.bincount(e.codes, weights=y, minlength=k)
        for i, level in enumerate(e.categories):
            events, nonevents = float(ev[i]), float(n[i] - ev[i])
            if n[i] == 0:
                problem = "no respondents"
            elif min(events, nonevents) == 0:
                problem = "quasi-complete separation"
            elif min(events, nonevents) < SPARSE:
                problem = "sparse"
            else:
                problem = ""
            rows.append({"variable": v, "level": level, "label": e.label, "n": int(n[i]),
                         "events": events, "nonevents": nonevents, "problem": problem})
            if problem and warn:
                which = "events" if events <= nonevents else "non-events"
                warnings.warn(
                    f"{e.label} ({v!r}) level {level!r}: {problem}, {int(min(events, nonevents))} "
                    f"{which} among {int(n[i])} respondents; its odds ratio is "
                    + (("infinite by maximum likelihood; Firth's penalised likelihood gives "
                        "a finite but imprecise estimate." if firth else
                        "infinite by maximum likelihood (use firth=True or merge levels).")
                       if problem != "sparse" else "unstable (fewer than 5)."),
                    BackpainWarning, stacklevel=3)
    return pd.DataFrame(rows, columns=["variable", "level", "label", "n", "events", "nonevents",
                                       "problem"])


def separation(result, warn: bool = True) -> pd.DataFrame:
    """Complete or quasi-complete separation of the adjusted model.

    Two checks: zero and sparse cells of outcome x level for each factor
    (:func:`sparse_cells`), and Konis's (2007) linear program (via
    ``firthmodels.detect_separation``, the method of R's detectseparation)
    on the distinct covariate patterns, which also finds separation by
    combinations of variables. Returns one row per design column with
    ``direction`` (+1/-1: ML estimate infinite upwards/downwards, 0 finite)
    and the cell counts of factor levels; warns naming variable and level.
    """
    from firthmodels import detect_separation

    fit = result.models["adjusted"]
    variables = [v for v in fit.encoded if fit.encoded[v].kind == "factor"]
    if fit.method == "rows":
        X, yy = fit.design.X, fit.y
    else:
        has_ev, has_non = fit.events > 0, (fit.trials - fit.events) > 0
        X = np.vstack([fit.design.X[has_ev], fit.design.X[has_non]])
        yy = np.r_[np.ones(has_ev.sum()), np.zeros(has_non.sum())]
    # Separation depends only on which distinct rows carry events and non-events.
    rows = np.unique(np.column_stack([X, yy]), axis=0)
    found = detect_separation(rows[:, :-1], rows[:, -1], fit_intercept=False)
    out = pd.DataFrame({"column": fit.design.names, "direction": np.asarray(found.directions)})
    infinite = out[(out["direction"] != 0) & (out["column"] != "Intercept")]
    if warn and len(infinite):
        warnings.warn(
            "Separation (linear-programming check): maximum-likelihood estimates are infinite "
            f"for {', '.join(infinite['column'])}; refit with firth=True.", BackpainWarning,
            stacklevel=2)
    if fit.method == "rows":
        cells = sparse_cells(fit.encoded, fit.y, variables, warn=warn)
    else:
        cells = _pattern_cells(fit, variables, warn)
    cells["column"] = cells["variable"] + "[" + cells["level"] + "]"
    return out.merge(cells, on="column", how="left")


def separated_columns(fit, max_rows: int = 200_000) -> list[str]:
    """Design columns whose maximum-likelihood estimate is infinite (Konis's LP check).

    The check (``firthmodels.detect_separation``, as R's detectseparation)
    runs on the distinct rows of (design, outcome): for a pattern fit an
    event row and a non-event row per pattern. More than ``max_rows``
    distinct rows skip the check (an empty list), since the linear program
    grows with them. The intercept is never named.

    Examples
    --------
    >>> separated_columns(result.models["adjusted"])  # doctest: +SKIP
    ['sport[Basketball]']
    """
    from firthmodels import detect_separation

    if fit.method == "rows":
        X, yy = fit.design.X, fit.y
    else:
        has_ev, has_non = fit.events > 0, (fit.trials - fit.events) > 0
        X = np.vstack([fit.design.X[has_ev], fit.design.X[has_non]])
        yy = np.r_[np.ones(has_ev.sum()), np.zeros(has_non.sum())]
    if X.shape[0] > 4 * max_rows:
        return []
    rows = np.unique(np.column_stack([X, yy]), axis=0)
    if rows.shape[0] > max_rows:
        return []
    found = detect_separation(rows[:, :-1], rows[:, -1], fit_intercept=False)
    directions = np.asarray(found.directions)
    return [c for c, d in zip(fit.design.names, directions, strict=True)
            if d != 0 and c != "Intercept"]


def _pattern_cells(fit, variables, warn) -> pd.DataFrame:
    from analysis.models.design import Encoded

    # expand patterns to events/non-events as weighted rows for the cell counts
    rows = []
    for v in variables:
        e: Encoded = fit.encoded[v]
        k = len(e.categories)
        n = np.bincount(e.codes, weights=fit.trials, minlength=k)
        ev = np.bincount(e.codes, weights=fit.events, minlength=k)
        for i, level in enumerate(e.categories):
            low = min(ev[i], n[i] - ev[i])
            problem = ("quasi-complete separation" if low == 0 else "sparse" if low < SPARSE
                       else "")
            rows.append({"variable": v, "level": level, "label": e.label, "n": int(n[i]),
                         "events": float(ev[i]), "nonevents": float(n[i] - ev[i]),
                         "problem": problem})
            if problem and warn:
                warnings.warn(f"{e.label} ({v!r}) level {level!r}: {problem} "
                              f"({int(low)} in the smaller outcome group).", BackpainWarning,
                              stacklevel=3)
    return pd.DataFrame(rows, columns=["variable", "level", "label", "n", "events", "nonevents",
                                       "problem"])


def overlap(survey, variable: str, by: str) -> pd.DataFrame:
    """Distribution of ``variable`` in each group of ``by``, and how far the groups overlap.

    Method: per group (the levels of ``by``, reference first) the count,
    minimum, quartiles (pandas' linear interpolation), median and maximum of
    ``variable`` over rows complete for both, and ``beyond_reference``: the
    members of the group outside ``[min, max]`` of the reference group. A
    group lying entirely beyond the reference range is completely separated
    from it by ``variable``, so the maximum-likelihood odds ratio of
    ``variable`` is infinite (Albert & Anderson 1984, *Biometrika* 71:1);
    a large share beyond is near separation, a reason for Firth's
    likelihood. Tested against hand counts on the vertebral-column data
    (110 of 150 spondylolisthesis patients beyond the range of the normal
    patients) and on a small constructed table (tests/test_diagnostics.py).

    Returns
    -------
    DataFrame
        ``group, n, min, q1, median, q3, max, beyond_reference``; a group
        with no complete row is left out.

    Examples
    --------
    >>> overlap(survey, "grade_of_spondylolisthesis", "diagnosis")  # doctest: +SKIP
    """
    data = survey.data[[variable, by]].dropna()
    groups = data[by].cat.categories if data[by].dtype == "category" else sorted(data[by].unique())
    ref = data.loc[data[by] == groups[0], variable]
    rows = []
    for g in groups:
        x = data.loc[data[by] == g, variable]
        if x.empty:
            continue
        beyond = int(((x > ref.max()) | (x < ref.min())).sum())
        rows.append({"group": str(g), "n": int(x.size), "min": float(x.min()),
                     "q1": float(x.quantile(0.25)), "median": float(x.median()),
                     "q3": float(x.quantile(0.75)), "max": float(x.max()),
                     "beyond_reference": beyond})
    return pd.DataFrame(rows, columns=["group", "n", "min", "q1", "median", "q3", "max",
                                       "beyond_reference"])


__all__ = ["SPARSE", "overlap", "separated_columns", "separation", "sparse_cells"]

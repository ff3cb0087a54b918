"""Logistic models fitted on pre-aggregated covariate patterns (no rows needed).

The binomial likelihood depends on the rows only through the events and
trials at each distinct covariate pattern, so a model fitted on patterns has
exactly the estimates and standard errors of the row fit (McCullagh & Nelder
1989, sec. 4.2). Here the patterns arrive already counted (from DuckDB or
Dask); each model (every crude one and the adjusted one) collapses them to the
patterns of its own variables, exactly as :func:`analysis.models.fitting.fit_terms`
does with rows, and fits the same binomial GLM. Encoding, design, tidy rows,
the side-by-side table and the likelihood-ratio/trend tests are the ones of
:mod:`analysis.models`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.aggregate import events_trials, pattern_index
from analysis.errors import ModelError
from analysis.models.design import Encoded, Term, build_design, encode, factor_term, numeric_term
from analysis.models.fitting import Fit, fit_arrays
from analysis.models.logistic import notify_complete_cases
from analysis.models.result import LogisticResult
from analysis.models.rows import estimate_row, factor_rows, side_by_side


def logistic_from_patterns(patterns: pd.DataFrame, codebook, outcome: str,
                           exposures: Sequence[str], adjust_for: Sequence[str] = (), *,
                           reference: Mapping[str, object] | None = None, firth: bool = False,
                           n_read: int | None = None) -> LogisticResult:
    """Crude and adjusted odds ratios from a table of patterns ``variables..., outcome, trials``.

    Method: as :func:`analysis.models.logistic` (treatment coding against the
    codebook reference, ML binomial GLM on patterns or Firth, Wald 95%
    intervals), with each row of ``patterns`` counting ``trials``
    respondents. Patterns missing the outcome or any model variable are left
    out of every model and counted in ``info["dropped_by_column"]``.

    Tested against :func:`analysis.models.logistic` on the same respondents
    (ORs, intervals, p-values, n, events and LR tests to 1e-8).

    Examples
    --------
    >>> lazy.logistic("spasm", ["posture"], ["sex"])  # doctest: +SKIP
    """
    from analysis.models import lr

    exposures = list(dict.fromkeys(exposures))
    adjust_for = [v for v in dict.fromkeys(adjust_for) if v not in exposures]
    if not exposures:
        raise ModelError("No exposures: name them, or give variables role: exposure.")
    variables = [*exposures, *adjust_for]
    reference = dict(reference or {})
    outcome_codes = patterns[outcome].cat.codes.to_numpy()
    y_all = np.where(outcome_codes < 0, np.nan, outcome_codes.astype(float))
    trials_all = patterns["trials"].to_numpy(dtype=float)
    enc_all = {v: encode(patterns, codebook, v, reference.get(v)) for v in variables}

    missing = {outcome: np.isnan(y_all), **{v: e.missing for v, e in enc_all.items()}}
    keep = ~np.logical_or.reduce(list(missing.values()))
    dropped = {c: int(trials_all[m].sum()) for c, m in missing.items() if m.any()}
    rows = np.flatnonzero(keep)
    y, w = y_all[rows], trials_all[rows]
    n, n_events = int(w.sum()), float((w * y).sum())
    if n == 0 or n_events in (0, n):
        raise ModelError(f"Model of {outcome!r}: {n} complete rows with {int(n_events)} events; "
                         "a logistic model needs both events and non-events.")
    enc = {v: e.take(rows) for v, e in enc_all.items()}
    terms = {v: factor_term(e) if e.kind == "factor" else numeric_term(e) for v, e in enc.items()}

    crude = {v: _fit(f"crude: {v}", [terms[v]], enc, y, w, firth) for v in exposures}
    adjusted = _fit("adjusted", list(terms.values()), enc, y, w, firth)
    tidy_adj = _tidy(adjusted, list(terms.values()), enc, y, w)
    tidy_crude = pd.concat([_tidy(crude[v], [terms[v]], enc, y, w) for v in exposures],
                           ignore_index=True)
    table = side_by_side(tidy_crude, tidy_adj, exposures, [])
    info = {
        "outcome": outcome,
        "event": str(patterns[outcome].cat.categories[1]),
        "n": n,
        "events": int(n_events),
        "n_read": int(trials_all.sum()) if n_read is None else n_read,
        "n_dropped": int(trials_all[~keep].sum()),
        "dropped_by_column": dropped,
        "exposures": exposures,
        "adjust_for": adjust_for,
        "formula": f"{outcome} ~ " + " + ".join(t.formula for t in terms.values()),
        "formulas_crude": {v: f"{outcome} ~ {terms[v].formula}" for v in exposures},
        "method": "patterns",
        "methods": {"adjusted": "patterns", **{f"crude: {v}": "patterns" for v in crude}},
        "n_patterns": int(adjusted.design.X.shape[0]),
        "firth": firth,
        "reference": {v: e.categories[e.reference] for v, e in enc.items() if e.kind == "factor"},
        "ci": "Wald 95%",
    }
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = LogisticResult(table, fits, info, "or", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: lr.model_tests(crude, adjusted, terms, [], enc)
    notify_complete_cases(result, dropped, codebook.label)
    return result


def _fit(name: str, terms: list[Term], enc: dict[str, Encoded], y: np.ndarray, w: np.ndarray,
         firth: bool) -> Fit:
    """Collapse the weighted patterns to those of the model's variables and fit."""
    used = sorted({v for t in terms for v in t.variables})
    inverse, first = pattern_index([enc[v].group_codes for v in used])
    events, trials = events_trials(inverse, y, w, n_patterns=first.size)
    reps = {v: enc[v].take(first) for v in used}
    design = build_design(terms, reps)
    return fit_arrays(name, design, reps, "patterns", firth, None, events, trials)


def _tidy(fit: Fit, terms: list[Term], enc: dict[str, Encoded], y: np.ndarray,
          w: np.ndarray) -> pd.DataFrame:
    rows = []
    for term in terms:
        e = enc[term.name]
        if term.kind == "numeric":
            b, se = fit.coef(e.name)
            rows.append(estimate_row(e.name, e.name, term.levels[0],
                                     f"{e.label} ({term.levels[0]})", b, se, int(w.sum()),
                                     float((w * y).sum())))
            continue
        rows.extend(factor_rows(fit, e, y, weights=w))
    return pd.DataFrame(rows, columns=["term", "variable", "level", "label", "estimate",
                                       "ci_low", "ci_high", "p_value", "n", "events"])

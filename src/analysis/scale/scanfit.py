"""Crude and adjusted logistic models with continuous covariates, exact, by aggregate scans.

:func:`logistic_scans` is :func:`analysis.models.logistic` for rows that stay
on disk (DuckDB) or on a cluster (Dask): every fit is Newton-Raphson by one
scan per iteration (:func:`analysis.scale.irls.newton_scans`; X'WX and
X'(y - p) summed where the rows are), except the crude model of a coded
exposure, which is fitted on its covariate patterns (its levels' events and
trials, one GROUP BY). The models use the same complete cases, coding,
reference levels and ``per`` steps as the in-memory function, so the table,
tidy rows, likelihood-ratio and trend tests (refits by scans, started from the
full model's estimate) and the standardised prevalence ratios
(:meth:`AggregateFit.standardised_means`, one scan per exposure) are the
in-memory ones.

Method: maximum likelihood (McCullagh & Nelder 1989, sec. 4.4), Wald 95%
intervals; marginal standardisation with delta-method intervals as
:mod:`analysis.models.standardise`. Tested against the in-memory row fit on
the same respondents (itself checked against R's ``glm``, fixture
``logistic``) and against the score equations X'(y - p) = 0 by hand, to 1e-8.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import BackpainWarning, ModelError
from analysis.models.design import Design, Encoded, Term, encode, factor_term, numeric_term
from analysis.models.fitting import Fit, fit_arrays, gram_rank
from analysis.models.logistic import notify_complete_cases
from analysis.models.result import LogisticResult
from analysis.models.rows import estimate_row, side_by_side
from analysis.scale.irls import newton_scans
from analysis.scale.rows import Column

PREDICTIONS = 1_000_000  # rows of the outcome and prediction kept for model performance


@dataclass
class AggregateFit(Fit):
    """A :class:`~analysis.models.fitting.Fit` whose rows are summed where they are.

    ``design.X`` has no rows; ``catalogue`` maps every column name a refit
    may ask for (the design's and each ordinal factor's ``[trend]`` score) to
    its :class:`~analysis.scale.rows.Column`.
    """

    rows: Any = None
    catalogue: dict[str, Column] = field(default_factory=dict)
    n_rows: int = 0

    @property
    def nobs(self) -> int:
        return self.n_rows

    @property
    def columns(self) -> list[Column]:
        return [self.catalogue[c] for c in self.design.names]

    def refit(self, X, names, start=None, name=None) -> AggregateFit:
        """The nested model of columns ``names`` (``X`` is not used: it has no rows)."""
        return fit_scans(self.rows, name or self.name, names, self.catalogue, self.design.terms,
                         self.encoded, start)

    def fitted(self) -> np.ndarray:
        raise ModelError("This model was fitted where its rows are (out of core): its "
                         "predictions are not held in memory.")

    def outcome_weights(self):
        """(y, p, 1) of the complete cases, or of a fixed sample of PREDICTIONS of them."""
        y, p = self.rows.predictions(self.columns, self.params, PREDICTIONS)
        return y, p, np.ones_like(p)

    def standardised_means(self, variable: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Levels, standardised means and their gradients for one exposure (one scan).

        As :func:`analysis.models.standardise.standardise`: each respondent
        predicted with the factor at each level (reference first), or with the
        number as observed and raised by one step; ``G_j = sum p (1-p) x_j / n``.
        """
        e = self.encoded[variable]
        term = next(t for t in self.design.terms if t.name == variable)
        cols = self.design.index(term)
        if e.kind == "factor":
            order = [e.reference] + [j for j in range(len(e.categories)) if j != e.reference]
            levels = [e.categories[j] for j in order]
            scenarios = [("set", cols, [1.0 if c == f"{variable}[{e.categories[j]}]" else 0.0
                                        for c in term.columns]) for j in order]
        else:
            levels = ["observed", "raised"]
            scenarios = [("shift", cols, 0.0), ("shift", cols, 1.0)]
        sums, n = self.rows.margins(self.columns, self.params, scenarios)
        mus, grads = [], []
        for (kind, _, value), (total, grad) in zip(scenarios, sums, strict=True):
            u = grad[0]  # the intercept column: sum of p (1 - p)
            grad = grad.copy()
            if kind == "set":
                grad[cols] = u * np.asarray(value)
            else:
                grad[cols] += value * u
            mus.append(total / n)
            grads.append(grad / n)
        return levels, np.array(mus), np.array(grads)


def fit_scans(rows, name: str, names: Sequence[str], catalogue: Mapping[str, Column],
              terms: list[Term], encoded: dict[str, Encoded],
              start: np.ndarray | None = None) -> AggregateFit:
    """Newton-Raphson of the design columns ``names`` by scans of ``rows``."""
    names = list(names)
    columns = [catalogue[c] for c in names]
    scan = rows.scan(columns)
    checked = []

    def ranked(beta):
        out = scan(beta)
        if not checked:  # the first information matrix shows dependent columns
            checked.append(True)
            rank = gram_rank(out[0]) if out[3] else len(names)
            if rank < len(names):
                raise ModelError(
                    f"Model {name!r}: the design has {len(names)} columns but rank {rank}; a "
                    "level with no respondents or variables that determine each other "
                    f"(columns: {', '.join(names)}).")
        return out

    fit = newton_scans(ranked, names, start=start)
    converged = (fit.converged and bool(np.all(np.isfinite(fit.cov)))
                 and float(np.max(np.abs(fit.params))) <= 30)
    if not converged:
        warnings.warn(f"Model {name!r} did not converge (separated data or a sparse level?): "
                      "its estimates are not reliable. See analysis.diagnostics.separation(); "
                      "firth=True gives finite estimates.", BackpainWarning, stacklevel=3)
    used = [t for t in terms if all(c in names for c in t.columns)]
    design = Design(np.empty((0, len(names))), names, used)
    return AggregateFit(name, design, fit.params, fit.cov, fit.llf, fit, "scans", False,
                        encoded, converged=converged, rows=rows, catalogue=dict(catalogue),
                        n_rows=fit.n)


def catalogue_of(terms: Sequence[Term], encoded: dict[str, Encoded]) -> dict[str, Column]:
    """Every design column of ``terms`` (and each ordinal factor's trend score) as a Column."""
    out = {"Intercept": Column("Intercept")}
    for term in terms:
        e = encoded[term.name]
        if term.kind == "factor":
            for column, level in zip(term.columns, term.levels, strict=True):
                out[column] = Column(column, e.name, "eq", e.categories.index(level))
            if e.ordinal:
                out[f"{e.name}[trend]"] = Column(f"{e.name}[trend]", e.name, "code")
        else:
            out[term.columns[0]] = Column(term.columns[0], e.name, "div", float(e.per))
    return out


def logistic_scans(rows, survey, outcome: str, exposures: Sequence[str],
                   adjust_for: Sequence[str] = (), *, reference: Mapping[str, object] | None = None,
                   n_read: int | None = None, steps: Mapping[str, float] | None = None,
                   start: LogisticResult | None = None) -> LogisticResult:
    """Crude and adjusted odds ratios of ``outcome``, every sum from ``rows``.

    Parameters
    ----------
    rows : a :class:`~analysis.scale.rows.DuckRows` or ``DaskRows`` of the
        outcome and the model's variables.
    survey : a :class:`~analysis.survey.Survey` with the codebook (and its
        ``per`` steps); only its column types are used (the report's sample).
    steps : the reported step of numeric variables whose codebook ``per`` is
        ``sd`` or ``iqr`` (computed on every row by the caller).
    start : a result of the same model (e.g. on a sample) whose estimates
        start the iterations: fewer scans, the same maximum.

    Returns the :class:`~analysis.models.LogisticResult` of
    :func:`analysis.models.logistic` (``info["method"] == "scans"``).

    Examples
    --------
    >>> logistic_scans(DuckRows(lazy, "spasm", ["age", "sex"]), sample, "spasm",
    ...                ["age"], ["sex"])  # doctest: +SKIP
    """
    from analysis.models import lr

    exposures = list(dict.fromkeys(exposures))
    adjust_for = [v for v in dict.fromkeys(adjust_for) if v not in exposures]
    if not exposures:
        raise ModelError("No exposures: name them, or give variables role: exposure.")
    variables = [*exposures, *adjust_for]
    reference, steps = dict(reference or {}), dict(steps or {})
    empty = survey.data.iloc[:0]
    enc = {v: _encoded(empty, survey.codebook, v, reference.get(v), steps) for v in variables}
    accounts = rows.accounts()
    n, n_events = accounts["n"], accounts["events"]
    if n == 0 or n_events in (0, n):
        raise ModelError(f"Model of {outcome!r}: {n} complete rows with {int(n_events)} events; "
                         "a logistic model needs both events and non-events.")
    terms = {v: factor_term(e) if e.kind == "factor" else numeric_term(e) for v, e in enc.items()}
    catalogue = catalogue_of(list(terms.values()), enc)
    levels = {v: rows.levels(v, len(e.categories)) for v, e in enc.items() if e.kind == "factor"}

    def begin(model: str, names: list[str]):
        if start is None or model not in start.models:
            return None
        known = dict(zip(start.models[model].design.names, start.models[model].params,
                         strict=True))
        return np.array([known[c] for c in names]) if all(c in known for c in names) else None

    crude = {}
    for v in exposures:
        if enc[v].kind == "factor":  # its patterns are its levels
            crude[v] = _pattern_fit(f"crude: {v}", terms[v], enc[v], *levels[v])
        else:
            names = ["Intercept", *terms[v].columns]
            crude[v] = fit_scans(rows, f"crude: {v}", names, catalogue, [terms[v]], enc,
                                 begin(f"crude: {v}", names))
    names = ["Intercept", *(c for t in terms.values() for c in t.columns)]
    adjusted = fit_scans(rows, "adjusted", names, catalogue, list(terms.values()), enc,
                         begin("adjusted", names))
    tidy_adj = _tidy(adjusted, list(terms.values()), enc, levels, n, n_events)
    tidy_crude = pd.concat([_tidy(crude[v], [terms[v]], enc, levels, n, n_events)
                            for v in exposures], ignore_index=True)
    table = side_by_side(tidy_crude, tidy_adj, exposures, [])
    info = {
        "outcome": outcome,
        "event": str(survey.codebook[outcome].level_labels[
            list(survey.codebook[outcome].level_labels)[1]]),
        "n": n, "events": int(n_events),
        "n_read": accounts["n_all"] if n_read is None else n_read,
        "n_dropped": accounts["n_all"] - n,
        "dropped_by_column": accounts["dropped"],
        "exposures": exposures, "adjust_for": adjust_for,
        "formula": f"{outcome} ~ " + " + ".join(t.formula for t in terms.values()),
        "formulas_crude": {v: f"{outcome} ~ {terms[v].formula}" for v in exposures},
        "method": "scans",
        "methods": {"adjusted": "scans", **{f"crude: {v}": f.method for v, f in crude.items()}},
        "n_patterns": None, "firth": False,
        "reference": {v: e.categories[e.reference] for v, e in enc.items() if e.kind == "factor"},
        "ci": "Wald 95%",
    }
    fits = {"adjusted": adjusted.raw, **{f"crude: {v}": f.raw for v, f in crude.items()}}
    result = LogisticResult(table, fits, info, "or", {"crude": tidy_crude, "adjusted": tidy_adj})
    result._fits = {"adjusted": adjusted, **{f"crude: {v}": f for v, f in crude.items()}}
    result._tests = lambda: lr.model_tests(crude, adjusted, terms, [], enc)
    notify_complete_cases(result, accounts["dropped"], survey.codebook.label)
    for model_name, fit in result._fits.items():
        if not fit.converged:
            result.notify("non-convergence", "the fit did not converge: its estimates and "
                          "standard errors are not reliable (separated data or a sparse "
                          "level?). See analysis.diagnostics.separation(); firth=True gives "
                          "finite estimates.", model_name)
    return result


def _encoded(empty: pd.DataFrame, codebook, name: str, reference, steps) -> Encoded:
    """The variable's coding (levels, reference, step and words) with no rows."""
    from analysis.style import significant

    e = encode(empty, codebook, name, reference)
    if e.kind == "numeric" and name in steps:
        step, suffix = float(steps[name]), f" {e.unit}" if e.unit else ""
        what = {"sd": "standard deviation", "iqr": "interquartile range"}[codebook[name].per]
        e = replace(e, per=step, per_text=f"per {what} ({significant(step, 3)}{suffix})")
    return e


def _pattern_fit(name: str, term: Term, e: Encoded, n: np.ndarray, events: np.ndarray) -> Fit:
    """The crude model of a coded exposure on its levels (the patterns of its one variable)."""
    present = np.flatnonzero(n > 0)
    reps = {e.name: replace(e, codes=present.astype(e.codes.dtype if e.codes is not None
                                                     else np.int16))}
    from analysis.models.design import build_design

    design = build_design([term], reps)
    return fit_arrays(name, design, reps, "patterns", False, None, events[present], n[present])


def _tidy(fit: Fit, terms: list[Term], enc: dict[str, Encoded], levels: dict, n: int,
          n_events: float) -> pd.DataFrame:
    rows = []
    for term in terms:
        e = enc[term.name]
        if term.kind == "numeric":
            b, se = fit.coef(e.name)
            rows.append(estimate_row(e.name, e.name, term.levels[0],
                                     f"{e.label} ({term.levels[0]})", b, se, n, n_events))
            continue
        counts, events = levels[e.name]
        ref = e.categories[e.reference]
        for i, level in enumerate(e.categories):
            if i == e.reference:
                rows.append(estimate_row(f"{e.name}[{level}]", e.name, level,
                                         f"{e.label}: {level} (reference)", 0, None,
                                         int(counts[i]), events[i]))
            else:
                b, se = fit.coef(f"{e.name}[{level}]")
                rows.append(estimate_row(f"{e.name}[{level}]", e.name, level,
                                         f"{e.label}: {level} vs {ref}", b, se,
                                         int(counts[i]), events[i]))
    return pd.DataFrame(rows, columns=["term", "variable", "level", "label", "estimate",
                                       "ci_low", "ci_high", "p_value", "n", "events"])

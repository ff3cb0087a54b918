"""Tidy rows of a fitted binary-outcome model: one row per level, ratio scale.

Each coefficient ``b`` with standard error ``se`` becomes ``exp(b)`` with the
Wald interval ``exp(b ± 1.96 se)`` and its two-sided p-value; factors give one
row per level (the reference level with estimate 1 and no interval), numeric
variables one row per unit, splines one row per knot against the median, and
interactions one ratio of odds ratios per cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.models.design import Encoded, Term, rcs_basis
from analysis.models.fitting import Fit, wald

TABLE_COLUMNS = ["variable", "level", "label", "or_crude", "ci_low_crude", "ci_high_crude",
                 "p_crude", "or_adjusted", "ci_low_adjusted", "ci_high_adjusted", "p_adjusted",
                 "n", "events"]


def tidy_rows(fit: Fit, terms: list[Term], enc: dict[str, Encoded], y: np.ndarray,
              counts: dict | None = None) -> pd.DataFrame:
    """Tidy rows of ``terms``; ``counts`` (a dict) keeps each factor's n and events per
    level for the next call on the same rows (the crude and adjusted models share them)."""
    rows = []
    for term in terms:
        rows += term_rows(fit, term, enc, y, counts)
    return pd.DataFrame(rows, columns=["term", "variable", "level", "label", "estimate", "ci_low",
                                       "ci_high", "p_value", "n", "events"])


def estimate_row(term, variable, level, label, b, se, n, events) -> dict:
    if se is None:
        return dict(term=term, variable=variable, level=level, label=label, estimate=1.0,
                    ci_low=np.nan, ci_high=np.nan, p_value=np.nan, n=n, events=events)
    low, high, p = wald(b, se)
    with np.errstate(over="ignore"):  # a separated level's interval runs to infinity
        return dict(term=term, variable=variable, level=level, label=label, estimate=np.exp(b),
                    ci_low=np.exp(low), ci_high=np.exp(high), p_value=p, n=n, events=events)


def factor_rows(fit: Fit, e: Encoded, y: np.ndarray, weights: np.ndarray | None = None,
                counts: dict | None = None) -> list[dict]:
    """One row per level of a factor: its odds ratio against the reference, n and events.

    ``weights`` count each row that many times (covariate patterns with their sizes);
    ``counts`` caches n and events by factor name for rows without weights.
    """
    k = len(e.categories)
    if counts is not None and weights is None and e.name in counts:
        n, ev = counts[e.name]
    else:
        n = np.bincount(e.codes, weights=weights, minlength=k)
        n = n.round().astype(np.int64) if weights is not None else n
        ev = np.bincount(e.codes, weights=y if weights is None else weights * y, minlength=k)
        if counts is not None and weights is None:
            counts[e.name] = (n, ev)
    ref = e.categories[e.reference]
    out = []
    for i, level in enumerate(e.categories):
        if i == e.reference:
            out.append(estimate_row(f"{e.name}[{level}]", e.name, level,
                            f"{e.label}: {level} (reference)", 0, None, n[i], ev[i]))
        else:
            b, se = fit.coef(f"{e.name}[{level}]")
            out.append(estimate_row(f"{e.name}[{level}]", e.name, level,
                            f"{e.label}: {level} vs {ref}", b, se, n[i], ev[i]))
    return out


def term_rows(fit: Fit, term: Term, enc: dict[str, Encoded], y: np.ndarray,
              counts: dict | None = None) -> list[dict]:
    if term.kind == "factor":
        return factor_rows(fit, enc[term.name], y, counts=counts)
    if term.kind == "numeric":
        e = enc[term.name]
        b, se = fit.coef(e.name)
        return [estimate_row(e.name, e.name, term.levels[0], f"{e.label} ({term.levels[0]})",
                             b, se, y.size, y.sum())]
    if term.kind == "spline":
        return _spline_rows(fit, term, enc[term.name], y)
    return _interaction_rows(fit, term, enc, y)


def _spline_rows(fit: Fit, term: Term, e: Encoded, y: np.ndarray) -> list[dict]:
    ref = float(np.median(e.values))
    idx = fit.design.index(term)
    beta, cov = fit.params[idx], fit.cov[np.ix_(idx, idx)]
    base = rcs_basis(np.array([ref]), term.knots)[0]
    unit = f" {e.unit}" if e.unit else ""
    out = [estimate_row(f"{e.name}[{ref:g}]", e.name, f"{ref:g}",
                        f"{e.label}: {ref:g}{unit} (reference)", 0, None, y.size, y.sum())]
    for k in term.knots:
        c = rcs_basis(np.array([k]), term.knots)[0] - base
        out.append(estimate_row(f"{e.name}[{k:g}]", e.name, f"{k:g}",
                        f"{e.label}: {k:g} vs {ref:g}{unit}", float(c @ beta),
                        float(np.sqrt(c @ cov @ c)), np.nan, np.nan))
    return out


def _interaction_rows(fit: Fit, term: Term, enc: dict[str, Encoded], y: np.ndarray
                      ) -> list[dict]:
    a, b = (enc[v] for v in term.variables)
    out = []
    for column, level in zip(term.columns, term.levels, strict=True):
        n = events = np.nan
        if a.kind == "factor" and b.kind == "factor":
            la, lb = level.split(" × ")
            cell = (a.codes == a.categories.index(la)) & (b.codes == b.categories.index(lb))
            n, events = int(cell.sum()), float(y[cell].sum())
        coef, se = fit.coef(column)
        out.append(estimate_row(column, term.name, level,
                        f"{a.label} × {b.label}: {level} (ratio of odds ratios)", coef, se, n,
                        events))
    return out


def side_by_side(crude: pd.DataFrame, adjusted: pd.DataFrame, exposures: list[str],
                  inter_terms: list[Term]) -> pd.DataFrame:
    keys = ["term", "variable", "level", "label"]
    wanted = set(exposures) | {t.name for t in inter_terms}
    adj = adjusted[adjusted["variable"].isin(wanted)]
    merged = adj.merge(crude.drop(columns=["n", "events", "label"]), on=["term", "variable",
                                                                         "level"],
                       how="left", suffixes=("_adjusted", "_crude"))
    merged = merged.rename(columns={
        "estimate_crude": "or_crude", "ci_low_crude": "ci_low_crude",
        "ci_high_crude": "ci_high_crude", "p_value_crude": "p_crude",
        "estimate_adjusted": "or_adjusted", "p_value_adjusted": "p_adjusted"})
    merged["n"] = merged["n"].astype(float)
    merged["events"] = merged["events"].astype(float)
    order = {v: i for i, v in enumerate([*exposures, *(t.name for t in inter_terms)])}
    merged = merged.sort_values("variable", key=lambda s: s.map(order), kind="stable")
    return merged.drop(columns=[k for k in keys if k not in TABLE_COLUMNS]).loc[
        :, TABLE_COLUMNS].reset_index(drop=True)


def per_increment(table: pd.DataFrame, variable: str, increment: float) -> pd.DataFrame:
    """The ratio of a numeric variable per ``increment`` units instead of per 1 unit.

    Method: from a tidy row (``estimate, ci_low, ci_high``: the ratio per
    unit with a Wald interval) the ratio per ``k`` units is ``estimate^k``
    with the interval ``(ci_low^k, ci_high^k)``, since the Wald interval of
    ``k b`` is ``k`` times that of ``b``; the p-value is unchanged. Tested
    against ``statsmodels.formula.api.logit`` fitted on the variable divided
    by ``k`` (estimate, interval and p-value to 1e-6; the backpack data,
    tests/test_models_compare.py).

    Returns
    -------
    DataFrame
        One row: ``term, label, estimate, ci_low, ci_high, p_value, n,
        events, increment``.

    Examples
    --------
    >>> per_increment(result.tidy("crude"), "ratio", 0.05)["estimate"]  # doctest: +SKIP
    0    1.705
    """
    rows = table[table["term"] == variable]
    if len(rows) != 1:
        raise ModelError(f"per_increment: the table has no single row for {variable!r} "
                         f"(terms: {', '.join(map(str, table['term']))}).")
    out = rows[["term", "label", "estimate", "ci_low", "ci_high", "p_value", "n",
                "events"]].copy()
    out[["estimate", "ci_low", "ci_high"]] = out[["estimate", "ci_low", "ci_high"]] ** increment
    out["increment"] = increment
    return out.reset_index(drop=True)


def headline(result, term: str, which: str = "adjusted") -> dict:
    """One row of a model's tidy table as a dict (``estimate, ci_low, ci_high, p_value, ...``).

    No computation: the row of ``result.tidy(which)`` whose ``term`` is
    ``term`` (a factor level is ``"name[level]"``); anything but one such row
    is a :class:`~analysis.errors.ModelError` naming the terms there are.
    Tested against ``ConditionalLogit`` and ``smf.logit`` on the public data
    (tests/test_models_conditional.py, tests/test_models_compare.py).

    Examples
    --------
    >>> headline(result, "driver[Yes]")["estimate"]  # doctest: +SKIP
    1.931
    """
    tidy = result.tidy(which)
    rows = tidy[tidy["term"] == term]
    if len(rows) != 1:
        raise ModelError(f"No term {term!r} in the {which} model; terms: "
                         f"{', '.join(map(str, tidy['term']))}.")
    return rows.iloc[0].to_dict()


__all__ = ["TABLE_COLUMNS", "estimate_row", "factor_rows", "headline", "per_increment",
           "side_by_side", "term_rows", "tidy_rows"]

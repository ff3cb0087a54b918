"""What every model shares: choosing variables, complete cases, the ledger, tidy tables.

The models beyond binary logistic (counts, ordinal, multinomial, conditional)
take the same arguments as :func:`analysis.models.logistic`, leave out the
same rows (recorded in the survey ledger with rule ``"missing value in model
variable"``), code factors the same way (:mod:`analysis.models.design`) and
return the same tidy rows, so the code lives here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import ModelError
from analysis.models.design import (
    Design,
    Encoded,
    Term,
    build_design,
    encode,
    factor_term,
    numeric_term,
)
from analysis.models.fitting import Fit
from analysis.models.rows import tidy_rows
from analysis.models.variables import RULE_MISSING, model_variables


@dataclass
class Prepared:
    """Complete-case rows of one model, encoded, with the accounting of what was left out."""

    outcome: str
    exposures: list[str]
    adjust_for: list[str]
    enc: dict[str, Encoded]  # model variables, complete rows only
    rows: np.ndarray  # positions of the complete rows in survey.data
    terms: dict[str, Term]
    dropped: dict[str, int] = field(default_factory=dict)
    n_read: int = 0

    @property
    def variables(self) -> list[str]:
        return [*self.exposures, *self.adjust_for]

    def design(self, names: Sequence[str], intercept: bool = True) -> Design:
        """Treatment-coded design of the terms of ``names`` (with or without intercept)."""
        terms = [self.terms[v] for v in names]
        if not terms:
            return Design(np.ones((self.rows.size, 1)), ["Intercept"], [])
        design = build_design(terms, {v: self.enc[v] for v in names})
        if intercept:
            return design
        return Design(design.X[:, 1:], design.names[1:], design.terms)


def prepare(survey, outcome: str | None, exposures, adjust_for, *,
            reference: Mapping[str, object] | None = None,
            extra: Mapping[str, np.ndarray] | None = None) -> Prepared:
    """Pick the model variables, record rows with a missing value, keep complete cases.

    ``extra`` maps further column names (exposure time, strata, clusters) to
    per-row arrays whose missing values (NaN or None) also leave a row out.
    """
    data, codebook = survey.data, survey.codebook
    outcome, exposures, adjust_for = model_variables(survey, outcome, exposures, adjust_for)
    if outcome not in data.columns:
        raise ModelError(f"The survey has no outcome column {outcome!r}.")
    exposures = [e for e in exposures if e != outcome]
    if not exposures:
        raise ModelError(
            "No exposures: name them, or give variables role: exposure in the codebook.")
    reference = dict(reference or {})
    enc_all = {v: encode(data, codebook, v, reference.get(v)) for v in [*exposures, *adjust_for]}
    missing = {outcome: data[outcome].isna().to_numpy()}
    missing |= {v: e.missing for v, e in enc_all.items()}
    for name, values in (extra or {}).items():
        missing[name] = pd.isna(pd.Series(values)).to_numpy()
    keep = ~np.logical_or.reduce(list(missing.values()))
    dropped = {}
    for column, miss in missing.items():
        if miss.any():
            dropped[column] = int(miss.sum())
            survey.record(step=f"model {outcome}", rule=RULE_MISSING, action="not in model",
                          lines=data.index[miss].to_numpy(), column=column)
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise ModelError(f"Model of {outcome!r}: no row has every model variable "
                         f"({', '.join([outcome, *enc_all])}); see survey.ledger.")
    enc = {v: e.take(rows) for v, e in enc_all.items()}
    terms = {v: factor_term(e) if e.kind == "factor" else numeric_term(e) for v, e in enc.items()}
    return Prepared(outcome, exposures, adjust_for, enc, rows, terms, dropped, len(data))


def make_fit(name: str, design: Design, params, cov, llf: float, raw, enc, y,
             converged: bool = True) -> Fit:
    """A :class:`~analysis.models.fitting.Fit` around a statsmodels result."""
    return Fit(name, design, np.asarray(params, float), np.asarray(cov, float), float(llf), raw,
               "rows", False, enc, y, None, None, converged)


def tidy_fit(fit: Fit, prep: Prepared, names: Sequence[str], y: np.ndarray) -> pd.DataFrame:
    """Tidy rows (exponentiated estimates, reference rows included) of the terms of ``names``."""
    return tidy_rows(fit, [prep.terms[v] for v in names], prep.enc, y)


def side_by_side(crude: pd.DataFrame, adjusted: pd.DataFrame, exposures: list[str],
                 estimate: str) -> pd.DataFrame:
    """Crude and adjusted estimates of the exposures in one table, one row per level."""
    adj = adjusted[adjusted["variable"].isin(exposures)]
    merged = adj.merge(crude.drop(columns=["n", "events", "label", "term"]),
                       on=["variable", "level"], how="left", suffixes=("_adjusted", "_crude"))
    merged = merged.rename(columns={"estimate_crude": f"{estimate}_crude",
                                    "estimate_adjusted": f"{estimate}_adjusted",
                                    "p_value_crude": "p_crude", "p_value_adjusted": "p_adjusted"})
    order = {v: i for i, v in enumerate(exposures)}
    merged = merged.sort_values("variable", key=lambda s: s.map(order), kind="stable")
    columns = ["variable", "level", "label", f"{estimate}_crude", "ci_low_crude",
               "ci_high_crude", "p_crude", f"{estimate}_adjusted", "ci_low_adjusted",
               "ci_high_adjusted", "p_adjusted", "n", "events"]
    out = merged.loc[:, columns].reset_index(drop=True)
    out[["n", "events"]] = out[["n", "events"]].astype(float)
    return out


def base_info(prep: Prepared, method: str, **more) -> dict:
    """The ``info`` entries every model reports."""
    return {"outcome": prep.outcome, "n": int(prep.rows.size), "n_read": prep.n_read,
            "n_dropped": prep.n_read - int(prep.rows.size), "dropped_by_column": prep.dropped,
            "exposures": prep.exposures, "adjust_for": prep.adjust_for, "method": method,
            "reference": {v: e.categories[e.reference] for v, e in prep.enc.items()
                          if e.kind == "factor"}, **more}

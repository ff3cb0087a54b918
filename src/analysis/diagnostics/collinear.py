"""Collinearity of a design: variance inflation factors, and exact linear identities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# A largest |total - sum(parts)| below this share of the largest |total| is rounding: the
# identity holds to the precision of the file.
ROUNDING = 1e-6


def vif(result_or_design, weights=None) -> pd.DataFrame:
    """Variance inflation factors per column and generalised VIF per term.

    VIF_j = 1 / (1 - R_j^2), the diagonal of the inverse correlation matrix
    of the design columns (intercept excluded); a term with several columns
    (a factor) gets Fox & Monette's (1992, *JASA* 87:178) generalised VIF
    ``det(R_11) det(R_22) / det(R)`` and ``GVIF^(1/(2 df))``. A result's
    adjusted design is used (weighted by trials when fitted on patterns).
    Tested against ``statsmodels.stats.outliers_influence.variance_inflation_factor``.
    """
    if isinstance(result_or_design, pd.DataFrame):
        X = result_or_design.drop(columns=["Intercept", "const"], errors="ignore")
        names, terms = list(X.columns), {c: [c] for c in X.columns}
        X, w = X.to_numpy(float), (np.ones(len(X)) if weights is None else np.asarray(weights))
    else:
        fit = result_or_design.models["adjusted"]
        names = fit.design.names[1:]
        X = fit.design.X[:, 1:]
        w = fit.trials if fit.method == "patterns" else np.ones(X.shape[0])
        terms = {t.name: t.columns for t in fit.design.terms}
    mean = (w[:, None] * X).sum(0) / w.sum()
    centred = X - mean
    cov = centred.T @ (centred * w[:, None])
    sd = np.sqrt(np.diag(cov))
    R = cov / np.outer(sd, sd)
    # Columns that determine each other exactly (pelvic incidence = pelvic tilt +
    # sacral slope) have R_j^2 = 1 and an infinite VIF, not an inversion error.
    col_vif = np.array([_column_vif(R, j) for j in range(len(names))])
    rows = []
    for term, cols in terms.items():
        idx = [names.index(c) for c in cols]
        rest = [j for j in range(len(names)) if j not in idx]
        gvif = _gvif(R, idx, rest)
        for c, j in zip(cols, idx, strict=True):
            rows.append({"term": term, "column": c, "vif": float(col_vif[j]), "gvif": float(gvif),
                         "df": len(idx), "gvif_adjusted": float(gvif ** (1 / (2 * len(idx))))})
    return pd.DataFrame(rows)


def _column_vif(R: np.ndarray, j: int) -> float:
    """1 / (1 - R_j^2), with R_j^2 from the correlations of column j with the others."""
    others = [i for i in range(len(R)) if i != j]
    if not others:
        return 1.0
    r = R[others, j]
    r2 = float(r @ np.linalg.pinv(R[np.ix_(others, others)], hermitian=True) @ r)
    return float("inf") if r2 >= 1 - 1e-10 else 1.0 / (1.0 - r2)


def _gvif(R: np.ndarray, idx: list[int], rest: list[int]) -> float:
    """Fox & Monette's GVIF against a basis of the other columns (they may be dependent)."""
    rest = _independent(R, rest)
    if not rest:
        return 1.0
    whole = np.linalg.det(R[np.ix_(idx + rest, idx + rest)])
    parts = np.linalg.det(R[np.ix_(idx, idx)]) * np.linalg.det(R[np.ix_(rest, rest)])
    return float("inf") if whole <= 1e-12 * parts else float(parts / whole)


def _independent(R: np.ndarray, columns: list[int]) -> list[int]:
    """A largest subset of ``columns`` whose correlation matrix is non-singular."""
    kept: list[int] = []
    for c in columns:
        trial = [*kept, c]
        if np.linalg.eigvalsh(R[np.ix_(trial, trial)]).min() > 1e-10:
            kept = trial
    return kept


def collinearity(survey, total: str, parts: Sequence[str]) -> pd.DataFrame:
    """How exactly ``total`` = sum of ``parts`` holds, and what it does to a design.

    Method: the largest ``|total - sum(parts)|`` over the complete rows (the
    identity holds to the precision of the file when this is at rounding
    level); the rank of the design ``[1, total, parts]`` counted twice, at
    numpy's default tolerance (``numpy.linalg.matrix_rank``) and at the
    precision of the data (singular values above ``10 * precision *
    s_max``, with ``precision`` the largest difference relative to the
    largest ``|total|``, when that is below :data:`ROUNDING`; otherwise the
    identity does not hold and the rank is numpy's); the condition number ``s_max / s_min`` of the
    design with each column scaled to unit length (Belsley, Kuh & Welsch
    1980, *Regression Diagnostics*, ch. 3: above about 30 estimates are
    unstable; under an exact identity it is bounded only by the rounding);
    and the variance inflation factor of each column (:func:`vif`),
    infinite when the correlation matrix is singular.

    Tested against a direct pandas computation of the difference and
    ``numpy.linalg.matrix_rank`` on the vertebral-column data (pelvic
    incidence = pelvic tilt + sacral slope), on a simulated exact identity
    and on independent columns, where the VIFs equal
    ``statsmodels.stats.outliers_influence.variance_inflation_factor``
    (tests/test_diagnostics.py).

    Returns
    -------
    DataFrame
        ``quantity, value, meaning``: one row per quantity above, then one
        ``VIF of <label>`` row per column.

    Examples
    --------
    >>> collinearity(survey, "pelvic_incidence", ["pelvic_tilt", "sacral_slope"])  # doctest: +SKIP
    """
    names = [total, *parts]
    frame = survey.data[names].dropna()
    residual = float((frame[total] - frame[list(parts)].sum(axis=1)).abs().max())
    X = np.column_stack([np.ones(len(frame)), frame.to_numpy(float)])
    scaled = X / np.linalg.norm(X, axis=0)
    sv = np.linalg.svd(scaled, compute_uv=False)
    # A column that differs from a combination of the others by rounding error alone is
    # dependent; when the identity does not hold (a relative difference above ROUNDING) the
    # precision of the data says nothing more than numpy's tolerance.
    precision = max(residual, np.finfo(float).eps) / float(frame[total].abs().max())
    if precision < ROUNDING:
        rank_data = int((sv > 10 * precision * sv[0]).sum())
    else:
        rank_data = int(np.linalg.matrix_rank(scaled))
    try:
        vifs = [(r.column, r.vif) for r in vif(frame).itertuples()]
    except np.linalg.LinAlgError:  # a singular correlation matrix: every R² is 1
        vifs = [(c, np.inf) for c in names]
    label = " + ".join(survey.label(p).lower() for p in parts)
    rank_numpy = int(np.linalg.matrix_rank(X))
    rows = [
        ("largest |difference|", residual,
         f"{survey.label(total)} minus ({label}), over {len(frame)} rows"),
        ("columns of the design", X.shape[1],
         f"intercept, {survey.label(total).lower()} and {label}"),
        ("rank (numpy default tolerance)", rank_numpy,
         "full rank only because the identity is broken by rounding"
         if rank_numpy > rank_data else "as at the precision of the data"),
        ("rank (at the precision of the data)", rank_data,
         "one column is a linear combination of the others" if rank_data < X.shape[1]
         else "no column is a combination of the others"),
        ("condition number (unit-length columns)", float(sv[0] / sv[-1]),
         "above about 30 estimates are unstable (Belsley, Kuh & Welsch)"),
    ]
    rows += [(f"VIF of {survey.label(c).lower()}", v,
              f"1 / (1 - R²) against the other {len(names) - 1}") for c, v in vifs]
    return pd.DataFrame(rows, columns=["quantity", "value", "meaning"])


__all__ = ["ROUNDING", "collinearity", "vif"]

"""Exact logistic regression with continuous covariates by one aggregate scan per iteration.

Covariate patterns make a logistic fit exact and cheap when the covariates
are coded, but a continuous covariate makes nearly every row its own
pattern. Newton-Raphson (IRLS for the canonical logit link) needs the rows
only through three sums at the current estimate ``b``:

    X'WX = sum_i p_i (1 - p_i) x_i x_i',   X'(y - p) = sum_i (y_i - p_i) x_i,
    l(b) = sum_i y_i eta_i - log(1 + exp(eta_i)),   eta_i = x_i'b,

so each iteration is one scan that returns a k x k matrix, a k-vector and a
number: in SQL on DuckDB (:func:`duckdb_scan`, memory bounded by
``memory_limit``, the design columns computed in the query) or on a Dask
cluster (:func:`dask_scan`, each partition summed on its worker). The
iterations are those of :func:`analysis.models.fitting.newton_logit` (start
at the intercept-only estimate, step-halving, stop when the largest step is
below ``tol``, covariance the inverse information of the last iteration), so
the estimates are the in-memory row fit's.

Reference: McCullagh & Nelder (1989), *Generalized Linear Models*, 2nd ed.,
sec. 2.5 and 4.4. Tested against :func:`analysis.models.logistic` on the same
rows (estimates to 1e-10, standard errors to 1e-8 relative).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import ModelError
from analysis.models.design import numeric_step
from analysis.scale.sql import CODED, quote

Scan = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, float, float, float]]


@dataclass
class ScanFit:
    """The result of :func:`newton_scans`: estimates, covariance, log-likelihood, scans made."""

    names: list[str]
    params: np.ndarray
    cov: np.ndarray
    llf: float
    n: int
    events: int
    converged: bool
    scans: int

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def table(self) -> pd.DataFrame:
        """``term, coef, se, estimate (OR), ci_low, ci_high, p_value`` (Wald, 95%)."""
        z = stats.norm.ppf(0.975)
        se = self.bse
        return pd.DataFrame({
            "term": self.names, "coef": self.params, "se": se,
            "estimate": np.exp(self.params), "ci_low": np.exp(self.params - z * se),
            "ci_high": np.exp(self.params + z * se),
            "p_value": 2 * stats.norm.sf(np.abs(self.params / se))})


def newton_scans(scan: Scan, names: list[str], *, tol: float = 1e-8,
                 maxiter: int = 100, start: np.ndarray | None = None) -> ScanFit:
    """Maximum-likelihood logistic regression where ``scan(b)`` is one pass over the rows.

    ``scan(b)`` returns ``(X'WX, X'(y - p), loglik, n, events)`` at ``b``.
    The first column must be the intercept. One scan per Newton iteration
    (plus one per step-halving, rare); see the module for the method.
    ``start`` (e.g. the estimate on a sample, or a nested model's) replaces
    the intercept-only start: the maximum is unique, so only the number of
    scans changes.
    """
    k = len(names)
    beta = np.zeros(k) if start is None else np.asarray(start, dtype=float).copy()
    gram, score, llf, n, events = scan(beta)
    scans = 1
    if n == 0 or events in (0, n):
        raise ModelError(f"{int(n)} complete rows with {int(events)} events: a logistic model "
                         "needs both events and non-events.")
    if start is None:
        beta[0] = np.log(events / (n - events))
        gram, score, llf, _, _ = scan(beta)
        scans += 1
    converged = False
    information = gram
    for _ in range(maxiter):
        information = gram
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(information, score, rcond=None)[0]
        for _ in range(30):  # step-halving keeps the likelihood rising
            candidate = beta + step
            new_gram, new_score, new_llf, _, _ = scan(candidate)
            scans += 1
            if new_llf >= llf - 1e-12 * abs(llf):
                break
            step = step / 2
        beta, llf, gram, score = candidate, new_llf, new_gram, new_score
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    if not converged:
        information = gram
    try:
        cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        cov = np.full((k, k), np.nan)
    return ScanFit(names, beta, cov, float(llf), int(n), int(events), converged, scans)


def duckdb_scan(con, source: str, columns: Sequence[str], outcome: str, where: str = "TRUE"
                ) -> Scan:
    """A :data:`Scan` over ``source`` (a table, view or subquery) in DuckDB.

    ``columns`` are SQL expressions of the design columns after the
    intercept; ``outcome`` the 0/1 outcome's. One query per call: the k(k+1)/2
    sums of the information matrix, k of the score, and the log-likelihood.
    """
    xs = ["1.0", *columns]
    k = len(xs)
    inner = ", ".join([f"({x})::DOUBLE AS __x{j}" for j, x in enumerate(xs)]
                      + [f"({outcome})::DOUBLE AS __y"])
    pairs = [(i, j) for i in range(k) for j in range(i, k)]

    def scan(beta: np.ndarray):
        eta = " + ".join(f"{float(b)!r} * __x{j}" for j, b in enumerate(beta))
        sums = [f"sum(__w * __x{i} * __x{j})" for i, j in pairs]
        sums += [f"sum((__y - __p) * __x{j})" for j in range(k)]
        sums += ["sum(__y * __eta - (greatest(__eta, 0) + ln(1 + exp(-abs(__eta)))))",
                 "count(*)", "sum(__y)"]
        row = con.sql(
            f"SELECT {', '.join(sums)} FROM (SELECT *, __p * (1 - __p) AS __w FROM "
            f"(SELECT *, 1 / (1 + exp(-__eta)) AS __p FROM (SELECT *, {eta} AS __eta FROM "
            f"(SELECT {inner} FROM {source} WHERE {where}))))").fetchall()[0]
        gram = np.zeros((k, k))
        for (i, j), value in zip(pairs, row[:len(pairs)], strict=True):
            gram[i, j] = gram[j, i] = value or 0.0
        score = np.array([v or 0.0 for v in row[len(pairs):len(pairs) + k]])
        llf, n, events = row[-3:]
        return gram, score, float(llf or 0.0), float(n or 0), float(events or 0.0)

    return scan


def dask_scan(frame, design: Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]],
              client=None) -> Scan:
    """A :data:`Scan` over a ``dask.dataframe``: each partition summed on its worker.

    ``design(partition)`` returns the partition's complete rows as ``(X, y)``
    (X with the intercept first). Only k x k sums travel to the client.
    """
    import dask

    parts = frame.to_delayed()

    def one(part: pd.DataFrame, beta: np.ndarray):
        X, y = design(part)
        eta = X @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        gram = X.T @ (X * (p * (1 - p))[:, None])
        llf = float(np.sum(y * eta - (np.maximum(eta, 0) + np.log1p(np.exp(-np.abs(eta))))))
        return gram, X.T @ (y - p), llf, float(len(y)), float(y.sum())

    def scan(beta: np.ndarray):
        tasks = [dask.delayed(one)(part, beta) for part in parts]
        results = client.compute(tasks, sync=True) if client is not None else \
            dask.compute(*tasks)
        gram = sum(r[0] for r in results)
        score = sum(r[1] for r in results)
        return (gram, score, sum(r[2] for r in results), sum(r[3] for r in results),
                sum(r[4] for r in results))

    return scan


def lazy_design(lazy, variables: Sequence[str], codebook=None) -> tuple[list[str], list[str]]:
    """Design column names and SQL for ``variables`` of a LazySurvey (treatment coding).

    Coded variables: one 0/1 column per level but the reference (the
    codebook's, else the first), named ``name[level]`` as
    :mod:`analysis.models.design`; numeric ones: ``value / per`` (the
    codebook's ``per`` step; ``sd`` and ``iqr`` computed in DuckDB).
    """
    cb = codebook or lazy.codebook
    names, sqls = [], []
    for v in variables:
        var = cb[v]
        if var.type in CODED:
            labels = [str(x) for x in var.level_labels.values()]
            ref = var.reference_level if var.reference_level in labels else labels[0]
            for k, label in enumerate(labels):
                if label != ref:
                    names.append(f"{v}[{label}]")
                    sqls.append(f"({quote(v)} = {k})")
        else:
            step = reported_step(lazy, v, var)
            names.append(v)
            sqls.append(f"{quote(v)} / {step!r}" if step != 1.0 else quote(v))
    return names, sqls


def reported_step(lazy, name: str, var) -> float:
    """A numeric variable's ``per`` step (a number, or ``sd``/``iqr`` of its valid values)."""
    if var.per in ("sd", "iqr"):
        x = quote(name)
        sd, q1, q3 = lazy.con.sql(f"SELECT stddev_samp({x}), quantile_cont({x}, 0.25), "
                                  f"quantile_cont({x}, 0.75) FROM __valid").fetchall()[0]
        if var.per == "sd":
            return float(sd) if sd else 1.0
        return float(q3 - q1) if q3 is not None and q3 > q1 else 1.0
    return float(numeric_step(np.zeros(1), var.per, var.unit)[0])


def lazy_logistic_irls(lazy, outcome: str, variables: Sequence[str], *, codebook=None,
                       tol: float = 1e-8) -> ScanFit:
    """The adjusted logistic model of ``outcome`` on ``variables``, exact, in DuckDB scans.

    Complete cases over the outcome and every variable; see the module for
    the method. Returns a :class:`ScanFit` (``.table()`` for odds ratios).

    Examples
    --------
    >>> fit = lazy_logistic_irls(lazy, "spasm_12m", ["age", "sex", "bmi"])  # doctest: +SKIP
    >>> fit.table()  # doctest: +SKIP
    """
    cb = codebook or lazy.codebook
    if cb[outcome].type != "binary":
        raise ModelError(f"outcome {outcome!r} is {cb[outcome].type}; a binary outcome is needed.")
    names, sqls = lazy_design(lazy, variables, cb)
    where = " AND ".join(f"{quote(v)} IS NOT NULL" for v in [outcome, *variables])
    scan = duckdb_scan(lazy.con, "__valid", sqls, quote(outcome), where)
    return newton_scans(scan, ["Intercept", *names], tol=tol)

"""Where the rows of an out-of-core model are summed: DuckDB on one machine, or a Dask cluster.

A logistic model with continuous covariates needs its rows only through
sums (:mod:`analysis.scale.irls`). :class:`DuckRows` and :class:`DaskRows`
answer the same questions over the complete cases of one model:

* ``accounts()``: rows, complete cases, events, and rows missing each column;
* ``levels(v)``: respondents and events at each level of a coded variable;
* ``scan(columns)``: the Newton scan ``b -> (X'WX, X'(y - p), loglik, n, events)``;
* ``margins(columns, b, scenarios)``: per scenario, the sum of the predicted
  probabilities and of ``p (1 - p) x`` (marginal standardisation);
* ``predictions(columns, b, limit)``: outcome and prediction of at most
  ``limit`` rows (model performance);
* ``patterns(variables)``: the covariate-pattern table with missing values
  as their own patterns, as :meth:`LazySurvey.logistic` fits (Dask only;
  DuckDB has its own query).

A design column is a :class:`Column`, an operation on one decoded variable
(a coded variable is its level position 0..k-1, a number its value) that is
written as SQL for DuckDB and as numpy for a Dask partition, so both back-ends
build the same design as :func:`analysis.models.design.build_design`.

DuckDB reads a narrow temporary table (``__models``: the valid rows of every
model variable, coded ones as SMALLINT) made once per survey, so a scan does
not re-apply the codebook's rules; Dask validates each partition on its
worker (rules of :func:`analysis.validate.validate_survey`) and keeps the
decoded columns in the cluster's memory (``persist``) for the iterations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.scale.irls import duckdb_scan
from analysis.scale.sql import CODED, quote

NARROW = "__models"


@dataclass(frozen=True)
class Column:
    """One design column: ``one`` (intercept), ``eq`` (level ``value``), ``div`` (value /
    ``value``) or ``code`` (the level position, a trend score)."""

    name: str
    variable: str | None = None
    op: str = "one"
    value: float = 1.0

    def sql(self) -> str:
        if self.op == "one":
            return "1.0"
        q = quote(self.variable)
        if self.op == "eq":
            return f"({q} = {int(self.value)})::DOUBLE"
        if self.op == "div" and self.value != 1.0:
            return f"{q}::DOUBLE / {float(self.value)!r}"
        return f"{q}::DOUBLE"

    def array(self, data: dict[str, np.ndarray], n: int) -> np.ndarray:
        if self.op == "one":
            return np.ones(n)
        x = data[self.variable]
        if self.op == "eq":
            return (x == self.value).astype(np.float64)
        if self.op == "div" and self.value != 1.0:
            return x / self.value
        return x.astype(np.float64)


def scenario_shift(beta: np.ndarray, scenario) -> tuple[list[int], np.ndarray, float]:
    """A scenario's columns, values and the constant added to eta after removing them."""
    kind, cols, value = scenario
    cols = list(cols)
    if kind == "set":
        return cols, np.asarray(value, float), float(np.asarray(value, float) @ beta[cols])
    return cols, np.asarray([]), float(value * beta[cols].sum())


class DuckRows:
    """The complete cases of one model in a :class:`~analysis.scale.lazy.LazySurvey`."""

    def __init__(self, lazy, outcome: str, variables: Sequence[str]):
        self.con, self.outcome, self.variables = lazy.con, outcome, list(variables)
        self.table = narrow_table(lazy, [outcome, *variables])
        self.where = " AND ".join(f"{quote(v)} IS NOT NULL" for v in [outcome, *variables])

    def accounts(self) -> dict:
        y = quote(self.outcome)
        parts = [f"count(*) FILTER (WHERE {self.where})",
                 f"sum({y}) FILTER (WHERE {self.where})", "count(*)"]
        parts += [f"count(*) FILTER (WHERE {quote(v)} IS NULL)"
                  for v in [self.outcome, *self.variables]]
        row = self.con.sql(f"SELECT {', '.join(parts)} FROM {self.table}").fetchall()[0]
        names = [self.outcome, *self.variables]
        return {"n": int(row[0]), "events": float(row[1] or 0), "n_all": int(row[2]),
                "dropped": {c: int(k) for c, k in zip(names, row[3:], strict=True) if k}}

    def levels(self, variable: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = quote(variable)
        rows = self.con.sql(f"SELECT {q}, count(*), sum({quote(self.outcome)}) FROM "
                            f"{self.table} WHERE {self.where} GROUP BY 1").fetchall()
        n, events = np.zeros(k), np.zeros(k)
        for code, count, ev in rows:
            n[int(code)], events[int(code)] = count, ev
        return n, events

    def scan(self, columns: Sequence[Column]):
        return duckdb_scan(self.con, self.table, [c.sql() for c in columns[1:]],
                           quote(self.outcome), self.where)

    def _inner(self, columns: Sequence[Column], beta: np.ndarray) -> str:
        xs = ", ".join(f"{c.sql()} AS __x{j}" for j, c in enumerate(columns))
        eta = " + ".join(f"{float(b)!r} * __x{j}" for j, b in enumerate(beta))
        return (f"(SELECT *, {eta} AS __eta FROM (SELECT {xs}, "
                f"{quote(self.outcome)}::DOUBLE AS __y FROM {self.table} WHERE {self.where}))")

    def margins(self, columns: Sequence[Column], beta: np.ndarray, scenarios: list
                ) -> tuple[list[tuple[float, np.ndarray]], float]:
        k = len(columns)
        preds, sums = [], []
        for s, scenario in enumerate(scenarios):
            cols, _, constant = scenario_shift(beta, scenario)
            removed = "".join(f" - {float(beta[j])!r} * __x{j}" for j in cols)
            eta = f"(__eta{removed} + {constant!r})" if scenario[0] == "set" else \
                f"(__eta + {constant!r})"
            preds.append(f"1 / (1 + exp(-{eta})) AS __p{s}")
            sums.append(f"sum(__p{s})")
            sums += [f"sum(__p{s} * (1 - __p{s}) * __x{j})" for j in range(k)]
        row = self.con.sql(f"SELECT {', '.join(sums)}, count(*) FROM (SELECT *, "
                           f"{', '.join(preds)} FROM {self._inner(columns, beta)})"
                           ).fetchall()[0]
        out = []
        for s in range(len(scenarios)):
            block = row[s * (k + 1):(s + 1) * (k + 1)]
            out.append((float(block[0]), np.array(block[1:], dtype=float)))
        return out, float(row[-1])

    def predictions(self, columns: Sequence[Column], beta: np.ndarray, limit: int
                    ) -> tuple[np.ndarray, np.ndarray]:
        # above ``limit`` rows a fixed-seed reservoir sample of the complete cases
        sample = f" USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (20240501)"
        n = self.con.sql(f"SELECT count(*) FROM {self.table} WHERE {self.where}"
                         ).fetchall()[0][0]
        frame = self.con.sql(f"SELECT __y, 1 / (1 + exp(-__eta)) AS __p FROM "
                             f"{self._inner(columns, beta)}{sample if n > limit else ''}"
                             ).to_arrow_table().to_pandas()
        return frame["__y"].to_numpy(float), frame["__p"].to_numpy(float)


def narrow_table(lazy, columns: Sequence[str]) -> str:
    """``__models``: the valid rows of ``columns`` (and of every column asked before).

    Made once and widened only when a model asks for a column it lacks, so
    the models of one report read the Parquet files (and apply the rules) once.
    """
    held = getattr(lazy, "_model_columns", [])
    wanted = list(dict.fromkeys([*held, *columns]))
    if wanted != held:
        cb = lazy.codebook
        cols = ", ".join(f"{quote(c)}::{'SMALLINT' if cb[c].type in CODED else 'DOUBLE'} AS "
                         f"{quote(c)}" for c in wanted)
        lazy.con.execute(f"CREATE OR REPLACE TEMP TABLE {NARROW} AS SELECT {cols} FROM __valid")
        lazy._model_columns = wanted
    return NARROW


class DaskRows:
    """The complete cases of one model, summed partition by partition on a Dask cluster.

    Each Parquet file of ``lazy`` (on storage every worker reads) is one
    partition, read and validated on a worker with the in-memory rules; the
    rows DuckDB excluded (its validation of the whole dataset, which also sees
    an identifier repeated in two files) are dropped first, so the cluster
    sums exactly the rows of the rest of the report. The decoded columns stay
    in the workers' memory (one set for every model, widened when a model
    needs a column it lacks). ``client``: a ``distributed.Client``.
    Hive-partition columns (``year=2024/`` in the path) are not read.
    """

    def __init__(self, lazy, outcome: str, variables: Sequence[str], client):
        self.client, self.outcome, self.variables = client, outcome, list(variables)
        cache = lazy.__dict__.setdefault("_dask_parts", {"names": [], "parts": []})
        names = list(dict.fromkeys([*cache["names"], outcome, *self.variables]))
        if names != cache["names"]:
            excluded = excluded_lines(lazy)
            offsets = np.cumsum([0, *(_rows(f) for f in lazy.files)])
            cache["parts"] = [
                client.submit(_decode, f, names, lazy.codebook,
                              excluded[(excluded > offsets[k]) & (excluded <= offsets[k + 1])]
                              - offsets[k] - 1, pure=False)
                for k, f in enumerate(lazy.files)]
            cache["names"] = names
        self.parts = cache["parts"]

    def _run(self, fn, *args) -> list:
        return self.client.gather([self.client.submit(fn, p, self.outcome, self.variables,
                                                      *args, pure=False) for p in self.parts])

    def accounts(self) -> dict:
        results = self._run(_accounts)
        total = np.sum(results, axis=0)
        names = [self.outcome, *self.variables]
        return {"n": int(total[0]), "events": float(total[1]), "n_all": int(total[2]),
                "dropped": {c: int(k) for c, k in zip(names, total[3:], strict=True) if k}}

    def levels(self, variable: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        results = self._run(_levels, variable, k)
        return sum(r[0] for r in results), sum(r[1] for r in results)

    def scan(self, columns: Sequence[Column]):
        def scan(beta: np.ndarray):
            results = self._run(_scan, list(columns), np.asarray(beta, float))
            return (sum(r[0] for r in results), sum(r[1] for r in results),
                    float(sum(r[2] for r in results)), float(sum(r[3] for r in results)),
                    float(sum(r[4] for r in results)))
        return scan

    def margins(self, columns: Sequence[Column], beta: np.ndarray, scenarios: list):
        results = self._run(_margins, list(columns), np.asarray(beta, float), scenarios)
        out = [(float(sum(r[0][s][0] for r in results)), sum(r[0][s][1] for r in results))
               for s in range(len(scenarios))]
        return out, float(sum(r[1] for r in results))

    def predictions(self, columns: Sequence[Column], beta: np.ndarray, limit: int):
        results = self._run(_predictions, list(columns), np.asarray(beta, float))
        y = np.concatenate([r[0] for r in results])
        p = np.concatenate([r[1] for r in results])
        if y.size > limit:
            keep = np.sort(np.random.default_rng(20240501).choice(y.size, limit, replace=False))
            y, p = y[keep], p[keep]
        return y, p

    def patterns(self, codebook) -> pd.DataFrame:
        """``variables..., outcome, trials``; a missing value is a pattern (LazySurvey.logistic)."""
        results = self._run(_pattern_counts)
        keys = [*self.variables, self.outcome]
        table = (pd.concat(results, ignore_index=True).groupby(keys, dropna=False)["trials"]
                 .sum().reset_index())
        for c in keys:
            var = codebook[c]
            if var.type in CODED:
                codes = table[c].fillna(-1).to_numpy(dtype=np.int64)
                table[c] = pd.Categorical.from_codes(
                    codes, categories=pd.Index(list(var.level_labels.values()), dtype=object),
                    ordered=var.type == "ordinal")
        return table.sort_values(keys, kind="stable").reset_index(drop=True)


# ---- on a worker: one partition ------------------------------------------------
def excluded_lines(lazy) -> np.ndarray:
    """Lines (1-based, across the sorted files) that DuckDB's validation excluded."""
    frame = lazy.con.sql("SELECT __line FROM __excluded").to_arrow_table()
    return np.sort(frame.column(0).to_numpy().astype(np.int64))


def _rows(path: str) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _decode(path: str, names: list[str], codebook, drop: np.ndarray) -> pd.DataFrame:
    """One file read and validated on a worker, as float codes/values of ``names``.

    ``drop``: positions (0-based) of the rows the whole dataset's validation excluded.
    """
    import pyarrow.parquet as pq

    from analysis.validate import validate_survey

    raw = pq.read_table(path).to_pandas()
    if len(drop):
        raw = raw.drop(index=raw.index[drop])
    data = validate_survey(raw.reset_index(drop=True), codebook, on_invalid="exclude").data
    out = {}
    for c in names:
        column = data[c]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy(dtype=np.float64)
            codes[codes < 0] = np.nan
            out[c] = codes
        else:
            out[c] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(out)


def _complete(part: pd.DataFrame, outcome: str, variables: list[str]):
    frame = part[[outcome, *variables]]
    keep = frame.notna().all(axis=1).to_numpy()
    data = {c: frame[c].to_numpy()[keep] for c in frame.columns}
    return data, data[outcome], int(keep.sum())


def _design(part, outcome, variables, columns):
    data, y, n = _complete(part, outcome, variables)
    if not n:
        return np.zeros((0, len(columns))), y
    X = np.column_stack([c.array(data, n) for c in columns])
    return X, y


def _accounts(part, outcome, variables):
    _, y, n = _complete(part, outcome, variables)
    missing = [int(part[c].isna().sum()) for c in [outcome, *variables]]
    return np.array([n, float(y.sum()), len(part), *missing], dtype=float)


def _levels(part, outcome, variables, variable, k):
    data, y, _ = _complete(part, outcome, variables)
    codes = data[variable].astype(np.int64)
    return (np.bincount(codes, minlength=k).astype(float),
            np.bincount(codes, weights=y, minlength=k))


def _scan(part, outcome, variables, columns, beta):
    X, y = _design(part, outcome, variables, columns)
    eta = X @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    gram = X.T @ (X * (p * (1 - p))[:, None])
    llf = float(np.sum(y * eta - (np.maximum(eta, 0) + np.log1p(np.exp(-np.abs(eta))))))
    return gram, X.T @ (y - p), llf, float(len(y)), float(y.sum())


def _margins(part, outcome, variables, columns, beta, scenarios):
    X, _ = _design(part, outcome, variables, columns)
    eta = X @ beta
    out = []
    for scenario in scenarios:
        cols, _, constant = scenario_shift(beta, scenario)
        e = eta - X[:, cols] @ beta[cols] + constant if scenario[0] == "set" else eta + constant
        p = 1.0 / (1.0 + np.exp(-e))
        out.append((float(p.sum()), X.T @ (p * (1 - p))))
    return out, float(X.shape[0])


def _predictions(part, outcome, variables, columns, beta):
    X, y = _design(part, outcome, variables, columns)
    return y, 1.0 / (1.0 + np.exp(-(X @ beta)))


def _pattern_counts(part, outcome, variables):
    keys = [*variables, outcome]
    return part[keys].assign(trials=1.0).groupby(keys, dropna=False)["trials"].sum().reset_index()

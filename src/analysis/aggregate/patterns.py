"""Collapsing a DataFrame or a Parquet file to covariate patterns (see :mod:`.events` for why).

Back-ends: pandas/numpy (:func:`covariate_patterns`, ``backend="pandas"``),
DuckDB on a DataFrame (``backend="duckdb"``), and DuckDB straight from a
Parquet file without loading its rows into Python
(:func:`covariate_patterns_parquet`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.aggregate.events import event_indicator, events_trials, pattern_index
from analysis.errors import BackpainError, ModelError


def covariate_patterns(data: pd.DataFrame, columns: list[str], outcome: str,
                       backend: str = "pandas", weights: str | None = None,
                       client=None) -> pd.DataFrame:
    """Collapse rows to covariate patterns with their events and trials.

    Parameters
    ----------
    data : DataFrame with ``columns``, ``outcome`` (two-level categorical, event
        = second level, or 0/1) and optionally a ``weights`` column.
    columns : the covariates defining a pattern.
    backend : ``"pandas"`` (numpy codes and ``bincount``), ``"duckdb"``
        (SQL ``GROUP BY`` on the DataFrame) or ``"dask"`` (a group-by on a
        Dask cluster, see :func:`analysis.aggregate.covariate_patterns_dask`).
    client : for ``backend="dask"``: a ``distributed.Client`` or a scheduler
        address (``"tcp://scheduler:8786"``).
    weights : optional column of frequency/sampling weights; events and
        trials are then sums of weights.

    Returns
    -------
    DataFrame ``columns..., events, trials``, one row per distinct pattern,
    sorted by the pattern columns (categoricals in level order). Rows missing
    any pattern column or the outcome are left out.

    Tested against the DuckDB back-end and against ``DataFrame.groupby``.

    Examples
    --------
    >>> covariate_patterns(survey.data, ["sex", "posture"], "spasm_12m")  # doctest: +SKIP
    """
    missing = [c for c in [*columns, outcome] + ([weights] if weights else [])
               if c not in data.columns]
    if missing:
        raise ModelError(f"covariate_patterns: the data have no column(s) {missing}.")
    if backend == "dask":
        if client is None:
            raise ModelError("backend='dask' needs client= (a distributed.Client or a scheduler "
                             "address); on one machine use 'pandas' or 'duckdb'.")
        from analysis.aggregate.dask import covariate_patterns_dask

        return covariate_patterns_dask(data, columns, outcome, client=client, weights=weights)
    y = event_indicator(data[outcome], outcome)
    keep = ~np.isnan(y)
    for c in columns:
        keep &= data[c].notna().to_numpy()
    frame = data.loc[keep, list(columns)]
    y = y[keep]
    w = data.loc[keep, weights].to_numpy(dtype=float) if weights else None
    if backend == "duckdb":
        return _patterns_duckdb(frame, y, w, list(columns))
    if backend != "pandas":
        raise ModelError(f"Unknown back-end {backend!r}; use 'pandas', 'duckdb' or 'dask'.")
    codes = []
    for c in columns:
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes.append((col.cat.codes.to_numpy().astype(np.int64), len(col.cat.categories)))
        else:
            code, uniques = pd.factorize(col)
            codes.append((code.astype(np.int64), max(len(uniques), 1)))
    if len(frame) == 0:
        return pd.DataFrame({**{c: frame[c] for c in columns}, "events": [], "trials": []})
    inverse, first = pattern_index(codes)
    events, trials = events_trials(inverse, y, w, len(first))
    out = frame.iloc[first].reset_index(drop=True)
    out["events"] = events
    out["trials"] = trials
    return out.sort_values(list(columns), kind="stable").reset_index(drop=True)


def _patterns_duckdb(frame: pd.DataFrame, y: np.ndarray, w: np.ndarray | None,
                     columns: list[str]) -> pd.DataFrame:
    import duckdb

    rel = frame.reset_index(drop=True).copy()
    for c in columns:  # group on codes; labels and level order come back from pandas
        if isinstance(rel[c].dtype, pd.CategoricalDtype):
            rel[c] = rel[c].cat.codes.astype("int64")
    rel["__y"] = y
    rel["__w"] = 1.0 if w is None else w
    cols = ", ".join(f'"{c}"' for c in columns)
    con = duckdb.connect()
    con.register("rows", rel)
    # a relation's Arrow output streams; a DB-API (execute) result's copies every row first
    out = con.sql(
        f'SELECT {cols}, SUM(__w * __y) AS events, SUM(__w) AS trials FROM rows '
        f"GROUP BY {cols} ORDER BY {cols}"
    ).to_arrow_table().to_pandas()
    con.close()
    for c in columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical.from_codes(out[c].to_numpy(), dtype=frame[c].dtype)
    out["events"] = out["events"].astype(float)
    out["trials"] = out["trials"].astype(float)
    return out


def covariate_patterns_parquet(path: str | Path, columns: list[str], outcome: str,
                               codebook) -> pd.DataFrame:
    """Covariate patterns aggregated by DuckDB straight from a Parquet file.

    The rows never reach pandas: DuckDB scans the file, keeps rows whose
    outcome and pattern columns hold a valid level (a codebook code, or its
    label when the file stores labels) or a non-missing number, and returns
    one row per pattern. Coded columns come back as categoricals with the
    codebook's labels in codebook order, as in :func:`covariate_patterns`,
    with which it is tested on the same data.

    Returns DataFrame ``columns..., events, trials`` sorted by the columns.
    """
    import duckdb

    path = Path(path)
    if not path.exists():
        raise BackpainError(f"{path}: no such Parquet file.")
    con = duckdb.connect()
    try:
        schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        types = {row[0]: row[1] for row in schema}
        absent = [c for c in [*columns, outcome] if c not in types]
        if absent:
            raise ModelError(f"{path}: the Parquet file has no column(s) {absent}.")
        where, select, decode = [], [], {}
        for c in [*columns, outcome]:
            var = codebook[c]
            q = f'"{c}"'
            if var.type in ("binary", "categorical", "ordinal"):
                labels = var.level_labels
                as_text = "VARCHAR" in types[c].upper()
                valid = list(labels.values()) if as_text else list(labels.keys())
                decode[c] = (valid, list(labels.values()))
                where.append(f"{q} IN ({', '.join(_sql(v) for v in valid)})")
                if c == outcome:
                    event = valid[1]
                    select.append(f"SUM(CASE WHEN {q} = {_sql(event)} THEN 1 ELSE 0 END) AS events")
            else:
                if c == outcome:
                    raise ModelError(
                        f"The outcome {c!r} is {var.type}; a logistic model needs binary.")
                bad = [_sql(m) for m in var.missing]
                where.append(f"{q} IS NOT NULL AND NOT isnan({q}::DOUBLE)"
                             + (f" AND {q} NOT IN ({', '.join(bad)})" if bad else ""))
        cols = ", ".join(f'"{c}"' for c in columns)
        sql = (f"SELECT {cols}, {select[0]}, COUNT(*) AS trials FROM read_parquet(?) "
               f"WHERE {' AND '.join(where)} GROUP BY {cols} ORDER BY {cols}")
        out = con.sql(sql, params=[str(path)]).to_arrow_table().to_pandas()
    finally:
        con.close()
    for c in columns:
        if c in decode:
            valid, labels = decode[c]
            codes = pd.Series(out[c]).map({v: i for i, v in enumerate(valid)}).to_numpy()
            ordered = codebook[c].type == "ordinal"
            out[c] = pd.Categorical.from_codes(codes, categories=labels, ordered=ordered)
        else:
            out[c] = out[c].astype(float)
    out = out.sort_values(columns, kind="stable").reset_index(drop=True)
    out["events"] = out["events"].astype(float)
    out["trials"] = out["trials"].astype(float)
    return out


def _sql(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)

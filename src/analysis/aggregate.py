"""Collapsing rows to covariate patterns: events and trials per distinct combination.

The binomial likelihood of a logistic model depends on the data only through
the number of events and trials at each distinct row of the design matrix, so
a model fitted to the patterns (``events, trials - events``) has exactly the
estimates and standard errors of the row-level fit (McCullagh & Nelder 1989,
sec. 4.2). It pays when patterns are far fewer than rows: a handful of
factors over a million respondents gives a few thousand patterns.

Back-ends: pandas/numpy (:func:`covariate_patterns`, ``backend="pandas"``),
DuckDB on a DataFrame (``backend="duckdb"``), and DuckDB straight from a
Parquet file without loading its rows into Python
(:func:`covariate_patterns_parquet`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import BackpainError, ModelError


def pattern_index(codes: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Pattern number of each row and the first row of each pattern.

    ``codes`` holds, per column, integer codes 0..k-1 and k. The codes are
    combined into one mixed-radix integer key; when the product of the k
    would overflow 62 bits, the key so far is first renumbered by first
    appearance (at most n distinct values), which keeps it one-to-one with
    the combination of codes. The key is then numbered by first appearance,
    as ``groupby(sort=False).ngroup()`` numbers the rows, with a few n-sized
    integer arrays instead of a frame of every column (at 10^7 rows and 20
    columns that frame's grouping held several GiB). Returns
    ``(inverse, first_rows)``.
    """
    n = codes[0][0].shape[0]
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for values, k in codes:
        if size * k >= 2**62:
            key, uniques = pd.factorize(key)
            key, size = key.astype(np.int64, copy=False), max(len(uniques), 1)
        key = key * k + values if size > 1 else values.astype(np.int64, copy=True)
        size *= k
    inverse = np.asarray(pd.factorize(key)[0], dtype=np.int64)
    # Patterns are numbered by first appearance, so the first row of pattern g
    # is where the running maximum of the pattern number first reaches g.
    first = np.flatnonzero(np.r_[True, inverse[1:] > np.maximum.accumulate(inverse)[:-1]])
    return inverse, first


def events_trials(inverse: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                  n_patterns: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sum of (weighted) events and trials per pattern."""
    n_patterns = int(inverse.max()) + 1 if n_patterns is None else n_patterns
    w = np.ones_like(y, dtype=float) if weights is None else np.asarray(weights, dtype=float)
    trials = np.bincount(inverse, weights=w, minlength=n_patterns)
    events = np.bincount(inverse, weights=w * y, minlength=n_patterns)
    return events, trials


def _event_indicator(series: pd.Series, name: str) -> np.ndarray:
    """1.0 for the event, 0.0 otherwise, NaN when missing.

    The event of a binary categorical is its second level; a numeric outcome
    must be coded 0/1.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        if len(series.cat.categories) != 2:
            raise ModelError(
                f"The outcome {name!r} has {len(series.cat.categories)} levels "
                f"{list(series.cat.categories)}; a logistic model needs exactly 2."
            )
        codes = series.cat.codes.to_numpy()
        return np.where(codes < 0, np.nan, codes.astype(float))
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        raise ModelError(
            f"The outcome {name!r} must be 0/1 or a two-level categorical; "
            f"{int(bad.sum())} rows hold other values, e.g. {values[bad][:3].tolist()}."
        )
    return values


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
        Dask cluster, see :func:`analysis.scale.covariate_patterns_dask`).
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
        from analysis.scale.dask_backend import covariate_patterns_dask

        return covariate_patterns_dask(data, columns, outcome, client=client, weights=weights)
    y = _event_indicator(data[outcome], outcome)
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
    out = con.execute(
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
        out = con.execute(sql, [str(path)]).to_arrow_table().to_pandas()
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

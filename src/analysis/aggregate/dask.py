"""Covariate patterns on a Dask cluster, for data that outgrow one machine.

The aggregation is the one of :func:`analysis.aggregate.covariate_patterns`
(events and trials per distinct combination of the pattern columns), split
the way Dask splits a group-by: each partition is reduced to integer codes
and the outcome on a worker, ``groupby(...).sum()`` combines the partial sums
across workers, and only the pattern table (one row per pattern) travels back
to the client. Sums of 0/1 events and of trials are exact in float64 up to
2^53 rows, so the result is identical to the pandas back-end's.

Sources:

* a pandas DataFrame in the conventions of ``Survey.data`` (already
  validated), split into partitions and sent to the cluster;
* a Parquet dataset (folder, glob or list of files, on storage every worker
  can read: a shared file system, ``s3://...`` with ``s3fs``), read by the
  workers with ``dask.dataframe.read_parquet``. Each partition is validated on
  its worker with the rules of :func:`analysis.validate.validate_survey`
  (``on_invalid="exclude"``), so a pattern counts exactly the rows the
  in-memory survey would keep, except that ``duplicate id`` is checked within
  each partition only (a repeated identifier in two different files is not
  seen; use :func:`analysis.scale.load_parquet_survey` for that rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.aggregate.events import event_indicator
from analysis.codebook import CODED_TYPES, Codebook, load_codebook
from analysis.errors import BackpainError, ModelError

_EVENTS, _TRIALS = "__events", "__trials"


def covariate_patterns_dask(source: pd.DataFrame | str | Path | Sequence[str],
                            columns: Sequence[str], outcome: str,
                            codebook: Codebook | str | Path | None = None, *,
                            client, npartitions: int | None = None,
                            weights: str | None = None) -> pd.DataFrame:
    """Events and trials per covariate pattern, computed on a Dask cluster.

    Parameters
    ----------
    source : a DataFrame like ``Survey.data``, or Parquet file(s) of raw
        codes (then ``codebook`` is required).
    columns, outcome, weights : as :func:`analysis.aggregate.covariate_patterns`.
    client : a ``distributed.Client``, or the address of a scheduler
        (``"tcp://scheduler:8786"``; a client is then opened and closed here).
    npartitions : partitions of an in-memory DataFrame (default: 2 per worker).

    Returns
    -------
    DataFrame ``columns..., events, trials`` sorted by the columns, identical
    to the pandas back-end (tested on a 2-worker ``LocalCluster``).

    Examples
    --------
    >>> from distributed import Client  # doctest: +SKIP
    >>> covariate_patterns_dask("s3://bucket/cohort/", ["sex", "posture"], "spasm",
    ...                         "codebook.yml", client=Client("tcp://scheduler:8786"))
    """
    import dask.dataframe as dd
    from distributed import Client

    columns = list(columns)
    own = isinstance(client, str)
    if own:
        client = Client(client)
    elif client is None or not hasattr(client, "compute"):
        raise BackpainError("covariate_patterns_dask needs client= (a distributed.Client or a "
                            "scheduler address such as 'tcp://scheduler:8786').")
    try:
        if isinstance(source, pd.DataFrame):
            missing = [c for c in [*columns, outcome, *([weights] if weights else [])]
                       if c not in source.columns]
            if missing:
                raise ModelError(f"covariate_patterns: the data have no column(s) {missing}.")
            needed = [*columns, outcome, *([weights] if weights else [])]
            kept = source[list(dict.fromkeys(needed))]
            dtypes = {c: kept[c].dtype for c in columns}
            parts = npartitions or 2 * max(len(client.scheduler_info()["workers"]), 1)
            frame = dd.from_pandas(kept.reset_index(drop=True), npartitions=parts)
            codebook = None
        else:
            if codebook is None:
                raise ModelError("covariate_patterns_dask on Parquet files needs the codebook.")
            codebook = load_codebook(codebook)
            paths = [str(p) for p in source] if isinstance(source, (list, tuple)) else str(source)
            frame = dd.read_parquet(paths)
            absent = [c for c in [*columns, outcome] if c not in frame.columns]
            if absent:
                raise ModelError(f"{source}: the Parquet files have no column(s) {absent}.")
            dtypes = {c: _codebook_dtype(codebook, c) for c in columns}
        meta = pd.DataFrame({**{c: pd.Series(dtype=_code_dtype(dtypes[c])) for c in columns},
                             _EVENTS: pd.Series(dtype="float64"),
                             _TRIALS: pd.Series(dtype="float64")})
        codes = frame.map_partitions(_partition_codes, columns, outcome, codebook, weights,
                                     meta=meta)
        summed = codes.groupby(columns, sort=False).sum(split_out=1)
        out = client.compute(summed).result().reset_index()
    finally:
        if own:
            client.close()
    out = out.sort_values(columns, kind="stable").reset_index(drop=True)
    for c in columns:
        if isinstance(dtypes[c], pd.CategoricalDtype):
            out[c] = pd.Categorical.from_codes(out[c].to_numpy(dtype=np.int64), dtype=dtypes[c])
        else:
            out[c] = out[c].astype("float64")
    return out.rename(columns={_EVENTS: "events", _TRIALS: "trials"})[
        [*columns, "events", "trials"]]


def _codebook_dtype(codebook: Codebook, name: str):
    var = codebook[name]
    if var.type in CODED_TYPES:
        return pd.CategoricalDtype(pd.Index(list(var.level_labels.values()), dtype=object),
                                   ordered=var.type == "ordinal")
    return np.dtype("float64")


def _code_dtype(dtype) -> str:
    return "int64" if isinstance(dtype, pd.CategoricalDtype) else "float64"


def _partition_codes(part: pd.DataFrame, columns: list[str], outcome: str,
                     codebook: Codebook | None, weights: str | None) -> pd.DataFrame:
    """One partition as integer codes, events and trials (runs on a worker)."""
    if codebook is not None:  # raw Parquet: the in-memory rules, on this partition
        from analysis.validate import validate_survey

        part = validate_survey(part, codebook, on_invalid="exclude").data
    y = event_indicator(part[outcome], outcome)
    keep = ~np.isnan(y)
    for c in columns:
        keep &= part[c].notna().to_numpy()
    w = part[weights].to_numpy(dtype=float) if weights else np.ones(len(part))
    out = {}
    for c in columns:
        column = part[c][keep]
        out[c] = (column.cat.codes.to_numpy(dtype=np.int64)
                  if isinstance(column.dtype, pd.CategoricalDtype)
                  else column.to_numpy(dtype=np.float64))
    out[_EVENTS] = (w * y)[keep]
    out[_TRIALS] = w[keep]
    return pd.DataFrame(out)

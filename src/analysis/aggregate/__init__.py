"""Collapsing rows to covariate patterns: events and trials per distinct combination.

* :mod:`analysis.aggregate.events`: pattern numbers, events and trials, the
  0/1 event indicator of a binary outcome (the primitives the fits use);
* :mod:`analysis.aggregate.patterns`: :func:`covariate_patterns` on a
  DataFrame (pandas or DuckDB) and :func:`covariate_patterns_parquet`
  straight from a Parquet file;
* :mod:`analysis.aggregate.dask`: :func:`covariate_patterns_dask` on a Dask
  cluster.
"""

from analysis.aggregate.dask import covariate_patterns_dask
from analysis.aggregate.events import event_indicator, events_trials, pattern_index
from analysis.aggregate.patterns import covariate_patterns, covariate_patterns_parquet

__all__ = ["covariate_patterns", "covariate_patterns_dask", "covariate_patterns_parquet",
           "event_indicator", "events_trials", "pattern_index"]

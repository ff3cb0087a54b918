"""Beyond memory and beyond one machine.

* :func:`load_parquet_survey` -> :class:`LazySurvey`: a partitioned Parquet
  dataset validated, counted and aggregated in DuckDB without loading its
  rows into pandas; models are fitted on the covariate patterns (exact).
* :func:`covariate_patterns_dask`: the covariate-pattern aggregation on a
  Dask cluster (``distributed.Client`` or a scheduler address).
"""

from analysis.aggregate import covariate_patterns_dask
from analysis.scale.fit import logistic_from_patterns
from analysis.scale.lazy import LazySurvey, load_parquet_survey

__all__ = ["LazySurvey", "covariate_patterns_dask", "load_parquet_survey",
           "logistic_from_patterns"]

"""Diagnostics of models and designs: performance, collinearity, separation and overlap.

* :mod:`~analysis.diagnostics.performance`: discrimination (AUC), calibration,
  Hosmer-Lemeshow;
* :mod:`~analysis.diagnostics.collinear`: variance inflation factors and exact
  linear identities between columns (:func:`collinearity`);
* :mod:`~analysis.diagnostics.sparse`: sparse cells, separation (Konis's linear
  program) and how far outcome groups overlap (:func:`overlap`).

Every name is importable from ``analysis.diagnostics``.
"""

from analysis.diagnostics.collinear import collinearity, vif
from analysis.diagnostics.performance import (
    TIE,
    Z95,
    Calibration,
    calibration,
    discrimination,
    hosmer_lemeshow,
    outcome_arrays,
)
from analysis.diagnostics.sparse import (
    SPARSE,
    overlap,
    separated_columns,
    separation,
    sparse_cells,
)

__all__ = ["SPARSE", "TIE", "Z95", "Calibration", "calibration", "collinearity",
           "discrimination", "hosmer_lemeshow", "outcome_arrays", "overlap", "separated_columns",
           "separation", "sparse_cells", "vif"]

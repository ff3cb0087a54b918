"""Regression models with one tidy result shape (see :mod:`analysis.models.result`)."""

from analysis.models.logistic import TABLE_COLUMNS, logistic
from analysis.models.result import TIDY_COLUMNS, LogisticResult, ModelResult

__all__ = ["TABLE_COLUMNS", "TIDY_COLUMNS", "LogisticResult", "ModelResult", "logistic"]

"""Regression models with one tidy result shape (see :mod:`analysis.models.result`)."""

from analysis.models.conditional import ConditionalResult, conditional_logistic
from analysis.models.counts import CountResult, counts
from analysis.models.imputation import rubin_pool
from analysis.models.logistic import TABLE_COLUMNS, logistic
from analysis.models.ordinal import OrdinalResult, multinomial, ordinal
from analysis.models.result import TIDY_COLUMNS, LogisticResult, ModelResult

__all__ = ["TABLE_COLUMNS", "TIDY_COLUMNS", "ConditionalResult", "CountResult", "LogisticResult",
           "ModelResult", "OrdinalResult", "conditional_logistic", "counts", "logistic",
           "multinomial", "ordinal", "rubin_pool"]

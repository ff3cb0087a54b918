"""Regression models with one tidy result shape (see :mod:`analysis.models.result`).

Besides the model families: comparisons of models (:mod:`analysis.models.compare`:
a variable's likelihood-ratio test, ML against Firth, reparametrisations), the
hand checks of matched pairs (:mod:`analysis.models.matched`: discordant pairs,
McNemar) and rescaled rows of a tidy table (:func:`per_increment`, :func:`headline`).
"""

from analysis.models.compare import firth_comparison, lr_drop, rank_deficient_fit, two_of_three
from analysis.models.conditional import ConditionalResult, conditional_logistic
from analysis.models.counts import CountResult, counts
from analysis.models.imputation import rubin_pool
from analysis.models.logistic import TABLE_COLUMNS, logistic
from analysis.models.matched import discordant_pairs, matched_sets, mcnemar
from analysis.models.ordinal import OrdinalResult, multinomial, ordinal
from analysis.models.result import TIDY_COLUMNS, LogisticResult, ModelResult
from analysis.models.rows import headline, per_increment

__all__ = ["TABLE_COLUMNS", "TIDY_COLUMNS", "ConditionalResult", "CountResult", "LogisticResult",
           "ModelResult", "OrdinalResult", "conditional_logistic", "counts", "discordant_pairs",
           "firth_comparison", "headline", "logistic", "lr_drop", "matched_sets", "mcnemar",
           "multinomial", "ordinal", "per_increment", "rank_deficient_fit", "rubin_pool",
           "two_of_three"]

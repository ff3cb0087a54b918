"""Regression models with one tidy result shape (see :mod:`analysis.models.result`).

Prevalence ratios and differences: by marginal standardisation of the
logistic fits (:mod:`analysis.models.standardise`) or from direct models
(:mod:`analysis.models.risk`: modified Poisson, log-binomial).

Besides the model families: comparisons of models (:mod:`analysis.models.compare`:
a variable's likelihood-ratio test, ML against Firth, reparametrisations), the
hand checks of matched pairs (:mod:`analysis.models.matched`: discordant pairs,
McNemar) and rescaled rows of a tidy table (:func:`per_increment`, :func:`headline`).
"""

from analysis.models.compare import firth_comparison, lr_drop, rank_deficient_fit, two_of_three
from analysis.models.conditional import ConditionalResult, conditional_logistic
from analysis.models.counts import CountResult, counts
from analysis.models.logistic import TABLE_COLUMNS, logistic
from analysis.models.matched import discordant_pairs, matched_sets, mcnemar
from analysis.models.ordinal import OrdinalResult, multinomial, ordinal
from analysis.models.pooling import rubin_pool
from analysis.models.result import TIDY_COLUMNS, LogisticResult, ModelResult
from analysis.models.risk import RiskResult, log_binomial, modified_poisson
from analysis.models.rows import headline, per_increment
from analysis.models.standardise import StandardisedResult, prevalence_ratios, standardise

__all__ = ["TABLE_COLUMNS", "TIDY_COLUMNS", "ConditionalResult", "CountResult", "LogisticResult",
           "ModelResult", "OrdinalResult", "RiskResult", "StandardisedResult",
           "conditional_logistic", "counts", "discordant_pairs", "firth_comparison", "headline",
           "log_binomial", "logistic", "lr_drop", "matched_sets", "mcnemar", "modified_poisson",
           "multinomial", "ordinal", "per_increment", "prevalence_ratios", "rank_deficient_fit",
           "rubin_pool", "standardise", "two_of_three"]

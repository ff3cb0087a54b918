"""Case studies on public data: the statistics and sections of ``notebooks/case_studies``.

Three notebooks read the registered public datasets (:mod:`analysis.datasets`):
driving and acute herniated lumbar disc (matched case-control, conditional
logistic regression), pelvic parameters and spinal pathology (logistic
regression, separation and collinearity), and backpack load and back problems
(logistic regression with a dose-response curve). :func:`case_study_notebooks`
says which can run with the data at hand and gives a one-line skip message for
the others; :func:`open_case_study` opens a notebook's report session.
"""

from analysis.case_studies.notebooks import (
    CASE_STUDIES,
    FOLDER,
    case_study_notebooks,
    open_case_study,
    skip_message,
)
from analysis.case_studies.stats import (
    collinearity,
    discordant_pairs,
    firth_comparison,
    headline,
    lr_drop,
    matched_sets,
    mcnemar,
    overlap,
    per_increment,
    published_comparison,
    rank_deficient_fit,
    two_of_three,
)

__all__ = [
    "CASE_STUDIES",
    "FOLDER",
    "case_study_notebooks",
    "collinearity",
    "discordant_pairs",
    "firth_comparison",
    "headline",
    "lr_drop",
    "matched_sets",
    "mcnemar",
    "open_case_study",
    "overlap",
    "per_increment",
    "published_comparison",
    "rank_deficient_fit",
    "skip_message",
    "two_of_three",
]

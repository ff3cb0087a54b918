"""Case studies on public data: the configuration and sections of ``notebooks/case_studies``.

Three notebooks read the registered public datasets (:mod:`analysis.datasets`):
driving and acute herniated lumbar disc (matched case-control, conditional
logistic regression), pelvic parameters and spinal pathology (logistic
regression, separation and collinearity), and backpack load and back problems
(logistic regression with a dose-response curve). Each is a configuration of
the analysis plan (:mod:`analysis.plan`, the dataset's codebook ``analysis:``
section and the notebook's parameters) plus the sections of
:mod:`analysis.case_studies.sections`; the statistics they show live in
:mod:`analysis.models` (matched pairs, model comparisons) and
:mod:`analysis.diagnostics` (collinearity, overlap, separation).

:func:`case_study_notebooks` says which can run with the data at hand and
gives a one-line skip message for the others; :func:`open_case_study` opens a
notebook's report session.
"""

from analysis.case_studies.notebooks import (
    CASE_STUDIES,
    FOLDER,
    case_study_notebooks,
    open_case_study,
    skip_message,
)
from analysis.case_studies.sections import published_comparison

__all__ = ["CASE_STUDIES", "FOLDER", "case_study_notebooks", "open_case_study",
           "published_comparison", "skip_message"]

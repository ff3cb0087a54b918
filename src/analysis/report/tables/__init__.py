"""The report's tables as the reader sees them, from one release of every count.

Each table of the report is registered with the run's
:class:`~analysis.privacy.Release` (``register_*``: its count cells, the
relations between them and the estimates resting on them) and rendered once
*every* table of the report is registered (``released_*``): a count of 1 to
``threshold - 1`` shows as ``"<5"``, a complement as ``"suppressed"``, and an
estimate resting on a hidden or small count is withheld, with each cell
reading the same in every table, CSV and ``results.json``. Populations name
whom the counts are taken over: one population for every table of the same
respondents (Table 1 and the prevalence table of the analysed respondents),
another for each model's complete cases.

- :mod:`.table_one`: Table 1, unweighted or under a survey design;
- :mod:`.prevalence`: prevalence by factor;
- :mod:`.models`: a model's crude and adjusted estimates with n and events;
- :mod:`.counts`: one-column count tables.
"""

from analysis.report.tables.counts import register_counts, released_counts
from analysis.report.tables.models import (
    model_withheld,
    register_model_table,
    released_model_table,
)
from analysis.report.tables.prevalence import (
    outcome_keys,
    prevalence_keys,
    prevalence_withheld,
    register_prevalence,
    released_prevalence,
)
from analysis.report.tables.table_one import (
    BLANK,
    NOT_ASKED,
    blank_keys,
    level_key,
    register_table_one,
    released_design_table_one,
    released_table_one,
)

HIDDEN = "suppressed"  # a complement's label (analysis.privacy.COMPLEMENT_LABEL)

__all__ = ["BLANK", "HIDDEN", "NOT_ASKED", "blank_keys", "level_key", "model_withheld",
           "outcome_keys", "prevalence_keys", "prevalence_withheld", "register_counts",
           "register_model_table", "register_prevalence", "register_table_one",
           "released_counts", "released_design_table_one", "released_model_table",
           "released_prevalence", "released_table_one"]

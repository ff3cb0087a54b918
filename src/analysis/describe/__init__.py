"""Descriptive statistics: Table 1 and prevalence with confidence intervals.

``table_one`` and ``prevalence`` return tidy DataFrames whose labels and
level order come from the codebook; ``table_one_html``, ``prevalence_html``,
``table_one_display`` and ``table_one_note`` render them; ``table_one_numbers`` turns Table 1's
numbers into a long table for reports.
"""

from analysis.describe.comparisons import wilson_interval
from analysis.describe.prevalence import prevalence
from analysis.describe.render import (
    prevalence_display,
    prevalence_html,
    table_one_display,
    table_one_html,
    table_one_note,
)
from analysis.describe.table_one import table_one, table_one_numbers

__all__ = [
    "prevalence",
    "prevalence_display",
    "prevalence_html",
    "table_one",
    "table_one_display",
    "table_one_html",
    "table_one_note",
    "table_one_numbers",
    "wilson_interval",
]

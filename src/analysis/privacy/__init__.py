"""Disclosure control for shared reports.

- :mod:`analysis.privacy.tables`: direct identifiers, the small-cell rule and
  table-by-table complementary suppression (the original layer; its names
  stay importable from ``analysis.privacy``).
- :mod:`analysis.privacy.release`: one :class:`Release` for every count a
  report shows, suppressed consistently across tables, audited, rounded on
  request and rendered the same way everywhere, with a suppression log.
- :mod:`analysis.privacy.audit`: the reader's arithmetic (integer linear
  programming) that the release is checked against.
- :mod:`analysis.privacy.estimates`: odds ratios, rate ratios and their
  intervals withheld when they rest on small cells.
"""

from analysis.privacy.audit import feasibility_intervals
from analysis.privacy.estimates import (
    RATIO,
    estimate_cells,
    ratio_columns,
    withheld_estimates,
    withhold_estimates,
)
from analysis.privacy.release import (
    COMPLEMENT_LABEL,
    KNOWN_LEVEL,
    LOG_COLUMNS,
    MISSING_LEVEL,
    CellKey,
    Release,
    cell_key,
    round_count,
    rounding_interval,
)
from analysis.privacy.tables import (
    DEFAULT_THRESHOLD,
    Cell,
    complementary_suppression,
    drop_identifiers,
    identifier_columns,
    primary_mask,
    suppress_two_way,
    suppressed_label,
    two_way_lines,
)

__all__ = ["COMPLEMENT_LABEL", "DEFAULT_THRESHOLD", "KNOWN_LEVEL", "LOG_COLUMNS", "MISSING_LEVEL",
           "RATIO", "Cell", "CellKey", "Release", "cell_key", "complementary_suppression",
           "drop_identifiers", "estimate_cells", "feasibility_intervals", "identifier_columns",
           "primary_mask", "ratio_columns", "round_count", "rounding_interval", "suppress_two_way",
           "suppressed_label", "two_way_lines", "withheld_estimates", "withhold_estimates"]

"""A case study's own counts, decided in the report's one release.

The case-study notebooks show tables the report's plan does not: the rows
in each group, the matched sets of a matched design, the pairs by case and
control exposure and McNemar's odds ratio. Their cells are registered in the
notebook's :class:`~analysis.privacy.Release` with every other count of the
report (:func:`register_tables`, the session's ``extra_release`` hook of
:func:`analysis.report.disclosure.report_release`), before anything is
decided, and rendered from it: a cell reads the same in the HTML, the CSV and
``results.json``, and a cell hidden here is hidden wherever it appears.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.case_studies.distributions import (  # noqa: F401 - re-exported
    overlap_keys,
    register_overlap,
    released_overlap,
)
from analysis.case_studies.flow import (  # noqa: F401 - re-exported
    GROUPS,
    data_flow,
    group_counts,
    register_groups,
)
from analysis.case_studies.matched_tables import (  # noqa: F401 - re-exported
    NOT_ESTIMABLE,
    discordant_table,
    link_model_rows,
    matched_flow,
    matched_population,
    pairs_population,
    register_discordant,
    register_matched,
)
from analysis.models import discordant_pairs
from analysis.report.session import ReportSession

# ---- the case study's own counts, in the report's one release -------------------------


def withheld_rows(report: ReportSession) -> list[tuple[object, pd.DataFrame]]:
    """(planned model, its table's withheld rows) of every model the release withholds from."""
    from analysis.report.disclosure import model_where
    from analysis.report.tables import model_withheld

    out = []
    for fitted in report.fits:
        if fitted.failure is not None or fitted.result is None:
            continue
        table = fitted.result.table
        where = model_where(fitted.plan)
        if not any(e.startswith(f"{where}:") for e in report.release.estimates()):
            continue  # not registered: the report does not show this model's table
        rows = table[model_withheld(report.release, table, where=where).to_numpy()]
        if len(rows):
            out.append((fitted.plan, rows))
    return out


def withheld_variables(report: ReportSession) -> set[str]:
    """Variables with a withheld odds ratio in a planned model's table (or McNemar's)."""
    out = {str(v) for _, rows in withheld_rows(report) for v in rows["variable"]}
    pairs = report.parameters.get("pairs")
    if pairs and f"mcnemar:{pairs}" in report.release.estimates() \
            and report.release.estimate_withheld(f"mcnemar:{pairs}"):
        out.add(pairs)
    return out


def withheld_value(report: ReportSession, value: float | None) -> bool:
    """Whether ``value`` is one of the odds ratios the release withholds.

    A section that prints a model's estimate outside its table (the
    comparison with published values) asks this, so a withheld odds ratio
    does not come back there: with the group sizes it gives its cells back.
    """
    if value is None:
        return False
    for _, rows in withheld_rows(report):
        for column in rows.columns:
            if column.startswith(("or_", "irr_", "rrr_")) and np.isclose(
                    rows[column].astype(float), float(value), rtol=1e-12, atol=0).any():
                return True
    return False


def table_one_grouping(report: ReportSession) -> str | None:
    """The variable a case study's Table 1 is by: its first outcome (as the section's default)."""
    return next(iter(report.survey.variables("outcome")), None)


def register_characteristics(release, report: ReportSession, columns) -> None:
    """Table 1 with exactly the ``columns`` the notebook shows, by :func:`table_one_grouping`.

    The report's own Table 1 registers every default column; a column the
    notebook does not show must not cost the columns it shows a complement.
    """
    from analysis.report.tables import register_table_one

    by = table_one_grouping(report)
    table = report.table_one(by, list(columns))
    grouped = any(c.startswith("n:") and c != "n:Overall" for c in table.columns)
    register_table_one(release, table, by=by if grouped else None)


def register_tables(report: ReportSession):
    """The release hook of a case study (``ReportSession.extra_release``).

    Registers the tables its notebook's parameters name: ``groups`` (rows by
    a variable, :func:`data_flow`), ``pairs`` (an exposure's matched sets
    and discordant pairs, :func:`matched_flow` and :func:`discordant_table`),
    ``overlaps`` (``[variable, by]`` pairs: :func:`released_overlap`) and
    ``characteristics`` (Table 1's columns, :func:`register_characteristics`).
    """
    def extra(release) -> None:
        by, pairs = report.parameters.get("groups"), report.parameters.get("pairs")
        if report.parameters.get("characteristics"):
            register_characteristics(release, report, report.parameters["characteristics"])
        if by:
            register_groups(release, report.survey, by)
        if pairs:
            register_matched(release, report.survey, pairs)
            keys = register_discordant(release, report.survey, pairs)
            levels = [str(v) for v in discordant_pairs(report.survey, pairs).attrs["levels"]]
            link_model_rows(release, report, pairs, [keys[levels[1], levels[0]],
                                                     keys[levels[0], levels[1]]])
        for variable, group in report.parameters.get("overlaps") or ():
            register_overlap(release, report.survey, variable, group)
    return extra


def attach_release(report: ReportSession, parts: set[str] | None) -> ReportSession:
    """Give a case study's session its release: the report's ``parts`` and its own tables.

    ``parts``: the parts of :func:`analysis.report.disclosure.report_release`
    its notebook shows (None: all). With a ``characteristics`` parameter the
    report's default Table 1 is left out: :func:`register_tables` registers
    the columns shown instead.
    """
    from analysis.report.disclosure import PARTS

    if report.parameters.get("characteristics"):
        parts = (set(PARTS.values()) if parts is None else set(parts)) - {"table one"}
    report.extra_release = register_tables(report)
    report.release_parts = parts
    return report


__all__ = [
    "attach_release",
    "data_flow",
    "discordant_table",
    "group_counts",
    "matched_flow",
    "matched_population",
    "pairs_population",
    "register_characteristics",
    "register_discordant",
    "register_groups",
    "register_matched",
    "register_overlap",
    "register_tables",
    "released_overlap",
    "table_one_grouping",
    "withheld_rows",
    "withheld_value",
    "withheld_variables",
]

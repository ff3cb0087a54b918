"""A case study's rows by group and its participant-flow diagram, from the report's release.

The rows-by-group table's cells are Table 1's (population ``"analysed"``,
``by = level``) and its total the flow's rows analysed, so a level hidden in
one is hidden in all; the diagram is drawn only when none of its counts is
hidden.
"""

from __future__ import annotations

import pandas as pd

from analysis.errors import ReportError
from analysis.report.sections import join
from analysis.report.session import Html, ReportSession

GROUPS = "case study groups"  # the release's name (``where``) of the rows-by-group table


def registered(report: ReportSession, name: str, value: str | None) -> str:
    """``value`` (default: the case study's parameter ``name``), which its release registered."""
    wanted = report.parameters.get(name)
    value = wanted if value is None else value
    if not value or value != wanted:
        raise ReportError(
            f"The case study's release registers {name}={wanted!r}, not {value!r}: pass "
            f"{name}={value!r} to open_case_study so the table is decided with the others.")
    return value


def group_counts(survey, by: str) -> dict[str, float]:
    """Rows analysed in each level of ``by`` (missing as the release's missing level)."""
    from analysis.privacy import MISSING_LEVEL

    counts = survey.data[by].value_counts(sort=False, dropna=False)
    return {MISSING_LEVEL if pd.isna(level) else str(level): float(n)
            for level, n in counts.items()}


def register_groups(release, survey, by: str) -> dict:
    """The rows-by-group table: the analysed rows in each level of ``by``, and their total.

    The cells are Table 1's (population ``"analysed"``, ``by = level``) and the
    total is the flow's rows analysed, so a level hidden in one is hidden in all.
    """
    from analysis.report.disclosure import POPULATION

    return release.add_counts(POPULATION, by, group_counts(survey, by),
                              where=f"{GROUPS}: {by}")


def data_flow(report: ReportSession, by: str | None = None, *, groups: bool = True) -> Html:
    """Rows read and analysed (STROBE diagram), with the count in each group of ``by``.

    ``by`` defaults to the case study's ``groups`` parameter (the release
    registered that table); ``groups=False`` draws only the diagram. Every
    count is the report's release's: the group counts are Table 1's cells and
    the diagram draws the flow only when none of its counts is hidden.
    """
    from analysis import figures
    from analysis.privacy import cell_key
    from analysis.report.disclosure import POPULATION, diagram_flow, undrawn_flow

    survey, release = report.survey, report.release
    parts = []
    if groups and (by is not None or report.parameters.get("groups")):
        by = registered(report, "groups", by)
        counts = group_counts(survey, by)
        base = cell_key(POPULATION)
        table = pd.DataFrame({survey.label(by): [*counts, "Total"],
                              "Rows": [*(release.label(base.plus(by, lv)) for lv in counts),
                                       release.label(base)]})
        parts.append(report.table(table, "groups", title=f"Rows by {survey.label(by).lower()}",
                                  note=report.rule()))
    drawn = diagram_flow(release, report.flow.reset_index(drop=True))
    if drawn is None:
        parts.append(Html(f"<p>{undrawn_flow(release)}</p>"))
    else:
        ax = figures.participant_flow(drawn, codebook=survey)
        parts.append(report.figure(ax, "flow",
                                   caption="Participant flow: rows read and analysed"))
    return join(*parts)


__all__ = ["GROUPS", "data_flow", "group_counts", "register_groups", "registered"]

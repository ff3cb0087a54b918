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
from analysis.describe.render import format_p
from analysis.errors import ReportError
from analysis.models import discordant_pairs, matched_sets, mcnemar
from analysis.privacy import COMPLEMENT_LABEL
from analysis.report.sections import join
from analysis.report.session import Html, ReportSession
from analysis.style import ci, number

# ---- the case study's own counts, in the report's one release -------------------------
GROUPS = "case study groups"  # the release's name (``where``) of the rows-by-group table
NOT_ESTIMABLE = "not estimable"  # McNemar's OR and tests with no pair of one kind


def matched_population(exposure: str, unit: str) -> str:
    """The population of the matched-sets flow: ``unit`` is ``"sets"`` or ``"people"``."""
    return f"matched {unit}:{exposure}"


def pairs_population(exposure: str) -> str:
    """The population of the discordant-pairs table of ``exposure`` (pairs, not people)."""
    return f"pairs:{exposure}"


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


def register_matched(release, survey, exposure: str) -> list[tuple]:
    """The matched-sets flow of ``exposure``: sets and people at each stage.

    Each stage is a subset of the one above, so a reader subtracts: the sets
    (and people) leaving at each step are registered as released cells too
    (stage = next stage + those leaving), and the audit protects a small
    number leaving as it protects a small stage. Returns the (sets, people)
    key of each stage.
    """
    from analysis.privacy import cell_key

    flow = matched_sets(survey, exposure)
    keys = []
    for unit, column in (("sets", "sets"), ("people", "rows")):
        population = matched_population(exposure, unit)
        values = flow[column].to_numpy(dtype=float)
        stage_keys = [cell_key(population, stage=str(i)) for i in range(len(values))]
        for k, v in zip(stage_keys, values, strict=True):
            release.add_cell(k, v, where="matched sets")
        for i in range(len(values) - 1):
            left = cell_key(population, left_after=str(i))
            release.add_cell(left, values[i] - values[i + 1], where="matched sets (differences)")
            release.add_relation(stage_keys[i], [stage_keys[i + 1], left])
        keys.append(stage_keys)
    return list(zip(*keys, strict=True))


def register_discordant(release, survey, exposure: str) -> dict:
    """The pairs by case and control exposure (with margins), and McNemar's odds ratio.

    The odds ratio b/c and its Wald interval give b and c back (the interval's
    width is ``sqrt(1/b + 1/c)``), so it is an estimate resting on the two
    discordant cells (``mcnemar:<exposure>``), withheld when either is hidden
    or small. Returns the inner cells' keys by (case level, control level).
    """
    pairs = discordant_pairs(survey, exposure)
    levels = pairs.attrs["levels"]
    inner = pairs[pairs["case"] != "Total"].set_index("case")[levels]
    inner.index = [str(v) for v in inner.index]
    keys = release.add_crosstab(pairs_population(exposure), "case", "control",
                                inner.astype(float), where="discordant pairs")
    _link_pairs(release, survey, exposure, inner)
    exposed, unexposed = str(levels[1]), str(levels[0])
    discordant = [keys[exposed, unexposed], keys[unexposed, exposed]]
    _link_stages(release, survey, exposure, discordant)
    release.add_estimate(f"mcnemar:{exposure}", discordant)
    return keys


def _link_stages(release, survey, exposure: str, discordant: list) -> None:
    """What a reader of a 1:1 design knows of the matched-sets flow, told to the release.

    :func:`~analysis.models.discordant_pairs` admits only informative sets of
    one case and one control, so the sets with a case and a control are the
    pairs (the pairs table's total), the sets discordant for ``exposure`` are
    its off-diagonal cells ``b + c``, and each of these sets holds two people
    (a case and a control, each as many as the sets). The people at the first
    stage are the analysed rows with a set, and at the second the rows also
    complete for the outcome and ``exposure``: when no analysed row lacks a set
    (a zero a reader assumes of a matched design) the first is the number
    analysed, and when only ``exposure`` can be missing the rows left out at
    the second stage are Table 1's missing count of ``exposure``. Without
    these a shown stage minus a shown pair count gives a hidden one back
    (9 discordant sets less 6 pairs with only the control exposed: b = 3).
    """
    from analysis.models.matched import _matched
    from analysis.privacy import MISSING_LEVEL, cell_key
    from analysis.report.disclosure import POPULATION

    sets, people = (matched_population(exposure, u) for u in ("sets", "people"))
    release.add_relation(cell_key(sets, stage="2"), [cell_key(pairs_population(exposure))])
    release.add_relation(cell_key(sets, stage="3"), discordant)
    for stage in ("2", "3"):
        members = []
        for member in ("case", "control"):
            key = cell_key(people, stage=stage, member=member)
            release.add_cell(key, release.count(cell_key(sets, stage=stage)), released=False)
            release.add_relation(key, [cell_key(sets, stage=stage)])
            members.append(key)
        release.add_relation(cell_key(people, stage=stage), members)
    outcome, strata = _matched(survey, None, None)
    data = survey.data
    everyone = cell_key(POPULATION)
    no_set = float(data[strata].isna().sum())
    gap = release.add_cell(cell_key(people, stage="0", member="no set"), no_set,
                           released=no_set == 0, where="matched sets (every row in a set)")
    release.add_relation(everyone, [cell_key(people, stage="0"), gap])
    incomplete = float((~data[[strata, outcome, exposure]].notna().all(axis=1)).sum())
    left = release.add_cell(cell_key(people, stage="1", member="incomplete"), incomplete,
                            released=False)
    release.add_relation(everyone, [cell_key(people, stage="1"), left])
    if not data[[strata, outcome]].isna().any().any():
        release.add_relation(left, [cell_key(POPULATION, {exposure: MISSING_LEVEL})])


def _link_pairs(release, survey, exposure: str, inner: pd.DataFrame) -> None:
    """The pairs' margins are part of Table 1's cells: the cases (controls) at each level.

    The cases exposed at a level are the pairs whose case is at that level,
    plus cases in no complete pair: a reader knows the pair margin is at most
    Table 1's cell (b = 6 pairs with only the case driving, 11 drivers in all
    and fewer than 5 drivers among the controls leave at most 2 pairs where
    both drive), so the release is told ``cell = margin + outside`` with the
    cases (controls) outside the pairs an unreleased count. When every
    analysed row is in a complete pair, the outside counts are 0 and public.
    """
    from analysis.privacy import cell_key
    from analysis.report.disclosure import POPULATION

    data = survey.data
    outcomes = [v for v in survey.variables("outcome") if survey.codebook[v].type == "binary"]
    if len(outcomes) != 1 or data[outcomes[0]].dtype != "category":
        return
    outcome = outcomes[0]
    control, case = (str(v) for v in data[outcome].cat.categories)  # the event is the second
    whole = (2 * inner.to_numpy().sum() == len(data)
             and not data[[outcome, exposure]].isna().any().any())
    base = cell_key(pairs_population(exposure))
    for lv in inner.index:
        for role, level, margin in (("case", case, float(inner.loc[lv].sum())),
                                    ("control", control, float(inner[lv].sum()))):
            cell = cell_key(POPULATION, {exposure: lv, outcome: level})
            rows = float(((data[exposure].astype(str) == lv)
                          & (data[outcome].astype(str) == level)).sum())
            if whole:
                release.add_relation(cell, [base.plus(role, lv)])
                continue
            outside = release.add_cell(cell_key(f"outside pairs:{exposure}", {role: lv}),
                                       rows - margin, released=False)
            release.add_cell(cell, rows, released=False)
            release.add_relation(cell, [base.plus(role, lv), outside])


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
            register_discordant(release, report.survey, pairs)
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


def _registered(report: ReportSession, name: str, value: str | None) -> str:
    wanted = report.parameters.get(name)
    value = wanted if value is None else value
    if not value or value != wanted:
        raise ReportError(
            f"The case study's release registers {name}={wanted!r}, not {value!r}: pass "
            f"{name}={value!r} to open_case_study so the table is decided with the others.")
    return value


def data_flow(report: ReportSession, by: str | None = None, *, groups: bool = True) -> Html:
    """Rows read and analysed (STROBE diagram), with the count in each group of ``by``.

    ``by`` defaults to the case study's ``groups`` parameter (the release
    registered that table); ``groups=False`` draws only the diagram. Every
    count is the report's release's: the group counts are Table 1's cells and
    the diagram draws the flow only when none of its counts is hidden.
    """
    from analysis import figures
    from analysis.privacy import cell_key
    from analysis.report.disclosure import POPULATION, diagram_flow

    survey, release = report.survey, report.release
    parts = []
    if groups and (by is not None or report.parameters.get("groups")):
        by = _registered(report, "groups", by)
        counts = group_counts(survey, by)
        base = cell_key(POPULATION)
        table = pd.DataFrame({survey.label(by): [*counts, "Total"],
                              "Rows": [*(release.label(base.plus(by, lv)) for lv in counts),
                                       release.label(base)]})
        parts.append(report.table(table, "groups", title=f"Rows by {survey.label(by).lower()}",
                                  note=report.rule()))
    drawn = diagram_flow(release, report.flow.reset_index(drop=True))
    if drawn is None:
        parts.append(Html("<p>The participant-flow diagram is not drawn: one of its counts "
                          "is suppressed.</p>"))
    else:
        ax = figures.participant_flow(drawn, codebook=survey)
        parts.append(report.figure(ax, "flow",
                                   caption="Participant flow: rows read and analysed"))
    return join(*parts)


def matched_flow(report: ReportSession, exposure: str | None = None) -> Html:
    """Matched sets down to those discordant for ``exposure``, and the STROBE diagram."""
    exposure = _registered(report, "pairs", exposure)
    release = report.release
    flow = matched_sets(report.survey, exposure)
    keys = register_matched(release, report.survey, exposure)  # a no-op: registered up front
    table = pd.DataFrame({"Stage": flow["stage"],
                          "Matched sets": [release.label(s) for s, _ in keys],
                          "People": [release.label(p) for _, p in keys]})
    return join(report.table(table, "matched_sets", title="Matched sets",
                             note="Only sets with a case and a control inform conditional "
                                  "logistic regression; for one binary exposure only the "
                                  "discordant pairs do. " + report.rule()),
                data_flow(report, groups=False))


def discordant_table(report: ReportSession, exposure: str | None = None) -> Html:
    """The 2x2 table of case against control exposure in the pairs, and McNemar's odds ratio.

    Counts from the report's release; the odds ratio, its interval and the
    tests are withheld when a discordant cell is hidden or small
    (:func:`register_discordant`), since b/c and its interval give b and c back.
    """
    from analysis.privacy import cell_key

    exposure = _registered(report, "pairs", exposure)
    survey, release = report.survey, report.release
    pairs = discordant_pairs(survey, exposure)
    levels = [str(v) for v in pairs.attrs["levels"]]
    register_discordant(release, survey, exposure)  # a no-op: registered up front
    base = cell_key(pairs_population(exposure))
    label = survey.label(exposure)
    rows = [base.plus("case", lv) for lv in levels] + [base]
    shown = pd.DataFrame({f"Case: {label.lower()}": [*levels, "Total"]})
    for lv in levels:
        shown[f"Control: {lv}"] = [release.label(r.plus("control", lv)) for r in rows]
    shown["Total"] = [release.label(r) for r in rows]
    first = report.table(shown, "discordant_pairs", title=f"Pairs by {label.lower()} of case and "
                                                         "control",
                         note="Each cell counts pairs. The off-diagonal cells are the "
                              "discordant pairs. " + report.rule())
    b_key = base.plus("case", levels[1]).plus("control", levels[0])
    c_key = base.plus("case", levels[0]).plus("control", levels[1])
    quantities = ["Pairs with only the case exposed (b)", "Pairs with only the control "
                  "exposed (c)", "Matched odds ratio b/c (95% CI)",
                  "McNemar chi-square (1 df)", "p (chi-square)", "p (exact binomial)"]
    if release.estimate_withheld(f"mcnemar:{exposure}"):
        values = [release.label(b_key), release.label(c_key), *[COMPLEMENT_LABEL] * 4]
    elif not release.count(b_key) or not release.count(c_key):  # b/c is 0 or infinite
        values = [release.label(b_key), release.label(c_key), *[NOT_ESTIMABLE] * 4]
    else:
        row = mcnemar(pairs).iloc[0]
        values = [release.label(b_key), release.label(c_key),
                  ci(row.odds_ratio, row.ci_low, row.ci_high, decimals=3), number(row.chi2, 2),
                  format_p(row.p_value), format_p(row.p_exact)]
    second = report.table(pd.DataFrame({"Quantity": quantities, "Value": values}), "mcnemar",
                          title="Crude matched odds ratio from the discordant pairs",
                          note="For one binary exposure in 1:1 pairs b/c is the conditional "
                               "maximum-likelihood OR, and its interval the Wald interval; "
                               "not shown when b or c is a small count, not estimable when "
                               "either is 0.")
    return join(first, second)


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

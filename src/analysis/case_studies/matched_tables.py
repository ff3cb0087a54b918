"""A matched design's own tables in the report's one release: matched sets, pairs, McNemar.

The matched-sets flow (:func:`register_matched`, :func:`matched_flow`) and
the pairs by case and control exposure with McNemar's odds ratio
(:func:`register_discordant`, :func:`discordant_table`) are registered with
every other count of the report before anything is decided (the case
study's release hook, :func:`analysis.case_studies.released.register_tables`),
together with the relations a reader of a 1:1 design knows without being told
(:func:`_link_stages`, :func:`_link_pairs`, :func:`link_model_rows`).
"""

from __future__ import annotations

import pandas as pd

from analysis.case_studies.flow import data_flow, registered
from analysis.describe.render import format_p
from analysis.models import discordant_pairs, matched_sets, mcnemar
from analysis.privacy import COMPLEMENT_LABEL
from analysis.report.sections import join
from analysis.report.session import Html, ReportSession
from analysis.style import ci, number

NOT_ESTIMABLE = "not estimable"  # McNemar's OR and tests with no pair of one kind


def matched_population(exposure: str, unit: str) -> str:
    """The population of the matched-sets flow: ``unit`` is ``"sets"`` or ``"people"``."""
    return f"matched {unit}:{exposure}"


def pairs_population(exposure: str) -> str:
    """The population of the discordant-pairs table of ``exposure`` (pairs, not people)."""
    return f"pairs:{exposure}"


def register_matched(release, survey, exposure: str) -> list[tuple]:
    """The matched-sets flow of ``exposure``: sets and people at each stage.

    Each stage is a subset of the one above, so a reader subtracts: the sets
    (and people) leaving at each step are registered too (stage = next stage
    + those leaving), as released cells when they are small (the audit
    protects a small number leaving as it protects a small stage) and as
    unreleased ones otherwise (no table shows them: a reader knows one only
    from two shown stages). Returns the (sets, people)
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
            gone = values[i] - values[i + 1]
            # a small difference is protected as a small count; any other is no label the
            # reader sees (unreleased: known only when both stages are shown), else the
            # audit would credit the reader with "at least the threshold" left
            small = release.threshold is not None and 0 < gone < release.threshold
            release.add_cell(left, gone, where="matched sets (differences)", released=small,
                             derived=small)
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
    cb = survey.codebook
    strata = cb.role("match") or cb.role("stratum")  # as discordant_pairs finds them
    outcomes = [v for v in survey.variables("outcome") if cb[v].type == "binary"]
    if strata is None or len(outcomes) != 1:
        return
    outcome = outcomes[0]
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


def matched_flow(report: ReportSession, exposure: str | None = None) -> Html:
    """Matched sets down to those discordant for ``exposure``, and the STROBE diagram."""
    exposure = registered(report, "pairs", exposure)
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

    exposure = registered(report, "pairs", exposure)
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


def link_model_rows(release, report: ReportSession, exposure: str, discordant: list) -> None:
    """A conditional model's rows of ``exposure`` rest on the discordant pairs too.

    In 1:1 pairs the crude conditional odds ratio of one binary exposure is
    b/c with McNemar's Wald interval, so the model table's row gives b and c
    back as the matched odds ratio does (b = c = 7: "1.00 (0.35-2.85)"): its
    estimate is told it rests on the two discordant cells, and is withheld
    when either is hidden. Only for models whose table the release holds.
    """
    from analysis.report.disclosure import model_where

    names = set(release.estimates())
    if not any(n.startswith("model table ") for n in names):
        return  # the notebook shows no model table: nothing to fit
    for fitted in report.fits:
        if fitted.result is None or fitted.plan.model != "conditional logistic":
            continue
        table = fitted.result.table
        where = model_where(fitted.plan)
        for idx in table.index[table["variable"].astype(str) == exposure]:
            if f"{where}:{idx}" in names:
                release.add_estimate(f"{where}:{idx}", discordant)


__all__ = ["NOT_ESTIMABLE", "discordant_table", "link_model_rows", "matched_flow",
           "matched_population", "pairs_population", "register_discordant", "register_matched"]

"""One disclosure decision for a whole report run: every released count, registered up front.

The report's notebooks run in separate kernels, but a cell hidden in one
notebook must not come back from a table, figure or number of another
(:mod:`analysis.privacy.release`). So :func:`report_release` registers, in
one :class:`~analysis.privacy.Release`, every count the report notebooks
show: the participant flow (table and diagram), values changed by rule,
missing values, Table 1, the prevalence tables, every planned model's table
and note, the questionnaires' complete answers and score bands. The run
(:func:`analysis.report.render_reports`) calls it once, before any notebook,
writes the suppression log to ``analyst/suppression_log.csv`` and the
registration to its cache (:func:`write_release`, signed like the survey
cache), and every notebook's :class:`~analysis.report.ReportSession` reads
it back (:func:`read_release`): the same cell reads the same in every page,
CSV and ``results.json``. A notebook run on its own builds the same release
itself, from the same function.

The participant flow, changes and missing values are registered by
:mod:`analysis.report.flow_cells`, the shared file and the log written by
:mod:`analysis.report.release_files` (both re-exported here); the
``register_*`` functions here and in :mod:`analysis.report.tables` name
the cells (:func:`analysis.privacy.cell_key`); the report sections call the
matching ``released_*`` renderers with the same keys. A section registers its
table again before rendering it: a no-op when the run registered it, and the
registration itself for a notebook (a case study) that shows a table the
plan does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy import MISSING_LEVEL, Release, cell_key
from analysis.report.estimate_cells import model_population
from analysis.report.flow_cells import (
    EXCLUDED,
    POPULATION,
    READ,
    change_counts,
    change_keys,
    diagram_flow,
    exclusions_once,
    flow_keys,
    pooled_flow,
    register_changes,
    register_flow,
    register_missing,
    undrawn_flow,
)
from analysis.report.release_files import (
    LOG_FILE,
    RELEASE_FILE,
    read_release,
    release_key,
    write_log,
    write_release,
)
from analysis.report.survey_counts import SurveyCounts

# ---- questionnaires -----------------------------------------------------------------
SAMPLE = "sample"  # the random sample of a Parquet dataset: what has no aggregate form


def sample_population(n_analysed: int, n_rows: int) -> str:
    """The population of counts made on the rows in memory: everyone analysed, or the sample.

    A report of a Parquet dataset holds a random sample of its rows for what
    has no aggregate form (questionnaire scores, design-based prevalence);
    their counts are not parts of the totals counted on every row (Table 1,
    the flow), so they are cells of their own population.
    """
    return POPULATION if n_analysed == n_rows else SAMPLE


def register_reliability(release: Release, alphas: pd.DataFrame,
                         population: str = POPULATION) -> list:
    keys = [cell_key(population, complete=f"{i}: {s}")
            for i, s in zip(alphas["instrument"], alphas["scale"], strict=True)]
    for k, n in zip(keys, alphas["n_complete"], strict=True):
        release.add_cell(k, float(n), where="internal consistency")
    return keys


def band_scores(scored, survey, scores=None) -> list[str]:
    """The scores the questionnaire report shows (banded ones are tables)."""
    data = scored.data
    names = scores or [c for c in data.columns if c not in survey.data.columns
                       and not c.endswith("_answered")]
    return [n for n in names if n in data]


def register_bands(release: Release, name: str, column: pd.Series,
                   population: str = POPULATION) -> tuple[list, Any]:
    """Respondents in each band of a banded score, and their total: keys of both."""
    base = cell_key(population)
    counts = column.value_counts(sort=False)
    if not release.declared(name):
        release.declare_levels(name, [str(v) for v in counts.index], missing=MISSING_LEVEL)
    keys = [base.plus(name, v) for v in counts.index]
    for k, n in zip(keys, counts.to_numpy(), strict=True):
        release.add_cell(k, float(n), where=f"bands of {name}")
    total = release.known(base, name)
    release.add_cell(total, float(counts.sum()), where=f"bands of {name}")
    release.add_cell(base.plus(name, MISSING_LEVEL), float(column.isna().sum()),
                     released=False)
    return keys, total


def histogram_bins(values: pd.Series, threshold: int | None) -> tuple[np.ndarray, bool]:
    """Bin edges of a score's histogram in which every bar counts ``threshold`` or more.

    Starts from the figure's own bins (numpy's "auto" rule; for whole-number
    scores, bins of whole-number width centred on the values, as
    :func:`analysis.figures.score_distribution` draws them) and merges
    neighbouring bins, left to right, until each holds at least ``threshold``
    respondents (a last bin still short joins the one before it). A bar's
    height is a count of respondents: a bar of 2 would show a count the
    tables hide. Returns the edges and whether any bins were merged.

    Examples
    --------
    Twenty 0s, twenty 1s, two 2s and a 9, in the figure's bins of width 1:
    bars of 20, 20, 2, 0, ..., 0, 1; the tail from 2 on (three respondents)
    is short, so it joins the bar of the 1s.

    >>> values = pd.Series([0] * 20 + [1] * 20 + [2, 2, 9])
    >>> len(histogram_bins(values, None)[0]) - 1
    10
    >>> edges, merged = histogram_bins(values, 5)
    >>> edges.tolist(), merged
    ([-0.5, 0.5, 9.5], True)
    """
    known = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    known = known[np.isfinite(known)]
    edges = np.histogram_bin_edges(known, "auto")
    if known.size and np.all(known == np.round(known)):
        width = max(1.0, float(np.ceil(edges[1] - edges[0])) if len(edges) > 1 else 1.0)
        n_bins = int(np.ceil((known.max() - known.min() + 1) / width))
        edges = known.min() - 0.5 + width * np.arange(n_bins + 1)
    if threshold is None or known.size < threshold:
        return edges, False
    counts, _ = np.histogram(known, bins=edges)
    kept, running = [edges[0]], 0
    for count, right in zip(counts, edges[1:], strict=True):
        running += count
        if running >= threshold:
            kept.append(right)
            running = 0
    if running:  # the tail is short: it joins the last full bin
        kept[-1] = edges[-1]
    kept = np.array(kept, dtype=float)
    return kept, len(kept) < len(edges)


def histogram_key(name: str, low: float, high: float, population: str = POPULATION):
    """The cell of a histogram bar: respondents with a known ``name`` in ``[low, high)``."""
    return cell_key(population, {name: "(known)", f"{name} (bin)": f"{low:g} to {high:g}"})


def register_histogram(release: Release, name: str, column: pd.Series,
                       population: str = POPULATION) -> tuple[np.ndarray, list, bool]:
    """A score's histogram bars (:func:`histogram_bins`) and their total: edges, keys, merged."""
    edges, merged = histogram_bins(column, release.threshold)
    known = pd.to_numeric(column, errors="coerce").dropna()
    counts, _ = np.histogram(known.to_numpy(dtype=float), bins=edges)
    keys = [histogram_key(name, lo, hi, population) for lo, hi in itertools.pairwise(edges)]
    for k, n in zip(keys, counts, strict=True):
        release.add_cell(k, float(n), where=f"histogram of {name}")
    total = cell_key(population, {name: "(known)"})
    release.add_cell(total, float(counts.sum()), where=f"histogram of {name}")
    release.add_relation(total, keys)
    return edges, keys, merged


# ---- the whole report ---------------------------------------------------------------
def characteristics_grouping(survey, plan) -> str | None:
    """The variable Table 1 is by: the first outcome with a few levels, else the default."""
    from analysis.describe.columns import default_grouping

    by = next((m.outcome for m in plan.models
               if m.kind in ("binary", "ordinal", "nominal") and not m.subsample), None)
    return by if by is not None else default_grouping(survey)


def prevalence_models(survey, plan, factors=None) -> list[tuple[Any, list[str], str]]:
    """(model, coded factors, release name) of each prevalence table the report shows."""
    out = []
    for model in plan.models:
        if model.kind != "binary" or model.subsample or model.model == "conditional logistic":
            continue
        coded = [v for v in (factors or model.exposures)
                 if v in survey.data and survey.data[v].dtype == "category"]
        out.append((model, coded, "prevalence" if not out else f"prevalence:{model.outcome}"))
    return out


def outcome_levels(survey, outcome: str) -> list[str]:
    return [str(v) for v in survey.data[outcome].cat.categories]


def table_population(fitted) -> str | dict[str, str]:
    """The population of each row of a planned model's table.

    One model: its complete cases. Each exposure in its own model (a causal
    diagram's adjustment sets): each exposure's complete cases, so that the
    counts of two exposures' models are not taken for one table's margins.
    """
    population = model_population(fitted.plan)
    if not fitted.result.info.get("by_exposure"):
        return population
    return {str(v): f"{population}:{v}" for v in fitted.result.table["variable"].unique()}


def model_where(model) -> str:
    """The release's name of a model's table (its estimates are ``<name>:<row>``)."""
    return f"model table {model.key}"


def register_model(release: Release, survey, fitted, analysed: int | None = None) -> None:
    """A planned model's table, and its note's totals: n, events, rows left out.

    ``analysed``: every respondent analysed (default: the registered total, else
    the survey's rows; a Parquet dataset's session gives its count of every row,
    while ``survey`` is its sample).
    """
    from analysis.report.tables import register_model_table

    result, model = fitted.result, fitted.plan
    population = model_population(model)
    where = model_where(model)
    levels = (outcome_levels(survey, model.outcome)
              if survey.data[model.outcome].dtype == "category" else ["(value)"])
    events = "binary" if model.kind == "binary" else (
        "category" if "outcome_level" in result.table.columns else "none")
    register_model_table(release, result.table, outcome=model.outcome, outcome_levels=levels,
                         population=table_population(fitted), where=where,
                         events=events)
    info = result.info
    total = cell_key(population)
    if isinstance(info.get("n"), int | float):
        release.add_cell(total, float(info["n"]), where=where)
        dropped = info.get("n_dropped")
        # Every respondent analysed: the registered total (a Parquet dataset's counts every
        # row, while ``survey`` is its sample and a model may rest on either), else the rows.
        everyone = cell_key(POPULATION)
        if analysed is None:
            analysed = (release.count(everyone) if everyone in release
                        and release.count(everyone) is not None else len(survey.data))
        if isinstance(dropped, int | float) and info["n"] + dropped == analysed:
            left = cell_key(f"{population}:left out")
            release.add_cell(left, float(dropped), where=where)
            release.add_relation(cell_key(POPULATION), [total, left])
            if not dropped and isinstance(table_population(fitted), str):
                _same_respondents(release, population)
    if events == "binary" and isinstance(info.get("events"), int | float):
        release.add_cell(total.plus(model.outcome, levels[-1]), float(info["events"]),
                         where=where)
    if events == "binary":
        from analysis.report.estimate_cells import register_additive

        register_additive(release, fitted)


def _same_respondents(release: Release, population: str) -> None:
    """A model that left nobody out counts the analysed respondents: tie its cells to theirs.

    Its level counts are then Table 1's and the prevalence table's, so a count
    hidden there must not be shown in the model's table (or the other way):
    each model cell is registered equal to the analysed cell of the same levels.
    """
    for key in release.cells(population):
        if not key.levels:
            continue
        same = cell_key(POPULATION, dict(key.levels))
        mine, theirs = release.count(key), (release.count(same) if same in release else None)
        if mine is not None and (theirs is None or theirs == mine):
            release.add_relation(same, [key])


PARTS = {"participant_flow": "flow", "changes_by_rule": "changes",
         "missing_values": "missing", "characteristics": "table one",
         "prevalence": "prevalence", "model_sections": "models",
         "odds_ratio_table": "models", "reliability": "questionnaires",
         "score_bands": "questionnaires",
         # the methods paragraph prints the flow's counts; a case study draws the diagram
         "methods": "flow", "data_flow": "flow", "matched_flow": "flow"}


def notebook_parts(sources: list[str]) -> set[str]:
    """The parts of :func:`report_release` that notebooks with these code cells show.

    A run registers only what its notebooks release (a run of the data-quality
    notebook alone fits no model).
    """
    return {part for name, part in PARTS.items() for text in sources if f".{name}(" in text}


def report_release(survey, plan, fits=None, *, threshold: int | None = 5,
                   rounding: int | None = None, factors=None, scores=None,
                   source=None, parts: set[str] | None = None,
                   extra: Callable[[Release], None] | None = None) -> Release:
    """Register every count the report notebooks show on ``survey`` (see the module docstring).

    ``plan`` and ``fits`` are :func:`analysis.plan.plan` and
    :func:`analysis.plan.fit_plan` of the survey (``fits`` may be a callable
    returning them, called only when the plan has models); ``factors`` and
    ``scores`` are the descriptive and questionnaire notebooks' parameters.
    ``source`` gives the counts when they do not come from ``survey`` itself
    (a report session on a Parquet dataset counts every row in DuckDB, while
    ``survey`` is its sample): anything with the
    :class:`~analysis.report.session.ReportSession` methods ``flow``,
    ``change_counts``, ``table_one``, ``missingness`` and ``prevalence``.
    ``parts`` (default: all) limits the registration to the tables of
    :data:`PARTS` the run's notebooks show. ``extra`` registers what else
    the notebook shows (a case study's matched sets and discordant pairs,
    :func:`analysis.case_studies.sections.register_tables`): it is called with
    the release before anything is decided.
    """
    parts = set(PARTS.values()) if parts is None else set(parts)
    from analysis.report.tables import register_prevalence, register_table_one

    source = source if source is not None else SurveyCounts(survey)
    release = Release(threshold, rounding=rounding)
    if "flow" in parts:
        register_flow(release, source.flow)
    if "changes" in parts:
        register_changes(release, exclusions_once(change_counts(source.change_counts()),
                                                  source.flow), source.flow)
    if "table one" in parts:
        by = characteristics_grouping(survey, plan)
        register_table_one(release, source.table_one(by), by=by,
                           numeric_n=plan.design is not None, percentages=plan.design is None)
    if "missing" in parts:
        items = {v.name for v in survey.codebook.variables.values() if v.instrument}
        miss = source.missingness()
        register_missing(release, miss[~miss["variable"].isin(items)])
    n_all = getattr(source, "n", len(survey.data))
    for model, coded, key in (prevalence_models(survey, plan, factors)
                              if "prevalence" in parts else []):
        # the unweighted counts only: the design's estimates rest on them (on the sample,
        # out of core: the design-based estimates have no aggregate form)
        population = (sample_population(n_all, len(survey.data)) if plan.design is not None
                      else POPULATION)
        counter = source if population == POPULATION else SurveyCounts(survey)
        table = counter.prevalence(model.outcome, coded, False)
        register_prevalence(release, table, outcome=model.outcome, population=population,
                            outcome_levels=outcome_levels(survey, model.outcome), where=key)
    fitted_all = (fits() if callable(fits) else fits) if "models" in parts else None
    for fitted in fitted_all or []:
        if fitted.failure is None and fitted.result is not None:
            register_model(release, survey, fitted, getattr(source, "n", None))
    if survey.codebook.instruments and "questionnaires" in parts:
        from analysis.instruments import score_instruments

        scored, alphas = score_instruments(survey)
        population = sample_population(n_all, len(survey.data))
        register_reliability(release, alphas, population)
        for name in band_scores(scored, survey, scores):
            if scored.data[name].dtype == "category":
                register_bands(release, name, scored.data[name], population)
            else:
                register_histogram(release, name, scored.data[name], population)
    if extra is not None:
        extra(release)
    return release


__all__ = [
    "EXCLUDED",
    "LOG_FILE",
    "PARTS",
    "POPULATION",
    "READ",
    "RELEASE_FILE",
    "band_scores",
    "change_counts",
    "change_keys",
    "characteristics_grouping",
    "diagram_flow",
    "exclusions_once",
    "flow_keys",
    "histogram_bins",
    "histogram_key",
    "model_population",
    "model_where",
    "notebook_parts",
    "outcome_levels",
    "pooled_flow",
    "prevalence_models",
    "read_release",
    "register_bands",
    "register_changes",
    "register_flow",
    "register_histogram",
    "register_missing",
    "register_model",
    "register_reliability",
    "release_key",
    "report_release",
    "sample_population",
    "table_population",
    "undrawn_flow",
    "write_log",
    "write_release",
]

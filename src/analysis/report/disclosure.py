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

The ``register_*`` functions here and in :mod:`analysis.report.tables` name
the cells (:func:`analysis.privacy.cell_key`); the report sections call the
matching ``released_*`` renderers with the same keys. A section registers its
table again before rendering it: a no-op when the run registered it, and the
registration itself for a notebook (a case study) that shows a table the
plan does not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.privacy import MISSING_LEVEL, Release, cell_key
from analysis.report.tables import NOT_ASKED, blank_keys

log = logging.getLogger("analysis.report")

POPULATION = "analysed"  # every respondent analysed: Table 1, prevalence, missing values
READ = "read"  # rows read: the participant flow
RELEASE_FILE = "release.json"
LOG_FILE = "suppression_log.csv"
ASKED = "(asked)"


# ---- the participant flow --------------------------------------------------------
def flow_keys(flow: pd.DataFrame) -> list:
    """The cell of each row of :attr:`Survey.flow` (read, each step's reasons, analysed)."""
    keys = []
    for stage, step, reason in flow[["stage", "step", "reason"]].itertuples(index=False):
        if stage == "read":
            keys.append(cell_key(READ))
        elif stage == "analysed":
            keys.append(cell_key(POPULATION))
        else:
            keys.append(cell_key(READ, excluded=f"{step}: {reason}"))
    return keys


def pooled_flow(flow: pd.DataFrame, threshold: int | None) -> pd.DataFrame:
    """The flow with each step's reasons of fewer than ``threshold`` rows pooled.

    For the diagram, which cannot show "<5": the small reasons of a step
    become "other rules" (with the smallest other reason when the pool is
    still small). Adds a column ``parts``: the reasons each row pools.
    """
    rows = []
    for (stage, step), group in flow.groupby(["stage", "step"], sort=False):
        group = group.assign(parts=[[r] for r in group["reason"]])
        if stage != "excluded" or threshold is None:
            rows.append(group)
            continue
        group = group.sort_values(["n", "reason"])
        small = group["n"] < threshold
        if small.sum() and group.loc[small, "n"].sum() < threshold and (~small).any():
            small.iloc[int(small.sum())] = True  # the smallest other reason joins the pool
        if small.sum() > 1:
            pooled = pd.DataFrame([{"stage": stage, "step": step, "reason": "other rules",
                                    "label": "other rules",
                                    "n": int(group.loc[small, "n"].sum()),
                                    "parts": list(group.loc[small, "reason"])}])
            group = pd.concat([group[~small], pooled], ignore_index=True)
        rows.append(group)
    return pd.concat(rows, ignore_index=True)


def register_flow(release: Release, flow: pd.DataFrame) -> None:
    """Rows read = every reason excluded + rows analysed, and the diagram's pooled counts."""
    keys = flow_keys(flow)
    for key, n in zip(keys, flow["n"], strict=True):
        release.add_cell(key, float(n), where="participant flow")
    read = [k for k, s in zip(keys, flow["stage"], strict=True) if s == "read"]
    if read:
        release.add_relation(read[0], [k for k in keys if k != read[0]])
    for _, row in pooled_flow(flow, release.threshold).iterrows():
        if row["stage"] == "excluded" and len(row["parts"]) > 1:
            pool = cell_key(READ, excluded=f"{row['step']}: other rules")
            release.add_cell(pool, float(row["n"]), where="participant flow diagram")
            release.add_relation(pool, [cell_key(READ, excluded=f"{row['step']}: {r}")
                                        for r in row["parts"]])
    for step, block in flow[flow["stage"] == "excluded"].groupby("step", sort=False):
        total = cell_key(READ, excluded_step=str(step))
        release.add_cell(total, float(block["n"].sum()), where="participant flow diagram")
        release.add_relation(total, [cell_key(READ, excluded=f"{step}: {r}")
                                     for r in block["reason"]])


def diagram_flow(release: Release, flow: pd.DataFrame) -> pd.DataFrame | None:
    """The pooled flow the diagram draws, with released (rounded) counts; None if any is hidden."""
    pooled = pooled_flow(flow, release.threshold)
    keys = []
    for stage, step, reason, parts in pooled[["stage", "step", "reason", "parts"]].itertuples(
            index=False):
        if stage == "excluded" and len(parts) > 1:
            keys.append(cell_key(READ, excluded=f"{step}: other rules"))
        else:
            keys.append(flow_keys(pd.DataFrame([{"stage": stage, "step": step,
                                                 "reason": reason}]))[0])
    keys += [cell_key(READ, excluded_step=str(s))
             for s in flow.loc[flow["stage"] == "excluded", "step"].unique()]
    if any(release.hidden(k) for k in keys) or release.rounding:
        # rounded counts do not add up, and a hidden one has no number to draw
        return None
    return pooled.drop(columns=["parts"])


# ---- values changed by rule, missing values -----------------------------------------
def change_keys(counts: pd.DataFrame, flow: pd.DataFrame) -> list:
    """A cell per row of the changes table; a rule's excluded rows are the flow's cell."""
    reasons = set(flow_keys(flow))
    keys = []
    for step, column, rule, action in counts[["step", "column", "rule", "action"]].itertuples(
            index=False):
        flow_key = cell_key(READ, excluded=f"{step}: {column}: {rule}" if column
                            else f"{step}: {rule}")
        if action == "excluded" and flow_key in reasons:
            keys.append(flow_key)
        else:  # values, not respondents, and no other table adds them up
            keys.append(cell_key("changes", step=step, column=column, rule=rule,
                                 action=action))
    return keys


def change_counts(survey) -> pd.DataFrame:
    """Values set missing and rows excluded, by step, column, rule and action.

    ``survey`` is a survey, or its ledger counts already taken (a Parquet
    dataset's, from DuckDB). Not the rows a model leaves out (the ledger
    holds those once a model is fitted): the table is the same before and
    after fitting.
    """
    blocks = survey if isinstance(survey, pd.DataFrame) else survey.accounts.counts()
    blocks = blocks[~blocks["action"].isin(["dropped column", "not in model"])]
    blocks = blocks.assign(column=blocks["column"].fillna("").astype(str))
    return (blocks.groupby(["step", "column", "rule", "action"], dropna=False, sort=True)["n"]
            .sum().reset_index())


def register_missing(release: Release, counts: pd.DataFrame) -> tuple[list, list]:
    """The missing-values table (:func:`analysis.figures.missingness`): keys of Missing, Asked."""
    base = cell_key(POPULATION)
    missing_keys, asked_keys = [], []
    for row in counts.itertuples(index=False):
        shown, _ = blank_keys(release, base, row.variable, row.n_missing, row.n_not_asked)
        asked = base.plus(row.variable, ASKED)
        release.add_cell(shown, float(row.n_missing), where="missing values")
        release.add_cell(asked, float(row.n_asked), where="missing values")
        release.add_relation(asked, [base.plus(row.variable, "(known)"), shown])
        if row.n_not_asked:
            release.add_relation(base, [asked, base.plus(row.variable, NOT_ASKED)])
        missing_keys.append(shown)
        asked_keys.append(asked)
    return missing_keys, asked_keys


# ---- questionnaires -----------------------------------------------------------------
def register_reliability(release: Release, alphas: pd.DataFrame) -> list:
    keys = [cell_key(POPULATION, complete=f"{i}: {s}")
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


def register_bands(release: Release, name: str, column: pd.Series) -> tuple[list, Any]:
    """Respondents in each band of a banded score, and their total: keys of both."""
    base = cell_key(POPULATION)
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


def model_population(model) -> str:
    """The population of a model's counts: its complete cases."""
    return f"model:{model.key}"


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
    if events == "binary" and isinstance(info.get("events"), int | float):
        release.add_cell(total.plus(model.outcome, levels[-1]), float(info["events"]),
                         where=where)


PARTS = {"participant_flow": "flow", "changes_by_rule": "changes",
         "missing_values": "missing", "characteristics": "table one",
         "prevalence": "prevalence", "model_sections": "models",
         "odds_ratio_table": "models", "reliability": "questionnaires",
         "score_bands": "questionnaires"}


def notebook_parts(sources: list[str]) -> set[str]:
    """The parts of :func:`report_release` that notebooks with these code cells show.

    A run registers only what its notebooks release (a run of the data-quality
    notebook alone fits no model).
    """
    return {part for name, part in PARTS.items() for text in sources if f".{name}(" in text}


def report_release(survey, plan, fits=None, *, threshold: int | None = 5,
                   rounding: int | None = None, factors=None, scores=None,
                   source=None, parts: set[str] | None = None) -> Release:
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
    :data:`PARTS` the run's notebooks show.
    """
    parts = set(PARTS.values()) if parts is None else set(parts)
    from analysis.report.tables import register_prevalence, register_table_one

    source = source if source is not None else _SurveyCounts(survey)
    release = Release(threshold, rounding=rounding)
    if "flow" in parts:
        register_flow(release, source.flow)
    if "changes" in parts:
        counts = change_counts(source.change_counts())
        for key, n in zip(change_keys(counts, source.flow), counts["n"], strict=True):
            release.add_cell(key, float(n), where="values changed by rule")
    if "table one" in parts:
        by = characteristics_grouping(survey, plan)
        register_table_one(release, source.table_one(by), by=by,
                           numeric_n=plan.design is not None, percentages=plan.design is None)
    if "missing" in parts:
        items = {v.name for v in survey.codebook.variables.values() if v.instrument}
        miss = source.missingness()
        register_missing(release, miss[~miss["variable"].isin(items)])
    for model, coded, key in (prevalence_models(survey, plan, factors)
                              if "prevalence" in parts else []):
        # the unweighted counts only: the design's estimates rest on them
        table = source.prevalence(model.outcome, coded, False)
        register_prevalence(release, table, outcome=model.outcome,
                            outcome_levels=outcome_levels(survey, model.outcome), where=key)
    fitted_all = (fits() if callable(fits) else fits) if "models" in parts else None
    for fitted in fitted_all or []:
        if fitted.failure is None and fitted.result is not None:
            register_model(release, survey, fitted, getattr(source, "n", None))
    if survey.codebook.instruments and "questionnaires" in parts:
        from analysis.instruments import score_instruments

        scored, alphas = score_instruments(survey)
        register_reliability(release, alphas)
        for name in band_scores(scored, survey, scores):
            if scored.data[name].dtype == "category":
                register_bands(release, name, scored.data[name])
    return release


class _SurveyCounts:
    """The counts of an in-memory survey, under the names a report session gives them."""

    def __init__(self, survey) -> None:
        self.survey = survey
        self.flow = survey.flow

    def change_counts(self) -> pd.DataFrame:
        return self.survey.accounts.counts()

    def table_one(self, by: str | None = None) -> pd.DataFrame:
        from analysis.describe import table_one

        return table_one(self.survey, by=by)

    def missingness(self) -> pd.DataFrame:
        from analysis.figures import missingness

        return missingness(self.survey)

    def prevalence(self, outcome: str, by: list[str], design: bool) -> pd.DataFrame:
        from analysis.describe import prevalence

        return prevalence(self.survey, outcome, by=by, weighted=False, design=design)


# ---- sharing it with the notebooks ----------------------------------------------------
def release_key(data_key: str, threshold, rounding, options: dict[str, Any]) -> str:
    """What a saved release was made for: the survey, the rule and the plan's options."""
    text = json.dumps({"data": data_key, "threshold": threshold, "rounding": rounding,
                       "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_release(release: Release, folder: Path, key: str, secret: str) -> Path:
    """Save the registration, signed with the run's secret, in the run's cache folder."""
    from analysis.report.cache import FOLDER

    body = release.to_json()
    sign = hmac.new(secret.encode(), (key + body).encode("utf-8"), hashlib.sha256).hexdigest()
    path = Path(folder) / FOLDER / RELEASE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "signature": sign, "release": body}),
                    encoding="utf-8")
    return path


def read_release(folder: Path, key: str) -> Release | None:
    """The run's saved release when it was made for ``key`` and its signature holds."""
    from analysis.report.cache import FOLDER, SECRET_ENV

    path = Path(folder) / FOLDER / RELEASE_FILE
    secret = os.environ.get(SECRET_ENV)
    if not path.is_file() or not secret:
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        body = saved["release"]
        sign = hmac.new(secret.encode(), (saved["key"] + body).encode("utf-8"),
                        hashlib.sha256).hexdigest()
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("The run's saved release %s cannot be read; deciding again.", path)
        return None
    if not hmac.compare_digest(sign, str(saved.get("signature"))):
        log.warning("The run's saved release %s fails its signature; deciding again.", path)
        return None
    if saved["key"] != key:
        return None  # made for other data, another rule or other plan options
    return Release.from_json(body)


def write_log(release: Release, folder: Path, name: str = LOG_FILE) -> Path:
    """The suppression log (true counts: analyst only) as ``analyst/<name>``."""
    path = Path(folder) / "analyst" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = release.log()
    frame = frame.assign(**{c: frame[c].map(lambda v: "" if pd.isna(v) else
                                            ("inf" if np.isinf(v) else f"{v:g}"))
                            for c in ("low", "high", "required_low", "required_high")})
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


__all__ = ["LOG_FILE", "PARTS", "POPULATION", "READ", "RELEASE_FILE", "band_scores",
           "change_counts", "change_keys", "characteristics_grouping", "diagram_flow",
           "flow_keys", "model_population", "model_where", "notebook_parts", "outcome_levels",
           "pooled_flow", "prevalence_models", "read_release", "register_bands",
           "register_flow", "register_missing", "register_model", "register_reliability",
           "release_key", "report_release", "table_population", "write_log", "write_release"]

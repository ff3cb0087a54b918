"""A model's side-by-side table from the report's release: counts, withheld estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import style
from analysis.describe.render import format_p
from analysis.report.tables.prevalence import outcome_keys


def _ci(est: float, low: float, high: float) -> str:
    """"1.43 (1.13-1.82)" in the current number style (:func:`analysis.style.ci`)."""
    return style.ci(est, low, high)


def _population_of(population, variable) -> str:
    """A model table's population: one name, or one per variable (``{variable: name}``)
    when each exposure has its own model and so its own complete cases."""
    return population if isinstance(population, str) else population[str(variable)]


def _model_cell(base, table: pd.DataFrame, ref_of: pd.Series, idx) -> object:
    """The cell a model-table row counts: a factor level, an interaction cell or the total."""
    row = table.loc[idx]
    if ref_of.loc[table.index[table["variable"] == row["variable"]]].any():
        return base.plus(row["variable"], row["level"])
    if " × " in str(row["level"]):
        return base.plus(str(row["variable"]), row["level"])
    return base  # a numeric variable per unit: the model's totals


def _events_mode(table: pd.DataFrame, events: str | None) -> str:
    """``"binary"``, ``"category"`` (a row per outcome level) or ``"none"`` (rates: n only)."""
    if events is not None:
        return events
    if any(c.startswith("irr_") for c in table.columns):
        return "none"
    return "category" if "outcome_level" in table.columns else "binary"


def _event_key(release, cell, outcome: str, levels, row, mode: str):
    if mode == "category":
        return cell.plus(outcome, row["outcome_level"])
    return outcome_keys(release, cell, outcome, levels)[1]


def register_model_table(release, table: pd.DataFrame, *, outcome: str, outcome_levels,
                         population, where: str, events: str | None = None) -> None:
    """Register the side-by-side table of a model (``result.table``) with ``release``.

    ``population`` names the model's complete cases (e.g. ``"model:odds_ratios"``;
    the analysed population only when the model left nobody out), or a
    mapping ``{variable: population}`` when each exposure's rows come from
    its own model (a causal diagram's adjustment sets). For each
    factor level: ``n`` is ``(population, factor=level)``, the events
    ``(..., outcome=event)`` and, for a binary outcome, the non-events, tied
    by ``n = events + non-events``; the model's totals are ``(population)``
    and ``(population, outcome=event)``, which the table's note prints (use
    ``release.label`` of those keys there). The estimates of each row are
    ``"<where>:<row index>"``, resting on the level's and the reference
    level's cells (Woolf: see :mod:`analysis.privacy.estimates`). Rate-ratio
    tables register ``n`` only (their events are episodes, not respondents).
    Counts must be unweighted. ``events``: ``"binary"`` (events and
    non-events), ``"category"`` (a multinomial table: a row's events are its
    level's respondents in the row's ``outcome_level``) or ``"none"`` (n
    only: rate ratios, ordinal models); default from the table's columns.
    """
    from analysis.privacy import MISSING_LEVEL, cell_key, estimate_cells

    levels = [str(v) for v in outcome_levels]
    mode = _events_mode(table, events)
    rate = mode == "none"
    if not release.declared(outcome):
        release.declare_levels(outcome, levels, missing=MISSING_LEVEL)
    ref_of = estimate_cells(table)["ref_n"].notna()  # rows against a reference level
    row_cells: dict[object, list] = {}
    totals_done: set = set()
    for variable, rows in table.groupby("variable", sort=False):
        base = cell_key(_population_of(population, variable))
        factor = bool(ref_of.loc[rows.index].any())
        for idx, row in rows.iterrows():
            if pd.isna(row["n"]):
                row_cells[idx] = []
                continue
            cell = _model_cell(base, table, ref_of, idx)
            cells = [release.add_cell(cell, float(row["n"]), where=where)]
            if not rate:
                _, ev_key, non_key = outcome_keys(release, cell, outcome, levels)
                if mode == "category":
                    ev_key, non_key = cell.plus(outcome, row["outcome_level"]), None
                cells.append(release.add_cell(ev_key, float(row["events"]), where=where))
                if non_key is not None:
                    cells.append(release.add_cell(non_key, float(row["n"] - row["events"]),
                                                  where=where))
                    release.add_relation(cell, [ev_key, non_key])
            row_cells[idx] = cells
        if not factor:
            continue
        if base not in totals_done and mode != "category":
            release.add_cell(base, float(rows["n"].sum()), where=where)
            if not rate:
                release.add_cell(base.plus(outcome, levels[-1]), float(rows["events"].sum()),
                                 where=where)
            totals_done.add(base)
        if not release.declared(variable):
            release.declare_levels(variable, list(dict.fromkeys(rows["level"])),
                                   missing=MISSING_LEVEL)
        ref = [i for i in rows.index if not ref_of.loc[i]]
        for idx in rows.index:
            if ref_of.loc[idx]:
                row_cells[idx] = row_cells[idx] + [c for r in ref for c in row_cells[r]]
    for idx, cells in row_cells.items():
        release.add_estimate(f"{where}:{idx}", cells)


def model_withheld(release, table: pd.DataFrame, *, where: str) -> pd.Series:
    """Rows of a registered model table whose estimates, intervals and p-values are withheld.

    The release's decision (:meth:`~analysis.privacy.Release.estimate_withheld`
    of ``"<where>:<row index>"``) and, for cells the release does not hold,
    :func:`analysis.privacy.withheld_estimates` (with rounding only, counts
    below the rounding base). A reference level has no estimate of its own
    (it reads "1 (reference)") and is never withheld. Everything derived from
    a row's estimate (its E-value, q-value, prevalence ratio) asks this, not
    the rendered text.
    """
    from analysis.privacy import RATIO, withheld_estimates

    ratio = next(RATIO.match(c).group(1) for c in table.columns if RATIO.match(c))
    limit = release.threshold or release.rounding
    withheld = withheld_estimates(table, limit) | pd.Series(
        [release.estimate_withheld(f"{where}:{i}") for i in table.index], index=table.index)
    reference = pd.Series(True, index=table.index)
    for model in ("crude", "adjusted"):
        if f"{ratio}_{model}" in table:
            reference &= table[f"ci_low_{model}"].isna() & np.isclose(
                table[f"{ratio}_{model}"].astype(float).fillna(1.0), 1.0)
    return withheld & ~(reference & table["n"].notna())


def released_model_table(release, table: pd.DataFrame, *, where: str, outcome: str,
                         outcome_levels, population,
                         events: str | None = None) -> pd.DataFrame:
    """A registered model table as reader text.

    ``population`` as given to :func:`register_model_table`.

    Columns ``Factor``, ``<RATIO> crude (95% CI)``, ``p crude``, ``<RATIO>
    adjusted (95% CI)``, ``p adjusted``, ``n``, ``Events``. A row whose
    estimate rests on a hidden or small count (:meth:`Release.estimate_withheld`,
    and :func:`analysis.privacy.withheld_estimates` for the cells the release
    does not hold) shows ``"suppressed"`` for its estimates and p-values.
    """
    from analysis.privacy import (
        COMPLEMENT_LABEL,
        RATIO,
        cell_key,
        estimate_cells,
    )

    levels = [str(v) for v in outcome_levels]
    mode = _events_mode(table, events)
    rate = mode == "none"
    ratio = next(RATIO.match(c).group(1) for c in table.columns if RATIO.match(c))
    withheld = model_withheld(release, table, where=where)
    name = ratio.upper()
    out = pd.DataFrame({"Factor": table["label"]}, index=table.index)
    for model in ("crude", "adjusted"):
        if f"{ratio}_{model}" not in table:
            continue
        out[f"{name} {model} (95% CI)"] = [_ci(*v) for v in table[
            [f"{ratio}_{model}", f"ci_low_{model}", f"ci_high_{model}"]].to_numpy()]
        out[f"p {model}"] = table[f"p_{model}"].map(format_p)
        out.loc[withheld, [f"{name} {model} (95% CI)", f"p {model}"]] = COMPLEMENT_LABEL
    ref_of = estimate_cells(table)["ref_n"].notna()
    n_text, ev_text = [], []
    for idx, row in table.iterrows():
        if pd.isna(row["n"]):
            n_text.append("")
            ev_text.append("")
            continue
        base = cell_key(_population_of(population, row["variable"]))
        cell = _model_cell(base, table, ref_of, idx)
        n_text.append(release.label(cell))
        if rate:  # episodes, not respondents; a ratio on a small n is withheld with it
            ev_text.append("" if pd.isna(row["events"]) else
                           COMPLEMENT_LABEL if withheld.loc[idx] else style.count(row["events"]))
        else:
            ev_text.append(release.label(_event_key(release, cell, outcome, levels, row, mode)))
    if "outcome_level" in table.columns:
        out.insert(0, "Outcome", table["outcome_level"].astype(str))
    out["n"] = n_text
    out["Events"] = ev_text
    if not table["events"].notna().any():
        out = out.drop(columns=["Events"])
    return out.reset_index(drop=True)


__all__ = ["model_withheld", "register_model_table", "released_model_table"]

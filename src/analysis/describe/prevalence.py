"""Prevalence of the outcome overall and by the levels of factors, with Wilson intervals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from analysis.describe.columns import coded_column, require_categorical, unknown_column
from analysis.describe.comparisons import wilson_interval
from analysis.errors import ValidationError
from analysis.survey import Survey

MISSING_LEVEL = "(missing)"


def prevalence(
    survey: Survey,
    outcome: str | None = None,
    by: str | Iterable[str] | None = None,
    *,
    weighted: bool | Literal["auto"] = "auto",
    design: bool = False,
    design_ci: str = "logit",
) -> pd.DataFrame:
    """Prevalence of the outcome's event level, overall and by each level of ``by``.

    The event is the second level of a binary outcome ("Yes"). For each row:
    ``n`` respondents with a known outcome, ``events`` among them,
    ``prevalence = events / n`` and its Wilson score 95% interval
    (:func:`analysis.describe.comparisons.wilson_interval`). Respondents with a
    missing outcome are not counted anywhere; those with a known outcome but a
    missing factor form that factor's ``"(missing)"`` row, so each factor's
    rows add up to the Overall row.

    When weighted (``weighted=True``, or ``"auto"`` and the codebook declares
    a variable with role ``weight``), also ``weighted_prevalence = sum(w y) /
    sum(w)`` and a Wilson interval computed with Kish's effective sample size
    ``n_eff = (sum w)^2 / sum(w^2)`` in place of n (``n_effective``). This
    accounts for the variance that unequal weights add, not for strata or
    clusters: ``design=True`` adds design-based estimates from the codebook's
    weight, stratum and cluster roles -- ``design_prevalence``, its
    Taylor-linearised ``design_se`` and the interval ``design_ci_low,
    design_ci_high`` of R's ``svyciprop`` (survey 4.1) with ``method =
    design_ci``: ``"logit"`` (svyciprop's default), ``expit(logit p ± t se /
    (p (1-p)))`` with t on ``design_df`` degrees of freedom, or ``"beta"``
    (Korn-Graubard; :func:`analysis.design_based.proportion_interval`).
    A level is a domain: its variance is taken in the whole design and its
    ``design_df`` is PSUs minus strata among the respondents in it, R's
    ``degf`` of the subset design that ``svyby(~y, ~f, design, svyciprop)``
    uses (:func:`analysis.design_based.design_df`).

    Parameters
    ----------
    survey : Survey
    outcome : str, optional
        A binary column; defaults to the codebook's outcome.
    by : str or list of str, optional
        Coded factors; each gives one row per level, in codebook order.
    weighted : bool or "auto"
    design : bool
        Add the design-based columns.
    design_ci : "logit" or "beta"
        ``svyciprop``'s method for the design-based interval.

    Returns
    -------
    pandas.DataFrame
        ``variable, label, level, n, events, prevalence, ci_low, ci_high``
        (proportions, 0-1), plus ``weighted_prevalence, weighted_ci_low,
        weighted_ci_high, n_effective`` when weighted. The first row is
        ``variable == "overall"``.

    Notes
    -----
    Tested against a hand computation of the Wilson formula and of the
    weighted proportion and Kish effective sample size; the design columns
    against R's ``svyciprop`` overall and within levels, methods logit and
    beta (fixture ``design``, ``tests/reference/test_r_design.py``).

    Examples
    --------
    >>> prevalence(survey, by=["posture", "sport"])  # doctest: +SKIP
    """
    cb = survey.codebook
    outcome = _outcome(survey, outcome)
    factors = [by] if isinstance(by, str) else list(by or [])
    for name in factors:
        coded_column(survey, name, "prevalence factor")
    weight = _weight(survey, weighted)

    y = survey.data[outcome].cat.codes.to_numpy()
    known = y >= 0
    event = (y[known] == 1).astype(float)
    w = survey.data[weight].to_numpy(dtype=float)[known] if weight else None
    if w is not None:
        _check_weights(survey, weight, w, survey.data.index[known])

    blocks = [_block(np.zeros(event.size, dtype=np.int8), ["All"], event, w)
              .assign(variable="overall", label="Overall")]
    for name in factors:
        column = survey.data[name]
        codes = column.cat.codes.to_numpy()[known]
        levels = [str(level) for level in column.cat.categories]
        block = _block(codes, levels, event, w).assign(variable=name, label=cb.label(name))
        blocks.append(block)
    table = pd.concat(blocks, ignore_index=True)
    front = ["variable", "label", "level", "n", "events", "prevalence", "ci_low", "ci_high"]
    extra = ["weighted_prevalence", "weighted_ci_low", "weighted_ci_high", "n_effective"]
    table = table[front + (extra if weight else [])]
    if design:
        table = _design_columns(survey, table, y, design_ci)
    return table


def _design_columns(survey: Survey, table: pd.DataFrame, y: np.ndarray,
                    method: str = "logit") -> pd.DataFrame:
    """Design-based prevalence, SE and logit interval of every row (domains of the design)."""
    from analysis.design_based import proportion_interval, ratio_estimate, survey_design

    sample = survey_design(survey)
    event = np.where(y >= 0, (y == 1).astype(float), np.nan)
    out = []
    for variable, level in zip(table["variable"], table["level"], strict=True):
        if variable == "overall":
            domain = np.ones(y.size, dtype=bool)
        else:
            column = survey.data[variable]
            codes = column.cat.codes.to_numpy()
            domain = codes < 0 if level == MISSING_LEVEL else codes == [
                str(c) for c in column.cat.categories].index(level)
        p, se, df = ratio_estimate(event, sample, domain)
        n = int((domain & (y >= 0)).sum())
        out.append((p, se, *proportion_interval(p, se, df, method, n), df))
    extra = pd.DataFrame(out, columns=["design_prevalence", "design_se", "design_ci_low",
                                       "design_ci_high", "design_df"], index=table.index)
    return pd.concat([table, extra], axis=1)


def _block(codes: np.ndarray, levels: list[str], event: np.ndarray,
           w: np.ndarray | None) -> pd.DataFrame:
    """Counts and intervals for the levels of one factor (``codes`` -1 = missing)."""
    slots = codes.astype(np.int64) % (len(levels) + 1)  # -1 -> last slot
    size = len(levels) + 1
    sums = None
    if w is not None:
        sums = tuple(np.bincount(slots, weights=x, minlength=size) for x in (w, w**2, w * event))
    return level_table(levels, np.bincount(slots, minlength=size),
                       np.bincount(slots, weights=event, minlength=size), sums)


def level_table(levels: list[str], n: np.ndarray, events: np.ndarray,
                weight_sums: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> pd.DataFrame:
    """Prevalence with Wilson intervals per level, from counts per level plus a missing slot.

    ``n`` and ``events`` have one entry per level and a last one for
    respondents with no level; ``weight_sums`` are (sum w, sum w^2, sum w*y)
    per slot, giving the weighted prevalence with a Wilson interval on Kish's
    effective sample size (sum w)^2 / sum w^2. Shared by the in-memory and
    the DuckDB engines, which only differ in how they count.
    """
    low, high = wilson_interval(events, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame({
            "level": [*levels, MISSING_LEVEL],
            "n": n, "events": events.round().astype(np.int64), "prevalence": events / n,
            "ci_low": low, "ci_high": high,
        })
        if weight_sums is not None:
            sum_w, sum_w2, sum_wy = weight_sums
            p_w = sum_wy / sum_w
            n_eff = sum_w**2 / sum_w2
            w_low, w_high = wilson_interval(p_w * n_eff, n_eff)
            frame = frame.assign(weighted_prevalence=p_w, weighted_ci_low=w_low,
                                 weighted_ci_high=w_high, n_effective=n_eff)
    # The "(missing)" row is shown only when some respondents have no level.
    return frame.iloc[: len(levels) + (1 if n[-1] else 0)]


def _outcome(survey: Survey, outcome: str | None) -> str:
    if outcome is None:
        found = survey.variables("outcome")
        binary = [n for n in found if survey.codebook[n].type == "binary"]
        if not binary:
            raise ValidationError(
                f"{survey.source or 'survey'}: prevalence needs a binary outcome; the codebook "
                "declares none (set `role: outcome` on a binary variable) or pass outcome=."
            )
        outcome = binary[0]
    if outcome not in survey.data.columns or outcome not in survey.codebook:
        raise unknown_column(survey, outcome, "outcome")
    var = survey.codebook[outcome]
    if var.type != "binary":
        raise ValidationError(
            f"outcome {outcome!r} ({var.label}) is {var.type}; prevalence needs a binary outcome."
        )
    return require_categorical(survey, outcome)


def _weight(survey: Survey, weighted: bool | str) -> str | None:
    if weighted not in (True, False, "auto"):
        raise ValidationError(f"weighted must be True, False or 'auto', not {weighted!r}.")
    if weighted is False:
        return None
    name = survey.weight
    if name is None or name not in survey.data.columns:
        if weighted is True:
            raise ValidationError(
                f"{survey.source or 'survey'}: weighted=True but "
                + ("the codebook declares no variable with role weight."
                   if name is None else f"the weight column {name!r} is not in the data.")
            )
        return None
    return name


def _check_weights(survey: Survey, name: str, w: np.ndarray, lines: pd.Index) -> None:
    bad = np.isnan(w) | (w < 0)
    if bad.any():
        first = ", ".join(str(x) for x in lines[bad][:5])
        raise ValidationError(
            f"{survey.source or 'survey'}: weight column {name!r} is missing or negative in "
            f"{int(bad.sum())} rows with a known outcome (first lines: {first}); "
            "fix the weights or pass weighted=False."
        )
    if w.sum() <= 0:
        raise ValidationError(f"weight column {name!r}: the weights sum to zero.")

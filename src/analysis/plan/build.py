"""Deciding the analysis from the codebook and the data: :func:`plan`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.models.design import numeric_step
from analysis.plan.causal import adjustment_candidates, apply_diagram, plan_adjustment
from analysis.plan.spec import AnalysisPlan, ModelPlan
from analysis.style import number

# Fewer events (or non-events) per estimated coefficient than this and maximum likelihood
# is biased away from 1 (Peduzzi et al. 1996); Firth's penalised likelihood is then used.
EVENTS_PER_PARAMETER = 10
# Exposures measured on fewer respondents than this share would restrict the main model
# to those respondents; they get a model of their own in that sub-sample.
SUBSAMPLE = 0.5
# Complete cases below this share of the respondents with an outcome: say so, suggest MI.
COMPLETE_SHARE = 0.5
DOSE_RESPONSE_MIN_DISTINCT = 10


def plan(survey, *, outcomes: Sequence[str] | None = None,
         exposures: Sequence[str] | None = None, adjust_for: Sequence[str] | None = None,
         interactions: Sequence[Sequence[str]] | None = None,
         continuous: Sequence[str] | None = None, per: Mapping[str, float] | None = None,
         missing: str | None = None, firth: str | None = None,
         design: bool | None = None) -> AnalysisPlan:
    """The analysis a report of ``survey`` runs, decided from its codebook and data.

    Each choice comes, in this order, from the arguments, the codebook's
    ``analysis:`` section, or the roles and the data:

    * outcomes: ``role: outcome``; each gets a model by its type: binary ->
      logistic (conditional logistic with a ``role: match`` variable; Firth's
      penalised likelihood when a level of a factor has no events or no
      non-events, or when there are fewer than 10 events per coefficient),
      count -> Poisson, or negative binomial when the variance exceeds 1.5
      times the mean, with the ``role: exposure_time`` variable as offset;
      ordinal -> proportional odds; categorical with more than 2 levels ->
      multinomial.
    * exposures (``role: exposure``) and the adjustment set (``role:
      confounder``); a variable with one value in the complete rows is left
      out and named; exposures measured on fewer than half the respondents
      get a second model in the sub-sample that has them.
    * continuous exposures are reported per a readable step: the codebook's
      ``per:`` (a number, ``sd`` or ``iqr``), else 0.1 for a variable within
      [0, 1] and otherwise the power of ten below its interquartile range
      ("per 10 years").
    * ``weight``/``stratum``/``cluster`` roles -> design-based logistic models.
    * a causal diagram (``analysis: causes:``) and no explicit adjustment set:
      each exposure is adjusted, in a model of its own, for its smallest
      sufficient set by the back-door criterion (:mod:`analysis.plan.causal`).

    Returns an :class:`~analysis.plan.AnalysisPlan`; ``print(plan)`` states
    every decision. Tested on the example, small, sparse, count, ordinal,
    matched and weighted surveys (tests/test_plan.py, tests/own_data).

    Examples
    --------
    >>> print(plan(survey))  # doctest: +SKIP
    """
    cb, data = survey.codebook, survey.data
    section = cb.analysis
    present = set(data.columns)
    outcomes = _choose(outcomes, section and section.outcomes, survey.variables("outcome"))
    outcomes = [o for o in outcomes if o in present]
    exposures = _choose(exposures, section and section.exposures, survey.variables("exposure"))
    # A causal diagram decides the adjustment unless an adjustment set is given.
    explicit = adjust_for is not None or bool(section and section.adjust_for is not None)
    adjust_for = _choose(adjust_for, section and section.adjust_for,
                         survey.variables("confounder"))
    interactions = [tuple(p) for p in (interactions if interactions is not None else
                                        (section.interactions if section else []))]
    missing = missing or (section.missing if section else "complete cases")
    firth = firth or (section.firth if section else "auto")
    design_roles = {r: cb.role(r) for r in ("weight", "stratum", "cluster")}
    wanted_design = design if design is not None else (section.design if section else None)
    use_design = any(design_roles.values()) and wanted_design is not False
    match = cb.role("match")
    time = cb.role("exposure_time")
    models, reasons = [], []
    if not outcomes:
        reasons.append("No outcome: the codebook gives no variable role: outcome (nor "
                       "analysis: outcomes), so the report describes the data only.")
    if use_design:
        reasons.append("The codebook declares a survey design ("
                       + ", ".join(f"{r}: {n}" for r, n in design_roles.items() if n)
                       + "): proportions and logistic models are design-based.")
    for outcome in outcomes:
        exp = [v for v in exposures if v in present and v != outcome]
        adj = [v for v in adjust_for if v in present and v not in exp and v != outcome]
        main, sub = _split_by_coverage(data, exp)
        diagram = (plan_adjustment(survey, outcome, main, adjustment_candidates(survey, outcome))
                   if not explicit else None)
        model = _model_plan(survey, outcome, main, diagram[1] if diagram else adj, interactions,
                            per or {}, missing, firth, use_design, match, time)
        apply_diagram(model, diagram)
        if sub:
            model.reasons.append(
                f"{_names(survey, sub)} {'was' if len(sub) == 1 else 'were'} measured on fewer "
                "than half of the respondents; they are in a second model, fitted in the "
                "respondents who have them.")
        models.append(model)
        if sub:
            diagram = diagram and plan_adjustment(survey, outcome, main + sub,
                                                  adjustment_candidates(survey, outcome) + sub)
            extra = _model_plan(survey, outcome, main + sub, diagram[1] if diagram else adj,
                                interactions, per or {}, missing, firth, use_design, match, time,
                                subsample=True)
            apply_diagram(extra, diagram, only=sub)
            extra.reasons.insert(0, "Sub-sample model: the exposures above and "
                                    f"{_names(survey, sub)}, in the respondents who have them.")
            models.append(extra)
    instruments = list(cb.instruments)
    numeric = [v for v in exposures if v in present and cb[v].type in ("numeric", "count")]
    if continuous is None and section and section.continuous is not None:
        continuous = section.continuous
    if continuous is None:
        continuous = [v for v in numeric
                      if data[v].nunique(dropna=True) >= DOSE_RESPONSE_MIN_DISTINCT]
    binary = [m for m in models if m.kind == "binary"]
    sections = ["flow", "missing", "characteristics"]
    sections += ["prevalence"] if binary else []
    sections += ["models"] if models else []
    sections += ["dose_response"] if continuous and binary else []
    sections += ["performance"] if any(m.model in ("logistic", "Firth logistic")
                                       for m in binary) else []
    sections += ["questionnaires"] if instruments else []
    sections += ["truth"] if cb.simulated else []
    return AnalysisPlan(name=cb.name, models=models,
                        design=design_roles if use_design else None,
                        continuous=list(continuous) if binary else [],
                        instruments=instruments, simulated=cb.simulated, sections=sections,
                        reasons=reasons)


def _choose(given, from_section, from_roles) -> list[str]:
    if given is not None:
        return [given] if isinstance(given, str) else list(given)
    if from_section is not None:
        return list(from_section)
    return list(from_roles)


def _names(survey, names: Sequence[str]) -> str:
    return ", ".join(survey.label(n) for n in names)


def _split_by_coverage(data: pd.DataFrame, names: list[str]) -> tuple[list[str], list[str]]:
    share = data[names].notna().mean() if names else pd.Series(dtype=float)
    return ([n for n in names if share[n] >= SUBSAMPLE],
            [n for n in names if share[n] < SUBSAMPLE])


def _model_plan(survey, outcome, exposures, adjust_for, interactions, per, missing, firth,
                use_design, match, time, subsample: bool = False) -> ModelPlan:
    cb, data = survey.codebook, survey.data
    var = cb[outcome]
    kind = _kind(var, data[outcome])
    variables = [*exposures, *adjust_for]
    used = [outcome, *variables] + ([time] if time and kind == "count" else [])
    used += [match] if match and kind == "binary" else []
    complete = data[used].notna().all(axis=1).to_numpy()
    # the model's columns of its complete rows: a copy of every column of the survey's
    # complete rows took a quarter of the plan at 10^6 rows
    rows = data.loc[complete, list(dict.fromkeys(used))]
    with_outcome = int(data[outcome].notna().sum())
    model = ModelPlan(outcome=outcome, label=var.label, kind=kind, model="", subsample=subsample,
                      exposures=list(exposures), adjust_for=list(adjust_for),
                      event=var.event_label if kind == "binary" else None,
                      missing=missing, n_read=len(data), n_complete=int(complete.sum()))
    # A variable without variation in the rows the model uses has no estimate.
    for v in variables:
        if rows[v].nunique(dropna=True) < 2:
            model.dropped[v] = "one value only in the complete rows"
    kept = [v for v in variables if v not in model.dropped]
    model.dropped.update(_aliased(survey, rows, kept))
    model.exposures = [v for v in exposures if v not in model.dropped]
    model.adjust_for = [v for v in adjust_for if v not in model.dropped]
    model.interactions = [p for p in interactions
                          if all(v in model.exposures + model.adjust_for for v in p)]
    if missing == "mice":
        model.reasons.append("Missing values are multiply imputed (chained equations, 20 "
                             "imputations), and estimates pooled by Rubin's rules.")
    elif not subsample and with_outcome and model.n_complete < COMPLETE_SHARE * with_outcome:
        model.reasons.append(
            f"Only {model.n_complete} of {with_outcome} respondents with the outcome have every "
            "model variable (complete cases); consider multiple imputation (analysis: missing: "
            "mice) or a smaller adjustment set.")
    if kind == "binary":
        _binary_model(model, survey, rows, firth, use_design, match)
    elif kind == "count":
        _count_model(model, rows, time, survey)
    elif kind == "ordinal":
        model.model = "proportional odds"
    elif kind == "nominal":
        model.model = "multinomial"
    else:
        model.model = ""
        model.reasons.append(f"{var.label} is {var.type}: no model of this package fits it; "
                             "it is described only.")
    _scale_continuous(model, survey, rows, per)
    return model


# Above this many complete rows the aliasing check runs first on a sample of them; see
# _aliased. At 10^6 rows the full check took 3.9 of the plan's 5.5 s, in every notebook.
ALIAS_SAMPLE = 100_000


def _aliased(survey, rows: pd.DataFrame, names: list[str]) -> dict[str, str]:
    """:func:`_aliased_rows` on all rows, answered from a sample when the sample settles it.

    A linear dependence among the columns holds on every row, so it holds in
    any sample of them: a sample that shows none, has every level of every
    factor and no column constant, proves there is none in all rows. Any
    other outcome is decided on all rows, so a variable is only ever dropped
    for a dependence that the full data have.
    """
    if len(rows) <= ALIAS_SAMPLE:
        return _aliased_rows(survey, rows, names)
    sample = rows.sample(n=ALIAS_SAMPLE, random_state=0)
    coded = [n for n in names if survey.codebook[n].type not in ("numeric", "count")]
    complete = all(sample[n].nunique() == rows[n].nunique() for n in coded)
    varies = all(sample[n].nunique() > 1 for n in names)
    if complete and varies and not _aliased_rows(survey, sample, names):
        return {}
    return _aliased_rows(survey, rows, names)


def _aliased_rows(survey, rows: pd.DataFrame, names: list[str]) -> dict[str, str]:
    """Variables whose columns are linear combinations of earlier ones, and of which.

    Method: the model's columns (intercept, treatment dummies of the observed
    levels, numbers) are added one variable at a time, in plan order
    (exposures, then the adjustment set); a variable with a column whose
    least-squares residual on the earlier columns is below 1e-3 of its own
    spread about the mean (R² above 1 - 1e-6: exactly aliased, or aliased up
    to the rounding of the file, such as an angle recorded as the sum of two
    others to 2 decimals) is left out, as R's ``glm`` drops the later of two
    aliased terms. It is named with the variables it depends on: those whose
    part of that fit is above 1e-2 of its spread (rounding noise is not).
    """
    if len(rows) == 0 or not names:
        return {}
    cb = survey.codebook
    blocks: list[tuple[str, np.ndarray]] = [("(intercept)", np.ones((len(rows), 1)))]
    # An orthonormal basis of the columns kept so far: a column's residual on them is
    # two projections (Gram-Schmidt twice), not a least-squares fit of every column again.
    # The least-squares fit decides, as it always did, once a residual looks small.
    basis = np.full((len(rows), 1), 1 / np.sqrt(len(rows)))
    out: dict[str, str] = {}
    for name in names:
        block = _model_columns(rows[name], cb[name].type in ("numeric", "count"))
        spread = np.linalg.norm(block - block.mean(axis=0), axis=0)
        if block.shape[1] == 0 or not np.all(spread > 0):
            continue
        residual = block - basis @ (basis.T @ block)
        residual -= basis @ (basis.T @ residual)
        if np.any(np.linalg.norm(residual, axis=0) < 1e-3 * spread):
            before = np.hstack([b for _, b in blocks])
            coef = np.linalg.lstsq(before, block, rcond=None)[0]
            if np.any(np.linalg.norm(block - before @ coef, axis=0) < 1e-3 * spread):
                scale = np.abs(coef) * np.linalg.norm(before, axis=0)[:, None]
                owners, start = [], 0
                for owner, b in blocks:
                    width = b.shape[1]
                    if owner != "(intercept)" and (scale[start:start + width]
                                                   > 1e-2 * spread.max()).any():
                        owners.append(owner)
                    start += width
                out[name] = ("it is a linear combination of " + " and ".join(
                    survey.label(o) for o in owners) + " (aliased)" if owners
                    else "it is constant (aliased with the intercept)")
                continue
        blocks.append((name, block))
        q, r = np.linalg.qr(residual)
        size = np.abs(np.diag(r))
        basis = np.hstack([basis, q[:, size > 1e-10 * max(size.max(), 1e-300)]])
    return out


def _model_columns(column: pd.Series, numeric: bool) -> np.ndarray:
    """A variable's model columns: its values, or treatment dummies of its observed levels.

    The dummies are ``pd.get_dummies(column.astype(object), drop_first=True)``'s
    (the observed values sorted, the first left out), built from a
    categorical's codes without the object copy.
    """
    if numeric:
        return column.to_numpy(dtype=float)[:, None]
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return pd.get_dummies(column.astype(object), drop_first=True, dtype=float).to_numpy()
    codes = column.cat.codes.to_numpy()
    observed = np.flatnonzero(np.bincount(codes[codes >= 0],
                                          minlength=len(column.cat.categories)))
    labels = pd.Series(np.asarray(column.cat.categories, dtype=object)[observed], dtype=object)
    # the order get_dummies gives them: the categories of an unordered Categorical
    order = pd.Categorical(labels).categories
    code_of = dict(zip(labels.tolist(), observed.tolist(), strict=True))
    kept = [code_of[level] for level in order.tolist()[1:]]
    return (codes[:, None] == np.asarray(kept, dtype=codes.dtype)[None, :]).astype(float)


def _kind(var, column: pd.Series) -> str:
    if var.type == "binary":
        return "binary"
    if var.type == "count":
        return "count"
    if var.type == "ordinal":
        return "ordinal"
    if var.type == "categorical":
        return "binary" if len(var.codes) == 2 else "nominal"
    return var.type


def _binary_model(model: ModelPlan, survey, rows: pd.DataFrame, firth: str, use_design: bool,
                  match: str | None) -> None:
    cb = survey.codebook
    if match:
        model.model, model.match = "conditional logistic", match
        model.reasons.append(f"Respondents are in matched sets ({cb.label(match)}): conditional "
                             "logistic regression, which compares cases with controls within "
                             "each set.")
        return
    y = rows[model.outcome].astype(object) == model.event
    events, nonevents = int(y.sum()), int((~y).sum())
    parameters = sum(_columns(cb, rows, v) for v in [*model.exposures, *model.adjust_for])
    parameters += len(model.interactions)
    epp = min(events, nonevents) / max(parameters, 1)
    separated = [f"{cb.label(v)}: {level}" for v in [*model.exposures, *model.adjust_for]
                 if cb[v].type in ("binary", "categorical", "ordinal")
                 for level in _one_sided(rows[v], y)]
    use_firth = firth == "always" or (firth == "auto" and (separated or
                                                           epp < EVENTS_PER_PARAMETER))
    model.model = "Firth logistic" if use_firth else "logistic"
    if firth == "always":
        model.reasons.append("Firth's penalised likelihood, as the codebook asks.")
    elif use_firth and separated:
        model.reasons.append("Firth's penalised likelihood: some levels have only events or "
                             "only non-events (" + "; ".join(separated[:5]) + "), where maximum "
                             "likelihood gives no finite odds ratio.")
    elif use_firth:
        model.reasons.append(f"Firth's penalised likelihood: {min(events, nonevents)} "
                             f"{'events' if events <= nonevents else 'non-events'} for "
                             f"{parameters} coefficients ({number(epp, 1)} per coefficient, "
                             f"fewer than {EVENTS_PER_PARAMETER}).")
    model.measures = ["prevalence ratio", "prevalence difference"]
    share = events / max(events + nonevents, 1)
    model.reasons.append(
        f"Prevalence ratios and differences are reported beside the odds ratios: with "
        f"{number(100 * share, 0)}% events " + ("an odds ratio overstates the prevalence ratio."
                                  if share >= 0.1 else "the odds ratio is close to the "
                                  "prevalence ratio, and the difference gives the absolute "
                                  "scale."))
    if use_design and not use_firth:
        model.design = True
        model.reasons.append("Design-based (Taylor-linearised) standard errors, with t "
                             "intervals on the design's degrees of freedom.")
    elif use_design:
        model.reasons.append("The survey design is not used in this model: Firth's penalised "
                             "likelihood has no design-based variance here.")


def _one_sided(levels: pd.Series, events: pd.Series) -> list:
    """The levels of ``levels`` whose respondents are all events or all non-events."""
    grouped = events.groupby(levels, observed=True)
    hits, sizes = grouped.sum(), grouped.size()
    return [level for level, n in sizes.items() if n and hits[level] in (0, n)]


def _columns(cb, rows: pd.DataFrame, name: str) -> int:
    if cb[name].type in ("binary", "categorical", "ordinal"):
        return max(int(rows[name].nunique()) - 1, 0)
    return 1


def _count_model(model: ModelPlan, rows: pd.DataFrame, time: str | None, survey) -> None:
    y = rows[model.outcome].to_numpy(dtype=float)
    if time:
        model.exposure_time = time
        unit = survey.codebook[time].unit
        model.reasons.append(f"Counts are rates per unit of {survey.label(time)}"
                             + (f" ({unit})" if unit else "")
                             + ": the logarithm of each respondent's time is an offset.")
    mean, var = float(np.mean(y)) if y.size else 0.0, float(np.var(y, ddof=1)) if y.size > 1 \
        else 0.0
    if mean > 0 and var > 1.5 * mean:
        model.model = "negative binomial"
        model.reasons.append(f"Negative binomial: the variance of the counts is "
                             f"{number(var / mean, 1)} times their mean (Poisson assumes 1).")
    else:
        model.model = "Poisson"
        model.reasons.append("Poisson: the counts are not overdispersed (variance "
                             f"{number(var / mean if mean else 0, 1)} times the mean).")


def _scale_continuous(model: ModelPlan, survey, rows: pd.DataFrame,
                      per: Mapping[str, float]) -> None:
    cb = survey.codebook
    for name in [*model.exposures, *model.adjust_for]:
        var = cb[name]
        if var.type not in ("numeric", "count"):
            continue
        values = rows[name].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        chosen = per.get(name, var.per)
        step, text = numeric_step(values, chosen if chosen is not None
                                  else _default_step(values), var.unit)
        model.per[name] = step
        model.per_text[name] = text


def _default_step(values: np.ndarray) -> float:
    """0.1 on [0, 1]; else the power of ten at or below the interquartile range (at least 1
    for whole numbers)."""
    if values.size == 0:
        return 1.0
    if values.min() >= 0 and values.max() <= 1:
        return 0.1
    q1, q3 = np.percentile(values, [25, 75])
    spread = q3 - q1
    if spread <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(spread))
    whole = np.all(np.mod(values, 1) == 0)
    return max(step, 1.0) if whole else step


__all__ = ["plan"]

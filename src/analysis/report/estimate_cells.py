"""The count cells behind estimates that no table shows: additive-interaction contrasts.

RERI, AP and S of two factors rest on four odds ratios against the
respondents with neither exposure (OR10, OR01, OR11), each with its interval:
with the group sizes they give the exposure-combination x outcome cells back
(Woolf's formula, as for any odds ratio). So each contrast is registered with
the report's :class:`~analysis.privacy.Release` as an estimate resting on the
eight cells (the four combinations of the two factors' levels, by event and
non-event) among the rows of the model that estimates it, counted from that
fit's own rows (or covariate patterns), and withheld
(:func:`additive_withheld`) when one of them is below the threshold or
hidden. The cells are registered as unreleased: the report never prints them.
"""

from __future__ import annotations

import re

import numpy as np

from analysis.privacy import Release, cell_key

MODELS = ("logistic", "Firth logistic")


def additive_fit_name(model, a: str, b: str) -> str:
    """The fitted model whose product term the additive measures of ``a`` x ``b`` use."""
    return f"adjusted: {a} × {b}" if model.adjustment_sets else "adjusted"


def additive_estimate(model, a: str, b: str, level: str) -> str:
    """The release's name of the additive measures of contrast ``level`` ("Yes × Poor")."""
    return f"additive {model.key}: {a} × {b}: {level}"


def _cells(fit, variable: str) -> tuple[np.ndarray, list[str], str]:
    """(codes of each design row, level names, the reference level) of a factor of ``fit``."""
    enc = fit.encoded[variable]
    levels = [str(c) for c in enc.categories]
    names = set(fit.design.names)
    reference = next(lv for lv in levels if f"{variable}[{lv}]" not in names)
    return np.asarray(enc.codes), levels, reference


def pair_counts(fit, first: str, second: str) -> dict | None:
    """Events and respondents of ``fit``'s rows by the levels of two factors, or None.

    ``{"levels": (levels of first, of second), "reference": (their reference
    levels), "events": 2-D array, "trials": 2-D array}``, rows the first
    factor's levels; None when the fit keeps no rows or patterns, or a
    variable is numeric. The run stores them with its shared fits
    (:mod:`analysis.report.shared_fits`), so the notebook registers the
    additive contrasts' cells without the rows.
    """
    if fit.y is not None:
        events, trials = np.asarray(fit.y, dtype=float), np.ones(len(fit.y))
    elif fit.events is not None:
        events, trials = np.asarray(fit.events, float), np.asarray(fit.trials, float)
    else:
        return None
    try:
        (ca, la_all, ra), (cb, lb_all, rb) = _cells(fit, first), _cells(fit, second)
    except (StopIteration, AttributeError, KeyError):
        return None  # a numeric variable in the pair: no 2 x 2 contrast
    shape = (len(la_all), len(lb_all))
    # whole counts (0/1 outcomes or pattern counts) add up exactly in any order
    cell = ca.astype(np.int64) * shape[1] + cb
    size = shape[0] * shape[1]
    return {"levels": (la_all, lb_all), "reference": (ra, rb),
            "events": np.bincount(cell, weights=events, minlength=size).reshape(shape),
            "trials": np.bincount(cell, weights=trials, minlength=size).reshape(shape)}


def interaction_pairs(fit) -> list[tuple[str, str]]:
    """The two variables of each interaction term of ``fit``'s design."""
    return [tuple(t.variables) for t in fit.design.terms
            if t.kind == "interaction" and len(t.variables) == 2]


def register_additive(release: Release, fitted) -> list[str]:
    """Register the cells behind each additive-interaction contrast of a planned model.

    Returns the estimates' names (:func:`additive_estimate`); none for a model
    that is not logistic, declares no interaction of two factors, or whose
    fit keeps no rows (multiple imputation pools several). A fit shared by
    the run brings its counts (:func:`pair_counts`) instead of its rows.
    """
    model, result = fitted.plan, fitted.result
    if model.model not in MODELS or not model.interactions or result is None:
        return []
    out = []
    for a, b in model.interactions:
        fit = getattr(result, "models", {}).get(additive_fit_name(model, a, b))
        term = None if fit is None else next(
            (t for t in fit.design.terms if t.kind == "interaction"
             and set(t.variables) == {a, b}), None)
        if term is None:
            continue
        first, second = term.variables
        stored = getattr(fit, "pair_counts", None)  # a shared fit's: no rows
        counts = stored.get((first, second)) if isinstance(stored, dict) else (
            None if not all(v in fit.encoded for v in term.variables)
            else pair_counts(fit, first, second))
        if counts is None:
            continue
        (la_all, lb_all), (ra, rb) = counts["levels"], counts["reference"]
        population = f"{model_population(model)}:additive {first} × {second}"
        for level in term.levels:
            la, lb = str(level).split(" × ")
            keys = []
            for x in (la, ra):
                for z in (lb, rb):
                    i, j = la_all.index(x), lb_all.index(z)
                    ev, n = float(counts["events"][i, j]), float(counts["trials"][i, j])
                    base = cell_key(population, {first: x, second: z})
                    keys.append(release.add_cell(base.plus(model.outcome, "event"), ev,
                                                 released=False))
                    keys.append(release.add_cell(base.plus(model.outcome, "non-event"),
                                                 n - ev, released=False))
            out.append(release.add_estimate(additive_estimate(model, a, b, str(level)), keys))
    return out


def additive_withheld(release: Release, model, a: str, b: str, level: str) -> bool:
    """Whether the RERI, AP, S and odds ratios of a contrast must not be shown.

    Withheld when a cell behind it is small or hidden; also when the release
    never registered it (nothing vouches for its cells).
    """
    name = additive_estimate(model, a, b, level)
    return name not in release.estimates() or release.estimate_withheld(name)


# ---- counts in the plan's reasons (the methods text and the model notices) -------------
FIRTH = re.compile(r"(\d[\d,]*) (events|non-events) for \d+ coefficients \([\d.]+ per "
                   r"coefficient, fewer than (\d+)\)")
SHARE = re.compile(r"with (\d+)% events (an odds ratio overstates the prevalence ratio|the "
                   r"odds ratio is close to the prevalence ratio, and the difference gives "
                   r"the absolute scale)\.")
def model_population(model) -> str:
    """The population of a model's counts: its complete cases."""
    return f"model:{model.key}"


WORDS = {5: "five", 10: "ten", 15: "fifteen", 20: "twenty"}


def _model_margins(release: Release, model) -> list[tuple[int, int]]:
    """(outcome-level count, total) of ``model``'s complete cases, when both are shown exactly.

    Only that model's cells count: another model's count of the same value
    says nothing about whether this one's is shown.
    """
    if model is None:
        return []
    total = cell_key(model_population(model))
    if total not in release or release.rounding is not None \
            or release.count(total) is None or release.status(total) != "shown":
        return []
    out = []
    for key in release.cells(total.population):
        if len(key.levels) == 1 and next(iter(dict(key.levels))) == model.outcome \
                and release.count(key) is not None and release.status(key) == "shown":
            out.append((int(release.count(key)), int(release.count(total))))
    return out


def released_words(release: Release, text: str, model) -> str:
    """A plan's reason about ``model`` without the counts the release does not show as they are.

    Firth's reason, "3 events for 4 coefficients (0.8 per coefficient,
    fewer than 10)", gives the events back from its decimal and the number of
    coefficients, and "with 8% events" gives them back from the model's n: a
    count is kept only when it is ``model``'s own count of a level of its
    outcome (population :func:`model_population`)
    that the release shows exactly (no rounding), with its total for a
    percentage. The count of another model, even of the same value, vouches
    for nothing (its cell may be shown while this one's is hidden); with
    ``model=None`` no count is kept. Otherwise the sentence says the same
    without the number ("fewer than ten events per coefficient"; the
    prevalence-ratio sentence without the share). Numbers are spelled out so
    that no later masking of small whole numbers reads them as counts.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = Release(threshold=5)
    >>> _ = r.add_cell(cell_key("model:m"), 40)
    >>> _ = r.add_cell(cell_key("model:m", y="Yes"), 3)
    >>> m = SimpleNamespace(key="m", outcome="y")  # a plan's model: its key and outcome
    >>> released_words(r, "Firth's penalised likelihood: 3 events for 4 coefficients "
    ...                "(0.8 per coefficient, fewer than 10).", m)
    "Firth's penalised likelihood: fewer than ten events per coefficient."
    """
    margins = _model_margins(release, model)

    def firth(match: re.Match) -> str:
        count, what, rule = int(match.group(1).replace(",", "")), match.group(2), match.group(3)
        if any(count == k for k, _ in margins):
            return match.group(0)
        return f"fewer than {WORDS.get(int(rule), rule)} {what} per coefficient"

    def share(match: re.Match) -> str:
        pct = int(match.group(1))
        if any(n and round(100 * k / n) == pct for k, n in margins):
            return match.group(0)
        return ("an odds ratio overstates the prevalence ratio when events are common, and "
                "the difference gives the absolute scale.")

    text = FIRTH.sub(firth, text)
    return SHARE.sub(share, text)


__all__ = ["additive_estimate", "additive_fit_name", "additive_withheld", "interaction_pairs",
           "model_population", "pair_counts", "register_additive", "released_words"]

"""Matched pairs without a model: the flow of matched sets, discordant pairs, McNemar's test.

These are the hand checks of :func:`~analysis.models.conditional_logistic`:
for one binary exposure in 1:1 pairs the conditional maximum-likelihood odds
ratio is the ratio of the two kinds of discordant pair (Breslow & Day 1980,
*Statistical Methods in Cancer Research I*, sec. 7.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.aggregate import event_indicator
from analysis.errors import ModelError
from analysis.models.conditional import matched_set_column

Z95 = stats.norm.ppf(0.975)


def _matched(survey, outcome: str | None, strata: str | None) -> tuple[str, str]:
    cb = survey.codebook
    strata = strata or matched_set_column(cb)
    if outcome is None:
        outcomes = [v for v in survey.variables("outcome") if cb[v].type == "binary"]
        outcome = outcomes[0] if len(outcomes) == 1 else None
    for what, name in (("strata", strata), ("outcome", outcome)):
        if name is None or name not in survey.data.columns:
            where = f"column {name!r} is not in the survey" if name else "none is named"
            raise ModelError(f"Matched pairs need the {what} column: {where}; name it with "
                             f"{what}= or give a codebook variable that role "
                             f"({'match' if what == 'strata' else 'outcome'}).")
    return outcome, strata


def matched_sets(survey, exposure: str, outcome: str | None = None,
                 strata: str | None = None) -> pd.DataFrame:
    """Flow of matched sets: read, complete, informative, discordant for ``exposure``.

    Method: rows missing the outcome, the exposure or the set leave first; a
    set informs conditional logistic regression only when it holds both a
    case and a control (its conditional likelihood is otherwise constant);
    for a single binary exposure only the informative sets whose members
    differ in exposure do (Breslow & Day 1980, ch. 7). The event is the
    outcome's event level (codebook ``event:``). Tested against a hand count
    of the HSAUR3 ``backpain`` pairs read without the package (217 pairs, 60
    discordant for driving; tests/test_models_conditional.py).

    Returns
    -------
    DataFrame
        ``stage, sets, rows``: one line per stage, each a subset of the one above.

    Examples
    --------
    >>> matched_sets(datasets.load("hsaur3-backpain"), "driver")  # doctest: +SKIP
    """
    outcome, strata = _matched(survey, outcome, strata)
    data = survey.data
    complete = data[[strata, outcome, exposure]].notna().all(axis=1)
    frame = data.loc[complete, [strata, exposure]].copy()
    frame["y"] = event_indicator(data.loc[complete, outcome], outcome)
    by_set = frame.groupby(strata, observed=True, sort=True)
    cases, size = by_set["y"].sum(), by_set["y"].size()
    informative = cases.index[(cases > 0) & (cases < size)]
    levels = by_set[exposure].nunique()
    discordant = informative.intersection(levels.index[levels > 1])
    n_rows = frame.groupby(strata, observed=True)["y"].size()
    return pd.DataFrame({
        "stage": ["Matched sets read", "Sets complete for the model variables",
                  "Sets with a case and a control",
                  f"Sets discordant for {survey.label(exposure).lower()}"],
        "sets": [int(data[strata].nunique()), int(size.size), int(informative.size),
                 int(discordant.size)],
        "rows": [int(data[strata].notna().sum()), int(size.sum()),
                 int(n_rows[informative].sum()), int(n_rows[discordant].sum())]})


def discordant_pairs(survey, exposure: str, outcome: str | None = None,
                     strata: str | None = None) -> pd.DataFrame:
    """The 2x2 table of 1:1 matched pairs: the case's exposure against its control's.

    Method: pairs holding one case and one control (the event level of the
    outcome marks the case) and complete for the exposure are cross-tabulated
    by the exposure of case (rows) and control (columns), the layout of
    Breslow & Day (1980, ch. 5, classical methods for matched data). Pairs without both
    a case and a control, or missing the exposure, are left out; an
    informative set that is not one case and one control is a
    :class:`~analysis.errors.ModelError` (the table is defined for pairs
    only; use :func:`~analysis.models.conditional_logistic`). Tested against
    a hand count of the HSAUR3 ``backpain`` pairs (41 pairs with only the
    case driving, 19 with only the control; tests/test_models_conditional.py).

    Returns
    -------
    DataFrame
        ``case`` (the case's exposure level), one column per control
        exposure level, and ``total``; a last row ``Total``.
        ``attrs["levels"]`` holds the levels (reference first).

    Examples
    --------
    >>> discordant_pairs(datasets.load("hsaur3-backpain"), "driver")  # doctest: +SKIP
    """
    outcome, strata = _matched(survey, outcome, strata)
    data = survey.data
    column = data[exposure]
    levels = [str(c) for c in column.cat.categories] if column.dtype == "category" \
        else sorted(map(str, column.dropna().unique()))
    if len(levels) != 2:
        raise ModelError(f"discordant_pairs: {exposure!r} has {len(levels)} levels; the table "
                         "needs a binary exposure.")
    keep = data[[strata, outcome, exposure]].notna().all(axis=1)
    frame = pd.DataFrame({"set": data.loc[keep, strata].astype(str),
                          "y": event_indicator(data.loc[keep, outcome], outcome),
                          "x": data.loc[keep, exposure].astype(str)})
    by_set = frame.groupby("set")["y"].agg(["sum", "size"])
    pairs = by_set.index[(by_set["sum"] == 1) & (by_set["size"] == 2)]
    other = by_set[(by_set["sum"] > 0) & (by_set["sum"] < by_set["size"])
                   & ~by_set.index.isin(pairs)]
    if len(other):
        raise ModelError(f"discordant_pairs: {len(other)} informative matched set(s) in "
                         f"{strata!r} are not one case and one control (first: "
                         f"{', '.join(map(str, other.index[:5]))}); use conditional_logistic.")
    frame = frame[frame["set"].isin(pairs)]
    wide = frame.pivot(index="set", columns="y", values="x")
    counts = pd.crosstab(pd.Categorical(wide[1.0], levels), pd.Categorical(wide[0.0], levels),
                         dropna=False)
    out = pd.DataFrame({"case": levels, **{lv: counts[lv].to_numpy() for lv in levels}})
    out["total"] = out[levels].sum(axis=1)
    out.loc[len(out)] = ["Total", *out[levels].sum().tolist(), int(out["total"].sum())]
    out.attrs["levels"] = levels
    return out


def mcnemar(pairs: pd.DataFrame) -> pd.DataFrame:
    """Matched-pair odds ratio and McNemar's test from a :func:`discordant_pairs` table.

    Method: with ``b`` pairs whose case alone is exposed and ``c`` pairs
    whose control alone is, OR = ``b / c`` with the interval ``exp(log(b/c)
    ± 1.96 sqrt(1/b + 1/c))``: exactly the conditional maximum-likelihood
    estimate and Wald interval for one binary exposure in 1:1 pairs
    (Breslow & Day 1980, sec. 7.2); McNemar's chi-square ``(b - c)^2 / (b +
    c)`` on 1 df (McNemar 1947, *Psychometrika* 12:153; no continuity
    correction) and the exact binomial p-value of ``b`` out of ``b + c`` at
    1/2. Either count 0 is a :class:`~analysis.errors.ModelError` (the odds
    ratio is not finite).

    Tested against ``statsmodels.stats.contingency_tables.mcnemar`` (chi-square
    and exact p) and :func:`~analysis.models.conditional_logistic` (odds ratio
    and interval to 1e-5) on the HSAUR3 ``backpain`` pairs, and on a
    constructed table (tests/test_models_conditional.py).

    Returns
    -------
    DataFrame
        One row: ``case_only_exposed, control_only_exposed, odds_ratio,
        ci_low, ci_high, chi2, p_value, p_exact``.

    Examples
    --------
    >>> mcnemar(discordant_pairs(backpain, "driver"))["odds_ratio"]  # doctest: +SKIP
    0    2.157895
    """
    exposed, unexposed = pairs.attrs.get("levels", list(pairs.columns[1:3]))[::-1]
    row = pairs.set_index("case")
    b, c = float(row.loc[exposed, unexposed]), float(row.loc[unexposed, exposed])
    if b == 0 or c == 0:
        raise ModelError(f"mcnemar: {int(b)} and {int(c)} discordant pairs; the odds ratio is "
                         "not finite when either is 0.")
    log_or, se = np.log(b / c), np.sqrt(1 / b + 1 / c)
    chi2 = (b - c) ** 2 / (b + c)
    return pd.DataFrame({
        "case_only_exposed": [int(b)], "control_only_exposed": [int(c)],
        "odds_ratio": [b / c], "ci_low": [np.exp(log_or - Z95 * se)],
        "ci_high": [np.exp(log_or + Z95 * se)], "chi2": [chi2],
        "p_value": [float(stats.chi2.sf(chi2, 1))],
        "p_exact": [float(stats.binomtest(int(b), int(b + c), 0.5).pvalue)]})


__all__ = ["discordant_pairs", "matched_sets", "mcnemar"]

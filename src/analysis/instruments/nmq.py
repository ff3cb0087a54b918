"""Nordic Musculoskeletal Questionnaire (Kuorinka et al. 1987): prevalence by region."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analysis.errors import BackpainWarning, ScoringError
from analysis.instruments._items import category_lookup

NMQ_REGIONS: tuple[str, ...] = (
    "neck", "shoulders", "elbows", "wrists_hands", "upper_back", "low_back", "hips_thighs",
    "knees", "ankles_feet",
)
WINDOWS: dict[str, str] = {
    "12m": "trouble in the last 12 months",
    "7d": "trouble in the last 7 days",
    "prevented": "prevented normal activities in the last 12 months",
}
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


def nmq_prevalence(survey, region: str | Sequence[str] | None = None,
                   ci: float = 0.95) -> pd.DataFrame:
    """12-month, 7-day and prevented-activity prevalence of trouble in a body region.

    Method
    ------
    For region r and window w, ``prevalence = 100 x yes / n`` with a Wilson
    score interval (``proportion_confint(method="wilson")``). The NMQ asks
    the 7-day and prevented questions only of those with 12-month trouble,
    so a respondent who answered No to 12-month trouble counts as No for
    both, even when they were skipped: a skip is not missing. A respondent
    whose 12-month answer is missing leaves the region's denominators; one
    with 12-month Yes and the later question unanswered leaves that window's
    denominator only. A 7-day or prevented Yes after a 12-month No is
    inconsistent: it is counted as answered, not recoded, counted in
    ``n_inconsistent`` and warned about. Prevalences are unweighted.

    Parameters
    ----------
    survey : Survey or DataFrame
        A :class:`~analysis.survey.Survey` whose codebook marks the items as
        instrument ``nmq`` with items ``<region>_12m``, ``<region>_7d``,
        ``<region>_prevented``; or a DataFrame with columns of those names
        (0/1, booleans, or Yes/No). A window without its item is left out.
    region : str, list of str, or None
        Region(s), e.g. ``"low_back"``; None for every region found.
    ci : float
        Coverage of the interval.

    Returns
    -------
    Tidy DataFrame, one row per region and window: ``region, window,
    question, n_yes, n, prevalence, ci_low, ci_high`` (percentages) and
    ``n_inconsistent``.

    References
    ----------
    Kuorinka I et al. Appl Ergon 1987;18:233-7. Crawford JO. Occup Med
    2007;57:300-1. ``reference/instruments.md`` §4 (the six-respondent
    low-back vector: 60 %, 20 %, 20 % of 5). Intervals checked against
    Wilson's closed form.

    Examples
    --------
    >>> answers = pd.DataFrame({"low_back_12m": [1, 1, 0, 0], "low_back_7d": [1, 0, None, None]})
    >>> nmq_prevalence(answers, "low_back")["prevalence"].tolist()
    [50.0, 25.0]
    """
    answers = _answers(survey)
    if region is None:
        regions = sorted({c.rsplit("_", 1)[0] for c in answers if c.endswith("_12m")})
    else:
        regions = [region] if isinstance(region, str) else list(region)
    rows = []
    for r in regions:
        key = f"{r}_12m"
        if key not in answers:
            known = sorted(c.removesuffix("_12m") for c in answers if c.endswith("_12m"))
            raise ScoringError(f"NMQ: no item {key!r} for region {r!r}; regions found: {known}.")
        trouble = answers[key]
        for window, question in WINDOWS.items():
            if f"{r}_{window}" not in answers:
                continue
            answer = trouble if window == "12m" else answers[f"{r}_{window}"]
            inconsistent = (trouble == 0) & (answer == 1)
            # A skip after a 12-month No is a No; the answer itself wins if one was given.
            value = answer.where(answer.notna() | (trouble != 0), 0.0).where(trouble.notna())
            valid = value.notna()
            n, yes = int(valid.sum()), int((value[valid] == 1).sum())
            if inconsistent.any():
                lines = list(answer.index[inconsistent][:5])
                warnings.warn(
                    f"NMQ {r}: {int(inconsistent.sum())} respondent(s) said Yes to "
                    f"'{question}' but No to 12-month trouble (lines {lines}); counted as "
                    f"answered, not recoded.", BackpainWarning, stacklevel=2)
            low, high = (proportion_confint(yes, n, alpha=1 - ci, method="wilson")
                         if n else (np.nan, np.nan))
            rows.append({
                "region": r, "window": window, "question": question, "n_yes": yes, "n": n,
                "prevalence": 100 * yes / n if n else np.nan,
                "ci_low": 100 * low, "ci_high": 100 * high,
                "n_inconsistent": int(inconsistent.sum()),
            })
    return pd.DataFrame(rows, columns=["region", "window", "question", "n_yes", "n",
                                       "prevalence", "ci_low", "ci_high", "n_inconsistent"])


def inconsistent_lines(answers: pd.DataFrame, region: str) -> dict[str, pd.Index]:
    """Lines with a 7-day or prevented Yes after a 12-month No, by item column."""
    trouble = answers[f"{region}_12m"]
    out = {}
    for window in ("7d", "prevented"):
        col = f"{region}_{window}"
        if col in answers:
            out[col] = answers.index[(trouble == 0) & (answers[col] == 1)]
    return out


def _answers(survey) -> pd.DataFrame:
    """NMQ items as 0/1 floats under their item names."""
    from analysis.survey import Survey

    if isinstance(survey, Survey):
        columns = {}
        for var in survey.codebook:
            if var.instrument and var.instrument.name == "nmq" and var.name in survey.data:
                columns[str(var.instrument.item)] = yes_no(survey.data[var.name], var.name,
                                                           var.level_labels)
        return pd.DataFrame(columns, index=survey.data.index)
    if isinstance(survey, pd.DataFrame):
        return pd.DataFrame({c: yes_no(survey[c], c) for c in survey.columns
                             if str(c).rsplit("_", 1)[-1] in ("12m", "7d", "prevented")},
                            index=survey.index)
    raise ScoringError(f"NMQ: expected a Survey or a DataFrame, got {type(survey).__name__}.")


def yes_no(column: pd.Series, name: str, labels: dict | None = None) -> pd.Series:
    """A Yes/No item as 1.0/0.0 with NaN for missing.

    With codebook ``labels`` (code: label) of a binary item, the second
    level is the event (Yes), whatever its code.
    """
    values = column.astype(object).where(column.notna(), None)
    if labels:
        event = {label: float(i) for i, label in enumerate(list(labels.values())[:2])}
        event |= {code: float(i) for i, code in enumerate(list(labels)[:2])}
        mapped = category_lookup(column, event)
        if mapped is None:
            mapped = values.map(lambda v: event.get(v, np.nan) if v is not None else np.nan)
    else:
        mapped = values.map(_as_yes)
    bad = mapped.isna() & column.notna()
    if bad.any():
        lines = list(column.index[bad][:5])
        raise ScoringError(
            f"NMQ: item column {name!r} holds {int(bad.sum())} value(s) that are not Yes/No "
            f"({', '.join(f'line {ln} = {column[ln]!r}' for ln in lines)})."
        )
    return mapped.astype("float64")


def _as_yes(value) -> float:
    if value is None:
        return np.nan
    text = str(value).strip().lower()
    if text.endswith(".0"):
        text = text[:-2]
    return 1.0 if text in _YES else 0.0 if text in _NO else np.nan

"""Table 1: characteristics of respondents overall and by group."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from analysis.codebook import CODED_TYPES
from analysis.describe import comparisons
from analysis.describe.columns import coded_column, default_grouping, table_columns
from analysis.describe.table_rows import (
    BACK,
    FRONT,
    OVERALL,
    STATISTICS,
    assemble,
    blank_counts,
    coded_rows,
    count_row,
    numeric_row,
)
from analysis.errors import ValidationError
from analysis.survey import Survey

SKEWNESS_LIMIT = 1.0


def table_one(
    survey: Survey,
    by: str | None = None,
    *,
    columns: Iterable[str] | None = None,
    nonnormal: Iterable[str] | Mapping[str, bool] | None = None,
    overall: bool = True,
    pvalues: bool = True,
    smd: bool = True,
    decimals: int = 1,
) -> pd.DataFrame:
    """Table 1: each characteristic summarised overall and by the groups of ``by``.

    Binary, categorical and ordinal variables give one row per level, in
    codebook order, with n (%); percentages are of the respondents with a
    value in each column. Respondents who were not asked a question (the
    codebook's ``asked_if``, see :meth:`analysis.survey.Survey.asked`) and
    have no answer are counted as ``not_asked``: they are neither in the
    denominators nor in ``missing``, which counts respondents asked without
    an answer. (An answer from a respondent the skip logic says was not
    asked is kept as an answer.) Numeric and count variables give one row with mean (SD),
    or median [Q1, Q3] when the variable is skewed: ``|skewness| > 1``
    (adjusted Fisher-Pearson skewness of all non-missing values, as
    ``pandas.Series.skew``). ``nonnormal`` overrides the rule: a list names
    exactly the variables shown as median [IQR]; a mapping ``{name: True or
    False}`` overrides single variables and leaves the rule for the rest.
    Quartiles interpolate linearly (``numpy.percentile``'s default).

    P-values compare the groups (rows with a missing ``by`` are left out of
    tests but kept in the Overall column): chi-squared (Yates-corrected for
    2x2), Fisher's exact for a 2x2 table with an expected count below 5,
    chi-squared flagged "expected count < 5" for larger sparse tables;
    Welch's t-test or one-way ANOVA for roughly normal variables,
    Mann-Whitney U or Kruskal-Wallis for skewed ones. Standardised mean
    differences are absolute: Cohen-type with the average of the two
    variances for numeric variables, Yang & Dalton's multinomial
    Mahalanobis distance for coded ones; with more than two groups, the mean
    of the pairwise SMDs. Groups without values (without two values, for a
    numeric variable) are left out of the SMD. Where the SMD is not defined
    it is NaN and ``smd_note`` says why: fewer than two groups with values
    (a single group, or a question asked in one group only), or no spread to
    standardise by (both SDs zero; a coded variable with all of each group
    in one level, or groups whose levels do not overlap, which makes the
    pooled covariance singular). See :mod:`analysis.describe.comparisons`.

    Parameters
    ----------
    survey : Survey
    by : str, optional
        A coded grouping column; defaults to the codebook's outcome (no
        grouping when there is none).
    columns : list of str, optional
        Variables to show, in this order. Default: every coded, numeric and
        count variable except identifiers, design variables (weight, stratum,
        cluster), questionnaire items and ``by``.
    nonnormal : list or mapping, optional
    overall, pvalues, smd : bool
        Include the Overall column, the p-values, the SMDs.
    decimals : int
        Decimals of percentages, means, SDs and quantiles in the display columns.

    Returns
    -------
    pandas.DataFrame
        One row for the number of respondents (``variable == "n"``; its
        ``missing`` is the number of rows with a missing ``by``), then one per
        level or numeric variable. Columns: ``variable, label, level, summary``;
        one display column (text) per group and ``Overall``; ``missing``,
        ``not_asked``, ``p_value``, ``test``, ``smd``, ``smd_note`` (repeated on
        every row of a variable; ``smd_note`` is ``""`` unless the SMD was asked
        for and is not defined); then the numbers behind the display as
        ``"<statistic>:<column>"`` (``n, percent, mean, sd, median, q1, q3,
        missing, not_asked``), e.g. ``"percent:Yes"``. :func:`table_one_numbers`
        turns those into a long table and :func:`table_one_html` renders the table.

    Notes
    -----
    Tested against ``tableone.TableOne`` (``include_null=False``) on a mixed
    data set with missing values: counts, percentages, means, SDs, medians,
    quartiles, p-values and SMDs agree to 1e-9. Not-asked counts, and SMDs
    where a group has no spread, by hand on small frames
    (``tests/test_table_one_honest.py``).

    Examples
    --------
    >>> t1 = table_one(survey)                       # doctest: +SKIP
    >>> t1.loc[t1.variable == "posture", ["level", "No", "Yes", "p_value"]]  # doctest: +SKIP
    """
    data = survey.data
    if by is None:
        by = default_grouping(survey)
    if by is not None:
        coded_column(survey, by, "grouping variable")
    names = table_columns(survey, columns, by)
    groups = list(data[by].cat.categories) if by else []
    _check_group_labels(by, groups)
    show = [*groups, OVERALL] if overall or not groups else groups
    codes = data[by].cat.codes.to_numpy() if by else np.full(len(data), -1, dtype=np.int8)
    numeric = [n for n in names if survey.codebook[n].type not in CODED_TYPES]
    skewed = _skewed(data, numeric, nonnormal)
    summaries = _numeric_summaries(data, numeric, codes, groups)

    g = len(groups)
    per_group = np.bincount(codes[codes >= 0], minlength=g)[:g]
    rows = [count_row(per_group, len(codes), int((codes < 0).sum()), show, groups)]
    for name in names:
        var = survey.codebook[name]
        blank = _not_asked(survey, name, codes, g)
        not_asked = blank_counts(None if blank is None else blank[1:], groups)
        if var.type in CODED_TYPES:
            rows += _coded_rows(name, var.label, data[name], codes, groups, show, pvalues, smd,
                                decimals, not_asked)
        else:
            x = data[name].to_numpy(dtype=float)

            def rank_test(x=x, name=name):
                arrays = [x[(codes == j) & ~np.isnan(x)] for j in range(g)]
                s = summaries[name].loc[groups]
                return comparisons.continuous_test(arrays, s["n"].to_numpy(),
                                                   s["mean"].to_numpy(), s["sd"].to_numpy(),
                                                   normal=False)

            rows.append(numeric_row(name, var.label, summaries[name], name in skewed, groups,
                                    show, rank_test, pvalues, smd, decimals, not_asked,
                                    int(np.isnan(x).sum())))
    return assemble(rows, show)


def table_one_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The numbers of a :func:`table_one` result as a long table.

    Columns ``variable, label, level, group, statistic, value``, one row per
    number (statistics that do not apply, e.g. a mean for a level, are left out).
    """
    numbers = [c for c in table.columns if ":" in c and c.split(":", 1)[0] in STATISTICS]
    long = table[["variable", "label", "level", *numbers]].melt(
        id_vars=["variable", "label", "level"], var_name="key", value_name="value"
    )
    long[["statistic", "group"]] = long["key"].str.split(":", n=1, expand=True)
    long = long.dropna(subset=["value"]).drop(columns="key")
    return long[["variable", "label", "level", "group", "statistic", "value"]].reset_index(
        drop=True
    )


# ---- rows -------------------------------------------------------------
def _not_asked(survey: Survey, name: str, codes: np.ndarray, n_groups: int):
    """(per-row mask of the respondents not asked ``name``, counts by group, overall count).

    None when everyone was asked (no ``asked_if``, or every condition holds).
    Only blanks count: an answer from a respondent not asked is kept as an answer.
    """
    if not survey.codebook[name].asked_if:
        return None
    mask = ~survey.asked(name) & survey.data[name].isna().to_numpy()
    if not mask.any():
        return None
    in_group = mask & (codes >= 0)
    return mask, np.bincount(codes[in_group], minlength=n_groups)[:n_groups], int(mask.sum())


def _coded_rows(name, label, series, codes, groups, show, pvalues, want_smd, decimals,
                not_asked):
    levels = list(series.cat.categories)
    values = series.cat.codes.to_numpy()
    k, g = len(levels), len(groups)
    seen = values >= 0
    overall = np.bincount(values[seen], minlength=k)
    in_group = seen & (codes >= 0)
    by_group = np.bincount(codes[in_group].astype(np.int64) * k + values[in_group],
                           minlength=g * k).reshape(g, k)
    unseen = ~seen & (codes >= 0)
    missing_by_group = np.bincount(codes[unseen], minlength=g)[:g]
    return coded_rows(name, label, levels, by_group, overall, missing_by_group,
                      int((~seen).sum()), not_asked, groups, show, pvalues, want_smd, decimals)


# ---- numbers ------------------------------------------------------------
def _numeric_summaries(data: pd.DataFrame, names: list[str], codes: np.ndarray,
                       groups: list[str]) -> dict[str, pd.DataFrame]:
    """Per variable, a frame indexed by group label and Overall.

    Columns ``n, missing, mean, sd, median, q1, q3``; one grouped pass over
    all numeric variables at once.
    """
    if not names:
        return {}
    frame = data[names].astype(float)
    parts = [_describe(frame.groupby(np.zeros(len(frame), dtype=np.int8)), [OVERALL])]
    if groups:
        keep = codes >= 0
        parts.insert(0, _describe(frame[keep].groupby(codes[keep]), groups))
    stats = {stat: pd.concat([p[stat] for p in parts]) for stat in parts[0]}
    return {
        name: pd.DataFrame({stat: values[name] for stat, values in stats.items()})
        for name in names
    }


def _describe(grouped, labels: list[str]) -> dict[str, pd.DataFrame]:
    """Statistic -> frame (rows: the groups, labelled; columns: variables)."""
    stats = {
        "n": grouped.count(),
        "mean": grouped.mean(),
        "sd": grouped.std(),
        "median": grouped.median(),
        "q1": grouped.quantile(0.25),
        "q3": grouped.quantile(0.75),
    }
    stats["missing"] = -stats["n"].sub(grouped.size(), axis=0)
    return {
        stat: frame.reindex(range(len(labels))).set_axis(labels, axis=0)
        .fillna(0 if stat in ("n", "missing") else np.nan)
        for stat, frame in stats.items()
    }


def _skewed(data: pd.DataFrame, names: list[str],
            nonnormal: Iterable[str] | Mapping[str, bool] | None) -> set[str]:
    if nonnormal is not None and not isinstance(nonnormal, Mapping):
        chosen = set(nonnormal)
        return {n for n in names if n in chosen}
    skew = data[names].astype(float).skew() if names else pd.Series(dtype=float)
    skewed = {n for n in names if abs(skew.get(n, 0.0)) > SKEWNESS_LIMIT}
    for name, flag in (nonnormal or {}).items():
        (skewed.add if flag else skewed.discard)(name)
    return skewed & set(names)


def _check_group_labels(by: str | None, groups: list[str]) -> None:
    reserved = {*FRONT, *BACK, OVERALL}
    clash = [g for g in groups if g in reserved or ":" in str(g)]
    if clash:
        raise ValidationError(
            f"grouping variable {by!r}: level label {clash[0]!r} clashes with a Table 1 column "
            f"name or contains ':'; relabel the level in the codebook."
        )

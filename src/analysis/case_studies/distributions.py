"""A case study's distribution (overlap) tables, decided in the report's one release.

The table of :func:`analysis.diagnostics.overlap` shows, per group, how many
respondents have the variable, its quantiles and how many lie beyond the
reference group's range. Its counts are registered with the report's other
counts (:func:`register_overlap`, from the case study's release hook) and
rendered from the release (:func:`released_overlap`).

The extreme-value rule
----------------------
The minimum and maximum are single respondents' values, which output-checking
guidance does not release (Eurostat's *Guidelines for the checking of output
based on microdata research*, Bond, Brandt & de Wolf 2015, and the SACRO
guide to statistical output checking, Green et al. 2023: maxima and minima
are "unsafe" outputs; percentiles are released instead when enough units lie
beyond them). So the table shows the 10th and 90th percentiles in their
place. With linear interpolation a quantile at position ``p (n - 1)`` in the
sorted values mixes the two values around it; when that position is below 1
it mixes the minimum in, and two quantiles sharing the second value solve for
the minimum (five values: the 10th percentile is ``0.6 x1 + 0.4 x2`` and the
lower quartile is ``x2``). A quantile is therefore shown only when its
position is at least 1 from either end (a group of at least
:func:`smallest_group` respondents: 11 for the 10th and 90th percentiles, 5
for the quartiles) and the group is not itself a small count.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.errors import ReportError
from analysis.privacy import COMPLEMENT_LABEL
from analysis.report.session import ReportSession

#: the quantiles shown, by column name (the minimum and maximum are not)
QUANTILES = {"P10": 0.10, "Q1": 0.25, "Median": 0.50, "Q3": 0.75, "P90": 0.90}
EXTREMES_NOTE = ("Minimum and maximum are single respondents' values and are not shown; the "
                 "10th and 90th percentiles (P10, P90) stand in their place, and a quantile is "
                 "shown only for a group large enough that it is not interpolated from the "
                 "smallest or largest value (11 respondents for P10 and P90, 5 for the "
                 "quartiles).")


def smallest_group(p: float) -> int:
    """The fewest values whose ``p`` quantile is interpolated between non-extreme values.

    Linear interpolation (pandas' and numpy's default) puts the ``p``
    quantile of ``n`` sorted values at position ``h = p (n - 1)`` (0-based);
    the value uses ``x[floor(h)]`` and ``x[ceil(h)]``, free of the minimum
    and maximum when ``1 <= h <= n - 2``, i.e. ``n >= 1 + 1 / min(p, 1 - p)``.

    Examples
    --------
    >>> smallest_group(0.10), smallest_group(0.25), smallest_group(0.5)
    (11, 5, 3)
    """
    q = min(p, 1 - p)
    return math.ceil(1 + 1 / q - 1e-9)


def overlap_keys(survey, variable: str, by: str, groups) -> tuple[list, list]:
    """The cells of an overlap table's N (known ``variable`` in each group) and Beyond columns."""
    from analysis.privacy import KNOWN_LEVEL, cell_key
    from analysis.report.disclosure import POPULATION

    n = [cell_key(POPULATION, {by: g, variable: KNOWN_LEVEL}) for g in groups]
    beyond = [cell_key(POPULATION, {by: g, f"{variable} beyond the reference": "yes"})
              for g in groups]
    return n, beyond


def register_overlap(release, survey, variable: str, by: str) -> None:
    """The respondents with ``variable`` in each group of ``by``, and those beyond the reference.

    The N cells are Table 1's (respondents of the group with a known value),
    so a group hidden there is hidden here.
    """
    from analysis.diagnostics import overlap
    from analysis.privacy import MISSING_LEVEL, cell_key
    from analysis.report.disclosure import POPULATION

    table = overlap(survey, variable, by)
    n_keys, beyond_keys = overlap_keys(survey, variable, by, table["group"])
    for key, n in zip(n_keys, table["n"], strict=True):
        release.add_cell(key, float(n), where=f"overlap of {variable}")
    for key, n in zip(beyond_keys, table["beyond_reference"], strict=True):
        release.add_cell(key, float(n), where=f"overlap of {variable}")
    # N = the group's respondents when none lacks the value: a reader who sees no missing
    # value (a zero is public) subtracts nothing, so the release must tie N to the group
    data = survey.data
    for group, key in zip(table["group"], n_keys, strict=True):
        inside = data[by].astype(str) == str(group)
        missing = float(data.loc[inside, variable].isna().sum())
        gap = release.add_cell(cell_key(POPULATION, {by: group, variable: MISSING_LEVEL}),
                               missing, released=missing == 0,
                               where=f"overlap of {variable} (no missing value)")
        release.add_relation(cell_key(POPULATION, {by: group}), [key, gap])


def group_quantiles(survey, variable: str, by: str, groups) -> pd.DataFrame:
    """The :data:`QUANTILES` of ``variable`` in each group (rows complete for both)."""
    data = survey.data[[variable, by]].dropna()
    rows = []
    for g in groups:
        x = data.loc[data[by].astype(str) == str(g), variable].astype(float)
        rows.append({name: float(x.quantile(p)) for name, p in QUANTILES.items()})
    return pd.DataFrame(rows, columns=list(QUANTILES))


def released_overlap(report: ReportSession, variable: str, by: str, *,
                     beyond: bool = True) -> pd.DataFrame:
    """:func:`analysis.diagnostics.overlap` as reader text: counts from the release.

    Columns ``Group, N, P10, Q1, Median, Q3, P90`` (and ``Beyond
    reference``): no minimum or maximum, and each quantile only where the
    extreme-value rule of the module docstring allows it (else
    ``"suppressed"``); a group whose N is hidden shows no quantile.
    """
    from analysis.diagnostics import overlap
    from analysis.style import significant

    pairs = [tuple(p) for p in report.parameters.get("overlaps") or ()]
    if (variable, by) not in pairs:
        raise ReportError(
            f"The case study's release registers overlaps={pairs!r}, not ({variable!r}, "
            f"{by!r}): pass overlaps=[[{variable!r}, {by!r}]] to open_case_study so the "
            "table is decided with the others.")
    release = report.release
    table = overlap(report.survey, variable, by)
    n_keys, beyond_keys = overlap_keys(report.survey, variable, by, table["group"])
    shown = pd.DataFrame({"Group": table["group"],
                          "N": [release.label(k) for k in n_keys]})
    hidden = np.array([release.hidden(k) for k in n_keys], dtype=bool)
    values = group_quantiles(report.survey, variable, by, table["group"])
    for name, p in QUANTILES.items():
        enough = table["n"].to_numpy() >= smallest_group(p)
        shown[name] = [significant(v, 3) if ok and not hide else COMPLEMENT_LABEL
                       for v, ok, hide in zip(values[name], enough, hidden, strict=True)]
    if beyond:
        shown["Beyond reference"] = [release.label(k) for k in beyond_keys]
    return shown


__all__ = ["EXTREMES_NOTE", "QUANTILES", "group_quantiles", "overlap_keys", "register_overlap",
           "released_overlap", "smallest_group"]

"""One-column count tables from the report's release (missing values, flow, changes)."""

from __future__ import annotations

import pandas as pd


def register_counts(release, keys, counts, *, total=None, where: str) -> None:
    """Register a column of counts under ``keys`` (with ``total``, their total's key).

    For the report's one-column tables (missing values per variable, the
    participant flow, values changed by rule): the caller names each row's
    cell, so that a count shown in two places (a variable's missing count
    here and in Table 1: ``(population, variable="(missing)")``) is one cell.
    """
    keys = list(keys)
    values = [float(v) for v in counts]
    for k, v in zip(keys, values, strict=True):
        release.add_cell(k, v, where=where)
    if total is not None:
        release.add_cell(total, float(sum(values)), where=where)
        release.add_relation(total, keys)


def released_counts(release, table: pd.DataFrame, count: str, keys, *,
                    percent: str | None = None, denominators=None,
                    decimals: int = 1) -> pd.DataFrame:
    """``table`` with its ``count`` column as released labels (see :func:`register_counts`).

    With ``percent`` and ``denominators`` (a key per row) the percentage is
    computed from the released counts, and hidden with a hidden count.
    """
    out = table.copy()
    keys = list(keys)
    out[count] = [release.label(k) for k in keys]
    if percent is not None:
        if denominators is None:
            raise ValueError("released_counts: a percent column needs denominators=")
        out[percent] = [release.percent(k, d, decimals)
                        for k, d in zip(keys, list(denominators), strict=True)]
    return out


__all__ = ["register_counts", "released_counts"]

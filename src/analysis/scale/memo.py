"""The aggregates a :class:`~analysis.scale.lazy.LazySurvey` has computed, by query.

A report registers its counts for disclosure control (once per run) and its
notebooks show the same tables: each aggregate is one DuckDB scan (seconds
to minutes at 10^7-10^8 rows), so it is kept in ``lazy.memo`` under its
query's key (JSON) and made once.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd


def _key(key: list) -> str:
    return json.dumps(key, sort_keys=True, default=str)


def remember(lazy, key: list, frame: pd.DataFrame) -> None:
    """Keep ``frame`` as the aggregate of ``key`` (computed in another query's scan)."""
    lazy.memo[_key(key)] = frame


def remembered(lazy, key: list, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()``, or a copy of the frame ``lazy`` remembers under ``key`` (JSON).

    A report registers its counts for disclosure control (once per run) and
    its notebooks show the same tables: each aggregate is one DuckDB scan
    (seconds to minutes at 10^7-10^8 rows), made once.
    """
    text = _key(key)
    if text not in lazy.memo:
        lazy.memo[text] = compute()
    frame = lazy.memo[text]
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    return out


__all__ = ["remember", "remembered"]

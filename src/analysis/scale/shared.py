"""A :class:`~analysis.scale.lazy.LazySurvey` validated once and reopened without a scan.

A report of a Parquet dataset runs four notebooks, each in its own kernel.
Validating the dataset is a scan of every row and column (36 s at 10^7 rows
under load, and the duplicate-id check one more), and each notebook asked the
same aggregates again (missing values, Table 1, prevalence: one scan each).
:func:`lazy_state` gives what a validation found and the aggregates computed
so far as data (a JSON-able dict and a few small tables), and
``load_parquet_survey(..., state=...)`` reopens the dataset from it: the same
views and counts, no scan. :func:`remembered` is where an aggregate is looked
up before DuckDB computes it.

The state holds counts, line numbers and repeated identifiers only, never
rows, and each file's size and modification time: a state made on other
files, or with other rules (another codebook), is refused by :func:`restore`
with a :class:`~analysis.errors.ValidationError`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import ValidationError
from analysis.scale.scan import build_views, exclude_lines

FORMAT = "backpain-lazy-state/1"


def _files(lazy) -> list[list]:
    out = []
    for f in lazy.files:
        stat = Path(f).stat()
        out.append([str(f), int(stat.st_size), int(stat.st_mtime_ns)])
    return out


def _rules(lazy) -> list[str]:
    return ([f"{col.name}: {rule}" for col, rule, _ in lazy.rules]
            + [f"{col.name}: {meaning}" for col, _, meaning, _ in lazy.missing])


def lazy_state(lazy) -> tuple[dict, dict[str, pd.DataFrame]]:
    """What validating ``lazy`` found, and its remembered aggregates, as data.

    Returns ``(state, tables)``: ``state`` is JSON (counts per rule, first
    reasons, the files' sizes and times, the memo's keys and frame attributes);
    ``tables`` are frames to store as Parquet: ``excluded`` (the lines set
    aside), ``dups<k>`` (identifiers seen more than once, with their first
    line) and ``memo<i>`` (each remembered aggregate that survives a round trip
    through Arrow unchanged; any other is left out and computed again).
    """
    import pyarrow as pa

    tables = {"excluded": lazy.con.sql("SELECT __line FROM __excluded ORDER BY 1"
                                       ).to_arrow_table().to_pandas()}
    for name in [r[0] for r in lazy.con.sql(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__dups%'"
    ).fetchall()]:
        tables[name.removeprefix("__")] = lazy.con.sql(
            f"SELECT * FROM {name} ORDER BY __first").to_arrow_table().to_pandas()
    memo = {}
    for key, frame in lazy.memo.items():
        back = pa.Table.from_pandas(frame, preserve_index=True).to_pandas()
        try:
            pd.testing.assert_frame_equal(back, frame, check_exact=True)
            attrs = json.loads(json.dumps(frame.attrs))
        except (AssertionError, TypeError, ValueError):
            continue  # a frame Arrow would change (mixed objects): computed again when asked
        name = f"memo{len(memo)}"
        memo[key] = {"table": name, "attrs": attrs}
        tables[name] = frame
    state = {"format": FORMAT, "files": _files(lazy), "rules": _rules(lazy),
             "on_invalid": lazy.on_invalid, "keep_identifiers": lazy.keep_identifiers,
             "n_read": lazy.n_read, "rule_counts": lazy.rule_counts,
             "missing_counts": lazy.missing_counts,
             "first_reason": {str(k): v for k, v in lazy.first_reason.items()},
             "n_analysed": lazy.n_analysed, "memo": memo}
    return state, tables


def restore(lazy, ids, state: dict, tables: dict[str, pd.DataFrame]) -> None:
    """Give ``lazy`` (set up to the point of validating) the counts of ``state``: no scan."""
    if state.get("format") != FORMAT or state.get("files") != _files(lazy) \
            or state.get("n_read") != lazy.n_read \
            or state.get("on_invalid") != lazy.on_invalid:
        raise ValidationError(f"{lazy.source}: the saved validation is of other files or "
                              "another mode; validate the dataset again.")
    build_views(lazy, ids, dups=tables)
    if state.get("rules") != _rules(lazy):
        raise ValidationError(f"{lazy.source}: the saved validation has other rules (another "
                              "codebook); validate the dataset again.")
    lazy.rule_counts = [int(x) for x in state["rule_counts"]]
    lazy.missing_counts = [int(x) for x in state["missing_counts"]]
    lazy.first_reason = {int(k): int(v) for k, v in state["first_reason"].items()}
    lazy.n_analysed = int(state["n_analysed"])
    exclude_lines(lazy, tables["excluded"]["__line"].to_numpy(dtype=np.int64))
    for key, entry in state.get("memo", {}).items():
        frame = tables[entry["table"]]
        frame.attrs = dict(entry["attrs"])
        lazy.memo[key] = frame



"""A LazySurvey reopened from a saved validation (scale/shared.py) is the validated one.

The example survey (planted errors, repeated ids, missing codes, skip logic)
as 4 Parquet files: validated once, its state written and read back through
Parquet as the report cache does, then reopened without a scan. Its flow,
rule counts, first exclusions and every aggregate equal those of the survey
validated in full; a state made on other files is refused.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from _parquet_cohort import parquet_cohort
from analysis.errors import ValidationError
from analysis.scale import load_parquet_survey
from analysis.scale.describe import lazy_missingness, lazy_table_one
from analysis.scale.shared import lazy_state


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shared")
    _, folder, codebook = parquet_cohort(tmp, 3_000, seed=11, files=4)
    return tmp, folder, codebook


def _through_parquet(tmp, state_tables):
    state, tables = state_tables
    back = {}
    for name, frame in tables.items():
        frame.to_parquet(tmp / f"{name}.parquet", index=True)
        back[name] = pd.read_parquet(tmp / f"{name}.parquet")
    return state, back


def test_reopened_survey_equals_the_validated_one(cohort):
    tmp, folder, codebook = cohort
    with load_parquet_survey(folder, codebook) as lazy:
        missing = lazy_missingness(lazy)
        table = lazy_table_one(lazy, by="spasm_12m")
        prev = lazy.prevalence("spasm_12m", by=["sex"], weighted=False)
        fresh = lazy.prevalence("spasm_12m", by=["smoking"], weighted=False)
        flow, counts, first = lazy.flow, lazy.ledger_counts, lazy.ledger(limit=50)
        saved = _through_parquet(tmp, lazy_state(lazy))
    state, tables = saved
    # the example has planted errors and repeated identifiers: both are in the state
    assert sum(state["rule_counts"]) > 0 and len(tables["excluded"]) == flow["n"].iloc[1:-1].sum()
    assert any(k.startswith("dups") for k in tables) and len(state["memo"]) == 4
    with load_parquet_survey(folder, codebook, state=saved) as again:
        assert len(again.memo) == 4  # remembered: no scan for these
        pd.testing.assert_frame_equal(again.flow, flow)
        pd.testing.assert_frame_equal(again.ledger_counts, counts)
        pd.testing.assert_frame_equal(again.ledger(limit=50), first)
        pd.testing.assert_frame_equal(lazy_missingness(again), missing)
        got = lazy_table_one(again, by="spasm_12m")
        pd.testing.assert_frame_equal(got, table)
        assert got.attrs == table.attrs == {"quantiles": "exact"}
        pd.testing.assert_frame_equal(again.prevalence("spasm_12m", by=["sex"], weighted=False),
                                      prev)
        # not remembered: counted on the reopened views, the excluded lines left out
        again.memo.clear()
        pd.testing.assert_frame_equal(
            again.prevalence("spasm_12m", by=["smoking"], weighted=False), fresh)
        pd.testing.assert_frame_equal(lazy_missingness(again), missing)


def test_a_state_of_other_files_is_refused(cohort):
    _, folder, codebook = cohort
    with load_parquet_survey(folder, codebook) as lazy:
        saved = lazy_state(lazy)
    part = sorted(folder.glob("*.parquet"))[0]
    stat = part.stat()
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ValidationError, match="saved validation is of other files"):
        load_parquet_survey(folder, codebook, state=saved)


def test_sample_is_the_lines_of_smallest_hash_validated_in_memory(cohort):
    _, folder, codebook = cohort
    with load_parquet_survey(folder, codebook) as lazy:
        sample = lazy.sample(700, seed=5)
        expected = sorted(r[0] for r in lazy.con.sql(
            "SELECT __line FROM __decoded ORDER BY hash(__line + 5) LIMIT 700").fetchall())
        raw = lazy.con.sql("SELECT __line, age FROM __decoded").to_arrow_table().to_pandas()
    # the sample's rows are those lines, less the ones its own validation excluded
    excluded = sample.flow["n"].iloc[1:-1].sum()
    assert excluded > 0 and len(sample.data) + excluded == 700
    assert set(sample.data.index) < set(expected) and sample.data.index.is_monotonic_increasing
    ages = pd.to_numeric(raw.set_index("__line").loc[sample.data.index, "age"],
                         errors="coerce").to_numpy()
    kept = sample.data["age"].notna().to_numpy()
    assert kept.sum() > 600 and (ages[kept] == sample.data["age"].to_numpy()[kept]).all()

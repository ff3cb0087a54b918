"""Covariate patterns: pandas, DuckDB and Parquet back-ends agree with a plain groupby."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _models_data import make_survey
from analysis.aggregate import covariate_patterns, covariate_patterns_parquet
from analysis.errors import ModelError

COLUMNS = ["posture", "sex", "sport"]


@pytest.fixture(scope="module")
def survey():
    return make_survey(n=5000, seed=11, missing=True)


def test_pandas_patterns_equal_groupby(survey):
    out = covariate_patterns(survey.data, COLUMNS, "spasm")
    frame = survey.data.dropna(subset=[*COLUMNS, "spasm"])
    expected = (frame.assign(y=(frame["spasm"] == "Yes").astype(float))
                .groupby(COLUMNS, observed=True)["y"].agg(["sum", "size"]).reset_index())
    assert len(out) == len(expected) == 3 * 2 * 4
    np.testing.assert_array_equal(out["events"], expected["sum"])
    np.testing.assert_array_equal(out["trials"], expected["size"])
    assert out["trials"].sum() == 4997  # 3 rows missing posture or the outcome
    assert list(out["posture"].cat.categories) == ["Good", "Fair", "Poor"]


def test_duckdb_backend_equals_pandas(survey):
    pandas_out = covariate_patterns(survey.data, [*COLUMNS, "age"], "spasm")
    duck = covariate_patterns(survey.data, [*COLUMNS, "age"], "spasm", backend="duckdb")
    pd.testing.assert_frame_equal(pandas_out, duck, check_dtype=False)


def test_weights_sum_within_patterns(survey):
    data = survey.data.assign(w=np.linspace(0.5, 2.0, survey.n))
    out = covariate_patterns(data, ["sex"], "spasm", weights="w")
    keep = data["spasm"].notna()
    female = keep & (data["sex"] == "Female")
    assert out.loc[out["sex"] == "Female", "trials"].item() == pytest.approx(
        data.loc[female, "w"].sum())
    assert out.loc[out["sex"] == "Female", "events"].item() == pytest.approx(
        data.loc[female & (data["spasm"] == "Yes"), "w"].sum())


@pytest.mark.parametrize("stored", ["labels", "codes"])
def test_parquet_through_duckdb_equals_pandas(survey, tmp_path, stored):
    data = survey.data.copy()
    if stored == "codes":  # a raw export: codebook codes, a missing code for posture
        for c in [*COLUMNS, "spasm"]:
            codes = list(survey.codebook[c].level_labels)
            data[c] = pd.Series(np.asarray(data[c].cat.codes), index=data.index).map(
                dict(enumerate(codes))).astype("float")
        data.loc[data.index[:4], "posture"] = 98  # not a level: left out like a missing value
    path = tmp_path / "survey.parquet"
    data.to_parquet(path)
    got = covariate_patterns_parquet(path, COLUMNS, "spasm", survey.codebook)
    reference = survey.data.drop(index=survey.data.index[:4]) if stored == "codes" else survey.data
    expected = covariate_patterns(reference, COLUMNS, "spasm")
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_errors_name_the_column(survey, tmp_path):
    with pytest.raises(ModelError, match=r"no column\(s\) \['postur'\]"):
        covariate_patterns(survey.data, ["postur"], "spasm")
    with pytest.raises(ModelError, match="'pandas' or 'duckdb'"):
        covariate_patterns(survey.data, ["sex"], "spasm", backend="dask")
    path = tmp_path / "s.parquet"
    survey.data.to_parquet(path)
    with pytest.raises(ModelError, match=r"no column\(s\) \['height'\]"):
        covariate_patterns_parquet(path, ["height"], "spasm", survey.codebook)


def test_pattern_index_numbers_patterns_as_groupby_even_past_62_bits():
    from analysis.aggregate import pattern_index

    rng = np.random.default_rng(4)
    n = 20_000
    # 8 columns of 1,000-2,000 codes: the product of their numbers overflows 62 bits
    codes = [(rng.integers(0, k, n).astype(np.int64), k) for k in [1_000, 2_000] * 4]
    codes[3] = (codes[3][0] % 3, 2_000)  # fewer codes used than declared
    codes[5] = (np.zeros(n, dtype=np.int64), 1)  # a constant column
    inverse, first = pattern_index(codes)
    frame = pd.DataFrame({i: c for i, (c, _) in enumerate(codes)})
    expected = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    assert (inverse == expected).all()
    assert (first == frame.drop_duplicates().index.to_numpy()).all()
    # repeated rows share a pattern
    doubled, _ = pattern_index([(np.r_[c, c], k) for c, k in codes])
    assert (doubled[:n] == doubled[n:]).all() and doubled.max() == inverse.max()

"""The chunked simulation writer: deterministic, unique ids, every defect in every chunk."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis import load_survey
from analysis.errors import BackpainError
from analysis.simulate import (
    CODEBOOK_PATH,
    simulate_survey,
    write_survey,
    write_survey_chunked,
)
from analysis.simulate.defects import ERROR_SHARES


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    path = tmp_path_factory.mktemp("chunked") / "survey.parquet"
    write_survey_chunked(3000, 7, path, chunk=1000)
    return path


def test_same_arguments_give_the_same_bytes(chunked, tmp_path):
    again = write_survey_chunked(3000, 7, tmp_path / "again.parquet", chunk=1000)
    assert again.read_bytes() == chunked.read_bytes()
    other = write_survey_chunked(3000, 8, tmp_path / "other.parquet", chunk=1000)
    assert other.read_bytes() != chunked.read_bytes()


def test_one_row_group_per_chunk_with_ids_unique_across_chunks(chunked):
    meta = pq.ParquetFile(chunked).metadata
    assert meta.num_rows == 3000
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000] * 3
    frame = pd.read_parquet(chunked, columns=["respondent_id", "email"])
    ids = frame["respondent_id"].dropna()
    # each chunk repeats int(0.004 * 1000) = 4 ids of its own rows and blanks 1
    assert ids.duplicated().sum() == 3 * 4
    assert frame["respondent_id"].isna().sum() == 3 * 1
    assert ids.str.fullmatch(r"SIM-\d{7}").all()
    numbers = ids.drop_duplicates().str[4:].astype(int)
    assert numbers.min() == 1 and numbers.max() <= 3000
    # ids of chunk 2 follow chunk 1: rows 1001-2000 carry numbers 1001-2000 (but the planted)
    second = frame["respondent_id"].iloc[1000:2000].dropna().str[4:].astype(int)
    assert ((second > 1000) & (second <= 2000)).mean() > 0.99
    # duplicated submissions copy the e-mail too; otherwise every address is different
    assert frame["email"].duplicated().sum() == 3 * 3


def test_every_planted_error_and_missing_code_is_found(chunked):
    survey = load_survey(chunked, CODEBOOK_PATH, on_invalid="exclude")
    counts = survey.ledger.query("action == 'excluded'").groupby("rule")["line"].nunique()
    for rule, share in ERROR_SHARES.items():
        assert counts[rule] >= 3 * int(share * 1000), rule
    # missing codes at the rate of the in-memory simulation of the same size
    whole = load_survey(simulate_survey(3000, 7), CODEBOOK_PATH, on_invalid="exclude")
    coded = survey.ledger["rule"].str.startswith("missing code").sum()
    expected = whole.ledger["rule"].str.startswith("missing code").sum()
    assert coded == pytest.approx(expected, rel=0.1)
    assert survey.data["examined"].eq("Yes").mean() == pytest.approx(0.28, abs=0.05)


def test_small_n_is_the_in_memory_survey(tmp_path):
    chunked = write_survey_chunked(500, 3, tmp_path / "a.parquet", chunk=1000)
    whole = write_survey(simulate_survey(500, 3), tmp_path / "b.parquet")
    assert chunked.read_bytes() == whole.read_bytes()


def test_bad_arguments_are_package_errors(tmp_path):
    with pytest.raises(BackpainError, match="n must be a whole number"):
        write_survey_chunked(0, 1, tmp_path / "x.parquet")
    with pytest.raises(BackpainError, match="chunk must be a whole number"):
        write_survey_chunked(10, 1, tmp_path / "x.parquet", chunk=0)
    with pytest.raises(BackpainError, match=r"use a \.parquet extension"):
        write_survey_chunked(10, 1, tmp_path / "x.csv")

"""Larger than memory (DuckDB) and beyond one machine (Dask) against the in-memory survey.

A 20,000-row survey in 4 Parquet files, with planted errors (unknown codes,
out-of-range values, fractions in a count, impossible dates, blank and
repeated identifiers, rows breaking two rules) and missing codes, is loaded
both ways; every count must be equal and every estimate equal to 1e-8.
"""

from __future__ import annotations

import glob
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.aggregate import covariate_patterns
from analysis.codebook import Codebook, Variable
from analysis.describe import prevalence
from analysis.errors import ModelError, ReadError, ValidationError
from analysis.load import load_survey
from analysis.models import logistic
from analysis.scale import covariate_patterns_dask, load_parquet_survey

N, FILES = 20_000, 4
CODEBOOK = {
    "name": "scale_test",
    "variables": {
        "respondent_id": {"type": "id", "label": "Respondent", "role": "id"},
        "interview_date": {"type": "date", "label": "Interview date", "format": "%Y-%m-%d",
                           "range": ["2024-01-01", "2024-12-31"], "missing": {"9999": "unknown"}},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "missing": {9: "prefer not to say"}, "role": "confounder"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "range": [18, 99],
                "missing": {-9: "refused"}, "role": "confounder"},
        "posture": {"type": "ordinal", "label": "Self-rated posture",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"},
                    "missing": {8: "don't know"}, "role": "exposure"},
        "sport": {"type": "categorical", "label": "Main sport",
                  "levels": {0: "None", 1: "Weightlifting", 2: "Golf"}, "reference": 0,
                  "missing": {99: "not answered"}, "role": "exposure"},
        "episodes": {"type": "count", "label": "Spasm episodes", "range": [0, 50]},
        "survey_weight": {"type": "numeric", "label": "Sampling weight", "range": [0, None],
                          "role": "weight"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "role": "outcome",
                  "missing": {8: "don't know"}},
    },
}


def simulate(n: int = N, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.integers(1, 3, n)
    posture = rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2])
    sport = rng.choice([0, 1, 2], n, p=[0.6, 0.25, 0.15])
    age = rng.integers(18, 90, n).astype(float)
    eta = -1.2 + 0.4 * (posture == 2) + 0.9 * (posture == 3) + 0.6 * (sport == 1) \
        - 0.2 * (sex == 2) + 0.01 * (age - 50)
    spasm = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    frame = pd.DataFrame({
        "respondent_id": [f"R{i:06d}" for i in range(n)],
        "interview_date": (np.datetime64("2024-01-01") + rng.integers(0, 366, n)).astype(str),
        "sex": sex, "age": age, "posture": posture, "sport": sport,
        "episodes": rng.poisson(2, n).astype(float),
        "survey_weight": np.round(rng.uniform(0.5, 2.0, n), 3), "spasm": spasm,
    })
    frame.loc[rng.random(n) < 0.02, "sex"] = 9
    frame.loc[rng.random(n) < 0.03, "posture"] = 8
    frame.loc[rng.random(n) < 0.01, "sport"] = 99
    frame.loc[rng.random(n) < 0.02, "age"] = -9
    frame.loc[rng.random(n) < 0.01, "age"] = np.nan
    frame.loc[rng.random(n) < 0.02, "spasm"] = 8
    frame.loc[rng.random(n) < 0.005, "interview_date"] = "9999"
    # Planted errors, some rows breaking two rules (the first in codebook order counts).
    frame.loc[[10, 500, 7000], "sex"] = 7                         # unknown code
    frame.loc[[11, 500, 12000], "age"] = 150.0                    # out of range
    frame.loc[[12, 13000, 19999], "episodes"] = [1.5, -1.0, 2.5]  # fraction, below 0
    frame.loc[[14, 7000], "interview_date"] = ["2024-02-30", "2023-06-01"]
    frame.loc[[15, 16], "respondent_id"] = ["", None]             # missing id
    frame.loc[[17, 6000, 17000], "respondent_id"] = "R000003"     # repeats, two files away
    frame.loc[[18], "posture"] = 4                                # unknown code
    frame.loc[[19], "survey_weight"] = -1.0                       # out of range
    return frame


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[pd.DataFrame, str]:
    frame = simulate()
    folder = tmp_path_factory.mktemp("cohort")
    for k, part in enumerate(np.array_split(np.arange(N), FILES)):
        sub = folder / f"wave={k % 2}"  # hive-style folders; partition column dropped below
        sub.mkdir(exist_ok=True)
        frame.iloc[part].to_parquet(sub / f"part-{k:02d}.parquet", index=False)
    return frame, str(folder / "*" / "*.parquet")


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return Codebook.from_dict(CODEBOOK)


@pytest.fixture(scope="module")
def in_memory(data, codebook):
    frame, _ = data
    # Files are read in sorted path order: wave=0 (parts 0, 2) before wave=1 (parts 1, 3).
    parts = np.array_split(np.arange(N), FILES)
    order = np.concatenate([parts[0], parts[2], parts[1], parts[3]])
    return load_survey(frame.iloc[order], codebook, on_invalid="exclude")


@pytest.fixture(scope="module")
def lazy(data, codebook):
    _, pattern = data
    # The hive column "wave" is not in the codebook: dropped, as an unknown column.
    survey = load_parquet_survey(pattern, codebook, memory_limit="1GB", threads=2)
    yield survey
    survey.close()


def test_flow_and_rule_counts_equal_in_memory(lazy, in_memory):
    flow = lazy.flow
    pd.testing.assert_frame_equal(flow, in_memory.flow)
    assert flow["n"].iloc[0] == N == flow["n"].iloc[1:].sum()
    assert flow.loc[flow["reason"] == "respondent_id: duplicate id", "n"].item() == 3
    # Line 7001 breaks interview_date and sex, line 501 sex and age: each counted once,
    # under its first column in codebook order.
    assert flow.loc[flow["reason"] == "sex: unknown code", "n"].item() == 2
    assert flow.loc[flow["reason"] == "age: out of range", "n"].item() == 2
    counts = lazy.ledger_counts
    expected = in_memory.accounts.counts()
    expected = expected[expected["rule"] != "unknown column"].reset_index(drop=True)
    got = counts[counts["rule"] != "unknown column"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert counts.loc[counts["rule"] == "unknown column", "column"].tolist() == ["wave"]
    refused = counts[(counts["column"] == "age") & (counts["rule"] == "missing code: refused")]
    assert refused["n"].item() == (simulate()["age"] == -9).sum()


def test_ledger_lists_first_excluded_lines(lazy, in_memory):
    head = lazy.ledger(limit=4)
    full = in_memory.ledger
    full = full[full["action"] == "excluded"]
    expected = full[full["line"].isin(head["line"].unique())].reset_index(drop=True)
    assert head["line"].nunique() == 4
    pd.testing.assert_frame_equal(head, expected, check_dtype=False)


def test_prevalence_equals_in_memory(lazy, in_memory):
    got = lazy.prevalence(by=["posture", "sport", "sex"])
    expected = prevalence(in_memory, by=["posture", "sport", "sex"])
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert "weighted_prevalence" in got.columns
    assert (got.loc[got["level"] == "(missing)", "variable"] == ["posture", "sport", "sex"]).all()


def test_covariate_patterns_equal_in_memory(lazy, in_memory):
    for columns in (["posture", "sport", "sex"], ["sport", "age"]):
        got = lazy.covariate_patterns(columns)
        expected = covariate_patterns(in_memory.data, columns, "spasm")
        pd.testing.assert_frame_equal(got, expected)


def test_logistic_on_patterns_equals_row_model(lazy, in_memory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = lazy.logistic("spasm", ["posture", "sport"], adjust_for=["sex", "age"])
        expected = logistic(in_memory, "spasm", ["posture", "sport"], ["sex", "age"],
                            method="rows")
    pd.testing.assert_frame_equal(got.table, expected.table, check_exact=False, rtol=1e-8)
    for which in ("crude", "adjusted"):
        pd.testing.assert_frame_equal(got.tidy(which), expected.tidy(which),
                                      check_exact=False, rtol=1e-8, check_dtype=False)
    for key in ("n", "events", "n_read", "n_dropped", "dropped_by_column", "formula"):
        assert got.info[key] == expected.info[key]
    assert got.info["method"] == "patterns" and got.info["n_patterns"] < 2000
    pd.testing.assert_frame_equal(got.tests, expected.tests, check_exact=False, rtol=1e-6)


def test_to_survey_is_load_survey_of_the_same_lines(lazy, in_memory):
    full = lazy.to_survey()
    pd.testing.assert_frame_equal(full.data, in_memory.data)
    pd.testing.assert_frame_equal(full.flow, in_memory.flow)
    head = lazy.to_survey(columns=["sex", "spasm"], limit=600)
    assert head.accounts.n_read == 600
    assert list(head.data.columns) == ["sex", "spasm"]
    # Line 11 (sex = 7) is excluded; line 12 (age out of range) is kept: age is not loaded.
    assert 11 not in head.data.index and 12 in head.data.index


def test_raise_names_rule_count_and_first_lines(data, codebook):
    _, pattern = data
    with pytest.raises(ValidationError, match=r"column\(s\) not in the codebook .*'wave'"):
        load_parquet_survey(pattern, codebook, on_invalid="raise")
    wave = Variable(name="wave", type="categorical", label="Wave", levels={0: "A", 1: "B"})
    with pytest.raises(ValidationError) as caught:
        load_parquet_survey(pattern, codebook.with_variables([wave]), on_invalid="raise")
    message = str(caught.value)
    assert "column 'sex': unknown code, 3 rows (first: line 11: 7; line 501: 7; " in message
    assert "column 'respondent_id': duplicate id, 3 rows" in message
    assert "column 'episodes': not a whole number, 2 rows" in message


def test_bad_paths_and_columns(data, codebook, tmp_path):
    with pytest.raises(ReadError, match="no Parquet files found"):
        load_parquet_survey(tmp_path / "nothing-*.parquet", codebook)
    frame, _ = data
    frame.drop(columns=["sport"]).iloc[:100].to_parquet(tmp_path / "a.parquet")
    with pytest.raises(ValidationError, match=r"rule: missing column\): 'sport'"):
        load_parquet_survey(tmp_path / "a.parquet", codebook)


def test_a_derived_variable_is_named_as_derived_not_as_missing_from_the_files(tmp_path):
    from analysis.codebook import load_codebook

    own = Path(__file__).parent / "own_data"
    source = pd.read_csv(own / "data" / "no_questionnaires.csv", dtype=str)
    folder = tmp_path / "survey"
    folder.mkdir()
    source.to_parquet(folder / "part-0.parquet")
    codebook = load_codebook(own / "codebooks" / "no_questionnaires.yml")
    with pytest.raises(ValidationError) as caught:
        load_parquet_survey(folder, codebook)
    message = str(caught.value)
    assert "2 variable(s) the codebook derives (rule: derived variable): 'bmi', 'age_band'" \
        in message
    assert "missing column" not in message


@pytest.fixture(scope="module")
def client():
    import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_dask_patterns_identical_to_pandas(client, in_memory, data, codebook):
    columns = ["posture", "sport", "sex", "age"]
    expected = covariate_patterns(in_memory.data, columns, "spasm")
    got = covariate_patterns(in_memory.data, columns, "spasm", backend="dask", client=client)
    pd.testing.assert_frame_equal(got, expected)
    weighted = covariate_patterns_dask(in_memory.data, ["sex"], "spasm", client=client,
                                       weights="survey_weight", npartitions=3)
    pd.testing.assert_frame_equal(
        weighted, covariate_patterns(in_memory.data, ["sex"], "spasm", weights="survey_weight"),
        check_exact=False, rtol=1e-12)


def test_dask_reads_parquet_on_the_workers(client, data, codebook):
    # Duplicate ids are checked within a partition only, so this codebook leaves the id out
    # (the id column is then an unknown column, dropped on both sides).
    _, pattern = data
    no_id = codebook.select([v for v in codebook.variables if v != "respondent_id"])
    columns = ["posture", "sport", "sex"]
    got = covariate_patterns_dask(pattern, columns, "spasm", no_id, client=client)
    files = sorted(glob.glob(pattern))
    raw = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    expected = covariate_patterns(load_survey(raw, no_id, on_invalid="exclude").data,
                                  columns, "spasm")
    pd.testing.assert_frame_equal(got, expected)
    assert got["trials"].sum() > 0.9 * N


def test_dask_needs_a_client(in_memory):
    with pytest.raises(ModelError, match="needs client="):
        covariate_patterns(in_memory.data, ["sex"], "spasm", backend="dask")

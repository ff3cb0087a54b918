"""Out-of-core Table 1, missing values and IRLS (DuckDB and Dask) against the in-memory code.

The data are 2,000 respondents of the simulated example survey (planted
errors, missing codes, skip logic), written as 4 Parquet files; the in-memory
survey is ``load_survey`` of the same rows in the same order. The in-memory
functions are an independent computation of the same numbers here: they
count with numpy/pandas and fit by Newton-Raphson on rows, the out-of-core
ones in SQL aggregates (and on Dask partitions). The statistics themselves are
checked against tableone and R in ``test_describe.py`` and ``tests/reference``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.codebook import load_codebook
from analysis.describe import table_one
from analysis.errors import ModelError
from analysis.figures import missingness
from analysis.load import load_survey
from analysis.models import logistic
from analysis.scale.describe import lazy_missingness, lazy_table_one
from analysis.scale.irls import dask_scan, lazy_logistic_irls, newton_scans
from analysis.simulate import simulate_survey, write_survey

N, FILES = 2_000, 4
CODEBOOK = "data/codebooks/backpain_survey.yml"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    whole = write_survey(simulate_survey(N, seed=11), folder.parent / "whole.parquet")
    frame = pd.read_parquet(whole)  # the types one Parquet column can hold
    for k, part in enumerate(np.array_split(np.arange(N), FILES)):
        frame.iloc[part].to_parquet(folder / f"part-{k}.parquet", index=False)
    return frame, folder


@pytest.fixture(scope="module")
def in_memory(folder):
    return load_survey(folder[0], CODEBOOK, on_invalid="exclude")


@pytest.fixture(scope="module")
def lazy(folder):
    survey = load_survey(folder[1], CODEBOOK, on_invalid="exclude")
    yield survey
    survey.close()


def test_table_one_equals_in_memory_cell_for_cell(lazy, in_memory):
    expected, got = table_one(in_memory), lazy_table_one(lazy)
    assert got.attrs["quantiles"] == "exact"
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected) > 40
    numbers = [c for c in expected.columns if ":" in c] + ["p_value", "smd"]
    text = [c for c in expected.columns if c not in numbers]
    pd.testing.assert_frame_equal(got[text], expected[text])
    np.testing.assert_allclose(got[numbers].to_numpy(float), expected[numbers].to_numpy(float),
                               rtol=1e-9, atol=1e-12)
    # the simulated survey has skewed variables (rank tests) and skip logic (not asked)
    assert expected["test"].isin(["Mann-Whitney U"]).any()
    assert (expected["not_asked"] > 0).any()


def test_table_one_other_grouping_and_columns(lazy, in_memory):
    kw = dict(by="posture", columns=["sex", "age", "plank_s", "lordosis_angle"])
    expected, got = table_one(in_memory, **kw), lazy_table_one(lazy, **kw)
    assert {"Chi-squared", "One-way ANOVA", "Kruskal-Wallis"} <= set(expected["test"])
    numbers = [c for c in expected.columns if ":" in c] + ["p_value", "smd"]
    np.testing.assert_allclose(got[numbers].to_numpy(float), expected[numbers].to_numpy(float),
                               rtol=1e-9, atol=1e-12)
    assert got["Overall"].tolist() == expected["Overall"].tolist()


def test_rank_test_by_hand(lazy, in_memory):
    # Kruskal-Wallis on the rows, by scipy: the SQL mid-rank sums give the same p-value
    t1 = lazy_table_one(lazy, by="posture", columns=["plank_s"], nonnormal=["plank_s"])
    data = in_memory.data
    groups = [data.loc[(data["posture"] == g) & data["plank_s"].notna(), "plank_s"]
              for g in data["posture"].cat.categories]
    assert t1.loc[1, "p_value"] == pytest.approx(stats.kruskal(*groups).pvalue, rel=1e-10)
    assert t1.loc[1, "test"] == "Kruskal-Wallis"


def test_approximate_quantiles_are_stated_and_close(lazy, in_memory):
    got = lazy_table_one(lazy, columns=["age"], quantiles="approximate")
    assert got.attrs["quantiles"] == "approximate"
    median = in_memory.data["age"].median()
    assert abs(got.loc[1, "median:Overall"] - median) < 1.0  # t-digest: about 1% of ranks
    with pytest.raises(Exception, match="quantiles must be"):
        lazy_table_one(lazy, quantiles="roughly")


def test_missingness_equals_in_memory(lazy, in_memory):
    pd.testing.assert_frame_equal(lazy_missingness(lazy), missingness(in_memory),
                                  check_dtype=False)


VARIABLES = ["posture", "sit_reach_cm", "age", "sex", "bmi", "smoking"]


@pytest.fixture(scope="module")
def row_fit(in_memory):
    result = logistic(in_memory, "spasm_12m", VARIABLES[:2], adjust_for=VARIABLES[2:])
    return result._fits["adjusted"]


def test_irls_in_duckdb_equals_row_fit(lazy, row_fit):
    fit = lazy_logistic_irls(lazy, "spasm_12m", VARIABLES)
    assert fit.names == row_fit.design.names and fit.converged
    assert fit.scans <= 10  # Newton: a handful of scans, each one aggregate query
    np.testing.assert_allclose(fit.params, row_fit.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fit.bse, row_fit.bse, rtol=1e-8)
    assert fit.llf == pytest.approx(row_fit.llf, rel=1e-12)
    assert fit.n == row_fit.nobs
    table = fit.table()
    assert table.loc[1, "estimate"] == pytest.approx(np.exp(row_fit.params[1]), rel=1e-10)


def test_irls_needs_events(lazy):
    with pytest.raises(ModelError, match="binary outcome"):
        lazy_logistic_irls(lazy, "age", ["sex"])


@pytest.fixture(scope="module")
def client():
    import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_irls_on_a_dask_cluster_equals_row_fit(client, row_fit):
    import dask.dataframe as dd

    names = row_fit.design.names
    frame = pd.DataFrame(row_fit.design.X, columns=names).assign(__y=row_fit.y)
    parts = dd.from_pandas(frame, npartitions=5)

    def design(part: pd.DataFrame):
        return part[names].to_numpy(dtype=float), part["__y"].to_numpy(dtype=float)

    fit = newton_scans(dask_scan(parts, design, client), names)
    np.testing.assert_allclose(fit.params, row_fit.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fit.bse, row_fit.bse, rtol=1e-8)
    assert fit.n == row_fit.nobs and fit.converged


def test_dask_patterns_fit_equals_in_memory(client, in_memory, lazy):
    from analysis.aggregate import covariate_patterns

    cb = load_codebook(CODEBOOK)
    coded = ["posture", "sex", "smoking"]
    on_cluster = covariate_patterns(in_memory.data, coded, "spasm_12m", backend="dask",
                                    client=client)
    pd.testing.assert_frame_equal(on_cluster, lazy.covariate_patterns(coded, "spasm_12m"))
    assert len(on_cluster) == np.prod([len(cb[c].level_labels) for c in coded])

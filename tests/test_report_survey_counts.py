"""Table 1 and the missing values counted once per run (analysis.report.survey_counts)."""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import pytest

from analysis import load_survey
from analysis.describe import table_one
from analysis.figures import missingness
from analysis.report import open_report
from analysis.report.cache import FOLDER, SECRET_ENV, survey_key
from analysis.report.survey_counts import (
    FILE,
    SurveyCounts,
    read_shared_counts,
    write_shared_counts,
)
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_survey(simulate_survey(600, seed=21), tmp_path_factory.mktemp("n") / "s.csv")


@pytest.fixture(scope="module")
def survey(data):
    return load_survey(data, CODEBOOK_PATH, on_invalid="exclude")


def test_each_table_is_counted_once_and_again_for_other_rows(survey, monkeypatch):
    calls = []
    import analysis.describe as describe

    def counting(*args, **kwargs):
        calls.append(kwargs.get("by"))
        return table_one(*args, **kwargs)

    monkeypatch.setattr(describe, "table_one", counting)
    counts = SurveyCounts(survey)
    first = counts.table_one("sex")
    first.iloc[0, 0] = "changed by the caller"  # a copy: the saved table is not touched
    pd.testing.assert_frame_equal(counts.table_one("sex"), table_one(survey, by="sex"))
    assert calls == ["sex"]
    counts.table_one(None)
    assert calls == ["sex", None]
    # the same table asked of other rows (a notebook's own survey): counted on them
    fewer = dataclasses.replace(survey, data=survey.data.iloc[:100])
    pd.testing.assert_frame_equal(SurveyCounts(fewer, counts.computed).table_one("sex"),
                                  table_one(fewer, by="sex"))
    assert calls == ["sex", None, "sex"]


def test_shared_counts_come_back_exactly_and_only_for_their_survey(survey, tmp_path,
                                                                   monkeypatch):
    counts = SurveyCounts(survey)
    counts.table_one("spasm_12m")
    counts.missingness()
    write_shared_counts(counts, tmp_path, "key of the survey", "secret")
    monkeypatch.setenv(SECRET_ENV, "secret")
    back = read_shared_counts(tmp_path, "key of the survey")
    assert sorted(back) == ['["missing values"]', '["table one", "spasm_12m", null]']
    again = SurveyCounts(survey, back)
    pd.testing.assert_frame_equal(again.table_one("spasm_12m"),
                                  table_one(survey, by="spasm_12m"), check_exact=True)
    pd.testing.assert_frame_equal(again.missingness(), missingness(survey), check_exact=True)
    assert read_shared_counts(tmp_path, "another survey") == {}
    monkeypatch.setenv(SECRET_ENV, "not the run's secret")
    assert read_shared_counts(tmp_path, "key of the survey") == {}
    assert write_shared_counts(SurveyCounts(survey), tmp_path / "none", "k", "s") is None


def test_a_notebook_session_shows_the_runs_counts(data, survey, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "secret of the run")
    counts = SurveyCounts(survey)
    counts.table_one("spasm_12m")
    # a marked table shows where the session's Table 1 came from
    marked = next(iter(counts.computed.values()))
    marked["table"] = marked["table"].head(3)
    write_shared_counts(counts, tmp_path, survey_key(data, CODEBOOK_PATH, "exclude"),
                        "secret of the run")
    assert (tmp_path / FOLDER / FILE).is_file()
    report = open_report("x", data, CODEBOOK_PATH, out_dir=tmp_path)
    assert len(report.table_one("spasm_12m")) == 3
    assert len(report.table_one("sex")) == len(table_one(survey, by="sex"))
    elsewhere = tmp_path / "other run"  # counts of another survey (key): not shown
    write_shared_counts(counts, elsewhere, "another survey's key", "secret of the run")
    other = open_report("x", data, CODEBOOK_PATH, out_dir=elsewhere)
    assert len(other.table_one("spasm_12m")) == len(table_one(survey, by="spasm_12m")) > 3


def test_the_counts_are_made_while_the_models_are_fitted(survey):
    from analysis.report.once import fit_while_counting

    counts = SurveyCounts(survey)
    seen = []

    def fits():
        # returns only once the other thread has counted both tables: run one after the
        # other, this would wait out its 60 s and fail
        deadline = time.monotonic() + 60
        while len(counts.computed) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(sorted(counts.computed))
        return []

    fit_while_counting(fits, counts, "spasm_12m", None)
    assert seen == [['["missing values"]', '["table one", "spasm_12m", null]']]
    pd.testing.assert_frame_equal(counts.table_one("spasm_12m"),
                                  table_one(survey, by="spasm_12m"), check_exact=True)
    only_missing = SurveyCounts(survey)
    fit_while_counting(lambda: [], only_missing, "spasm_12m", {"missing", "models"})
    assert list(only_missing.computed) == ['["missing values"]']


def test_a_count_failing_beside_the_fits_is_left_to_the_release(survey):
    from analysis.report.once import fit_while_counting

    class Failing(SurveyCounts):
        def table_one(self, by=None, columns=None):
            raise RuntimeError("no Table 1 today")

    counts, fitted = Failing(survey), []
    fit_while_counting(lambda: fitted.append("fitted"), counts, None, None)
    assert fitted == ["fitted"] and list(counts.computed) == []  # missingness not reached
    with pytest.raises(RuntimeError, match="no Table 1 today"):  # where the release counts
        counts.table_one(None)

"""Validate once per report run: the cached survey and the reports made from it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis import load_survey
from analysis.errors import ValidationError
from analysis.report import build, once, open_report, render_reports
from analysis.report.cache import (
    FOLDER,
    SECRET_ENV,
    clear_cache,
    read_cached_plan,
    read_cached_survey,
    survey_key,
    write_cached_survey,
)
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey

NOTEBOOK = build.NOTEBOOKS / "01_data_quality.ipynb"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_survey(simulate_survey(1500, seed=5), tmp_path_factory.mktemp("c") / "s.csv")


def test_cached_survey_is_the_validated_survey(data, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "secret of the run")
    survey = load_survey(data, CODEBOOK_PATH, on_invalid="exclude")
    key = survey_key(data, CODEBOOK_PATH, "exclude")
    write_cached_survey(survey, tmp_path, key)
    back = read_cached_survey(tmp_path, key, CODEBOOK_PATH)
    assert all(back.data[c].dtype == survey.data[c].dtype for c in survey.data)
    pd.testing.assert_frame_equal(back.data, survey.data, check_exact=True)
    assert back.data["posture"].cat.ordered == survey.data["posture"].cat.ordered
    pd.testing.assert_frame_equal(back.ledger, survey.ledger)
    pd.testing.assert_frame_equal(back.flow, survey.flow)
    assert back.source == survey.source and back.codebook == survey.codebook
    # another mode, or other data, is another key
    assert read_cached_survey(tmp_path, survey_key(data, CODEBOOK_PATH, "raise"),
                              CODEBOOK_PATH) is None
    assert survey_key(CODEBOOK_PATH, CODEBOOK_PATH, "exclude") != key
    clear_cache(tmp_path)
    assert not (tmp_path / FOLDER).exists()
    assert read_cached_survey(tmp_path, key, CODEBOOK_PATH) is None


def test_open_report_reads_the_cache_only_when_its_key_matches(data, tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "secret of the run")
    survey = load_survey(data, CODEBOOK_PATH, on_invalid="exclude")
    # a marked survey (its first 10 rows) shows whether the cache was read
    marked = dataclasses.replace(survey, data=survey.data.iloc[:10])
    write_cached_survey(marked, tmp_path, survey_key(data, CODEBOOK_PATH, "exclude"))
    assert len(open_report("x", data, CODEBOOK_PATH, out_dir=tmp_path).survey.data) == 10
    with pytest.raises(ValidationError, match="rules broken"):  # "raise": validates, fails
        open_report("x", data, CODEBOOK_PATH, out_dir=tmp_path, on_invalid="raise")
    clear_cache(tmp_path)
    assert len(open_report("x", data, CODEBOOK_PATH, out_dir=tmp_path).survey.data) == \
        len(survey.data)


def test_reports_from_the_cache_are_byte_identical(data, tmp_path, monkeypatch):
    out = tmp_path / "reports"  # the same folder: the analyst page shows the parameters

    def render() -> dict:
        render_reports(data, CODEBOOK_PATH, out, notebooks=[NOTEBOOK], progress=False)
        return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    cached = render()
    assert not (out / FOLDER).exists()  # removed when the run ends
    # the survey (and plan) are not cached: each notebook validates and plans on its own; the
    # run's disclosure decision is still shared, as it must be for one report
    monkeypatch.setattr(once, "write_cached_survey", lambda *args, **kwargs: None)
    each = render()
    assert sorted(cached) == sorted(each)
    assert [str(p) for p in cached if cached[p] != each[p]] == []
    assert any(p.suffix == ".html" for p in cached)


def test_plan_read_back_from_json_is_the_same_plan(data):
    import json

    from analysis.plan import AnalysisPlan, plan

    decided = plan(load_survey(data, CODEBOOK_PATH, on_invalid="exclude"))
    assert decided.design and any(m.interactions for m in decided.models)  # tuples, dicts
    back = AnalysisPlan.from_dict(json.loads(json.dumps(decided.to_dict())))
    assert back == decided
    assert str(back) == str(decided)
    assert all(isinstance(p, tuple) for m in back.models for p in m.interactions)


def test_notebooks_use_the_runs_plan_only_for_the_same_options(data, tmp_path, monkeypatch):
    import json

    from analysis.plan import plan

    monkeypatch.setenv(SECRET_ENV, "secret of the run")
    survey = load_survey(data, CODEBOOK_PATH, on_invalid="exclude")
    key = survey_key(data, CODEBOOK_PATH, "exclude")
    decided = plan(survey)
    marked = json.dumps({**decided.to_dict(), "name": "planned by the run"})  # its origin
    write_cached_survey(survey, tmp_path, key, plan={"options": {}, "plan": marked})
    assert read_cached_plan(tmp_path, key, {})["name"] == "planned by the run"
    assert read_cached_plan(tmp_path, key, {"outcomes": "spasm"}) is None
    assert read_cached_plan(tmp_path, key, {}, secret="another run") is None
    session = open_report("03_risk_factors", data, CODEBOOK_PATH, out_dir=tmp_path)
    assert session.plan.name == "planned by the run"
    assert dataclasses.replace(session.plan, name=decided.name) == decided
    assert str(dataclasses.replace(session.plan, name=decided.name)) == str(decided)  # order
    other = open_report("03_risk_factors", data, CODEBOOK_PATH, out_dir=tmp_path,
                        outcome="spasm")  # other options: the notebook plans itself
    assert other.plan.name == decided.name
    # a run that could not plan leaves no plan: each notebook plans
    write_cached_survey(survey, tmp_path, key)
    assert read_cached_plan(tmp_path, key, {}) is None
    assert open_report("x", data, CODEBOOK_PATH, out_dir=tmp_path).plan == decided


def test_the_run_plans_once_with_its_options(data, monkeypatch):
    import json

    import analysis.plan
    from analysis.errors import ModelError

    survey = load_survey(data, CODEBOOK_PATH, on_invalid="exclude")
    decided, plan = once.shared_plan(survey, {"outcome": None, "threshold": 5})
    assert plan["options"] == {} and '"models"' in plan["plan"]
    assert plan["plan"] == json.dumps(decided.to_dict(), ensure_ascii=False)
    assert once.shared_plan(survey, {"outcome": "pain"})[1]["options"] == {"outcomes": "pain"}

    def fails(*args, **kwargs):
        raise ModelError("cannot plan")

    monkeypatch.setattr(analysis.plan, "plan", fails)  # the notebooks plan, and say why
    assert once.shared_plan(survey, {}) == (None, None)


def test_sample_rows_for_curves_is_a_fixed_simple_random_sample():
    from analysis.report.sections import sample_rows

    assert sample_rows(1000, size=1000) is None
    rows = sample_rows(10_000, size=2_000, seed=3)
    assert rows.size == 2_000 and np.unique(rows).size == 2_000
    assert (np.diff(rows) > 0).all() and rows.min() >= 0 and rows.max() < 10_000
    assert (rows == sample_rows(10_000, size=2_000, seed=3)).all()
    # a simple random sample: each tenth of the rows holds about a tenth of it
    assert np.bincount(rows // 1_000).min() > 140

"""Fit once per report run: the run's fits, shared with the notebooks, are the notebook's own."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import load_survey
from analysis.models.additive import additive_interaction
from analysis.plan import AnalysisPlan, fit_model, fit_plan, plan
from analysis.report import build, once, open_report, render_reports
from analysis.report.cache import FOLDER, SECRET_ENV, survey_key, write_cached_survey
from analysis.report.shared_fits import (
    FILE,
    SharedFit,
    fits_key,
    plan_text,
    read_shared_fits,
    write_shared_fits,
)
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey

SECRET = "secret of the run"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_survey(simulate_survey(1500, seed=5), tmp_path_factory.mktemp("f") / "s.csv")


@pytest.fixture(scope="module")
def fitted(data):
    survey = load_survey(data, CODEBOOK_PATH, on_invalid="exclude", keep_identifiers=False)
    decided = plan(survey)
    return survey, decided, fit_plan(survey, decided)


def _read(folder, decided, survey, calls=None, key="k"):
    def refit(model):
        if calls is not None:
            calls.append(model.key)
        return fit_model(survey, model)

    # the notebook's plan comes back from the run's JSON, not the same object
    again = AnalysisPlan.from_dict(json.loads(plan_text(decided)))
    return read_shared_fits(folder, key, again, refit)


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left, right, check_exact=True)
    assert left.attrs == right.attrs


def test_shared_fits_give_the_numbers_of_the_fits(fitted, tmp_path, monkeypatch):
    survey, decided, fits = fitted
    monkeypatch.setenv(SECRET_ENV, SECRET)
    write_shared_fits(fits, tmp_path, "k", SECRET)
    calls: list[str] = []
    back = _read(tmp_path, decided, survey, calls)
    assert [f.plan.key for f in back] == [f.plan.key for f in fits] == ["spasm_12m",
                                                                       "spasm_12m_subsample"]
    for ours, theirs in zip(back, fits, strict=True):
        assert ours.failure == theirs.failure and ours.ok == theirs.ok
        a, b = ours.result, theirs.result
        assert type(a).__name__ == type(b).__name__ == "LogisticResult"
        _same(a.table, b.table)
        for which in b._tidy:
            _same(a.tidy(which), b.tidy(which))
        _same(a.coefficients(), b.coefficients())
        _same(a.fit_statistics, b.fit_statistics)
        assert a.notices == b.notices and a.estimate == b.estimate
        assert json.dumps(a.info, default=repr) == json.dumps(b.info, default=repr)
        assert list(a.parts) == list(b.parts) and list(a.models) == list(b.models)
        for x in b.parts:
            _same(a.parts[x].table, b.parts[x].table)
        _same(ours.effects.table, theirs.effects.table)
        _same(ours.effects.difference, theirs.effects.difference)
        _same(ours.effects.risks, theirs.effects.risks)
        for x, y in zip(ours.effects.models.values(), theirs.effects.models.values(),
                        strict=True):
            assert np.array_equal(x.params, y.params) and np.array_equal(x.cov, y.cov)
    # the main model's rows (the performance section) and the additive interaction
    main_ours, main_theirs = back[0].result, fits[0].result
    for x, y in zip(main_ours.models["adjusted"].outcome_weights(),
                    main_theirs.models["adjusted"].outcome_weights(), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    interaction = next(k for k in main_theirs.models if "×" in k)
    a, b = decided.models[0].interactions[0]
    _same(additive_interaction(main_ours, a, b, which=interaction),
          additive_interaction(main_theirs, a, b, which=interaction))
    assert isinstance(main_ours.models["adjusted"], SharedFit)
    assert calls == []  # nothing above needed the notebook to fit


def test_what_is_not_stored_comes_from_the_notebooks_own_fit(fitted, tmp_path, monkeypatch):
    survey, decided, fits = fitted
    monkeypatch.setenv(SECRET_ENV, SECRET)
    write_shared_fits(fits, tmp_path, "k", SECRET)
    calls: list[str] = []
    back = _read(tmp_path, decided, survey, calls)
    shared = back[1].result.models["adjusted"]  # a sub-sample model: no rows stored
    assert np.array_equal(shared.design.X, fits[1].result.models["adjusted"].design.X)
    assert calls == ["spasm_12m_subsample"]
    for x, y in zip(shared.outcome_weights(), fits[1].result.models["adjusted"].outcome_weights(),
                    strict=True):
        assert np.array_equal(x, y)
    assert set(back[1].result.fits) == set(fits[1].result.fits)
    assert calls == ["spasm_12m_subsample"]  # fitted once


def test_a_model_the_encoding_cannot_hold_is_fitted_in_the_notebook(fitted, tmp_path,
                                                                   monkeypatch):
    import dataclasses

    survey, decided, fits = fitted
    monkeypatch.setenv(SECRET_ENV, SECRET)
    odd = dataclasses.replace(fits[0], result=dataclasses.replace(
        fits[0].result, info={**fits[0].result.info, "odd": {1, 2}}))  # a set: not held
    write_shared_fits([odd, fits[1]], tmp_path, "k", SECRET)
    calls: list[str] = []
    back = _read(tmp_path, decided, survey, calls)
    assert calls == ["spasm_12m"]
    assert "odd" not in back[0].result.info
    _same(back[0].result.table, fits[0].result.table)
    assert isinstance(back[1].result.models["adjusted"], SharedFit)


def test_planted_or_foreign_fits_are_rejected(fitted, tmp_path, monkeypatch, caplog):
    survey, decided, fits = fitted
    path = write_shared_fits(fits, tmp_path, "k", "another run's secret")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert _read(tmp_path, decided, survey) is None  # not signed by this run
    assert "fail their signature" in caplog.text
    write_shared_fits(fits, tmp_path, "k", SECRET)
    assert _read(tmp_path, decided, survey, key="other survey or plan") is None
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["body"] = saved["body"].replace('"spasm_12m"', '"planted"', 1)
    path.write_text(json.dumps(saved), encoding="utf-8")
    assert _read(tmp_path, decided, survey) is None  # changed after signing
    monkeypatch.delenv(SECRET_ENV)
    write_shared_fits(fits, tmp_path, "k", SECRET)
    assert _read(tmp_path, decided, survey) is None  # not under a report run


def _share_run(data, survey, decided, fits, folder, monkeypatch) -> None:
    """What a report run leaves for its notebooks: the signed survey cache and the fits."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    key = survey_key(data, CODEBOOK_PATH, "exclude")
    write_cached_survey(survey, folder, key, plan={"options": {}, "plan": plan_text(decided)})
    write_shared_fits(fits, folder, fits_key(key, plan_text(decided)), SECRET)


def test_a_report_session_takes_the_runs_fits(data, fitted, tmp_path, monkeypatch):
    survey, decided, fits = fitted
    _share_run(data, survey, decided, fits, tmp_path, monkeypatch)
    session = open_report("03_risk_factors", data, CODEBOOK_PATH, out_dir=tmp_path)
    assert isinstance(session.fits[0].result.models["adjusted"], SharedFit)
    _same(session.fits[0].result.table, fits[0].result.table)
    other = open_report("03_risk_factors", data, CODEBOOK_PATH, out_dir=tmp_path,
                        confounders=["age"])  # another plan: its own fits
    assert not isinstance(other.fits[0].result.models["adjusted"], SharedFit)


def test_the_regression_sections_fit_no_model_again(data, fitted, tmp_path, monkeypatch):
    import analysis.plan
    from analysis.privacy import Release
    from analysis.report import planned
    from analysis.report.estimate_cells import register_additive

    survey, decided, fits = fitted
    _share_run(data, survey, decided, fits, tmp_path, monkeypatch)
    calls: list[str] = []
    real_fit = analysis.plan.fit_model
    monkeypatch.setattr(analysis.plan, "fit_model",
                        lambda s, m, *a: calls.append(m.key) or real_fit(s, m, *a))
    session = open_report("03_risk_factors", data, CODEBOOK_PATH, out_dir=tmp_path)
    for section in (planned.model_sections, planned.additive_interaction,
                    planned.dose_responses, planned.performance):
        section(session)
    assert calls == []  # the additive contrasts' cells came with the run's fits
    # ... and they are the cells of the fit's own rows
    ours, theirs = Release(5), Release(5)
    names = register_additive(ours, session.fits[0])
    assert names and names == register_additive(theirs, fits[0])
    assert ours.to_json() == theirs.to_json()
    assert calls == []


@pytest.mark.slow
def test_reports_with_the_runs_fits_are_identical(data, tmp_path, monkeypatch):
    out = tmp_path / "reports"
    notebooks = [build.NOTEBOOKS / "03_risk_factors.ipynb"]

    def render() -> dict:
        render_reports(data, CODEBOOK_PATH, out, notebooks=notebooks, progress=False)
        assert not (out / FOLDER / FILE).exists()
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    shared = render()
    written = []
    monkeypatch.setattr(once, "write_shared_fits", lambda *a, **k: written.append(a))
    own = render()  # the notebook fits its models itself
    assert len(written) == 1 and len(written[0][0]) == 2
    assert sorted(shared) == sorted(own)
    assert [p for p in shared if shared[p] != own[p]] == []
    assert json.loads(shared["results.json"])["03_risk_factors"]

"""The report of a folder of Parquet files (out of core, DuckDB) equals the in-memory report.

2,000 simulated respondents written as one Parquet file (the in-memory
report) and as 4 Parquet files in a folder (the out-of-core report, every
aggregate from DuckDB). Below the report's sample size the sample is every
row, so the sections that rest on the sample are equal by construction, and
those computed from aggregates (flow, changes, missing values, Table 1,
prevalence, logistic models) are compared for real. The codebook is the
example's without survey-design roles and interactions (those models have no
aggregate form and would be fitted on the sample).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from _parquet_cohort import parquet_cohort
from analysis.report import once, render_reports
from analysis.report.build import report_notebooks
from analysis.simulate import simulate_survey, write_survey

N, FILES = 2_000, 4
DIFFERENT = ("Data file", "Data sha256", "Parameter data")  # the two inputs' names


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ooc")
    whole, folder, codebook = parquet_cohort(tmp, N, seed=3, files=FILES)
    notebooks = report_notebooks()[:3]
    render_reports(whole, codebook, tmp / "memory", notebooks=notebooks, progress=False)
    render_reports(folder, codebook, tmp / "lazy", notebooks=notebooks, progress=False)
    return tmp / "memory", tmp / "lazy"


def _without_inputs(record: dict) -> dict:
    for notebook in record.values():
        rows = notebook["provenance"]["rows"]
        notebook["provenance"]["rows"] = [r for r in rows if r[0] not in DIFFERENT]
    return record


def test_every_number_of_results_json_is_the_in_memory_one(reports):
    memory, lazy = (json.loads((d / "results.json").read_text(encoding="utf-8"))
                    for d in reports)
    assert set(memory) == {"01_data_quality", "02_descriptives", "03_risk_factors"}
    data = {nb: lazy[nb]["provenance"]["rows"][0][1] for nb in lazy}
    assert set(data.values()) == {"cohort"}
    memory, lazy = _without_inputs(memory), _without_inputs(lazy)
    for notebook in memory:
        assert sorted(lazy[notebook]) == sorted(memory[notebook]), notebook
        for key in memory[notebook]:
            assert lazy[notebook][key] == memory[notebook][key], (notebook, key)
    # the numbers compared are the aggregates: Table 1, prevalence, flow, models
    d = memory["02_descriptives"]
    assert len(d["characteristics"]["rows"]) > 40 and len(d["prevalence"]["rows"]) > 10
    assert any(k.startswith("model_") for k in memory["03_risk_factors"])


def test_rendered_tables_are_the_in_memory_ones(reports):
    memory, lazy = reports
    names = sorted(p.name for p in (memory / "tables").glob("*.csv"))
    assert names == sorted(p.name for p in (lazy / "tables").glob("*.csv")) and len(names) > 10
    for name in names:
        a = pd.read_csv(memory / "tables" / name, dtype=str, keep_default_na=False)
        b = pd.read_csv(lazy / "tables" / name, dtype=str, keep_default_na=False)
        if name.endswith("_provenance.csv"):
            a, b = (t[~t["Item"].isin(DIFFERENT)].reset_index(drop=True) for t in (a, b))
        pd.testing.assert_frame_equal(a, b, obj=name)


def test_out_of_core_report_says_so_only_past_its_sample(reports):
    _, lazy = reports
    page = (lazy / "02_descriptives.html").read_text(encoding="utf-8")
    assert "Computed out of core" not in page  # 2,000 rows: the sample is every row


def test_past_its_sample_a_report_says_what_rests_on_the_sample(tmp_path, monkeypatch):
    # In process, with a sample of 400 lines of 2,000: the banner says so, aggregates use
    # every row, and a design-based model (no aggregate form) carries a notice.
    from analysis.report import opening, session

    whole = write_survey(simulate_survey(N, seed=5), tmp_path / "whole.parquet")
    folder = tmp_path / "cohort"
    folder.mkdir()
    frame = pd.read_parquet(whole)
    for k, part in enumerate(np.array_split(np.arange(N), 2)):
        frame.iloc[part].to_parquet(folder / f"part-{k}.parquet", index=False)
    monkeypatch.setattr(session, "SAMPLE_ROWS", 400)
    report = opening.open_report("03_risk_factors", folder, "data/codebooks/backpain_survey.yml",
                                 out_dir=tmp_path / "out")
    n = report.lazy.n_analysed
    assert len(report.survey.data) < 400 < n == report.n
    banner = report.banner().text
    assert "SIMULATED DATA" in banner and "Computed out of core" in banner
    assert f"random sample of {len(report.survey.data):,} respondents" in banner
    assert int(report.flow["n"].iloc[0]) == N
    from analysis.scale.planned import aggregate_form

    main = report.fits[0]
    # design-based (or Firth, on so small a sample): no aggregate form, fitted on the sample
    assert main.plan.model and not aggregate_form(main.plan, None)
    assert any("random sample" in x.message for x in main.result.notices)
    t1 = report.table_one("spasm_12m")
    assert int(t1.loc[0, "n:Overall"]) == n


def test_questionnaire_counts_of_a_sample_are_not_parts_of_every_row(tmp_path, monkeypatch):
    """Above the sample size the questionnaires are scored on the sample: their bands and
    histogram bars are released as the sample's counts, never as parts of the totals of
    every row (which made the 10^7-row report stop with 'parts add up to ...')."""
    import analysis.report.session as session
    from analysis.report.disclosure import SAMPLE, sample_population
    from analysis.report.opening import open_report

    folder = tmp_path / "cohort"
    folder.mkdir()
    frame = simulate_survey(900, seed=5)
    for k, part in enumerate(np.array_split(np.arange(900), 3)):
        write_survey(frame.iloc[part].reset_index(drop=True), folder / f"part-{k}.parquet")
    monkeypatch.setattr(session, "SAMPLE_ROWS", 300)
    report = open_report("04_questionnaires", folder,
                         "data/codebooks/backpain_survey.yml", out_dir=tmp_path / "out")
    sample = len(report.survey.data)
    assert sample <= 300 < report.n  # 900 rows less the simulation's planted invalid ones
    assert sample_population(report.n, len(report.survey.data)) == SAMPLE
    release = report.release  # decided without a contradiction between the two populations
    sample_cells = release.cells(SAMPLE)
    scores = {v for k in sample_cells for v in k.variables
              if not v.endswith(" (bin)") and v not in report.survey.data}
    assert scores, "no questionnaire count registered for the sample"
    assert all(0 <= release.count(k) <= sample for k in sample_cells)
    # no score is counted among every row analysed
    assert not [k for k in release.cells("analysed") if set(k.variables) & scores]
    shown = [k for k in sample_cells if release.status(k) != "unreleased"]
    assert shown and all(release.label(k) for k in shown)
    # the example declares a design: its design-based prevalence is made on the sample,
    # so the table's n and events are the sample's (the 10^7 report stopped here: 'spasm_12m
    # registered with two counts, 9.76e+06 and 979690')
    from analysis.report import planned

    outcome = report.plan.models[0].outcome
    html = planned.prevalence(report).text
    by_level = [k for k in release.cells(SAMPLE) if len(k.levels) == 2
                and dict(k.levels).get(outcome) == "(known)"]
    shown = [release.label(k) for k in by_level if release.status(k) == "shown"]
    assert shown and all((release.count(k) or 0) <= sample for k in by_level)
    assert all(f"<td class=\"num\">{n}</td>" in html for n in shown)


def test_a_notebook_reopens_the_runs_validation_without_a_scan(tmp_path, monkeypatch):
    """The run validates, samples and counts a dataset once; a notebook opened in its folder
    reopens it from the signed cache (validating again would raise here) with the run's
    sample, counts and aggregates."""
    import importlib

    from analysis.report import build, opening, session
    from analysis.report.cache import SECRET_ENV
    from analysis.scale import load_parquet_survey
    from analysis.scale.describe import lazy_missingness

    lazy_module = importlib.import_module("analysis.scale.lazy")

    _, folder, codebook = parquet_cohort(tmp_path, 1_200, seed=7, files=3)
    folder, codebook, run = folder.resolve(), codebook.resolve(), tmp_path / "run"
    monkeypatch.setattr(session, "SAMPLE_ROWS", 500)
    monkeypatch.setenv(SECRET_ENV, "0" * 64)
    paths = report_notebooks()[:2]
    declared = {p: build.notebook_parameters(p) for p in paths}
    once.dataset_once(folder, codebook, run, paths, declared, {}, 5, None, "0" * 64)
    with load_parquet_survey(folder, codebook) as fresh:
        flow, missing = fresh.flow, lazy_missingness(fresh)
        sample = fresh.sample(500)

    def again(lazy):
        raise AssertionError("the dataset was validated again")

    monkeypatch.setattr(lazy_module, "validate_rows", again)
    report = opening.open_report("02_descriptives", folder, codebook, out_dir=run)
    assert '["missingness"]' in report.lazy.memo and len(report.lazy.memo) >= 3
    pd.testing.assert_frame_equal(report.flow, flow)
    pd.testing.assert_frame_equal(report.missingness(), missing)
    assert list(report.survey.data.index) == list(sample.data.index)
    assert report.n == int(flow["n"].iloc[-1]) > len(report.survey.data)
    assert report.release is not None and not getattr(report, "_own_release", False)
    report.lazy.close()

"""Case studies on public data: the notebooks run as configurations of the plan.

The statistics the notebooks show are tested where they live: matched pairs in
tests/test_models_conditional.py, model comparisons and rescaled odds ratios in
tests/test_models_compare.py, collinearity and overlap in tests/test_diagnostics.py,
each against an independent computation on the raw upstream file. Here: the
notebooks execute, record their headline numbers, and compare them with
published values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _public_data import needs_data
from analysis import case_studies as cs
from analysis.errors import ReportError


# ---- the notebooks execute --------------------------------------------------------
@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[dict, Path]:
    from analysis.report.html import export_html
    from analysis.report.run import run_notebook

    out = tmp_path_factory.mktemp("case_studies")
    runnable, skipped = cs.case_study_notebooks()
    assert not skipped
    pages = {}
    for path in runnable:
        nb = run_notebook(path, {"out_dir": str(out)}, cwd=path.parent)
        pages[path.stem] = export_html(nb, reader=True)
    return pages, out


@needs_data
def test_each_case_study_notebook_executes_and_records_its_headline(executed):
    pages, out = executed
    assert sorted(pages) == ["backpack", "driving_disc", "pelvic_parameters"]
    assert "<title>Case study: driving and acute herniated lumbar disc</title>" in \
        pages["driving_disc"]
    results = {n: json.loads((out / "results" / f"{n}.json").read_text()) for n in pages}
    # each notebook is the plan of its codebook: the plan and methods are recorded, and the
    # model table is the planned one
    for name, outcome in (("driving_disc", "status"), ("pelvic_parameters", "abnormal"),
                          ("backpack", "back_problems")):
        assert {"analysis_plan", "methods", f"model_{outcome}", "published"} <= \
            set(results[name])
    driving = {r[0]: r for r in results["driving_disc"]["model_status"]["rows"]}
    assert driving["Drives a car: Yes vs No"][3] == "1.93 (1.09-3.44)"
    assert driving["Lives in the suburbs: Yes vs No"][3] == "1.29 (0.83-2.01)"
    assert "conditional logistic" in results["driving_disc"]["analysis_plan"]["rows"][0][0]
    pelvic = {r[0]: r for r in results["pelvic_parameters"]["model_abnormal"]["rows"]}
    # the plan's readable step: 1.072 per degree is 2.00 per 10 degrees
    assert pelvic["Pelvic tilt (per 10 degrees)"][3] == "2.00 (1.42-2.80)"
    backpack = results["backpack"]["model_back_problems"]["rows"]
    # E-value by hand: 32 of 100 with back problems is common, so RR = sqrt(1.63) = 1.277
    # and E = RR + sqrt(RR (RR - 1)) = 1.87; the interval includes 1, so its E-value is 1
    assert backpack == [["Backpack to body weight ratio (per 0.05)", "1.70 (0.95-3.05)", "0.073",
                         "1.63 (0.89-3.00)", "0.115", "1.87 (1.00)", "100", "32"]]
    # the comparison sets numbers side by side, or says "not verified" with no number
    published = results["driving_disc"]["published"]
    assert published["columns"] == ["Source", "Reports", "This analysis", "Published",
                                    "Difference", "Tolerance", "Agreement"]
    assert published["rows"][0][2:] == ["1.93", "2.0", "-0.07", "±0.5", "agrees"]
    assert published["rows"][2][2:] == ["1.931", "not verified", "", "", "not verified"]
    for name in ("pelvic_parameters", "backpack"):
        rows = results[name]["published"]["rows"]
        assert all(r[6] in ("not verified", "nothing published") and r[4] == "" for r in rows)
    # every figure was written, and the reader page embeds it
    assert (out / "figures" / "backpack_dose_ratio.png").stat().st_size > 10_000
    # the flow diagram, the forest plot and the ORs beside the standardised PRs
    assert pages["pelvic_parameters"].count("data:image/png;base64") == 3
    assert (out / "figures" / "pelvic_parameters_forest_pr_abnormal.png").is_file()


@needs_data
@pytest.mark.browser
def test_case_study_pages_fit_a_phone_and_a_desktop(executed, browser):
    from tests.test_report_cdp import page_problems

    pages, out = executed
    problems = []
    for name, text in pages.items():
        path = out / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        problems += page_problems(browser, path, label="case_")
    assert problems == []


def test_a_missing_dataset_is_one_skip_line(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))
    runnable, skipped = cs.case_study_notebooks()
    assert runnable == []
    assert skipped[0] == ("skipped case study driving_disc: dataset hsaur3-backpain not found; "
                          "run 'backpain datasets fetch hsaur3-backpain' or set "
                          "BACKPAIN_DATA_DIR")
    assert len(skipped) == 3 and all("\n" not in line for line in skipped)


def test_published_comparison_shows_both_numbers_the_difference_and_the_tolerance():
    table = cs.published_comparison([
        {"source": "A", "reports": "OR", "published": 1.93, "decimals": 2, "ours": 1.9307},
        {"source": "B", "reports": "OR", "published": 2.10, "decimals": 2, "ours": 1.9307},
        {"source": "C", "reports": "OR", "published": None, "ours": 1.9307},
        {"source": "D", "reports": "OR", "published": "none", "ours": None},
        {"source": "E", "reports": "'about twice'", "published": 2, "tolerance": 0.5,
         "ours": 1.9307},
        {"source": "F", "reports": "OR", "published": 1.93, "ours": None},
        # on the boundary: half a unit of the published 0.01 away is within the tolerance
        {"source": "G", "reports": "OR", "published": 1.93, "ours": 1.925},
    ]).set_index("source")
    assert table["agreement"].tolist() == ["agrees", "differs", "not verified",
                                           "nothing published", "agrees", "not comparable",
                                           "agrees"]
    assert table.loc["A"].tolist()[1:] == ["1.931", "1.93", "+0.001", "±0.005", "agrees"]
    assert table.loc["B", "difference"] == "-0.169"
    assert table.loc["E", ["published", "difference", "tolerance"]].tolist() == [
        "2.00", "-0.069", "±0.5"]
    # not verified: no number beside ours
    assert table.loc["C", ["published", "difference", "tolerance"]].tolist() == [
        "not verified", "", ""]
    assert table.loc["D", "published"] == "none published"
    with pytest.raises(ReportError, match="published='about 2'"):
        cs.published_comparison([{"source": "E", "reports": "OR", "published": "about 2",
                                  "ours": 1.9}])


# ---- the case study's own counts are released with the report's ------------------------
def results_of(folder: Path, name: str = "driving_disc") -> dict:
    return json.loads((folder / "results" / f"{name}.json").read_text())



@needs_data
def test_a_small_pair_count_is_protected_in_html_results_and_csv_alike(tmp_path):
    """At threshold 20 the HSAUR3 pairs have cells of 13 and 19 (and c = 19 pairs with only
    the control driving): hidden in the HTML, results.json and the CSV alike, with the
    matched odds ratio b/c and its interval (which give b and c back) withheld."""
    import csv

    from analysis.case_studies import released

    report = cs.open_case_study("driving_disc", "hsaur3-backpain", out_dir=tmp_path,
                                threshold=20, pairs="driver")
    html = released.discordant_table(report).text
    results = json.loads((tmp_path / "results" / "driving_disc.json").read_text())
    with open(tmp_path / "tables" / "driving_disc_discordant_pairs.csv", newline="") as f:
        rows = list(csv.reader(f))
    # hand count (tests/test_models_conditional.py): 13 pairs neither drives, 19 only the
    # control, 41 only the case, 144 both; 217 pairs
    assert rows[1:] == results["discordant_pairs"]["rows"] == [
        ["No", "<20", "<20", "suppressed"], ["Yes", "suppressed", "suppressed", "suppressed"],
        ["Total", "suppressed", "suppressed", "217"]]
    mcnemar = dict(map(tuple, results["mcnemar"]["rows"]))
    assert mcnemar["Pairs with only the control exposed (c)"] == "<20"
    assert mcnemar["Matched odds ratio b/c (95% CI)"] == "suppressed"
    assert "2.158" not in html and ">19<" not in html and ">13<" not in html
    assert "&lt;20" in html
    # the pairs' margins are the cases and controls by driving, which the model table counts
    # too (it leaves nobody out): hidden there as well, with the OR they would give back
    from analysis.report import planned

    planned.model_sections(report)
    model = {r[0]: r for r in results_of(tmp_path)["model_status"]["rows"]}
    assert model["Drives a car: No (reference)"][7] == "suppressed"
    assert model["Drives a car: Yes vs No"][3] == "suppressed"
    assert model["Lives in the suburbs: Yes vs No"][3] == "1.29 (0.83-2.01)"
    # in 1:1 pairs the crude LR statistic and the 60 discordant sets solve for b and c, and
    # the comparison would print the OR: both withheld with it, the suburbs' test shown
    result = cs.sections.planned_fit(report)
    cs.sections.lr_tests(report, result, drop=["driver"])
    cs.sections.comparison(report, [{"source": "HSAUR3", "reports": "OR", "published": 2,
                                     "tolerance": 0.5, "decimals": 1,
                                     "ours": cs.sections.estimate(result, "driver")}], note="")
    lr = {r[0]: r[1:] for r in results_of(tmp_path)["lr_tests"]["rows"]}
    assert lr["Crude model: drives a car"] == ["suppressed", "1", "suppressed"]
    assert lr["Adjusted model: all model terms"] == ["suppressed", "2", "suppressed"]
    assert lr["Crude model: lives in the suburbs"] == ["4.29", "1", "0.038"]
    assert results_of(tmp_path)["published"]["rows"] == [
        ["HSAUR3", "OR", "suppressed", "2.0", "", "±0.5", "withheld"]]
    # Table 1 is not in this notebook, so it costs the pairs no complement
    assert "table one" not in report.release_parts
    # a total minus the shown cells gives nothing back: each hidden cell's audit interval
    # spans the label's range, and the log sits in the analyst folder
    log = report.release.log()
    assert log["protected"].all()
    pairs = log[log["population"] == "pairs:driver"].set_index("levels")
    assert pairs.loc["case=No, control=Yes", ["low", "high"]].tolist() == [1, 19]
    report.write_log()
    assert (tmp_path / "analyst" / "suppression_log.csv").is_file()
    # at the default threshold the same table is shown whole, with McNemar's OR
    whole = cs.open_case_study("driving_disc", "hsaur3-backpain", out_dir=tmp_path / "5",
                               pairs="driver")
    released.discordant_table(whole)
    assert whole.results["discordant_pairs"]["rows"][0] == ["No", "13", "19", "32"]
    assert whole.results["mcnemar"]["rows"][2] == ["Matched odds ratio b/c (95% CI)",
                                                   "2.158 (1.253-3.718)"]


@needs_data
def test_group_sizes_read_alike_in_the_groups_and_distribution_tables(tmp_path):
    """The backpack survey: 68 students without and 32 with back problems (the Stat2Data
    file, counted by hand); no load ratio is missing, so each group's N in the
    distribution table is its size and must be hidden wherever the groups table hides it."""
    from analysis.case_studies import released

    def tables(threshold):
        report = cs.open_case_study("backpack", "stat2data-backpack",
                                    out_dir=tmp_path / str(threshold), threshold=threshold,
                                    groups="back_problems",
                                    overlaps=[["ratio", "back_problems"]])
        released.data_flow(report)
        cs.sections.overlap_table(report, "ratio", "back_problems", key="load_ratio",
                                  beyond=False, title="Load ratio")
        assert report.release.log()["protected"].all()
        return ([r[1] for r in report.results["groups"]["rows"]],
                [r[1] for r in report.results["load_ratio"]["rows"]],
                report.results["load_ratio"]["rows"])

    groups, n, _ = tables(5)
    assert groups == ["68", "32", "100"] and n == ["68", "32"]
    groups, n, _ = tables(20)  # Table 1's small cells cost both groups a complement
    assert groups[:2] == n == ["suppressed", "suppressed"]
    groups, n, rows = tables(40)  # 32 is small: its quantiles describe too few students
    assert groups[1] == n[1] == "<40"
    assert rows[1][2:] == ["suppressed"] * 5
    with pytest.raises(ReportError, match="overlaps="):
        report = cs.open_case_study("backpack", "stat2data-backpack", out_dir=tmp_path / "x")
        cs.sections.overlap_table(report, "ratio", "back_problems", key="k", title="t")

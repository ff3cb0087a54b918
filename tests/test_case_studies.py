"""Case studies on public data: the notebooks run, and their headline numbers are right.

Each headline estimate is computed through the package's public API and
checked against an independent computation on the raw upstream file
(statsmodels called directly, or a hand count of discordant pairs).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy.io import arff
from statsmodels.discrete.conditional_models import ConditionalLogit
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from analysis import case_studies as cs
from analysis import datasets
from analysis.errors import ModelError
from analysis.models import conditional_logistic, logistic

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "public"
needs_data = pytest.mark.skipif(datasets.local_path("hsaur3-backpain") is None,
                                reason="public data not available")


# ---- raw upstream files, read without the package ---------------------------------
@pytest.fixture(scope="module")
def raw_backpain() -> pd.DataFrame:
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = rdata.read_rda(datasets.fetch("hsaur3-backpain"))["backpain"]
    return pd.DataFrame({"ID": frame["ID"].astype(int),
                         "case": (frame["status"].astype(str) == "case").astype(int),
                         "driver": (frame["driver"].astype(str) == "yes").astype(int),
                         "suburban": (frame["suburban"].astype(str) == "yes").astype(int)})


@pytest.fixture(scope="module")
def raw_vertebral() -> pd.DataFrame:
    # the two-class file, which the package does not read: an independent source of the outcome
    with zipfile.ZipFile(datasets.fetch("vertebral-column")) as archive:
        data, _ = arff.loadarff(io.StringIO(archive.read("column_2C_weka.arff").decode()))
    frame = pd.DataFrame(data)
    frame["abnormal"] = (frame["class"] == b"Abnormal").astype(int)
    return frame


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
    driving = {r[0]: r for r in results["driving_disc"]["odds_ratios"]["rows"]}
    assert driving["Drives a car: Yes vs No"][3] == "1.93 (1.09-3.44)"
    pelvic = {r[0]: r for r in results["pelvic_parameters"]["odds_ratios"]["rows"]}
    assert pelvic["Pelvic tilt (per 1 degree)"][3] == "1.07 (1.04-1.11)"
    backpack = results["backpack"]["odds_ratios"]["rows"]
    assert backpack[0][2] == "1.70 (0.95 to 3.05)" and backpack[0][4:] == ["100", "32"]
    # every figure was written, and the reader page embeds it
    assert (out / "figures" / "backpack_dose_ratio.png").stat().st_size > 10_000
    assert pages["pelvic_parameters"].count("data:image/png;base64") == 2


def test_a_missing_dataset_is_one_skip_line(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))
    runnable, skipped = cs.case_study_notebooks()
    assert runnable == []
    assert skipped[0] == ("skipped case study driving_disc: dataset hsaur3-backpain not found; "
                          "run 'backpain datasets fetch hsaur3-backpain' or set "
                          "BACKPAIN_DATA_DIR")
    assert len(skipped) == 3 and all("\n" not in line for line in skipped)


# ---- driving and disc -----------------------------------------------------------------
@needs_data
def test_driving_odds_ratio_matches_conditional_logit_on_the_raw_file(raw_backpain):
    survey = datasets.load("hsaur3-backpain")
    result = conditional_logistic(survey, "status", ["driver", "suburban"], adjust_for=[])
    row = cs.headline(result, "driver[Yes]")
    assert (round(row["estimate"], 3), round(row["ci_low"], 3), round(row["ci_high"], 3)) == \
        (1.931, 1.085, 3.435)

    raw = raw_backpain
    direct = ConditionalLogit(raw["case"], raw[["driver", "suburban"]], groups=raw["ID"]).fit(
        method="newton", disp=0)
    b, se = direct.params["driver"], direct.bse["driver"]
    assert row["estimate"] == pytest.approx(np.exp(b), rel=1e-6)
    assert row["ci_low"] == pytest.approx(np.exp(b - 1.959963985 * se), rel=1e-6)
    assert row["ci_high"] == pytest.approx(np.exp(b + 1.959963985 * se), rel=1e-6)
    # LR test of the model (9.55 on 2 df) and of driving given residence
    null = direct.model.loglike(np.zeros(2))
    assert result.info["lr_statistic"] == pytest.approx(2 * (direct.llf - null), rel=1e-6)
    assert round(result.info["lr_statistic"], 3) == 9.546 and result.info["lr_df"] == 2
    reduced = ConditionalLogit(raw["case"], raw[["suburban"]], groups=raw["ID"]).fit(
        method="newton", disp=0)
    lr = cs.lr_drop(survey, result, "driver").iloc[0]
    assert lr["statistic"] == pytest.approx(2 * (direct.llf - reduced.llf), rel=1e-6)
    assert lr["df"] == 1 and round(lr["statistic"], 3) == 5.258


@needs_data
def test_discordant_pairs_by_hand_give_the_crude_conditional_odds_ratio(raw_backpain):
    survey = datasets.load("hsaur3-backpain")
    pairs = cs.discordant_pairs(survey, "driver")
    wide = raw_backpain.pivot(index="ID", columns="case", values="driver")
    b = int(((wide[1] == 1) & (wide[0] == 0)).sum())
    c = int(((wide[1] == 0) & (wide[0] == 1)).sum())
    assert (b, c) == (41, 19)
    table = pairs.set_index("case")
    assert (table.loc["Yes", "No"], table.loc["No", "Yes"], table.loc["Total", "total"]) == \
        (41, 19, 217)
    m = cs.mcnemar(pairs).iloc[0]
    assert m["odds_ratio"] == pytest.approx(41 / 19)
    crude = conditional_logistic(survey, "status", ["driver"], adjust_for=[])
    row = cs.headline(crude, "driver[Yes]", "crude")
    assert row["estimate"] == pytest.approx(m["odds_ratio"], rel=1e-6)
    assert row["ci_low"] == pytest.approx(m["ci_low"], rel=1e-5)
    assert row["ci_high"] == pytest.approx(m["ci_high"], rel=1e-5)
    square = [[table.loc["Yes", "Yes"], 41], [19, table.loc["No", "No"]]]
    assert m["chi2"] == pytest.approx(sm_mcnemar(square, exact=False, correction=False).statistic)
    assert m["p_exact"] == pytest.approx(sm_mcnemar(square, exact=True).pvalue)
    flow = cs.matched_sets(survey, "driver")
    assert flow["sets"].tolist() == [217, 217, 217, 60]
    assert flow["rows"].tolist() == [434, 434, 434, 120]


@needs_data
def test_discordant_pairs_need_the_matched_sets():
    survey = datasets.load("stat2data-backpack")
    with pytest.raises(ModelError, match="need the strata column: none is named"):
        cs.discordant_pairs(survey, "sex", outcome="back_problems")


# ---- pelvic parameters ------------------------------------------------------------------
@needs_data
def test_vertebral_odds_ratios_match_smf_logit_on_the_two_class_file(raw_vertebral):
    survey = datasets.load("vertebral-column")
    result = logistic(survey, "abnormal", ["pelvic_tilt", "lumbar_lordosis_angle"],
                      adjust_for=[])
    direct = smf.logit("abnormal ~ pelvic_tilt + lumbar_lordosis_angle", raw_vertebral).fit(
        disp=0)
    ci = direct.conf_int()
    for term in ("pelvic_tilt", "lumbar_lordosis_angle"):
        row = cs.headline(result, term)
        assert row["estimate"] == pytest.approx(np.exp(direct.params[term]), rel=1e-6)
        assert row["ci_low"] == pytest.approx(np.exp(ci.loc[term, 0]), rel=1e-6)
        assert row["ci_high"] == pytest.approx(np.exp(ci.loc[term, 1]), rel=1e-6)
    assert round(cs.headline(result, "pelvic_tilt")["estimate"], 3) == 1.072
    assert round(cs.headline(result, "lumbar_lordosis_angle")["estimate"], 3) == 1.033
    # the model with the grade: no separation, and ML as smf.logit
    firth = cs.firth_comparison(survey, "abnormal", ["pelvic_tilt", "lumbar_lordosis_angle",
                                                     "grade_of_spondylolisthesis"])
    with_grade = smf.logit("abnormal ~ pelvic_tilt + lumbar_lordosis_angle + "
                           "degree_spondylolisthesis", raw_vertebral).fit(disp=0)
    assert firth["or_ml"].to_numpy() == pytest.approx(np.exp(with_grade.params.to_numpy()[1:]),
                                                      rel=1e-6)
    assert np.abs(np.log(firth["or_firth"] / firth["or_ml"])).max() < 0.01


@needs_data
def test_overlap_counts_spondylolisthesis_beyond_the_normal_range(raw_vertebral):
    survey = datasets.load("vertebral-column")
    table = cs.overlap(survey, "grade_of_spondylolisthesis", "diagnosis").set_index("group")
    grade = survey.data["grade_of_spondylolisthesis"]
    normal_max = grade[survey.data["diagnosis"] == "Normal"].max()
    spondy = grade[survey.data["diagnosis"] == "Spondylolisthesis"]
    assert table.loc["Spondylolisthesis", "beyond_reference"] == (spondy > normal_max).sum() == 110
    assert table.loc["Normal", "beyond_reference"] == 0
    assert table["n"].tolist() == [100, 60, 150]


@needs_data
def test_pelvic_incidence_identity_makes_the_design_rank_deficient():
    survey = datasets.load("vertebral-column")
    note = cs.collinearity(survey, "pelvic_incidence",
                           ["pelvic_tilt", "sacral_slope"]).set_index("quantity")["value"]
    data = survey.data
    residual = (data["pelvic_incidence"] - data["pelvic_tilt"] - data["sacral_slope"]).abs()
    assert note["largest |difference|"] == residual.max() < 1e-7
    assert note["rank (at the precision of the data)"] == 3
    assert note["rank (numpy default tolerance)"] == 4
    assert note["condition number (unit-length columns)"] > 1e8
    assert np.isinf(note["VIF of pelvic tilt"])
    # any two of the three: one model, three parametrisations
    pairs = cs.two_of_three(survey, "abnormal", "pelvic_incidence",
                            ["pelvic_tilt", "sacral_slope"])
    assert pairs["loglik"].max() - pairs["loglik"].min() < 1e-6
    b = np.log(pairs.set_index(["model", "term"])["estimate"])
    assert b["pelvic incidence + pelvic tilt", "pelvic_tilt"] == pytest.approx(
        b["pelvic tilt + sacral slope", "pelvic_tilt"]
        - b["pelvic tilt + sacral slope", "sacral_slope"], abs=1e-6)
    fit_all = cs.rank_deficient_fit(survey, "abnormal",
                                    ["pelvic_incidence", "pelvic_tilt", "sacral_slope"])
    assert fit_all["outcome"].iloc[0] in {"error", "warning"}
    assert fit_all["message"].iloc[0]


# ---- backpack ---------------------------------------------------------------------------
@needs_data
def test_backpack_odds_ratio_per_005_matches_smf_logit_on_the_raw_csv():
    survey = datasets.load("stat2data-backpack")
    result = logistic(survey, "back_problems", ["ratio"], adjust_for=["sex"])
    raw = pd.read_csv(DATA / "Rdatasets_Stat2Data_Backpack.csv")
    raw["per_005"] = raw["Ratio"] / 0.05
    for which, formula in (("crude", "BackProblems ~ per_005"),
                           ("adjusted", "BackProblems ~ per_005 + C(Sex)")):
        direct = smf.logit(formula, raw).fit(disp=0)
        row = cs.per_increment(result.tidy(which), "ratio", 0.05).iloc[0]
        assert row["estimate"] == pytest.approx(np.exp(direct.params["per_005"]), rel=1e-6)
        assert row["ci_low"] == pytest.approx(np.exp(direct.conf_int().loc["per_005", 0]),
                                              rel=1e-6)
        assert row["p_value"] == pytest.approx(direct.pvalues["per_005"], rel=1e-5)
        assert (row["n"], row["events"]) == (100, 32)
    crude = cs.per_increment(result.tidy("crude"), "ratio", 0.05).iloc[0]
    assert (round(crude["estimate"], 3), round(crude["ci_low"], 3),
            round(crude["ci_high"], 3)) == (1.705, 0.951, 3.054)
    with pytest.raises(ModelError, match="no single row for 'height'"):
        cs.per_increment(result.tidy(), "height", 0.05)


def test_published_comparison_says_what_was_verified():
    table = cs.published_comparison([
        {"source": "A", "reports": "OR", "published": 1.93, "decimals": 2, "ours": 1.9307},
        {"source": "B", "reports": "OR", "published": 2.10, "decimals": 2, "ours": 1.9307},
        {"source": "C", "reports": "OR", "published": None, "ours": 1.9307},
        {"source": "D", "reports": "OR", "published": "none", "ours": None},
    ])
    assert table["agreement"].tolist() == ["agrees to the published precision", "differs",
                                           "not verified", "nothing published"]
    assert table["published"].tolist() == ["1.93", "2.10", "not verified", "none published"]
    with pytest.raises(ModelError, match="published='about 2'"):
        cs.published_comparison([{"source": "E", "reports": "OR", "published": "about 2",
                                  "ours": 1.9}])

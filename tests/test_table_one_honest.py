"""An honest Table 1: "not asked" apart from missing, SMDs only where defined, weighted under a design.

Every number is computed by hand on frames small enough to count on paper.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.codebook import Codebook
from analysis.describe import table_one, table_one_display, table_one_html, table_one_note
from analysis.describe.comparisons import (
    SMD_NO_SPREAD,
    SMD_ONE_GROUP,
    categorical_smd_checked,
    continuous_smd_checked,
)
from analysis.design_based import ratio_estimate, survey_design, survey_table_one
from analysis.ledger import Ledger
from analysis.privacy import Release
from analysis.report import planned
from analysis.report.session import ReportSession
from analysis.report.tables import (
    register_table_one,
    released_design_table_one,
    released_table_one,
)
from analysis.survey import Survey

SKIP = {
    "name": "skip",
    "variables": {
        "pain": {"type": "binary", "label": "Back pain in the last 12 months", "role": "outcome"},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"}},
        "trigger": {"type": "binary", "label": "Started while lifting", "required": False,
                    "asked_if": {"pain": 1}},
        "minutes": {"type": "numeric", "label": "Minutes of pain", "required": False,
                    "asked_if": {"pain": 1}},
    },
}


def _cat(values, levels):
    return pd.Categorical(values, categories=levels)


def _survey(data: pd.DataFrame, codebook: dict) -> Survey:
    data = data.set_axis(pd.RangeIndex(2, len(data) + 2, name="line"))
    return Survey(data, Codebook.from_dict(codebook), Ledger(n_read=len(data)), source="t.csv")


def skip_survey(extra_answer: bool = False) -> Survey:
    """Ten respondents; the two pain questions are put only to those with back pain.

    Line by line (pain, sex, trigger, minutes):
    Yes F Yes 10 | Yes F No 20 | Yes M Yes 30 | Yes M - - (asked, missing) |
    No F, No F, No M, No M (not asked) | - F - - (pain unknown: counts as asked, missing) |
    No M (not asked; with ``extra_answer`` it answers trigger "Yes" all the same).
    """
    trigger = ["Yes", "No", "Yes", np.nan] + [np.nan] * 6
    if extra_answer:
        trigger[9] = "Yes"
    data = pd.DataFrame({
        "pain": _cat(["Yes"] * 4 + ["No"] * 4 + [np.nan, "No"], ["No", "Yes"]),
        "sex": _cat(["Female", "Female", "Male", "Male", "Female", "Female", "Male", "Male",
                     "Female", "Male"], ["Female", "Male"]),
        "trigger": _cat(trigger, ["No", "Yes"]),
        "minutes": [10, 20, 30, np.nan] + [np.nan] * 6,
    })
    return _survey(data, SKIP)


def _row(table, variable, level=""):
    return table[(table["variable"] == variable) & (table["level"] == level)].iloc[0]


# ---- 1. not asked -------------------------------------------------------------------
def test_not_asked_is_neither_missing_nor_in_the_denominator():
    table = table_one(skip_survey(), by="sex")
    yes = _row(table, "trigger", "Yes")
    # trigger: Yes 2, No 1 among the 3 who answered; 2 asked without an answer
    # (lines 5 and 10); 5 not asked (the pain "No" respondents)
    assert (yes["missing"], yes["not_asked"]) == (2, 5)
    assert yes["percent:Overall"] == pytest.approx(100 * 2 / 3)
    assert (yes["n:Female"], yes["percent:Female"]) == (1, 50.0)
    assert (yes["n:Male"], yes["percent:Male"]) == (1, 100.0)
    assert (yes["missing:Female"], yes["not_asked:Female"]) == (1, 2)
    assert (yes["missing:Male"], yes["not_asked:Male"]) == (1, 3)
    minutes = _row(table, "minutes")
    assert (minutes["missing"], minutes["not_asked"]) == (2, 5)
    assert (minutes["mean:Overall"], minutes["sd:Overall"]) == (20.0, 10.0)  # of 10, 20, 30
    assert minutes["n:Female"] == 2 and minutes["mean:Female"] == 15.0
    assert minutes["Male"] == "30.0"  # one value: no SD to show
    # a variable without skip logic has nobody "not asked"
    assert _row(table, "pain", "Yes")["not_asked"] == 0
    assert _row(table, "pain", "Yes")["missing"] == 1

    display = table_one_display(table).set_index("Characteristic")
    assert display.at["Started while lifting, n (%)", "Missing"] == "2"
    assert display.at["Started while lifting, n (%)", "Not asked"] == "5"
    assert display.at["Back pain in the last 12 months, n (%)", "Not asked"] == ""
    assert "Not asked: respondents the question was not put to" in table_one_note(table)


def test_an_answer_from_someone_not_asked_is_kept_as_an_answer():
    table = table_one(skip_survey(extra_answer=True), by="sex")
    yes = _row(table, "trigger", "Yes")
    assert (yes["n:Overall"], yes["missing"], yes["not_asked"]) == (3, 2, 4)
    assert yes["percent:Overall"] == pytest.approx(75.0)


def test_a_question_asked_in_one_group_only_has_no_smd_and_no_test():
    table = table_one(skip_survey(), by="pain")
    trigger = _row(table, "trigger", "Yes")
    assert (trigger["n:No"], trigger["n:Yes"]) == (0, 2)
    assert trigger["not_asked:No"] == 5 and trigger["missing:Yes"] == 1
    assert np.isnan(trigger["smd"]) and trigger["smd_note"] == SMD_ONE_GROUP
    assert trigger["test"] == "Not tested"
    display = table_one_display(table).set_index("Characteristic")
    assert display.at["Started while lifting, n (%)", "SMD"] == "\u2013a"
    assert display.at["Sex, n (%)", "SMD"] == "0.202"
    note = table_one_note(table)
    assert ("\u2013a SMD not given for Started while lifting, Minutes of pain: fewer than two "
            "groups have values to compare.") in note


# ---- 2. SMD only where defined -------------------------------------------------------
SPREAD = {
    "name": "spread",
    "variables": {
        "group": {"type": "binary", "label": "Group", "role": "outcome"},
        "one_flat": {"type": "numeric", "label": "Flat in group No"},
        "both_flat": {"type": "numeric", "label": "Flat in both"},
        "all_yes": {"type": "binary", "label": "Yes in group No only"},
        "apart": {"type": "ordinal", "label": "Levels apart",
                  "levels": {1: "Low", 2: "Mid", 3: "High"}},
        "same": {"type": "binary", "label": "Everyone yes"},
        "empty_level": {"type": "categorical", "label": "With an empty level",
                        "levels": {1: "A", 2: "Never", 3: "B"}},
    },
}


def spread_survey() -> Survey:
    data = pd.DataFrame({
        "group": _cat(["No"] * 4 + ["Yes"] * 4, ["No", "Yes"]),
        "one_flat": [5.0, 5, 5, 5, 4, 6, 8, 10],
        "both_flat": [5.0, 5, 5, 5, 7, 7, 7, 7],
        "all_yes": _cat(["Yes"] * 4 + ["Yes", "No", "Yes", "No"], ["No", "Yes"]),
        "apart": _cat(["Low"] * 4 + ["Mid", "High", "Mid", "High"], ["Low", "Mid", "High"]),
        "same": _cat(["Yes"] * 8, ["No", "Yes"]),
        "empty_level": _cat(["A", "A", "A", "B", "A", "B", "B", "B"], ["A", "Never", "B"]),
    })
    return _survey(data, SPREAD)


def test_smd_with_no_spread_in_one_group_is_defined_and_matches_the_hand_formula():
    first = table_one(spread_survey()).drop_duplicates("variable").set_index("variable")
    # Austin 2009: |7 - 5| / sqrt((0 + var(4, 6, 8, 10)) / 2), var = 20/3
    assert first.at["one_flat", "smd"] == pytest.approx(2 / np.sqrt((20 / 3) / 2), rel=1e-12)
    # Yang & Dalton, binary: |p_b - p_a| / sqrt((p_a(1-p_a) + p_b(1-p_b)) / 2), p = 1 and 0.5
    assert first.at["all_yes", "smd"] == pytest.approx(0.5 / np.sqrt(0.25 / 2), rel=1e-12)
    # a level empty in every group carries no information: the SMD is that of A vs B
    assert first.at["empty_level", "smd"] == pytest.approx(0.5 / np.sqrt((3 / 16) * 2 / 2),
                                                            rel=1e-12)
    assert set(first.loc[["one_flat", "all_yes", "empty_level"], "smd_note"]) == {""}


def test_smd_with_no_spread_at_all_is_a_dash_with_the_reason():
    table = table_one(spread_survey(), nonnormal=[])
    first = table.drop_duplicates("variable").set_index("variable")
    for name in ("both_flat", "apart", "same"):
        assert np.isnan(first.at[name, "smd"]), name
        assert first.at[name, "smd_note"] == SMD_NO_SPREAD, name
    display = table_one_display(table).set_index("Characteristic")
    assert display.at["Flat in both, mean (SD)", "SMD"] == "\u2013b"
    assert display.at["Levels apart, n (%)", "SMD"] == "\u2013b"
    assert display.at["Flat in group No, mean (SD)", "SMD"] == f"{2 / np.sqrt(10 / 3):.3f}"
    assert ("\u2013b SMD not given for Flat in both, Levels apart, Everyone yes: no spread "
            "within the groups compared") in table_one_note(table)
    assert "\u2013b SMD not given" in table_one_html(table)


def test_smd_agrees_with_tableone_where_defined():
    from tableone import TableOne

    survey = spread_survey()
    frame = survey.data.copy()
    for column in ("group", "all_yes", "apart", "same", "empty_level"):
        frame[column] = frame[column].astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = TableOne(frame, columns=["one_flat", "all_yes"], categorical=["all_yes"],
                             continuous=["one_flat"], groupby="group", smd=True, pval=False)
    theirs = reference.smd_table.astype(float).abs().iloc[:, 0]
    first = table_one(survey).drop_duplicates("variable").set_index("variable")
    for name in ("one_flat", "all_yes"):
        assert first.at[name, "smd"] == pytest.approx(theirs[name], rel=1e-9), name


def test_smd_rounding_and_singular_cases_in_the_formulas():
    # SDs of constant values that rounding leaves at 1e-17 are no spread, not an SMD of 1e16
    assert continuous_smd_checked(np.array([0.3, 0.1]), np.array([1e-17, 0.0]))[1] \
        == SMD_NO_SPREAD
    # disjoint supports with inexact proportions: S is singular up to rounding, where a
    # solver returns a number of the order of 1e8
    p = np.array([[1 / 3, 2 / 3, 0.0], [0.0, 0.0, 1.0]])
    assert np.isnan(categorical_smd_checked(p)[0])
    assert categorical_smd_checked(p)[1] == SMD_NO_SPREAD
    # a single group, and one pair without spread among three groups
    assert continuous_smd_checked(np.array([1.0]), np.array([1.0]))[1] == SMD_ONE_GROUP
    assert continuous_smd_checked(np.array([1.0, 1.0, 3.0]), np.array([0.0, 0.0, 1.0]))[1] \
        == SMD_NO_SPREAD
    # three groups, all defined: the mean of the pairwise SMDs
    value, why = continuous_smd_checked(np.array([0.0, 1.0, 3.0]), np.array([1.0, 1.0, 1.0]))
    assert why == "" and value == pytest.approx((1 + 3 + 2) / 3)


def test_a_single_group_has_no_smd():
    survey = spread_survey()
    data = survey.data.assign(group=_cat(["No"] * 8, ["No", "Yes"]))
    table = table_one(Survey(data, survey.codebook, Ledger(n_read=8)))
    first = table.drop_duplicates("variable").set_index("variable").drop(index="n")
    assert (first["smd_note"] == SMD_ONE_GROUP).all() and first["smd"].isna().all()
    assert set(table_one_display(table)["SMD"].replace("", np.nan).dropna()) == {"\u2013a"}


# ---- suppression of the not-asked counts -----------------------------------------------
def suppression_survey() -> Survey:
    """60 respondents; 3 were screened out of the follow-up question, 6 skipped it."""
    n = 60
    screen = np.array(["Yes"] * n, dtype=object)
    screen[[0, 1, 30]] = "No"
    trigger = np.array((["No"] * 10 + ["Yes"] * 20) * 2, dtype=object)
    trigger[[0, 1, 30]] = np.nan           # not asked
    trigger[[2, 3, 4, 31, 32, 33]] = np.nan  # asked, no answer
    minutes = np.arange(n, dtype=float)
    minutes[[0, 1, 30]] = np.nan
    minutes[[2, 3, 4, 5, 6, 7]] = np.nan
    codebook = {"name": "screened", "variables": {
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"}},
        "screen": {"type": "binary", "label": "Screened in"},
        "trigger": {"type": "binary", "label": "Started while lifting", "required": False,
                    "asked_if": {"screen": 1}},
        "minutes": {"type": "numeric", "label": "Minutes of pain", "required": False,
                    "asked_if": {"screen": 1}},
    }}
    data = pd.DataFrame({"sex": _cat(["Female"] * 30 + ["Male"] * 30, ["Female", "Male"]),
                         "screen": _cat(screen, ["No", "Yes"]),
                         "trigger": _cat(trigger, ["No", "Yes"]), "minutes": minutes})
    return _survey(data, codebook)


def test_a_small_not_asked_count_is_suppressed_with_a_complement():
    table = table_one(suppression_survey(), by="sex", columns=["trigger", "minutes"])
    row = _row(table, "trigger", "Yes")
    assert (row["missing"], row["not_asked"]) == (6, 3)
    release = Release(threshold=5)
    register_table_one(release, table, by="sex")
    shown = released_table_one(release, table, by="sex").set_index("Characteristic")
    assert release.log()["protected"].all()
    # Overall: No 11 + Yes 40 + missing 6 + not asked 3 = 60, the published n: the 3 is
    # small, and the smallest other count of that line (missing, 6) is hidden with it
    assert shown.at["Started while lifting, n (%)", "Not asked"] == "<5"
    assert shown.at["Started while lifting, n (%)", "Missing"] == "suppressed"
    assert shown.iloc[2]["Overall"] == f"11 ({100 * 11 / 51:.1f})"  # the level counts stay
    # a numeric variable publishes no count of values: each blank count on its own
    assert shown.at["Minutes of pain, mean (SD)", "Not asked"] == "<5"
    assert shown.at["Minutes of pain, mean (SD)", "Missing"] == "6"


# ---- 3. under a design ---------------------------------------------------------------
DESIGNED = {
    "name": "designed",
    "variables": {
        "pain": {"type": "binary", "label": "Back pain", "role": "outcome"},
        "trigger": {"type": "binary", "label": "Started while lifting", "required": False,
                    "asked_if": {"pain": 1}},
        "age": {"type": "numeric", "label": "Age"},
        "w": {"type": "numeric", "label": "Sampling weight", "role": "weight"},
        "stratum": {"type": "categorical", "label": "Stratum", "levels": {1: "North",
                                                                          2: "South"},
                    "role": "stratum"},
        "psu": {"type": "count", "label": "Area", "role": "cluster"},
    },
}


def designed_survey() -> Survey:
    """40 respondents in 2 strata x 2 PSUs of 10; weights 1 to 4; the follow-up asked of pain."""
    rng = np.random.default_rng(11)
    n = 40
    pain = np.where(rng.random(n) < 0.5, "Yes", "No")
    pain[:8] = ["Yes", "No"] * 4  # every PSU has both
    trigger = np.where(rng.random(n) < 0.4, "Yes", "No").astype(object)
    trigger[pain == "No"] = np.nan
    data = pd.DataFrame({
        "pain": _cat(pain, ["No", "Yes"]),
        "trigger": _cat(trigger, ["No", "Yes"]),
        "age": np.round(rng.normal(45, 10, n)),
        "w": np.tile([1.0, 2.0, 3.0, 4.0], 10),
        "stratum": _cat(np.repeat(["North", "South"], 20), ["North", "South"]),
        "psu": np.repeat([1.0, 2.0, 3.0, 4.0], 10),
    })
    return _survey(data, DESIGNED)


def _linearised(y: np.ndarray, w: np.ndarray, strata: np.ndarray, psu: np.ndarray):
    """Weighted mean and its Taylor SE written out (Binder 1983; with-replacement PSUs)."""
    keep = ~np.isnan(y)
    mean = (w[keep] * y[keep]).sum() / w[keep].sum()
    z = np.where(keep, w * (np.where(keep, y, 0) - mean) / w[keep].sum(), 0.0)
    var = 0.0
    for h in np.unique(strata):
        totals = np.array([z[(strata == h) & (psu == c)].sum()
                           for c in np.unique(psu[strata == h])])
        var += ((totals - totals.mean()) ** 2).sum() * len(totals) / (len(totals) - 1)
    return mean, np.sqrt(var)


def test_weighted_table_one_by_hand_without_the_not_asked():
    survey = designed_survey()
    data = survey.data
    weighted = survey_table_one(survey, columns=["trigger", "age"])
    w, strata, psu = data["w"].to_numpy(), data["stratum"].astype(str).to_numpy(), \
        data["psu"].to_numpy()
    y = np.where(data["trigger"].isna(), np.nan, (data["trigger"] == "Yes").astype(float))
    p, se = _linearised(y, w, strata, psu)
    row = weighted[(weighted.variable == "trigger") & (weighted.level == "Yes")].iloc[0]
    assert row["estimate"] == pytest.approx(100 * p, rel=1e-12)
    assert row["se"] == pytest.approx(100 * se, rel=1e-10)
    assert row["n"] == data["trigger"].notna().sum() == (data["pain"] == "Yes").sum()
    mean, se = _linearised(data["age"].to_numpy(), w, strata, psu)
    row = weighted[weighted.variable == "age"].iloc[0]
    assert (row["estimate"], row["se"]) == (pytest.approx(mean, rel=1e-12),
                                            pytest.approx(se, rel=1e-10))


def test_fast_design_table_one_equals_the_cell_by_cell_estimates():
    survey = designed_survey()
    design = survey_design(survey)
    weighted = survey_table_one(survey, by="pain", columns=["trigger", "age"])
    y = np.where(survey.data["trigger"].isna(), np.nan,
                 (survey.data["trigger"] == "No").astype(float))
    domain = (survey.data["pain"] == "Yes").to_numpy()
    est, se, df = ratio_estimate(y, design, domain)
    row = weighted.set_index(["variable", "level", "group"]).loc[("trigger", "No", "Yes")]
    assert (row["estimate"], row["se"], row["df"]) == (
        pytest.approx(100 * est, rel=1e-12), pytest.approx(100 * se, rel=1e-12), df)
    # trigger was asked of nobody in the "No" group: no estimate, no degrees of freedom
    row = weighted.set_index(["variable", "level", "group"]).loc[("trigger", "No", "No")]
    assert np.isnan(row["estimate"]) and row["n"] == 0 and row["df"] == 0


def test_released_design_table_one_shows_unweighted_n_and_weighted_estimates():
    survey = designed_survey()
    t1 = table_one(survey, by="pain", columns=["trigger", "age"])
    weighted = survey_table_one(survey, by="pain", columns=["trigger", "age"])
    def shown_at(threshold):
        release = Release(threshold=threshold)
        register_table_one(release, t1, by="pain", numeric_n=True, percentages=False)
        return released_design_table_one(release, t1, weighted, by="pain").set_index(
            "Characteristic")

    shown = shown_at(3)
    data = survey.data
    n_yes = int(((data.pain == "Yes") & (data.trigger == "Yes")).sum())
    est = weighted.set_index(["variable", "level", "group"]).loc[("trigger", "Yes", "Yes")]
    assert shown.at["    Yes", "Yes: n"] == str(n_yes)
    assert shown.at["    Yes", "Yes: weighted (SE)"] == f"{est['estimate']:.1f} ({est['se']:.1f})"
    assert shown.at["    Yes", "No: n"] == "0" and shown.at["    Yes", "No: weighted (SE)"] == ""
    assert shown.at["Started while lifting, weighted % (SE)", "Not asked"] == str(
        int((data.pain == "No").sum()))
    assert shown.at["n (unweighted)", "Overall: n"] == "40"
    # a small unweighted count hides its weighted estimate too
    small = shown_at(50)
    assert small.at["    Yes", "Yes: n"] == "<50"
    assert small.at["    Yes", "Yes: weighted (SE)"] == "suppressed"


# ---- 4. the report section -------------------------------------------------------------
def _report(survey: Survey, tmp_path) -> ReportSession:
    return ReportSession("02_descriptives", survey, tmp_path / "d.csv", tmp_path / "c.yml",
                         tmp_path, threshold=2)


def test_report_section_unweighted_with_not_asked_and_smd_dashes(tmp_path):
    report = _report(skip_survey(), tmp_path)
    assert report.plan.design is None
    html = planned.characteristics(report).text
    assert html.startswith('<h2 id="Characteristics-of-respondents">')
    assert "by back pain in the last 12 months" in html
    record = json.loads((tmp_path / "results" / "02_descriptives.json").read_text())
    table = record["characteristics"]
    assert table["columns"] == ["Characteristic", "No", "Yes", "Overall", "Missing",
                                "Not asked", "p", "Test", "SMD"]
    rows = {r[0]: dict(zip(table["columns"], r, strict=True)) for r in table["rows"]}
    trigger = rows["Started while lifting, n (%)"]
    assert (trigger["Missing"], trigger["Not asked"], trigger["SMD"]) == ("2", "5", "\u2013a")
    # threshold 2: the single "No" is hidden as "<2"; that label already says "1", so the
    # report's release (audited: the protection interval is [1, 1]) needs no complement
    levels = [r for r in table["rows"] if r[0].strip() in ("No", "Yes")][-2:]
    assert [r[1:4] for r in levels] == [["0", "<2", "<2"], ["0", "2 (66.7)", "2 (66.7)"]]
    assert "Not asked: respondents the question was not put to" in html
    assert "\u2013a SMD not given for Started while lifting" in html


def test_report_section_weighted_under_a_design(tmp_path):
    survey = designed_survey()
    report = _report(survey, tmp_path)
    assert report.plan.design == {"weight": "w", "stratum": "stratum", "cluster": "psu"}
    html = planned.characteristics(report).text
    record = json.loads((tmp_path / "results" / "02_descriptives.json").read_text())
    table = record["characteristics"]
    assert table["columns"] == ["Characteristic", "No: n", "No: weighted (SE)", "Yes: n",
                                "Yes: weighted (SE)", "Overall: n", "Overall: weighted (SE)",
                                "Not asked"]  # nothing missing: no blank Missing column
    assert "Missing: respondents asked" not in html
    rows = {r[0]: dict(zip(table["columns"], r, strict=True)) for r in table["rows"]}
    mean, se = _linearised(survey.data["age"].to_numpy(), survey.data["w"].to_numpy(),
                           survey.data["stratum"].astype(str).to_numpy(),
                           survey.data["psu"].to_numpy())
    age = rows["Age, weighted mean (SE)"]
    assert age["Overall: weighted (SE)"] == f"{mean:.1f} ({se:.1f})"
    assert age["Overall: n"] == "40"
    assert "design-based standard errors" in html and "unweighted respondents" in html
    assert "weights Sampling weight, strata Stratum, clusters (PSUs) Area" in html
    assert "Not asked: respondents the question was not put to" in html


def test_weights_only_design_equals_the_cell_by_cell_estimate():
    survey = designed_survey()
    codebook = survey.codebook.with_variables(
        [survey.codebook[name].model_copy(update={"role": None}) for name in ("stratum", "psu")])
    weights_only = Survey(survey.data, codebook, Ledger(n_read=survey.n))
    design = survey_design(weights_only)
    assert design.strata is None and design.psu is None
    row = survey_table_one(weights_only, columns=["age"]).iloc[0]
    est, se, df = ratio_estimate(survey.data["age"].to_numpy(), design)
    assert df == 39  # each row its own PSU, one stratum: 40 - 1
    assert (row["estimate"], row["se"], row["df"]) == (
        pytest.approx(est, rel=1e-12), pytest.approx(se, rel=1e-12), df)


def test_report_section_falls_back_to_unweighted_when_the_design_cannot_give_a_variance(
        tmp_path):
    survey = designed_survey()
    # stratum South keeps a single PSU: no between-PSU variance there
    data = survey.data.assign(psu=np.where(survey.data["psu"] == 4.0, 3.0, survey.data["psu"]))
    report = _report(Survey(data, survey.codebook, Ledger(n_read=len(data))), tmp_path)
    html = planned.characteristics(report).text
    assert "The design-based Table 1 could not be computed" in html
    assert "single PSU" in html and "unweighted counts" in html
    record = json.loads((tmp_path / "results" / "02_descriptives.json").read_text())
    assert record["characteristics"]["columns"][:4] == ["Characteristic", "No", "Yes",
                                                        "Overall"]

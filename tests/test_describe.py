"""Table 1 and prevalence: agreement with tableone, hand calculations, labels, CLI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.codebook import Codebook
from analysis.describe import (
    prevalence,
    table_one,
    table_one_display,
    table_one_html,
    table_one_numbers,
    wilson_interval,
)
from analysis.errors import ValidationError
from analysis.ledger import Ledger
from analysis.survey import Survey

CODEBOOK = {
    "name": "mixed",
    "variables": {
        "rid": {"type": "id", "label": "Respondent", "role": "id"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"}},
        "sport": {
            "type": "categorical", "label": "Main sport",
            "levels": {1: "None", 2: "Weightlifting", 3: "Golf", 4: "Basketball"},
            "role": "exposure",
        },
        "posture": {
            "type": "ordinal", "label": "Self-rated posture",
            "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure",
        },
        "trauma": {"type": "binary", "label": "Road-traffic accident", "role": "exposure"},
        "sitting": {"type": "numeric", "label": "Hours sitting per day", "role": "exposure"},
        "episodes": {"type": "count", "label": "Spasm episodes"},
        "odi_1": {
            "type": "ordinal", "label": "ODI 1: pain intensity",
            "levels": {0: "No pain", 1: "Mild", 2: "Severe"},
            "instrument": {"name": "odi", "item": 1},
        },
        "spasm": {
            "type": "binary", "label": "Back-muscle spasm in the last 12 months",
            "role": "outcome",
        },
        "w": {"type": "numeric", "label": "Sampling weight", "role": "weight"},
    },
}


def _categorical(values, labels, ordered=False):
    return pd.Categorical(values, categories=labels, ordered=ordered)


def make_survey(n: int = 600, seed: int = 7) -> Survey:
    """Binary, multi-level and ordinal factors, normal and skewed numbers, missing values."""
    rng = np.random.default_rng(seed)
    spasm = rng.random(n) < 0.35
    data = pd.DataFrame({
        "age": rng.normal(45, 12, n) + 3 * spasm,
        "sex": _categorical(rng.choice(["Female", "Male"], n), ["Female", "Male"]),
        "sport": _categorical(
            rng.choice(["None", "Weightlifting", "Golf", "Basketball"], n, p=[.5, .2, .2, .1]),
            ["None", "Weightlifting", "Golf", "Basketball"],
        ),
        "posture": _categorical(
            np.where(spasm, rng.choice(["Good", "Fair", "Poor"], n, p=[.3, .3, .4]),
                     rng.choice(["Good", "Fair", "Poor"], n, p=[.5, .3, .2])),
            ["Good", "Fair", "Poor"], ordered=True,
        ),
        # rare: some expected counts below 5, so the 2x2 test is Fisher's
        "trauma": _categorical(np.where(rng.random(n) < 0.015, "Yes", "No"), ["No", "Yes"]),
        "sitting": rng.lognormal(1.5, 0.6, n),
        "episodes": rng.poisson(np.where(spasm, 3.0, 0.5)).astype(float),
        "odi_1": _categorical(rng.choice(["No pain", "Mild", "Severe"], n),
                              ["No pain", "Mild", "Severe"], ordered=True),
        "spasm": _categorical(np.where(spasm, "Yes", "No"), ["No", "Yes"]),
        "w": rng.uniform(0.5, 3.0, n),
    })
    data.loc[rng.choice(n, 40, replace=False), "age"] = np.nan
    data.loc[rng.choice(n, 25, replace=False), "posture"] = np.nan
    data.loc[rng.choice(n, 10, replace=False), "sitting"] = np.nan
    data.index = pd.RangeIndex(2, n + 2, name="line")
    return Survey(data, Codebook.from_dict(CODEBOOK), Ledger(n_read=n), source="mixed.csv")


@pytest.fixture(scope="module")
def survey() -> Survey:
    return make_survey()


def _tableone(survey: Survey, by: str, table: pd.DataFrame):
    from tableone import TableOne

    categorical = ["sex", "sport", "posture", "trauma", "spasm"]
    continuous = ["age", "sitting", "episodes"]
    nonnormal = sorted(set(table.loc[table["summary"].str.startswith("median"), "variable"]))
    frame = survey.data.copy()
    for column in categorical:
        frame[column] = frame[column].astype(object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TableOne(
            frame, columns=[c for c in [*continuous, *categorical] if c != by],
            categorical=[c for c in categorical if c != by],
            continuous=continuous, groupby=by, nonnormal=nonnormal, pval=True, smd=True,
            include_null=False, overall=True,
        )


@pytest.mark.parametrize("by", ["spasm", "posture"])
def test_agrees_with_tableone(survey, by):
    table = table_one(survey, by)
    reference = _tableone(survey, by, table)
    groups = list(survey.data[by].cat.categories)
    # the rule picks median [IQR] for the skewed variables and mean (SD) for age
    assert set(table.loc[table["summary"].str.startswith("median"), "variable"]) == {
        "sitting", "episodes"}
    assert table.loc[table["variable"] == "age", "summary"].item() == "mean (SD)"

    cat_all, cont_all = reference.cat_describe_all, reference.cont_describe_all
    compared = 0
    for row in table[table["level"] != ""].itertuples():
        key = (row.variable, row.level)
        for g in groups:
            assert table.at[row.Index, f"n:{g}"] == reference.cat_describe[("freq", g)][key]
            assert table.at[row.Index, f"percent:{g}"] == pytest.approx(
                reference.cat_describe[("percent", g)][key], rel=1e-12)
        assert table.at[row.Index, "n:Overall"] == cat_all[("freq", "Overall")][key]
        assert table.at[row.Index, "percent:Overall"] == pytest.approx(
            cat_all[("percent", "Overall")][key], rel=1e-12)
        compared += 1
    assert compared == (11 if by == "spasm" else 10)

    ours = {"mean": "mean", "sd": "std", "median": "median", "q1": "q25", "q3": "q75",
            "n": "count"}
    for name in ["age", "sitting", "episodes"]:
        row = table.set_index("variable").loc[name]
        for stat, theirs in ours.items():
            for g in groups:
                assert row[f"{stat}:{g}"] == pytest.approx(
                    reference.cont_describe[(theirs, g)][name], rel=1e-10), (name, stat, g)
            assert row[f"{stat}:Overall"] == pytest.approx(
                cont_all[(theirs, "Overall")][name], rel=1e-10), (name, stat)

    first = table.drop_duplicates("variable").set_index("variable")
    htest = reference.htest_table
    smd = reference.smd_table.astype(float).abs().mean(axis=1)
    for name in htest.index:
        assert first.at[name, "p_value"] == pytest.approx(htest.at[name, "P-Value"], rel=1e-9)
        assert first.at[name, "smd"] == pytest.approx(smd[name], rel=1e-9), name
    if by == "spasm":
        assert first.at["trauma", "test"] == "Fisher's exact"
        assert htest.at["trauma", "Test"] == "Fisher's exact"
        assert first.at["sitting", "test"] == "Mann-Whitney U"  # = Kruskal-Wallis for 2 groups
        assert first.at["age", "test"] == "Welch's t-test"
    else:
        assert first.at["age", "test"] == "One-way ANOVA"
        assert first.at["episodes", "test"] == "Kruskal-Wallis"


def test_chi_squared_and_fisher_by_hand(survey):
    data = survey.data
    first = table_one(survey).drop_duplicates("variable").set_index("variable")

    # Sex x spasm: 2x2 counted by hand, Yates-corrected chi-squared written out
    cells = np.array([[((data.spasm == s) & (data.sex == x)).sum() for x in ("Female", "Male")]
                      for s in ("No", "Yes")], dtype=float)
    expected = cells.sum(1, keepdims=True) * cells.sum(0, keepdims=True) / cells.sum()
    assert expected.min() >= 5
    yates = (((np.abs(cells - expected) - 0.5) ** 2) / expected).sum()
    assert first.at["sex", "p_value"] == pytest.approx(stats.chi2.sf(yates, 1), rel=1e-10)
    assert first.at["sex", "test"] == "Chi-squared"

    # Trauma x spasm: an expected count below 5, so Fisher's exact test on the 2x2
    cells = np.array([[((data.spasm == s) & (data.trauma == t)).sum() for t in ("No", "Yes")]
                      for s in ("No", "Yes")])
    assert (cells.sum(1, keepdims=True) * cells.sum(0, keepdims=True) / cells.sum()).min() < 5
    assert first.at["trauma", "p_value"] == pytest.approx(
        stats.fisher_exact(cells).pvalue, rel=1e-12)
    assert first.at["trauma", "test"] == "Fisher's exact"


def test_labels_level_order_and_default_columns(survey):
    table = table_one(survey)
    assert list(table.drop_duplicates("variable")["variable"]) == [
        "n", "age", "sex", "sport", "posture", "trauma", "sitting", "episodes"]
    # codebook order, not alphabetical; labels from the codebook
    sport = table[table.variable == "sport"]
    assert list(sport["level"]) == ["None", "Weightlifting", "Golf", "Basketball"]
    posture = table[table.variable == "posture"]
    assert list(posture["level"]) == ["Good", "Fair", "Poor"]
    assert set(posture["label"]) == {"Self-rated posture"}
    assert [c for c in table.columns[4:7]] == ["No", "Yes", "Overall"]
    display = table_one_display(table)
    assert "Self-rated posture, n (%)" in list(display["Characteristic"])
    assert "Hours sitting per day, median [Q1, Q3]" in list(display["Characteristic"])
    assert not {"rid", "w", "odi_1", "spasm"} & set(table["variable"])


def test_missing_counts_and_percent_denominators(survey):
    data = survey.data
    table = table_one(survey)
    age = table.set_index("variable").loc["age"]
    assert age["missing"] == 40 == data["age"].isna().sum()
    for g in ("No", "Yes"):
        in_group = data["spasm"] == g
        assert age[f"missing:{g}"] == data.loc[in_group, "age"].isna().sum()
        assert age[f"n:{g}"] == data.loc[in_group, "age"].notna().sum()
    poor = table[(table.variable == "posture") & (table.level == "Poor")].iloc[0]
    assert poor["missing"] == 25
    yes = data["spasm"] == "Yes"
    known = data.loc[yes, "posture"].notna().sum()  # denominator: non-missing
    n_poor = (data.loc[yes, "posture"] == "Poor").sum()
    assert poor["n:Yes"] == n_poor
    assert poor["percent:Yes"] == pytest.approx(100 * n_poor / known)
    assert poor["Yes"] == f"{n_poor} ({100 * n_poor / known:.1f})"
    # a missing grouping value: counted in Overall and in the n row's missing
    data2 = data.copy()
    data2.loc[data2.index[:7], "spasm"] = np.nan
    t2 = table_one(Survey(data2, survey.codebook, Ledger(n_read=len(data2))))
    n_row = t2.iloc[0]
    assert (n_row["missing"], n_row["n:Overall"]) == (7, len(data2))
    assert n_row["n:No"] + n_row["n:Yes"] == len(data2) - 7


def test_nonnormal_override_and_options(survey):
    listed = table_one(survey, nonnormal=["age"], pvalues=False, smd=False, overall=False)
    summary = listed.drop_duplicates("variable").set_index("variable")["summary"]
    assert summary["age"] == "median [Q1, Q3]" and summary["sitting"] == "mean (SD)"
    assert "Overall" not in listed.columns and listed["p_value"].isna().all()
    mapped = table_one(survey, nonnormal={"sitting": False}, columns=["sitting", "age"])
    assert list(mapped.drop_duplicates("variable")["variable"]) == ["n", "sitting", "age"]
    row = mapped.set_index("variable").loc["sitting"]
    assert row["summary"] == "mean (SD)" and row["test"] == "Welch's t-test"
    assert row["Yes"] == f"{row['mean:Yes']:.1f} ({row['sd:Yes']:.1f})"


def test_long_numbers_and_html_escaping(survey):
    cb = survey.codebook.model_copy(deep=True)
    var = cb.variables["sex"].model_copy(
        update={"label": "Sex <script>alert(1)</script>", "levels": {1: "F&M", 2: "Male"}})
    data = survey.data.copy()
    data["sex"] = data["sex"].cat.rename_categories(["F&M", "Male"])
    s = Survey(data, cb.with_variables([var]), Ledger(n_read=len(data)))
    table = table_one(s, columns=["sex", "age"])
    html = table_one_html(table, title="Table 1 & more")
    assert "<script>" not in html and "Sex &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "F&amp;M" in html and "Table 1 &amp; more" in html
    long = table_one_numbers(table)
    f_m = long[(long.level == "F&M") & (long.group == "Yes") & (long.statistic == "n")]
    assert f_m["value"].item() == ((data.sex == "F&M") & (data.spasm == "Yes")).sum()
    assert set(long["statistic"]) == {"n", "percent", "mean", "sd", "median", "q1", "q3",
                                      "missing", "not_asked"}


def test_bad_columns_raise(survey):
    with pytest.raises(ValidationError, match=r"'postur' is not a column.*'posture'"):
        table_one(survey, by="postur")
    with pytest.raises(ValidationError, match=r"'age' .*numeric; it must be binary"):
        table_one(survey, by="age")
    data = survey.data.assign(rid=np.arange(len(survey.data)))
    s = Survey(data, survey.codebook, Ledger(n_read=len(data)))
    with pytest.raises(ValidationError, match=r"'rid' .*identifier.*never tabulated"):
        table_one(s, columns=["rid", "age"])
    raw = survey.data.assign(sex=survey.data["sex"].astype(str))
    with pytest.raises(ValidationError, match=r"'sex' \(Sex\) is categorical in the codebook"):
        table_one(Survey(raw, survey.codebook, Ledger(n_read=len(raw))))


def test_without_grouping(survey):
    cb = survey.codebook.with_variables(
        [survey.codebook["spasm"].model_copy(update={"role": None})])
    table = table_one(Survey(survey.data, cb, Ledger(n_read=survey.n)))
    assert [c for c in table.columns if not c.count(":")][4:] == [
        "Overall", "missing", "not_asked", "p_value", "test", "smd", "smd_note"]
    assert table["p_value"].isna().all() and table["smd"].isna().all()
    assert (table["smd_note"] == "").all()  # no groups: no SMD asked for, nothing to explain
    spasm = table[table.variable == "spasm"]
    assert list(spasm["n:Overall"]) == [(survey.data.spasm == x).sum() for x in ("No", "Yes")]
    assert table.set_index("variable").at["age", "mean:Overall"] == pytest.approx(
        survey.data["age"].mean())


# ---- prevalence --------------------------------------------------------------
def _wilson_by_hand(x: float, n: float, z: float = 1.959963984540054):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def test_wilson_interval_by_hand_and_published():
    for x, n in [(111, 400), (0, 20), (1, 29), (81, 263), (20, 20)]:
        low, high = wilson_interval(x, n)
        assert (float(low), float(high)) == pytest.approx(_wilson_by_hand(x, n), abs=1e-12)
    # Newcombe (1998), Stat Med 17:857, Table II, method 3 (score, no correction)
    published = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                 (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}
    for (x, n), (lo, hi) in published.items():
        low, high = wilson_interval(x, n)
        assert (round(float(low), 4), round(float(high), 4)) == (lo, hi)


def test_prevalence_by_factor(survey):
    data = survey.data
    table = prevalence(survey, by=["posture", "sex"], weighted=False)
    assert list(table.columns) == ["variable", "label", "level", "n", "events", "prevalence",
                                   "ci_low", "ci_high"]
    assert list(table["level"]) == ["All", "Good", "Fair", "Poor", "(missing)", "Female", "Male"]
    assert set(table.loc[table.variable == "posture", "label"]) == {"Self-rated posture"}
    poor = table[table.level == "Poor"].iloc[0]
    n = (data.posture == "Poor").sum()
    events = ((data.posture == "Poor") & (data.spasm == "Yes")).sum()
    assert (poor["n"], poor["events"]) == (n, events)
    assert poor["prevalence"] == pytest.approx(events / n)
    assert (poor["ci_low"], poor["ci_high"]) == pytest.approx(_wilson_by_hand(events, n))
    # each factor's rows add up to the overall row
    for name in ("posture", "sex"):
        assert table.loc[table.variable == name, ["n", "events"]].sum().tolist() == \
            table.loc[0, ["n", "events"]].tolist()


def test_weighted_prevalence_by_hand():
    cb = Codebook.from_dict(CODEBOOK).select(["spasm", "sex", "w"])
    data = pd.DataFrame({
        "spasm": _categorical(["Yes", "No", "Yes", "No", "No", "Yes", None], ["No", "Yes"]),
        "sex": _categorical(["Female"] * 5 + ["Male", "Male"], ["Female", "Male"]),
        "w": [2.0, 1.0, 1.0, 3.0, 1.0, 4.0, 9.0],
    }, index=pd.RangeIndex(2, 9, name="line"))
    table = prevalence(Survey(data, cb, Ledger(n_read=7)), by="sex")
    female = table[table.level == "Female"].iloc[0]
    # y = 1,0,1,0,0 with w = 2,1,1,3,1: sum(wy)/sum(w) = 3/8; n_eff = 8^2 / 16 = 4
    assert (female["n"], female["events"]) == (5, 2)
    assert female["weighted_prevalence"] == pytest.approx(3 / 8)
    assert female["n_effective"] == pytest.approx(4.0)
    low, high = _wilson_by_hand(3 / 8 * 4, 4)
    assert (female["weighted_ci_low"], female["weighted_ci_high"]) == pytest.approx((low, high))
    overall = table.iloc[0]  # the respondent with a missing outcome (weight 9) is not counted
    assert overall["n"] == 6
    assert overall["weighted_prevalence"] == pytest.approx(7 / 12)
    assert overall["n_effective"] == pytest.approx(144 / 32)
    unweighted = prevalence(Survey(data, cb, Ledger(n_read=7)), weighted=False)
    assert "weighted_prevalence" not in unweighted.columns

    bad = data.assign(w=[2.0, np.nan, 1.0, 3.0, 1.0, 4.0, 9.0])
    with pytest.raises(ValidationError, match=r"'w' is missing or negative in 1 rows.*lines: 3"):
        prevalence(Survey(bad, cb, Ledger(n_read=7)))


# ---- CLI -------------------------------------------------------------------------
CLI_CODEBOOK = """\
name: cli
variables:
  rid: {type: id, label: Respondent, role: id}
  age: {type: numeric, label: Age, range: [18, 99], role: confounder}
  sex: {type: categorical, label: Sex, levels: {1: Female, 2: Male}, role: confounder}
  posture:
    type: ordinal
    label: Self-rated posture
    levels: {1: Good, 2: Fair, 3: Poor}
    missing: {98: don't know}
    role: exposure
  spasm: {type: binary, label: Back-muscle spasm, role: outcome}
"""


@pytest.fixture
def cli_files(tmp_path):
    rng = np.random.default_rng(3)
    n = 60
    raw = pd.DataFrame({
        "rid": np.arange(1, n + 1), "age": rng.integers(20, 70, n),
        "sex": rng.integers(1, 3, n), "posture": rng.choice([1, 2, 3, 98], n),
        "spasm": rng.integers(0, 2, n),
    })
    raw.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "cb.yml").write_text(CLI_CODEBOOK, encoding="utf-8")
    return tmp_path, raw


def _main():
    import analysis.cli.describe  # noqa: F401  (registers the command)
    from analysis.cli import main

    return main


def test_cli_writes_tables(cli_files, capsys):
    folder, raw = cli_files
    out = folder / "out" / "table1.csv"
    status = _main()(["describe", str(folder / "survey.csv"), "--codebook", str(folder / "cb.yml"),
                      "--out", str(out), "--html", str(folder / "t.html")])
    assert status == 0
    t1 = pd.read_csv(out, keep_default_na=False)
    assert list(t1["variable"]) == ["n", "age", "sex", "sex", "posture", "posture", "posture"]
    assert list(t1.loc[t1.variable == "posture", "level"]) == ["Good", "Fair", "Poor"]
    assert t1.loc[t1.variable == "posture", "missing"].iloc[0] == (raw.posture == 98).sum()
    assert t1.loc[0, "n:Yes"] == (raw.spasm == 1).sum()
    prev = pd.read_csv(folder / "out" / "prevalence.csv", keep_default_na=False)
    assert list(prev["level"]) == ["All", "Good", "Fair", "Poor", "(missing)"]
    assert prev.loc[0, "events"] == (raw.spasm == 1).sum()
    printed = capsys.readouterr().out
    assert "Self-rated posture, n (%)" in printed and "Prevalence" in printed
    assert "Self-rated posture" in (folder / "t.html").read_text(encoding="utf-8")


def test_cli_unknown_by_exits_2(cli_files, capsys):
    folder, _ = cli_files
    status = _main()(["describe", str(folder / "survey.csv"), "--codebook", str(folder / "cb.yml"),
                      "--by", "postur", "--out", str(folder / "t1.csv")])
    assert status == 2
    err = capsys.readouterr().err
    assert "--by column 'postur' is not a column of the data. Did you mean 'posture'?" in err
    assert not (folder / "t1.csv").exists()


# ---- public data ----------------------------------------------------------------
def test_vertebral_column_through_public_api(monkeypatch):
    """Pelvic tilt and lumbar lordosis by spinal pathology, checked on the raw ARFF file."""
    import io
    import os
    import zipfile
    from pathlib import Path

    folder = Path(os.environ.get("BACKPAIN_DATA_DIR", "/work/shared/data/public"))
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(folder))
    from analysis import datasets

    survey = datasets.load("vertebral-column")
    table = table_one(survey, columns=["pelvic_tilt", "lumbar_lordosis_angle"],
                      nonnormal=[]).set_index("variable")
    prev = prevalence(survey, by="diagnosis")

    with zipfile.ZipFile(folder / "vertebral_column_archive.zip") as archive:
        text = archive.read("column_3C_weka.arff").decode("utf-8")
    body = text[text.lower().index("@data") + len("@data"):]
    raw = pd.read_csv(io.StringIO(body), header=None, names=[
        "pi", "pelvic_tilt", "lumbar_lordosis_angle", "ss", "pr", "ds", "diagnosis"])
    raw["abnormal"] = np.where(raw["diagnosis"].str.strip() == "Normal", "No", "Yes")

    assert table.at["n", "n:Overall"] == len(raw) == 310
    assert (table.at["n", "n:No"], table.at["n", "n:Yes"]) == (100, 210)
    for name in ("pelvic_tilt", "lumbar_lordosis_angle"):
        groups = [raw.loc[raw.abnormal == g, name].to_numpy() for g in ("No", "Yes")]
        for g, values in zip(("No", "Yes"), groups, strict=True):
            assert table.at[name, f"mean:{g}"] == pytest.approx(values.mean(), rel=1e-12)
            assert table.at[name, f"sd:{g}"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        welch = stats.ttest_ind(*groups, equal_var=False).pvalue
        assert table.at[name, "p_value"] == pytest.approx(welch, rel=1e-9)
    assert table.at["pelvic_tilt", "label"] == "Pelvic tilt"
    by_class = prev.set_index("level")
    assert by_class.at["Hernia", "n"] == 60 and by_class.at["Hernia", "prevalence"] == 1.0
    assert by_class.at["Normal", "events"] == 0
    assert prev.at[0, "prevalence"] == pytest.approx(210 / 310)

"""load_survey: each rule on a file that breaks it, the ledger, the flow, privacy."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import load_survey
from analysis.codebook import Codebook
from analysis.errors import BackpainError, ValidationError

CODEBOOK = Codebook.from_dict({"name": "t", "variables": {
    "rid": {"type": "id", "label": "Respondent", "role": "id"},
    "email": {"type": "text", "label": "E-mail", "pii": True, "required": False},
    "visit": {"type": "date", "label": "Visit", "range": ["2024-01-01", "2026-12-31"]},
    "age": {"type": "numeric", "label": "Age", "unit": "years", "range": [18, 99],
            "missing": {-9: "refused"}},
    "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"}},
    "posture": {"type": "ordinal", "label": "Self-rated posture",
                "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "missing": {98: "don't know"}},
    "episodes": {"type": "count", "label": "Spasm episodes", "range": [0, 365]},
    "spasm": {"type": "binary", "label": "Back-muscle spasm", "role": "outcome"},
}})

GOOD = {"rid": ["a", "b", "c", "d"], "email": ["a@x.org", "b@x.org", "", "d@x.org"],
        "visit": ["2024-02-01", "2025-03-04", "2026-01-31", "2024-12-24"],
        "age": [34, 51, -9, 28], "sex": [1, 2, 2, 1], "posture": [1, 3, 98, 2],
        "episodes": [0, 3, 1, 0], "spasm": [0, 1, 1, 0]}


def _write(tmp_path, **changes) -> str:
    frame = pd.DataFrame({**GOOD, **changes})
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_a_clean_file_becomes_a_typed_survey(tmp_path):
    survey = load_survey(_write(tmp_path), CODEBOOK)
    data = survey.data
    assert list(data.index) == [2, 3, 4, 5] and data.index.name == "line"
    assert "rid" not in data and "email" not in data
    assert list(data["sex"].cat.categories) == ["Female", "Male"]
    assert data["posture"].cat.ordered and list(data["posture"]) [:2] == ["Good", "Poor"]
    assert pd.isna(data.loc[4, "posture"]) and pd.isna(data.loc[4, "age"])
    assert data["age"].dtype == np.float64 and data["episodes"].tolist() == [0, 3, 1, 0]
    assert data["spasm"].tolist() == ["No", "Yes", "Yes", "No"]
    assert data["visit"].dt.year.tolist() == [2024, 2025, 2026, 2024]
    ledger = survey.ledger
    recoded = ledger[ledger["action"] == "set missing"]
    assert recoded[["line", "column", "rule", "value"]].values.tolist() == [
        [4, "age", "missing code: refused", "-9"],
        [4, "posture", "missing code: don't know", "98"]]
    assert survey.flow["n"].tolist() == [4, 4]


def test_keep_identifiers(tmp_path):
    survey = load_survey(_write(tmp_path), CODEBOOK, keep_identifiers=True)
    assert survey.data["rid"].tolist() == ["a", "b", "c", "d"]
    assert survey.data["email"].tolist()[:2] == ["a@x.org", "b@x.org"]


BROKEN = [
    ({"age": [34, 151, -9, 12]}, "age", "out of range", "2 rows (first: line 3: 151; line 5: 12)"),
    ({"age": [34, "fifty", -9, 28]}, "age", "not a number", "1 row (first: line 3: 'fifty')"),
    ({"sex": [1, 2, 3, 1]}, "sex", "unknown code", "1 row (first: line 4: 3)"),
    ({"posture": [1, 4, 98, 2]}, "posture", "unknown code", "1 row (first: line 3: 4)"),
    ({"episodes": [0, 2.5, 1, 0]}, "episodes", "not a whole number", "1 row (first: line 3: 2.5)"),
    ({"episodes": [0, -1, 1, 0]}, "episodes", "out of range", "1 row (first: line 3: -1)"),
    ({"visit": ["2024-02-30", "2025-03-04", "2026-01-31", "2024-12-24"]}, "visit",
     "impossible date", "1 row (first: line 2: '2024-02-30')"),
    ({"visit": ["2024-02-01", "2028-03-04", "2026-01-31", "2024-12-24"]}, "visit",
     "out of range", "1 row (first: line 3: '2028-03-04')"),
    ({"rid": ["a", "b", "a", "d"]}, "rid", "duplicate id", "1 row (first: line 4: 'a')"),
    ({"rid": ["a", None, "c", "d"]}, "rid", "missing id", "1 row (first: line 3: (blank))"),
]


@pytest.mark.parametrize(("changes", "column", "rule", "detail"), BROKEN)
def test_each_rule_names_column_rule_and_lines(tmp_path, changes, column, rule, detail):
    path = _write(tmp_path, **changes)
    with pytest.raises(ValidationError) as err:
        load_survey(path, CODEBOOK)
    message = str(err.value)
    assert message.startswith(f"{path}: 1 rule broken")
    assert f"column {column!r}: {rule}, {detail}" in message
    assert "To fix:" in message
    problems = err.value.problems
    assert problems[["column", "rule"]].values.tolist() == [[column, rule]]

    survey = load_survey(path, CODEBOOK, on_invalid="exclude")
    n_bad = int(problems["n_rows"].iloc[0])
    assert survey.n == 4 - n_bad
    assert set(survey.data.index).isdisjoint(problems["first_lines"].iloc[0])
    flow = survey.flow
    assert flow["reason"].tolist() == ["rows read", f"{column}: {rule}", "rows analysed"]
    assert flow["n"].tolist() == [4, n_bad, 4 - n_bad]
    excluded = survey.ledger.query("action == 'excluded'")
    assert excluded["line"].tolist() == problems["first_lines"].iloc[0]


def test_every_broken_rule_is_listed_in_one_error(tmp_path):
    path = _write(tmp_path, age=[34, 151, -9, 28], sex=[1, 2, 3, 1], rid=["a", "b", "a", "d"])
    with pytest.raises(ValidationError) as err:
        load_survey(path, CODEBOOK)
    assert str(err.value).startswith(f"{path}: 3 rules broken, affecting 2 rows:")
    assert err.value.problems["rule"].tolist() == ["duplicate id", "out of range", "unknown code"]


def test_a_row_breaking_two_rules_is_counted_once_in_the_flow(tmp_path):
    path = _write(tmp_path, age=[34, 151, -9, 28], sex=[1, 3, 2, 1])
    survey = load_survey(path, CODEBOOK, on_invalid="exclude")
    assert survey.flow["n"].tolist() == [4, 1, 3]
    assert survey.ledger.query("line == 3")["rule"].tolist() == ["out of range", "unknown code"]


def test_missing_and_unknown_columns(tmp_path):
    frame = pd.DataFrame(GOOD).drop(columns=["sex", "posture"])
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(ValidationError, match=r"2 columns the codebook requires are not in the "
                       r"file \(rule: missing column\): 'sex', 'posture'"):
        load_survey(tmp_path / "a.csv", CODEBOOK, on_invalid="exclude")
    pd.DataFrame({**GOOD, "shoe_size": [40, 41, 42, 43]}).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValidationError, match="column 'shoe_size': unknown column"):
        load_survey(tmp_path / "b.csv", CODEBOOK)
    survey = load_survey(tmp_path / "b.csv", CODEBOOK, on_invalid="exclude")
    assert "shoe_size" not in survey.data and survey.n == 4
    dropped = survey.ledger.query("action == 'dropped column'")
    assert ("shoe_size", "unknown column") in set(zip(dropped["column"], dropped["rule"], strict=True))


def test_labels_in_place_of_codes_are_accepted(tmp_path):
    path = _write(tmp_path, sex=["Female", "Male", "2", " 1 "], posture=["Good", "3", 98, "Fair"])
    survey = load_survey(path, CODEBOOK)
    assert survey.data["sex"].tolist() == ["Female", "Male", "Male", "Female"]
    assert survey.data["posture"].tolist()[::3] == ["Good", "Fair"]


def test_a_qualtrics_export_loses_its_metadata_and_identifiers(tmp_path):
    from test_io import QUALTRICS

    path = tmp_path / "qualtrics.csv"
    path.write_text(QUALTRICS)
    cb = Codebook.from_dict({"variables": {
        "ResponseId": {"type": "id", "label": "Response"},
        "Q1": {"type": "numeric", "label": "Age", "range": [18, 99]},
        "Q2": {"type": "binary", "label": "Spasm", "levels": {1: "Yes", 2: "No"}}}})
    survey = load_survey(path, cb)
    assert list(survey.data.columns) == ["Q1", "Q2"]
    assert list(survey.data.index) == [4, 5]
    dropped = survey.ledger.query("action == 'dropped column'").set_index("column")["rule"]
    assert dropped["IPAddress"] == "export metadata" and dropped["ResponseId"] == "identifier (privacy)"
    assert "RecipientEmail" not in survey.data and "LocationLatitude" not in survey.data


def test_a_redcap_export_with_its_dictionary(tmp_path):
    from test_codebook import REDCAP_DICTIONARY

    (tmp_path / "dictionary.csv").write_text(REDCAP_DICTIONARY)
    (tmp_path / "export.csv").write_text(
        "record_id,redcap_event_name,sex,posture,spasm,smoker,sports___1,sports___2,sports___99,"
        "age,hours,visit,email,name,bmi,pain,notes,survey_complete\n"
        "1,baseline_arm_1,1,2,1,0,1,0,0,34,7.5,2024-05-01,a@x.org,Ann,22.1,40,,2\n"
        "2,baseline_arm_1,2,3,0,1,0,1,0,51,3,2024-06-11,b@x.org,Bob,27.4,10,ok,2\n")
    survey = load_survey(tmp_path / "export.csv", tmp_path / "dictionary.csv")
    assert survey.data["sports___2"].tolist() == ["Unchecked", "Checked"]
    assert survey.data["posture"].tolist() == ["Fair", "Poor"]
    assert {"record_id", "email", "name", "redcap_event_name"}.isdisjoint(survey.data.columns)


def test_on_invalid_must_be_known(tmp_path):
    with pytest.raises(ValidationError, match="on_invalid must be 'raise' or 'exclude'"):
        load_survey(_write(tmp_path), CODEBOOK, on_invalid="drop")


MESSY = st.one_of(st.none(), st.integers(-20, 120), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=6), st.sampled_from(["1", "2", "98", "-9", "2024-02-30",
                                                        "2025-01-01", " ", "Male", "Poor"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(0, 12), data=st.data(),
       drop=st.sets(st.sampled_from(list(CODEBOOK.variables)), max_size=2),
       extra=st.booleans())
def test_messy_tables_give_a_survey_whose_flow_adds_up_or_our_error(rows, data, drop, extra):
    columns = {name: data.draw(st.lists(MESSY, min_size=rows, max_size=rows), label=name)
               for name in CODEBOOK.variables if name not in drop}
    if extra:
        columns["unexpected"] = list(range(rows))
    frame = pd.DataFrame(columns, index=range(rows))
    try:
        survey = load_survey(frame, CODEBOOK, on_invalid="exclude")
    except BackpainError:
        return
    flow = survey.flow
    read = flow.loc[flow["stage"] == "read", "n"].item()
    excluded = flow.loc[flow["stage"] == "excluded", "n"].sum()
    analysed = flow.loc[flow["stage"] == "analysed", "n"].item()
    assert read == rows and analysed == survey.n and read == excluded + analysed
    assert set(survey.data.index).isdisjoint(survey.ledger.query("action == 'excluded'")["line"])


def test_a_folder_of_parquet_files_is_validated_in_duckdb(tmp_path):
    from analysis.scale import LazySurvey

    parts = []
    for k in range(2):
        part = pd.DataFrame({**GOOD, "rid": [f"{r}{k}" for r in GOOD["rid"]],
                             "age": [34, 151, -9, 28]})
        part.to_parquet(tmp_path / f"part{k}.parquet", index=False)
        parts.append(part)
    lazy = load_survey(tmp_path, CODEBOOK, on_invalid="exclude")
    assert isinstance(lazy, LazySurvey)
    in_memory = load_survey(pd.concat(parts, ignore_index=True), CODEBOOK, on_invalid="exclude")
    assert lazy.flow[["stage", "reason", "n"]].values.tolist() == \
        in_memory.flow[["stage", "reason", "n"]].values.tolist() == [
            ["read", "rows read", 8], ["excluded", "age: out of range", 2],
            ["analysed", "rows analysed", 6]]
    assert isinstance(load_survey(tmp_path / "part0.parquet", CODEBOOK, on_invalid="exclude"),
                      type(in_memory))
    with pytest.raises(ValidationError, match="engine must be 'pandas' or 'duckdb'"):
        load_survey(tmp_path / "part0.parquet", CODEBOOK, engine="spark")


def test_questions_not_asked_are_not_missing():
    from analysis.figures import missingness

    cb = Codebook.from_dict({"variables": {
        "spasm": {"type": "binary", "label": "Spasm"},
        "trigger": {"type": "binary", "label": "Started while lifting",
                    "asked_if": {"spasm": 1}},
        "days": {"type": "count", "label": "Days of sport"},
        "minutes": {"type": "numeric", "label": "Minutes a day",
                    "asked_if": {"days": [1, 2, 3, 4, 5, 6, 7]}}}})
    frame = pd.DataFrame({"spasm": [1, 1, 0, 0, None], "trigger": [1, None, None, None, None],
                          "days": [0, 3, 3, None, 0], "minutes": [None, 30, None, None, None]})
    survey = load_survey(frame, cb)
    assert survey.asked("trigger").tolist() == [True, True, False, False, True]
    assert survey.asked("minutes").tolist() == [False, True, True, True, False]
    table = missingness(survey).set_index("variable")
    # trigger: asked of lines 1, 2 and 5 (spasm unknown); blank on 2 and 5
    assert table.loc["trigger", ["n_asked", "n_not_asked", "n_missing"]].tolist() == [3, 2, 2]
    assert table.loc["minutes", ["n_asked", "n_missing"]].tolist() == [3, 2]
    assert table.loc["minutes", "percent_missing"] == pytest.approx(200 / 3)

"""The codebook model: YAML loading, validation of the codebook itself, importers."""

import re

import pandas as pd
import pyreadstat
import pytest
import yaml

from analysis.codebook import Codebook, load_codebook
from analysis.codebook.redcap import from_redcap_dictionary
from analysis.codebook.spss import from_spss
from analysis.errors import CodebookError


def test_the_documented_example_codebook_loads(root):
    text = (root / "data/codebooks/README.md").read_text()
    complete = text[text.index("## A complete example"):]
    example = re.search(r"```yaml\n(.*?)```", complete, re.S).group(1)
    cb = Codebook.from_dict(yaml.safe_load(example))
    assert len(cb) == 13
    assert cb.identifiers == ["respondent_id", "email"]
    assert cb["posture"].level_labels == {1: "Good", 2: "Fair", 3: "Poor"}
    assert cb["posture"].reference_level == "Good"
    assert cb["spasm_12m"].level_labels == {0: "No", 1: "Yes"}
    assert cb.instrument_items("odi") == ["odi_1"]
    assert cb.role("weight") == "weight"
    assert cb.names(role="exposure") == ["posture", "hours_sitting"]


def test_the_documented_derived_variables_and_analysis_section_load(root):
    text = (root / "data/codebooks/README.md").read_text()
    derived = text[text.index("## Derived variables"):text.index("## The analysis section")]
    variables = yaml.safe_load(re.search(r"```yaml\n(.*?)```", derived, re.S).group(1))
    inputs = {name: {"type": "numeric", "label": name}
              for name in ("age", "weight_kg", "height_cm", "pain_1", "pain_2", "pain_3")}
    section = text[text.index("## The analysis section"):text.index("## A complete example")]
    analysis = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    names = ("lbp_12m", "lifting", "sitting_h", "sex")
    inputs |= {name: {"type": "binary" if name != "sitting_h" else "numeric", "label": name}
               for name in names}
    cb = Codebook.from_dict({"variables": {**inputs, **variables}, **analysis})
    assert cb["age_band"].derive.breaks[-1] == float("inf")
    assert cb["bmi"].derive.inputs == ["weight_kg", "height_cm"]
    assert cb["pain_total"].derive.min_items == 2
    assert cb.analysis.missing == "complete cases" and cb.analysis.firth == "auto"


def test_yaml_round_trip(tmp_path):
    cb = Codebook.from_dict({"name": "x", "variables": {
        "pain": {"type": "ordinal", "label": "Pain", "levels": {0: "None", 1: "Some"},
                 "missing": {-9: "refused"}, "instrument": {"name": "nprs", "item": 1}}}})
    path = tmp_path / "cb.yml"
    cb.to_yaml(path)
    assert Codebook.from_yaml(path) == cb


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"type": "numeric", "label": "Age", "rnage": [1, 2]},
         "variable 'age', key 'rnage': unknown key (did you mean 'range'?)"),
        ({"type": "numerc", "label": "Age"}, "variable 'age', key 'type': 'numerc' is not allowed"),
        ({"type": "categorical", "label": "Age"}, "variable 'age', key 'levels': a categorical"),
        ({"type": "binary", "label": "Age", "levels": {1: "a", 2: "b", 3: "c"}},
         "variable 'age', key 'levels': a binary variable has exactly 2 levels, got 3"),
        ({"type": "categorical", "label": "Age", "levels": {1: "a"}, "reference": 3},
         "variable 'age', key 'reference': 3 is not one of the levels [1]"),
        ({"type": "numeric", "label": "Age", "range": [50, 10]},
         "variable 'age', key 'range': minimum 50.0 is above maximum 10.0"),
        ({"type": "categorical", "label": "Age", "levels": {1: "a", 9: "b"}, "missing": {9: "dk"}},
         "variable 'age', key 'missing': codes [9] are both levels and missing codes"),
        ({"type": "numeric", "label": "Age", "role": "exposur"},
         "variable 'age', key 'role': 'exposur' is not allowed"),
        ({"type": "numeric"}, "variable 'age', key 'label': Field required"),
        ({"type": "numeric", "label": "Age", "instrument": {"name": "odi", "itme": 1}},
         "variable 'age', key 'instrument.itme': unknown key (did you mean 'item'?)"),
    ],
)
def test_a_broken_codebook_names_variable_and_key(entry, expected):
    with pytest.raises(CodebookError) as err:
        Codebook.from_dict({"variables": {"age": entry}}, source="cb.yml")
    assert str(err.value).startswith("cb.yml: the codebook has")
    assert expected in str(err.value)


def test_two_variables_cannot_be_the_same_item():
    item = {"type": "numeric", "label": "x", "instrument": {"name": "odi", "item": 1}}
    with pytest.raises(CodebookError, match="item 1 of odi is also variable 'a'"):
        Codebook.from_dict({"variables": {"a": item, "b": item}})


def test_unreadable_and_non_yaml_codebooks(tmp_path):
    with pytest.raises(CodebookError, match="cannot read the codebook"):
        Codebook.from_yaml(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("variables: [unclosed")
    with pytest.raises(CodebookError, match="not valid YAML"):
        Codebook.from_yaml(bad)
    bad.write_text("- just a list")
    with pytest.raises(CodebookError, match="a mapping with a 'variables' key"):
        Codebook.from_yaml(bad)


def test_unknown_variable_suggests_the_closest_name():
    cb = Codebook.from_dict({"variables": {"posture": {"type": "numeric", "label": "P"}}})
    with pytest.raises(CodebookError, match=r"no variable 'postur'\. Did you mean 'posture'"):
        cb["postur"]


REDCAP_DICTIONARY = """\
Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?
record_id,survey,,text,Record ID,,,,,,,,
intro,survey,,descriptive,<b>Welcome</b>,,,,,,,,
sex,survey,,radio,Sex,"1, Female | 2, Male",,,,,,,y
posture,survey,,dropdown,Self-rated posture,"1, Good | 2, Fair | 3, Poor",,,,,,,
spasm,survey,,yesno,Back-muscle spasm in the last 12 months,,,,,,,,
smoker,survey,,truefalse,Smokes,,,,,,,,
sports,survey,,checkbox,Sports in the last 12 months,"1, Golf | 2, Basketball | 99, None",,,,,,,
age,survey,,text,Age,,,integer,18,99,,,
hours,survey,,text,Hours sitting per day,,,number,0,24,,,
visit,survey,,text,Date of visit,,,date_ymd,2024-01-01,,,,
email,survey,,text,E-mail,,,email,,,y,,
name,survey,,text,Name,,,,,,y,,
bmi,survey,,calc,BMI,[weight]/([height]*[height]),,,,,,,
pain,survey,,slider,Pain,,,,,,,,
notes,survey,,notes,Comments,,,,,,,,
"""


def test_redcap_dictionary_import(tmp_path):
    path = tmp_path / "dictionary.csv"
    path.write_text(REDCAP_DICTIONARY)
    cb = load_codebook(path)
    assert cb["record_id"].type == "id"
    assert "intro" not in cb
    assert cb["sex"].type == "categorical" and cb["sex"].level_labels == {1: "Female", 2: "Male"}
    assert cb["posture"].codes == [1, 2, 3]
    assert cb["spasm"].type == "binary" and cb["spasm"].level_labels == {0: "No", 1: "Yes"}
    assert cb["smoker"].level_labels == {0: "False", 1: "True"}
    assert [v for v in cb.variables if v.startswith("sports___")] == [
        "sports___1", "sports___2", "sports___99"]
    assert cb["sports___2"].label == "Sports in the last 12 months: Basketball"
    assert cb["age"].type == "count" and cb["age"].range == (18.0, 99.0)
    assert cb["hours"].type == "numeric" and cb["hours"].range == (0.0, 24.0)
    assert cb["visit"].type == "date" and cb["visit"].format == "%Y-%m-%d"
    assert cb["email"].pii and cb["name"].pii
    assert cb["bmi"].type == "numeric"
    assert cb["pain"].range == (0.0, 100.0)
    assert cb["notes"].type == "text"
    assert set(cb.identifiers) == {"record_id", "email", "name"}


def test_redcap_dictionary_with_a_bad_choice_names_the_field(tmp_path):
    path = tmp_path / "dictionary.csv"
    path.write_text(REDCAP_DICTIONARY.replace('"1, Good | 2, Fair | 3, Poor"', '"Good | Fair"'))
    with pytest.raises(CodebookError, match=r"line 5, field 'posture': choice 'Good' is not"):
        from_redcap_dictionary(path)


def test_a_csv_that_is_not_a_data_dictionary(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CodebookError, match="not a REDCap data dictionary"):
        from_redcap_dictionary(path)


def test_spss_value_labels_import(tmp_path):
    frame = pd.DataFrame({"sex": [1.0, 2.0, -9.0], "posture": [1.0, 2.0, 3.0],
                          "age": [30.5, 40.0, 99.0], "smoker": [0.0, 1.0, 1.0],
                          "name": ["a", "b", "c"]})
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(
        frame, str(path),
        column_labels={"sex": "Sex", "posture": "Self-rated posture", "age": "Age",
                       "smoker": "Smokes", "name": "Name"},
        variable_value_labels={"sex": {1: "Female", 2: "Male", -9: "Refused"},
                               "posture": {1: "Good", 2: "Fair", 3: "Poor"},
                               "smoker": {0: "No", 1: "Yes"}},
        missing_ranges={"sex": [-9], "age": [{"lo": 99, "hi": 99}]},
        variable_measure={"sex": "nominal", "posture": "ordinal", "age": "scale",
                          "smoker": "nominal"},
    )
    cb = from_spss(path)
    assert cb["sex"].type == "categorical"
    assert cb["sex"].level_labels == {1: "Female", 2: "Male"}
    assert cb["sex"].missing == {-9: "Refused"}
    assert cb["posture"].type == "ordinal" and cb["posture"].label == "Self-rated posture"
    assert cb["smoker"].type == "binary"
    assert cb["age"].type == "numeric" and cb["age"].missing == {99: "missing (SPSS)"}
    assert cb["name"].type == "text"


def test_skip_logic_names_known_variables_and_codes():
    base = {"spasm": {"type": "binary", "label": "Spasm"},
            "days": {"type": "count", "label": "Days"}}
    ok = Codebook.from_dict({"variables": {**base, "trigger": {
        "type": "binary", "label": "Trigger", "asked_if": {"spasm": 1, "days": [1, 2]}}}})
    assert ok["trigger"].asked_if == {"spasm": 1, "days": [1, 2]}
    with pytest.raises(CodebookError, match="variable 'trigger', key 'asked_if': no variable "
                                            "'spams' in the codebook"):
        Codebook.from_dict({"variables": {**base, "trigger": {
            "type": "binary", "label": "T", "asked_if": {"spams": 1}}}})
    with pytest.raises(CodebookError, match=r"key 'asked_if': \[2\] are not levels of 'spasm'"):
        Codebook.from_dict({"variables": {**base, "trigger": {
            "type": "binary", "label": "T", "asked_if": {"spasm": [1, 2]}}}})

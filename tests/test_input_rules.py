"""What a file or codebook may hold and how it is read: YAML 1.2 scalars, repeated keys, lines
in codebook errors, missing-value tokens, decimal commas, identifiers, Excel sheets, control
characters, repeated column names."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.codebook import Codebook, load_codebook
from analysis.errors import BackpainWarning, CodebookError, ReadError, ValidationError
from analysis.io import read_table
from analysis.load import load_survey

CB = """\
variables:
  rid: {type: id, label: Respondent}
  age: {type: numeric, label: Age, range: [0, 120]}
  answer: {type: categorical, label: Answer, levels: {NO: Norway, yes: "yes", on: on, off: off}}
"""


def _cb(tmp_path, text=CB, name="cb.yml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _csv(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# ---- codebook YAML ----------------------------------------------------------------
def test_yaml_1_1_booleans_stay_text(tmp_path):
    var = Codebook.from_yaml(_cb(tmp_path))["answer"]
    assert var.levels == {"NO": "Norway", "yes": "yes", "on": "on", "off": "off"}
    binary = Codebook.from_yaml(_cb(tmp_path, "variables:\n  s: {type: binary, label: S, "
                                              "pii: true, levels: {0: No, 1: Yes}}\n"))["s"]
    assert binary.levels == {0: "No", 1: "Yes"} and binary.pii is True


def test_yaml_1_2_numbers_and_dates(tmp_path):
    text = ("variables:\n  d: {type: date, label: D, range: [2024-01-01, 2024-12-31]}\n"
            "  n: {type: categorical, label: N, levels: {010: ten, 0x1f: thirty-one}}\n")
    cb = Codebook.from_yaml(_cb(tmp_path, text))
    assert cb["d"].range == ("2024-01-01", "2024-12-31")
    assert cb["n"].levels == {10: "ten", 31: "thirty-one"}


def test_a_repeated_key_names_both_lines(tmp_path):
    text = CB + "  age: {type: count, label: Age again}\n"
    with pytest.raises(CodebookError, match=r"line 5, column 3: .*key 'age' appears twice in "
                                            r"one mapping \(first on line 3, again on line 5\)"):
        Codebook.from_yaml(_cb(tmp_path, text))
    nested = "variables:\n  a: {type: numeric, label: A, label: B}\n"
    with pytest.raises(CodebookError, match="key 'label' appears twice"):
        Codebook.from_yaml(_cb(tmp_path, nested))


def test_codebook_errors_name_the_yaml_line(tmp_path):
    text = CB + "  pain:\n    type: numeric\n    label: Pain\n    rnage: [0, 10]\n"
    with pytest.raises(CodebookError) as err:
        Codebook.from_yaml(_cb(tmp_path, text))
    assert "line 8: variable 'pain', key 'rnage': unknown key (did you mean 'range'?)" in str(
        err.value)
    with pytest.raises(CodebookError, match="line 2: variable 'rid', key 'type': 'identifier'"):
        Codebook.from_yaml(_cb(tmp_path, CB.replace("type: id", "type: identifier")))


def test_two_levels_sharing_a_label(tmp_path):
    with pytest.raises(CodebookError, match=r"line 4: variable 'answer', key 'levels': codes "
                                            r"'NO', 'yes' share the label 'Norway'"):
        Codebook.from_yaml(_cb(tmp_path, CB.replace('"yes"', "Norway")))


def test_a_codebook_that_is_not_utf8(tmp_path):
    path = tmp_path / "cb.yml"
    path.write_bytes(CB.replace("Respondent", "Répondant").encode("latin-1"))
    with pytest.raises(CodebookError, match=r"not UTF-8 text \(byte 0xe9 on line 2\)"):
        load_codebook(path)
    path.write_bytes(b"\xef\xbb\xbf" + CB.encode())  # a BOM is fine
    assert "rid" in load_codebook(path)


# ---- missing-value tokens -----------------------------------------------------------
def test_default_tokens_become_missing_each_counted_with_its_token(tmp_path):
    data = _csv(tmp_path, "rid,age,answer\n1,NA,NO\n2,.,yes\n3,N/A,null\n4,,None\n5,40,on\n")
    survey = load_survey(data, _cb(tmp_path))
    assert survey.data["age"].isna().tolist() == [True, True, True, True, False]
    ledger = survey.ledger.query("action == 'set missing'")
    assert ledger[["line", "column", "rule", "value"]].values.tolist() == [
        [2, "age", "missing token: NA", "NA"], [3, "age", "missing token: .", "."],
        [4, "age", "missing token: N/A", "N/A"], [4, "answer", "missing token: null", "null"],
        [5, "answer", "missing token: None", "None"]]  # the blank on line 5 has no entry


def test_a_token_that_is_a_level_or_label_is_an_answer(tmp_path):
    text = CB.replace('yes: "yes"', 'NA: "N/A"')
    data = _csv(tmp_path, "rid,age,answer\n1,30,NA\n2,31,N/A\n")
    survey = load_survey(data, _cb(tmp_path, text))
    assert survey.data["answer"].tolist() == ["N/A", "N/A"]
    assert len(survey.ledger.query("action == 'set missing'")) == 0


def test_na_values_at_top_level_and_per_variable(tmp_path):
    text = 'na_values: ["-", "?"]\n' + CB.replace(
        "range: [0, 120]}", 'range: [0, 120], na_values: ["unknown"]}')
    data = _csv(tmp_path, "rid,age,answer\n1,unknown,-\n2,30,?\n")
    survey = load_survey(data, _cb(tmp_path, text))
    assert survey.data["age"].isna().tolist() == [True, False]
    assert survey.data["answer"].isna().all()
    # NA is not a token any more here: it is "not a number".
    with pytest.raises(ValidationError, match=r"column 'age': not a number, 1 row .*line 2: 'NA'"):
        load_survey(_csv(tmp_path, "rid,age,answer\n1,NA,NO\n"), _cb(tmp_path, text))


# ---- numbers and identifiers --------------------------------------------------------
def test_identifiers_keep_leading_zeros(tmp_path):
    data = _csv(tmp_path, "rid,age,answer\n00042,30,NO\n042,31,NO\n")
    survey = load_survey(data, _cb(tmp_path), keep_identifiers=True)
    assert survey.data["rid"].tolist() == ["00042", "042"]  # two people, not a duplicate


def test_decimal_comma_detected_and_noted(tmp_path):
    data = _csv(tmp_path, "rid;age;answer\n1;34,5;NO\n2;40;NO\n3;-0,5;NO\n")
    with pytest.raises(ValidationError, match=r"out of range, 1 row .*line 4: '-0,5'"):
        load_survey(data, _cb(tmp_path))
    data = _csv(tmp_path, "rid;age;answer\n1;34,5;NO\n2;40;NO\n")
    survey = load_survey(data, _cb(tmp_path))
    assert survey.data["age"].tolist() == [34.5, 40.0]
    entry = survey.ledger.query("rule == 'decimal comma'")
    assert entry[["line", "value", "action"]].values.tolist() == [
        [2, "34,5", "read as decimal point"]]


def test_decimal_comma_in_a_comma_separated_file_needs_the_option(tmp_path):
    data = _csv(tmp_path, 'rid,age,answer\n1,"34,5",NO\n')
    with pytest.raises(ValidationError, match=r"not a number, 1 row \(first: line 2: '34,5'\)"
                                              r".*read with `decimal: ','` in the codebook"):
        load_survey(data, _cb(tmp_path))
    survey = load_survey(data, _cb(tmp_path, 'decimal: ","\n' + CB))
    assert survey.data["age"].tolist() == [34.5]


def test_decimal_comma_that_could_be_thousands_needs_the_option(tmp_path):
    data = _csv(tmp_path, "rid;age;answer\n1;1,250;NO\n")
    with pytest.raises(ValidationError, match=r"decimal comma, 1 row \(first: line 2: '1,250'\)"
                                              r".*set `decimal: ','` in the codebook"):
        load_survey(data, _cb(tmp_path))
    survey = load_survey(data, _cb(tmp_path, 'decimal: ","\n' + CB))
    assert survey.data["age"].tolist() == [1.25]
    with pytest.raises(ValidationError, match="not a number"):
        load_survey(_csv(tmp_path, "rid;age;answer\n1;34,5;NO\n"),
                    _cb(tmp_path, 'decimal: "."\n' + CB))


def test_numbers_never_lose_characters(tmp_path):
    data = _csv(tmp_path, "rid,age,answer\n1,34 years,NO\n2,3O,NO\n3,1e1,NO\n")
    with pytest.raises(ValidationError) as err:
        load_survey(data, _cb(tmp_path))
    assert "not a number, 2 rows (first: line 2: '34 years'; line 3: '3O')" in str(err.value)


# ---- control characters, encodings, lines ---------------------------------------------
def test_control_characters_removed_with_their_lines(tmp_path):
    data = _csv(tmp_path, "rid,age,answer\n1,3\x004,NO\n2,40,N\x07O\n")
    survey = load_survey(data, _cb(tmp_path))
    assert survey.data["age"].tolist() == [34.0, 40.0]
    assert survey.data["answer"].tolist() == ["Norway", "Norway"]
    notes = survey.ledger.query("step == 'read' and action == 'removed'")
    assert notes[["line", "value"]].values.tolist() == [[2, "U+0000"], [3, "U+0007"]]


def test_mojibake_warns_with_the_line(tmp_path):
    data = _csv(tmp_path, "rid,age,answer\n1,30,NO\n2,31,NO\n")
    text = "rid,age,answer,town\n1,30,NO,Köln\n2,31,NO,MÃ¼nchen\n"
    with pytest.warns(BackpainWarning, match=r"possible mojibake.*line 3: '.*MÃ¼nchen"):
        frame = read_table(_csv(tmp_path, text, "m.csv"))
    assert frame.loc[2, "town"] == "Köln"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_table(data)  # clean text: no warning


def test_encoding_is_reported(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("rid,age,answer\n1,30,NO\n".encode("cp1252") + "2,31,NO # é\n".encode(
        "cp1252"))
    survey = load_survey(path, _cb(tmp_path).parent / "cb.yml", on_invalid="exclude")
    # About the file, not about rows: a note of the ledger, not an entry.
    assert survey.accounts.notes == ["encoding: cp1252"]
    assert survey.ledger.query("step == 'read'").empty


def test_lines_after_a_quoted_newline_in_messages_and_index(tmp_path):
    data = _csv(tmp_path, 'rid,age,answer\n1,30,"NO"\n"2\nb",31,NO\n3,300,NO\n')
    with pytest.raises(ValidationError, match=r"out of range, 1 row \(first: line 5: 300\)"):
        load_survey(data, _cb(tmp_path))
    survey = load_survey(data, _cb(tmp_path), on_invalid="exclude")
    assert list(survey.data.index) == [2, 3]
    assert survey.ledger.query("action == 'excluded'")["line"].tolist() == [5]


# ---- columns and sheets ------------------------------------------------------------------
def test_repeated_column_names_are_named(tmp_path):
    with pytest.raises(ReadError, match=r"duplicate column names.*'age' \(columns 2, 4\)"):
        read_table(_csv(tmp_path, "rid,age,answer,age\n1,2,NO,3\n"))
    with pytest.raises(ReadError, match=r"'age' \(columns 2, 4\)"):
        read_table(_csv(tmp_path, "rid,age ,answer, age\n1,2,NO,3\n"))
    pd.DataFrame({"age": [1], " age": [2]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(ReadError, match="duplicate column names"):
        load_survey(tmp_path / "p.parquet", _cb(tmp_path))


def test_excel_sheets_by_name_position_or_first_with_data(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame().to_excel(writer, sheet_name="Empty", index=False)
        pd.DataFrame({"rid": ["007"], "age": [30], "answer": ["NO"]}).to_excel(
            writer, sheet_name="Data", index=False)
        pd.DataFrame({"rid": ["1", "2"], "age": [40, 41], "answer": ["on", "off"]}).to_excel(
            writer, sheet_name="More", index=False)
    frame = read_table(path)
    assert frame.attrs["notes"][0].rule.startswith("sheet: Data (first sheet with data")
    assert frame["rid"].tolist() == ["007"]
    assert len(read_table(path, sheet="More")) == 2
    assert len(read_table(path, sheet="3")) == 2  # text: counted from 1
    assert len(read_table(path, sheet=2)) == 2  # int: counted from 0, as pandas does
    with pytest.raises(ReadError, match="no sheet 'Other'; the workbook has 3 sheet"):
        read_table(path, sheet="Other")
    survey = load_survey(path, _cb(tmp_path), sheet="More")
    assert survey.data["answer"].tolist() == ["on", "off"]


def test_parquet_folder_with_exclusions_writes_its_ledger(tmp_path, capsys):
    from analysis.cli import main

    folder = tmp_path / "ds"
    folder.mkdir()
    pd.DataFrame({"rid": ["1", "2"], "age": [30.0, 300.0], "answer": ["NO", "on"]}).to_parquet(
        folder / "a.parquet")
    pd.DataFrame({"rid": ["3"], "age": [np.nan], "answer": ["off"]}).to_parquet(
        folder / "b.parquet")
    ledger = tmp_path / "out" / "ledger.csv"
    assert main(["validate", str(folder), "-c", str(_cb(tmp_path)), "--on-invalid", "exclude",
                 "--ledger", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"age: out of range +1\n", out) and re.search(r"rows analysed +2\n", out)
    assert pd.read_csv(ledger)[["line", "column", "rule"]].values.tolist() == [
        [2, "age", "out of range"]]

"""`backpain init`: a codebook drafted from the data loads and validates that data unedited."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from analysis import datasets
from analysis.cli import main
from analysis.codebook import Codebook
from analysis.draft import draft_codebook
from analysis.load import load_survey

ROOT = Path(__file__).resolve().parents[1]
OWN = sorted((ROOT / "tests" / "own_data" / "data").glob("*.csv"))


@pytest.mark.parametrize("name", datasets.names())
def test_each_public_dataset_file_gives_a_codebook_that_validates_it(name, tmp_path, capsys):
    path = datasets.fetch(name)
    out = tmp_path / f"{name}.yml"
    assert main(["init", str(path), "--out", str(out)]) == 0
    assert f"all {datasets.get(name).n_rows:,} rows pass" in capsys.readouterr().out
    codebook = Codebook.from_yaml(out)
    # The file through its own parser (the same reading as `backpain validate FILE`).
    survey = load_survey(datasets.get(name).parser(path) if path.suffix != ".csv" else path,
                         codebook, on_invalid="raise")
    assert survey.n == datasets.get(name).n_rows
    assert main(["validate", str(path), "-c", str(out), "--on-invalid", "raise"]) == 0


def test_the_public_datasets_are_typed_as_their_curated_codebooks(tmp_path):
    # Where the registry's hand-written codebook says binary or numeric, the draft agrees.
    for name in datasets.names():
        curated = datasets.get(name).codebook
        draft = draft_codebook(name).codebook
        for var in curated:
            if var.name not in draft or var.derive is not None:
                continue
            guessed = draft[var.name].type
            if var.type in ("binary", "numeric"):
                assert guessed == var.type, (name, var.name, guessed, var.type)


@pytest.mark.parametrize("path", OWN, ids=[p.stem for p in OWN])
def test_own_data_shapes_validate_with_their_drafts(path):
    draft = draft_codebook(path)
    reread = Codebook.from_dict(yaml.safe_load(draft.text))
    assert reread == draft.codebook
    survey = load_survey(path, draft.codebook, on_invalid="raise")
    assert survey.n == len(pd.read_csv(path))


def _frame() -> pd.DataFrame:
    n = 40
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "participant_id": [f"P{i:03d}" for i in range(n)],
        "email": [f"person{i}@example.org" for i in range(n)],
        "age": rng.integers(20, 70, n).astype(float),
        "back_pain": rng.integers(0, 2, n),
        "smoker": rng.choice(["no", "yes"], n),
        "posture": rng.choice(["Good", "Poor", "Fair"], n),
        "ward": rng.choice(["SURG", "ICU", "MED"], n),
        "pain_freq": rng.choice(["Sometimes", "Never", "Always", "Often", "Rarely"], n),
        "visit": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%d/%m/%Y"),
        "comment": [f"free text number {i}" for i in range(n)],
        "episodes": rng.integers(0, 6, n),
        "height": np.r_[rng.normal(170, 8, n - 2).round(1), -9, 999],
    })


def test_types_levels_ranges_and_flags_are_guessed_from_the_values():
    frame = _frame()
    spec = yaml.safe_load(draft_codebook(frame).text)["variables"]
    assert spec["participant_id"]["type"] == "id"
    assert spec["email"] == {"type": "text", "label": "Email", "pii": True}
    assert spec["age"]["type"] == "numeric"
    assert spec["age"]["range"] == [frame["age"].min(), frame["age"].max()]
    assert spec["back_pain"]["type"] == "binary"
    # Two texts: binary, the "no"-like one first so "yes" is the event.
    assert spec["smoker"]["levels"] == {"no": "No", "yes": "Yes"}
    # Categorical keeps the observed values, sorted; ordinal follows the scale the labels name.
    assert spec["ward"] == {"type": "categorical", "label": "Ward",
                            "levels": {"ICU": "ICU", "MED": "MED", "SURG": "SURG"}}
    assert spec["posture"]["type"] == "ordinal"
    assert list(spec["posture"]["levels"]) == ["Poor", "Fair", "Good"]
    assert spec["pain_freq"]["type"] == "ordinal"
    assert list(spec["pain_freq"]["levels"]) == ["Never", "Rarely", "Sometimes", "Often",
                                                 "Always"]
    assert spec["visit"] == {"type": "date", "label": "Visit", "format": "%d/%m/%Y"}
    assert spec["comment"]["type"] == "text"
    assert spec["episodes"]["type"] == "count"
    # -9 and 999 stand apart from heights of about 170: missing codes, outside the range.
    assert spec["height"]["missing"] == {-9: "missing code? (check)",
                                         999: "missing code? (check)"}
    heights = frame["height"].iloc[:-2]
    assert spec["height"]["range"] == [heights.min(), heights.max()]
    survey = load_survey(frame, draft_codebook(frame).codebook, on_invalid="raise")
    assert survey.n == 40
    assert "email" not in survey.data and "participant_id" not in survey.data


def test_roles_are_commented_suggestions_not_roles():
    text = draft_codebook(_frame()).text
    assert "    # role: outcome  (the name says outcome)" in text
    assert "    # role: confounder  (a usual confounder)" in text
    assert all(v.role is None for v in draft_codebook(_frame()).codebook)


def test_spss_value_labels_and_user_missing_codes_are_used(tmp_path):
    frame = pd.DataFrame({"sex": [1.0, 2.0, 1.0, 2.0, 9.0], "pain": [1.0, 2.0, 3.0, 1.0, 2.0],
                          "age": [30.0, 41.0, 52.0, 63.0, 74.0]})
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(
        frame, str(path), column_labels=["Sex of respondent", "Pain in the last week", "Age"],
        variable_value_labels={"sex": {1: "Male", 2: "Female", 9: "Refused"},
                               "pain": {1: "Mild", 2: "Moderate", 3: "Severe"}},
        missing_ranges={"sex": [9]})
    draft = draft_codebook(path)
    sex, pain, age = (draft.codebook[n] for n in ("sex", "pain", "age"))
    assert sex.label == "Sex of respondent"
    assert (sex.type, sex.levels, sex.missing) == ("binary", {1: "Male", 2: "Female"},
                                                   {9: "Refused"})
    assert (pain.type, pain.levels) == ("ordinal", {1: "Mild", 2: "Moderate", 3: "Severe"})
    assert (age.type, age.range) == ("numeric", (30, 74))
    survey = load_survey(path, draft.codebook, on_invalid="raise")
    assert survey.data["sex"].isna().sum() == 1


def test_stata_value_labels_are_used(tmp_path):
    frame = pd.DataFrame({"smokes": [0, 1, 1, 0], "bmi": [22.5, 31.0, 27.2, 24.9]})
    path = tmp_path / "survey.dta"
    pyreadstat.write_dta(frame, str(path), column_labels=["Current smoker", "Body-mass index"],
                         variable_value_labels={"smokes": {0: "no", 1: "yes"}})
    draft = draft_codebook(path)
    assert draft.codebook["smokes"].levels == {0: "no", 1: "yes"}
    assert draft.codebook["bmi"].label == "Body-mass index"
    assert load_survey(path, draft.codebook, on_invalid="raise").n == 4


def test_a_planted_error_is_drafted_around_and_named(tmp_path, capsys):
    frame = _frame()
    frame["age"] = frame["age"].astype(object)
    frame.loc[3, "age"] = "forty"
    csv = tmp_path / "survey.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "cb.yml"
    assert main(["init", str(csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 of 40 rows break a rule as drafted" in printed
    text = out.read_text()
    assert "# 1 value(s) are not numbers ('forty'): validation flags them" in text


def test_init_refuses_to_overwrite_and_bad_input_exits_2(tmp_path, capsys):
    out = tmp_path / "cb.yml"
    out.write_text("mine\n")
    csv = tmp_path / "s.csv"
    _frame().to_csv(csv, index=False)
    assert main(["init", str(csv), "--out", str(out)]) == 2
    assert "the file exists; a draft never overwrites a codebook" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    assert main(["init", str(csv), "--out", str(out), "--force"]) == 0
    assert main(["init", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "x.yml")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err

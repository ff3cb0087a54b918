"""Derived variables and the codebook keys real data need: event, per, derive, analysis.

Numbers are hand-computed: BMI = kg / m², bands by breaks, prorated sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.codebook import Codebook
from analysis.errors import CodebookError
from analysis.load import load_survey

CODEBOOK = {"name": "clinic", "variables": {
    "pid": {"type": "id", "label": "Patient", "role": "id"},
    "age_y": {"type": "numeric", "label": "Age", "unit": "years"},
    "height_cm": {"type": "numeric", "label": "Height", "unit": "cm"},
    "weight_kg": {"type": "numeric", "label": "Weight", "unit": "kg"},
    "item_a": {"type": "ordinal", "label": "Item A", "levels": {0: "never", 1: "some", 2: "often"}},
    "item_b": {"type": "ordinal", "label": "Item B", "levels": {0: "never", 1: "some", 2: "often"}},
    "lbp": {"type": "binary", "label": "Low back pain", "levels": {1: "Yes", 2: "No"},
            "event": 1, "role": "outcome"},
    "age_band": {"type": "ordinal", "label": "Age band",
                 "levels": {1: "under 40", 2: "40 to 59", 3: "60 and over"},
                 "derive": {"cut": "age_y", "breaks": [0, 40, 60, float("inf")]}},
    "bmi": {"type": "numeric", "label": "Body-mass index", "unit": "kg/m²", "range": [12, 70],
            "derive": {"formula": "weight_kg / (height_cm / 100) ** 2"}},
    "items_total": {"type": "numeric", "label": "Items total",
                    "derive": {"sum": ["item_a", "item_b"], "min_items": 1}},
}}
RAW = pd.DataFrame({"pid": ["007", "008", "009", "010", "011"],
                    "age_y": [39.9, 40, np.nan, 75, 60],
                    "height_cm": [160, 180, 170, 100, 175],
                    "weight_kg": [64, 81, np.nan, 90, 70],
                    "item_a": [0, 2, np.nan, 1, 2], "item_b": [1, np.nan, np.nan, 2, 2],
                    "lbp": [1, 2, 2, 1, 2]})


@pytest.fixture(scope="module")
def survey():
    return load_survey(RAW, CODEBOOK)


def test_bands_bmi_and_prorated_sum_equal_hand_values(survey):
    d = survey.data
    assert list(d["age_band"].astype(object).fillna("-")) == [
        "under 40", "40 to 59", "-", "60 and over", "60 and over"]
    assert d["age_band"].cat.ordered
    assert d["bmi"].iloc[0] == pytest.approx(64 / 1.6**2)
    assert d["bmi"].iloc[1] == pytest.approx(81 / 1.8**2)
    # 90 kg at 1 m is 90 kg/m²: outside the range [12, 70], set missing and counted.
    assert np.isnan(d["bmi"].iloc[3])
    # item codes 0 + 1; one item answered of two: 2 x 2 = 4 (prorated); none answered: missing.
    assert list(d["items_total"].fillna(-1)) == [1, 4, -1, 3, 4]


def test_every_missing_derived_value_is_in_the_ledger(survey):
    ledger = survey.accounts.to_frame()
    derived = ledger[ledger["step"] == "derive"]
    got = {(r.column, r.rule, int(r.line)) for r in derived.itertuples()}
    assert got == {("age_band", "derived: an input is missing", 3),
                   ("bmi", "derived: an input is missing", 3),
                   ("bmi", "derived value out of range", 4),
                   ("items_total", "derived: an input is missing", 3)}


def test_event_level_is_second_whatever_its_code(survey):
    assert list(survey.data["lbp"].cat.categories) == ["No", "Yes"]
    assert survey.codebook["lbp"].event_label == "Yes"
    assert survey.codebook["lbp"].codes == [2, 1]


def test_identifiers_keep_leading_zeros_and_derived_columns_are_not_in_the_file():
    cb = Codebook.from_dict(CODEBOOK)
    survey = load_survey(RAW, cb, keep_identifiers=True)
    assert list(survey.data["pid"]) == ["007", "008", "009", "010", "011"]


@pytest.mark.parametrize(("change", "message"), [
    ({"bmi": {"type": "numeric", "label": "BMI", "derive": {"formula": "__import__('os')"}}},
     "variable 'bmi', key 'derive.formula': formula \"__import__('os')\": the only functions"),
    ({"bmi": {"type": "numeric", "label": "BMI", "derive": {"formula": "w / h"}}},
     "variable 'bmi', key 'derive': no variable 'w' in the codebook"),
    ({"age_band": {"type": "ordinal", "label": "Band", "levels": {1: "a", 2: "b"},
                   "derive": {"cut": "age_y", "breaks": [0, 40, 60, 99]}}},
     "variable 'age_band', key 'derive.breaks': 2 levels need 3 breaks, got 4"),
    ({"bmi": {"type": "numeric", "label": "BMI", "derive": {"sum": ["item_a"], "cut": "age_y",
                                                            "breaks": [0, 1]}}},
     "give exactly one of cut, formula or sum (got cut, sum)"),
    ({"lbp": {"type": "binary", "label": "LBP", "event": 3}},
     "variable 'lbp', key 'event': 3 is not one of the levels [0, 1]"),
    ({"age_y": {"type": "numeric", "label": "Age", "per": -5}},
     "variable 'age_y', key 'per': per is a positive number"),
    ({"lbp": {"type": "binary", "label": "LBP", "per": 10}},
     "variable 'lbp', key 'per': only a numeric or count variable has a per"),
])
def test_codebook_errors_name_variable_key_and_rule(change, message):
    spec = {**CODEBOOK, "variables": {**CODEBOOK["variables"], **change}}
    with pytest.raises(CodebookError) as caught:
        Codebook.from_dict(spec)
    assert message in str(caught.value)


def test_analysis_section_names_are_checked():
    spec = {**CODEBOOK, "analysis": {"exposures": ["age_bnd"]}}
    with pytest.raises(CodebookError, match=r"analysis.exposures.*no variable 'age_bnd' in the "
                                            r"codebook \(did you mean 'age_band'\?\)"):
        Codebook.from_dict(spec)
    with pytest.raises(CodebookError, match=r"key 'analysis\.missing'"):
        Codebook.from_dict({**CODEBOOK, "analysis": {"missing": "drop them"}})

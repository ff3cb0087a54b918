"""The design's PSU numbering (models.robust.design_units) is coded once per design in a run."""

from __future__ import annotations

import numpy as np
import pytest
from tests.test_survey_design import design_survey

from analysis.design_based import survey_design
from analysis.models import logistic, robust


@pytest.fixture
def counted(monkeypatch):
    """Count the codings of a design (the cache is emptied first: no earlier test's designs)."""
    monkeypatch.setattr(robust, "_UNITS", [])
    calls = []
    real = robust._code_units

    def code(n, strata, psu):
        calls.append(n)
        return real(n, strata, psu)

    monkeypatch.setattr(robust, "_code_units", code)
    return calls


def test_units_by_hand(counted):
    strata = np.array(["b", "a", "b", "a", "b"], dtype=object)
    psu = np.array([7, 3, 5, 3, 7], dtype=object)
    units, unit_stratum = robust.design_units(5, strata, psu)
    # (stratum, PSU) sorted: (a, 3) -> 0, (b, 5) -> 1, (b, 7) -> 2
    assert units.tolist() == [2, 0, 1, 0, 2]
    assert unit_stratum.tolist() == [0, 1, 1]
    assert counted == [5]


def test_same_values_in_new_arrays_are_coded_once(counted):
    survey = design_survey()
    design = survey_design(survey)
    # a model on other rows, or on a survey read again, takes the columns afresh
    strata, psu = design.strata.copy(), design.psu.copy()
    units = robust.design_units(design.weight.size, design.strata, design.psu)
    again = robust.design_units(design.weight.size, strata, psu)
    assert again is units
    assert len(counted) == 1
    # the same numbers as a coding from scratch
    robust._UNITS.clear()
    recoded = robust.design_units(design.weight.size, strata.copy(), psu.copy())
    assert len(counted) == 2
    for kept, new in zip(units, recoded, strict=True):
        np.testing.assert_array_equal(kept, new)


def test_other_values_are_coded_again(counted):
    survey = design_survey()
    design = survey_design(survey)
    robust.design_units(design.weight.size, design.strata, design.psu)
    psu = design.psu.copy()
    psu[0] = -1.0  # one row in a PSU of its own: another design
    units, unit_stratum = robust.design_units(design.weight.size, design.strata, psu)
    assert len(counted) == 2
    assert units[0] == 0 and unit_stratum.size == 25
    strata = design.strata.copy()
    strata[5] = np.nan  # a label not equal to itself: the columns differ
    robust.design_units(design.weight.size, strata, design.psu)
    assert len(counted) == 3


def test_a_design_model_codes_its_design_once(counted):
    survey = design_survey()
    # the mutual model, then each exposure in a model of its own: three survey_design calls
    for exposures, adjust in ((["posture", "age"], []), (["posture"], ["age"]),
                              (["age"], [])):
        logistic(survey, "spasm", exposures, adjust, design=True)
    assert len(counted) == 1

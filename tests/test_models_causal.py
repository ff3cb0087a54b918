"""E-values, additive interaction and q-values against published and hand computations."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from fixtures import fixture, reference_data

from analysis.errors import ModelError
from analysis.load import load_survey
from analysis.models import logistic
from analysis.models.additive import additive_interaction, additive_measures
from analysis.models.evalue import e_value, e_values
from analysis.models.multiplicity import q_values, with_q_values

# ---- E-values (VanderWeele & Ding 2017) -----------------------------------------------


def test_e_values_of_the_papers_examples():
    # Breast-feeding and infant death from respiratory infection: RR 3.9 (1.8 to 8.7) has
    # E-values 7.26 and 3.00 (VanderWeele & Ding 2017, the worked example).
    out = e_value(3.9, 1.8, 8.7)
    assert out["e_value"] == pytest.approx(3.9 + math.sqrt(3.9 * 2.9))
    assert round(out["e_value"], 2) == 7.26
    assert out["e_value_ci"] == pytest.approx(3.0)
    # Protective: RR 0.80 (0.71 to 0.91) gives 1.81 and 1.43 (their leukaemia example).
    out = e_value(0.80, 0.71, 0.91)
    assert round(out["e_value"], 2) == 1.81
    assert round(out["e_value_ci"], 2) == 1.43
    # Smoking and lung cancer, RR 10.73 (8.02 to 14.36): 20.95 and 15.52.
    out = e_value(10.73, 8.02, 14.36)
    assert (round(out["e_value"], 2), round(out["e_value_ci"], 2)) == (20.95, 15.52)


def test_odds_ratio_of_a_common_outcome_uses_the_square_root():
    # EValue's documented example evalues.OR(0.86, 0.75, 0.99, rare = FALSE), by hand:
    # sqrt(0.86) = 0.92736, 1 / that = 1.07833, E = 1.07833 + sqrt(1.07833 * 0.07833).
    out = e_value(0.86, 0.75, 0.99, measure="OR", rare=False)
    rr = 1 / math.sqrt(0.86)
    assert out["rr"] == pytest.approx(math.sqrt(0.86))
    assert out["e_value"] == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert round(out["e_value"], 2) == 1.37
    high = 1 / math.sqrt(0.99)
    assert out["e_value_ci"] == pytest.approx(high + math.sqrt(high * (high - 1)))
    assert out["conversion"] == "sqrt"
    # Rare outcome: the OR is taken as a risk ratio.
    rare = e_value(3.9, 1.8, 8.7, measure="OR", rare=True)
    assert rare["e_value"] == pytest.approx(e_value(3.9)["e_value"])
    assert rare["conversion"] == "rare"


def test_an_interval_across_the_null_has_e_value_one():
    assert e_value(1.3, 0.9, 1.8)["e_value_ci"] == 1.0
    assert e_value(0.8, 0.6, 1.05)["e_value_ci"] == 1.0
    assert e_value(1.0)["e_value"] == 1.0


def test_e_values_of_a_tidy_table_leave_reference_rows_blank():
    table = pd.DataFrame({"term": ["x[No]", "x[Yes]"], "estimate": [1.0, 2.25],
                          "ci_low": [np.nan, 1.44], "ci_high": [np.nan, 3.5]})
    out = e_values(table, "OR", outcome_share=0.30)
    assert np.isnan(out.loc[0, "e_value"])
    assert out.loc[1, "e_value"] == pytest.approx(1.5 + math.sqrt(1.5 * 0.5))  # sqrt(2.25)
    assert out.loc[1, "e_value_ci"] == pytest.approx(1.2 + math.sqrt(1.2 * 0.2))  # sqrt(1.44)
    rare = e_values(table, "OR", outcome_share=0.05)
    assert rare.loc[1, "e_value"] == pytest.approx(2.25 + math.sqrt(2.25 * 1.25))
    with pytest.raises(ModelError, match="outcome_share"):
        e_values(table, "OR")
    with pytest.raises(ModelError, match="unknown measure"):
        e_value(2.0, measure="HRR")


# ---- Additive interaction (Hosmer & Lemeshow 1992) ------------------------------------
# Oral cancer by smoking (A) and alcohol (B): cases / controls in each cell.
HL = {"11": (225, 166), "10": (6, 12), "01": (8, 18), "00": (3, 20)}


def _hl_by_hand():
    """Log odds ratios of the saturated model and their covariance from the cell counts."""
    def log_or(cell):
        a, b = HL[cell]
        c, d = HL["00"]
        return math.log(a / b) - math.log(c / d)
    shared = 1 / HL["00"][0] + 1 / HL["00"][1]
    var = {cell: 1 / HL[cell][0] + 1 / HL[cell][1] + shared for cell in ("10", "01", "11")}
    # Woolf variances; two log ORs against the same reference cell share its variance.
    l10, l01, l11 = log_or("10"), log_or("01"), log_or("11")
    b = np.array([l10, l01, l11 - l10 - l01])
    v = np.array([[var["10"], shared, shared], [shared, var["01"], shared],
                  [shared, shared, var["11"]]])
    to_b = np.array([[1, 0, 0], [0, 1, 0], [-1, -1, 1]])  # (l10, l01, l11) -> (b1, b2, b3)
    return b, to_b @ v @ to_b.T


def test_reri_ap_s_of_hosmer_and_lemeshow_example():
    b, cov = _hl_by_hand()
    out = additive_measures(b, cov).set_index("measure")
    or10, or01, or11 = (6 / 12) / (3 / 20), (8 / 18) / (3 / 20), (225 / 166) / (3 / 20)
    assert out.loc["OR11", "estimate"] == pytest.approx(or11)
    # Published: RERI 3.74 (Hosmer & Lemeshow 1992, as quoted by Nie et al. 2010).
    assert round(out.loc["RERI", "estimate"], 2) == 3.74
    assert out.loc["AP", "estimate"] == pytest.approx((or11 - or10 - or01 + 1) / or11)
    assert round(out.loc["AP", "estimate"], 2) == 0.41
    assert round(out.loc["S", "estimate"], 2) == 1.87
    # Delta method written out against R's glm + vcov (tests/reference/R/additive.R).
    r = fixture("additive")["hosmer_lemeshow"]
    for i, name in enumerate(r["measure"]):
        for column in ("estimate", "ci_low", "ci_high"):
            assert out.loc[name, column] == pytest.approx(r[column][i], rel=1e-6, abs=1e-8)


CODEBOOK = {"name": "additive", "variables": {
    "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"},
    "posture": {"type": "ordinal", "label": "Posture", "role": "exposure",
                "levels": {1: "Good", 2: "Fair", 3: "Poor"}},
    "c1": {"type": "numeric", "label": "Confounder", "role": "confounder"},
    "spasm": {"type": "binary", "label": "Spasm", "role": "outcome"}}}


def test_additive_interaction_of_a_fitted_model_matches_r():
    survey = load_survey(reference_data("additive"), CODEBOOK)
    result = logistic(survey, interactions=[("lifting", "posture")])
    out = additive_interaction(result, "lifting", "posture")
    assert list(out["contrast"].unique()) == ["Yes × Fair", "Yes × Poor"]
    r = fixture("additive")
    for contrast, key in (("Yes × Fair", "simulated_fair"), ("Yes × Poor", "simulated_poor")):
        ours = out[out["contrast"] == contrast].set_index("measure")
        for i, name in enumerate(r[key]["measure"]):
            for column in ("estimate", "ci_low", "ci_high"):
                assert ours.loc[name, column] == pytest.approx(r[key][column][i], rel=1e-6)
    with pytest.raises(ModelError, match="no interaction"):
        additive_interaction(logistic(survey), "lifting", "posture")


# ---- Benjamini-Hochberg -----------------------------------------------------------------


def test_q_values_by_hand():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, np.nan])
    m = 8
    ranked = np.sort(p[:8])
    raw = ranked * m / np.arange(1, m + 1)
    expected = np.minimum.accumulate(raw[::-1])[::-1]  # q_(i) = min over j >= i
    got = q_values(p)
    assert np.allclose(got[:8], expected)  # p is already sorted
    assert np.isnan(got[8])
    assert got[0] == pytest.approx(0.008)
    assert got[2] == pytest.approx(0.042 * 8 / 5)


def test_q_column_only_when_many_tests():
    table = pd.DataFrame({"p_adjusted": [np.nan, 0.01, 0.04]})
    assert "q_adjusted" not in with_q_values(table).columns
    table = pd.DataFrame({"p_adjusted": [np.nan, 0.01, 0.04, 0.03]})
    assert with_q_values(table)["q_adjusted"].round(3).tolist()[1:] == [0.03, 0.04, 0.04]

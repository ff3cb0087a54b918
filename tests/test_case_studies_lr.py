"""``case_studies.lr_drop``: the model without a variable is refitted on the full model's rows.

Audit item 9: when the dropped variable has missing values, the smaller model
is complete for more rows; a likelihood-ratio statistic from two fits on
different rows compares likelihoods of different data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.discrete.conditional_models import ConditionalLogit

from analysis import case_studies as cs
from analysis.codebook import Codebook
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import conditional_logistic
from analysis.survey import Survey


def _pairs_with_holes(n_pairs: int = 300, seed: int = 4) -> Survey:
    """1:1 matched pairs; 'lifting' missing for ~15% of the respondents."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_pairs):
        lifting = rng.random(2) < 0.4
        driver = rng.random(2) < 0.5
        odds = np.exp(0.7 * lifting + 0.4 * driver)
        case = rng.choice(2, p=odds / odds.sum())
        for i in range(2):
            rows.append((f"P{s}", int(i == case), int(lifting[i]), int(driver[i])))
    frame = pd.DataFrame(rows, columns=["pair", "case", "lifting", "driver"])
    cb = Codebook.from_dict({"name": "pairs", "variables": {
        "pair": {"type": "text", "label": "Matched pair", "role": "stratum"},
        "case": {"type": "binary", "label": "Spasm case", "role": "outcome"},
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"},
        "driver": {"type": "binary", "label": "Drives to work", "role": "exposure"}}})
    data = pd.DataFrame({
        "pair": pd.array(frame.pair.to_numpy(), dtype="string"),
        "case": pd.Categorical.from_codes(frame.case, ["No", "Yes"]),
        "lifting": pd.Categorical.from_codes(frame.lifting, ["No", "Yes"]),
        "driver": pd.Categorical.from_codes(frame.driver, ["No", "Yes"]),
    }, index=pd.RangeIndex(2, len(frame) + 2, name="line"))
    holes = rng.random(len(data)) < 0.15
    data.loc[holes, "lifting"] = np.nan
    return Survey(data, cb, Ledger(n_read=len(data)), source="pairs.csv")


def _llf(frame: pd.DataFrame, columns: list[str]) -> float:
    X = np.column_stack([(frame[c] == "Yes").to_numpy(float) for c in columns])
    y = (frame["case"] == "Yes").to_numpy(float)
    fit = ConditionalLogit(y, X, groups=frame["pair"].to_numpy()).fit(method="newton", disp=0)
    return float(fit.llf)


def test_lr_drop_refits_on_the_full_models_rows():
    survey = _pairs_with_holes()
    data = survey.data
    assert data["lifting"].isna().sum() > 50
    full = conditional_logistic(survey, "case", ["lifting", "driver"], adjust_for=[])
    ledger = survey.ledger
    lr = cs.lr_drop(survey, full, "lifting").iloc[0]
    # By hand: the full model's rows are the pairs complete for both variables.
    complete = data.dropna(subset=["lifting", "driver"])
    both = complete.groupby("pair", observed=True)["case"].transform("size") == 2
    rows = complete[both.to_numpy()]
    assert lr["n"] == full.info["n"] == len(rows)
    assert lr["sets"] == full.info["n_sets"] == rows["pair"].nunique()
    expected = 2 * (_llf(rows, ["lifting", "driver"]) - _llf(rows, ["driver"]))
    assert lr["statistic"] == pytest.approx(expected, rel=1e-6)
    assert lr["df"] == 1
    assert lr["p_value"] == pytest.approx(stats.chi2.sf(expected, 1), rel=1e-6)
    # The former refit on every row complete for 'driver' alone used more pairs and gave a
    # different statistic: that is what this test guards against.
    all_pairs = data.dropna(subset=["driver"])
    wrong = 2 * (_llf(rows, ["lifting", "driver"]) - _llf(all_pairs, ["driver"]))
    assert len(all_pairs) > len(rows) and abs(wrong - expected) > 1.0
    # The refit records nothing more in the survey's ledger.
    pd.testing.assert_frame_equal(survey.ledger, ledger)


def test_lr_drop_errors():
    survey = _pairs_with_holes(60)
    full = conditional_logistic(survey, "case", ["lifting", "driver"], adjust_for=[])
    with pytest.raises(ModelError, match="'sex' is not in the model"):
        cs.lr_drop(survey, full, "sex")
    alone = conditional_logistic(survey, "case", ["lifting"], adjust_for=[])
    with pytest.raises(ModelError, match="no other variable"):
        cs.lr_drop(survey, alone, "lifting")

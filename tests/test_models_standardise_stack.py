"""Prevalence ratios of a causal diagram's plan: each exposure standardised on its own model.

A diagram gives each exposure its own adjustment set, hence its own model and
complete cases; ``stack_standardised`` puts their standardised rows
together. Each exposure's rows must equal standardising that exposure's own
model alone (fitted here directly with ``logistic`` and its set), and each
row must name the model it comes from.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis.codebook import Codebook
from analysis.ledger import Ledger
from analysis.models import logistic
from analysis.models.standardise import stack_standardised, standardise
from analysis.plan import fit_plan, plan
from analysis.survey import Survey


def _survey() -> Survey:
    """Workload causes lifting and spasm; posture causes spasm only; a few workloads missing."""
    rng = np.random.default_rng(11)
    n = 2_500
    c1 = rng.normal(0, 1, n)
    lifting = (rng.random(n) < expit(-0.4 + 0.8 * c1)).astype(int)
    posture = rng.integers(0, 3, n)
    spasm = (rng.random(n) < expit(-1.2 + 0.6 * lifting + 0.35 * posture + 0.5 * c1)).astype(int)
    c1[rng.random(n) < 0.08] = np.nan  # lifting's model loses these rows, posture's does not
    data = pd.DataFrame({
        "lifting": pd.Categorical.from_codes(lifting, ["No", "Yes"]),
        "posture": pd.Categorical.from_codes(posture, ["Good", "Fair", "Poor"], ordered=True),
        "c1": c1,
        "spasm": pd.Categorical.from_codes(spasm, ["No", "Yes"]),
    }, index=pd.RangeIndex(2, n + 2, name="line"))
    codebook = Codebook.from_dict({"name": "stack", "variables": {
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure",
                    "levels": {0: "No", 1: "Yes"}},
        "posture": {"type": "ordinal", "label": "Posture", "role": "exposure",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}},
        "c1": {"type": "numeric", "label": "Workload", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Spasm", "role": "outcome",
                  "levels": {0: "No", 1: "Yes"}}},
        "analysis": {"causes": {"lifting": ["c1"], "spasm": ["lifting", "posture", "c1"]}}})
    return Survey(data, codebook, Ledger(n_read=n), source="simulated")


@pytest.fixture(scope="module")
def fitted():
    survey = _survey()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        the_plan = plan(survey)
        fits = fit_plan(survey, the_plan)
    return survey, the_plan, fits[0]


def test_the_plan_gives_each_exposure_its_own_set(fitted):
    _, the_plan, planned = fitted
    assert the_plan.models[0].adjustment_sets == {"lifting": ["c1"], "posture": []}
    assert planned.effects is not None


@pytest.mark.parametrize(("exposure", "adjust_for"), [("lifting", ["c1"]), ("posture", [])])
def test_each_exposure_equals_its_own_model_standardised_alone(fitted, exposure, adjust_for):
    survey, _, planned = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = standardise(logistic(survey, "spasm", [exposure], adjust_for), survey)
    stacked = planned.effects
    for frame, own in ((stacked.table, alone.table), (stacked.difference, alone.difference)):
        rows = frame[frame["variable"] == exposure].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, own.reset_index(drop=True), check_exact=False,
                                      rtol=1e-10, atol=1e-12)
    # each exposure's own complete cases: lifting loses the rows without a workload
    n = stacked.table.loc[stacked.table["variable"] == exposure, "n"].sum()
    assert n == (survey.data["c1"].notna().sum() if adjust_for else len(survey.data))


def test_each_row_names_its_exposures_model(fitted):
    _, _, planned = fitted
    risks = planned.effects.risks
    adjusted = risks[risks["model"].str.startswith("adjusted")]
    assert set(adjusted.groupby("variable")["model"].unique().map(tuple)) == {
        ("adjusted: lifting",), ("adjusted: posture",)}
    assert (adjusted["model"] == "adjusted: " + adjusted["variable"]).all()
    # crude rows: each exposure's crude model is its own already (labelled "crude")
    assert set(risks["model"]) == {"crude", "adjusted: lifting", "adjusted: posture"}
    models = planned.effects.models
    assert {"adjusted: lifting", "adjusted: posture"} <= set(models)
    # the two adjusted models are the exposures' own fits, not one model twice
    assert models["adjusted: lifting"].design.names == ["Intercept", "lifting[Yes]", "c1"]
    assert models["adjusted: posture"].design.names == ["Intercept", "posture[Fair]",
                                                        "posture[Poor]"]


def test_stacking_nothing_is_an_error():
    from analysis.errors import ModelError

    with pytest.raises(ModelError, match="at least one standardised result"):
        stack_standardised([])

"""Conditional logistic regression against R (survival::clogit), robust SEs included.

Fixture: tests/reference/fixtures/conditional.json, written by
tests/reference/R/conditional.R from its simulated matched case-control study
tests/reference/data/conditional.csv (200 sets, 1:2 and 1:3, rows in shuffled order).

Robust variance: R's clogit(... + cluster(g)) is coxph's sandwich, I^-1 (sum_g U_g U_g')
I^-1 with U_g the score residuals summed within g, *no* small-sample factor; ours is
the same (cov_type "robust" = cluster(set), "cluster" = cluster(column)).

Tolerances:
* estimates and SEs, model-based and robust: 1e-6 relative (coxph iterates to
  eps = 1e-11 in the log-likelihood; ours is BFGS then Newton to ~1e-10 in the score,
  so the estimates agree to ~1e-8).
* log-likelihood and LR statistic: 1e-9 relative (error ~ the square of the estimates').
* shuffled rows: 1e-12 relative, i.e. the same numbers up to rounding of the sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data

from analysis.models import conditional_logistic
from analysis.validate import validate_survey

CODEBOOK = {"name": "conditional_reference", "variables": {
    "id": {"type": "id", "label": "Respondent"},
    "set": {"type": "text", "label": "Matched set", "role": "stratum"},
    "case": {"type": "binary", "label": "Spasm case", "levels": {0: "Control", 1: "Case"},
             "role": "outcome"},
    "posture": {"type": "ordinal", "label": "Self-rated posture",
                "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure"},
    "sitting": {"type": "numeric", "label": "Sitting", "unit": "hours/day",
                "role": "confounder"},
    "clinic": {"type": "count", "label": "Clinic", "role": "cluster"},
    "interviewer": {"type": "count", "label": "Interviewer"},
}}
TERMS = {"postureFair": "posture[Fair]", "posturePoor": "posture[Poor]", "sitting": "sitting"}
REL = 1e-6


@pytest.fixture(scope="module")
def ref() -> dict:
    return fixture("conditional")


def survey(shuffle: int | None = None):
    frame = reference_data("conditional")
    if shuffle is not None:
        frame = frame.sample(frac=1.0, random_state=shuffle)
    return validate_survey(frame, CODEBOOK)


def fit(shuffle: int | None = None, **kwargs):
    return conditional_logistic(survey(shuffle), "case", ["posture"], adjust_for=["sitting"],
                                **kwargs)


def _check(result, expected: dict, model: str = "adjusted") -> None:
    ours = result.coefficients(model).set_index("term")
    assert len(ours) == len(np.atleast_1d(expected["term"]))
    for term, b, se in zip(np.atleast_1d(expected["term"]), np.atleast_1d(expected["estimate"]),
                           np.atleast_1d(expected["se"]), strict=True):
        assert ours.loc[TERMS[term], "estimate"] == pytest.approx(b, rel=REL), term
        assert ours.loc[TERMS[term], "se"] == pytest.approx(se, rel=REL), term


@pytest.mark.parametrize("model, key", [("adjusted", "adjusted"),
                                        ("crude: posture", "crude_posture")])
def test_clogit_estimates_loglik_and_lr_test(ref, model, key):
    expected = ref[key]
    result = fit()
    _check(result, expected, model)
    row = result.fit_statistics.set_index("model").loc[model]
    assert row["family"] == "conditional" and row["cov_type"] == "model"
    assert row["llf"] == pytest.approx(expected["loglik"], rel=1e-9)
    assert row["aic"] == pytest.approx(expected["aic"], rel=1e-9)
    assert row["events"] == expected["nevent"]
    test = result.tests.set_index("model").loc["adjusted" if model == "adjusted" else "crude"]
    test = test.iloc[0] if isinstance(test, pd.DataFrame) else test
    assert test["statistic"] == pytest.approx(expected["lr_statistic"], rel=1e-9)
    assert test["df"] == expected["lr_df"]
    assert test["p_value"] == pytest.approx(expected["lr_p_value"], rel=1e-7)


def test_crude_numeric_model(ref):
    # Both exposures, nothing adjusted for: the crude models use the rows complete in both,
    # as R's (fitted on the complete cases).
    result = conditional_logistic(survey(), "case", ["posture", "sitting"], adjust_for=[])
    _check(result, ref["crude_sitting"], "crude: sitting")
    _check(result, ref["crude_posture"], "crude: posture")


def test_rows_and_sets_used(ref):
    result = fit()
    # clogit keeps the set whose case has a missing value (it adds nothing to the
    # likelihood); we leave its controls out and say so.
    assert result.info["n_sets"] == ref["n_sets_informative"] == 199
    lost = ref["n_complete"] - result.info["n"]
    assert lost in (2, 3)  # the controls of a 1:2 or 1:3 set
    notices = [n.message for n in result.notices if n.kind == "dropped rows"]
    assert notices[0].startswith(f"{ref['n_rows'] - ref['n_complete']} of {ref['n_rows']}")
    assert notices[1].startswith(f"{lost} more rows left out")
    assert result.fit_statistics["n"].iloc[0] == result.info["n"]


@pytest.mark.parametrize("shuffle", [None, 1, 7])
@pytest.mark.parametrize("cov_type, cluster, key", [
    ("robust", None, "robust_set"),
    ("cluster", "clinic", "robust_clinic"),
    ("cluster", "interviewer", "robust_interviewer"),  # varies within matched sets
])
def test_robust_and_cluster_se_match_clogit_in_any_row_order(ref, shuffle, cov_type, cluster,
                                                             key):
    # Issue 14, item 5: the cluster-robust SEs depended on the row order.
    expected = ref[key]
    result = fit(shuffle, cov_type=cov_type, cluster=cluster)
    _check(result, expected)
    ours = result.models["adjusted"].cov
    assert ours == pytest.approx(np.array(expected["vcov"]), rel=REL)
    assert result.fit_statistics["cov_type"].iloc[0] == ("HC0" if cov_type == "robust"
                                                         else "cluster")


def test_shuffled_rows_give_the_same_numbers():
    base = fit(cov_type="cluster", cluster="interviewer").coefficients()
    for seed in (3, 11):
        other = fit(seed, cov_type="cluster", cluster="interviewer").coefficients()
        pd.testing.assert_frame_equal(base, other, rtol=1e-12, atol=0)

"""Firth's penalised logistic regression against R (``tests/reference/R/firth.R``).

The fixture ``firth`` simulates 600 respondents with a 3-level ordinal
exposure (posture), a 4-level exposure whose last level has no events
(quasi-complete separation: infinite by maximum likelihood, finite under
Firth), a binary and a numeric confounder; R maximises the penalised
log-likelihood ``l(b) + 0.5 log|X'WX|`` itself (logistf is not in Debian),
with the full-model estimates checked there against
``brglm2::brglmFit(type = "AS_mean")`` and every constrained maximum against
``optim``. ``firth_null`` is a data set with an exposure unrelated to a rare
outcome.

Tolerances (relative unless said):
* estimates and SEs 1e-6: both sides stop on steps below 1e-10 (ours) or
  1e-12 (R) with the score at ~0 (they agree to ~1e-13 here); 1e-6 leaves
  room for the separated level, whose estimate sits on a flat penalised
  likelihood, on other BLAS builds;
* penalised log-likelihood 1e-9 (sums of 600 terms at equal estimates);
* penalised LR statistics 1e-5: differences of two maximised penalised
  log-likelihoods (about -250 each), so an error of 1e-9 in each is ~1e-6 of
  a statistic near 1; p-values follow the statistics;
* profile CI limits 1e-4 (relative, on the log scale; absolute 1e-6 near 0):
  each limit is the root of a function evaluated through a nested
  constrained maximisation, so it is only as accurate as the inner fit's
  tolerance divided by the profile's slope there, which is small where the
  profile is flat (the separated level: lower limit near -8.5). Both sides
  find the roots to ~1e-10 and agree to ~4e-11 here; 1e-4 is the precision
  logistf itself works to (its profile tolerance xconv = 1e-4), so the test
  also holds for an R reference computed by logistf's Venzon-Moolgavkar
  iteration rather than by uniroot.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fixtures import fixture, reference_data

from analysis.errors import BackpainWarning
from analysis.load import load_survey
from analysis.models import logistic
from analysis.models.firth import fit_profile_interval, penalised_fit

CODEBOOK = {
    "name": "reference_firth",
    "variables": {
        "id": {"type": "id", "label": "Respondent", "role": "id"},
        "posture": {"type": "ordinal", "label": "Self-rated posture", "role": "exposure",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}},
        "sport": {"type": "categorical", "label": "Main sport", "role": "exposure",
                  "levels": {1: "None", 2: "Golf", 3: "Weightlifting", 4: "Basketball"}},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "role": "confounder"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "levels": {0: "No", 1: "Yes"},
                  "role": "outcome"},
    },
}
NULL_CODEBOOK = {
    "name": "reference_firth_null",
    "variables": {
        "id": {"type": "id", "label": "Respondent", "role": "id"},
        "exposure": {"type": "categorical", "label": "Exposure", "role": "exposure",
                     "levels": {1: "A", 2: "B", 3: "C", 4: "D"}},
        "sex": {"type": "categorical", "label": "Sex", "levels": {1: "Female", 2: "Male"},
                "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "levels": {0: "No", 1: "Yes"},
                  "role": "outcome"},
    },
}
R = fixture("firth")
CI_RTOL, CI_ATOL = 1e-4, 1e-6


def fit(method: str):
    survey = load_survey(reference_data("firth"), CODEBOOK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackpainWarning)  # the separated level is announced
        return logistic(survey, "spasm", ["posture", "sport"], ["sex", "age"], firth=True,
                        method=method)


@pytest.fixture(scope="module", params=["rows", "patterns"])
def result(request):
    return fit(request.param)


def by_term(block: dict, key: str) -> dict:
    return dict(zip(np.atleast_1d(block["term"]), np.atleast_1d(block[key]), strict=True))


@pytest.mark.parametrize("model, ref", [("adjusted", "adjusted"), ("crude: posture",
                                                                    "crude_posture"),
                                        ("crude: sport", "crude_sport")])
def test_estimates_ses_and_penalised_loglik(result, model, ref):
    r = R[ref]
    ours = result.models[model]
    assert list(ours.design.names) == r["coefficients"]["term"]
    np.testing.assert_allclose(ours.params, r["coefficients"]["estimate"], rtol=1e-6)
    np.testing.assert_allclose(ours.params, r["brglm2_estimate"], rtol=1e-6)
    np.testing.assert_allclose(ours.bse, r["coefficients"]["se"], rtol=1e-6)
    # item 11: the same SEs on the fit object, in .coefficients() and on the raw result
    coefs = result.coefficients(model)
    np.testing.assert_allclose(coefs["se"], r["coefficients"]["se"], rtol=1e-6)
    np.testing.assert_allclose(result.fits[model].bse, r["coefficients"]["se"], rtol=1e-6)
    stats = result.fit_statistics.set_index("model").loc[model]
    np.testing.assert_allclose(stats["llf"], r["pl"], rtol=1e-9)
    assert bool(stats["converged"])


@pytest.mark.parametrize("model, ref, prefix", [("adjusted", "adjusted", "adjusted"),
                                                ("crude", "crude_posture", "crude"),
                                                ("crude", "crude_sport", "crude")])
def test_table_has_profile_intervals_and_penalised_lr_p_values(result, model, ref, prefix):
    r = R[ref]
    lower, upper = by_term(r["profile_ci"], "lower"), by_term(r["profile_ci"], "upper")
    p = by_term(r["single"], "p_value")
    tidy = result.tidy(model).set_index("term")
    wanted = [t for t in r["profile_ci"]["term"] if t.split("[")[0] in ("posture", "sport")]
    if model == "adjusted":
        wanted = [t for t in r["profile_ci"]["term"]]
    for term in wanted:
        row = tidy.loc[term]
        np.testing.assert_allclose(np.log([row["ci_low"], row["ci_high"]]),
                                   [lower[term], upper[term]], rtol=CI_RTOL, atol=CI_ATOL)
        np.testing.assert_allclose(row["p_value"], p[term], rtol=1e-5)
    # the side-by-side table shows the same intervals
    table = result.table.set_index("level")
    sport = [t for t in wanted if t.startswith("sport[")]
    for term in sport:
        level = term[len("sport["):-1]
        np.testing.assert_allclose(np.log(table.loc[level, f"ci_low_{prefix}"]), lower[term],
                                   rtol=CI_RTOL, atol=CI_ATOL)
    assert result.info["ci"] == "profile penalised-likelihood 95%"


def test_penalised_lr_tests_of_terms_and_trend(result):
    tests = result.tests.set_index(["variable", "test", "model"])
    expected = {("posture", "likelihood ratio", "adjusted"): R["adjusted"]["terms"]["posture"],
                ("sport", "likelihood ratio", "adjusted"): R["adjusted"]["terms"]["sport"],
                ("posture", "likelihood ratio", "crude"): R["crude_posture"]["terms"]["posture"],
                ("sport", "likelihood ratio", "crude"): R["crude_sport"]["terms"]["sport"]}
    for key, ref in expected.items():
        row = tests.loc[key]
        np.testing.assert_allclose(row["statistic"], ref["statistic"], rtol=1e-5)
        assert row["df"] == ref["df"]
        np.testing.assert_allclose(row["p_value"], ref["p_value"], rtol=1e-5)
    for model, ref in (("adjusted", R["trend_adjusted"]), ("crude", R["trend_crude"])):
        row = tests.loc[("posture", "trend", model)]
        stat = by_term(ref["single"], "statistic")["posture[trend]"]
        np.testing.assert_allclose(row["statistic"], stat, rtol=1e-5)
        estimate = by_term(ref["coefficients"], "estimate")["posture[trend]"]
        np.testing.assert_allclose(np.log(row["estimate"]), estimate, rtol=1e-6)
        np.testing.assert_allclose(
            np.log([row["ci_low"], row["ci_high"]]),
            [by_term(ref["profile_ci"], "lower")["posture[trend]"],
             by_term(ref["profile_ci"], "upper")["posture[trend]"]], rtol=CI_RTOL, atol=CI_ATOL)


def test_profile_interval_of_a_contrast(result):
    fit_ = result.models["adjusted"]
    names = list(fit_.design.names)
    c = np.zeros(len(names))
    c[names.index("posture[Poor]")], c[names.index("posture[Fair]")] = 1.0, -1.0
    ref = R["contrast_poor_vs_fair"]
    np.testing.assert_allclose(c @ fit_.params, ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(fit_profile_interval(fit_, c), ref["profile_ci"], rtol=CI_RTOL,
                               atol=CI_ATOL)


def test_null_data_set_penalised_lr_test():
    survey = load_survey(reference_data("firth_null"), NULL_CODEBOOK)
    r = R["null"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BackpainWarning)  # level D: 2 events, announced
        result = logistic(survey, "spasm", ["exposure"], ["sex"], firth=True)
    ours = result.models["adjusted"]
    np.testing.assert_allclose(ours.params, r["coefficients"]["estimate"], rtol=1e-6)
    np.testing.assert_allclose(ours.llf, r["pl"], rtol=1e-9)
    row = result.tests.set_index(["variable", "test", "model"]).loc[
        ("exposure", "likelihood ratio", "adjusted")]
    np.testing.assert_allclose(row["statistic"], r["exposure"]["statistic"], rtol=1e-5)
    # the statistic of the reduced design refitted with its own penalty (the old test) is
    # far larger: that test rejected nearly always under the null
    assert r["own_penalty_statistic"] > row["statistic"] + 3
    assert 0.02 <= r["rejection_rate_plr"] <= 0.08


def test_converged_firth_fit_warns_no_non_convergence():
    survey = load_survey(reference_data("firth"), CODEBOOK)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = logistic(survey, "spasm", ["posture", "sport"], ["sex", "age"], firth=True,
                          method="rows")
        tests = result.tests  # the trend refits are Firth fits too
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "converge" in m], messages
    assert any("quasi-complete separation" in m for m in messages)  # the warning that is due
    assert not [n for n in result.notices if n.kind == "non-convergence"]
    assert result.fit_statistics["converged"].all() and len(tests) == 6
    raw = result.fits["adjusted"]
    assert raw.converged and raw.max_gradient < 1e-9 and raw.last_step < 1e-10


def test_penalised_fit_with_fixed_coefficients_keeps_them():
    X = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1], [1, 2, 3, 4, 1, 2, 3, 4]])
    events = np.array([0, 0, 1, 0, 1, 1, 0, 1.0])
    free = penalised_fit(X, events, np.ones(8))
    held = penalised_fit(X, events, np.ones(8), fixed={1: 0.0})
    assert held.params[1] == 0.0 and held.converged and free.converged
    assert held.llf < free.llf
    with pytest.raises(np.linalg.LinAlgError):
        penalised_fit(X[:, [0, 1, 1]], events, np.ones(8))

"""Proportional odds, Brant's test and multinomial logit against R (tests/reference/R/ordinal.R).

R oracles: ``MASS::polr(Hess = TRUE)`` and ``ordinal::clm`` (slopes, cut-points, SEs, logLik,
AIC), ``sandwich::sandwich(clm)`` (HC0), Brant's (1990) test computed by hand from ``glm``
binary logits, and ``nnet::multinom(Hess = TRUE)``. Also audit items 10 (Brant not estimable
on sparse data: the fit is still returned, with a notice) and 12 (multinomial non-convergence
is a notice and a warning).

Tolerances (relative unless said):

* ML estimates and cut-points 1e-6: clm converges to a gradient of 1e-12, our BFGS to 1e-8
  (measured 3e-8); multinom (BFGS, reltol 1e-14) 1e-5 (measured 1.3e-7).
* SEs against clm 1e-5: clm's Hessian is analytic, statsmodels' numerical (measured 2e-7).
  Against polr 1e-3: polr's Hessian is optim's finite difference of its gradient (it differs
  from clm's by 1.3e-4). multinom's SEs (its Hessian is exact) 1e-5 (measured 1.5e-8).
* HC0 SEs 1e-5: both sandwiches use the same bread and per-row scores (measured below 1e-6).
* Log-likelihood and AIC 1e-6 absolute: both sides reach the same maximum to ~1e-12.
* Brant statistics and p-values 1e-6: the binary logits converge to 1e-14 on both sides.
* Sparse data: estimates 1e-5 (a flatter likelihood; measured 3e-7), SEs 1e-3 (polr's
  numerical Hessian, measured 9e-5).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data

from analysis.codebook import Codebook
from analysis.errors import BackpainWarning
from analysis.ledger import Ledger
from analysis.models import multinomial, ordinal
from analysis.survey import Survey

R = fixture("ordinal")
CODEBOOK = {"name": "reference", "variables": {
    "group": {"type": "categorical", "label": "Group",
              "levels": {1: "Low", 2: "Middle", 3: "High"}, "reference": 1, "role": "exposure"},
    "smoker": {"type": "binary", "label": "Smoker", "role": "exposure"},
    "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
    "pain": {"type": "ordinal", "label": "Pain band",
             "levels": {1: "Absent", 2: "Mild", 3: "Moderate", 4: "Severe"}},
    "site": {"type": "categorical", "label": "Pain site",
             "levels": {1: "Neck", 2: "Lower back", 3: "Upper back"}, "reference": 1},
}}
# R's coefficient names -> ours.
TERMS = {"groupMiddle": "group[Middle]", "groupHigh": "group[High]",
         "smokerYes": "smoker[Yes]", "age": "age", "(Intercept)": "Intercept"}


def make_survey(frame: pd.DataFrame, name: str) -> Survey:
    cols = list(frame.columns)
    cb = Codebook.from_dict({**CODEBOOK, "variables": {k: v for k, v in
                                                        CODEBOOK["variables"].items()
                                                        if k in cols}})
    data = {}
    for c in cols:
        var = cb[c]
        if var.type == "numeric":
            data[c] = frame[c].to_numpy(float)
        else:
            data[c] = pd.Categorical(frame[c], categories=list(var.level_labels.values()),
                                     ordered=var.type == "ordinal")
    data = pd.DataFrame(data, index=pd.RangeIndex(2, len(frame) + 2, name="line"))
    return Survey(data, cb, Ledger(n_read=len(frame)), source=f"{name}.csv")


@pytest.fixture(scope="module")
def survey() -> Survey:
    return make_survey(reference_data("ordinal"), "ordinal")


@pytest.fixture(scope="module")
def po(survey):
    return ordinal(survey, "pain", ["group", "smoker"], ["age"])


def _po_reference(part: dict, cuts: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    terms = [TERMS[t] for t in part["beta"]["term"]] + part[cuts]["term"]
    return (terms, np.r_[part["beta"]["estimate"], part[cuts]["estimate"]],
            np.r_[part["beta"]["se"], part[cuts]["se"]])


def test_proportional_odds_slopes_and_cut_points_match_clm_and_polr(po):
    coefs = po.coefficients("adjusted")
    terms, estimate, se = _po_reference(R["clm"], "theta")
    # Slopes first, then the cut-points zeta_j named as polr names them.
    assert coefs.term.tolist() == terms
    assert coefs.estimate.to_numpy() == pytest.approx(estimate, rel=1e-6)
    assert coefs.se.to_numpy() == pytest.approx(se, rel=1e-5)
    terms, estimate, se = _po_reference(R["polr"], "zeta")
    assert coefs.term.tolist() == terms
    assert coefs.estimate.to_numpy() == pytest.approx(estimate, rel=1e-6)
    assert coefs.se.to_numpy() == pytest.approx(se, rel=1e-3)
    assert po.info["thresholds"] == pytest.approx(R["polr"]["zeta"]["estimate"], rel=1e-6)


def test_proportional_odds_fit_statistics_match_r(po):
    stats = po.fit_statistics.set_index("model")
    row = stats.loc["adjusted"]
    assert row.family == "ordinal" and row.cov_type == "model" and row.converged
    assert row.n == R["polr"]["nobs"] == 1500
    assert row.parameters == R["polr"]["df"] == R["clm"]["df"] == 7
    assert row.llf == pytest.approx(R["polr"]["loglik"], abs=1e-6)
    assert row.llf == pytest.approx(R["clm"]["loglik"], abs=1e-6)
    assert row.aic == pytest.approx(R["polr"]["aic"], abs=1e-6)
    assert row.deviance == pytest.approx(-2 * R["clm"]["loglik"], abs=1e-6)
    for crude in R["clm"]["crude"]:
        name = f"crude: {crude['variable']}"
        if name not in stats.index:  # age is an adjustment variable: no crude model
            continue
        assert stats.loc[name, "llf"] == pytest.approx(crude["loglik"], abs=1e-6)
        assert stats.loc[name, "aic"] == pytest.approx(crude["aic"], abs=1e-6)
        coefs = po.coefficients(name)
        # coef(clm) lists the cut-points first; ours come after the slopes.
        ref = dict(zip([TERMS.get(t, t) for t in crude["coefficients"]["term"]],
                       zip(crude["coefficients"]["estimate"], crude["coefficients"]["se"],
                           strict=True), strict=True))
        assert sorted(coefs.term) == sorted(ref)
        for term, est, se in coefs[["term", "estimate", "se"]].itertuples(index=False):
            assert est == pytest.approx(ref[term][0], rel=1e-6)
            assert se == pytest.approx(ref[term][1], rel=1e-5)
    assert not po.notices


def test_odds_ratios_are_for_a_higher_category(po):
    """OR = exp(b) with logit P(Y <= j) = zeta_j - x'b: OR > 1 means higher pain bands."""
    tidy = po.tidy().set_index("term")
    ref = dict(zip(R["polr"]["beta"]["term"], R["polr"]["beta"]["estimate"], strict=True))
    for r_term, ours in TERMS.items():
        if r_term in ref:
            assert tidy.loc[ours, "estimate"] == pytest.approx(np.exp(ref[r_term]), rel=1e-6)
    assert tidy.loc["smoker[Yes]", "estimate"] > 1  # simulated with +0.6
    assert po.info["or_direction"] == "odds of a higher category"
    # Each cut's binary logit of Y > j (R's glm fits, adjusted) estimates the same log OR
    # under proportional odds: ours lies within 2 SE of every one of them, with the sign
    # of P(Y > j), not of P(Y <= j).
    b = po.coefficients("adjusted").set_index("term")
    for logit in R["brant"]["binary_logits"]:
        est = dict(zip(logit["term"], zip(logit["estimate"], logit["se"], strict=True),
                       strict=True))
        for r_term in ("groupHigh", "smokerYes"):
            value, se = est[r_term]
            assert abs(b.loc[TERMS[r_term], "estimate"] - value) < 2 * se


def test_robust_covariance_of_slopes_and_cut_points_matches_sandwich_clm(survey):
    robust = ordinal(survey, "pain", ["group", "smoker"], ["age"], cov_type="robust")
    coefs = robust.coefficients("adjusted")
    _, estimate, se = _po_reference(R["clm"]["hc0"], "theta")
    assert coefs.estimate.to_numpy() == pytest.approx(estimate, rel=1e-6)
    # The cut-points' SEs go through the delta method from statsmodels' increments.
    assert coefs.se.to_numpy() == pytest.approx(se, rel=1e-5)
    assert robust.fit_statistics.cov_type.tolist() == ["HC0"] * 3


def test_brant_test_matches_r_by_hand(po):
    tests = po.tests.set_index("variable")
    assert tests.test.unique().tolist() == ["Brant (proportional odds)"]
    for variable in ("overall", "group", "smoker", "age"):
        ref = R["brant"][variable]
        assert tests.loc[variable, "df"] == ref["df"]
        assert tests.loc[variable, "statistic"] == pytest.approx(ref["statistic"], rel=1e-6)
        assert tests.loc[variable, "p_value"] == pytest.approx(ref["p_value"], rel=1e-6)
    assert R["brant"]["overall"]["df"] == (4 - 2) * 4


def test_multinomial_matches_multinom(survey):
    result = multinomial(survey, "site", ["group", "smoker"], ["age"])
    assert result.info["outcome_reference"] == R["multinom"]["reference"] == "Neck"
    coefs = result.coefficients("adjusted").set_index("term")
    for block in R["multinom"]["levels"]:
        for term, est, se in zip(block["term"], block["estimate"], block["se"], strict=True):
            name = f"{block['level']}: {TERMS[term]}"
            assert coefs.loc[name, "estimate"] == pytest.approx(est, rel=1e-5, abs=1e-7)
            assert coefs.loc[name, "se"] == pytest.approx(se, rel=1e-5)
        tidy = result.tidy().query("outcome_level == @block['level']").set_index("term")
        smoker = block["estimate"][block["term"].index("smokerYes")]
        assert tidy.loc["smoker[Yes]", "estimate"] == pytest.approx(np.exp(smoker), rel=1e-5)
    row = result.fit_statistics.set_index("model").loc["adjusted"]
    assert row.family == "multinomial" and row.cov_type == "model"
    assert row.parameters == R["multinom"]["df"] == 10
    assert row.llf == pytest.approx(R["multinom"]["loglik"], abs=1e-6)
    assert row.aic == pytest.approx(R["multinom"]["aic"], abs=1e-6)
    assert row.deviance == pytest.approx(R["multinom"]["deviance"], abs=1e-6)
    # A converged fit has no non-convergence notice.
    assert R["multinom"]["converged"] and row.converged
    assert not [n for n in result.notices if n.kind == "non-convergence"]


# The diverging coefficient's Wald interval overflows exp() in the tidy rows (an infinite
# upper limit is the honest value there).
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_multinomial_non_convergence_is_a_notice_and_a_warning():
    # Nobody in group "High" has upper-back pain: quasi-complete separation, the MLE of
    # that coefficient is -infinity, and Newton-Raphson runs out of iterations.
    frame = reference_data("ordinal")
    frame.loc[(frame.group == "High") & (frame.site == "Upper back"), "site"] = "Lower back"
    separated = make_survey(frame[["group", "smoker", "age", "site"]], "separated")
    with pytest.warns(BackpainWarning, match="did not converge"):
        result = multinomial(separated, "site", ["group", "smoker"], ["age"])
    notices = [n for n in result.notices if n.kind == "non-convergence"]
    assert {n.model for n in notices} == {"adjusted", "crude: group"}
    assert "separation" in notices[0].message
    stats = result.fit_statistics.set_index("model")
    assert not stats.loc["adjusted", "converged"]
    assert stats.loc["crude: smoker", "converged"]
    coefs = result.coefficients("adjusted").set_index("term")
    assert coefs.loc["Upper back: group[High]", "estimate"] < -10
    assert "non-convergence [adjusted]" in result.summary()


def test_brant_not_estimable_on_sparse_data_still_returns_the_fit():
    # Nobody in group "High" has the lowest band: the first cut's binary logit is separated
    # (R's glm: coefficient 17), Brant's covariance singular (the audit's raw LinAlgError).
    sparse = make_survey(reference_data("ordinal_sparse"), "ordinal_sparse")
    ref = R["sparse"]
    assert ref["lowest_band_by_group"]["High"] == 0 and ref["first_cut_glm_high"] > 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", BackpainWarning)  # the PO fit itself is fine
        result = ordinal(sparse, "pain", ["group"], ["age"])
    coefs = result.coefficients("adjusted")
    terms, estimate, se = _po_reference(ref, "zeta")
    assert coefs.term.tolist() == terms
    assert coefs.estimate.to_numpy() == pytest.approx(estimate, rel=1e-5)
    assert coefs.se.to_numpy() == pytest.approx(se, rel=1e-3)
    assert result.fit_statistics.llf[0] == pytest.approx(ref["loglik"], abs=1e-6)
    assert result.fit_statistics.aic[0] == pytest.approx(ref["aic"], abs=1e-6)
    tests = result.tests.set_index("variable")
    assert tests.test.unique().tolist() == ["Brant (proportional odds): not estimable"]
    assert tests.statistic.isna().all() and tests.p_value.isna().all()
    assert tests.df.tolist() == [6, 4, 2]
    [notice] = result.notices
    assert notice.kind == "not estimable" and notice.model == "adjusted"
    assert "'Mild' or above" in notice.message and "separation" in notice.message


def test_brant_with_a_diverging_binary_logit_is_not_reported_as_a_p_value():
    # Nobody in group "High" has the top band: the last cut's logit diverges to -infinity
    # without a singular matrix; before the fix Brant's test reported a p-value from it.
    frame = reference_data("ordinal_sparse")
    frame.loc[frame.group == "High", "pain"] = ["Absent", "Absent", "Mild", "Mild",
                                                "Moderate", "Moderate"]
    result = ordinal(make_survey(frame, "sparse_top"), "pain", ["group"], ["age"])
    assert result.tests.p_value.isna().all()
    [notice] = result.notices
    assert notice.kind == "not estimable" and "'Severe' or above" in notice.message
    assert result.fit_statistics.converged[0]


# The diverging coefficient's Wald interval overflows exp() in the tidy rows.
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_separated_proportional_odds_fit_is_a_notice_not_a_crash():
    # Everyone in group "High" has the top band: the group's log OR runs off to infinity.
    # BFGS stops (and says it converged) where the likelihood is flat; statsmodels cannot
    # invert the crude model's Hessian. Both become notices, not a crash or a silent number.
    frame = reference_data("ordinal_sparse")
    frame.loc[frame.group == "High", "pain"] = "Severe"
    with pytest.warns(BackpainWarning) as caught:
        result = ordinal(make_survey(frame, "separated"), "pain", ["group"], ["age"])
    messages = [str(w.message) for w in caught]
    assert any("'adjusted'" in m and "separation" in m for m in messages)
    # statsmodels before 0.15 could not invert the crude Hessian (non-convergence); 0.15 can,
    # and the flat likelihood is then found as separation: either way a notice, not a number
    assert any("'crude: group'" in m and ("did not converge" in m or "separation" in m)
               for m in messages)
    kinds = {(n.kind, n.model) for n in result.notices}
    assert ("separation", "adjusted") in kinds
    assert {("non-convergence", "crude: group"), ("separation", "crude: group")} & kinds
    assert ("not estimable", "adjusted") in kinds
    assert not result.fit_statistics.converged.any()
    separation = next(n for n in result.notices if n.kind == "separation")
    assert "group[High]" in separation.message and "age" not in separation.message

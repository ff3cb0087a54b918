"""Design-based estimates against a published worked example: NHANES II, as shipped by samplics.

Data: ``samplics/datasets/data/nhanes2.csv`` from the installed ``samplics``
package (0.6.1; read in place, never copied into this repository): Stata's
NHANES II extract, 10,337 respondents, 31 strata (``stratid``), 2 PSUs per
stratum numbered 1-2 *within* each stratum (``psuid``), sampling weight
``finalwgt``. The design is Stata's ``svyset psuid [pweight=finalwgt],
strata(stratid)``: PSUs taken with replacement, no finite population
correction, 62 PSUs - 31 strata = 31 design degrees of freedom.

Published numbers: the samplics documentation, with the output cells as
rendered from the notebooks (GitHub ``samplics-org/samplics``, commit
0311b5e42c9b534053be5ac0406eef26cdc03163):

* "Taylor-based Estimation", ``docs/docs_site/pages/estimation_taylor.html``:
  ``TaylorEstimator("mean")`` of ``zinc`` with stratum ``stratid``, PSU
  ``psuid``, weight ``finalwgt``, ``remove_nan=True`` (rows with missing zinc
  dropped, as Stata does): 31 strata, 62 PSUs, 31 df; mean 87.182067, SE
  0.494483, 95% CI 86.173563-88.190571; by ``race`` (domains 1, 2, 3) means
  87.495389 / 85.085744 / 83.570910, SEs 0.479196 / 1.165209 / 1.585463, CIs
  86.518062-88.472716 / 82.709286-87.462203 / 80.337338-86.804483.
* "Tabulation", ``docs/docs_site/pages/categorical_tabulation.html``, the
  cross-tabulation of ``race`` by ``diabetes`` (``CrossTabulation
  ("proportion")``, same design, ``remove_nan=True``: 10,335 respondents with
  a known diabetes status, 31 df): joint cell proportions with their SEs and
  95% intervals (logit-transformed, hence asymmetric) -- copied into
  ``RACE_BY_DIABETES`` below.

The samplics tutorial also sets these results beside Stata's ``svy: mean zinc``
output, but only as screenshots (``zinc_mean_stata_str.png``), and the Stata
manuals' output could not be retrieved as text: the numbers asserted here are
the ones samplics printed, for the same data and the same (Stata) design.
No published design-based *logistic* regression on these columns was found
(the Stata manual's nhanes2f example models, e.g. ``svy: regress zinc age
c.age#c.age weight female black orace rural`` in [SVY] svy estimation, use
variables this extract lacks), so :func:`test_design_logistic_point_estimates`
checks only the point estimates a saturated model must reproduce from the
published cell proportions; the design SEs of the logistic model are checked
against ``svy`` in ``tests/test_survey_design.py``.
"""

from __future__ import annotations

import importlib.resources
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import load_survey
from analysis.describe import prevalence
from analysis.design_based import survey_design, survey_mean, survey_table_one
from analysis.models import logistic

RACE = {1: "White", 2: "Black", 3: "Other"}
CODEBOOK = {
    "name": "nhanes2",
    "description": "NHANES II extract shipped with samplics (Stata's nhanes2).",
    "variables": {
        "stratid": {"type": "count", "label": "Stratum", "role": "stratum"},
        # Numbered 1-2 within each stratum: the design code identifies a PSU by
        # (stratum, psu), so no renumbering is needed (checked below).
        "psuid": {"type": "count", "label": "PSU within stratum", "role": "cluster"},
        "region": {"type": "categorical", "label": "Region",
                   "levels": {1: "Northeast", 2: "Midwest", 3: "South", 4: "West"}},
        "race": {"type": "categorical", "label": "Race", "levels": RACE},
        "diabetes": {"type": "binary", "label": "Diabetes"},
        "finalwgt": {"type": "numeric", "label": "Sampling weight", "role": "weight"},
        "zinc": {"type": "numeric", "label": "Serum zinc", "unit": "mcg/dL"},
        "highbp": {"type": "binary", "label": "High blood pressure"},
        "highlead": {"type": "binary", "label": "High blood lead"},
        "race_diabetes": {"type": "categorical", "label": "Race by diabetes",
                          "levels": {1: "White, no", 2: "White, yes", 3: "Black, no",
                                     4: "Black, yes", 5: "Other, no", 6: "Other, yes"}},
        "white_diabetic": {"type": "binary", "label": "White with diabetes"},
    },
}

# samplics docs, "Tabulation": cell, proportion, SE, lower, upper (race x diabetes).
RACE_BY_DIABETES = [
    ("White, no", 0.850866, 0.015850, 0.815577, 0.880392),
    ("White, yes", 0.028123, 0.001938, 0.024430, 0.032357),
    ("Black, no", 0.089991, 0.012171, 0.068062, 0.118090),
    ("Black, yes", 0.005646, 0.000847, 0.004157, 0.007663),
    ("Other, no", 0.024858, 0.010188, 0.010702, 0.056669),
    ("Other, yes", 0.000516, 0.000387, 0.000112, 0.002383),
]
PRINTED = 5e-7  # half a unit in the sixth decimal, the precision printed in the source


@pytest.fixture(scope="module")
def nhanes2():
    import samplics  # noqa: F401  the published NHANES II extract ships with samplics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # samplics announces its successor
        path = importlib.resources.files("samplics") / "datasets" / "data" / "nhanes2.csv"
        with importlib.resources.as_file(path) as csv:
            raw = pd.read_csv(csv)
    # Derived columns for the published cross-tabulation; NA where diabetes is unknown.
    raw["race_diabetes"] = (raw["race"] - 1) * 2 + raw["diabetes"] + 1
    raw["white_diabetic"] = ((raw["race"] == 1) & (raw["diabetes"] == 1)).astype(float)
    raw.loc[raw["diabetes"].isna(), "white_diabetic"] = np.nan
    return load_survey(raw, CODEBOOK)


def test_extract_and_design_are_the_published_ones(nhanes2):
    data = nhanes2.data
    assert len(data) == 10_337
    assert int(data["zinc"].notna().sum()) == 9_189
    assert int(data["diabetes"].notna().sum()) == 10_335
    design = survey_design(nhanes2)
    assert design.names == {"weight": "finalwgt", "stratum": "stratid", "cluster": "psuid"}
    # psuid alone takes two values; PSUs are 62 only as (stratum, psuid) pairs.
    assert sorted(np.unique(design.psu)) == [1, 2]
    assert len(set(zip(design.strata, design.psu, strict=True))) == 62
    assert survey_mean(nhanes2, "zinc")["df"].iloc[0] == 31


def test_mean_zinc_overall_and_by_race(nhanes2):
    # The source (samplics, as Stata's svy) gives every domain the whole design's 31 df:
    # df="design". Our default, R's degf of the subset design, is checked below.
    table = survey_mean(nhanes2, "zinc", by="race", df="design").set_index("group")
    published = {
        "Overall": (87.182067, 0.494483, 86.173563, 88.190571),
        "White": (87.495389, 0.479196, 86.518062, 88.472716),
        "Black": (85.085744, 1.165209, 82.709286, 87.462203),
        "Other": (83.570910, 1.585463, 80.337338, 86.804483),
    }
    assert table.loc["Overall", "n"] == 9_189
    for group, (mean, se, low, high) in published.items():
        row = table.loc[group]
        assert row["estimate"] == pytest.approx(mean, abs=PRINTED), group
        assert row["se"] == pytest.approx(se, abs=PRINTED), group
        # t quantile on 31 design df, as printed by the source.
        assert row["ci_low"] == pytest.approx(low, abs=PRINTED), group
        assert row["ci_high"] == pytest.approx(high, abs=PRINTED), group
        assert row["df"] == 31
    # Default df="domain" (R's svyciprop/svyglm on a subset): PSUs with members of the
    # domain minus strata with such PSUs. Black respondents are in 54 PSUs of 30 strata,
    # "Other" in 34 PSUs of 23 strata; estimates and SEs are the published ones.
    domain = survey_mean(nhanes2, "zinc", by="race").set_index("group")
    assert domain["df"].to_dict() == {"Overall": 31, "White": 31, "Black": 24, "Other": 11}
    assert domain["se"].to_numpy() == pytest.approx(table["se"].to_numpy(), rel=1e-12)
    half = stats.t.ppf(0.975, domain["df"]) * domain["se"]
    assert domain["ci_low"].to_numpy() == pytest.approx((domain["estimate"] - half).to_numpy())


def test_race_by_diabetes_cells_in_design_table_one(nhanes2):
    table = survey_table_one(nhanes2, columns=["race_diabetes"]).set_index("level")
    for level, p, se, low, high in RACE_BY_DIABETES:
        row = table.loc[level]
        assert row["n"] == 10_335
        # Table 1 reports percentages.
        assert row["estimate"] / 100 == pytest.approx(p, abs=PRINTED), level
        assert row["se"] / 100 == pytest.approx(se, abs=PRINTED), level
        assert row["ci_low"] / 100 == pytest.approx(low, abs=PRINTED), level
        assert row["ci_high"] / 100 == pytest.approx(high, abs=PRINTED), level


def test_prevalence_design_matches_published_cell(nhanes2):
    overall = prevalence(nhanes2, "white_diabetic", design=True).iloc[0]
    _, p, se, low, high = RACE_BY_DIABETES[1]
    assert overall["n"] == 10_335
    assert overall["design_prevalence"] == pytest.approx(p, abs=PRINTED)
    assert overall["design_se"] == pytest.approx(se, abs=PRINTED)
    assert overall["design_ci_low"] == pytest.approx(low, abs=PRINTED)
    assert overall["design_ci_high"] == pytest.approx(high, abs=PRINTED)
    assert overall["design_df"] == 31
    # Diabetes overall is the sum of the three published "yes" cells.
    diabetes = prevalence(nhanes2, "diabetes", design=True).iloc[0]
    yes = sum(cell[1] for cell in RACE_BY_DIABETES if cell[0].endswith("yes"))
    assert diabetes["design_prevalence"] == pytest.approx(yes, abs=3 * PRINTED)


def test_design_logistic_point_estimates(nhanes2):
    # diabetes ~ race is saturated, so its weighted fit reproduces the weighted cell
    # proportions: OR(Black vs White) = (p_by / p_bn) / (p_wy / p_wn). Only point
    # estimates can be derived from the source; the tolerance propagates its rounding.
    result = logistic(nhanes2, "diabetes", ["race"], design=True)
    tidy = result.tidy().set_index("term")
    cells = {level: p for level, p, *_ in RACE_BY_DIABETES}
    assert result.info["cov_type"] == "design (Taylor linearisation)"
    assert result.info["design_df"] == 31
    for race in ("Black", "Other"):
        parts = [cells[f"{race}, yes"], cells[f"{race}, no"],
                 cells["White, yes"], cells["White, no"]]
        log_or = np.log(parts[0] / parts[1]) - np.log(parts[2] / parts[3])
        rounding = sum(PRINTED / x for x in parts)
        assert np.log(tidy.loc[f"race[{race}]", "estimate"]) == pytest.approx(
            log_or, abs=rounding), race

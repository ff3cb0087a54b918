"""The analysis plan: what it decides from the codebook and the data, and why (in words)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.load import load_survey
from analysis.models import logistic
from analysis.plan import fit_plan, plan

RNG_SEED = 11


def _survey(n: int = 400, seed: int = RNG_SEED, extra_vars=None, extra_cols=None, **top):
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 70, n).round()
    ratio = rng.uniform(0, 1, n)
    group = rng.integers(1, 4, n)
    lp = -1 + 0.03 * (age - 45) + 0.8 * ratio + 0.3 * (group == 2)
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    frame = pd.DataFrame({"age": age, "ratio": ratio.round(3), "grp": group, "pain": y,
                          **(extra_cols or {})})
    variables = {
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "ratio": {"type": "numeric", "label": "Load ratio", "role": "exposure"},
        "grp": {"type": "categorical", "label": "Work group",
                "levels": {1: "Office", 2: "Warehouse", 3: "Driving"}, "role": "exposure"},
        "pain": {"type": "binary", "label": "Low back pain", "role": "outcome"},
        **(extra_vars or {})}
    return load_survey(frame, {"name": "plant", "variables": variables, **top})


def test_binary_outcome_gets_logistic_with_readable_steps():
    p = plan(_survey())
    (m,) = p.models
    assert (m.model, m.kind, m.event) == ("logistic", "binary", "Yes")
    assert m.exposures == ["ratio", "grp"] and m.adjust_for == ["age"]
    # A 0-1 ratio per 0.1; age (IQR about 25 years) per 10 years.
    assert m.per == {"ratio": 0.1, "age": 10.0}
    assert m.per_text == {"ratio": "per 0.1", "age": "per 10 years"}
    assert p.sections == ["flow", "missing", "characteristics", "prevalence", "models",
                          "dose_response", "performance"]


def test_steps_scale_the_reported_odds_ratio_exactly():
    survey = _survey()
    (fitted,) = fit_plan(survey, plan(survey))
    unit = logistic(survey, "pain", ["ratio", "grp"], ["age"], method="rows")
    per_step = fitted.result.table.set_index("variable").loc["ratio", "or_adjusted"]
    per_unit = unit.table.set_index("variable").loc["ratio", "or_adjusted"]
    assert per_step == pytest.approx(per_unit ** 0.1, rel=1e-8)
    assert "Load ratio (per 0.1)" in set(fitted.result.table["label"])


def test_codebook_per_sd_is_computed_and_stated():
    survey = _survey(extra_vars={"age": {"type": "numeric", "label": "Age", "unit": "years",
                                         "role": "confounder", "per": "sd"}})
    (m,) = plan(survey).models
    sd = float(np.std(survey.data["age"], ddof=1))
    assert m.per["age"] == pytest.approx(sd)
    assert m.per_text["age"] == f"per standard deviation ({sd:.3g} years)"


def test_a_level_without_events_or_few_events_gives_firth_with_the_reason():
    extra = {"site": {"type": "categorical", "label": "Site",
                      "levels": {1: "North", 2: "South"}, "role": "exposure"}}
    survey = _survey(n=400, extra_vars=extra, extra_cols={"site": np.r_[np.ones(390),
                                                                        2 * np.ones(10)]})
    data = survey.data.copy()
    data.loc[data["site"] == "South", "pain"] = "No"
    separated = load_survey(data.reset_index(drop=True).assign(
        site=lambda d: d["site"].cat.codes + 1, grp=lambda d: d["grp"].cat.codes + 1,
        pain=lambda d: d["pain"].cat.codes), {"name": "x", "variables": {
            **{k: v.model_dump(exclude_defaults=True, exclude={"name"})
               for k, v in survey.codebook.variables.items()}}})
    (m,) = plan(separated).models
    assert m.model == "Firth logistic"
    assert any("Site: South" in r and "only events or only non-events" in r for r in m.reasons)
    small = _survey(n=60)
    (m,) = plan(small).models
    assert m.model == "Firth logistic"
    assert any("per coefficient, fewer than 10" in r for r in m.reasons)


def test_count_ordinal_nominal_and_matched_outcomes_get_their_models():
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({
        "x": rng.integers(0, 2, n), "days": rng.integers(30, 365, n),
        "flares": rng.negative_binomial(1, 0.3, n), "grade": rng.integers(1, 4, n),
        "kind": rng.integers(1, 4, n), "set": np.repeat(np.arange(n // 3), 3),
        "case": np.tile([1, 0, 0], n // 3)})
    variables = {
        "x": {"type": "binary", "label": "Lifting", "role": "exposure"},
        "days": {"type": "count", "label": "Days followed", "role": "exposure_time"},
        "flares": {"type": "count", "label": "Flares", "role": "outcome"},
        "grade": {"type": "ordinal", "label": "Pain grade", "role": "outcome",
                  "levels": {1: "mild", 2: "moderate", 3: "severe"}},
        "kind": {"type": "categorical", "label": "Pain kind", "role": "outcome",
                 "levels": {1: "axial", 2: "radicular", 3: "mixed"}},
        "set": {"type": "categorical", "label": "Matched set", "role": "match",
                "levels": {i: f"set {i}" for i in range(n // 3)}},
        "case": {"type": "binary", "label": "Case", "role": "outcome"}}
    survey = load_survey(frame, {"name": "mix", "variables": variables})
    p = plan(survey)
    got = {m.outcome: m.model for m in p.models}
    assert got == {"flares": "negative binomial", "grade": "proportional odds",
                   "kind": "multinomial", "case": "conditional logistic"}
    counts = p.model("flares")
    assert counts.exposure_time == "days"
    assert any("variance of the counts is" in r for r in counts.reasons)
    fits = fit_plan(survey, p)
    assert [f.failure for f in fits] == [None, None, None, None]
    assert fits[0].result.info["exposure_time"] == "days"


def test_design_roles_make_the_logistic_model_design_based():
    rng = np.random.default_rng(5)
    n = 400
    extra_vars = {"w": {"type": "numeric", "label": "Weight", "role": "weight"},
                  "stratum": {"type": "categorical", "label": "Region", "role": "stratum",
                              "levels": {1: "East", 2: "West"}},
                  "psu": {"type": "numeric", "label": "Clinic", "role": "cluster"}}
    cols = {"w": rng.uniform(0.5, 2, n), "stratum": np.repeat([1, 2], n // 2),
            "psu": np.repeat(np.arange(20), n // 20)}
    survey = _survey(n=n, extra_vars=extra_vars, extra_cols=cols)
    p = plan(survey)
    assert p.design == {"weight": "w", "stratum": "stratum", "cluster": "psu"}
    assert p.models[0].design is True
    (fitted,) = fit_plan(survey, p)
    assert fitted.result.info["cov_type"].startswith("design")
    no_design = plan(survey, design=False)
    assert no_design.design is None and not no_design.models[0].design


def test_variables_without_variation_are_left_out_and_named():
    survey = _survey(extra_vars={"shift": {"type": "binary", "label": "Night shift",
                                           "role": "exposure"}},
                     extra_cols={"shift": np.zeros(400, dtype=int)})
    (m,) = plan(survey).models
    assert "shift" not in m.exposures
    assert m.dropped == {"shift": "one value only in the complete rows"}
    (fitted,) = fit_plan(survey, plan(survey))
    assert any(n.kind == "aliased" and "Night shift is left out" in n.message
               for n in fitted.result.notices)


def test_overrides_from_the_codebook_and_from_python():
    survey = _survey(analysis={"exposures": ["grp"], "adjust_for": [],
                               "interactions": [["grp", "ratio"]]})
    (m,) = plan(survey).models
    assert (m.exposures, m.adjust_for, m.interactions) == (["grp"], [], [])
    (m,) = plan(survey, exposures=["grp", "ratio"]).models
    assert m.interactions == [("grp", "ratio")]
    text = str(plan(survey))
    assert "Low back pain (pain): logistic regression, odds ratios; event: Yes" in text


def test_no_outcome_gives_a_descriptive_plan():
    survey = _survey(extra_vars={"pain": {"type": "binary", "label": "Low back pain"}})
    p = plan(survey)
    assert p.models == []
    assert "models" not in p.sections and "prevalence" not in p.sections
    assert "describes the data only" in p.reasons[0]


def test_a_model_that_cannot_be_fitted_is_a_failure_not_an_exception():
    survey = _survey(n=50)
    data = survey.data
    only_no = data.assign(pain=pd.Categorical(["No"] * len(data), categories=["No", "Yes"]))
    broken = load_survey(only_no.reset_index(drop=True).assign(
        grp=lambda d: d["grp"].cat.codes + 1, pain=0), {"name": "x", "variables": {
            k: v.model_dump(exclude_defaults=True, exclude={"name"})
            for k, v in survey.codebook.variables.items()}})
    (fitted,) = fit_plan(broken, plan(broken))
    assert fitted.result is None
    assert "needs both events and non-events" in fitted.failure


def test_aliasing_on_many_rows_is_found_through_the_sample_and_confirmed_on_all():
    from analysis.plan.build import ALIAS_SAMPLE

    rng = np.random.default_rng(8)
    n = ALIAS_SAMPLE + 20_000
    group = np.where(np.arange(n) < 25, 3, rng.integers(1, 3, n))  # 'Driving' in 25 rows only
    frame = pd.DataFrame({"age": rng.uniform(20, 70, n).round(), "ratio": rng.uniform(0, 1, n),
                          "grp": group, "pain": rng.integers(0, 2, n)})
    frame["ratio2"] = 2 * frame["ratio"]  # an exact linear dependence, on every row
    frame["driver"] = (frame["grp"] == 3).astype(int)  # the rare level, again
    variables = {
        "age": {"type": "numeric", "label": "Age", "unit": "years", "role": "confounder"},
        "ratio": {"type": "numeric", "label": "Load ratio", "role": "exposure"},
        "ratio2": {"type": "numeric", "label": "Load ratio doubled", "role": "exposure"},
        "grp": {"type": "categorical", "label": "Work group", "role": "exposure",
                "levels": {1: "Office", 2: "Warehouse", 3: "Driving"}},
        "driver": {"type": "binary", "label": "Professional driver", "role": "exposure"},
        "pain": {"type": "binary", "label": "Low back pain", "role": "outcome"}}
    (m,) = plan(load_survey(frame, {"name": "big", "variables": variables})).models
    assert set(m.dropped) == {"ratio2", "driver"}
    assert "Load ratio" in m.dropped["ratio2"] and "Work group" in m.dropped["driver"]

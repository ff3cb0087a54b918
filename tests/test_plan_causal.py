"""Adjustment sets from a causal diagram, checked on textbook diagrams with published sets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from analysis import style
from analysis.codebook import Codebook
from analysis.errors import CodebookError, ModelError
from analysis.plan.causal import (
    adjustment_set,
    causal_graph,
    is_adjustment_set,
    minimal_adjustment_sets,
)

# M-bias (Greenland, Pearl & Robins 1999; dagitty's adjustmentSets example): A and B cause
# X and Y respectively and both cause M. The published minimal set is the empty set, and
# adjusting for the pre-exposure collider M opens X <- A -> M <- B -> Y.
M_BIAS = {"x": ["a"], "m": ["a", "b"], "y": ["x", "b"]}

# Pearl (2009, Causality, Figure 3.4): {X3, X4} and {X4, X5} meet the back-door criterion,
# {X4} alone does not (it is a collider of X1 and X2).
PEARL_3_4 = {"x3": ["x1"], "x4": ["x1", "x2"], "x5": ["x2"], "x": ["x3", "x4"],
             "x6": ["x"], "y": ["x4", "x5", "x6"]}

# Shrier & Platt (2008, BMC Med Res Methodol 8:70, Figure 2a), edges as dagR's demo.dag2
# re-creates them: warm-up exercises (X) and injury (Y).
SHRIER_PLATT = {
    "warm_up": ["pregame_proprioception", "team_motivation"],
    "team_motivation": ["coach"],
    "fitness": ["coach", "genetics"],
    "connective_tissue": ["genetics"],
    "pregame_proprioception": ["fitness"],
    "fatigue": ["genetics", "fitness", "connective_tissue"],
    "tissue_weakness": ["connective_tissue"],
    "previous_injury": ["team_motivation", "contact_sport"],
    "intragame_proprioception": ["warm_up", "fatigue", "contact_sport"],
    "injury": ["fatigue", "tissue_weakness", "intragame_proprioception"],
}


def test_m_bias_needs_no_adjustment_and_the_collider_is_no_set():
    g = causal_graph(M_BIAS)
    assert minimal_adjustment_sets(g, "x", "y") == [()]
    assert adjustment_set(g, "x", "y", g.nodes) == ()
    assert not is_adjustment_set(g, "x", "y", ["m"])
    assert is_adjustment_set(g, "x", "y", ["m", "a"])
    assert is_adjustment_set(g, "x", "y", ["m", "b"])


def test_pearl_figure_3_4():
    g = causal_graph(PEARL_3_4)
    assert is_adjustment_set(g, "x", "y", ["x3", "x4"])
    assert is_adjustment_set(g, "x", "y", ["x4", "x5"])
    assert not is_adjustment_set(g, "x", "y", ["x4"])
    assert not is_adjustment_set(g, "x", "y", ["x4", "x5", "x6"])  # x6 is a mediator
    found = {frozenset(s) for s in minimal_adjustment_sets(g, "x", "y")}
    assert found == {frozenset(s) for s in (("x1", "x4"), ("x2", "x4"), ("x3", "x4"),
                                            ("x4", "x5"))}
    # Without x4 measured nothing blocks X <- X4 -> Y.
    assert adjustment_set(g, "x", "y", ["x1", "x2", "x3", "x5"]) is None


def test_shrier_platt_warm_up_and_injury():
    g = causal_graph(SHRIER_PLATT)
    found = {frozenset(s) for s in minimal_adjustment_sets(g, "warm_up", "injury")}
    # Sets named as sufficient for this diagram (dagitty, quoted in Causal Inference for Data
    # Science, section 7.2.1): Coach and fitness; coach and pre-game proprioception; fitness
    # and genetics; and the exposure's parents (Pearl's parents rule).
    for published in (("coach", "fitness"), ("coach", "pregame_proprioception"),
                      ("fitness", "genetics"), ("pregame_proprioception", "team_motivation")):
        assert frozenset(published) in found
    # Fitness alone opens coach -> fitness <- genetics; previous injury is a collider.
    assert not is_adjustment_set(g, "warm_up", "injury", ["fitness"])
    assert not is_adjustment_set(g, "warm_up", "injury", [])
    assert not is_adjustment_set(g, "warm_up", "injury",
                                 ["coach", "fitness", "previous_injury"])
    assert is_adjustment_set(g, "warm_up", "injury",
                             ["coach", "fitness", "previous_injury", "contact_sport"])
    # All seven minimal sets, each of two variables (the three above, the parents, and the
    # sets through fatigue; enumerated here, not run in dagitty).
    assert found == {frozenset(s) for s in (
        ("coach", "fitness"), ("coach", "pregame_proprioception"), ("fitness", "genetics"),
        ("fitness", "team_motivation"), ("pregame_proprioception", "team_motivation"),
        ("connective_tissue", "fatigue"), ("fatigue", "tissue_weakness"))}
    # The chosen set prefers direct causes of the outcome: fatigue and tissue weakness.
    assert adjustment_set(g, "warm_up", "injury", g.nodes) == ("fatigue", "tissue_weakness")
    measured = set(g.nodes) - {"fatigue"}
    chosen = adjustment_set(g, "warm_up", "injury", measured)
    assert len(chosen) == 2 and frozenset(chosen) in found and "fatigue" not in chosen


def test_minimum_cut_finds_a_smallest_set_on_random_diagrams():
    import random

    rng = random.Random(17)
    checked = 0
    for _ in range(60):
        nodes = [f"v{i}" for i in range(9)]
        causes = {v: [u for u in nodes[:i] if rng.random() < 0.3] for i, v in enumerate(nodes)}
        g = causal_graph(causes)
        x, y = nodes[rng.randrange(2, 5)], nodes[-1]
        measured = [v for v in nodes if rng.random() < 0.8]
        sets = minimal_adjustment_sets(g, x, y, measured)
        chosen = adjustment_set(g, x, y, measured)
        if not sets:
            assert chosen is None
            continue
        assert chosen is not None and is_adjustment_set(g, x, y, chosen)
        assert len(chosen) == min(len(s) for s in sets)
        assert set(chosen) <= set(measured)
        checked += 1
    assert checked > 30


def test_a_set_with_a_descendant_of_the_exposure_is_refused():
    g = causal_graph({"m": ["x"], "y": ["m", "c", "x"], "x": ["c"]})
    assert is_adjustment_set(g, "x", "y", ["c"])
    assert not is_adjustment_set(g, "x", "y", ["c", "m"])


def test_errors_name_the_problem():
    with pytest.raises(ModelError, match="cycle"):
        causal_graph({"a": ["b"], "b": ["a"]})
    g = causal_graph(M_BIAS)
    with pytest.raises(ModelError, match="no node 'z'"):
        is_adjustment_set(g, "x", "y", ["z"])


def _codebook(causes, unmeasured=()):
    return Codebook.from_dict({"variables": {
        "x": {"type": "binary", "label": "X"}, "y": {"type": "binary", "label": "Y"},
        "c": {"type": "numeric", "label": "C"}},
        "analysis": {"causes": causes, "unmeasured": list(unmeasured)}})


def test_codebook_checks_the_diagram():
    cb = _codebook({"y": ["x", "c", "u"], "x": ["c", "u"]}, unmeasured=["u"])
    assert cb.analysis.causes["y"] == ["x", "c", "u"]
    with pytest.raises(CodebookError, match="'cc' is neither a variable"):
        _codebook({"y": ["x", "cc"]})
    with pytest.raises(CodebookError, match="cycle"):
        _codebook({"y": ["x"], "x": ["y"]})
    with pytest.raises(CodebookError, match="its own cause"):
        _codebook({"y": ["y"]})
    with pytest.raises(CodebookError, match="is a variable of the codebook"):
        _codebook({"y": ["x"]}, unmeasured=["c"])


# ---- the plan and report with a diagram -------------------------------------------------


def test_example_plan_uses_the_simulations_diagram():
    from analysis.load import load_survey
    from analysis.plan import plan

    root = Path(__file__).resolve().parents[1]
    survey = load_survey(root / "data/example/survey.csv",
                         root / "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    main = plan(survey).models[0]
    sets = main.adjustment_sets
    # By hand from the diagram: occupation is the only cause of heavy lifting that also causes
    # spasm; posture's back-door paths run through BMI, age and (via workstation and sitting)
    # occupation; the latent fitness links the two endurance tests.
    assert sets["heavy_lifting"] == ["occupation"]
    assert set(sets["posture"]) == {"age", "occupation", "bmi"}
    assert "biering_sorensen_s" in sets["plank_s"]
    assert sets["sport_hours"] == ["sport"]
    assert "lordosis_angle" not in sets["posture"]
    assert "on its causal path" in main.adjustment_reasons["posture"]
    assert "Standing lumbar lordosis" in main.adjustment_reasons["posture"]


def test_own_data_backpack_adjusts_for_body_weight_only(tmp_path):
    from analysis.load import load_survey
    from analysis.models import logistic
    from analysis.plan import fit_plan, plan
    from analysis.report.methods import methods_text

    root = Path(__file__).resolve().parent / "own_data"
    sys.path.insert(0, str(root))
    from own_shapes import SHAPES

    shape = next(s for s in SHAPES if s.name == "backpack")
    survey = load_survey(shape.data_file(tmp_path), shape.codebook, on_invalid="exclude")
    the_plan = plan(survey)
    model = the_plan.models[0]
    assert model.adjustment_sets == {"Ratio": ["BodyWeight"]}
    assert model.adjust_for == ["BodyWeight"]  # not Sex, a confounder by role
    fitted = fit_plan(survey, the_plan)[0]
    assert fitted.failure is None
    ours = fitted.result.tidy("adjusted").set_index("term")
    direct = logistic(survey, "BackProblems", exposures=["Ratio"], adjust_for=["BodyWeight"],
                      firth=model.model == "Firth logistic")
    expected = direct.tidy("adjusted").set_index("term").loc["Ratio"]
    step = model.per["Ratio"]  # the plan reports the ratio per its step (0.1)
    assert ours.loc["Ratio", "estimate"] == pytest.approx(expected["estimate"] ** step,
                                                          rel=1e-8)
    text = " ".join(methods_text(survey, the_plan, [fitted]))
    assert "Backpack-to-body weight ratio: adjusted for Body weight" in text
    assert "E-values (VanderWeele & Ding 2017)" in text


def test_report_sections_show_diagram_e_values_q_values_and_additive_interaction(tmp_path):
    import yaml

    from analysis.report import open_report, planned

    sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
    from fixtures import reference_data

    codebook = {"name": "additive_dag", "variables": {
        "lifting": {"type": "binary", "label": "Heavy lifting", "role": "exposure"},
        "posture": {"type": "ordinal", "label": "Posture", "role": "exposure",
                    "levels": {1: "Good", 2: "Fair", 3: "Poor"}},
        "c1": {"type": "numeric", "label": "Workload", "role": "confounder"},
        "spasm": {"type": "binary", "label": "Spasm", "role": "outcome"}},
        "analysis": {"interactions": [["lifting", "posture"]],
                     "causes": {"lifting": ["c1"], "spasm": ["lifting", "posture", "c1"]}}}
    cb_path = tmp_path / "cb.yml"
    cb_path.write_text(yaml.safe_dump(codebook, sort_keys=False), encoding="utf-8")
    data = tmp_path / "data.csv"
    reference_data("additive").to_csv(data, index=False)
    report = open_report("03_risk_factors", data, cb_path, out_dir=tmp_path / "out")
    model = report.plan.models[0]
    assert model.adjustment_sets == {"lifting": ["c1"], "posture": []}
    diagram = planned.causal_diagram(report).text
    assert "Causal diagram" in diagram and "<img" in diagram
    assert "Workload" in diagram
    tables = planned.model_sections(report).text
    assert "E-value (CI limit)" in tables and "q adjusted" in tables
    assert "RR = sqrt(OR)" in tables  # about 30% have the outcome: the common-outcome rule
    additive = planned.additive_interaction(report).text
    assert "Interaction on the additive scale" in additive
    assert "RERI (relative excess risk due to interaction)" in additive
    # The pair's own model (lifting and posture adjusted for c1) gives the RERI shown.
    from analysis.models.additive import additive_interaction

    fitted = report.fits[0]
    frame = additive_interaction(fitted.result, "lifting", "posture",
                                 which="adjusted: lifting × posture")
    reri = frame[(frame["contrast"] == "Yes × Poor") & (frame["measure"] == "RERI")].iloc[0]
    # in the report's number style: "2.58 (1.13-4.04)"
    assert style.ci(reri["estimate"], reri["ci_low"], reri["ci_high"]) in additive
    # No diagram: no section.
    del codebook["analysis"]["causes"]
    cb_path.write_text(yaml.safe_dump(codebook, sort_keys=False), encoding="utf-8")
    plain = open_report("03_risk_factors", data, cb_path, out_dir=tmp_path / "out2")
    assert planned.causal_diagram(plain).text == ""
    assert "RERI" in planned.additive_interaction(plain).text


def test_dag_plot_marks_roles():
    import pandas as pd

    from analysis.figures import dag_plot

    edges = pd.DataFrame({"cause": ["a", "a", "x", "u"], "effect": ["x", "y", "y", "x"]})
    ax = dag_plot(edges, exposure="x", outcome="y", adjusted=["a"], unmeasured=["u"],
                  labels={"a": "Age"})
    boxes = {t.get_gid(): t for t in ax.texts if t.get_gid()}  # arrows have none
    assert set(boxes) == {"node-a", "node-x", "node-y", "node-u"}
    assert boxes["node-a"].get_text() == "Age"
    # Causes left of their effects: a and u in the first column, then x, then y.
    x_of = {k: t.get_position()[0] for k, t in boxes.items()}
    assert x_of["node-a"] == x_of["node-u"] == 0 and x_of["node-x"] == 1
    assert x_of["node-y"] == 2
    assert boxes["node-u"].get_bbox_patch().get_linestyle() == "--"


def test_methods_text_points_to_the_adjustment_table_when_sets_are_many():
    # Eleven exposures' sets and reasons made a paragraph of 400 words; the table beside
    # the causal diagram says them one row each, and the sub-sample model says what differs.
    from analysis.load import load_survey
    from analysis.plan import plan
    from analysis.report.methods import WORDED_SETS, methods_text

    root = Path(__file__).resolve().parents[1]
    survey = load_survey(root / "data/example/survey.csv",
                         root / "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    the_plan = plan(survey)
    main, sub = the_plan.models[:2]
    assert len(main.adjustment_reasons) > WORDED_SETS >= len(sub.adjustment_reasons)
    text = methods_text(survey, the_plan)
    main_text = next(t for t in text if t.startswith(main.label + ":"))
    sub_text = next(t for t in text if "(sub-sample model)" in t)
    assert "in the table 'Adjustment set of each exposure'" in main_text
    assert "which blocks every back-door path" not in main_text
    # the sub-sample's three own exposures keep their reasons in words ...
    assert "Standing lumbar lordosis: adjusted for Sex" in sub_text
    # ... and what it shares with the main model is said once
    assert "E-values (VanderWeele & Ding 2017)" in main_text
    assert "E-values" not in sub_text and "Exposures:" not in sub_text
    assert sub_text.endswith("Otherwise as the model above.")


def test_models_by_adjustment_set_fit_each_crude_model_once(monkeypatch):
    """Each exposure's crude and adjusted rows come from its own model; the model of all
    exposures is fitted without crude models (they would be refitted on other rows for
    nothing). Fits counted: per planned model, 1 (all exposures) + 2 per exposure with a
    set + (exposures + 1) per interaction's model of both. The numbers equal a direct call."""
    import importlib

    import numpy as np

    from analysis.load import load_survey
    from analysis.models import logistic
    from analysis.plan import fit_plan, plan

    root = Path(__file__).resolve().parents[1]
    survey = load_survey(root / "data/example/survey.csv",
                         root / "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    the_plan = plan(survey)
    # the module, not the function the package exports under the same name
    logistic_module = importlib.import_module("analysis.models.logistic")
    names = []
    real = logistic_module.fit_terms

    def counted(name, *args, **kwargs):
        names.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(logistic_module, "fit_terms", counted)
    fitted = fit_plan(survey, the_plan)
    expected = sum(1 + 2 * len(m.adjustment_sets)
                   + sum(len({a, b} & set(m.exposures)) + 1 for a, b in m.interactions)
                   for m in the_plan.models)
    assert len(names) == expected, names
    monkeypatch.setattr(logistic_module, "fit_terms", real)

    model, result = the_plan.models[0], fitted[0].result
    assert fitted[0].failure is None
    own = logistic(survey, model.outcome, exposures=["posture"],
                   adjust_for=model.adjustment_sets["posture"], design=model.design)
    ours = result.table[result.table["variable"] == "posture"].reset_index(drop=True)
    theirs = own.table[own.table["variable"] == "posture"].reset_index(drop=True)
    for column in ("or_crude", "or_adjusted", "ci_low_crude", "ci_high_adjusted", "n"):
        np.testing.assert_allclose(ours[column], theirs[column], rtol=1e-10)
    mutual = logistic(survey, model.outcome, exposures=model.exposures,
                      adjust_for=model.adjust_for, interactions=model.interactions,
                      design=model.design)
    # factor levels only: the plan reports continuous exposures per its steps (per 10 years)
    a, b = (t[t["term"].astype(str).str.contains(r"\[")].reset_index(drop=True)
            for t in (result.tidy("mutual"), mutual.tidy("adjusted")))
    assert list(a["term"]) == list(b["term"]) and len(a) > 10
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-10)
    np.testing.assert_allclose(a["ci_high"], b["ci_high"], rtol=1e-10)

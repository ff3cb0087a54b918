"""Fast checks of what the own-data reports needed fixed (no notebook is run here)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from own_shapes import SHAPES

from analysis.codebook import Codebook
from analysis.load import load_survey
from analysis.plan import fit_plan, plan
from analysis.report.session import table_key

matplotlib.use("Agg")
SHAPE = {s.name: s for s in SHAPES}


def _survey(name: str):
    shape = SHAPE[name]
    return load_survey(shape.data, shape.codebook, on_invalid="exclude")


def test_yaml_yes_and_no_are_words_in_a_codebook(tmp_path):
    # YAML 1.1 reads No/Yes/NO as booleans: labels False/True, a code NO (Normal) as False.
    path = tmp_path / "cb.yml"
    path.write_text("variables:\n"
                    "  pain: {type: binary, label: Pain, levels: {N: No, Y: Yes}, event: Y}\n"
                    "  dx: {type: categorical, label: Diagnosis, levels: {NO: Normal, DH: Hernia}}\n"
                    "  note: {type: text, label: Note, required: no, pii: yes}\n")
    cb = Codebook.from_yaml(path)
    assert cb["pain"].level_labels == {"N": "No", "Y": "Yes"}
    assert cb["pain"].event_label == "Yes"
    assert list(cb["dx"].level_labels) == ["NO", "DH"]
    assert cb["note"].required is False and cb["note"].pii is True


def test_aliased_variable_is_left_out_and_named():
    rng = np.random.default_rng(1)
    tilt, slope = rng.normal(17, 10, 300), rng.normal(43, 13, 300)
    frame = pd.DataFrame({"tilt": tilt.round(2), "slope": slope.round(2),
                          # recorded as the sum, to 2 decimals: aliased up to rounding
                          "incidence": (tilt + slope).round(2),
                          "sick": rng.binomial(1, 0.4, 300)})
    cb = Codebook.from_dict({"variables": {
        "tilt": {"type": "numeric", "label": "Tilt", "role": "exposure"},
        "slope": {"type": "numeric", "label": "Slope", "role": "exposure"},
        "incidence": {"type": "numeric", "label": "Incidence", "role": "exposure"},
        "sick": {"type": "binary", "label": "Sick", "role": "outcome"}}})
    model = plan(load_survey(frame, cb)).models[0]
    assert model.exposures == ["tilt", "slope"]
    assert model.dropped == {"incidence": "it is a linear combination of Tilt and Slope "
                                          "(aliased)"}
    # Variables that are merely correlated stay.
    frame["incidence"] = tilt + slope + rng.normal(0, 1, 300)
    assert plan(load_survey(frame, cb)).models[0].dropped == {}


def test_firth_on_the_sparse_survey_converges_at_its_optimum():
    """Per-10-year age made firthmodels' 1e-10 step-halving fail at the optimum."""
    survey = _survey("small_sparse")
    chosen = plan(survey)
    fitted = fit_plan(survey, chosen)[0]
    assert fitted.plan.model == "Firth logistic" and fitted.plan.per["age_yrs"] == 10
    assert fitted.failure is None
    assert not any("firth=True" in n.message for n in fitted.result.notices)
    fit = fitted.result.models["adjusted"]
    X, y = np.asarray(fit.design.X, float), np.asarray(fit.y, float)
    # At Firth's optimum the modified score X'(y - p + h(1/2 - p)) is zero (Firth 1993,
    # eq. for logistic models), h the hat values of W^1/2 X; computed here by hand.
    p = 1 / (1 + np.exp(-X @ np.asarray(fit.params, float)))
    root_w = np.sqrt(p * (1 - p))[:, None]
    q, _ = np.linalg.qr(root_w * X)
    h = (q ** 2).sum(axis=1)
    score = X.T @ (y - p + h * (0.5 - p))
    assert np.abs(score).max() < 1e-6


def test_table_keys_from_any_variable_name():
    assert table_key("model", "BackProblems") == "model_backproblems"
    assert table_key("dose", "Größe 2") == "dose_gr_e_2"
    assert table_key("", "_x") == "x"


def test_forest_plot_names_incidence_rate_ratios():
    from analysis import figures

    survey = _survey("counts_time")
    fitted = fit_plan(survey, plan(survey))[0]
    ax = figures.forest_plot(fitted.result.table, show_counts=False)
    assert ax.get_xlabel() == "Incidence rate ratio (95% CI), log scale"
    assert len(ax.get_xticks()) >= 4  # a narrow range still has a readable scale
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()] if ax.figure.legends \
        else [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["crude IRR (95% CI)", "adjusted IRR (95% CI)"]


def test_design_prevalence_display_shows_the_design_estimate():
    from analysis.describe import prevalence
    from analysis.describe.render import prevalence_display

    survey = _survey("complex_design")
    table = prevalence(survey, "backache", by=["farming"], weighted=False, design=True)
    shown = prevalence_display(table)
    overall = table.iloc[0]
    assert shown.loc[0, "Design-based, % (95% CI)"] == (
        f"{100 * overall.design_prevalence:.1f} ({100 * overall.design_ci_low:.1f}-"
        f"{100 * overall.design_ci_high:.1f})")
    assert "Weighted, % (95% CI)" not in shown


@pytest.mark.parametrize("name", ["counts_time", "ordinal_pain", "matched_sets",
                                  "complex_design", "no_questionnaires"])
def test_plan_of_each_simulated_shape(name):
    shape = SHAPE[name]
    model = plan(_survey(name)).models[0]
    assert model.model == shape.model
    assert shape.exposure in model.exposures

"""Figures: each draws a real tidy table of the package and shows what the table says."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from analysis import figures
from analysis.describe import prevalence
from analysis.diagnostics import calibration, discrimination
from analysis.errors import ReportError
from analysis.instruments import score_instruments
from analysis.load import load_survey
from analysis.models import logistic
from analysis.simulate import CODEBOOK_PATH, simulate_survey, true_effects


@pytest.fixture(scope="module")
def survey():
    return load_survey(simulate_survey(2000, seed=11), CODEBOOK_PATH, on_invalid="exclude")


@pytest.fixture(scope="module")
def result(survey):
    return logistic(survey, "spasm_12m", ["posture", "sport", "heavy_lifting", "hours_sitting"],
                    ["age", "sex"])


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def _points(container: ErrorbarContainer) -> tuple[np.ndarray, np.ndarray]:
    line = container.lines[0]
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _ticklabels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


# ---- forest plot -----------------------------------------------------------
def test_forest_plot_draws_every_row_of_the_table(result):
    table = result.table
    ax = figures.forest_plot(table)
    reference = table["ci_low_adjusted"].isna() & (table["or_adjusted"] == 1)
    bars = _errorbars(ax)
    assert [c.get_label() for c in bars] == ["crude OR (95% CI)", "adjusted OR (95% CI)"]
    for bar, column in zip(bars, ["crude", "adjusted"], strict=True):
        x, _y = _points(bar)
        assert x.size == (~reference).sum() == 11
        np.testing.assert_allclose(x, table.loc[~reference, f"or_{column}"])
    assert ax.get_xscale() == "log"
    ref_line = next(ln for ln in ax.lines if ln.get_gid() == "reference-line")
    assert tuple(ref_line.get_xdata()) == (1, 1)
    refs = next(ln for ln in ax.lines if ln.get_gid() == "reference-levels")
    assert list(refs.get_xdata()) == [1.0] * reference.sum()
    assert _texts(ax).count("reference") == reference.sum() == 3
    labels = _ticklabels(ax)
    for expected in ("Self-rated posture", "Poor vs Good", "Good (reference)",
                     "Hours sitting a day (per 1 h/day)", "Heavy lifting at work"):
        assert expected in labels
    assert not any("posture[" in lab or "C(" in lab for lab in labels)
    # ticks at readable odds ratios
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert {"0.5", "1", "2"} <= set(ticks)
    # n and events beside every row, with thousands separators
    counts = [t.get_text() for t in ax.texts if t.get_gid() == "count-n"]
    assert counts == [f"{int(n):,}" for n in table["n"]]
    assert any("," in c for c in counts)


def test_forest_plot_labels_do_not_overlap(result):
    ax = figures.forest_plot(result.table)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    # every label inside the figure
    frame = fig.bbox
    assert all(b.x0 >= frame.x0 - 1 and b.x1 <= frame.x1 + 1 for b in boxes)


def test_forest_plot_survives_infinite_and_missing_intervals(result):
    table = result.table.copy()
    table.loc[2, ["ci_high_adjusted"]] = np.inf
    table.loc[4, ["or_crude", "ci_low_crude", "ci_high_crude"]] = np.nan
    table.loc[5, ["ci_low_adjusted", "ci_high_adjusted"]] = [0.0, 1e9]
    ax = figures.forest_plot(table, columns=("adjusted",), show_counts=False)
    x, _ = _points(_errorbars(ax)[0])
    assert np.isfinite(x).all()
    low, high = ax.get_xlim()
    arrows = [ln for ln in ax.lines if ln.get_marker() in (">", "<")]
    assert any(np.allclose(ln.get_xdata(), high) for ln in arrows)
    assert any(np.allclose(ln.get_xdata(), low) for ln in arrows)
    with pytest.raises(ReportError, match="or_crude"):
        figures.forest_plot(table.drop(columns=["or_crude"]))
    with pytest.raises(ReportError, match="columns must be among"):
        figures.forest_plot(table, columns=("raw",))


def test_forest_plot_draws_into_a_given_axes(result):
    _fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6))
    out = figures.forest_plot(result.table, ax=right, title="Right panel")
    assert out is right and right.get_title(loc="left") == "Right panel" and not left.lines


# ---- estimate versus truth ---------------------------------------------------
def test_estimate_vs_truth_pairs_estimates_with_true_values(survey):
    fit = logistic(survey, "spasm_12m", ["posture", "sit_reach_cm"], ["age", "sex"])
    truth = true_effects()
    ax = figures.estimate_vs_truth(fit.tidy("adjusted"), truth, codebook=survey.codebook)
    true_marks = next(ln for ln in ax.lines if ln.get_gid() == "truth")
    est_x, _ = _points(_errorbars(ax)[0])
    labels = _ticklabels(ax)
    # posture Fair/Poor, sit-and-reach, age, sex Male: five terms in both tables
    assert est_x.size == true_marks.get_xdata().size == 5
    assert "Poor vs Good" in labels and "Age, per 10 years" in labels
    truth_by_term = truth.set_index("term")["true_odds_ratio"]
    assert sorted(true_marks.get_xdata()) == sorted(
        truth_by_term[["posture[2]", "posture[3]", "sit_reach_cm", "age", "sex[2]"]])
    # numeric terms are rescaled to the truth's step: per 10 cm less of sit-and-reach
    per_cm = fit.tidy("adjusted").set_index("term").loc["sit_reach_cm", "estimate"]
    tick_y = dict(zip(labels, ax.get_yticks(), strict=True))
    est_x, est_y = _points(_errorbars(ax)[0])
    at = np.isclose(est_y, tick_y["Sit-and-reach, per 10 cm less (tight\nhamstrings)"] - 0.12)
    assert est_x[at].item() == pytest.approx(per_cm ** -10)
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert legend == ["estimate (95% CI)", "true value (simulated)"]


def test_estimate_vs_truth_reads_the_side_by_side_table_too(result, survey):
    ax = figures.estimate_vs_truth(result.table, true_effects(), codebook=survey)
    assert "Weightlifting vs None" in _ticklabels(ax)
    with pytest.raises(ReportError, match="no term of the estimates"):
        figures.estimate_vs_truth(result.table.assign(variable="nothing"), true_effects())


# ---- prevalence -------------------------------------------------------------
def test_prevalence_plot_shows_each_level_with_its_interval(survey):
    table = prevalence(survey, by=["posture", "heavy_lifting"], weighted=False)
    ax = figures.prevalence_plot(table, outcome="back-muscle spasm")
    levels = table[table["variable"] != "overall"]
    x, _ = _points(_errorbars(ax)[0])
    np.testing.assert_allclose(x, 100 * levels["prevalence"])
    segments = _errorbars(ax)[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[0][0] for s in segments], 100 * levels["ci_low"])
    overall = next(ln for ln in ax.lines if ln.get_gid() == "overall-line")
    assert overall.get_xdata()[0] == pytest.approx(100 * table["prevalence"].iloc[0])
    labels = _ticklabels(ax)
    assert {"Self-rated posture", "Heavy lifting at work", "Good", "Poor"} <= set(labels)
    assert "back-muscle spasm" in ax.get_xlabel()
    assert ax.xaxis.get_major_formatter()(50, 0) == "50%"


def test_prevalence_plot_draws_weighted_beside_unweighted(survey):
    table = prevalence(survey, by="posture", weighted=True)
    ax = figures.prevalence_plot(table)
    bars = _errorbars(ax)
    assert len(bars) == 2
    np.testing.assert_allclose(_points(bars[1])[0], 100 * table["weighted_prevalence"].iloc[1:])


# ---- dose-response -------------------------------------------------------------
def test_dose_response_matches_a_formula_fit_with_natural_splines(survey):
    import statsmodels.formula.api as smf
    from patsy import build_design_matrices

    curve = figures.dose_response(survey, "hours_sitting", "spasm_12m",
                                  adjust_for=["age", "sex"], grid=25)
    knots = curve.attrs["knots"]
    data = survey.data[["spasm_12m", "hours_sitting", "age", "sex"]].dropna()
    data = data.assign(y=(data["spasm_12m"] == "Yes").astype(float),
                       sex=data["sex"].astype(str))
    inner = ", ".join(f"{k!r}" for k in knots[1:-1])
    formula = (f"y ~ cr(hours_sitting, knots=[{inner}], lower_bound={knots[0]!r}, "
               f"upper_bound={knots[-1]!r}, constraints='center') + age + sex")
    fit = smf.logit(formula, data).fit(disp=0)
    ref = curve.attrs["reference"]
    assert ref == pytest.approx(data["hours_sitting"].median())
    at = curve.iloc[[0, 7, 18, 24]]
    grid = pd.DataFrame({"hours_sitting": np.r_[at["x"], ref], "age": 40.0, "sex": "Male"})
    X = np.asarray(build_design_matrices([fit.model.data.model_spec], grid)[0])
    contrast = X[:-1] - X[-1]
    log_or = contrast @ fit.params.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", contrast, fit.cov_params().to_numpy(), contrast))
    np.testing.assert_allclose(at["estimate"], np.exp(log_or), rtol=1e-6)
    np.testing.assert_allclose(at["ci_low"], np.exp(log_or - 1.959963984540054 * se), rtol=1e-6)
    np.testing.assert_allclose(at["ci_high"], np.exp(log_or + 1.959963984540054 * se),
                               rtol=1e-6)
    assert curve.attrs["n"] == len(data)


def test_dose_response_plot_draws_curve_band_and_reference(survey):
    curve = figures.dose_response(survey, "sit_reach_cm", "spasm_12m", adjust_for=["age"])
    ax = figures.dose_response_plot(curve)
    line = next(ln for ln in ax.lines if ln.get_gid() == "dose-response-curve")
    np.testing.assert_allclose(line.get_ydata(), curve["estimate"])
    assert ax.get_yscale() == "log"
    ref = next(ln for ln in ax.lines if ln.get_gid() == "reference-value")
    assert ref.get_xdata()[0] == curve.attrs["reference"] and ref.get_ydata()[0] == 1.0
    assert curve.loc[curve["x"] == curve.attrs["reference"], "estimate"].item() == 1.0
    assert ax.get_xlabel() == "Sit-and-reach (cm)"
    assert len(ax.collections[0].get_paths()) == 1  # the confidence band
    with pytest.raises(Exception, match="not numeric"):
        figures.dose_response(survey, "posture", "spasm_12m")


# ---- participant flow -----------------------------------------------------------
def test_participant_flow_shows_every_count_of_the_flow(survey):
    flow = survey.flow
    ax = figures.participant_flow(survey)
    text = "\n".join(_texts(ax))
    assert f"n = {flow['n'].iloc[0]:,}" in text and f"n = {flow['n'].iloc[-1]:,}" in text
    excluded = flow[flow["stage"] == "excluded"]
    assert f"Excluded: n = {excluded['n'].sum():,}" in text
    for n in excluded["n"]:
        assert f": {n:,}" in text
    assert "Age: out of range" in text or "Respondent: duplicate id" in text
    assert "respondent_id" not in text


@pytest.mark.parametrize("n_reasons", [1, 12])
def test_participant_flow_boxes_hold_their_text(n_reasons):
    reasons = [f"column_{k}: a rather long validation rule number {k}" for k in
               range(n_reasons)]
    flow = pd.DataFrame({
        "stage": ["read", *["excluded"] * n_reasons, "analysed"],
        "step": ["", *["validate"] * n_reasons, ""],
        "reason": ["rows read", *reasons, "rows analysed"],
        "n": [123_456, *range(1, n_reasons + 1), 123_456 - sum(range(1, n_reasons + 1))]})
    ax = figures.participant_flow(flow)
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [p.get_window_extent(r) for p in ax.patches if hasattr(p, "get_boxstyle")]
    texts = [t for t in ax.texts if t.get_gid() in ("flow-box", "flow-reasons")]
    for t in texts:
        extent = t.get_window_extent(r)
        assert any(b.x0 <= extent.x0 and extent.x1 <= b.x1 and b.y0 <= extent.y0
                   and extent.y1 <= b.y1 for b in boxes), t.get_text()
    assert "n = 123,456" in "\n".join(_texts(ax))


# ---- missingness -----------------------------------------------------------------
def test_missingness_plot_bars_are_the_percent_missing(survey):
    ax = figures.missingness_plot(survey, top=10)
    bars = ax.containers[0]
    # percent of the respondents asked: the codebook's asked_if (exam sub-sample, skips)
    asked = pd.DataFrame({c: survey.asked(c) for c in survey.data.columns},
                         index=survey.data.index)
    expected = (100 * (survey.data.isna() & asked).sum() / asked.sum()).sort_values(
        ascending=False)
    np.testing.assert_allclose(sorted((b.get_width() for b in bars), reverse=True),
                               expected.iloc[:10])
    labels = _ticklabels(ax)
    assert survey.codebook.label(expected.index[0]) in [lab.replace("\n", " ") for lab in labels]
    assert "not shown" in ax.get_xlabel() and "respondents asked" in ax.get_xlabel()
    table = figures.missingness(survey)
    assert list(table.columns) == ["variable", "label", "n", "n_asked", "n_not_asked",
                                   "n_missing", "percent_missing"]
    exam = table.set_index("variable").loc["pelvic_tilt"]
    assert exam["n_asked"] == (survey.data["examined"] == "Yes").sum()


# ---- calibration and ROC ----------------------------------------------------------
def test_calibration_plot_shows_bins_and_the_recalibration_line(result):
    cal = calibration(result)
    ax = figures.calibration_plot(cal)
    x, y = _points(_errorbars(ax)[0])
    np.testing.assert_allclose(x, cal.bins["predicted"])
    np.testing.assert_allclose(y, cal.bins["observed"])
    label = _errorbars(ax)[0].get_label()
    assert "calibration slope 1.00" in label and "calibration intercept" in label
    diagonal = next(ln for ln in ax.lines if ln.get_gid() == "diagonal")
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata())


def test_roc_plot_area_equals_the_auc(result):
    ax = figures.roc_plot(result)
    curve = next(ln for ln in ax.lines if ln.get_gid() == "roc-curve")
    fpr, tpr = curve.get_xdata(), curve.get_ydata()
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    auc = discrimination(result)
    area = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)  # trapezoids: ties count half
    assert area == pytest.approx(auc["estimate"].item(), abs=1e-12)
    assert f"AUC {auc['estimate'].item():.3f} (95% CI" in curve.get_label()


# ---- scores --------------------------------------------------------------------
def test_score_distribution_counts_every_score_and_shades_the_bands(survey):
    scored, _ = score_instruments(survey)
    odi = scored.data["odi_pct"]
    ax = figures.score_distribution(odi, bands="odi", label=scored.label("odi_pct"))
    hist = next(p for p in ax.patches if p.get_gid() == "score-histogram")
    assert hist.get_data().values.sum() == odi.notna().sum()
    assert len([p for p in ax.patches if p.get_gid() == "band"]) == 5
    assert "minimal\ndisability" in _texts(ax)
    assert ax.get_xlabel().startswith("Oswestry Disability Index (%)")
    assert f"{odi.isna().sum():,} missing" in ax.get_xlabel()
    with pytest.raises(ReportError, match="unknown bands"):
        figures.score_distribution(odi, bands="fairbank")


# ---- saving -----------------------------------------------------------------------
def test_save_figure_writes_the_same_bytes_twice(result, tmp_path):
    paths_a = figures.save_figure(figures.forest_plot(result.table), tmp_path / "a" / "forest")
    paths_b = figures.save_figure(figures.forest_plot(result.table), tmp_path / "b" / "forest")
    assert [p.name for p in paths_a] == ["forest.png", "forest.svg"]
    for a, b in zip(paths_a, paths_b, strict=True):
        assert a.read_bytes() == b.read_bytes()
    svg = paths_a[1].read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in paths_a[0].read_bytes()
    assert paths_a[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ReportError, match="cannot write 'gif'"):
        figures.save_figure(plt.figure(), tmp_path / "x", formats=("gif",))

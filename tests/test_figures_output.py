"""What a report embeds of a figure: a light palette PNG and an alt text saying what it shows."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis import figures
from analysis.load import load_survey
from analysis.models import logistic
from analysis.simulate import CODEBOOK_PATH, simulate_survey


@pytest.fixture(scope="module")
def survey():
    return load_survey(simulate_survey(800, seed=5), CODEBOOK_PATH, on_invalid="exclude")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _full_colour(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


def test_palette_png_is_smaller_the_same_picture_and_the_same_bytes(survey):
    result = logistic(survey, "spasm_12m", ["posture", "sport"], ["age"])
    fig = figures.forest_plot(result.table).figure
    light = figures.png_bytes(fig, dpi=110)
    full = _full_colour(fig)
    assert light == figures.png_bytes(fig, dpi=110)  # deterministic
    assert len(light) < 0.6 * len(full)
    small, big = Image.open(io.BytesIO(light)), Image.open(io.BytesIO(full))
    assert small.mode == "P" and small.size == big.size
    assert len(small.getcolors(256)) <= 256
    assert "Software" not in small.info
    # the picture is the same to the eye: per pixel, colours differ by a few levels of 255
    a = np.asarray(small.convert("RGB"), dtype=float)
    b = np.asarray(big.convert("RGB"), dtype=float)
    assert np.abs(a - b).mean() < 1.0
    assert np.percentile(np.abs(a - b).max(axis=2), 99.9) < 40


def test_forest_alt_text_names_title_method_rows_axis_and_legend(survey):
    result = logistic(survey, "spasm_12m", ["posture"], ["age"])
    ax = figures.forest_plot(result.table)
    alt = figures.alt_text(ax, "Crude and adjusted odds ratios (log scale)")
    rows = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert alt.startswith("Crude and adjusted odds ratios (log scale). Odds ratios, crude and "
                          "adjusted. Each row's dot is the odds ratio and its line the 95% "
                          "confidence interval, on a log scale;")
    assert f"{len(rows)} rows: " + "; ".join(rows) + "." in alt
    assert "Horizontal axis: Odds ratio (95% CI), log scale." in alt
    assert alt.endswith("Legend: crude OR (95% CI); adjusted OR (95% CI).")
    assert "\n" not in alt


def test_flow_alt_text_reads_the_boxes(survey):
    alt = figures.alt_text(figures.participant_flow(survey))
    read = int(survey.flow.loc[survey.flow["stage"] == "read", "n"].iloc[0])
    analysed = int(survey.flow.loc[survey.flow["stage"] == "analysed", "n"].iloc[0])
    assert alt.startswith(f"Participant flow. Boxes from top to bottom: {read:,} rows read, ")
    assert f"Rows read n = {read:,}" in alt and f"Rows analysed n = {analysed:,}" in alt


def test_a_users_own_figure_gets_its_title_axes_and_description():
    fig, ax = plt.subplots()
    ax.bar(["Never", "Sometimes", "Often"], [3, 5, 2])
    ax.set_title("Lifting at work")
    ax.set_ylabel("Respondents")
    assert figures.alt_text(fig) == "Lifting at work. Vertical axis: Respondents."
    figures.describe(ax, "Bars:   respondents\nby how often they lift.")
    assert figures.alt_text(fig, "Lifting") == ("Lifting. Lifting at work. Bars: respondents "
                                                "by how often they lift. Vertical axis: "
                                                "Respondents.")
    many = pd.Series([f"level {k}" for k in range(20)])
    fig2, ax2 = plt.subplots()
    ax2.barh(many, np.arange(20))
    assert figures.alt_text(fig2).endswith("20 rows: level 0; level 1; level 2; level 3; "
                                           "level 4; level 5; level 6; level 7; level 8; "
                                           "level 9; level 10; level 11; level 12; level 13; "
                                           "level 14 and 5 more.")


def test_whole_number_scores_get_whole_number_bins_without_gaps():
    # RMDQ-like: 0-24 in whole numbers; numpy's "auto" rule would give bins of ~0.6
    scores = pd.Series(np.random.default_rng(3).binomial(24, 0.15, 4000), name="RMDQ")
    ax = figures.score_distribution(scores)
    drawn = next(c for c in ax.get_children() if c.get_gid() == "score-histogram").get_data()
    edges, counts = np.asarray(drawn.edges), np.asarray(drawn.values)
    assert np.allclose(np.diff(edges), 1.0) and edges[0] == scores.min() - 0.5
    assert edges[-1] == scores.max() + 0.5
    assert counts.tolist() == scores.value_counts().reindex(
        range(scores.min(), scores.max() + 1), fill_value=0).tolist()
    assert (counts > 0).all()  # no empty gap between two bars
    # 0-100 in whole numbers: wider whole-number bins, every score counted
    odi = pd.Series(np.random.default_rng(4).integers(0, 101, 3000))
    drawn = next(c for c in figures.score_distribution(odi).get_children()
                 if c.get_gid() == "score-histogram").get_data()
    assert np.asarray(drawn.values).sum() == 3000 and drawn.edges[-1] >= 100.5
    assert float(np.diff(drawn.edges)[0]).is_integer()

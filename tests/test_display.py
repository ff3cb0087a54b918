"""How surveys, ledgers, plans and results show in JupyterLab, and where notebooks write."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import load_survey
from analysis.display import html_table
from analysis.plan import plan
from analysis.report.session import scratch_folder

ROOT = Path(__file__).resolve().parents[1]
CSV = "name,age,sex\n1,30,1\n2,41,2\n3,150,1\n4,52,2\n"
CODEBOOK = {"variables": {
    "name": {"type": "id", "label": "Record"},
    "age": {"type": "numeric", "label": "Age <years>", "range": [0, 120]},
    "sex": {"type": "binary", "label": "Sex", "levels": {1: "Male", 2: "Female"}}}}


def _survey(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(CSV)
    return load_survey(path, CODEBOOK, on_invalid="exclude")


def test_survey_and_ledger_show_their_flow_and_columns_escaped(tmp_path):
    survey = _survey(tmp_path)
    page = survey._repr_html_()
    assert "3 rows analysed of 4 read" in page
    assert "<td>Age &lt;years&gt;: out of range</td><td class=\"num\">1</td>" in page
    assert "<td>age</td><td>Age &lt;years&gt;</td><td>numeric</td><td></td>" in page
    assert "<years>" not in page
    assert repr(survey).startswith("Survey(") and "3 rows analysed of 4 read" in repr(survey)
    ledger = survey.accounts
    assert repr(ledger) == f"Ledger({survey.source}: 4 rows read, {len(survey.ledger)} entries)"
    assert "<caption>Counts</caption>" in ledger._repr_html_()


def test_theme_colours_come_from_jupyterlab_with_fallbacks(tmp_path):
    page = _survey(tmp_path)._repr_html_()
    # No fixed black or white: text takes the theme's colour, rules are translucent grey.
    assert "var(--jp-content-font-color1,currentColor)" in page
    assert "#000" not in page and "#fff" not in page and "white" not in page


def test_a_long_table_says_how_many_rows_it_leaves_out():
    frame = pd.DataFrame({"x": range(25)})
    text = html_table(frame, max_rows=20)
    assert text.count("<tr>") == 21  # header + 20 rows
    assert "5 more rows of 25 not shown" in text


def test_the_plan_shows_the_lines_print_gives():
    survey = load_survey(ROOT / "data/example/survey.csv", ROOT / "data/codebooks/backpain_survey.yml",
                         on_invalid="exclude")
    analysis_plan = plan(survey)
    page = analysis_plan._repr_html_()
    for line in str(analysis_plan).splitlines()[1:6]:
        assert line.strip().replace("'", "&#x27;") in page


def test_notebooks_run_by_hand_write_into_scratch_not_reports(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKPAIN_SCRATCH", raising=False)
    assert scratch_folder() == Path("scratch")
    assert scratch_folder("x/y") == Path("x/y")
    monkeypatch.setenv("BACKPAIN_SCRATCH", str(tmp_path))
    assert scratch_folder() == tmp_path
    for notebook in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/case_studies/*.ipynb")]:
        cells = json.loads(notebook.read_text())["cells"]
        source = "".join(cells[next(i for i, c in enumerate(cells)
                                    if "parameters" in c["metadata"].get("tags", []))]["source"])
        assert "out_dir = None" in source, notebook.name
        assert "reports" not in source.split("out_dir = None")[0].splitlines()[-1]


def test_figures_shown_inline_have_an_opaque_white_background():
    # JupyterLab's dark theme shows a transparent PNG on black: dark ink would vanish.
    import io

    import matplotlib.pyplot as plt
    import numpy as np
    from IPython.core.pylabtools import print_figure
    from PIL import Image

    from analysis.figures import set_theme

    set_theme()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png = print_figure(fig, "png")
    plt.close(fig)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == [255, 255, 255, 255]).all()

"""What the report's sections say on a survey that is not the example (issue 13, reader check).

Found by looking at the own-data reports on a phone: an empty table of changes
(a header row over nothing), a missing-values chart of a survey without
missing values (an empty axis reading "0% 0% 1% 1%"), a pointer to a
questionnaire report that a survey without instruments does not have,
"0 left out", a count model's "(426 in total)" beside "400 respondents", and
"Ratios of odds ratios have none" under tables without any. Each is checked on
the HTML a section returns, for a small synthetic survey opened in process
(:func:`analysis.report.open_report`, what a notebook calls).
"""

from __future__ import annotations

import re
from html import unescape

import numpy as np
import pandas as pd
import yaml

from analysis.report import open_report, planned, sections

ROWS = 120


def _write(tmp_path, variables: dict, frame: pd.DataFrame):
    codebook = tmp_path / "cb.yml"
    codebook.write_text(yaml.safe_dump({"name": "own", "variables": variables},
                                       sort_keys=False), encoding="utf-8")
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    return data, codebook


def _complete_binary(tmp_path):
    """120 complete, valid rows: no missing value, no rule broken, no questionnaire."""
    rng = np.random.default_rng(13)
    lifting = rng.integers(0, 2, ROWS)
    pain = (rng.random(ROWS) < 0.25 + 0.25 * lifting).astype(int)
    frame = pd.DataFrame({"lifting": lifting, "age": rng.integers(20, 65, ROWS), "pain": pain})
    variables = {
        "lifting": {"type": "binary", "label": "Lifts loads", "role": "exposure"},
        "age": {"type": "numeric", "label": "Age", "unit": "years", "range": [16, 70],
                "role": "confounder"},
        "pain": {"type": "binary", "label": "Back pain", "role": "outcome"}}
    return _write(tmp_path, variables, frame), frame


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_a_survey_without_changes_or_missing_values_says_so_in_words(tmp_path):
    (data, codebook), frame = _complete_binary(tmp_path)
    assert not frame.isna().any().any()
    report = open_report("01_data_quality", data, codebook, out_dir=tmp_path / "out")
    changes = sections.changes_by_rule(report).text
    assert "<table" not in changes
    assert _text(changes).strip() == ("No value was recoded as missing and no row broke a "
                                      "codebook rule.")
    missing = sections.missing_values(report).text
    # the table (every variable asked of all 120, none missing) and a sentence, no chart
    assert missing.count("<table") == 1 and "<img" not in missing
    assert "No variable has a missing value." in missing
    assert re.findall(r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', missing) == [
        (str(ROWS), "0")] * 3
    # no instruments in this codebook: no questionnaire report to point to
    assert "questionnaire" not in _text(missing).lower()


def test_a_model_note_says_none_left_out_and_no_ratio_of_ratios_it_lacks(tmp_path):
    (data, codebook), frame = _complete_binary(tmp_path)
    report = open_report("03_risk_factors", data, codebook, out_dir=tmp_path / "out")
    words = _text(planned.model_sections(report).text)
    events = int(frame["pain"].sum())
    assert (f"Logistic regression on {ROWS} respondents with complete data ({events} events); "
            "none left out for a missing value.") in words
    assert "0 left out" not in words
    assert "E-value (VanderWeele & Ding 2017)" in words
    assert "Ratios of odds ratios" not in words  # no interaction term in this model


def test_a_count_models_note_gives_the_sum_of_the_counts_not_a_second_total(tmp_path):
    rng = np.random.default_rng(14)
    night = rng.integers(0, 2, ROWS)
    months = rng.integers(6, 37, ROWS)
    episodes = rng.poisson(0.05 * months * (1 + night))
    frame = pd.DataFrame({"night": night, "months": months, "episodes": episodes})
    variables = {
        "night": {"type": "binary", "label": "Night shifts", "role": "exposure"},
        "months": {"type": "numeric", "label": "Months of follow-up", "unit": "months",
                   "range": [1, 60], "role": "exposure_time"},
        "episodes": {"type": "count", "label": "Sick-leave episodes", "role": "outcome"}}
    data, codebook = _write(tmp_path, variables, frame)
    report = open_report("03_risk_factors", data, codebook, out_dir=tmp_path / "out")
    words = _text(planned.model_sections(report).text)
    total = int(frame["episodes"].sum())
    assert total > ROWS  # the case that read as rows gone missing
    assert re.search(rf"regression on {ROWS} respondents with complete data \(their counts "
                     rf"sum to {total:,}\); none left out for a missing value\.", words), words
    assert "in total)" not in words
    assert "Ratios of odds ratios" not in words and "Ratios of rate ratios" not in words
    # the methods say what the table's note does: no odds ratios to convert in a count model
    methods = _text(planned.methods(report).text)
    assert ("E-values (VanderWeele & Ding 2017) of each adjusted estimate and of its interval "
            "limit nearer 1; rate ratios are taken as risk ratios.") in methods
    assert "sqrt(OR)" not in methods and "rate ratios are used as risk ratios" in words


def test_a_matched_surveys_methods_convert_no_odds_ratio_the_table_does_not(tmp_path):
    from pathlib import Path

    own = Path(__file__).resolve().parent / "own_data"
    report = open_report("03_risk_factors", own / "data" / "matched_sets.csv",
                         own / "codebooks" / "matched_sets.yml", out_dir=tmp_path / "out")
    assert report.plan.models[0].model == "conditional logistic"
    methods = _text(planned.methods(report).text)
    tables = _text(planned.model_sections(report).text)
    assert "in matched case-control sets each odds ratio is taken as a risk ratio." in methods
    assert "sqrt(OR)" not in methods and "sqrt(OR)" not in tables
    assert "in matched case-control sets the odds ratio is taken as a risk ratio" in tables


def test_a_notebooks_introduction_promises_an_optional_section_only_where_it_applies():
    """The matched survey's descriptives have no prevalence, the vertebral models no
    dose-response or model performance: the first paragraph said they would."""
    import json
    from pathlib import Path

    optional = {"02_descriptives": "how common each binary outcome is",
                "03_risk_factors": "how the association changes along continuous exposures"}
    for name, words in optional.items():
        path = Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.ipynb"
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        intro = "".join(cells[0]["source"]) if cells[0]["cell_type"] == "markdown" else ""
        before = intro.split(words)[0]
        assert words in intro and "where" in before.rsplit(";", 1)[-1], (name, intro)


def test_a_flow_without_exclusions_is_drawn_as_narrow_as_its_boxes(tmp_path):
    """On the phone the two boxes of a flow without exclusions took half the figure's
    width (room for side boxes that were not there): 170 of 343 px, text at half size."""
    import base64
    import io

    from PIL import Image

    (data, codebook), _ = _complete_binary(tmp_path)
    report = open_report("01_data_quality", data, codebook, out_dir=tmp_path / "out")
    flow = sections.participant_flow(report).text
    alt = re.search(r'<img alt="([^"]*)"', flow).group(1)
    assert alt.startswith(f"Participant flow (STROBE). Boxes from top to bottom: {ROWS} rows "
                          f"read, no row excluded, {ROWS} rows analysed.")
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", flow).group(1))
    width = Image.open(io.BytesIO(png)).size[0]
    # the main column (3.9 in), its margins and the saved figure's padding at the report's
    # 110 dpi: 474 px, where a flow with side boxes is 8 in (892 px, measured before)
    assert width <= 4.4 * 110 < 8 * 110


def _headers(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", html)]


def test_table_one_shows_a_missing_column_only_when_something_is_missing(tmp_path):
    """Five of the seven own-data Table 1s had a Missing column blank on every row, and a
    footnote explaining it (counts_time also explained an SMD column it does not have)."""
    (data, codebook), frame = _complete_binary(tmp_path)
    report = open_report("02_descriptives", data, codebook, out_dir=tmp_path / "out")
    table = planned.characteristics(report).text
    assert _headers(table)[:4] == ["Characteristic", "No", "Yes", "Overall"]
    assert "Missing" not in _headers(table) and "SMD" in _headers(table)
    words = _text(table)
    assert "Missing: respondents asked without a value." not in words
    assert "SMD: standardised mean difference" in words
    # three ages missing: the column and its meaning are back, with the count
    frame.loc[:2, "age"] = np.nan
    frame.to_csv(data, index=False)
    report = open_report("02_descriptives", data, codebook, out_dir=tmp_path / "out2")
    table = planned.characteristics(report).text
    assert "Missing" in _headers(table)
    assert "Missing: respondents asked without a value." in _text(table)
    row = re.search(r"<td>Age, [^<]*</td>(.*?)</tr>", table).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert unescape(cells[_headers(table).index("Missing") - 1]) == "<5"  # 3: under 5


def test_table_one_without_groups_does_not_explain_an_smd_column(tmp_path):
    rng = np.random.default_rng(15)
    frame = pd.DataFrame({"night": rng.integers(0, 2, ROWS),
                          "episodes": rng.poisson(1.0, ROWS)})
    variables = {
        "night": {"type": "binary", "label": "Night shifts", "role": "exposure"},
        "episodes": {"type": "count", "label": "Sick-leave episodes", "role": "outcome"}}
    data, codebook = _write(tmp_path, variables, frame)
    report = open_report("02_descriptives", data, codebook, out_dir=tmp_path / "out")
    table = planned.characteristics(report).text
    assert _headers(table) == ["Characteristic", "Overall"]
    words = _text(table)
    assert "SMD" not in words and "Missing:" not in words
    assert "Percentages are of respondents with a value. Numeric variables: mean (SD), or " \
           "median [Q1, Q3] when skewed." in words

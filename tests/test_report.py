"""Reports end to end: the four notebooks run once on a small SIMULATED survey.

Kernel starts cost ~2.4 s each, so one module-scoped fixture renders every
report (twice, for determinism) and the tests assert on those files.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from _notebooks import write_notebook
from analysis.cli import main
from analysis.cli import report as _report_cli  # noqa: F401  registers `backpain report`
from analysis.errors import ReportError
from analysis.report import check_parameters, notebook_parameters, render_reports, run_notebook
from analysis.report.build import report_notebooks
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey

NAMES = ["01_data_quality", "02_descriptives", "03_risk_factors", "04_questionnaires"]
SPASM = "Back-muscle spasm in the last 12 months"
SECTIONS = {
    "01_data_quality": ["Methods", "Participant flow", "Values changed and rows excluded",
                        "Missing values"],
    "02_descriptives": ["Methods", "Characteristics of respondents",
                        f"Prevalence of {SPASM[0].lower() + SPASM[1:]}"],
    "03_risk_factors": ["Methods", "Causal diagram", f"{SPASM}: odds ratios",
                        f"{SPASM}: odds ratios in the sub-sample",
                        "Interaction on the additive scale", "Dose-response",
                        "Model performance", "Estimates and the truth"],
    "04_questionnaires": ["Methods", "Internal consistency", "Score distributions"],
}
# figures each reader report must hold: flow + missingness; prevalence; the causal diagram of
# the main and sub-sample models + forest + sub-sample forest, each with its OR-beside-PR
# forest, + 2 curves + ROC + calibration + truth; a histogram of each numeric score
FIGURES = {"01_data_quality": 2, "02_descriptives": 1, "03_risk_factors": 11,
           "04_questionnaires": 9}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    data = write_survey(simulate_survey(1500, seed=11), tmp / "survey.csv")
    codebook = yaml.safe_load(Path(CODEBOOK_PATH).read_text(encoding="utf-8"))
    # a level label from the data that must come out as text, never as markup
    codebook["variables"]["workstation"]["levels"][3] = SCRIPT
    cb_path = tmp / "codebook.yml"
    cb_path.write_text(yaml.safe_dump(codebook, allow_unicode=True), encoding="utf-8")
    out = tmp / "reports"
    summary = render_reports(data, cb_path, out, progress=False)
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    render_reports(data, cb_path, out, progress=False)
    second = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    return {"out": out, "summary": summary, "first": first, "second": second, "data": data,
            "codebook": cb_path}


def test_every_report_and_its_files_are_written(rendered):
    out = rendered["out"]
    assert rendered["summary"]["notebook"].tolist() == NAMES
    for name in NAMES:
        assert (out / f"{name}.html").stat().st_size > 10_000
        assert (out / "analyst" / f"{name}.html").is_file()
        assert (out / "tables" / f"{name}_provenance.csv").is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in NAMES:
        assert f'href="{name}.html"' in index and f'href="analyst/{name}.html"' in index
    assert 'href="results.json"' in index and 'href="tables/02_descriptives_prevalence.csv"' \
        in index


@pytest.mark.parametrize("name", NAMES)
def test_reader_report_has_sections_figures_toc_provenance_and_no_code(rendered, name):
    html = (rendered["out"] / f"{name}.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2 id=\"[^\"]+\">(.*?)<a", html)
    assert headings == [*SECTIONS[name], "Provenance"]
    assert html.count('<img alt="') == FIGURES[name]
    assert html.count('src="data:image/png;base64,') == FIGURES[name]
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S).group(0)
    for section in [*SECTIONS[name], "Provenance"]:
        assert f">{section}</a>" in toc
    assert "Data sha256" in html and "Git commit" in html and "Version of pandas" in html
    assert "SIMULATED DATA." in html
    # no code, no prompts, nothing to fetch, no script
    for forbidden in ("<code", 'class="input', '<div class="jp-InputArea', "<script",
                      "http://", "https://", "open_report(", "import "):
        assert forbidden not in html, forbidden
    analyst = (rendered["out"] / "analyst" / f"{name}.html").read_text(encoding="utf-8")
    assert "open_report" in analyst and "<script" not in analyst


def test_reports_without_models_fold_the_models_methods(rendered):
    pages = {name: (rendered["out"] / f"{name}.html").read_text(encoding="utf-8")
             for name in NAMES}
    methods = {name: re.search(r'<div class="backpain-methods">(.*?)</div>', page, re.S)[1]
               for name, page in pages.items()}
    folded = re.compile(r"<details><summary>How the 2 models were fitted \(their results are "
                        r"in the report of the regression models\)</summary><p>Back-muscle "
                        r"spasm in the last 12 months: logistic")
    for name in ("01_data_quality", "02_descriptives", "04_questionnaires"):
        assert folded.search(methods[name]), name
        assert methods[name].startswith("<p>Data: ")  # the data and the design stay open
    assert "<details>" not in methods["03_risk_factors"]
    # the same paragraphs, folded or not
    assert re.sub(r"</?details>|<summary>.*?</summary>", "", methods["01_data_quality"]) \
        == methods["03_risk_factors"]


def test_provenance_names_files_hashes_and_parameters(rendered):
    from analysis.report import sha256

    rows = dict(line.split(",", 1) for line in (rendered["out"] / "tables" /
                "03_risk_factors_provenance.csv").read_text().splitlines()[1:])
    assert rows["Data sha256"] == sha256(rendered["data"])
    assert rows["Codebook sha256"] == sha256(rendered["codebook"])
    assert rows["Parameter data"] == "survey.csv"  # a file name, not a machine's path
    assert rows["Parameter threshold"] == "5"
    assert rows["Parameter continuous"] == "None"  # left to the codebook's analysis section
    plan = json.loads((rendered["out"] / "results" / "03_risk_factors.json").read_text())
    assert "interactions: heavy_lifting x posture" in plan["analysis_plan"]["rows"][0][0]
    assert re.fullmatch(r"[0-9a-f]{40}|not a git checkout", rows["Git commit"])


def test_labels_from_the_data_are_escaped(rendered):
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for name in ("02_descriptives", "03_risk_factors"):
        html = (rendered["out"] / f"{name}.html").read_text(encoding="utf-8")
        assert escaped in html and SCRIPT not in html
    assert SCRIPT in (rendered["out"] / "tables" / "02_descriptives_characteristics.csv"
                      ).read_text(encoding="utf-8")  # CSV holds the text itself


def test_small_counts_are_suppressed_in_reader_tables(rendered):
    flow = pd.read_csv(rendered["out"] / "tables" / "01_data_quality_flow.csv", dtype=str)
    shown = flow["Respondents"]
    numbers = pd.to_numeric(shown, errors="coerce")
    assert not ((numbers > 0) & (numbers < 5)).any()
    assert (shown == "<5").sum() != 1 or (shown == "suppressed").any()
    for path in (rendered["out"] / "tables").glob("*.csv"):
        if path.name.endswith("provenance.csv"):
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in table.columns:
            if column in ("n", "Events", "Respondents", "Missing", "Values"):
                values = pd.to_numeric(table[column], errors="coerce")
                assert not ((values > 0) & (values < 5)).any(), (path.name, column)
    prevalence = pd.read_csv(rendered["out"] / "tables" / "02_descriptives_prevalence.csv",
                             dtype=str, keep_default_na=False)
    hidden = prevalence[prevalence["Events"].isin(["<5", "suppressed"])]
    assert len(hidden) >= 2  # a small cell and its complement in the same factor
    # every prevalence column (unweighted and, under the example's design, design-based)
    shares = [c for c in prevalence.columns if c.endswith("% (95% CI)")]
    assert shares == ["Unweighted, % (95% CI)", "Design-based, % (95% CI)"]
    assert (hidden[shares] == "suppressed").all().all()


def test_results_json_holds_every_table_shown(rendered):
    out = rendered["out"]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert sorted(results) == NAMES
    text = (out / "results.json").read_text(encoding="utf-8")
    assert text == json.dumps(results, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    for path in (out / "tables").glob("*.csv"):
        name = next(n for n in NAMES if path.stem.startswith(n + "_"))
        entry = results[name][path.stem[len(name) + 1:]]
        rows = list(csv.reader(path.open(encoding="utf-8")))
        assert entry["columns"] == rows[0] and entry["rows"] == rows[1:]


def test_two_runs_are_byte_identical(rendered):
    first, second = rendered["first"], rendered["second"]
    assert sorted(first) == sorted(second)
    differ = [str(p) for p in first if first[p] != second[p]]
    assert differ == []
    assert any(str(p).endswith(".html") for p in first) and Path("results.json") in first


@pytest.mark.browser
def test_reports_open_in_a_browser_without_errors(rendered, browser):
    from tests.test_report_cdp import page_problems

    problems = []
    for name in [*NAMES, "index"]:
        path = rendered["out"] / f"{name}.html"
        problems += page_problems(browser, path, label="example_")
        page = browser.open(path.as_uri(), 1280)
        assert page["scripts"] == 0
        assert len(page["images"]) == FIGURES.get(name, 0)
    assert problems == []


@pytest.mark.browser
def test_reports_fit_a_phone_and_print_without_the_contents(rendered, browser):
    path = rendered["out"] / "03_risk_factors.html"
    page = browser.open(path.as_uri(), 390)
    # the widest table (the model's) scrolls inside its own box, the page does not
    assert page["scrollWidth"] <= page["clientWidth"] == 375  # 15 px of scroll bar
    boxes = browser.evaluate("JSON.stringify(Array.from(document.querySelectorAll("
                             "'table.backpain-table')).map(t => [t.scrollWidth, t.clientWidth,"
                             " getComputedStyle(t).overflowX]))")
    boxes = json.loads(boxes)
    assert any(scroll > client for scroll, client, _ in boxes)  # wider than a phone ...
    assert all(overflow == "auto" for *_, overflow in boxes)  # ... and scrolls in its box
    # its estimates with their intervals stay on one line ("1.44-" above "2.02" misleads)
    cells = json.loads(browser.evaluate(
        "JSON.stringify(Array.from(document.querySelectorAll('td.num')).map(td => "
        "{ const r = document.createRange(); r.selectNodeContents(td);"
        " return [td.textContent, getComputedStyle(td).whiteSpace, r.getClientRects().length]; }"
        "))"))
    intervals = [c for c in cells if re.fullmatch(r"\d\.\d+ \(\d\.\d+-\d\.\d+\)", c[0])]
    assert intervals and {c[1] for c in intervals} == {"nowrap"}
    assert {c[2] for c in intervals} == {1}  # one line box each
    images = [im["shown"] for im in page["images"]]
    assert images and max(images) <= 375 - 2 * 16  # scaled into main's padding
    alts = [im["alt"] for im in page["images"]]
    assert alts[0].startswith("Assumed causes of ")  # the causal diagram comes first
    forest = next(a for a in alts if a.startswith("Crude and adjusted odds ratios"))
    assert forest.startswith("Crude and adjusted odds ratios (log scale). Odds ratios, crude "
                             "and adjusted. Each row's dot is the odds ratio")
    assert "Legend: crude OR (95% CI); adjusted OR (95% CI)." in forest
    # a tap on a figure shows it at twice the screen's width (at most its drawn size), in a
    # box that scrolls sideways
    zoomed = json.loads(browser.evaluate(
        "(() => { const f = document.querySelector('figure.backpain-figure');"
        " f.querySelector('label').click(); const im = f.querySelector('img');"
        " return JSON.stringify([im.getBoundingClientRect().width, im.naturalWidth,"
        " f.clientWidth, f.scrollWidth > f.clientWidth,"
        " document.documentElement.scrollWidth]); })()"))
    shown, natural, box, scrolls, page_width = zoomed
    assert abs(shown - min(natural, 2 * box)) < 1 and shown > 375  # sub-pixel layout
    assert scrolls and page_width <= 375
    browser.call("Emulation.setEmulatedMedia", media="print")
    try:
        printed = json.loads(browser.evaluate(
            "JSON.stringify([getComputedStyle(document.querySelector('nav.toc')).display, "
            "Array.from(document.querySelectorAll('h2')).map(h => getComputedStyle(h)"
            ".breakBefore), getComputedStyle(document.querySelector('figure img')).maxHeight])"))
    finally:
        browser.call("Emulation.setEmulatedMedia", media="")
    assert printed[0] == "none"
    assert set(printed[1]) == {"page"}  # each section starts a page
    assert printed[2].endswith("px") and float(printed[2][:-2]) < 1123  # a figure fits A4


@pytest.mark.browser
def test_a_cut_table_title_is_a_problem_the_report_css_prevents(browser, tmp_path):
    from tests.test_report_cdp import page_problems

    from analysis.report.html import CSS
    from analysis.report.session import html_table

    wide = pd.DataFrame({f"column {k}": ["1.71 (1.44-2.02)"] * 3 for k in range(9)})
    table = html_table(wide, title="A title longer than a phone is wide, which must wrap",
                       note="A note as long, which the reader must see without scrolling.")
    bare = tmp_path / "bare.html"
    bare.write_text(f"<html><body><div style='overflow-x:auto'>{table}</div></body></html>")
    problems = page_problems(browser, bare, widths=(390,))
    assert any("title or note runs off the screen: 'A title longer" in p for p in problems)
    ours = tmp_path / "ours.html"
    ours.write_text(f"<html><head><style>{CSS}</style></head><body><main>{table}</main>"
                    "</body></html>")
    assert page_problems(browser, ours, widths=(390,)) == []
    # Inside the window is not enough: a note as wide as the window less main's padding
    # (the CSS before the own-data check of issue 13) still lost the end of each line
    # under the edge of the box the table scrolls in (the cell's padding, the scroll bar).
    before = CSS.replace("main { container-type: inline-size; }", "").replace(
        "max-width: calc(100cqw - 14px)", "max-width: calc(100vw - 32px)")
    assert before != CSS
    clipped = tmp_path / "clipped.html"
    clipped.write_text(f"<html><head><style>{before}</style></head><body><main>{table}</main>"
                       "</body></html>")
    problems = page_problems(browser, clipped, widths=(390,))
    assert problems == ["clipped.html at 390 px: a table's title or note runs off the screen: "
                        "'A note as long, which the reader must see without scrolling.'"]
    note = json.loads(browser.evaluate(
        "JSON.stringify((() => { const n = document.querySelector('tfoot .note');"
        " const box = n.closest('table'); return [n.getBoundingClientRect().right,"
        " box.getBoundingClientRect().left + box.clientWidth]; })())"))
    assert note[0] > note[1]  # past the box's visible edge, by the measure of the checker
    browser.open(ours.as_uri(), 390)
    note = json.loads(browser.evaluate(
        "JSON.stringify((() => { const n = document.querySelector('tfoot .note');"
        " const box = n.closest('table'); return [n.getBoundingClientRect().right,"
        " box.getBoundingClientRect().left + box.clientWidth]; })())"))
    assert note[0] <= note[1]


# ---- failures ------------------------------------------------------------------
def _notebook(path: Path, *sources: str) -> Path:
    return write_notebook(path, "x = 1\nlabel = 'a'", *sources)


def test_committed_notebooks_have_one_parameters_cell_and_no_outputs():
    for path in report_notebooks():
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        params = notebook_parameters(path)
        assert {"data", "codebook", "out_dir", "threshold"} <= set(params)


def test_unknown_parameter_is_an_error(tmp_path):
    path = _notebook(tmp_path / "tiny.ipynb", "print(x)")
    with pytest.raises(ReportError, match=r"tiny.ipynb: unknown parameter\(s\) y; it declares "
                                          r"label, x"):
        check_parameters(path, {"x": 2, "y": 3})
    with pytest.raises(ReportError, match=r"Unknown parameter\(s\) colour: no report notebook"):
        render_reports(CODEBOOK_PATH, CODEBOOK_PATH, tmp_path / "out",
                       parameters={"colour": "red"}, progress=False)


def test_cli_reports_bad_parameters_with_exit_status_2(tmp_path, capsys):
    data = write_survey(simulate_survey(50, seed=2), tmp_path / "survey.csv")
    status = main(["report", str(data), "--codebook", str(CODEBOOK_PATH),
                   "--out", str(tmp_path / "out"), "--param", "nonsense=1"])
    err = capsys.readouterr().err
    assert status == 2 and "Unknown parameter(s) nonsense" in err and "Traceback" not in err
    assert main(["report", str(data), "--codebook", str(CODEBOOK_PATH),
                 "--out", str(tmp_path / "out"), "--param", "novalue"]) == 2
    assert "write it as name=value" in capsys.readouterr().err


def test_failing_cell_names_notebook_cell_and_error(tmp_path):
    path = _notebook(tmp_path / "broken.ipynb", "y = x + 1", "z = y / 0  # oops")
    with pytest.raises(ReportError) as info:
        run_notebook(path, {"x": 2})
    assert str(info.value) == ("Notebook broken.ipynb, cell 3 (z = y / 0  # oops): "
                               "ZeroDivisionError: division by zero")


def test_dead_kernel_stops_the_run_with_the_cell(tmp_path):
    path = _notebook(tmp_path / "dies.ipynb", "import os\nos._exit(1)", "print('never')")
    with pytest.raises(ReportError, match=r"Notebook dies.ipynb, cell 2 \(import os\): "
                                          r"DeadKernelError"):
        run_notebook(path, {}, timeout=30)

"""Word, Excel and LaTeX exports: opened again and checked cell by cell against results.json.

One module fixture renders the descriptive and risk-factor reports of a small SIMULATED
survey in the Lancet style (mid-line decimal points, en dashes, true minus signs: every
number reads differently from the default style) with ``--formats html,docx,xlsx,tex``,
while this process keeps the default style, so the kernels must get the style from the run.
The DOCX is read back with python-docx, the XLSX with openpyxl; the LaTeX is checked as text
(no TeX installation here). The expected text of each cell is the record in results.json,
which is what the reader's HTML shows.
"""

from __future__ import annotations

import json
import re
import zipfile

import docx
import openpyxl
import pandas as pd
import pytest

from analysis.cli import main
from analysis.cli import report as _report_cli  # noqa: F401  registers `backpain report`
from analysis.report import render_reports
from analysis.report.build import report_notebooks
from analysis.report.exports import ExportTable, export, tables_to_xlsx
from analysis.simulate import CODEBOOK_PATH, simulate_survey, write_survey
from analysis.style import use_style

NAMES = ["02_descriptives", "03_risk_factors"]
NOT_TABLES = ("methods", "analysis_plan")  # records shown as paragraphs, not tables
# an interval in the Lancet style: mid-line point, en dash (or "to" with a negative bound)
LANCET_CI = re.compile(r"^−?\d+·\d+ \(−?\d+·\d+(–| to )−?\d+·\d+\)$")
DEFAULT_DECIMAL = re.compile(r"\d\.\d")


@pytest.fixture(scope="module")
def lancet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exports")
    data = write_survey(simulate_survey(600, seed=3), tmp / "survey.csv")
    notebooks = [p for p in report_notebooks() if p.stem in NAMES]
    out = tmp / "reports"
    with use_style("default"):
        render_reports(data, CODEBOOK_PATH, out, notebooks=notebooks, progress=False,
                       formats="html,docx,xlsx,tex", style="lancet")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {"out": out, "results": results}


def _shown_tables(results: dict, name: str) -> dict[str, dict]:
    """The records of ``name`` shown as tables, by title."""
    return {r["title"]: r for key, r in results[name].items()
            if key not in NOT_TABLES and not key.endswith(("_notices", "_failure"))}


def _docx_tables(path) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(caption, header, rows, the paragraph after) of every table of a Word file, in order."""
    document = docx.Document(str(path))
    body = list(document.element.body.iterchildren())
    paragraphs = {p._p: p for p in document.paragraphs}
    tables = {t._tbl: t for t in document.tables}
    out = []
    for i, element in enumerate(body):
        if element in tables:
            table = tables[element]
            caption = paragraphs[body[i - 1]].text
            after = paragraphs[body[i + 1]].text if body[i + 1] in paragraphs else ""
            cells = [[c.text for c in row.cells] for row in table.rows]
            out.append((caption, cells[0], cells[1:], after))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_docx_holds_every_table_cell_by_cell(lancet, name):
    shown = _shown_tables(lancet["results"], name)
    found = _docx_tables(lancet["out"] / "exports" / f"{name}.docx")
    captions = [re.fullmatch(r"Table (\d+)\. (.*)", c, re.S) for c, *_ in found]
    assert [int(m.group(1)) for m in captions] == list(range(1, len(found) + 1))
    assert sorted(m.group(2) for m in captions) == sorted(shown)
    for caption, header, rows, _ in found:
        record = shown[caption.split(". ", 1)[1]]
        assert header == record["columns"]
        # a level row is indented by the paragraph, not by spaces
        assert rows == [[v.strip() for v in row] for row in record["rows"]], caption


def test_docx_tables_have_a_real_header_row_caption_field_and_footnote(lancet):
    path = lancet["out"] / "exports" / "03_risk_factors.docx"
    xml = zipfile.ZipFile(path).read("word/document.xml").decode()
    assert xml.count("<w:tblHeader") == xml.count("<w:tbl>")  # one header row per table
    assert xml.count("SEQ Table") == xml.count("<w:tbl>")
    models = [t for t in _docx_tables(path) if t[0].endswith(": odds ratios")]
    assert models and models[0][3].startswith("Firth logistic regression on ")


def test_whole_report_docx_has_headings_methods_and_figures(lancet):
    out = lancet["out"]
    document = docx.Document(str(out / "exports" / "03_risk_factors.docx"))
    styled = [(p.style.name, p.text) for p in document.paragraphs]
    assert styled[0] == ("Title", "Associations: regression models")
    headings = [t for s, t in styled if s == "Heading 1"]
    assert headings[:3] == ["Methods", "Causal diagram",
                            "Back-muscle spasm in the last 12 months: odds ratios"]
    methods = lancet["results"]["03_risk_factors"]["methods"]["rows"]
    texts = [t for _, t in styled]
    assert all(row[0] in texts for row in methods)
    page = (out / "03_risk_factors.html").read_text(encoding="utf-8")
    assert len(document.inline_shapes) == page.count('src="data:image/png;base64,') > 0


@pytest.mark.parametrize("name", NAMES)
def test_xlsx_has_a_sheet_per_table_with_numbers_stored_as_numbers(lancet, name):
    shown = _shown_tables(lancet["results"], name)
    book = openpyxl.load_workbook(lancet["out"] / "exports" / f"{name}.xlsx")
    assert len(book.sheetnames) == len(shown)
    numbers = 0
    for sheet in book.worksheets:
        record = shown[sheet["A1"].value]
        assert [c.value for c in sheet[3]] == record["columns"]
        for r, row in enumerate(record["rows"]):
            for j, text in enumerate(row):
                cell = sheet.cell(row=4 + r, column=1 + j)
                if isinstance(cell.value, int | float):
                    numbers += 1
                    # the Lancet text, read independently: mid-dot point, thin-space groups
                    plain = text.replace("·", ".").replace("\u2009", "").replace("−", "-")
                    assert cell.value == pytest.approx(float(plain)), (record["title"], text)
                    decimals = len(plain.split(".")[1]) if "." in plain else 0
                    fraction = cell.number_format.split(".")[1] if "." in \
                        cell.number_format else ""
                    assert fraction == "0" * decimals, (text, cell.number_format)
                    assert ("#,##0" in cell.number_format) == ("\u2009" in text)
                else:
                    assert (cell.value or "") == text.strip(), (record["title"], r, j)
        note_row = 5 + len(record["rows"])
        if sheet.cell(row=note_row, column=1).value is not None:
            assert sheet.cell(row=note_row, column=1).font.italic
    assert numbers > 20  # the counts and p-values of the tables
    if name == "03_risk_factors":  # Lancet p-values ("0·043") are numbers too
        sheet = next(s for s in book.worksheets if s["A1"].value.endswith(": odds ratios"))
        column = [c.value for c in sheet[3]].index("p crude") + 1
        values = [sheet.cell(row=r, column=column).value for r in range(4, sheet.max_row)]
        assert sum(isinstance(v, float) for v in values) > 5


def test_small_counts_stay_suppressed_text_in_every_export(lancet):
    out, results = lancet["out"], lancet["results"]
    hidden = [(title, r, j) for title, rec in _shown_tables(results, "02_descriptives").items()
              for r, row in enumerate(rec["rows"]) for j, v in enumerate(row) if v == "<5"]
    assert hidden, "the fixture should have small counts"
    book = openpyxl.load_workbook(out / "exports" / "02_descriptives.xlsx")
    sheets = {s["A1"].value: s for s in book.worksheets}
    for title, r, j in hidden:
        assert sheets[title].cell(row=4 + r, column=1 + j).value == "<5"
    docx_cells = {c: rows for c, _, rows, _ in
                  _docx_tables(out / "exports" / "02_descriptives.docx")}
    for title, r, j in hidden:
        caption = next(c for c in docx_cells if c.endswith(". " + title))
        assert docx_cells[caption][r][j] == "<5"
    tex = (out / "exports" / "02_descriptives.tex").read_text(encoding="utf-8")
    assert r"\textless{}5" in tex and "<5" not in tex


def _tex(text: str) -> str:
    """The LaTeX of a cell as written by hand for the characters these tables use."""
    for old, new in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                     ("<", r"\textless{}"), (">", r"\textgreater{}"),
                     ("·", r"\textperiodcentered{}"), ("–", "--"), ("−", r"\textminus{}"),
                     ("\u2009", r"\,"), ("²", r"\textsuperscript{2}"), ("#", r"\#"),
                     ("$", r"\$"), ("×", r"$\times$")):
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("name", NAMES)
def test_latex_is_booktabs_with_every_cell(lancet, name):
    shown = _shown_tables(lancet["results"], name)
    tex = (lancet["out"] / "exports" / f"{name}.tex").read_text(encoding="utf-8")
    assert tex.startswith("%") and r"\usepackage{booktabs}" in tex
    assert tex.rstrip().endswith(r"\end{document}")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}"):
        assert tex.count(rule) == len(shown)
    assert r"\hline" not in tex
    for title, record in shown.items():
        assert rf"\caption{{{_tex(title)}}}" in tex
        lines = tex.splitlines()
        for row in record["rows"]:
            if any("\n" in v for v in row):
                continue  # multi-line cells (the provenance's package list) wrap
            cells = [(r"\quad " + _tex(v.strip())) if v.startswith("    ") else _tex(v)
                     for v in row]
            assert " & ".join(cells) + r" \\" in lines, (title, row)
    assert tex.count("{") == tex.count("}")


def test_the_style_of_the_run_is_everywhere(lancet):
    """Lancet in the HTML page, the CSV-backed results, DOCX, XLSX and LaTeX alike."""
    out, results = lancet["out"], lancet["results"]
    cis = [v for name in NAMES for rec in _shown_tables(results, name).values()
           for row in rec["rows"] for c, v in zip(rec["columns"], row, strict=True)
           # an E-value's column names its CI limit, but holds no interval
           if "CI" in c and not c.startswith("E-value")
           and v not in ("", "1 (reference)", "0 (reference)", "suppressed", "not estimable")]
    assert len(cis) > 30
    assert [v for v in cis if not LANCET_CI.match(v)] == []
    for name in NAMES:
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        for rec in _shown_tables(results, name).values():
            if rec["title"].startswith("Provenance"):
                continue  # versions and hashes are not numbers of the analysis
            for row in rec["rows"]:
                for v in row:
                    assert not DEFAULT_DECIMAL.search(v), (rec["title"], v)
        tables = [c for c in cis if c in {v for rec in _shown_tables(results, name).values()
                                          for row in rec["rows"] for v in row}]
        assert all(c in page for c in tables)
        words = " ".join(p.text for p in docx.Document(
            str(out / "exports" / f"{name}.docx")).paragraphs
            if not p.text.startswith("Software:"))  # versions are not numbers of the analysis
        # the methods and notes too, not only the tables
        assert not DEFAULT_DECIMAL.search(words), DEFAULT_DECIMAL.search(words)
    tex = (out / "exports" / "03_risk_factors.tex").read_text(encoding="utf-8")
    assert r"\textperiodcentered{}" in tex
    p_values = pd.DataFrame(_shown_tables(results, "03_risk_factors")
                            ["Back-muscle spasm in the last 12 months: odds ratios"]["rows"])
    assert p_values[2].str.contains("·").any()


def test_export_of_one_table_from_python(tmp_path):
    frame = pd.DataFrame({"Factor": ["Posture", "    Poor"], "n": ["12,345", "<5"],
                          "p": ["0.042", "<0.001"], "OR (95% CI)": ["", "1.93 (1.09-3.44)"]})
    for suffix in ("docx", "xlsx", "tex"):
        path = export(frame, tmp_path / f"t.{suffix}", title="Odds & ratios", note="n < 5: hidden")
        assert path.stat().st_size > 0
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [sheet.cell(row=4, column=j).value for j in (1, 2, 3)] == ["Posture", 12345, 0.042]
    assert sheet.cell(row=4, column=2).number_format == "#,##0"
    assert sheet.cell(row=4, column=3).number_format == "0.000"
    assert [sheet.cell(row=5, column=j).value for j in (1, 2, 3, 4)] == [
        "Poor", "<5", "<0.001", "1.93 (1.09-3.44)"]
    assert sheet.cell(row=5, column=1).alignment.indent == 2
    assert sheet.cell(row=7, column=1).value == "n < 5: hidden"
    tex = (tmp_path / "t.tex").read_text(encoding="utf-8")
    assert r"\caption{Odds \& ratios}" in tex
    assert r"\quad Poor & \textless{}5 & \textless{}0.001 & 1.93 (1.09-3.44) \\" in tex
    document = docx.Document(str(tmp_path / "t.docx"))
    assert [c.text for c in document.tables[0].rows[2].cells] == [
        "Poor", "<5", "<0.001", "1.93 (1.09-3.44)"]
    assert document.paragraphs[0].text == "Table 1. Odds & ratios"


def test_jama_p_values_keep_their_missing_leading_zero_in_excel(tmp_path):
    table = ExportTable("P values", ["Test", "P"], [["a", ".04"], ["b", ".003"],
                                                    ["c", "<.001"]])
    with use_style("jama"):
        tables_to_xlsx([table], tmp_path / "p.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "p.xlsx").active
    assert [(sheet.cell(row=r, column=2).value, sheet.cell(row=r, column=2).number_format)
            for r in (4, 5, 6)] == [(0.04, "#.00"), (0.003, "#.000"), ("<.001", "General")]


def test_cli_passes_formats_and_style_and_refuses_unknown_ones(tmp_path, monkeypatch, capsys):
    from analysis import report as report_module

    data = write_survey(simulate_survey(50, seed=1), tmp_path / "survey.csv")
    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        return pd.DataFrame({"notebook": [], "title": [], "seconds": []})

    monkeypatch.setattr(report_module, "render_reports", fake)
    assert main(["report", str(data), "--codebook", str(CODEBOOK_PATH), "--out",
                 str(tmp_path / "r"), "--formats", "docx,xlsx,tex", "--style", "nejm"]) == 0
    assert seen["formats"] == ("html", "docx", "xlsx", "tex")
    assert seen["style"].name == "nejm"
    for option, value, message in (("--style", "vancouver", "Unknown number style"),
                                   ("--formats", "html,pdf", "Unknown export format(s) pdf")):
        code = main(["report", str(data), "--codebook", str(CODEBOOK_PATH), "--out",
                     str(tmp_path / "r"), option, value])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err


def test_exports_are_byte_identical_when_made_again(lancet):
    from analysis.report.exports import export_report

    folder = lancet["out"] / "exports"
    before = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    for name in NAMES:
        with use_style("lancet"):
            export_report(lancet["out"], name, ("docx", "xlsx", "tex"))
    assert {p.name: p.read_bytes() for p in sorted(folder.iterdir())} == before
    assert len(before) == 3 * len(NAMES)

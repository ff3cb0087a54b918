"""`backpain report --sheet`: the report reads the named Excel sheet, like every command."""

from __future__ import annotations

import json

import pandas as pd

from analysis.cli import main
from analysis.report import render_reports
from analysis.report.build import report_notebooks
from analysis.simulate import CODEBOOK_PATH, simulate_survey


def test_report_reads_the_named_sheet(tmp_path):
    survey = simulate_survey(200, seed=4)
    workbook = tmp_path / "export.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        pd.DataFrame({"note": ["exported by the clinic"]}).to_excel(writer, sheet_name="About",
                                                                     index=False)
        survey.to_excel(writer, sheet_name="Responses", index=False)
    nb = next(p for p in report_notebooks() if p.name.startswith("01_"))
    out = tmp_path / "out"
    render_reports(workbook, CODEBOOK_PATH, out, notebooks=[nb], parameters={"sheet": "Responses"},
                   progress=False)
    flow = json.loads((out / "results" / "01_data_quality.json").read_text())
    provenance = dict(flow["provenance"]["rows"])
    assert provenance["Parameter sheet"] == "Responses"
    read = [row for row in flow["flow"]["rows"] if "read" in " ".join(map(str, row)).lower()]
    assert read and "200" in " ".join(map(str, read[0]))
    # The CLI refuses a sheet that is not there before any notebook runs.
    assert main(["report", str(workbook), "--codebook", str(CODEBOOK_PATH), "--out",
                 str(tmp_path / "out2"), "--sheet", "Nope"]) == 2

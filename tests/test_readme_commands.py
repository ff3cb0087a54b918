"""Every `backpain` command shown in the README runs on the example and exits 0.

The commands are read from the README's ``sh`` blocks, so a command added there
is run here. Lines of the "own file" walk-through name ``survey.csv``: here that
is a copy of the example survey, and they run in the order shown (``init`` writes
the codebook the later lines use).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    """The `backpain ...` lines of the README's ``sh`` blocks, in order."""
    blocks = re.findall(r"^ *```sh\n(.*?)^ *```", README.read_text(), flags=re.S | re.M)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line.split("  #")[0].strip() for line in lines if line.startswith("backpain ")]


COMMANDS = readme_commands()
REPORTS = [c for c in COMMANDS if c.startswith("backpain report")]


def test_the_readme_shows_every_command():
    shown = {shlex.split(c)[1] for c in COMMANDS}
    assert shown == {"init", "validate", "simulate", "score", "describe", "fit", "datasets",
                     "report", "--help"}
    # The own-data walk-through starts with drafting the codebook.
    text = README.read_text()
    own = text[text.index("### From your own file to a report"):]
    assert readme_commands_in(own)[0] == "backpain init survey.csv --out survey.yml"


def readme_commands_in(text: str) -> list[str]:
    blocks = re.findall(r"^ *```sh\n(.*?)^ *```", text, flags=re.S | re.M)
    return [line.strip() for b in blocks for line in b.splitlines()
            if line.strip().startswith("backpain ")]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder that looks like the repository's root, with the example as ``survey.csv``."""
    (tmp_path / "data").symlink_to(ROOT / "data")
    shutil.copy(ROOT / "data" / "example" / "survey.csv", tmp_path / "survey.csv")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    return tmp_path


def _run(command: str, capsys) -> tuple[int, str]:
    status = main(shlex.split(command)[1:])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_each_readme_command_exits_0(workdir, capsys):
    assert os.environ.get("BACKPAIN_DATA_DIR"), "the datasets lines need BACKPAIN_DATA_DIR"
    for command in [c for c in COMMANDS if c not in REPORTS]:
        status, output = _run(command, capsys)
        assert status == 0, f"{command}\n{output}"
        assert "Traceback" not in output
    # What the lines wrote is there and holds what they say.
    assert (workdir / "my_codebook.yml").read_text().startswith("# Drafted by `backpain init`")
    assert (workdir / "survey.yml").is_file()
    table = (workdir / "or.csv").read_text().splitlines()
    assert table[0].startswith("variable,level,label,or_crude,")
    assert {row.split(",")[0] for row in table[1:]} == {"posture", "heavy_lifting"}
    # The crude odds ratio of heavy lifting, by hand from the 2x2 table of the rows fitted.
    import pandas as pd

    from analysis import load_survey

    survey = load_survey("survey.csv", "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    rows = survey.data[["heavy_lifting", "spasm_12m", "posture", "age", "sex"]].dropna()
    cells = pd.crosstab(rows["heavy_lifting"], rows["spasm_12m"])
    by_hand = (cells.loc["Yes", "Yes"] * cells.loc["No", "No"]
               / (cells.loc["Yes", "No"] * cells.loc["No", "Yes"]))
    odds = pd.read_csv(workdir / "or.csv").set_index(["variable", "level"])
    assert odds.loc[("heavy_lifting", "Yes"), "or_crude"] == pytest.approx(by_hand, rel=1e-9)
    assert (workdir / "table1.csv").stat().st_size > 0
    assert (workdir / "simulated.csv").read_text().count("\n") == 5001


def test_describe_and_fit_say_how_many_rows_they_set_aside(workdir, capsys):
    fit = next(c for c in COMMANDS if c.startswith("backpain fit"))
    status, output = _run(fit, capsys)
    assert status == 0
    # The example plants broken rows: the default sets them aside and says so, with the flag.
    assert re.search(r"\d+ of 5,000 rows set aside for broken rules", output)
    assert "--on-invalid raise stops instead" in output
    status, output = _run(fit + " --on-invalid raise", capsys)
    assert status == 2
    assert "run with --on-invalid exclude" in output
    assert "on_invalid=" not in output


@pytest.mark.slow
def test_the_readme_report_lines_render(workdir, capsys):
    for command in COMMANDS:
        if command.startswith("backpain init survey.csv") or command in REPORTS:
            status, output = _run(command, capsys)
            assert status == 0, f"{command}\n{output}"
    for command in REPORTS:
        out = workdir / shlex.split(command)[shlex.split(command).index("--out") + 1]
        assert (out / "index.html").is_file()
        assert (out / "01_data_quality.html").is_file()

"""Every command, given a missing file, an unreadable file, a wrong codebook or an output it
cannot write, exits 2 with a message saying so, before doing any work, never a traceback.

The CLI runs in-process (``analysis.cli.main``); ``report`` is stopped by its
checks before any notebook kernel starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.cli import main

BAD = Path(__file__).resolve().parent / "data" / "bad"
DATA, CODEBOOK = BAD / "clean.csv", BAD / "codebook.yml"


def _args(command: str, data: Path, codebook: Path, out: Path) -> list[str]:
    if command == "validate":
        return ["validate", str(data), "-c", str(codebook), "--ledger", str(out / "ledger.csv")]
    if command == "report":
        return ["report", str(data), "--codebook", str(codebook), "--out", str(out / "reports")]
    return [command, str(data), "-c", str(codebook), "--out", str(out / f"{command}.out")]


COMMANDS = ["validate", "score", "describe", "fit", "report"]


def _run(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_file(command, tmp_path, capsys):
    err = _run(_args(command, tmp_path / "absent.csv", CODEBOOK, tmp_path), capsys)
    assert "absent.csv: no such file" in err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "words"), [("corrupt.parquet", "cannot read it as parquet"),
                                             ("binary_garbage.csv", "encoding="),
                                             ("parquet_folder_corrupt", "part-1.parquet")])
def test_unreadable_file(command, name, words, tmp_path, capsys):
    assert words in _run(_args(command, BAD / name, CODEBOOK, tmp_path), capsys)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("codebook", "words"), [
    ("codebook_shared_label.yml", "share the label 'Sweden'"),
    ("codebook_latin1.yml", "not UTF-8"),
    ("absent.yml", "cannot read the codebook"),
    ("clean.csv", "not a REDCap data dictionary"),  # the data given as the codebook
])
def test_wrong_codebook(command, codebook, words, tmp_path, capsys):
    assert words in _run(_args(command, DATA, BAD / codebook, tmp_path), capsys)


@pytest.mark.parametrize("command", ["validate", "score", "describe", "fit"])
def test_codebook_of_another_survey(command, tmp_path, capsys):
    other = tmp_path / "other.yml"
    other.write_text("variables:\n  bmi: {type: numeric, label: BMI}\n")
    err = _run(_args(command, DATA, other, tmp_path), capsys)
    assert "'bmi'" in err and "missing column" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_unwritable_output(command, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where the output folder should be")
    err = _run(_args(command, DATA, CODEBOOK, blocker), capsys)
    assert "cannot create the folder" in err and "a_file" in err


def test_output_folders_are_created(tmp_path, capsys):
    out = tmp_path / "new" / "deeper"
    assert main(["validate", str(DATA), "-c", str(CODEBOOK), "--ledger",
                 str(out / "ledger.csv")]) == 0
    assert (out / "ledger.csv").is_file()
    assert main(["describe", str(DATA), "-c", str(CODEBOOK), "--out", str(out / "t1.csv")]) == 0
    assert (out / "t1.csv").is_file()


# ---- datasets: no codebook option; a missing, damaged or unstorable file ------------
def test_datasets_unknown_name(capsys):
    assert "Unknown dataset 'no-such'" in _run(["datasets", "info", "no-such"], capsys)


def test_datasets_damaged_local_file(tmp_path, monkeypatch, capsys):
    from analysis import datasets

    name = "hsaur3-backpain"
    (tmp_path / datasets.get(name).file_name).write_bytes(b"not the published file")
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(tmp_path))
    assert "checksum mismatch" in _run(["datasets", "fetch", name], capsys)


def test_datasets_cache_that_cannot_be_written(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.delenv("BACKPAIN_DATA_DIR", raising=False)
    # pooch makes the cache folder before any download, so no request is sent.
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(blocker / "cache"))
    assert "is not available" in _run(["datasets", "fetch", "hsaur3-backpain"], capsys)


def test_render_reports_checks_its_folder_before_any_notebook(tmp_path):
    from analysis.errors import ReportError
    from analysis.report import render_reports

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="cannot be written"):
        render_reports(DATA, CODEBOOK, blocker / "reports", notebooks=[tmp_path / "none.ipynb"])


def test_describe_names_the_sheet_it_read(tmp_path, capsys):
    assert main(["describe", str(BAD / "two_sheets.xlsx"), "-c", str(CODEBOOK), "--out",
                 str(tmp_path / "t1.csv")]) == 0
    assert "sheet: Survey (first sheet with data; sheets: 'Notes', 'Survey', 'Pilot')" in \
        capsys.readouterr().out
    assert main(["describe", str(BAD / "two_sheets.xlsx"), "-c", str(CODEBOOK), "--sheet",
                 "Pilot", "--out", str(tmp_path / "t1.csv")]) == 0
    out = capsys.readouterr().out
    assert "sheet: Pilot (given" in out and "1 rows analysed of 1 read" in out

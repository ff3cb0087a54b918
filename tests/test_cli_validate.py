"""`backpain validate`: a summary and exit 0, or the message without a traceback and exit 2."""

import subprocess
import sys

import pandas as pd

from analysis.cli import main
from test_validate import CODEBOOK, GOOD


def _files(tmp_path, **changes):
    pd.DataFrame({**GOOD, **changes}).to_csv(tmp_path / "survey.csv", index=False)
    CODEBOOK.to_yaml(tmp_path / "codebook.yml")
    return str(tmp_path / "survey.csv"), str(tmp_path / "codebook.yml")


def test_summary_of_a_clean_file(tmp_path, capsys):
    data, cb = _files(tmp_path)
    assert main(["validate", data, "--codebook", cb]) == 0
    out = capsys.readouterr().out
    assert "rows read" in out and "rows analysed" in out
    assert "missing code: refused" in out and "missing code: don't know" in out


def test_exclude_mode_writes_the_ledger(tmp_path, capsys):
    data, cb = _files(tmp_path, age=[34, 151, -9, 28])
    ledger = tmp_path / "ledger.csv"
    assert main(["validate", data, "-c", cb, "--on-invalid", "exclude", "--ledger", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert "age: out of range" in out
    rows = pd.read_csv(ledger)
    assert rows.query("action == 'excluded'")[["line", "column", "rule"]].values.tolist() == [
        [3, "age", "out of range"]]


def test_bad_input_exits_2_with_the_message_and_no_traceback(tmp_path):
    data, cb = _files(tmp_path, sex=[1, 2, 3, 1])
    run = subprocess.run([sys.executable, "-m", "analysis.cli", "validate", data, "-c", cb,
                          "--on-invalid", "raise"], capture_output=True, text=True)
    assert run.returncode == 2
    assert "column 'sex': unknown code, 1 row (first: line 4: 3)" in run.stderr
    # The hint names the flag, not the Python argument.
    assert "Or run with --on-invalid exclude to set these rows aside" in run.stderr
    assert "on_invalid=" not in run.stderr
    assert "Traceback" not in run.stderr


def test_default_sets_invalid_rows_aside_and_says_so(tmp_path, capsys):
    data, cb = _files(tmp_path, sex=[1, 2, 3, 1])
    assert main(["validate", data, "-c", cb]) == 0
    out = capsys.readouterr().out
    assert "    sex: unknown code" in out
    analysed = next(line for line in out.splitlines() if line.startswith("rows analysed"))
    assert analysed.split() == ["rows", "analysed", "3"]


def test_missing_file_and_bad_codebook_exit_2(tmp_path, capsys):
    _, cb = _files(tmp_path)
    assert main(["validate", str(tmp_path / "absent.csv"), "-c", cb]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "bad.yml").write_text("variables:\n  age: {type: numeric, lable: Age}\n")
    assert main(["validate", str(tmp_path / "survey.csv"), "-c", str(tmp_path / "bad.yml")]) == 2
    assert "variable 'age', key 'lable': unknown key (did you mean 'label'?)" in capsys.readouterr().err


def test_usage_errors_exit_2(tmp_path):
    data, _ = _files(tmp_path)
    assert main(["validate", data]) == 2

"""The corpus of badly formed files (tests/data/bad, written by make_bad.py) read through the CLI.

Each file is either read right, giving the rows and values of the clean
reference (and saying what it did: encoding, sheet, tokens, removals), or
refused with exit status 2 and a message naming the defect, never a traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.load import load_survey

BAD = Path(__file__).resolve().parent / "data" / "bad"
CODEBOOK = BAD / "codebook.yml"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return load_survey(BAD / "clean.csv", CODEBOOK, keep_identifiers=True).data


def test_the_reference_keeps_leading_zeros_and_yaml_1_1_words(reference):
    assert reference["rid"].tolist() == ["00042", "00043", "00044", "00107"]
    # NO (Norway) and the levels no/yes stay text: YAML 1.2 core schema.
    assert reference["country"].tolist() == ["Norway", "Sweden", "Denmark", "Norway"]
    assert list(reference["smoker"].cat.categories) == ["no", "yes"]
    assert reference["age"].tolist()[::2] == [34.5, 28.0]
    assert list(reference.index) == [2, 3, 4, 5]


# file, extra CLI options, words in the output, ledger (rule, line) pairs expected
READ_RIGHT = [
    ("clean.csv", [], ["encoding: utf-8", "rows analysed             4"], []),
    ("bom.csv", [], ["encoding: utf-8-sig"], []),
    ("latin1.csv", [], ["encoding: cp1252"], []),
    ("utf16.csv", [], ["encoding: utf-16"], []),
    ("crlf.csv", [], [], []),
    ("tab.tsv", [], [], []),
    ("spaces_around_values.csv", [], [], []),
    ("qualtrics.csv", [], ["StartDate (export metadata)"], []),
    ("semicolon_decimal_comma.csv", [], ["values read as decimal point (decimal comma)"],
     [("decimal comma", 2)]),
    ("na_tokens.csv", [], ["missing token: NA", "missing token: N/A", "missing token: ."],
     [("missing token: NA", 3), ("missing token: .", 4), ("missing token: N/A", 5)]),
    ("nul_bytes.csv", [], ["control characters removed", "(first: 3)"],
     [("control characters removed (NUL or other)", 3)]),
    ("trailing_empty_columns.csv", [], ["empty column without a name"], []),
    ("two_sheets.xlsx", [], ["sheet: Survey (first sheet with data"], []),
    ("two_sheets.xlsx", ["--sheet", "Survey"], ["sheet: Survey (given"], []),
    ("two_sheets.xlsx", ["--sheet", "2"], ["sheet: Survey (given"], []),
    ("parquet_folder", [], ["2 Parquet file(s)", "rows analysed             4"], []),
]


@pytest.mark.parametrize(("name", "options", "words", "entries"), READ_RIGHT,
                         ids=[f"{r[0]}{''.join(r[1])}" for r in READ_RIGHT])
def test_read_right(name, options, words, entries, reference, tmp_path, capsys):
    ledger = tmp_path / "ledger" / "entries.csv"  # a folder that does not exist yet
    assert main(["validate", str(BAD / name), "-c", str(CODEBOOK), "--ledger", str(ledger),
                 *options]) == 0
    out = capsys.readouterr().out
    for word in words:
        assert word in out
    written = pd.read_csv(ledger, dtype={"line": "Int64"})
    for rule, line in entries:
        assert ((written["rule"] == rule) & (written["line"] == line)).sum() == 1, (rule, line)
    read = {"sheet": options[1]} if options else {}
    survey = load_survey(BAD / name, CODEBOOK, keep_identifiers=True, **read)
    if name == "parquet_folder":
        with survey:
            survey = survey.to_survey()
    # Lines as a person sees them: Qualtrics data start on line 4, Parquet records at 1.
    first = {"qualtrics.csv": 4, "parquet_folder": 1}.get(name, 2)
    expected = reference.set_axis(range(first, first + 4)).rename_axis("line")
    pd.testing.assert_frame_equal(survey.data, expected, check_dtype=False,
                                  check_index_type=False)


def test_quoted_newline_and_blank_line_keep_file_lines(reference, capsys):
    survey = load_survey(BAD / "quoted_newline_blank_line.csv", CODEBOOK, keep_identifiers=True)
    # Line 4 holds a quoted newline (to line 5), line 6 is blank: the next record is line 7.
    assert list(survey.data.index) == [2, 3, 4, 7]
    assert survey.data.loc[4, "town"] == "Nîmes\n(Gard)"
    expected = reference.drop(columns="town").set_axis([2, 3, 4, 7]).rename_axis("line")
    pd.testing.assert_frame_equal(survey.data.drop(columns="town"), expected, check_dtype=False)


def test_a_broken_value_after_a_quoted_newline_is_named_by_its_file_line(tmp_path, capsys):
    text = (BAD / "quoted_newline_blank_line.csv").read_text().replace("61", "610")
    (tmp_path / "s.csv").write_text(text)
    assert main(["validate", str(tmp_path / "s.csv"), "-c", str(CODEBOOK),
                 "--on-invalid", "raise"]) == 2
    assert "column 'age': out of range, 1 row (first: line 7: 610)" in capsys.readouterr().err


def test_mojibake_is_read_with_a_warning_naming_the_line(reference, capsys):
    assert main(["validate", str(BAD / "mojibake.csv"), "-c", str(CODEBOOK)]) == 0
    captured = capsys.readouterr()
    assert "possible mojibake" in captured.out and "(first: 2)" in captured.out
    assert "warning:" in captured.err and "line 2" in captured.err and "KÃ¶ln" in captured.err


# file (or folder), codebook, words in the message
REFUSED = [
    ("duplicate_header.csv", "codebook.yml", ["duplicate column names", "'age' (columns 2, 6)"]),
    ("header_collides_after_strip.csv", "codebook.yml",
     ["duplicate column names", "'age' (columns 2, 6)", "surrounding spaces"]),
    ("ragged_line.csv", "codebook.yml", ["ragged line", "8 fields", "header has 7"]),
    ("decimal_comma_ambiguous.csv", "codebook.yml",
     ["decimal comma", "line 2: '1,250'", "decimal: ','"]),
    ("not_a_number.csv", "codebook.yml", ["not a number", "line 2: '34 years'"]),
    ("unknown_code.csv", "codebook.yml", ["unknown code", "line 3: 'FI'"]),
    ("empty.csv", "codebook.yml", ["the file is empty"]),
    ("binary_garbage.csv", "codebook.yml", ["encoded", "encoding="]),
    ("corrupt.parquet", "codebook.yml", ["cannot read it as parquet"]),
    ("corrupt.xlsx", "codebook.yml", ["cannot read it as excel"]),
    ("parquet_folder_corrupt", "codebook.yml",
     ["part-1.parquet", "cannot read it as Parquet", "replace or remove that file"]),
    ("clean.csv", "codebook_latin1.yml", ["not UTF-8", "line 9", "save it as UTF-8"]),
    ("clean.csv", "codebook_shared_label.yml",
     ["line 7", "'country'", "share the label 'Sweden'"]),
    ("clean.csv", "codebook_duplicate_key.yml",
     ["line 11", "key 'age' appears twice", "first on line 5"]),
    ("two_sheets.xlsx", "codebook.yml --sheet Sheet9", ["no sheet 'Sheet9'", "'Notes', 'Survey'"]),
    ("clean.csv", "codebook.yml --sheet 1", ["applies to Excel"]),
]


@pytest.mark.parametrize(("name", "codebook", "words"), REFUSED,
                         ids=[f"{r[0]}-{r[1]}" for r in REFUSED])
def test_refused_with_a_message(name, codebook, words, capsys):
    codebook, *options = codebook.split()
    assert main(["validate", str(BAD / name), "-c", str(BAD / codebook), *options,
                 "--on-invalid", "raise"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_a_glob_of_parquet_files_validates_like_a_folder(capsys):
    assert main(["validate", str(BAD / "parquet_folder" / "*.parquet"), "-c", str(CODEBOOK)]) == 0
    assert "rows read                 4" in capsys.readouterr().out


def test_the_corpus_is_what_make_bad_writes(tmp_path):
    # The committed files are the generator's output (Parquet and Excel bytes carry
    # library versions, so those are compared as data).
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_bad", BAD / "make_bad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, content in module.files().items():
        if not name.endswith(".xlsx"):
            assert (BAD / name).read_bytes() == content, name


def test_corpus_folder_is_left_alone(tmp_path):
    # Reading never writes next to the data (no cache or lock files in the corpus).
    before = sorted(p.name for p in BAD.rglob("*"))
    copy = tmp_path / "bad"
    shutil.copytree(BAD / "parquet_folder", copy)
    load_survey(copy, CODEBOOK).close()
    assert sorted(p.name for p in BAD.rglob("*")) == before

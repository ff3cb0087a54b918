"""Write the corpus of badly formed survey files, one per defect class (run from anywhere).

    python tests/data/bad/make_bad.py

Every file derives from ``CLEAN`` (the reference, also written as
``clean.csv``) and ``codebook.yml``; ``tests/test_bad_corpus.py`` reads each
through the CLI and says what must come out: the reference rows and values,
or exit status 2 with named words. All data are made up.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

CODEBOOK = """\
name: bad_corpus
description: Made-up survey for the corpus of badly formed files.
variables:
  rid: {type: id, label: Respondent}
  age: {type: numeric, label: Age, unit: years, range: [0, 120]}
  sex: {type: binary, label: Sex, levels: {1: Male, 2: Female}}
  country: {type: categorical, label: Country, levels: {NO: Norway, SE: Sweden, DK: Denmark}}
  smoker: {type: binary, label: Smoker, levels: {no: no, yes: yes}}
  town: {type: text, label: Town}
  visit: {type: date, label: Visit}
"""

HEADER = ["rid", "age", "sex", "country", "smoker", "town", "visit"]
ROWS = [
    ["00042", "34.5", "1", "NO", "no", "Köln", "2024-01-05"],
    ["00043", "", "2", "SE", "yes", "Åre", "2024-02-10"],
    ["00044", "28", "1", "DK", "no", "Nîmes", ""],
    ["00107", "61", "2", "NO", "", "Besançon", "2024-03-01"],
]


def csv_text(rows=ROWS, header=HEADER, sep=",", newline="\n") -> str:
    return newline.join(sep.join(r) for r in [header, *rows]) + newline


def with_cell(row: int, column: str, value: str, rows=ROWS) -> list[list[str]]:
    out = [list(r) for r in rows]
    out[row][HEADER.index(column)] = value
    return out


def files() -> dict[str, bytes]:
    """File name -> content."""
    out: dict[str, bytes] = {}
    clean = csv_text()
    out["clean.csv"] = clean.encode()
    out["codebook.yml"] = CODEBOOK.encode()
    # ---- read right ------------------------------------------------------
    out["bom.csv"] = b"\xef\xbb\xbf" + clean.encode()
    out["latin1.csv"] = clean.encode("cp1252")
    out["utf16.csv"] = clean.encode("utf-16")
    out["crlf.csv"] = csv_text(newline="\r\n").encode()
    out["semicolon_decimal_comma.csv"] = csv_text(
        with_cell(0, "age", "34,5"), sep=";").encode()
    out["tab.tsv"] = csv_text(sep="\t").encode()
    out["na_tokens.csv"] = csv_text(
        with_cell(3, "smoker", "N/A", with_cell(1, "age", "NA", with_cell(2, "visit", ".")))
    ).encode()
    out["spaces_around_values.csv"] = csv_text(
        [[f" {v} " if v else v for v in r] for r in ROWS]).encode()
    out["trailing_empty_columns.csv"] = csv_text(
        [[*r, "", ""] for r in ROWS], header=[*HEADER, "", ""]).encode()
    # A quoted newline and a blank line: file lines 2, 3, (4-5), (6 blank), 7.
    quoted = with_cell(2, "town", '"Nîmes\n(Gard)"')
    text = csv_text(quoted).splitlines(keepends=True)
    out["quoted_newline_blank_line.csv"] = "".join(
        [*text[:5], "\n", *text[5:]]).encode()
    out["nul_bytes.csv"] = csv_text(with_cell(1, "town", "Å\x00re")).encode()
    # UTF-8 text that was read as cp1252 once and saved again: "KÃ¶ln".
    out["mojibake.csv"] = csv_text(with_cell(0, "town", "Köln".encode().decode("cp1252"))
                                   ).encode()
    out["qualtrics.csv"] = (
        ",".join([*HEADER, "StartDate"]) + "\n"
        + ",".join([*HEADER, "Start Date"]) + "\n"
        + ",".join(f'"{{""ImportId"":""{h}""}}"' for h in [*HEADER, "startDate"]) + "\n"
        + "".join(",".join([*r, "2024-01-01 10:00:00"]) + "\n" for r in ROWS)).encode()
    buffer = io.BytesIO()
    frame = pd.read_csv(io.StringIO(clean), dtype=str, keep_default_na=False)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame().to_excel(writer, sheet_name="Notes", index=False)
        frame.to_excel(writer, sheet_name="Survey", index=False)
        frame.head(1).to_excel(writer, sheet_name="Pilot", index=False)
    out["two_sheets.xlsx"] = buffer.getvalue()
    # ---- refused with a message ------------------------------------------
    out["duplicate_header.csv"] = csv_text(header=[*HEADER[:5], "age", HEADER[6]]).encode()
    out["header_collides_after_strip.csv"] = csv_text(
        header=[*HEADER[:5], " age ", HEADER[6]]).encode()
    out["ragged_line.csv"] = csv_text(with_cell(1, "visit", "2024-02-10,extra")).encode()
    out["decimal_comma_ambiguous.csv"] = csv_text(
        with_cell(0, "age", "1,250"), sep=";").encode()
    out["not_a_number.csv"] = csv_text(with_cell(0, "age", "34 years")).encode()
    out["unknown_code.csv"] = csv_text(with_cell(1, "country", "FI")).encode()
    out["empty.csv"] = b""
    out["binary_garbage.csv"] = bytes(range(256)) * 4
    out["corrupt.parquet"] = b"PAR1 not really parquet"
    out["corrupt.xlsx"] = b"PK\x03\x04 not really a workbook"
    # ---- codebooks ---------------------------------------------------------
    out["codebook_latin1.yml"] = CODEBOOK.replace("Town", "Lieu de résidence").encode(
        "latin-1")
    out["codebook_shared_label.yml"] = CODEBOOK.replace("DK: Denmark", "DK: Sweden").encode()
    out["codebook_duplicate_key.yml"] = (CODEBOOK + "  age: {type: count, label: Age}\n"
                                         ).encode()
    return out


def parquet_folders() -> None:
    frame = pd.read_csv(io.StringIO(csv_text()), dtype=str, keep_default_na=False)
    for name, broken in (("parquet_folder", False), ("parquet_folder_corrupt", True)):
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        frame.iloc[:2].to_parquet(folder / "part-0.parquet", index=False)
        if broken:
            (folder / "part-1.parquet").write_bytes(b"PAR1 truncated")
        else:
            frame.iloc[2:].to_parquet(folder / "part-1.parquet", index=False)


def main() -> None:
    for name, content in files().items():
        (HERE / name).write_bytes(content)
    parquet_folders()


if __name__ == "__main__":
    main()

"""Each reader on a small file written by the test; line numbers as a person sees them."""

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from analysis.errors import ReadError
from analysis.io import read_table

FRAME = pd.DataFrame({"id": ["r1", "r2", "r3"], "age": [34, 51, 28], "town": ["Köln", "Åre", "Nîmes"]})


def _check(frame, first_line=2):
    assert list(frame.columns) == ["id", "age", "town"]
    assert list(frame.index) == list(range(first_line, first_line + 3))
    assert frame.index.name == "line"
    # CSV cells arrive as the text in the file; the validator converts them.
    assert [int(v) for v in frame["age"]] == [34, 51, 28]
    assert frame["town"].tolist() == ["Köln", "Åre", "Nîmes"]


@pytest.mark.parametrize(("encoding", "sep"), [("utf-8", ","), ("utf-8-sig", ";"),
                                               ("latin-1", "\t"), ("cp1252", "|")])
def test_csv_encodings_and_delimiters_are_sniffed(tmp_path, encoding, sep):
    path = tmp_path / "survey.csv"
    FRAME.to_csv(path, index=False, sep=sep, encoding=encoding)
    frame = read_table(path)
    _check(frame)
    assert frame.attrs["delimiter"] == sep
    assert frame.attrs["format"] == "csv"


def test_latin1_byte_deep_in_a_long_file_is_still_read(tmp_path):
    rows = ["id,age,town"] + [f"r{i},30,Paris" for i in range(50_000)] + ["rX,40,Besançon"]
    path = tmp_path / "long.csv"
    path.write_bytes("\n".join(rows).encode("latin-1"))
    frame = read_table(path)
    assert frame["town"].iloc[-1] == "Besançon"
    assert frame.index[-1] == 50_002


def test_excel(tmp_path):
    path = tmp_path / "survey.xlsx"
    FRAME.to_excel(path, index=False)
    _check(read_table(path))


def test_parquet_spss_and_stata_count_records_from_one(tmp_path):
    FRAME.to_parquet(tmp_path / "s.parquet", index=False)
    _check(read_table(tmp_path / "s.parquet"), first_line=1)
    numeric = FRAME.assign(age=FRAME["age"].astype(float))
    pyreadstat.write_sav(numeric, str(tmp_path / "s.sav"))
    _check(read_table(tmp_path / "s.sav"), first_line=1)
    pyreadstat.write_dta(numeric, str(tmp_path / "s.dta"))
    _check(read_table(tmp_path / "s.dta"), first_line=1)


QUALTRICS = """\
StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,RecipientLastName,RecipientFirstName,RecipientEmail,ExternalReference,LocationLatitude,LocationLongitude,DistributionChannel,UserLanguage,Q1,Q2
Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,Response ID,Recipient Last Name,Recipient First Name,Recipient Email,External Data Reference,Location Latitude,Location Longitude,Distribution Channel,User Language,How old are you?,Did you have a back spasm?
"{""ImportId"":""startDate""}","{""ImportId"":""endDate""}","{""ImportId"":""status""}","{""ImportId"":""ipAddress""}","{""ImportId"":""progress""}","{""ImportId"":""duration""}","{""ImportId"":""finished""}","{""ImportId"":""recordedDate""}","{""ImportId"":""_recordId""}","{""ImportId"":""recipientLastName""}","{""ImportId"":""recipientFirstName""}","{""ImportId"":""recipientEmail""}","{""ImportId"":""externalDataReference""}","{""ImportId"":""locationLatitude""}","{""ImportId"":""locationLongitude""}","{""ImportId"":""distributionChannel""}","{""ImportId"":""userLanguage""}","{""ImportId"":""QID1_TEXT""}","{""ImportId"":""QID2""}"
2026-01-05 10:00:00,2026-01-05 10:04:00,0,203.0.113.7,100,240,1,2026-01-05 10:04:00,R_1a,Doe,Jane,jane@example.org,,51.5,-0.12,anonymous,EN,34,1
2026-01-05 11:00:00,2026-01-05 11:03:00,0,203.0.113.8,100,180,1,2026-01-05 11:03:00,R_2b,Roe,Rick,rick@example.org,,48.8,2.35,anonymous,EN,51,2
"""


def test_qualtrics_export_skips_the_two_extra_header_rows(tmp_path):
    path = tmp_path / "qualtrics.csv"
    path.write_text(QUALTRICS)
    frame = read_table(path)
    assert frame.attrs["format"] == "qualtrics"
    assert list(frame.index) == [4, 5]
    assert frame["Q1"].tolist() == ["34", "51"]
    assert set(frame.attrs["identifiers"]) == {
        "IPAddress", "LocationLatitude", "LocationLongitude", "RecipientEmail",
        "RecipientFirstName", "RecipientLastName", "ExternalReference"}
    assert "StartDate" in frame.attrs["metadata"] and "Q1" not in frame.attrs["metadata"]


REDCAP = """\
record_id,redcap_event_name,sex,sports___1,sports___2,age,survey_complete
1,baseline_arm_1,1,1,0,34,2
2,baseline_arm_1,2,0,1,51,2
"""


def test_redcap_export_marks_its_bookkeeping_columns(tmp_path):
    path = tmp_path / "redcap.csv"
    path.write_text(REDCAP)
    frame = read_table(path)
    assert frame.attrs["format"] == "redcap"
    assert frame.attrs["metadata"] == ["redcap_event_name", "survey_complete"]
    assert frame["sports___2"].tolist() == ["0", "1"]


def test_unknown_extension_missing_empty_and_corrupt_files(tmp_path):
    (tmp_path / "survey.json").write_text("{}")
    with pytest.raises(ReadError, match=r"unknown file type '.json'. Known extensions: .csv"):
        read_table(tmp_path / "survey.json")
    with pytest.raises(ReadError, match="no such file"):
        read_table(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ReadError, match="the file is empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ReadError, match="cannot read it as parquet"):
        read_table(tmp_path / "broken.parquet")
    (tmp_path / "broken.xlsx").write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    with pytest.raises(ReadError, match="cannot read it as excel"):
        read_table(tmp_path / "broken.xlsx")

"""The public-dataset registry: checked fetching, the three loaders, the CLI.

The data files are read from ../shared/data/public through BACKPAIN_DATA_DIR;
downloads are exercised against a local HTTP server, never the internet.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import shutil
import socket
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import datasets
from analysis.datasets.parsers import read_arff
from analysis.errors import DatasetError

# The already-fetched files: $BACKPAIN_DATA_DIR when set (CI), else ../shared/data/public.
PUBLIC = Path(
    os.environ.get("BACKPAIN_DATA_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "public"
).resolve()

# The checksums published in ../shared/data/README.md, typed in independently of the registry.
README_SHA256 = {
    "hsaur3-backpain": "4610fa2bd87a665e3bc2b1ce6c850c1c55b9d476d2c9b743880fc1728e1cec91",
    "vertebral-column": "97c89ff8724e93b664fee3c82431905f99d39e9938c22ed64e28c8c4c3812eea",
    "stat2data-backpack": "cb39c3ca4abd61a813a823bdfeff215b1aaa81d5cf803f1d07ed089636853d29",
}

pytestmark = pytest.mark.skipif(not PUBLIC.is_dir(), reason="public data folder not available")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def public(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(PUBLIC))
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))
    return PUBLIC


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty data folder, an empty cache, and every upstream URL pointing at a closed port."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(empty))
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))
    with socket.socket() as sock:  # a port nobody listens on: connection refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name, entry in list(datasets.REGISTRY.items()):
        url = f"http://127.0.0.1:{port}/{entry.file_name}"
        monkeypatch.setitem(datasets.REGISTRY, name, replace(entry, url=url))
    return empty


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over a folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# ---- registry --------------------------------------------------------------
def test_registry_names_and_checksums_match_the_readme():
    assert datasets.names() == ["hsaur3-backpain", "vertebral-column", "stat2data-backpack"]
    for name, sha in README_SHA256.items():
        entry = datasets.get(name)
        assert entry.sha256 == sha
        assert entry.url.startswith("https://raw.githubusercontent.com/")
        description = entry.codebook.description
        assert entry.licence.split(" ")[0] in description and "Citation:" in description


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DatasetError) as err:
        datasets.load("vertebral")
    message = str(err.value)
    assert "'vertebral'" in message
    assert "hsaur3-backpain, vertebral-column, stat2data-backpack" in message


@pytest.mark.parametrize("name", list(README_SHA256))
def test_fetch_uses_the_data_dir_and_the_file_has_the_published_checksum(public, name):
    path = datasets.fetch(name)
    assert path == PUBLIC / datasets.get(name).file_name
    assert _sha256(path) == README_SHA256[name]


def test_info_without_reading_the_data(public):
    facts = datasets.info("stat2data-backpack")
    assert facts["rows"] == 100
    assert facts["sha256"] == README_SHA256["stat2data-backpack"]
    assert facts["licence"].startswith("GPL-3")
    assert "Stat2" in facts["citation"]
    assert facts["columns"][:5] == ["rownames", "backpack_weight", "body_weight", "ratio",
                                    "back_problems"]
    assert facts["local_path"] == PUBLIC / "Rdatasets_Stat2Data_Backpack.csv"


# ---- checksum and availability errors ---------------------------------------
def test_checksum_mismatch_in_the_data_dir(monkeypatch, tmp_path):
    source = PUBLIC / "Rdatasets_Stat2Data_Backpack.csv"
    altered = tmp_path / source.name
    content = bytearray(source.read_bytes())
    content[-3] = ord("8") if content[-3] != ord("8") else ord("9")
    altered.write_bytes(bytes(content))
    monkeypatch.setenv("BACKPAIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DatasetError) as err:
        datasets.load("stat2data-backpack")
    message = str(err.value)
    assert str(altered) in message
    assert f"expected sha256 {README_SHA256['stat2data-backpack']}" in message
    assert f"actual {_sha256(altered)}" in message
    assert datasets.get("stat2data-backpack").url in message


def test_missing_file_without_network_says_where_to_get_it(offline):
    start = time.perf_counter()
    with pytest.raises(DatasetError) as err:
        datasets.fetch("hsaur3-backpain")
    assert time.perf_counter() - start < 10
    message = str(err.value)
    url = datasets.get("hsaur3-backpain").url
    assert "'hsaur3-backpain'" in message and "HSAUR3_backpain.rda" in message
    assert f"download from {url} failed" in message
    assert str(offline) in message
    assert "set the environment variable BACKPAIN_DATA_DIR" in message
    assert datasets.info("hsaur3-backpain")["local_path"] is None


def test_download_is_checked_and_cached(monkeypatch, tmp_path, server):
    folder, base = server
    shutil.copy(PUBLIC / "HSAUR3_backpain.rda", folder)
    entry = datasets.get("hsaur3-backpain")
    monkeypatch.setitem(datasets.REGISTRY, entry.name,
                        replace(entry, url=f"{base}/HSAUR3_backpain.rda"))
    monkeypatch.delenv("BACKPAIN_DATA_DIR", raising=False)
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))

    path = datasets.fetch(entry.name)
    assert path == tmp_path / "cache" / "HSAUR3_backpain.rda"
    assert _sha256(path) == README_SHA256["hsaur3-backpain"]
    # The second call reads the cache: it works with the server gone.
    (folder / "HSAUR3_backpain.rda").unlink()
    assert datasets.fetch(entry.name) == path
    assert datasets.load(entry.name).n == 434


def test_download_with_wrong_checksum_is_discarded(monkeypatch, tmp_path, server):
    folder, base = server
    content = bytearray((PUBLIC / "HSAUR3_backpain.rda").read_bytes())
    content[100] ^= 0xFF
    (folder / "HSAUR3_backpain.rda").write_bytes(bytes(content))
    entry = datasets.get("hsaur3-backpain")
    monkeypatch.setitem(datasets.REGISTRY, entry.name,
                        replace(entry, url=f"{base}/HSAUR3_backpain.rda"))
    monkeypatch.delenv("BACKPAIN_DATA_DIR", raising=False)
    monkeypatch.setenv("BACKPAIN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DatasetError) as err:
        datasets.fetch(entry.name)
    message = str(err.value)
    assert f"{base}/HSAUR3_backpain.rda" in message
    assert f"expected sha256 {README_SHA256['hsaur3-backpain']}" in message
    assert f"actual {hashlib.sha256(bytes(content)).hexdigest()}" in message
    assert not (tmp_path / "cache" / "HSAUR3_backpain.rda").exists()


# ---- loaders ----------------------------------------------------------------
def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.value_counts(sort=False).items()}


def test_hsaur3_backpain(public):
    survey = datasets.load("hsaur3-backpain")
    data = survey.data
    assert survey.n == 434 and survey.accounts.n_read == 434
    assert list(data.columns) == ["matched_set", "status", "driver", "suburban"]
    assert list(data["status"].cat.categories) == ["control", "case"]  # case is the event
    assert _counts(data["status"]) == {"control": 217, "case": 217}
    assert _counts(data["driver"]) == {"No": 86, "Yes": 348}
    assert _counts(data["suburban"]) == {"No": 200, "Yes": 234}
    # 217 matched pairs, each with exactly one case and one control.
    per_set = data.groupby("matched_set")["status"].agg(lambda s: tuple(sorted(s.astype(str))))
    assert len(per_set) == 217
    assert set(per_set) == {("case", "control")}
    assert pd.crosstab(data["status"], data["driver"]).loc["case", "Yes"] == 185
    # First rows of the R data frame: set 1, case drives and lives in the suburbs.
    assert data.loc[1, ["matched_set", "status", "driver", "suburban"]].tolist() == [
        "1", "case", "Yes", "Yes"]
    assert data.loc[2, ["status", "driver", "suburban"]].tolist() == ["control", "Yes", "No"]
    # matched sets, not sampling strata: conditional logistic, not a design-based model
    assert survey.codebook.role("match") == "matched_set"
    assert survey.codebook.role("stratum") is None
    assert survey.variables("exposure") == ["driver"]


def test_vertebral_column(public):
    survey = datasets.load("vertebral-column")
    data = survey.data
    assert survey.n == 310
    numeric = ["pelvic_incidence", "pelvic_tilt", "lumbar_lordosis_angle", "sacral_slope",
               "pelvic_radius", "grade_of_spondylolisthesis"]
    assert list(data.columns) == [*numeric, "diagnosis", "abnormal"]
    assert (data[numeric].dtypes == "float64").all()
    assert list(data["diagnosis"].cat.categories) == ["Normal", "Hernia", "Spondylolisthesis"]
    assert survey.codebook["diagnosis"].reference_level == "Normal"
    assert _counts(data["diagnosis"]) == {"Normal": 100, "Hernia": 60, "Spondylolisthesis": 150}
    assert _counts(data["abnormal"]) == {"No": 100, "Yes": 210}
    assert ((data["abnormal"] == "Yes") == (data["diagnosis"] != "Normal")).all()
    # First data line of column_3C_weka.arff, at full precision.
    assert data.loc[1, numeric].tolist() == [63.0278175, 22.55258597, 39.60911701, 40.47523153,
                                             98.67291675, -0.254399986]
    assert data.loc[1, "diagnosis"] == "Hernia"
    # Pelvic incidence is pelvic tilt + sacral slope by definition: the columns are not swapped.
    gap = (data["pelvic_incidence"] - data["pelvic_tilt"] - data["sacral_slope"]).abs()
    assert gap.max() < 1e-6
    assert data["grade_of_spondylolisthesis"].max() == pytest.approx(418.5430821)


def test_arff_reader_agrees_with_scipy():
    from scipy.io import arff

    with zipfile.ZipFile(PUBLIC / "vertebral_column_archive.zip") as archive:
        text = archive.read("column_3C_weka.arff").decode("utf-8")
        two_class = archive.read("column_2C_weka.arff").decode("utf-8")
    ours = read_arff(text)
    theirs, meta = arff.loadarff(io.StringIO(text))
    assert list(ours.columns) == meta.names()
    for name in meta.names()[:-1]:
        np.testing.assert_array_equal(ours[name].to_numpy(), theirs[name])
    assert ours["class"].tolist() == [v.decode() for v in theirs["class"]]
    # Our 'abnormal' is the class of the two-class file, row by row.
    merged = read_arff(two_class)["class"]
    assert ((merged == "Abnormal") == (ours["class"] != "Normal")).all()


def test_arff_reader_errors_name_the_line():
    text = "@relation r\n@attribute x numeric\n@attribute c {a, b}\n@data\n1.5,a\n2,c\n"
    with pytest.raises(DatasetError, match=r"attribute 'c' holds \['c'\]"):
        read_arff(text, source="t.arff")
    with pytest.raises(DatasetError, match=r"t.arff, line 6: 1 values, expected 2"):
        read_arff(text.replace("2,c", "2"), source="t.arff")
    with pytest.raises(DatasetError, match=r"'x' holds 1 values that are not numbers"):
        read_arff(text.replace("2,c", "'2,5',b"), source="t.arff")
    with pytest.raises(DatasetError, match=r"line 3: attribute type 'string' is not supported"):
        read_arff(text.replace("{a, b}", "string"), source="t.arff")
    frame = read_arff(text.replace("2,c", "?,b"))
    assert np.isnan(frame.loc[1, "x"]) and frame["c"].tolist() == ["a", "b"]


def test_stat2data_backpack(public):
    survey = datasets.load("stat2data-backpack")
    data = survey.data
    assert survey.n == 100
    assert "rownames" not in data.columns  # an identifier, dropped by default
    assert list(data.columns) == ["backpack_weight", "body_weight", "ratio", "back_problems",
                                  "major", "year", "sex", "status", "units"]
    assert _counts(data["back_problems"]) == {"No": 68, "Yes": 32}
    assert _counts(data["sex"]) == {"Female": 55, "Male": 45}
    assert _counts(data["status"]) == {"Undergraduate": 97, "Graduate": 3}
    assert data["major"].nunique() == 41
    first = data.loc[1]
    assert (first["backpack_weight"], first["body_weight"], first["ratio"]) == (9, 125, 0.072)
    assert (first["major"], first["year"], first["sex"], first["units"]) == ("Bio", 3, "Female", 13)
    # Ratio is backpack weight / body weight, as published to 6-7 significant digits.
    relative = (data["backpack_weight"] / data["body_weight"] / data["ratio"] - 1).abs()
    assert relative.max() < 1e-5
    assert survey.codebook["ratio"].role == "exposure"
    assert survey.codebook["back_problems"].role == "outcome"


def test_stat2data_backpack_keeps_rownames_on_request(public):
    data = datasets.load("stat2data-backpack", keep_identifiers=True).data
    assert data["rownames"].astype(int).tolist() == list(range(1, 101))


# ---- CLI ----------------------------------------------------------------------
@pytest.fixture
def cli():
    from analysis.cli import datasets as _  # noqa: F401  (registers the commands)
    from analysis.cli import main

    return main


def test_cli_list(public, cli, capsys):
    assert cli(["datasets", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "title", "licence", "local"]
    assert len(lines) == 4
    for line, name in zip(lines[1:], datasets.names(), strict=True):
        assert line.startswith(name)
        assert line.endswith("yes (BACKPAIN_DATA_DIR)")
    assert "CC BY 4.0" in lines[2]


def test_cli_list_offline(offline, cli, capsys):
    assert cli(["datasets", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.endswith("  no") for line in lines[1:])


def test_cli_fetch_and_info(public, cli, capsys):
    assert cli(["datasets", "fetch", "vertebral-column"]) == 0
    assert capsys.readouterr().out.strip() == str(PUBLIC / "vertebral_column_archive.zip")
    assert cli(["datasets", "info", "vertebral-column"]) == 0
    out = capsys.readouterr().out
    assert f"sha256: {README_SHA256['vertebral-column']}" in out
    assert "rows: 310" in out
    assert "doi:10.24432/C5K89B" in out
    assert "  diagnosis: Diagnosis (categorical)" in out
    assert "  abnormal: Spinal pathology (hernia or spondylolisthesis) (binary, outcome)" in out


def test_cli_errors_exit_2(offline, cli, capsys):
    assert cli(["datasets", "info", "nope"]) == 2
    assert "Known datasets: hsaur3-backpain, vertebral-column" in capsys.readouterr().err
    assert cli(["datasets", "fetch", "stat2data-backpack"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Dataset 'stat2data-backpack'")
    assert "BACKPAIN_DATA_DIR" in err

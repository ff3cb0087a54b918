"""The public datasets read without the package: an independent source for checks.

``needs_data`` skips a test when the registered files are not at hand
(``BACKPAIN_DATA_DIR`` or the cache); the readers use rdata, scipy's ARFF reader
and pandas directly, so a test compares the package with the upstream file.
"""

from __future__ import annotations

import io
import warnings
import zipfile

import pandas as pd
import pytest
from scipy.io import arff

from analysis import datasets

needs_data = pytest.mark.skipif(datasets.local_path("hsaur3-backpain") is None,
                                reason="public data not available")


def raw_backpain() -> pd.DataFrame:
    """HSAUR3 ``backpain`` as 0/1 columns: ID, case, driver, suburban."""
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = rdata.read_rda(datasets.fetch("hsaur3-backpain"))["backpain"]
    return pd.DataFrame({"ID": frame["ID"].astype(int),
                         "case": (frame["status"].astype(str) == "case").astype(int),
                         "driver": (frame["driver"].astype(str) == "yes").astype(int),
                         "suburban": (frame["suburban"].astype(str) == "yes").astype(int)})


def raw_vertebral() -> pd.DataFrame:
    """The two-class vertebral-column file, which the package does not read, with ``abnormal``."""
    with zipfile.ZipFile(datasets.fetch("vertebral-column")) as archive:
        data, _ = arff.loadarff(io.StringIO(archive.read("column_2C_weka.arff").decode()))
    frame = pd.DataFrame(data)
    frame["abnormal"] = (frame["class"] == b"Abnormal").astype(int)
    return frame


def raw_backpack() -> pd.DataFrame:
    """The Rdatasets Stat2Data ``Backpack`` CSV as published."""
    return pd.read_csv(datasets.fetch("stat2data-backpack"))

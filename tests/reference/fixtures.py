"""Reading the R reference fixtures (``tests/reference/fixtures/*.json``).

The fixtures are written by the scripts in ``tests/reference/R`` (``make
fixtures``, which needs R); the tests only read them, so R is not needed to
run the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
DATA = HERE / "data"


def fixture(name: str) -> dict:
    """The ``results`` of one fixture, with its ``meta`` (R and package versions) inside."""
    path = FIXTURES / f"{name}.json"
    content = json.loads(path.read_text(encoding="utf-8"))
    results = content["results"]
    results["_meta"] = content["meta"]
    return results


def reference_data(name: str) -> pd.DataFrame:
    """A data set an R script simulated and wrote beside its fixture.

    Only an empty field is missing (R's ``write.csv(na = "")``): a level called
    "None" or "NA" stays a level.
    """
    return pd.read_csv(DATA / f"{name}.csv", keep_default_na=False, na_values=[""])

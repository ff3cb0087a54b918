"""Parsers: one upstream file → one raw DataFrame, coded as its codebook expects.

Each parser renames the upstream columns to the codebook's names and keeps the
upstream codes (``case``/``control``, ``no``/``yes``, ``U``/``G``); turning
codes into labels, checking ranges and building the ledger is left to
:func:`analysis.load_survey`, exactly as for a user's own file.
"""

from __future__ import annotations

import csv
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import DatasetError


def read_hsaur3_backpain(path: Path) -> pd.DataFrame:
    """The HSAUR3 ``backpain`` data frame from its R ``.rda`` file (one row per person)."""
    import rdata

    with warnings.catch_warnings():
        # The file carries no string-encoding flag; its strings are plain ASCII codes.
        warnings.filterwarnings("ignore", message="Unknown encoding", category=UserWarning)
        objects = rdata.read_rda(path)
    if "backpain" not in objects:
        raise DatasetError(
            f"{path}: the R data file holds {sorted(objects)}, not the data frame 'backpain'."
        )
    frame = objects["backpain"]
    _expect_columns(path, frame.columns, ["ID", "status", "driver", "suburban"])
    # R factors arrive as pandas categoricals; keep their codes as plain text.
    raw = pd.DataFrame(
        {
            "matched_set": frame["ID"].astype(str),
            "status": frame["status"].astype(str),
            "driver": frame["driver"].astype(str),
            "suburban": frame["suburban"].astype(str),
        }
    )
    return raw.reset_index(drop=True)


VERTEBRAL_MEMBER = "column_3C_weka.arff"
_VERTEBRAL_NAMES = {
    "pelvic_incidence": "pelvic_incidence",
    "pelvic_tilt": "pelvic_tilt",
    "lumbar_lordosis_angle": "lumbar_lordosis_angle",
    "sacral_slope": "sacral_slope",
    "pelvic_radius": "pelvic_radius",
    "degree_spondylolisthesis": "grade_of_spondylolisthesis",
    "class": "diagnosis",
}


def read_vertebral_column(path: Path) -> pd.DataFrame:
    """The three-class vertebral-column data from the zip's full-precision ARFF file.

    Adds ``abnormal`` (1 for Hernia or Spondylolisthesis, 0 for Normal), which
    is the class of the upstream two-class file ``column_2C_weka.arff``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read(VERTEBRAL_MEMBER).decode("utf-8")
    except KeyError:
        raise DatasetError(f"{path}: the zip archive has no member {VERTEBRAL_MEMBER!r}.") from None
    except zipfile.BadZipFile as exc:
        raise DatasetError(f"{path}: not a readable zip archive ({exc}).") from None
    frame = read_arff(text, source=f"{path}:{VERTEBRAL_MEMBER}")
    _expect_columns(path, frame.columns, list(_VERTEBRAL_NAMES))
    frame = frame.rename(columns=_VERTEBRAL_NAMES)
    frame["abnormal"] = (frame["diagnosis"] != "Normal").astype("int64")
    return frame


_BACKPACK_NAMES = {
    "rownames": "rownames",
    "BackpackWeight": "backpack_weight",
    "BodyWeight": "body_weight",
    "Ratio": "ratio",
    "BackProblems": "back_problems",
    "Major": "major",
    "Year": "year",
    "Sex": "sex",
    "Status": "status",
    "Units": "units",
}


def read_stat2data_backpack(path: Path) -> pd.DataFrame:
    """The Stat2Data ``Backpack`` data from the Rdatasets CSV, columns renamed to snake case."""
    frame = pd.read_csv(path, dtype={"Major": str, "Sex": str, "Status": str})
    _expect_columns(path, frame.columns, list(_BACKPACK_NAMES))
    return frame.rename(columns=_BACKPACK_NAMES)


def read_arff(text: str, source: str = "ARFF file") -> pd.DataFrame:
    """A DataFrame from the text of a dense ARFF file (Weka's attribute-relation format).

    Numeric attributes become float64 (``?`` is missing); nominal attributes
    (``{a, b, c}``) become text, and a value outside the declared set is a
    :class:`DatasetError`. Sparse ARFF and string or date attributes are not
    needed by the registry and are refused.
    """
    names: list[str] = []
    nominal: dict[str, list[str]] = {}
    lines = text.splitlines()
    data_start = None
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        keyword = stripped.split(maxsplit=1)[0].lower()
        if keyword == "@data":
            data_start = number
            break
        if keyword == "@attribute":
            name, kind = _attribute(stripped, source, number)
            names.append(name)
            if kind.startswith("{"):
                nominal[name] = [v.strip().strip("'\"") for v in kind.strip("{} ").split(",")]
            elif kind.lower() not in ("numeric", "real", "integer"):
                raise DatasetError(
                    f"{source}, line {number}: attribute type {kind!r} is not supported."
                )
    if data_start is None or not names:
        raise DatasetError(f"{source}: no @attribute or @data section; is this an ARFF file?")

    rows = []
    for number, line in enumerate(lines[data_start:], start=data_start + 1):
        if not line.strip() or line.lstrip().startswith("%"):
            continue
        values = next(csv.reader([line], skipinitialspace=True, quotechar="'"))
        if len(values) != len(names):
            raise DatasetError(
                f"{source}, line {number}: {len(values)} values, expected {len(names)} "
                f"({', '.join(names)})."
            )
        rows.append([value.strip() for value in values])

    frame = pd.DataFrame(rows, columns=names).replace("?", np.nan)
    for name in names:
        if name in nominal:
            unknown = sorted(set(frame[name].dropna()) - set(nominal[name]))
            if unknown:
                raise DatasetError(
                    f"{source}: attribute {name!r} holds {unknown}, outside its declared "
                    f"levels {nominal[name]}."
                )
            continue
        numbers = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        bad = numbers.isna() & frame[name].notna()
        if bad.any():
            raise DatasetError(
                f"{source}: numeric attribute {name!r} holds {bad.sum()} values that are not "
                f"numbers, first {frame.loc[bad, name].head(3).tolist()}."
            )
        frame[name] = numbers
    return frame


def _attribute(line: str, source: str, number: int) -> tuple[str, str]:
    rest = line.split(maxsplit=1)[1] if len(line.split(maxsplit=1)) > 1 else ""
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = rest.find(quote, 1)
        return rest[1:end], rest[end + 1:].strip()
    parts = rest.split(maxsplit=1)
    if len(parts) != 2:
        raise DatasetError(f"{source}, line {number}: cannot read the attribute {line!r}.")
    return parts[0], parts[1].strip()


def _expect_columns(path: Path, found, expected: list[str]) -> None:
    missing = [c for c in expected if c not in set(found)]
    if missing:
        raise DatasetError(
            f"{path}: expected the columns {expected}, but {missing} are missing "
            f"(found {list(found)}). Is this the file the registry names?"
        )

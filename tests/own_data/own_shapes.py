"""The survey shapes of tests/own_data: a data file and the codebook a new user wrote for it.

Three public datasets of the registry are read from ``BACKPAIN_DATA_DIR``
(never copied into the repository) and, where the upstream file is not a
table our readers open (an R ``.rda``, a zip of headerless ``.dat`` files),
exported to a CSV in a temporary folder as a user would do. The simulated
shapes are committed CSVs made by ``generate.py``.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CODEBOOKS = HERE / "codebooks"
DATA = HERE / "data"


@dataclass(frozen=True)
class Shape:
    """One survey shape: how to get its file, its codebook, and what the plan should choose."""

    name: str
    codebook: Path
    model: str  # the model the plan must choose for the first outcome
    exposure: str  # an exposure whose adjusted estimate is checked against a direct fit
    public: str | None = None  # file name in BACKPAIN_DATA_DIR
    data: Path | None = None

    def data_file(self, tmp: Path) -> Path:
        """The file ``backpain report`` reads (exported into ``tmp`` for public data)."""
        if self.public is None:
            return self.data
        source = public_dir() / self.public
        return EXPORTS[self.name](source, tmp)


def public_dir() -> Path:
    return Path(os.environ.get("BACKPAIN_DATA_DIR", ROOT.parent / "shared" / "data" / "public"))


def _backpack(source: Path, tmp: Path) -> Path:
    return source  # already a CSV, read as it is


def _rda_to_csv(source: Path, tmp: Path) -> Path:
    """What ``write.csv(backpain, row.names = FALSE)`` in R gives."""
    import rdata

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unknown encoding", category=UserWarning)
        frame = rdata.read_rda(source)["backpain"]
    out = tmp / "backpain.csv"
    frame.astype(str).to_csv(out, index=False)
    return out


def _dat_to_csv(source: Path, tmp: Path) -> Path:
    """column_3C.dat from the zip, space-separated without a header; a header row added."""
    with zipfile.ZipFile(source) as archive, archive.open("column_3C.dat") as handle:
        frame = pd.read_csv(handle, sep=" ", header=None,
                            names=["pelvic_inc", "pelvic_tilt", "lordosis", "sacral_slope",
                                   "pelvic_radius", "spondy_grade", "diag"])
    out = tmp / "column_3C.csv"
    frame.to_csv(out, index=False)
    return out


EXPORTS = {"backpack": _backpack, "driving_disc": _rda_to_csv, "vertebral": _dat_to_csv}

SHAPES = [
    Shape("backpack", CODEBOOKS / "backpack.yml", "logistic", "Ratio",
          public="Rdatasets_Stat2Data_Backpack.csv"),
    Shape("driving_disc", CODEBOOKS / "driving_disc.yml", "conditional logistic", "driver",
          public="HSAUR3_backpain.rda"),
    Shape("vertebral", CODEBOOKS / "vertebral.yml", "multinomial", "pelvic_tilt",
          public="vertebral_column_archive.zip"),
    Shape("small_sparse", CODEBOOKS / "small_sparse.yml", "Firth logistic", "nights",
          data=DATA / "small_sparse.csv"),
    Shape("counts_time", CODEBOOKS / "counts_time.yml", "negative binomial", "shift_pattern",
          data=DATA / "counts_time.csv"),
    Shape("ordinal_pain", CODEBOOKS / "ordinal_pain.yml", "proportional odds", "seat_type",
          data=DATA / "ordinal_pain.csv"),
    Shape("matched_sets", CODEBOOKS / "matched_sets.yml", "conditional logistic", "heavy_work",
          data=DATA / "matched_sets.csv"),
    Shape("complex_design", CODEBOOKS / "complex_design.yml", "logistic", "farming",
          data=DATA / "complex_design.csv"),
    Shape("no_questionnaires", CODEBOOKS / "no_questionnaires.yml", "logistic", "screen_hours",
          data=DATA / "no_questionnaires.csv"),
    Shape("example", ROOT / "data" / "codebooks" / "backpain_survey.yml", "logistic",
          "heavy_lifting", data=ROOT / "data" / "example" / "survey.csv"),
]

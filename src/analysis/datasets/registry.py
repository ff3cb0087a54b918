"""The registry of public datasets: where each file comes from and how to read it.

Each entry pins an upstream URL to a commit, so the file behind it never
changes, and records its sha256; :func:`analysis.datasets.fetch` refuses any
file whose checksum differs. The codebooks live next to this module in
``codebooks/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.codebook import Codebook
from analysis.datasets import parsers
from analysis.errors import DatasetError

CODEBOOK_DIR = Path(__file__).parent / "codebooks"


@dataclass(frozen=True)
class Dataset:
    """One public dataset: provenance, checksum, parser and codebook."""

    name: str
    title: str
    url: str
    sha256: str
    file_name: str
    licence: str
    citation: str
    parser: Callable[[Path], pd.DataFrame]
    codebook_file: str
    n_rows: int

    @property
    def codebook(self) -> Codebook:
        return Codebook.from_yaml(CODEBOOK_DIR / self.codebook_file)


REGISTRY: dict[str, Dataset] = {
    entry.name: entry
    for entry in [
        Dataset(
            name="hsaur3-backpain",
            title="Driving and acute herniated lumbar disc (matched case-control)",
            url=(
                "https://raw.githubusercontent.com/cran/HSAUR3/"
                "ef4b8f21ee87b91cfbbb76dee739cbec7da40407/data/backpain.rda"
            ),
            sha256="4610fa2bd87a665e3bc2b1ce6c850c1c55b9d476d2c9b743880fc1728e1cec91",
            file_name="HSAUR3_backpain.rda",
            licence="GPL-2 (HSAUR3 R package)",
            citation=(
                "Kelsey JL, Hardy RJ (1975). Driving of motor vehicles as a risk factor for "
                "acute herniated lumbar intervertebral disc. Am J Epidemiol 102(1):63-73. "
                "Data as distributed in Hothorn T, Everitt BS, HSAUR3: A Handbook of "
                "Statistical Analyses Using R (3rd ed.), R package."
            ),
            parser=parsers.read_hsaur3_backpain,
            codebook_file="hsaur3_backpain.yml",
            n_rows=434,
        ),
        Dataset(
            name="vertebral-column",
            title="Vertebral column: pelvic and lumbar parameters of orthopaedic patients",
            url=(
                "https://raw.githubusercontent.com/ramyeturi/Vertebral_column_data/"
                "7d635494fdf309b030d2f72a342a8c1b3786194b/archive.zip"
            ),
            sha256="97c89ff8724e93b664fee3c82431905f99d39e9938c22ed64e28c8c4c3812eea",
            file_name="vertebral_column_archive.zip",
            licence="CC BY 4.0 (UCI Machine Learning Repository, dataset 212)",
            citation=(
                "Barreto G, Rocha Neto A (2005/2011). Vertebral Column [dataset]. UCI Machine "
                "Learning Repository, doi:10.24432/C5K89B. Rocha Neto AR, Barreto GA (2009). "
                "IEEE Latin America Transactions 7(4):487-496."
            ),
            parser=parsers.read_vertebral_column,
            codebook_file="vertebral_column.yml",
            n_rows=310,
        ),
        Dataset(
            name="stat2data-backpack",
            title="Backpack weight and back problems in university students",
            url=(
                "https://raw.githubusercontent.com/vincentarelbundock/Rdatasets/"
                "1c97ab8a1df2469762e635481ba27cf4e80e3e51/csv/Stat2Data/Backpack.csv"
            ),
            sha256="cb39c3ca4abd61a813a823bdfeff215b1aaa81d5cf803f1d07ed089636853d29",
            file_name="Rdatasets_Stat2Data_Backpack.csv",
            licence="GPL-3 (Rdatasets collection; data from the Stat2Data R package)",
            citation=(
                "Cannon A, et al. Stat2: Modeling with Regression and ANOVA. "
                "Data from the Stat2Data R package, "
                "via the Rdatasets collection (Arel-Bundock V)."
            ),
            parser=parsers.read_stat2data_backpack,
            codebook_file="stat2data_backpack.yml",
            n_rows=100,
        ),
    ]
}


def names() -> list[str]:
    """Names of the registered datasets, in registry order."""
    return list(REGISTRY)


def get(name: str) -> Dataset:
    """The registry entry ``name``; an unknown name is a DatasetError listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(REGISTRY)}."
        ) from None

"""A simulated survey written whole and as a folder of Parquet files, with an aggregate codebook.

The out-of-core tests compare a folder of Parquet files (every number from
DuckDB or Dask) with the same rows in one file (in memory). The codebook is
the example's without survey-design roles and interactions: those models have
no aggregate form and would be fitted on the sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.simulate import simulate_survey, write_survey


def parquet_cohort(tmp: Path, n: int, seed: int, files: int = 4) -> tuple[Path, Path, Path]:
    """``(whole.parquet, cohort/ of `files` parts, codebook.yml)`` of ``n`` respondents."""
    whole = write_survey(simulate_survey(n, seed=seed), tmp / "whole.parquet")
    frame = pd.read_parquet(whole)
    folder = tmp / "cohort"
    folder.mkdir()
    for k, part in enumerate(np.array_split(np.arange(n), files)):
        frame.iloc[part].to_parquet(folder / f"part-{k}.parquet", index=False)
    cb = yaml.safe_load(Path("data/codebooks/backpain_survey.yml").read_text(encoding="utf-8"))
    cb["analysis"].pop("interactions", None)
    for var in cb["variables"].values():
        if var.get("role") in ("weight", "stratum", "cluster"):
            var.pop("role")
    codebook = tmp / "codebook.yml"
    codebook.write_text(yaml.safe_dump(cb, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    return whole, folder, codebook

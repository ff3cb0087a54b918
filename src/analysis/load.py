"""One entry point for every survey source: a file, a DataFrame, or a Parquet dataset.

A single file or a DataFrame is read into memory and validated by
:func:`analysis.validate.validate_survey`; a folder of Parquet files, a glob
or a list of files (or ``engine="duckdb"``) is validated inside DuckDB by
:func:`analysis.scale.load_parquet_survey` without loading its rows.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis.codebook import Codebook, load_codebook
from analysis.errors import ValidationError
from analysis.scale.lazy import LazySurvey, load_parquet_survey
from analysis.survey import Survey
from analysis.validate import validate_survey


def load_survey(
    source: str | Path | pd.DataFrame,
    codebook: Codebook | str | Path | Mapping,
    *,
    on_invalid: Literal["raise", "exclude"] = "raise",
    keep_identifiers: bool = False,
    engine: Literal["pandas", "duckdb"] | None = None,
    **read_options,
) -> Survey | LazySurvey:
    """Read a survey export, check it against its codebook and return a :class:`Survey`.

    A folder of Parquet files (a partitioned dataset), a glob such as
    ``"cohort/*.parquet"``, or ``engine="duckdb"`` gives instead an
    :class:`analysis.scale.LazySurvey`: the same rules counted inside DuckDB
    without loading the rows into pandas, for surveys larger than memory.

    Parameters
    ----------
    source : a file path (CSV, Qualtrics or REDCap CSV, Excel, Parquet, SPSS,
        Stata; see :func:`analysis.io.read_table`) or a raw DataFrame (then the
        line of a row is its position + 1).
    codebook : a :class:`Codebook`, a path to its YAML (or to a REDCap data
        dictionary / SPSS file), or a mapping.
    on_invalid : ``"raise"`` (default) raises one :class:`ValidationError`
        listing every broken rule; ``"exclude"`` drops offending rows and
        unknown columns and records each in the ledger.
    keep_identifiers : keep id and PII columns in ``survey.data``.

    Examples
    --------
    >>> survey = load_survey("data/example/survey.csv",
    ...                      "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    >>> survey.flow  # doctest: +SKIP
    """
    if on_invalid not in ("raise", "exclude"):
        raise ValidationError(f"on_invalid must be 'raise' or 'exclude', not {on_invalid!r}.")
    if engine not in (None, "pandas", "duckdb"):
        raise ValidationError(f"engine must be 'pandas' or 'duckdb', not {engine!r}.")
    codebook = load_codebook(codebook)
    if engine == "duckdb" or (engine is None and is_dataset(source)):
        return load_parquet_survey(source, codebook, on_invalid=on_invalid,
                                   keep_identifiers=keep_identifiers)
    return validate_survey(source, codebook, on_invalid=on_invalid,
                           keep_identifiers=keep_identifiers, **read_options)


def is_dataset(source) -> bool:
    """A folder, a glob or a list of files: a partitioned dataset for the DuckDB engine."""
    if isinstance(source, pd.DataFrame):
        return False
    if isinstance(source, list | tuple):
        return True
    return Path(source).is_dir() or glob.has_magic(str(source))


__all__ = ["is_dataset", "load_survey"]

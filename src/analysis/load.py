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
from analysis.errors import ReadError, ValidationError
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
    source, codebook, on_invalid, keep_identifiers, read_options : as
        :func:`analysis.validate.validate_survey`; ``source`` may also be a
        folder, a glob or a list of Parquet files.
    engine : ``"pandas"`` (in memory), ``"duckdb"``, or None: chosen from ``source``.

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
        if read_options:
            raise ReadError(f"{source}: {', '.join(sorted(read_options))} apply to one file, "
                            "not to a Parquet dataset.")
        check_dataset(source)
        import duckdb

        try:
            return load_parquet_survey(source, codebook, on_invalid=on_invalid,
                                       keep_identifiers=keep_identifiers)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ReadError(f"{source}: DuckDB cannot read the dataset: {first}") from None
    return validate_survey(source, codebook, on_invalid=on_invalid,
                           keep_identifiers=keep_identifiers, **read_options)


def check_dataset(source) -> None:
    """A :class:`ReadError` naming the first file of a dataset that is not readable Parquet.

    Only each file's footer is read, so a corrupt or truncated file is named
    before DuckDB reads any rows.
    """
    import pyarrow.parquet as pq

    if isinstance(source, list | tuple):
        files = [Path(p) for p in source]
    elif Path(source).is_dir():
        files = sorted(Path(source).rglob("*.parquet"))
    elif Path(source).is_file():
        files = [Path(source)]
    else:
        files = sorted(Path(p) for p in glob.glob(str(source), recursive=True))
    for file in files:
        if file.is_dir():
            continue
        if not file.is_file():
            raise ReadError(f"{file}: no such Parquet file (part of {source}).")
        try:
            pq.ParquetFile(file).schema_arrow  # noqa: B018 - reading the footer is the check
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ReadError(f"{file}: cannot read it as Parquet ({reason}); it is part of "
                            f"{source}. To fix: replace or remove that file.") from None


def is_dataset(source) -> bool:
    """A folder, a glob or a list of files: a partitioned dataset for the DuckDB engine."""
    if isinstance(source, pd.DataFrame):
        return False
    if isinstance(source, list | tuple):
        return True
    return Path(source).is_dir() or glob.has_magic(str(source))


__all__ = ["check_dataset", "is_dataset", "load_survey"]

"""Simulated surveys larger than memory: written to Parquet one chunk (row group) at a time.

:func:`simulate_survey` builds the whole export in memory: about 2 GB per
million respondents at its peak, so 10^7 respondents do not fit comfortably.
:func:`write_survey_chunked` draws the survey in chunks of ``chunk`` rows,
each from its own random stream, and appends each chunk to one Parquet file
as a row group, so memory stays that of one chunk whatever ``n`` is.

What holds, and what does not:

* deterministic: the same ``(n, seed, chunk)`` gives the same bytes;
* the same causal model, missingness and planted errors as
  :func:`simulate_survey`, each at its share of every chunk (a chunk smaller
  than 250 rows has no errors, as a survey that small has none);
* ids ``SIM-<number>`` are unique across the file (chunk ``i`` numbers its
  rows after the previous chunks), except for the planted duplicate ids,
  which repeat an id of the same chunk; e-mail addresses likewise;
* the rows are NOT those of ``simulate_survey(n, seed)``: each chunk draws
  from the ``i``-th child of ``SeedSequence(seed)``. With ``n <= chunk``
  the file is exactly ``write_survey(simulate_survey(n, seed), path)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.errors import BackpainError
from analysis.simulate.build import simulate_columns, simulate_survey, survey_frame, write_survey

DEFAULT_CHUNK = 1_000_000


def write_survey_chunked(n: int, seed: int, path: str | Path, *, chunk: int = DEFAULT_CHUNK,
                         errors: bool = True, missing: bool = True) -> Path:
    """Simulate ``n`` respondents into a Parquet file, ``chunk`` rows at a time.

    Parameters
    ----------
    n : number of respondents (rows).
    seed : seed of :class:`numpy.random.SeedSequence`; chunk ``i`` draws from
        its ``i``-th spawned child, so the same ``(n, seed, chunk)`` gives the
        same file.
    path : a ``.parquet`` or ``.pq`` file (zstd-compressed, one row group per chunk).
    chunk : rows per chunk; peak memory is about 2 GB per million rows of chunk.
    errors, missing : as in :func:`analysis.simulate.simulate_survey`.

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    A column that holds planted text in the first chunk (``abc`` in
    ``weight_kg``, a height in metres in the whole-number ``height_cm``) is
    text in the whole file, as one Parquet column has one type; the numbers
    of later chunks are written in it as their text. Tested in
    ``tests/test_simulate.py``: same bytes twice, unique ids, ``n <= chunk``
    equal to :func:`write_survey`, and strict validation finding every
    planted error rule in each chunk.

    Examples
    --------
    >>> from analysis.simulate import write_survey_chunked
    >>> write_survey_chunked(3000, 1, "survey.parquet", chunk=1000)  # doctest: +SKIP
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise BackpainError(f"write_survey_chunked: n must be a whole number >= 1, got {n!r}.")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise BackpainError(
            f"write_survey_chunked: chunk must be a whole number >= 1, got {chunk!r}.")
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq"):
        raise BackpainError(f"{path}: write_survey_chunked writes Parquet; use a .parquet "
                            "extension (write_survey writes CSV from an in-memory survey).")
    n, chunk = int(n), int(chunk)
    if n <= chunk:
        return write_survey(simulate_survey(n, seed, errors=errors, missing=missing), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    starts = range(0, n, chunk)
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    width = max(7, len(str(n)))
    schema, writer = None, None
    try:
        for start, stream in zip(starts, streams, strict=True):
            size = min(chunk, n - start)
            columns = simulate_columns(size, stream, errors=errors, missing=missing,
                                       first=start + 1, width=width)
            table = _arrow(survey_frame(columns))
            del columns
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            writer.write_table(_conform(table, schema), row_group_size=size)
            del table
    finally:
        if writer is not None:
            writer.close()
    return path


def _arrow(frame) -> pa.Table:
    """A chunk as Arrow, typed as :func:`write_survey` types it (a mixed column is text)."""
    mixed = [c for c in frame.columns if frame[c].dtype == object]
    frame = frame.assign(**{c: frame[c].astype("string") for c in mixed})
    return pa.Table.from_pandas(frame, preserve_index=False)


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast a later chunk to the first chunk's column types (numbers into text columns)."""
    if table.schema.equals(schema):
        return table
    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:
            if not pa.types.is_string(field.type) and not pa.types.is_large_string(field.type):
                raise BackpainError(
                    f"write_survey_chunked: column {field.name!r} is {column.type} in a later "
                    f"chunk but {field.type} in the first; use a larger chunk.")
            column = column.cast(field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)

"""Apply a codebook to raw survey data and return a :class:`~analysis.survey.Survey`.

Rules checked, each vectorised over the whole column:

========================  =========================================================
rule                      broken when
========================  =========================================================
``missing column``        a required codebook variable is not in the file
``unknown column``        the file has a column the codebook does not know
``not a number``          text in a numeric or count column
``not a whole number``    a fraction in a count column
``out of range``          a value outside the codebook's ``range`` (counts: below 0)
``unknown code``          a coded value that is neither a level nor a missing code
``impossible date``       a date that cannot exist or does not match ``format``
``missing id``            a blank respondent identifier
``duplicate id``          an identifier seen on an earlier line (the first is kept)
``decimal comma``         ``1,250`` in a numeric column: a decimal or a thousands
                          separator? (the codebook's ``decimal`` decides)
========================  =========================================================

Values listed as ``missing`` codes become NA and each one is counted in the
ledger with its meaning ("missing code: refused"), in every mode; so does
each missing-value token (``NA``, ``N/A``, ``.``: the codebook's
``na_values`` or :data:`analysis.codebook.DEFAULT_NA_VALUES`),
as "missing token: NA". A decimal comma (``4,5``) is read as 4.5, each
with a ledger entry, where the codebook says ``decimal: ","`` or, in a
file whose fields are not separated by commas, where the column shows it.
What the reader noted (control characters removed, possible mojibake,
empty unnamed columns) is recorded at step ``read``; the encoding and the
sheet read are ``survey.accounts.notes``.

``on_invalid="raise"`` raises one :class:`~analysis.errors.ValidationError`
listing every broken rule; ``on_invalid="exclude"`` takes the offending rows
out of the analysis and records each in the ledger, and drops unknown columns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, load_codebook
from analysis.derive import derive_columns
from analysis.errors import ValidationError
from analysis.io import read_columns, read_table
from analysis.ledger import Ledger
from analysis.survey import Survey
from analysis.validate._columns import ColumnCheck
from analysis.validate._rules import ADVICE, FIRST_LINES, STEP, Problem, show

__all__ = ["ADVICE", "FIRST_LINES", "STEP", "Problem", "Validator", "validate_survey"]

_THREADS = min(4, os.cpu_count() or 1)


def validate_survey(
    source: str | Path | pd.DataFrame,
    codebook: Codebook | str | Path | Mapping,
    *,
    on_invalid: Literal["raise", "exclude"] = "raise",
    keep_identifiers: bool = False,
    **read_options,
) -> Survey:
    """Read one survey file (or take a raw DataFrame), check it against its codebook.

    The in-memory path of :func:`analysis.load_survey`, which also takes
    folders and globs of Parquet files.

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
    >>> survey = validate_survey("data/example/survey.csv",
    ...                          "data/codebooks/backpain_survey.yml", on_invalid="exclude")
    >>> survey.flow  # doctest: +SKIP
    """
    if on_invalid not in ("raise", "exclude"):
        raise ValidationError(f"on_invalid must be 'raise' or 'exclude', not {on_invalid!r}.")
    codebook = load_codebook(codebook)
    if isinstance(source, pd.DataFrame):
        raw = source.reset_index(drop=True)
        raw.index = pd.RangeIndex(1, len(raw) + 1, name="line")
        raw.attrs = {"source": "DataFrame", "format": "frame", "metadata": [], "identifiers": []}
        raw.columns = [str(c) for c in raw.columns]
    elif read_options:
        raw = read_table(source, **read_options)
    else:
        raw = read_columns(source)
    return Validator(raw, codebook, on_invalid, keep_identifiers).run()


class Validator:
    """The rules of this module applied to one raw DataFrame; ``run()`` gives the Survey."""


    def __init__(
        self, raw: pd.DataFrame, codebook: Codebook, on_invalid: str, keep_identifiers: bool
    ):
        self.raw = raw
        self.codebook = codebook
        self.on_invalid = on_invalid
        self.keep_identifiers = keep_identifiers
        self.source = raw.attrs.get("source", "data")
        self.lines = np.asarray(raw.index, dtype=np.int64)
        self.ledger = Ledger(n_read=len(raw), source=self.source)
        self.problems: list[Problem] = []
        for note in raw.attrs.get("notes", []):
            if note.lines is None and note.column is None:
                self.ledger.notes.append(note.rule)  # about the file, not about rows
            else:
                self.ledger.record(step="read", rule=note.rule, action=note.action,
                                   column=note.column, lines=note.lines, values=note.values)

    def run(self) -> Survey:
        columns = self._check_columns()
        # A decimal comma is looked for in files whose fields are not separated by
        # commas (the semicolon exports of locales that write 1,5); elsewhere only
        # the codebook's `decimal: ","` reads it.
        detect = self.raw.attrs.get("delimiter") not in (None, ",")
        checks = [ColumnCheck(self.lines, self.codebook, detect_decimal=detect)
                  for _ in columns]
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            results = pool.map(
                lambda check, name: check.convert(self.codebook[name], self.raw[name]),
                checks,
                columns,
            )
            converted = dict(zip(columns, results, strict=True))
        for check in checks:
            self.ledger.extend(check.ledger)
            self.problems.extend(check.problems)
        if self.problems and self.on_invalid == "raise":
            raise self._error()
        bad = [p for p in self.problems if p.positions.size]
        for p in bad:
            self.ledger.record(
                step=STEP,
                rule=p.rule,
                action="excluded",
                column=p.column,
                lines=self.lines[p.positions],
                values=p.values,
            )
        identifiers = set(self.codebook.identifiers) | set(self.raw.attrs.get("identifiers", []))
        if not self.keep_identifiers:
            for name in [c for c in converted if c in identifiers]:
                del converted[name]
                self.ledger.record(
                    step=STEP,
                    rule="identifier (privacy)",
                    action="dropped column",
                    column=name,
                    lines=None,
                )
        index = self.raw.index
        if bad:
            # Filtering each column's array before building the frame copies
            # category codes (1 byte) instead of going through DataFrame.take.
            keep = np.ones(len(index), dtype=bool)
            for p in bad:
                keep[p.positions] = False
            with ThreadPoolExecutor(max_workers=_THREADS) as pool:
                kept = pool.map(lambda values: values[keep], converted.values())
                converted = dict(zip(converted, kept, strict=True))
            index = index[keep]
        data = derive_columns(pd.DataFrame(converted, index=index, copy=False), self.codebook,
                              self.ledger)
        return Survey(data=data, codebook=self.codebook, accounts=self.ledger, source=self.source)

    # ---- columns ---------------------------------------------------------
    def _check_columns(self) -> list[str]:
        present = set(self.raw.columns)
        missing = [v.name for v in self.codebook
                   if v.required and v.derive is None and v.name not in present]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ValidationError(
                f"{self.source}: {len(missing)} column{'s' if len(missing) > 1 else ''} the "
                f"codebook requires {'are' if len(missing) > 1 else 'is'} not in the file "
                f"(rule: missing column): {shown}{more}. To fix: {ADVICE['missing column']}.",
                problems=pd.DataFrame({"column": missing, "rule": "missing column"}),
            )
        metadata = set(self.raw.attrs.get("metadata", []))
        for name in self.raw.columns:
            if name in self.codebook:
                continue
            if name in metadata:
                self.ledger.record(
                    step=STEP,
                    rule="export metadata",
                    action="dropped column",
                    column=name,
                    lines=None,
                )
            elif self.on_invalid == "exclude":
                self.ledger.record(
                    step=STEP,
                    rule="unknown column",
                    action="dropped column",
                    column=name,
                    lines=None,
                )
            else:
                self.problems.append(
                    Problem(
                        name,
                        "unknown column",
                        np.array([], dtype=np.int64),
                        np.array([], dtype=object),
                    )
                )
        for var in self.codebook:
            if var.derive is not None and var.name in present:
                self.ledger.record(step=STEP, rule="derived variable also in the file",
                                   action="replaced by derived", column=var.name, lines=None)
        return [v.name for v in self.codebook if v.name in present and v.derive is None]

    # ---- the error ---------------------------------------------------------
    def _error(self) -> ValidationError:
        table = pd.DataFrame(
            {
                "column": [p.column for p in self.problems],
                "rule": [p.rule for p in self.problems],
                "n_rows": [p.positions.size for p in self.problems],
                "first_lines": [
                    self.lines[p.positions[:FIRST_LINES]].tolist() for p in self.problems
                ],
                "first_values": [[show(v) for v in p.values[:FIRST_LINES]] for p in self.problems],
                "advice": [ADVICE[p.rule] for p in self.problems],
            }
        )
        rows = len(np.unique(np.concatenate([p.positions for p in self.problems])))
        head = (
            f"{self.source}: {len(self.problems)} rule{'s' if len(self.problems) > 1 else ''} "
            f"broken, affecting {rows} row{'s' if rows != 1 else ''}:"
        )
        body = [
            f"  - {p.describe(self.lines)}"
            if p.positions.size
            else f"  - column {p.column!r}: unknown column (not in the codebook). "
            f"To fix: {ADVICE['unknown column']}."
            for p in self.problems
        ]
        tail = "Or load with on_invalid='exclude' to set these rows aside in the ledger."
        return ValidationError("\n".join([head, *body, tail]), problems=table)

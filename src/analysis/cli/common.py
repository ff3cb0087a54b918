"""What every command shares: the ``--sheet`` option, loading a survey, checking outputs.

Outputs are checked before any work is done: the folder of an output file
is created, and a place that cannot be written (a file where a folder is
needed, a read-only folder) is an :class:`OutputError` naming the option.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from analysis.errors import BackpainError

SheetOption = Annotated[str | None, typer.Option(
    "--sheet", help="Excel sheet: its NAME, or its position INDEX counted from 1 "
    "(default: the first sheet that holds data, named in the output).")]


class OutputError(BackpainError):
    """An output file or folder cannot be written."""


def read_options(sheet: str | None) -> dict:
    return {} if sheet is None else {"sheet": sheet}


def open_survey(data: Path, codebook: Path, *, on_invalid: str, sheet: str | None):
    """The survey in memory (a Parquet folder or glob is validated in DuckDB, then loaded)."""
    from analysis.load import load_survey
    from analysis.scale.lazy import LazySurvey

    survey = load_survey(data, codebook, on_invalid=on_invalid, **read_options(sheet))
    if isinstance(survey, LazySurvey):
        with survey:
            survey = survey.to_survey()
    # The sheet read, an unusual encoding, removals and warnings (UTF-8 goes without saying).
    for line in read_lines(survey.accounts):
        if not line.startswith(("encoding: utf-8", "encoding: ascii")):
            typer.echo(line)
    return survey


def read_lines(ledger) -> list[str]:
    """What the reader did and noticed (encoding, sheet, removals, warnings), one line each.

    ``ledger``: a survey's :class:`~analysis.ledger.Ledger` (``survey.accounts``).
    """
    out = list(ledger.notes)
    notes = ledger.step("read")
    for (rule, action), group in notes.groupby(["rule", "action"], sort=False):
        lines = group["line"].dropna()
        if len(lines):
            first = ", ".join(str(int(v)) for v in lines.unique()[:5])
            out.append(f"{rule}: {action}, {lines.nunique()} line(s) (first: {first})")
        elif action in ("detected", "given", "read"):
            out.append(rule)
        else:
            columns = ", ".join(c for c in group["column"] if c)
            out.append(f"{rule}: {action} {columns}".strip())
    return out


def output_file(path: Path | None, option: str) -> Path | None:
    """``path`` once its folder exists and can be written; else an :class:`OutputError`."""
    if path is None:
        return None
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a folder; give a file name inside it.")
    _writable_folder(path.parent, option, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option} {path}: the file exists and cannot be overwritten.")
    return path


def output_folder(path: Path, option: str) -> Path:
    """``path`` created if need be and writable; else an :class:`OutputError`."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path}: is a file; a folder is needed here.")
    _writable_folder(path, option, path)
    return path


def report_target(path: Path) -> Path:
    """``--out`` of a report: not a file, and its parent writable (created if need be).

    The folder itself is not created: a run renders beside it and swaps it in
    whole, so a run that fails or is interrupted leaves no folder behind.
    """
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {path}: is a file; a folder is needed here.")
    _writable_folder(path.resolve().parent, "--out", path)
    return path


def _writable_folder(folder: Path, option: str, target: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{option} {target}: cannot create the folder {folder} ({exc.strerror}). To fix: "
            "choose a folder you can write to.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {target}: the folder {folder} is not writable. To fix: "
                          "choose a folder you can write to.")

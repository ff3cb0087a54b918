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

#: Every command reads invalid rows the same way: set aside in the ledger (``exclude``), as
#: ``backpain report`` and the report notebooks do; ``--on-invalid raise`` stops instead.
ON_INVALID = "exclude"
OnInvalidOption = Annotated[str, typer.Option(
    "--on-invalid", help="exclude: set rows that break a rule aside (counted, in the ledger); "
    "raise: stop and list every broken rule.")]

DataArgument = Annotated[Path, typer.Argument(
    help="Survey export (CSV, Excel, Parquet, SPSS, ...).")]
CodebookOption = Annotated[Path, typer.Option("--codebook", "-c", help="Codebook YAML.")]

SheetOption = Annotated[str | None, typer.Option(
    "--sheet", help="Excel sheet: its NAME, or its position INDEX counted from 1 "
    "(default: the first sheet that holds data, named in the output).")]


class OutputError(BackpainError):
    """An output file or folder cannot be written."""


def read_options(sheet: str | None) -> dict:
    return {} if sheet is None else {"sheet": sheet}


def checked_survey(data: Path, codebook: Path, outputs: dict[str, Path | None], *,
                   on_invalid: str, sheet: str | None):
    """The survey, once every output (``{option: path}``) is known to be writable.

    Outputs are checked first, so a command that cannot write its results
    stops before reading and validating the data (:func:`output_file`).
    """
    for option, path in outputs.items():
        output_file(path, option)
    return open_survey(data, codebook, on_invalid=on_invalid, sheet=sheet)


def open_survey(data: Path, codebook: Path, *, on_invalid: str, sheet: str | None):
    """The survey in memory (a Parquet folder or glob is validated in DuckDB, then loaded)."""
    from analysis.load import load_survey
    from analysis.scale.lazy import LazySurvey

    with working(data, "validating"):
        survey = load_survey(survey_source(data), codebook, on_invalid=on_invalid,
                             **read_options(sheet))
    if isinstance(survey, LazySurvey):
        with survey:
            survey = survey.to_survey()
    # The sheet read, an unusual encoding, removals and warnings (UTF-8 goes without saying).
    for line in read_lines(survey.accounts):
        if not line.startswith(("encoding: utf-8", "encoding: ascii")):
            typer.echo(line)
    excluded = survey.accounts.n_read - survey.n
    if excluded:
        typer.echo(f"{excluded:,} of {survey.accounts.n_read:,} rows set aside for broken rules "
                   "(`backpain validate` lists them; --on-invalid raise stops instead)")
    return survey


#: Files from this size on show a progress line while they are read and validated.
LARGE_FILE = 20 * 2**20


def working(data: Path, what: str):
    """A spinner with elapsed time on standard error while a large file is worked on.

    Shown only on a terminal (never in logs, pipes or tests) and for files of at
    least :data:`LARGE_FILE` bytes; otherwise a context that does nothing.
    """
    import contextlib

    try:
        size = data.stat().st_size if data.is_file() else sum(
            p.stat().st_size for p in data.rglob("*.parquet"))
    except OSError:
        size = 0
    err = console(stderr=True)
    if size < LARGE_FILE or not err.is_terminal:
        return contextlib.nullcontext()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn(f"{what} {data} ({size / 2**20:,.0f} MiB)"),
                        TimeElapsedColumn(), console=err, transient=True)
    progress.add_task(what, total=None)
    return progress


def console(**options):
    """A rich console as wide as the terminal (80 columns when output is not a terminal)."""
    from rich.console import Console

    return Console(**options)


def print_table(display, title: str | None = None) -> None:
    """A text DataFrame as a rich table at the terminal's width.

    Cells wrap within their columns; a table that cannot fit even so (many columns
    on a narrow terminal) is printed one row per block instead, each value named by
    its column, so nothing is cut off.
    """
    from rich import box
    from rich.table import Table

    out = console()
    table = Table(title=title, title_justify="left", show_lines=False, pad_edge=False,
                  box=box.SIMPLE_HEAD)
    for i, column in enumerate(display.columns):
        table.add_column(str(column), justify="left" if i == 0 else "right", overflow="fold",
                         min_width=12 if i == 0 else None)
    rows = [["" if value is None else str(value) for value in row]
            for row in display.itertuples(index=False)]
    for row in rows:
        table.add_row(*row)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        # Into a file or a pipe: one line per row, as wide as the table needs, so the
        # output can be searched; a terminal's width is kept when there is one.
        out = console(width=min(max(table.__rich_measure__(out, out.options).maximum, 80), 250))
    if table.__rich_measure__(out, out.options).minimum <= out.width:
        out.print(table)
        return
    from rich.text import Text

    if title:
        out.print(Text(title, style="bold"))
    names = [str(c).strip() for c in display.columns]
    for row in rows:
        out.print(Text(row[0] or " ", style="bold"))
        pairs = [f"{name}: {value}" for name, value in zip(names[1:], row[1:], strict=True)
                 if value]
        if pairs:
            out.print(Text("    " + "   ".join(pairs)))


def survey_source(data: Path):
    """``data``, or the parsed frame when it names a public dataset or its file (``.rda``, ...).

    Files the readers know (CSV, Excel, ...) are read as they are; a registered
    dataset's other files go through the dataset's own parser, as in ``backpain init``.
    """
    from analysis.io import FORMATS

    if data.suffix.lower() in FORMATS or data.is_dir() or "*" in str(data):
        return data
    from analysis import datasets

    by_file = {datasets.get(n).file_name: n for n in datasets.names()}
    if data.name in by_file and data.is_file():
        frame = datasets.get(by_file[data.name]).parser(data)
    elif not data.exists() and str(data) in datasets.names():
        frame = datasets.get(str(data)).parser(datasets.fetch(str(data)))
    else:
        return data
    frame.attrs["source"] = str(data)
    return frame


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

"""``backpain report``: run the report notebooks on a survey and write shareable HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from analysis.cli.app import app
from analysis.cli.common import (
    ON_INVALID,
    OnInvalidOption,
    SheetOption,
    read_options,
    report_target,
)
from analysis.errors import ReportError

# The library's defaults, repeated so `--help` need not import the report machinery
# (tests/test_cli_help.py checks that they agree): analysis.privacy.DEFAULT_THRESHOLD,
# analysis.report.build.JOBS, analysis.report.run.CELL_TIMEOUT.
DEFAULT_THRESHOLD = 5
JOBS = 2
CELL_TIMEOUT = 600


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` → ``{k: v}``, each value read as YAML (``5``, ``[a, b]``, ``null``)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ReportError(f"--param {pair!r}: write it as name=value, e.g. "
                              "--param outcome=spasm_12m.")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ReportError(f"--param {pair!r}: the value is not valid YAML ({exc}).") from None
    return out


@app.command()
def report(
    data: Annotated[Path, typer.Argument(help="Survey file (csv, xlsx, parquet, sav, dta, ...).")],
    codebook: Annotated[Path, typer.Option("--codebook", help="Codebook YAML.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports.")] = Path("reports"),
    threshold: Annotated[int, typer.Option(
        "--threshold", min=0, help="Counts of 1 to threshold-1 respondents are shown as "
        "<threshold (0: no suppression; needs --rounding)."
    )] = DEFAULT_THRESHOLD,
    rounding: Annotated[int | None, typer.Option(
        "--rounding", min=1, help="Round every shown count to this base (e.g. 5); percentages "
        "from the rounded counts."
    )] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="Notebook parameter name=value (YAML value); repeatable."
    )] = None,
    timeout: Annotated[int, typer.Option(
        "--timeout", min=1, help="Seconds any one notebook cell may run.")] = CELL_TIMEOUT,
    jobs: Annotated[int, typer.Option(
        "--jobs", min=1, help="Notebooks run at once, at most: one per core, and one when "
        "the kernels, each holding the survey, would not fit in memory.")] = JOBS,
    on_invalid: OnInvalidOption = ON_INVALID,
    sheet: SheetOption = None,
    case_studies: Annotated[bool, typer.Option(
        "--case-studies/--no-case-studies",
        help="Also render the case studies on public datasets whose files can be had.",
    )] = False,
    formats: Annotated[str, typer.Option(
        "--formats", help="What to write: html (always), docx (each whole report), xlsx "
                          "(a sheet per table), tex (booktabs); comma-separated.")] = "html",
    style: Annotated[str, typer.Option(
        "--style", help="Number style of every table and text: default, jama, lancet, nejm, "
                        "or a YAML file defining one (name, base, settings).",
    )] = "default",
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="A Parquet folder's model aggregates and IRLS scans on a Dask "
                            "cluster: its scheduler (tcp://host:8786), or 'local'.",
    )] = None,
) -> None:
    """Run each report notebook and write reader and analyst HTML, tables and results.json."""
    from analysis.codebook import load_codebook
    from analysis.io import read_columns
    from analysis.load import check_dataset, is_dataset
    from analysis.report import render_reports
    from analysis.report.build import report_notebooks
    from analysis.report.exports import check_formats
    from analysis.style import style_option

    # Bad input or an unwritable --out is said before any notebook kernel starts.
    report_target(out)
    chosen = check_formats(formats)
    number_style = style_option(style)
    load_codebook(codebook)
    if is_dataset(data):
        check_dataset(data)
    else:
        read_columns(data, **read_options(sheet))
    if not threshold and rounding is None:
        raise ReportError("--threshold 0 turns suppression off: give --rounding too, so "
                          "that small counts are still protected.")
    if on_invalid not in ("raise", "exclude"):
        raise ReportError(f"--on-invalid must be 'raise' or 'exclude', not {on_invalid!r}.")
    parameters = {"on_invalid": on_invalid, **parse_parameters(param or [])}
    if sheet is not None:
        parameters["sheet"] = sheet

    cluster = None
    if scheduler:
        import os

        from analysis.scale.planned import SCHEDULER, local_cluster

        if scheduler == "local":  # one cluster for every notebook of the run
            cluster = local_cluster()
            scheduler = cluster.scheduler_address
        # the notebook kernels inherit the environment, and each connects to the scheduler
        os.environ[SCHEDULER] = scheduler
    notebooks = report_notebooks()
    if case_studies:
        from analysis.case_studies import case_study_notebooks

        runnable, skipped = case_study_notebooks()
        for line in skipped:
            typer.echo(line)
        notebooks = [*notebooks, *runnable]
    try:
        summary = render_reports(data, codebook, out, threshold=threshold or None,
                                 rounding=rounding, notebooks=notebooks,
                                 parameters=parameters, timeout=timeout,
                                 jobs=jobs, formats=chosen, style=number_style)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: kernels stopped, {out} left as it was", err=True)
        raise typer.Exit(130) from None
    finally:
        if cluster is not None:
            cluster.close()
    for row in summary.itertuples():
        typer.echo(f"{out / (row.notebook + '.html')}  {row.title}  ({row.seconds:.1f} s)")
    for path in sorted((out / "exports").glob("*.*")):
        typer.echo(f"{path}")
    typer.echo(f"{out / 'index.html'}  links every report; total {summary['seconds'].sum():.1f} s")

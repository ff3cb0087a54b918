"""``backpain describe``: Table 1 and prevalence of the outcome by each exposure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analysis.cli import common
from analysis.cli.app import app
from analysis.cli.common import (
    ON_INVALID,
    CodebookOption,
    DataArgument,
    OnInvalidOption,
    SheetOption,
)


@app.command()
def describe(
    data: DataArgument,
    codebook: CodebookOption,
    by: Annotated[str | None, typer.Option(
        "--by", help="Column to group Table 1 by (default: the codebook's outcome).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file for Table 1.")] = Path(
        "table1.csv"),
    prevalence_out: Annotated[Path | None, typer.Option(
        "--prevalence-out",
        help="CSV file for the prevalence table (default: prevalence.csv next to --out).",
    )] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write both tables to this HTML file.")] = None,
    on_invalid: OnInvalidOption = ON_INVALID,
    sheet: SheetOption = None,
) -> None:
    """Write Table 1 and the outcome's prevalence by each exposure as CSV, and print them."""
    from analysis.describe import (
        prevalence_display,
        prevalence_html,
        table_one,
        table_one_display,
        table_one_html,
    )
    from analysis.describe.columns import coded_column

    prevalence_out = prevalence_out or out.with_name("prevalence.csv")
    survey = common.checked_survey(
        data, codebook, {"--out": out, "--prevalence-out": prevalence_out, "--html": html},
        on_invalid=on_invalid, sheet=sheet)
    typer.echo(f"{survey.n} rows analysed of {survey.accounts.n_read} read from {data}")
    if by is not None:
        coded_column(survey, by, "--by column")
    t1 = table_one(survey, by)
    t1.to_csv(out, index=False)
    _print(table_one_display(t1), "Table 1" + (f" by {survey.label(by)}" if by else ""))
    typer.echo(f"Table 1 written to {out}")

    prev = _prevalence(survey)
    if prev is not None:
        prev.to_csv(prevalence_out, index=False)
        _print(prevalence_display(prev), "Prevalence of the outcome")
        typer.echo(f"Prevalence written to {prevalence_out}")
    if html is not None:
        parts = [table_one_html(t1, title="Table 1")]
        if prev is not None:
            parts.append(prevalence_html(prev, title="Prevalence"))
        html.write_text(_page(parts), encoding="utf-8")
        typer.echo(f"HTML written to {html}")


def _prevalence(survey):
    """Prevalence by each coded exposure, or None (with a note) without a binary outcome."""
    from analysis.codebook import CODED_TYPES
    from analysis.describe import prevalence
    from analysis.errors import ValidationError

    outcomes = [n for n in survey.variables("outcome") if survey.codebook[n].type == "binary"]
    if not outcomes:
        typer.echo("No binary outcome in the codebook: prevalence not computed.")
        return None
    exposures = survey.variables("exposure")
    coded = [n for n in exposures if survey.codebook[n].type in CODED_TYPES]
    skipped = [n for n in exposures if n not in coded]
    if skipped:
        typer.echo(f"Prevalence is not shown by numeric exposures: {', '.join(skipped)}.")
    try:
        return prevalence(survey, outcomes[0], by=coded)
    except ValidationError as exc:  # e.g. bad weights: Table 1 stands, say why prevalence does not
        typer.echo(f"Prevalence not computed: {exc}")
        return None


def _print(display, title: str) -> None:
    common.print_table(display, title)


def _page(parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>backpain describe</title>"
        "<style>table{border-collapse:collapse;margin:1em 0}td,th{padding:2px 8px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}"
        "thead th{border-bottom:1px solid #000}</style></head><body>"
        f"{body}</body></html>\n"
    )
